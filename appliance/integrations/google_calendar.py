"""Google Calendar (API v3): bookings as events of the practice's calendar, and its busy times read live.

Each booking's event has an id of our own, derived from the patient and the start (hex digits, which the
API accepts as base32hex). So a retried insert answers 409 "duplicate", which counts as delivered. A
cancel deletes that id (gone already: done). A move inserts the new event, then deletes the old one. With
``availability = true`` a ``freeBusy`` query for the day gives the busy times. The token is minted from
a service account's key (``service_account_file``, see :mod:`.google_auth`) or fixed (``token_env``).
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx

from .availability import Busy, LiveAvailability
from .connectors import Outcome, http_outcome
from .google_auth import GoogleConnector


def event_id(patient_name: str, start: str) -> str:
    """The event's id for a booking: the same for the same patient and start."""
    return "vocalia" + hashlib.sha256(f"{patient_name.strip().lower()}|{start}".encode()).hexdigest()[:32]


class GoogleCalendarConnector(GoogleConnector):
    """One Google calendar (``calendar_id``, e.g. the practice's shared calendar's address)."""

    kind = "google_calendar"
    settings: ClassVar[dict[str, type]] = {
        "calendar_id": str,
        "token_env": str,
        "timezone": str,
        "duration_min": int,
        "availability": bool,
        "base_url": str,
        "service_account_file": str,
    }
    secrets = ("token",)
    SCOPES = ("https://www.googleapis.com/auth/calendar",)  # events written, freeBusy read

    def events_url(self) -> str:
        base = str(self.options.get("base_url", "https://www.googleapis.com")).rstrip("/")
        return f"{base}/calendar/v3/calendars/{quote(self.options['calendar_id'], safe='')}/events"

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        zone = self.options.get("timezone", "UTC")
        old = args.get("old_start") or args.get("start") or ""
        new = args.get("new_start") or (args.get("start") if tool == "create_booking" else "")
        event: dict[str, Any] = {}
        if new:
            end = datetime.fromisoformat(new) + timedelta(minutes=self.options.get("duration_min", 30))
            what = " - ".join(v for v in (args.get("service"), args.get("provider")) if v)
            event = {
                "id": event_id(args["patient_name"], new),
                "summary": f"{args['patient_name']}" + (f" ({what})" if what else ""),
                "start": {"dateTime": f"{new}:00" if len(new) == 16 else new, "timeZone": zone},
                "end": {"dateTime": end.isoformat(timespec="seconds"), "timeZone": zone},
                "description": "Booked by phone (VocalIA Edge)",
            }
        return {"action": tool, "event": event, "old_id": event_id(args["patient_name"], old) if old else ""}

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        if payload["event"]:
            made = await self.call(client, "POST", self.events_url(), json=payload["event"])
            if isinstance(made, Outcome):
                return made
            if made.status_code != 409 and not made.is_success:  # 409: this id exists, an earlier attempt made it
                return http_outcome(made)
        if payload["action"] in ("cancel_booking", "reschedule_booking") and payload["old_id"]:
            gone = await self.call(client, "DELETE", f"{self.events_url()}/{payload['old_id']}")
            if isinstance(gone, Outcome):
                return gone
            if gone.status_code not in (404, 410) and not gone.is_success:  # 404/410: deleted already
                return http_outcome(gone)
        return Outcome(True)


class GoogleCalendarAvailability(LiveAvailability):
    """Busy times of the day from a ``freeBusy`` query on the calendar."""

    def _fetch(self, day: date) -> Busy:
        connector = self.connector
        assert isinstance(connector, GoogleCalendarConnector)
        zone = ZoneInfo(connector.options.get("timezone", "UTC"))
        start = datetime.combine(day, datetime.min.time(), zone)
        base = str(connector.options.get("base_url", "https://www.googleapis.com")).rstrip("/")
        calendar = connector.options["calendar_id"]
        response = self._client.post(
            f"{base}/calendar/v3/freeBusy",
            json={
                "timeMin": start.isoformat(),
                "timeMax": (start + timedelta(days=1)).isoformat(),
                "timeZone": str(zone),
                "items": [{"id": calendar}],
            },
            headers=connector.auth.headers_sync(self._client),
        )
        response.raise_for_status()
        found = response.json()["calendars"][calendar]
        if found.get("errors"):
            raise ValueError(f"freeBusy: {found['errors']}")
        return [
            (
                datetime.fromisoformat(b["start"].replace("Z", "+00:00")).astimezone(zone).replace(tzinfo=None),
                datetime.fromisoformat(b["end"].replace("Z", "+00:00")).astimezone(zone).replace(tzinfo=None),
                "",
            )
            for b in found.get("busy", [])
        ]
