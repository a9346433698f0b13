"""The appliance database: SQLite in WAL mode through sqlite-utils, encrypted at rest with SQLCipher.

SQLCipher (4.x defaults: AES-256-CBC per page, HMAC-SHA512 per page) encrypts the database file, its
write-ahead log and its rollback journals; temporary tables and sorts stay in memory. A plaintext
database left by an earlier version is encrypted once when it is first opened with a key.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import sqlcipher3
import sqlite_utils

from ..config import ApplianceConfig
from ..errors import ApplianceError, ConfigError
from .keys import DatabaseKey, database_key, is_plaintext
from .migrations import MIGRATIONS

_LOGGER = logging.getLogger(__name__)


class StoreError(ApplianceError):
    """The database cannot be opened or is from a newer version of the appliance."""


class StoreKeyError(StoreError):
    """The database cannot be decrypted with the key given."""

    exit_code = ConfigError.exit_code  # a restart does not bring the right key: systemd must not loop on it


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
    language: str = ""  # the language speech recognition heard it in


def now_stamp() -> str:
    """Now, as the store writes moments: UTC ISO 8601 with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Store:
    """Calls and turns. Methods block: the pipeline calls them from an executor.

    One connection guarded by a lock. ``synchronous=FULL`` in WAL mode: a committed transaction (a
    booking the caller was told about, its queued deliveries) survives a power cut, not only a crash;
    ``benchmarks/outbox.py`` measures the fsync this costs per commit.
    """

    def __init__(self, path: Path, key: DatabaseKey | None = None) -> None:
        """Open (or create) the database; without a key it is plain SQLite, for throwaway stores only."""
        self.path = path
        encrypted_now = key is not None and _encrypt_plaintext(path, key)
        conn = connect(path, key)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
        except (sqlite3.Error, sqlcipher3.Error) as err:
            conn.close()
            raise StoreError(_cannot_open(path, err)) from None
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA temp_store=MEMORY")  # no plaintext temporary files for sorts and temp tables
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.Lock()
        self.migrate()
        if key is not None and encrypted_now:
            self.audit("appliance", "encrypted the database", f"it was plaintext; key from {key.source}")

    @classmethod
    def configured(cls, config: ApplianceConfig) -> Store:
        """The appliance's database (``[store] path``), encrypted with its key (see :mod:`.keys`)."""
        return cls(config.db_path, database_key(config))

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
            self.db.table("calls").insert({"id": call_id, "source": source, "started_at": now_stamp()})

    def end_call(self, call_id: str, reason: str) -> None:
        """Record how a call ended."""
        with self._lock:
            self.db.table("calls").update(call_id, {"ended_at": now_stamp(), "end_reason": reason})

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
            (action_id, call_id, tool, json.dumps(args, ensure_ascii=False, sort_keys=True), now_stamp()),
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
            self.db.table("audit").insert({"at": now_stamp(), "actor": actor, "action": action, "detail": detail})

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


def _cannot_open(path: Path, err: Exception) -> str:
    return f"database {path} cannot be opened ({err}); check [store] path and its permissions"


def connect(path: Path, key: DatabaseKey | None) -> sqlite3.Connection:
    """A connection to the database file: SQLCipher with the key, read once to prove the key is right.

    Raises:
        StoreError: the file cannot be opened.
        StoreKeyError: the key does not decrypt it (or it is not a database).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if key is None:
            return sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        conn = sqlcipher3.connect(str(path), check_same_thread=False, isolation_level=None)
    except (OSError, sqlite3.Error, sqlcipher3.Error) as err:
        raise StoreError(_cannot_open(path, err)) from None
    conn.execute(f"PRAGMA key = {key.pragma}")
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlcipher3.OperationalError as err:
        conn.close()
        raise StoreError(_cannot_open(path, err)) from None
    except sqlcipher3.DatabaseError:
        conn.close()
        raise StoreKeyError(
            f"database {path} cannot be decrypted with the key from {key.source} (wrong key, or not an "
            "appliance database); restore the key that belongs to it"
        ) from None
    return cast(sqlite3.Connection, conn)


def _encrypt_plaintext(path: Path, key: DatabaseKey) -> bool:
    """Encrypt a plaintext database from an earlier version, once; True if this call did it.

    The copy is made beside the original and renamed over it only when complete and on disk: a crash
    leaves either the plaintext file (encrypted at the next start) or the encrypted one, never half of one.
    """
    if not is_plaintext(path):
        return False
    staging = path.with_name(path.name + ".encrypting")
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(directory, fcntl.LOCK_EX)  # two appliance processes starting at once: one encrypts
        if not is_plaintext(path):
            return False
        staging.unlink(missing_ok=True)  # from an interrupted attempt; the original is intact
        _export_encrypted(path, staging, key)
        for stale in (Path(f"{path}-wal"), Path(f"{path}-shm")):
            stale.unlink(missing_ok=True)  # plaintext, and a WAL must never be replayed onto the new file
        os.replace(staging, path)
        os.fsync(directory)
    except (OSError, sqlcipher3.Error) as err:
        staging.unlink(missing_ok=True)
        raise StoreError(
            f"database {path} is plaintext (from an earlier version) and cannot be encrypted ({err}); it is "
            "unchanged: free disk space beside it or fix its permissions, then start again"
        ) from None
    finally:
        os.close(directory)
    _LOGGER.info("encrypted the database %s (plaintext from an earlier version), key from %s", path, key.source)
    return True


def _export_encrypted(path: Path, staging: Path, key: DatabaseKey) -> None:
    conn = sqlcipher3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=5000")
        conn.execute("PRAGMA temp_store=MEMORY")
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if busy:
            raise StoreError(
                f"database {path} is in use by another process (an appliance of an earlier version?); stop "
                "it, then start again to encrypt the database"
            )
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        conn.execute(f"ATTACH DATABASE ? AS encrypted KEY {key.pragma}", (str(staging),))
        conn.execute("SELECT sqlcipher_export('encrypted')")
        conn.execute(f"PRAGMA encrypted.user_version = {version}")
        conn.execute("DETACH DATABASE encrypted")
    finally:
        conn.close()
    with staging.open("rb") as f:
        os.fsync(f.fileno())
