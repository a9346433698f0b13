"""Retention and the data subject's rights: purge what is older than policy, export or erase one call.

Every export and erasure is written to the audit log. Deliveries not yet made are never purged: an
accepted action is still owed to the business (its transcript goes, the action stays until delivered).
Nor is a message or callback request that reached only the front desk's page and that nobody there
has handled yet.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from ..config import StoreConfig
from ..dialog.tools import DESK_TOOLS
from .db import Store


def _before(days: int) -> str:
    return (datetime.now(UTC) - timedelta(days=days)).isoformat(timespec="milliseconds")


def purge_expired(store: Store, policy: StoreConfig, actor: str = "retention job") -> dict[str, int]:
    """Delete rows older than the policy; returns how many rows of each kind went."""
    counts: dict[str, int] = {}
    calls_before = _before(policy.retention_calls_days)
    deliveries_before = _before(policy.retention_deliveries_days)
    bookings_before = (datetime.now() - timedelta(days=policy.retention_bookings_days)).strftime("%Y-%m-%dT%H:%M")
    marks = ",".join("?" * len(DESK_TOOLS))
    with store.transaction() as conn:
        # A message or callback request that went nowhere but the front desk's page, and that nobody there
        # has handled yet, is still owed to the business: it stays, as an undelivered action does.
        owed = [
            row[0]
            for row in conn.execute(
                f"SELECT id FROM actions WHERE tool IN ({marks}) AND handled = '' "
                "AND id NOT IN (SELECT action_id FROM outbox WHERE state = 'delivered')",
                DESK_TOOLS,
            )
        ]
        old_calls = "SELECT id FROM calls WHERE started_at < ?"
        counts["turns"] = conn.execute(f"DELETE FROM turns WHERE call_id IN ({old_calls})", (calls_before,)).rowcount
        transfers = conn.execute(
            f"DELETE FROM transfers WHERE call_id IN ({old_calls})", (calls_before,)
        ).rowcount  # a summary says who called and why
        counts["calls"] = conn.execute("DELETE FROM calls WHERE started_at < ?", (calls_before,)).rowcount
        counts["deliveries"] = conn.execute(
            "DELETE FROM outbox WHERE state = 'delivered' AND updated_at < ?", (deliveries_before,)
        ).rowcount
        counts["actions"] = conn.execute(
            "DELETE FROM actions WHERE created_at < ? AND id NOT IN (SELECT action_id FROM outbox) "
            "AND id NOT IN (SELECT value FROM json_each(?))",
            (deliveries_before, json.dumps(owed)),
        ).rowcount
        counts["bookings"] = conn.execute("DELETE FROM bookings WHERE end < ?", (bookings_before,)).rowcount
        counts["audit"] = conn.execute(
            "DELETE FROM audit WHERE at < ?", (_before(policy.retention_audit_days),)
        ).rowcount
        counts["transfers"] = transfers
    if any(counts.values()):
        store.audit(actor, "purged expired rows", json.dumps(counts, sort_keys=True))
    return counts


def export_call(store: Store, call_id: str, actor: str) -> dict[str, Any]:
    """Everything stored about one call (an access request), audited."""
    calls = store.query("SELECT * FROM calls WHERE id = ?", [call_id])
    if not calls:
        raise LookupError(call_id)
    store.audit(actor, "exported a call", call_id)
    transfers = store.query("SELECT * FROM transfers WHERE call_id = ? ORDER BY id", [call_id])
    consent = store.query("SELECT * FROM consent WHERE call_id = ? ORDER BY channel", [call_id])
    return {
        "call": calls[0],
        "turns": store.turns(call_id),
        "actions": store.actions(call_id),
        "transfers": transfers,
        "consent": consent,  # reminders said yes or no to on this call (the last word per channel)
    }


def erase_call(store: Store, call_id: str, actor: str) -> dict[str, int]:
    """Delete one call's recording of what was said and its delivered actions (an erasure request),
    audited. Undelivered actions stay until delivered, then go with the retention job."""
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM calls WHERE id = ?", (call_id,)).fetchone() is None:
            raise LookupError(call_id)
        counts = {
            "turns": conn.execute("DELETE FROM turns WHERE call_id = ?", (call_id,)).rowcount,
            "transfers": conn.execute("DELETE FROM transfers WHERE call_id = ?", (call_id,)).rowcount,
            "deliveries": conn.execute(
                "DELETE FROM outbox WHERE state = 'delivered' AND action_id IN "
                "(SELECT id FROM actions WHERE call_id = ?)",
                (call_id,),
            ).rowcount,
        }
        counts["actions"] = conn.execute(
            "DELETE FROM actions WHERE call_id = ? AND id NOT IN (SELECT action_id FROM outbox)", (call_id,)
        ).rowcount
        counts["calls"] = conn.execute("DELETE FROM calls WHERE id = ?", (call_id,)).rowcount
    store.audit(actor, "erased a call", f"{call_id} {json.dumps(counts, sort_keys=True)}")
    return counts
