"""The store: versioned migrations, WAL, calls and turns."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from appliance.store import Store, StoreError, TurnRecord
from appliance.store import db as store_db
from appliance.store.keys import DatabaseKey
from appliance.store.migrations import MIGRATIONS


def turn(idx: int) -> TurnRecord:
    return TurnRecord(
        idx, 0.5, "hello", "hi there", "complete", 1.5, 1.8, 1.7, 1.81, 1.9, first_frame_s=1.92, stt_s=0.15
    )


def test_a_new_database_gets_every_migration_in_wal_mode(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    assert store.version == len(MIGRATIONS)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {"calls", "turns"} <= set(store.db.table_names())


def test_calls_and_turns_survive_a_reopen(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    store.start_call("c1", "simulate:x.wav")
    store.add_turn("c1", turn(1))
    store.add_turn("c1", turn(2))
    store.end_call("c1", "caller_hangup")
    store.close()
    again = Store(tmp_path / "a.db")
    assert again.version == len(MIGRATIONS)
    assert [t["idx"] for t in again.turns("c1")] == [1, 2]
    assert again.turns("c1")[0]["first_frame_s"] == 1.92
    assert again.call("c1")["end_reason"] == "caller_hangup"


def test_a_turn_needs_its_call(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    with pytest.raises(sqlite3.IntegrityError):
        store.add_turn("no-such-call", turn(1))


def test_an_older_database_is_upgraded_in_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Store(tmp_path / "a.db").close()  # at the current version
    extra = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"
    monkeypatch.setattr(store_db, "MIGRATIONS", (*MIGRATIONS, extra))
    store = Store(tmp_path / "a.db")
    assert store.version == len(MIGRATIONS) + 1
    assert "notes" in store.db.table_names()


def test_a_failing_migration_leaves_nothing_half_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    Store(tmp_path / "a.db").close()
    broken = "CREATE TABLE half (id INTEGER); CREATE TABLE broken (id INTEGER"
    monkeypatch.setattr(store_db, "MIGRATIONS", (*MIGRATIONS, broken))
    with pytest.raises(sqlite3.OperationalError):
        Store(tmp_path / "a.db")
    monkeypatch.setattr(store_db, "MIGRATIONS", MIGRATIONS)
    store = Store(tmp_path / "a.db")
    assert store.version == len(MIGRATIONS)
    assert "half" not in store.db.table_names()


def test_a_database_from_a_newer_appliance_is_refused(tmp_path: Path) -> None:
    Store(tmp_path / "a.db").close()
    conn = sqlite3.connect(tmp_path / "a.db")
    conn.execute(f"PRAGMA user_version={len(MIGRATIONS) + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this appliance knows"):
        Store(tmp_path / "a.db")


def test_an_unwritable_location_is_explained(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StoreError, match=r"cannot be opened.*\[store\] path"):
        Store(tmp_path / "file" / "a.db")
    with pytest.raises(StoreError, match=r"cannot be opened.*\[store\] path"):
        Store(tmp_path / "file" / "a.db", DatabaseKey(bytes(32), "a test"))


def test_reminders_of_a_version_9_database_survive_the_whatsapp_migration(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_db, "MIGRATIONS", MIGRATIONS[:9])  # an appliance from before consent
    old = Store(tmp_path / "a.db")
    with old.transaction() as conn:
        conn.execute(
            "INSERT INTO reminders (id, booking_id, appointment, phone, channel, state, attempts, next_attempt_at, "
            "created_at, updated_at, kind) VALUES ('r1', 'b1', '2026-12-07T10:30', '+14155550142', 'sms', 'done', 1, "
            "0, 'x', 'x', 'reminder')"
        )
    old.close()
    monkeypatch.setattr(store_db, "MIGRATIONS", MIGRATIONS)
    store = Store(tmp_path / "a.db")
    assert store.version == len(MIGRATIONS)
    (row,) = store.query("SELECT id, channel, state, attempts FROM reminders", [])
    assert row == {"id": "r1", "channel": "sms", "state": "done", "attempts": 1}
    with store.transaction() as conn:  # the rebuilt table takes WhatsApp reminders, and still no duplicates
        insert = (
            "INSERT INTO reminders (id, booking_id, appointment, phone, channel, next_attempt_at, created_at, "
            "updated_at) VALUES (?, 'b1', '2026-12-07T10:30', '+14155550142', ?, 0, 'x', 'x')"
        )
        conn.execute(insert, ("r2", "whatsapp"))
        with pytest.raises(sqlite3.IntegrityError):
            conn.execute(insert, ("r3", "sms"))
