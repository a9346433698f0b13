"""Appointment reminders and callbacks, durable like the outbox: one row per booking time and channel (or
per callback request, ``kind = 'callback'``), leased to one worker at a time, so a crash, a restart or a
second worker never calls a patient twice for the same reason.

The life of a row::

    pending --claim--> dialing --answered--> answered --settle--> done
       ^                  |
       +-- busy, no answer, a crash before the answer (attempts left) ; failed when none are left

A call is committed as ``answered`` the moment the patient picks up: a crash after that settles the row
as done ("interrupted") instead of calling again (the patient was reached). A crash while it only rang
is an attempt like an unanswered one. Calls are placed only on the profile's call days and hours, never
to a number on the do-not-call list or whose patient refused that channel's reminders (or, where the
profile asks for opt-in, never said yes to them), and never for a booking that was cancelled or moved meanwhile
(the moved booking gets a reminder of its own). A callback request is placed only where the profile opts
in (``[callbacks] place``), at the time asked for, unless the front desk has handled it meanwhile; one
that was answered is marked called back on the desk's list, one nobody answered stays open there.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..dialog.profile import BusinessProfile
from ..store import Store
from ..store.db import now_stamp

OUTCOMES = ("answered", "busy", "no_answer", "declined", "failed", "interrupted", "sent", "voicemail")
RETRIED = frozenset({"busy", "no_answer", "failed"})  # tried again while attempts are left


@dataclass(frozen=True)
class Reminder:
    """One reminder being made: whom, for which booking, in which language."""

    id: str
    booking_id: str
    appointment: str  # the booking's start, local ISO
    phone: str
    channel: str
    language: str
    attempts: int
    provider: str
    patient_name: str
    kind: str = "reminder"  # or "callback": ``booking_id`` is then the schedule_callback action's id


CALLBACK_MAX_AGE_H = 24  # older callback requests stay the front desk's (say, from before the opt-in)
APPLIANCE = "the appliance"  # who handled a callback it placed, on the desk's list and in the audit


class ReminderBook:
    """Plans, claims and settles reminders in the store."""

    def __init__(self, store: Store, profile: BusinessProfile, lease_s: float = 30.0) -> None:
        """``lease_s``: how long a claimed row stays this worker's without :meth:`renew` (the campaign
        renews its calls' rows every tick); a killed worker's rows are taken back that long after."""
        self.store = store
        self.profile = profile
        self.settings = profile.reminders
        self.callbacks = profile.callbacks
        self.lease_s = lease_s

    def local_now(self) -> datetime:
        """The business's wall-clock time, naive (the bookings' form)."""
        return datetime.now(self.profile.timezone).replace(tzinfo=None, second=0, microsecond=0)

    def may_call(self, local: datetime) -> bool:
        """Whether ``local`` (business time) is inside the profile's call days and hours."""
        start, end = self.settings.call_hours
        return local.weekday() in self.settings.call_days and start <= local.time() < end

    def plan(self, local: datetime | None = None) -> int:
        """Add a reminder for each booking starting within ``hours_before`` that has a number and none yet,
        and a callback for each open callback request when the profile places them; returns how many
        were added. Safe to run from several workers at once (the unique key)."""
        return self._plan_reminders(local) + self._plan_callbacks()

    def _plan_callbacks(self) -> int:
        if not self.callbacks.place:
            return 0
        now, stamp = time.time(), now_stamp()
        oldest = (datetime.now(UTC) - timedelta(hours=CALLBACK_MAX_AGE_H)).isoformat(timespec="milliseconds")
        with self.store.transaction() as conn:
            rows = conn.execute(
                "SELECT a.id, a.args, a.call_id FROM actions a WHERE a.tool = 'schedule_callback' AND a.handled = '' "
                "AND a.created_at >= ? AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.booking_id = a.id "
                "AND r.kind = 'callback')",
                (oldest,),
            ).fetchall()
            for action_id, args_text, call_id in rows:
                args = json.loads(args_text)
                when = str(args.get("when") or "")
                due = now
                if when:
                    due = max(now, datetime.fromisoformat(when).replace(tzinfo=self.profile.timezone).timestamp())
                conn.execute(
                    "INSERT OR IGNORE INTO reminders (id, booking_id, appointment, phone, channel, language, kind, "
                    "next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'call', ?, 'callback', ?, ?, ?)",
                    (
                        uuid.uuid4().hex,
                        action_id,
                        when,
                        args["phone"],
                        self._language(conn, call_id),
                        due,
                        stamp,
                        stamp,
                    ),
                )
        return len(rows)

    def _plan_reminders(self, local: datetime | None) -> int:
        if self.settings.channel == "off":
            return 0
        local = local or self.local_now()
        horizon = local + timedelta(hours=self.settings.hours_before)
        now, stamp = time.time(), now_stamp()
        with self.store.transaction() as conn:
            rows = conn.execute(
                "SELECT b.id, b.start, b.phone, b.call_id FROM bookings b WHERE b.status = 'booked' AND b.phone != '' "
                "AND b.start > ? AND b.start <= ? AND b.phone NOT IN (SELECT phone FROM do_not_call) "
                "AND NOT EXISTS (SELECT 1 FROM reminders r WHERE r.booking_id = b.id AND r.appointment = b.start "
                "AND r.channel = ?) "
                # consent: a refusal always wins; opt-in needs a recorded yes for this channel
                "AND COALESCE((SELECT c.granted FROM consent c WHERE c.phone = b.phone AND c.channel = ?), ?) = 1",
                (
                    local.strftime("%Y-%m-%dT%H:%M"),
                    horizon.strftime("%Y-%m-%dT%H:%M"),
                    self.settings.channel,
                    self.settings.channel,
                    int(self.settings.consent == "opt_out"),
                ),
            ).fetchall()
            for booking_id, start, phone, call_id in rows:
                language = self._language(conn, call_id)
                conn.execute(
                    "INSERT OR IGNORE INTO reminders (id, booking_id, appointment, phone, channel, language, "
                    "next_attempt_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (uuid.uuid4().hex, booking_id, start, phone, self.settings.channel, language, now, stamp, stamp),
                )
        return len(rows)

    def _language(self, conn: Any, call_id: str | None) -> str:
        """The language the patient booked in (their call's last turn), else the business's first."""
        row = conn.execute(
            "SELECT language FROM turns WHERE call_id = ? AND language != '' ORDER BY idx DESC LIMIT 1", (call_id,)
        ).fetchone()
        language = row[0] if row else ""
        return language if language in self.profile.languages else self.profile.languages[0]

    def claim(self, now: float | None = None, local: datetime | None = None) -> Reminder | None:
        """Lease the next due reminder to this worker (``dialing``), or None (nothing due, or outside the
        call hours). A reminder whose booking was cancelled or moved, or whose number is now on the
        do-not-call list, is skipped on the way."""
        now = time.time() if now is None else now
        if not self.may_call(local or self.local_now()):
            return None
        with self.store.transaction() as conn:
            while True:
                row = conn.execute(
                    "SELECT r.id, r.booking_id, r.appointment, r.phone, r.channel, r.language, r.attempts, "
                    "b.status, b.start, b.provider, COALESCE(b.patient_name, json_extract(a.args, '$.caller_name')), "
                    "EXISTS (SELECT 1 FROM do_not_call d WHERE d.phone = r.phone) AS blocked, r.kind, a.handled, "
                    "(SELECT c.granted FROM consent c WHERE c.phone = r.phone AND c.channel = r.channel) AS consent "
                    "FROM reminders r LEFT JOIN bookings b ON b.id = r.booking_id AND r.kind = 'reminder' "
                    "LEFT JOIN actions a ON a.id = r.booking_id AND r.kind = 'callback' "
                    "WHERE r.state = 'pending' AND r.next_attempt_at <= ? ORDER BY r.next_attempt_at LIMIT 1",
                    (now,),
                ).fetchone()
                if row is None:
                    return None
                (
                    rid,
                    booking_id,
                    appointment,
                    phone,
                    channel,
                    language,
                    attempts,
                    status,
                    start,
                    provider,
                    name,
                    blocked,
                    kind,
                    handled,
                    consent,
                ) = row
                why = (
                    "on the do-not-call list"
                    if blocked
                    else "the patient refused these reminders"
                    if consent == 0 and kind == "reminder"
                    else ("handled at the front desk" if handled else "")
                    if kind == "callback"
                    else "the booking was cancelled or moved"
                    if status != "booked" or start != appointment
                    else ""
                )
                if why:
                    conn.execute(
                        "UPDATE reminders SET state = 'skipped', last_error = ?, updated_at = ? WHERE id = ?",
                        (why, now_stamp(), rid),
                    )
                    continue
                conn.execute(
                    "UPDATE reminders SET state = 'dialing', attempts = attempts + 1, lease_until = ?, updated_at = ? "
                    "WHERE id = ?",
                    (now + self.lease_s, now_stamp(), rid),
                )
                return Reminder(
                    rid,
                    booking_id,
                    appointment,
                    phone,
                    channel,
                    language,
                    attempts + 1,
                    provider or "",
                    name or "",
                    kind,
                )

    def answered(self, reminder_id: str, call_id: str) -> None:
        """The patient picked up: from now on this reminder is never placed again."""
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE reminders SET state = 'answered', outcome = 'answered', call_id = ?, updated_at = ? "
                "WHERE id = ? AND state = 'dialing'",
                (call_id, now_stamp(), reminder_id),
            )

    def settle(self, reminder_id: str, outcome: str, reply: str = "", error: str = "") -> str:
        """Record how an attempt ended; returns the row's new state (``pending`` when it will be tried again)."""
        if outcome not in OUTCOMES:
            raise ValueError(outcome)
        with self.store.transaction() as conn:
            found = conn.execute(
                "SELECT attempts, kind, booking_id FROM reminders WHERE id = ?", (reminder_id,)
            ).fetchone()
            if found is None:
                raise LookupError(reminder_id)
            attempts, kind, action_id = found
            limits = self.callbacks if kind == "callback" else self.settings
            # an answering machine that took no message has not reminded anyone: like no answer
            unreached = outcome in RETRIED or (outcome == "voicemail" and not reply)
            retry = unreached and attempts < limits.attempts
            state = "pending" if retry else ("failed" if unreached or outcome == "declined" else "done")
            conn.execute(
                "UPDATE reminders SET state = ?, outcome = ?, reply = ?, last_error = ?, lease_until = NULL, "
                "next_attempt_at = ?, updated_at = ? WHERE id = ?",
                (
                    state,
                    outcome,
                    reply,
                    error,
                    time.time() + limits.retry_minutes * 60,
                    now_stamp(),
                    reminder_id,
                ),
            )
            if kind == "callback" and outcome == "answered":
                self._called_back(conn, action_id)
        return state

    @staticmethod
    def _called_back(conn: Any, action_id: str) -> None:
        """The caller was reached: the request is off the front desk's list, with its audit row."""
        stamp = now_stamp()
        changed = conn.execute(
            "UPDATE actions SET handled = 'called_back', handled_by = ?, handled_at = ? WHERE id = ? AND handled = ''",
            (APPLIANCE, stamp, action_id),
        ).rowcount
        if changed:
            conn.execute(
                "INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                (stamp, APPLIANCE, "called a caller back", action_id),
            )

    def recover(self, now: float | None = None) -> int:
        """Settle what a dead worker left: rung but not answered, tried again (or failed); answered, done
        ("interrupted"), never called twice. Returns how many rows it settled."""
        now = time.time() if now is None else now
        with self.store.transaction() as conn:
            reached = conn.execute(
                "SELECT booking_id FROM reminders WHERE state = 'answered' AND lease_until < ? AND kind = 'callback'",
                (now,),
            ).fetchall()
            for (action_id,) in reached:  # a callback answered before the crash: the caller was reached
                self._called_back(conn, action_id)
            answered = conn.execute(
                "UPDATE reminders SET state = 'done', outcome = 'interrupted', lease_until = NULL, updated_at = ? "
                "WHERE state = 'answered' AND lease_until < ?",
                (now_stamp(), now),
            ).rowcount
            rung = conn.execute(
                "UPDATE reminders SET state = CASE WHEN attempts < "
                "(CASE kind WHEN 'callback' THEN ? ELSE ? END) THEN 'pending' ELSE 'failed' END, "
                "outcome = 'interrupted', lease_until = NULL, next_attempt_at = ?, updated_at = ? "
                "WHERE state = 'dialing' AND lease_until < ?",
                (self.callbacks.attempts, self.settings.attempts, now, now_stamp(), now),
            ).rowcount
        return int(answered + rung)

    def renew(self, reminder_ids: list[str], now: float | None = None) -> None:
        """Keep the leases of the reminders this worker is calling (still ringing, or talking)."""
        if not reminder_ids:
            return
        now = time.time() if now is None else now
        marks = ", ".join("?" * len(reminder_ids))
        with self.store.transaction() as conn:
            conn.execute(
                f"UPDATE reminders SET lease_until = ? WHERE id IN ({marks}) AND state IN ('dialing', 'answered')",
                (now + self.lease_s, *reminder_ids),
            )

    def release(self, reminder_id: str, delay_s: float = 60.0) -> None:
        """No free line for it: back to pending ``delay_s`` later, the attempt not counted."""
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE reminders SET state = 'pending', attempts = attempts - 1, lease_until = NULL, "
                "next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'dialing'",
                (time.time() + delay_s, now_stamp(), reminder_id),
            )

    @staticmethod
    def sent(conn: Any, reminder_id: str) -> None:
        """Settle an SMS reminder as sent, inside the transaction that queues the SMS."""
        conn.execute(
            "UPDATE reminders SET state = 'done', outcome = 'sent', lease_until = NULL, updated_at = ? WHERE id = ?",
            (now_stamp(), reminder_id),
        )

    def do_not_call(self, phone: str, reason: str) -> None:
        """Never call this number with reminders again."""
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO do_not_call (phone, added_at, reason) VALUES (?, ?, ?)",
                (phone, now_stamp(), reason),
            )

    def confirm(self, booking_id: str) -> None:
        """The patient confirmed the appointment."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE bookings SET confirmed_at = ? WHERE id = ?", (now_stamp(), booking_id))

    def today(self, since: str) -> dict[str, Any]:
        """For the status page: reminders waiting and being called now, and the outcomes of the attempts
        settled since ``since`` (a UTC stamp), with the patients' replies."""
        rows = self.store.query(
            "SELECT kind, state, outcome, reply, updated_at >= ? AS recent, COUNT(*) AS n FROM reminders "
            "GROUP BY kind, state, outcome, reply, recent",
            [since],
        )
        outcomes: dict[str, int] = {}
        replies: dict[str, int] = {}
        for row in rows:
            if row["recent"] and row["outcome"] and row["state"] not in ("dialing", "answered"):
                # a callback's outcomes apart: "callback answered", "callback no_answer"
                outcome = row["outcome"] if row["kind"] == "reminder" else f"{row['kind']} {row['outcome']}"
                outcomes[outcome] = outcomes.get(outcome, 0) + row["n"]
                if row["reply"] and row["kind"] == "reminder":
                    replies[row["reply"]] = replies.get(row["reply"], 0) + row["n"]
        return {
            "waiting": sum(r["n"] for r in rows if r["state"] == "pending"),
            "calling": sum(r["n"] for r in rows if r["state"] in ("dialing", "answered")),
            "outcomes": outcomes,
            "replies": replies,
        }

    def counts(self) -> dict[str, int]:
        """Reminders by state and by last outcome, for the status page and /metrics."""
        rows = self.store.query(
            "SELECT kind, state, outcome, reply, COUNT(*) AS n FROM reminders GROUP BY kind, state, outcome, reply", []
        )
        counts: dict[str, int] = {}
        for row in rows:
            for key in (
                f"kind:{row['kind']}",
                f"state:{row['state']}",
                f"outcome:{row['outcome'] or 'none'}",
                f"reply:{row['reply'] or 'none'}",
            ):
                counts[key] = counts.get(key, 0) + row["n"]
        return counts
