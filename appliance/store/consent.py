"""Each patient's consent to be reminded, per channel (a call, an SMS, a WhatsApp message).

One row per number and channel holds the last word: given on a booking call, or recorded by the front
desk (``appliance consent``). Every change is also an audit row, so who recorded what, and when, can be
shown to the patient. A refusal always wins over the profile's opt-out default; where the profile asks
for opt-in (and always for WhatsApp), only a recorded yes lets a reminder go.
"""

from __future__ import annotations

import sqlite3

from .db import Store, now_stamp

CHANNELS = ("call", "sms", "whatsapp")


def record(
    conn: sqlite3.Connection, phone: str, channel: str, granted: bool, source: str, call_id: str | None = None
) -> None:
    """Record the patient's answer, inside the caller's transaction (the booking's, for one on a call)."""
    if channel not in CHANNELS:
        raise ValueError(f"consent channel {channel!r}: use one of {', '.join(CHANNELS)}")
    stamp = now_stamp()
    conn.execute(
        "INSERT INTO consent (phone, channel, granted, source, call_id, at) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (phone, channel) DO UPDATE SET granted = excluded.granted, source = excluded.source, "
        "call_id = excluded.call_id, at = excluded.at",
        (phone, channel, int(granted), source, call_id, stamp),
    )
    conn.execute(
        "INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)",
        (stamp, source, f"{channel} reminders {'consented to' if granted else 'refused'}", phone),
    )


def given(conn: sqlite3.Connection, phone: str, channel: str) -> bool | None:
    """The patient's last word for ``channel``: True, False, or None when they were never asked."""
    row = conn.execute("SELECT granted FROM consent WHERE phone = ? AND channel = ?", (phone, channel)).fetchone()
    return None if row is None else bool(row[0])


def lookup(store: Store, phone: str) -> list[dict[str, object]]:
    """Every channel's consent on record for ``phone``, for the front desk and an access request."""
    return store.query(
        "SELECT channel, granted, source, call_id, at FROM consent WHERE phone = ? ORDER BY channel", [phone]
    )
