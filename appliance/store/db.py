"""The appliance database: SQLite in WAL mode through sqlite-utils."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlite_utils

from ..errors import ApplianceError
from .migrations import MIGRATIONS


class StoreError(ApplianceError):
    """The database cannot be opened or is from a newer version of the appliance."""


@dataclass
class TurnRecord:
    """One caller utterance and the reply, filled in stage by stage as the turn progresses.

    Times are seconds since the call started; None (or 0) while the stage has not happened.
    """

    idx: int
    speech_start_s: float
    caller_text: str = ""
    reply_text: str = ""
    eot_reason: str = ""
    speech_end_s: float = 0.0
    eot_s: float = 0.0
    stt_done_s: float = 0.0
    reply_ready_s: float = 0.0
    first_audio_s: float | None = None
    first_frame_s: float | None = None
    stt_s: float = 0.0
    barged_in: bool = False


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Store:
    """Calls and turns. Methods block: the pipeline calls them from an executor.

    One connection guarded by a lock. ``synchronous=FULL`` in WAL mode: a committed transaction (a
    booking the caller was told about, its queued deliveries) survives a power cut, not only a crash;
    ``benchmarks/outbox.py`` measures the fsync this costs per commit.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
        except (OSError, sqlite3.Error) as err:
            raise StoreError(
                f"database {path} cannot be opened ({err}); check [store] path and its permissions"
            ) from None
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.Lock()
        self.migrate()

    @property
    def version(self) -> int:
        """The schema version of the database file."""
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> None:
        """Apply the migrations this file lacks, each in its own transaction."""
        with self._lock:
            current = self.version
            if current > len(MIGRATIONS):
                raise StoreError(
                    f"database {self.path} has schema version {current}, newer than this appliance "
                    f"knows ({len(MIGRATIONS)}); upgrade the appliance or restore a matching backup"
                )
            for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
                statements = [s for s in script.split(";") if s.strip()]
                conn = self.db.conn
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for statement in statements:
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version={number}")
                    conn.execute("COMMIT")
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise

    def start_call(self, call_id: str, source: str) -> None:
        """Record that a call began."""
        with self._lock:
            self.db.table("calls").insert({"id": call_id, "source": source, "started_at": _now()})

    def end_call(self, call_id: str, reason: str) -> None:
        """Record how a call ended."""
        with self._lock:
            self.db.table("calls").update(call_id, {"ended_at": _now(), "end_reason": reason})

    def add_turn(self, call_id: str, turn: TurnRecord) -> None:
        """Record one turn of a call."""
        with self._lock:
            self.db.table("turns").insert({"call_id": call_id, **asdict(turn)})

    def turns(self, call_id: str) -> list[dict[str, Any]]:
        """The turns of a call, in order."""
        with self._lock:
            return list(self.db.table("turns").rows_where("call_id = ?", [call_id], order_by="idx"))

    def call(self, call_id: str) -> dict[str, Any]:
        """One call row."""
        with self._lock:
            return dict(self.db.table("calls").get(call_id))

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: read, decide and write with no other writer in between."""
        with self._lock:
            conn = self.db.conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @staticmethod
    def add_action(conn: sqlite3.Connection, call_id: str | None, tool: str, args: dict[str, Any]) -> str:
        """Record a write action, inside the caller's transaction; returns its id."""
        action_id = uuid.uuid4().hex
        conn.execute(
            "INSERT INTO actions (id, call_id, tool, args, created_at) VALUES (?, ?, ?, ?, ?)",
            (action_id, call_id, tool, json.dumps(args, ensure_ascii=False, sort_keys=True), _now()),
        )
        return action_id

    def actions(self, call_id: str | None = None) -> list[dict[str, Any]]:
        """Recorded actions (of one call, or all), oldest first, with ``args`` decoded."""
        with self._lock:
            where, params = ("call_id = ?", [call_id]) if call_id else (None, [])
            rows = self.db.table("actions").rows_where(where, params, order_by="rowid")
            return [{**row, "args": json.loads(row["args"])} for row in rows]

    def query(self, sql: str, params: list[Any]) -> list[dict[str, Any]]:
        """Rows of a read-only query, as dicts."""
        with self._lock:
            return list(self.db.query(sql, params))

    def audit(self, actor: str, action: str, detail: str = "") -> None:
        """Record who saw or exported what."""
        with self._lock:
            self.db.table("audit").insert({"at": _now(), "actor": actor, "action": action, "detail": detail})

    def bookings(self, start: str, end: str) -> list[dict[str, Any]]:
        """Active bookings that overlap [start, end) (ISO local date-times)."""
        with self._lock:
            rows = self.db.table("bookings").rows_where(
                "status = 'booked' AND start < ? AND end > ?", [end, start], order_by="start"
            )
            return list(rows)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self.db.conn.close()
