"""The front desk's day, as JSON and CSV: the messages and callback requests to handle, and the bookings.

The desk sees callers' names, numbers and messages (handling them is its job); what a caller said on the
call is opened one call at a time, and each opening is written to the audit log, as every mark and export.
Times are shown in the business's time zone; bookings are stored in it already.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

import phonenumbers

from ..dialog.tools import DESK_TOOLS as TASK_TOOLS
from ..store import Store
from ..store.db import now_stamp

Handled = Literal["done", "called_back", ""]  # "" reopens
HANDLED: tuple[Handled, ...] = ("done", "called_back", "")
UPCOMING_DAYS = 7  # bookings shown after the chosen day


@dataclass(frozen=True)
class DeskUser:
    """Who is signed in at the desk (the name they gave) and from where: what the audit log records."""

    name: str
    client: str

    @property
    def actor(self) -> str:
        return f"front desk: {self.name} from {self.client}"


def _local(stamp: str, zone: ZoneInfo) -> str:
    """A stored UTC stamp as the business's local ``YYYY-MM-DDTHH:MM``."""
    return datetime.fromisoformat(stamp).astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def _day_bounds_utc(day: date, zone: ZoneInfo) -> tuple[str, str]:
    start = datetime.combine(day, datetime.min.time(), zone)
    return start.astimezone(UTC).isoformat(), (start + timedelta(days=1)).astimezone(UTC).isoformat()


def shown_number(phone: str) -> str:
    """An E.164 number as people read it (+33 6 12 34 56 78); anything else as stored."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(phone), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        return phone


def _matches(query: str, *fields: object) -> bool:
    words = query.casefold().split()
    text = " ".join(str(f) for f in fields if f).casefold()
    digits = "".join(ch for ch in text if ch.isdigit())
    return all(w in text or (w.isdigit() and w in digits) for w in words)


def _deliveries(store: Store, action_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """Each action's deliveries (connector, state, the peer's last answer): the desk sees whether the
    mail or the SMS went out; it cannot retry one (that is IT's)."""
    found: dict[str, list[dict[str, Any]]] = {a: [] for a in action_ids}
    if not action_ids:
        return found
    marks = ",".join("?" * len(action_ids))
    for row in store.query(
        f"SELECT action_id, connector, state, last_error FROM outbox WHERE action_id IN ({marks}) ORDER BY connector",
        action_ids,
    ):
        found[row["action_id"]].append(
            {"connector": row["connector"], "state": row["state"], "error": row["last_error"] or ""}
        )
    return found


def tasks(store: Store, day: date, zone: ZoneInfo, query: str = "") -> list[dict[str, Any]]:
    """Messages and callback requests: every one still open (whatever its day, oldest first), then those
    of ``day`` already handled."""
    start, end = _day_bounds_utc(day, zone)
    marks = ",".join("?" * len(TASK_TOOLS))
    rows = store.query(
        f"SELECT id, call_id, tool, args, created_at, handled, handled_by, handled_at FROM actions "
        f"WHERE tool IN ({marks}) AND (handled = '' OR (created_at >= ? AND created_at < ?) "
        "OR (handled_at >= ? AND handled_at < ?)) ORDER BY handled != '', created_at",
        [*TASK_TOOLS, start, end, start, end],
    )
    found = []
    for row in rows:
        args = json.loads(row["args"])
        task = {
            "id": row["id"],
            "kind": "message" if row["tool"] == "take_message" else "callback",
            "name": args.get("caller_name", ""),
            "phone": shown_number(args.get("phone", "")),
            "dial": args.get("phone", ""),
            "message": args.get("message", ""),
            "recipient": args.get("recipient", ""),
            "when": args.get("when", ""),
            "at": _local(row["created_at"], zone),
            "call": row["call_id"] or "",
            "handled": row["handled"],
            "handled_by": row["handled_by"],
            "handled_at": _local(row["handled_at"], zone) if row["handled_at"] else "",
        }
        if _matches(query, task["name"], task["phone"], task["dial"], task["message"], task["recipient"]):
            found.append(task)
    deliveries = _deliveries(store, [t["id"] for t in found])
    return [t | {"deliveries": deliveries[t["id"]]} for t in found]


def bookings(store: Store, day: date, query: str = "", days: int = UPCOMING_DAYS) -> list[dict[str, Any]]:
    """Bookings from ``day`` to ``days`` after it, cancelled ones included, by start time."""
    rows = store.query(
        "SELECT id, patient_name, start, end, provider, service, phone, status, moved_from, call_id, changed_at "
        "FROM bookings WHERE start >= ? AND start < ? ORDER BY start, provider",
        [day.isoformat() + "T00:00", (day + timedelta(days=days + 1)).isoformat() + "T00:00"],
    )
    found = []
    for row in rows:
        booking = {
            "id": row["id"],
            "name": row["patient_name"],
            "start": row["start"][:16],
            "end": row["end"][:16],
            "provider": row["provider"],
            "service": row["service"],
            "phone": shown_number(row["phone"]) if row["phone"] else "",
            "status": row["status"],
            "moved_from": row["moved_from"][:16],
            "call": row["call_id"] or "",
        }
        if _matches(query, booking["name"], booking["phone"], row["phone"], booking["provider"], booking["service"]):
            found.append(booking)
    return found


def handle(store: Store, action_id: str, how: Handled, user: DeskUser) -> bool:
    """Mark a message or callback request as handled (or open again), with the audit row in the same
    transaction: a mark is never without its record. False when no such task exists."""
    if how not in HANDLED:
        raise ValueError(how)
    now = now_stamp()
    marks = ",".join("?" * len(TASK_TOOLS))
    with store.transaction() as conn:
        changed = conn.execute(
            f"UPDATE actions SET handled = ?, handled_by = ?, handled_at = ? WHERE id = ? AND tool IN ({marks})",
            (how, user.name if how else "", now if how else "", action_id, *TASK_TOOLS),
        ).rowcount
        if changed:
            what = {"done": "marked a task done", "called_back": "marked a caller called back", "": "reopened a task"}
            conn.execute(
                "INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)",
                (now, user.actor, what[how], action_id),
            )
    return bool(changed)


def call_said(store: Store, call_id: str, user: DeskUser) -> list[dict[str, Any]] | None:
    """What the caller said and what they heard on one call, audited; None when the call is not stored
    (or its transcript is past retention)."""
    if not store.query("SELECT 1 FROM calls WHERE id = ?", [call_id]):
        return None
    store.audit(user.actor, "showed what a caller said", call_id)
    return [{"caller": t["caller_text"], "reply": t["reply_text"]} for t in store.turns(call_id)]


def _cell(value: object) -> str:
    """A CSV cell a spreadsheet shows as text: one starting with = + - @ would be read as a formula
    (a phone number "+33 ..." included), so it gets a leading apostrophe."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def export_csv(store: Store, day: date, zone: ZoneInfo, query: str, user: DeskUser) -> str:
    """The day's tasks and bookings as CSV (what the list shows, for the office's records), audited."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["type", "time", "name", "phone", "details", "state", "handled by", "handled at", "call"])
    for task in tasks(store, day, zone, query):
        details = " | ".join(filter(None, [task["recipient"], task["message"], task["when"]]))
        state = task["handled"] or "open"
        row = [task["kind"], task["at"], task["name"], task["phone"], details, state]
        writer.writerow([_cell(v) for v in (*row, task["handled_by"], task["handled_at"], task["call"])])
    for booking in bookings(store, day, query, days=0):
        details = " | ".join(filter(None, [booking["provider"], booking["service"]]))
        if booking["moved_from"]:
            details += f" | moved from {booking['moved_from']}"
        row = ["booking", booking["start"], booking["name"], booking["phone"], details, booking["status"]]
        writer.writerow([_cell(v) for v in (*row, "", "", booking["call"])])
    store.audit(user.actor, "exported the front desk's day", f"{day.isoformat()} q={query!r}")
    return out.getvalue()
