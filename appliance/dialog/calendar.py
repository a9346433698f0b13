"""The local calendar: free slots are the opening hours on a fixed grid minus the bookings in the store.

Bookings are written in one ``BEGIN IMMEDIATE`` transaction that checks the slot again, so two calls
asking for the same time cannot both be told "booked". The integrations issue adds CalDAV and FHIR
calendars behind the same methods.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from ..integrations.outbox import Outbox
from ..store import Store
from ..store import consent as consents
from .profile import BusinessProfile
from .tools import Action, validate
from .understand import PART_RANGES, When, best_match


class BusyTimes(Protocol):
    """A live source of busy times (the practice's CalDAV calendar)."""

    def busy(self, day: date) -> list[tuple[datetime, datetime, str]]:
        """(start, end, provider or "") of what is on ``day``."""
        ...


@dataclass(frozen=True)
class Slot:
    """A free appointment time with the provider who is free then ("" when the business has none)."""

    start: datetime  # naive local time in the business's time zone
    provider: str
    minutes: int

    @property
    def end(self) -> datetime:
        """When the appointment ends."""
        return self.start + timedelta(minutes=self.minutes)


def iso(moment: datetime) -> str:
    """The store's and the tools' form of a local date-time: ``YYYY-MM-DDTHH:MM``."""
    return moment.strftime("%Y-%m-%dT%H:%M")


class LocalCalendar:
    """Availability and bookings for one business, kept in the appliance's own store."""

    def __init__(
        self, profile: BusinessProfile, store: Store, outbox: Outbox | None = None, remote: BusyTimes | None = None
    ) -> None:
        self.profile = profile
        self.store = store
        self.outbox = outbox or Outbox(store)
        self.remote = remote  # busy times of the practice's own calendar (CalDAV), read live

    def duration(self, service: str | None) -> int:
        """Minutes an appointment takes (the service's, else one grid step)."""
        found = self.profile.service(service) if service else None
        return found.duration_min if found else self.profile.slot_min

    def refusal(self, start: datetime, now: datetime, service: str | None) -> str | None:
        """Why ``start`` cannot be booked at all: "past", "too_far", "closed" or "outside"; None if it can."""
        if start <= now:
            return "past"
        if start.date() > now.date() + timedelta(days=self.profile.max_days_ahead):
            return "too_far"
        ranges = self.profile.hours.get(start.weekday())
        if not ranges:
            return "closed"
        end = start + timedelta(minutes=self.duration(service))
        if not any(
            datetime.combine(start.date(), a) <= start and end <= datetime.combine(start.date(), b) for a, b in ranges
        ):
            return "outside"
        return None

    def free(self, start: datetime, service: str | None, provider: str | None) -> Slot | None:
        """The slot at ``start`` if a suitable provider is free then."""
        minutes = self.duration(service)
        end = start + timedelta(minutes=minutes)
        busy = {b["provider"] for b in self.store.bookings(iso(start), iso(end))}
        for begins, ends, who in self.remote.busy(start.date()) if self.remote else ():
            if begins < end and ends > start:
                busy.add(who)
        if "" in busy and self.remote:  # an event that names nobody blocks everyone
            return None
        for name in self._candidates(service, provider):
            if name not in busy:
                return Slot(start, name, minutes)
        return None

    def _candidates(self, service: str | None, provider: str | None) -> list[str]:
        if provider:
            return [provider]
        return [p.name for p in self.profile.providers_for(service)] or [""]

    def _grid(self, day: date) -> Iterator[datetime]:
        for start, end in self.profile.hours.get(day.weekday(), ()):
            moment = datetime.combine(day, start)
            while moment.time() < end:
                yield moment
                moment += timedelta(minutes=self.profile.slot_min)

    def nearest(
        self, when: When | None, now: datetime, service: str | None, provider: str | None, count: int = 2
    ) -> list[Slot]:
        """Up to ``count`` free slots closest to what the caller asked for, never in the past.

        A requested day comes first (within the requested part of the day, then the rest of that
        day), then the following days; a requested time is matched as closely as possible each day.
        """
        first_day = (when.day if when and when.day else None) or now.date()
        first_day = max(first_day, now.date())
        found: list[Slot] = []
        last = now.date() + timedelta(days=self.profile.max_days_ahead)
        day = first_day
        while day <= last and len(found) < count:
            for slot in self._day_choices(day, when, now, service, provider):
                found.append(slot)
                if len(found) == count:
                    break
            day += timedelta(days=1)
        return found

    def _day_choices(
        self, day: date, when: When | None, now: datetime, service: str | None, provider: str | None
    ) -> list[Slot]:
        starts = [m for m in self._grid(day) if self.refusal(m, now, service) is None]
        if when and when.part:
            low, high = PART_RANGES[when.part]
            inside = [m for m in starts if low <= m.time() < high]
            starts = inside or (starts if when.day == day else [])
        if when and when.at:
            target = datetime.combine(day, when.at)
            starts.sort(key=lambda m: (abs((m - target).total_seconds()), m))
        slots = []
        for start in starts:
            slot = self.free(start, service, provider)
            if slot:
                slots.append(slot)
                if len(slots) == 2:
                    break
        return sorted(slots, key=lambda s: s.start)

    def book(
        self, call_id: str | None, slot: Slot, args: dict[str, Any], consent: tuple[str, bool] | None = None
    ) -> bool:
        """Write the booking and its ``create_booking`` action, unless the slot was taken meanwhile;
        ``consent`` (channel, yes or no) is the patient's answer about reminders, written with them."""
        action = validate(Action("create_booking", args))
        with self.store.transaction() as conn:
            taken = conn.execute(
                "SELECT 1 FROM bookings WHERE status = 'booked' AND provider = ? AND start < ? AND end > ?",
                (slot.provider, iso(slot.end), iso(slot.start)),
            ).fetchone()
            if taken:
                return False
            conn.execute(
                "INSERT INTO bookings (id, patient_name, start, end, provider, service, phone, date_of_birth, "
                "call_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    uuid.uuid4().hex,
                    args["patient_name"],
                    iso(slot.start),
                    iso(slot.end),
                    slot.provider,
                    args.get("service", ""),
                    args.get("phone", ""),
                    args.get("date_of_birth", ""),
                    call_id,
                    datetime.now().isoformat(timespec="seconds"),
                ),
            )
            if consent is not None and args.get("phone"):
                channel, granted = consent
                consents.record(conn, args["phone"], channel, granted, "asked on the booking call", call_id)
            self.outbox.add(conn, call_id, action)  # after the consent: a WhatsApp confirmation needs it
        return True

    def find(self, name: str, day: date) -> list[dict[str, Any]]:
        """Active bookings on ``day`` whose patient name matches ``name`` closely (speech recognition
        may spell a name differently than the booking does)."""
        rows = self.store.bookings(day.isoformat() + "T00:00", (day + timedelta(days=1)).isoformat() + "T00:00")
        names = [r["patient_name"] for r in rows]
        match = best_match(name, names, cutoff=80)
        return [r for r in rows if r["patient_name"] == match]

    def ahead(self, now: datetime, days: int) -> list[dict[str, Any]]:
        """Active bookings from ``now`` to ``days`` ahead."""
        return self.store.bookings(now.isoformat(timespec="minutes"), (now + timedelta(days=days)).isoformat())

    def upcoming(self, name: str, now: datetime, days: int) -> list[dict[str, Any]]:
        """Active bookings from ``now`` to ``days`` ahead whose patient name matches ``name`` closely."""
        rows = self.ahead(now, days)
        match = best_match(name, [r["patient_name"] for r in rows], cutoff=80)
        return [r for r in rows if r["patient_name"] == match]

    def cancel(self, call_id: str | None, booking: dict[str, Any]) -> None:
        """Cancel a booking and record the ``cancel_booking`` action."""
        action = validate(
            Action("cancel_booking", {"patient_name": booking["patient_name"], "start": booking["start"]})
        )
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE bookings SET status = 'cancelled', changed_at = ? WHERE id = ?",
                (datetime.now().isoformat(timespec="seconds"), booking["id"]),
            )
            self.outbox.add(conn, call_id, action)

    def move(self, call_id: str | None, booking: dict[str, Any], slot: Slot) -> bool:
        """Move a booking to ``slot`` and record ``reschedule_booking``, unless the slot was taken meanwhile."""
        args = {"patient_name": booking["patient_name"], "new_start": iso(slot.start), "old_start": booking["start"]}
        action = validate(Action("reschedule_booking", args))
        with self.store.transaction() as conn:
            taken = conn.execute(
                "SELECT 1 FROM bookings WHERE status = 'booked' AND provider = ? AND start < ? AND end > ? AND id != ?",
                (slot.provider, iso(slot.end), iso(slot.start), booking["id"]),
            ).fetchone()
            if taken:
                return False
            conn.execute(
                "UPDATE bookings SET start = ?, end = ?, provider = ?, moved_from = ?, changed_at = ? WHERE id = ?",
                (
                    iso(slot.start),
                    iso(slot.end),
                    slot.provider,
                    booking["start"],
                    datetime.now().isoformat(timespec="seconds"),
                    booking["id"],
                ),
            )
            self.outbox.add(conn, call_id, action)
        return True

    def seed(self, patient_name: str, start: datetime, provider: str = "", service: str | None = None) -> None:
        """Add an existing booking (scenario set-up, imports); no action is recorded."""
        end = start + timedelta(minutes=self.duration(service))
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO bookings (id, patient_name, start, end, provider, service, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (uuid.uuid4().hex, patient_name, iso(start), iso(end), provider, service or "", iso(datetime.now())),
            )
