"""The outbox: every write action, queued per connector in the transaction that decided it.

A row is ``pending`` until the worker claims it (``in_flight``, with a lease), then ``delivered``
or, after a permanent refusal, ``dead`` with the reason; a failed attempt puts it back to
``pending`` with its next attempt time. A lease that ran out (the worker was killed) makes the row
claimable again, so a crash never strands it; the idempotency key, fixed at enqueue time, lets the
peer drop the second copy of an attempt whose answer was lost.

Durability: the store runs ``synchronous=FULL`` in WAL mode, so a row whose transaction committed
(the moment the caller is told "booked") survives a power cut, not only a crash of the process;
the cost is one fsync per commit, measured in ``benchmarks/outbox.py``.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..dialog.tools import Action, validate
from ..store import Store
from ..store import consent as consents
from ..store.db import now_stamp
from .connectors import Connector

STATES = ("pending", "in_flight", "delivered", "dead")
_LOGGER = logging.getLogger(__name__)


def _consented(conn: sqlite3.Connection, action: Action, channel: str) -> bool:
    """Whether the patient the action would reach has said yes to ``channel`` (a WhatsApp message)."""
    phone = action.args.get("phone") or action.args.get("to")
    return bool(phone) and consents.given(conn, str(phone), channel) is True


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): a millisecond timestamp then random bits, so ids sort by creation."""
    millis = time.time_ns() // 1_000_000
    value = (millis << 80) | (0x7 << 76) | (int.from_bytes(os.urandom(10)) & ((1 << 76) - 1))
    value = (value & ~(0xC << 60)) | (0x8 << 60)  # the RFC 4122 variant bits
    return str(uuid.UUID(int=value))


@dataclass(frozen=True)
class OutboxRow:
    """One delivery of one action to one connector."""

    id: str
    action_id: str
    idempotency_key: str
    connector: str
    payload: dict[str, Any]
    state: str
    attempts: int
    next_attempt_at: float
    lease_until: float | None
    last_error: str | None
    created_at: str
    updated_at: str
    tool: str = ""  # the action's tool (filled when listing)

    @classmethod
    def from_row(cls, row: sqlite3.Row | dict[str, Any]) -> OutboxRow:
        data = dict(row)
        data["payload"] = json.loads(data["payload"])
        return cls(**data)


class Outbox:
    """Queue, claim and settle deliveries in the appliance's store."""

    def __init__(self, store: Store, connectors: Sequence[Connector] = ()) -> None:
        self.store = store
        self.connectors = {c.name: c for c in connectors}

    def add(self, conn: sqlite3.Connection, call_id: str | None, action: Action) -> str:
        """Record a validated action and queue it to every connector that takes its tool, inside the
        caller's transaction (the booking or the message is accepted exactly when its deliveries are)."""
        validate(action)
        action_id = self.store.add_action(conn, call_id, action.tool, action.args)
        now, stamp = time.time(), now_stamp()
        for connector in self.connectors.values():
            if action.tool not in connector.tools:
                continue
            if connector.consent_channel and not _consented(conn, action, connector.consent_channel):
                _LOGGER.info("outbox: %s not sent to %s: no consent on record", action.tool, connector.name)
                continue
            payload = connector.payload(action.tool, action.args, action_id)
            conn.execute(
                "INSERT INTO outbox (id, action_id, idempotency_key, connector, payload, next_attempt_at, "
                "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    uuid7(),
                    action_id,
                    f"vocalia-{action_id}-{connector.name}",
                    connector.name,
                    json.dumps(payload, ensure_ascii=False),
                    now,
                    stamp,
                    stamp,
                ),
            )
        return action_id

    def record(self, call_id: str | None, action: Action) -> str:
        """:meth:`add` in a transaction of its own."""
        with self.store.transaction() as conn:
            return self.add(conn, call_id, action)

    def expire_leases(self, now: float | None = None) -> int:
        """Make rows whose worker died claimable again (called when a worker starts)."""
        now = time.time() if now is None else now
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'pending', lease_until = NULL, updated_at = ? "
                "WHERE state = 'in_flight' AND lease_until < ?",
                (now_stamp(), now),
            )
            return cursor.rowcount

    def claim(self, connector: str, limit: int, lease_s: float, now: float | None = None) -> list[OutboxRow]:
        """Take up to ``limit`` due rows of one connector, leased for ``lease_s`` seconds."""
        if limit <= 0:
            return []
        now = time.time() if now is None else now
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'in_flight', lease_until = ?, attempts = attempts + 1, updated_at = ? "
                "WHERE id IN (SELECT id FROM outbox WHERE connector = ? AND ("
                "(state = 'pending' AND next_attempt_at <= ?) OR (state = 'in_flight' AND lease_until < ?)) "
                "ORDER BY next_attempt_at LIMIT ?) RETURNING *",
                (now + lease_s, now_stamp(), connector, now, now, limit),
            )
            rows = cursor.fetchall()
            columns = [d[0] for d in cursor.description]
        return [OutboxRow.from_row(dict(zip(columns, r, strict=True))) for r in rows]

    def delivered(self, row_id: str, follow_up: Action | None = None) -> None:
        """The peer accepted it. A ``follow_up`` action it produced (the payment link to text) is queued
        in the same transaction, so a crash cannot queue it twice or lose it."""
        with self.store.transaction() as conn:
            updated = conn.execute(
                "UPDATE outbox SET state = 'delivered', lease_until = NULL, updated_at = ? "
                "WHERE id = ? AND state != 'delivered' RETURNING action_id",
                (now_stamp(), row_id),
            ).fetchone()
            if follow_up is not None and updated is not None:
                call = conn.execute("SELECT call_id FROM actions WHERE id = ?", (updated[0],)).fetchone()
                self.add(conn, call[0] if call else None, follow_up)

    def failed(self, row_id: str, error: str, next_attempt_at: float) -> None:
        """A retryable failure: pending again from ``next_attempt_at``."""
        self._settle(row_id, "pending", error, next_attempt_at)

    def dead(self, row_id: str, error: str) -> None:
        """A permanent refusal: kept, with the reason, until an operator replays it."""
        self._settle(row_id, "dead", error, None)

    def _settle(self, row_id: str, state: str, error: str | None, next_attempt_at: float | None) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE outbox SET state = ?, lease_until = NULL, last_error = COALESCE(?, last_error), "
                "next_attempt_at = COALESCE(?, next_attempt_at), updated_at = ? WHERE id = ?",
                (state, error, next_attempt_at, now_stamp(), row_id),
            )

    def retry(self, row_id: str) -> bool:
        """Queue a dead or pending row for an attempt now; False if there is no such row to retry."""
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'pending', next_attempt_at = ?, updated_at = ? "
                "WHERE id = ? AND state IN ('dead', 'pending')",
                (time.time(), now_stamp(), row_id),
            )
            return cursor.rowcount == 1

    def replay_dead(self) -> int:
        """Queue every dead row again (after the peer or the config was fixed)."""
        with self.store.transaction() as conn:
            cursor = conn.execute(
                "UPDATE outbox SET state = 'pending', next_attempt_at = ?, updated_at = ? WHERE state = 'dead'",
                (time.time(), now_stamp()),
            )
            return cursor.rowcount

    def rows(self, state: str | None = None, limit: int = 100) -> list[OutboxRow]:
        """Rows, newest first, of one state or all."""
        where, params = ("WHERE o.state = ?", [state]) if state else ("", [])
        sql = (
            f"SELECT o.*, a.tool FROM outbox o JOIN actions a ON a.id = o.action_id {where} ORDER BY o.id DESC LIMIT ?"
        )
        return [OutboxRow.from_row(r) for r in self._query(sql, [*params, limit])]

    def get(self, row_id: str) -> OutboxRow | None:
        """One row by id (or by a unique prefix of it)."""
        found = self._query(
            "SELECT o.*, a.tool FROM outbox o JOIN actions a ON a.id = o.action_id WHERE o.id LIKE ? ORDER BY o.id LIMIT 2",
            [row_id + "%"],
        )
        return OutboxRow.from_row(found[0]) if len(found) == 1 else None

    def stats(self, now: float | None = None) -> dict[str, dict[str, Any]]:
        """Per connector: rows in each state and the age (s) of the oldest undelivered one."""
        now = time.time() if now is None else now
        result: dict[str, dict[str, Any]] = {}
        for row in self._query(
            "SELECT connector, state, COUNT(*) AS n, MIN(created_at) AS oldest FROM outbox GROUP BY connector, state",
            [],
        ):
            entry = result.setdefault(row["connector"], dict.fromkeys(STATES, 0) | {"oldest_undelivered_s": None})
            entry[row["state"]] = row["n"]
            if row["state"] in ("pending", "in_flight", "dead"):
                age = now - datetime.fromisoformat(row["oldest"]).timestamp()
                entry["oldest_undelivered_s"] = max(entry["oldest_undelivered_s"] or 0.0, round(age, 1))
        return result

    def _query(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        return self.store.query(sql, params)
