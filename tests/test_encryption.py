"""Encryption at rest: what callers said never lies on the disk in clear, and the key is found or explained."""

from __future__ import annotations

import json
import secrets
import sqlite3
from pathlib import Path

import pytest

from appliance.config import ApplianceConfig, StoreConfig
from appliance.dialog.tools import Action
from appliance.errors import ConfigError
from appliance.integrations.outbox import Outbox
from appliance.store import Store, StoreError, TurnRecord
from appliance.store.keys import PLAINTEXT_HEADER, DatabaseKey, database_key
from appliance.store.migrations import MIGRATIONS

from .conftest import daemon_store, run_appliance, start_daemon

MARKER = "zebra-quartz-7731 my date of birth is the fourth of July"


def a_key() -> DatabaseKey:
    return DatabaseKey(secrets.token_bytes(32), "the test")


def plant(store: Store, call_id: str = "call-1") -> None:
    """A call whose caller said MARKER, with a queued action carrying it."""
    store.start_call(call_id, f"sip:{MARKER}")
    store.add_turn(call_id, TurnRecord(idx=0, speech_start_s=0.4, caller_text=MARKER, reply_text=f"You said {MARKER}"))
    Outbox(store).record(
        call_id, Action("take_message", {"caller_name": "Ann Lee", "phone": "+14155550142", "message": MARKER})
    )
    store.audit("test", "planted", MARKER)


def files_of(db: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm")) if p.exists()}


def leaks(db: Path) -> list[str]:
    return [name for name, data in files_of(db).items() if MARKER.encode() in data or b"zebra-quartz" in data]


def test_what_callers_said_never_reaches_the_disk_in_clear(tmp_path: Path) -> None:
    db = tmp_path / "appliance.db"
    store = Store(db, a_key())
    plant(store)
    on_disk = files_of(db)
    assert on_disk.get("appliance.db-wal"), "the rows are in the write-ahead log, not yet checkpointed"
    assert leaks(db) == [], "while the database is open"
    store.close()
    assert leaks(db) == [], "after close"
    assert not db.read_bytes().startswith(PLAINTEXT_HEADER)


def test_without_a_key_the_same_rows_are_readable_on_disk(tmp_path: Path) -> None:
    """The control for the test above: the marker is found when it is there."""
    db = tmp_path / "throwaway.db"
    store = Store(db)
    plant(store)
    assert "throwaway.db-wal" in leaks(db)
    store.close()


def test_sqlite_without_the_key_sees_no_database(tmp_path: Path) -> None:
    db = tmp_path / "appliance.db"
    store = Store(db, a_key())
    plant(store)
    store.close()
    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        sqlite3.connect(db).execute("SELECT * FROM turns").fetchall()
    with pytest.raises(StoreError, match=r"cannot be opened \(file is not a database\)"):
        Store(db)


def test_a_wrong_key_or_a_foreign_file_is_refused_with_the_fix(tmp_path: Path) -> None:
    db = tmp_path / "appliance.db"
    right = a_key()
    store = Store(db, right)
    plant(store)
    store.close()
    wrong = DatabaseKey(secrets.token_bytes(32), "/etc/vocalia/db.key")
    message = (
        rf"database {db} cannot be decrypted with the key from /etc/vocalia/db.key \(wrong key, or not an "
        r"appliance database\); restore the key that belongs to it"
    )
    with pytest.raises(StoreError, match=message) as refused:
        Store(db, wrong)
    assert refused.value.exit_code == 2, "systemd does not restart into the same wrong key"
    (tmp_path / "notes.txt").write_bytes(secrets.token_bytes(8192))
    with pytest.raises(StoreError, match="cannot be decrypted"):
        Store(tmp_path / "notes.txt", right)
    assert Store(db, right).turns("call-1")[0]["caller_text"] == MARKER, "the refusals changed nothing"


def test_an_encrypted_database_without_its_key_is_never_given_a_new_one(tmp_path: Path) -> None:
    config = ApplianceConfig(state_dir=str(tmp_path / "state"))
    store = Store.configured(config)
    plant(store)
    store.close()
    key_file = tmp_path / "state" / "db.key"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    key_file.unlink()
    before = config.db_path.read_bytes()
    with pytest.raises(ConfigError, match=rf"database {config.db_path} is encrypted and its key was not found") as err:
        Store.configured(config)
    assert f"looked for {key_file}" in str(err.value) and "restore the key file" in str(err.value)
    assert not key_file.exists() and config.db_path.read_bytes() == before


def test_the_key_comes_from_the_credential_then_key_file_then_the_state_dir(tmp_path: Path) -> None:
    state = tmp_path / "state"
    configured = tmp_path / "etc" / "db.key"
    config = ApplianceConfig(state_dir=str(state), store=StoreConfig(key_file=str(configured)))
    with pytest.raises(ConfigError, match=rf"database key file {configured} does not exist; restore it"):
        database_key(config, env={})
    configured.parent.mkdir()
    configured.write_text("not a key\n")
    with pytest.raises(ConfigError, match=r"does not hold a key \(64 hex characters\)"):
        database_key(config, env={})
    secret = secrets.token_bytes(32)
    configured.write_text(secret.hex() + "\n")
    assert database_key(config, env={}) == DatabaseKey(secret, str(configured))
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "db.key").write_text(secrets.token_hex(32))
    from_systemd = database_key(config, env={"CREDENTIALS_DIRECTORY": str(credentials)})
    assert from_systemd.source == str(credentials / "db.key") and from_systemd.secret != secret
    assert not state.exists(), "no key was made beside the database"


def test_the_cli_exports_and_erases_a_call_of_an_encrypted_database(tmp_path: Path, env: dict[str, str]) -> None:
    state = Path(env["VOCALIA_STATE_DIR"])
    store = daemon_store(state)
    plant(store, "call-9")
    exported = run_appliance(["export", "--call", "call-9"], env)
    assert exported.returncode == 0, exported.stderr
    assert json.loads(exported.stdout)["turns"][0]["caller_text"] == MARKER
    erased = run_appliance(["purge", "--call", "call-9"], env)
    assert erased.returncode == 0 and "1 turns" in erased.stdout, erased.stderr
    assert store.query("SELECT * FROM turns", []) == []
    store.close()
    assert not (state / "appliance.db").read_bytes().startswith(PLAINTEXT_HEADER)
    (state / "db.key").write_text(secrets.token_hex(32))
    refused = run_appliance(["export", "--call", "call-9"], env)
    assert refused.returncode == 2 and "cannot be decrypted with the key from" in refused.stderr, refused.stderr


def test_a_plaintext_database_from_an_earlier_version_is_encrypted_once(tmp_path: Path) -> None:
    config = ApplianceConfig(state_dir=str(tmp_path / "state"))
    old = Store(config.db_path)  # what an earlier version wrote
    plant(old)
    old.close()
    assert config.db_path.read_bytes().startswith(PLAINTEXT_HEADER) and MARKER.encode() in config.db_path.read_bytes()
    store = Store.configured(config)
    assert store.turns("call-1")[0]["caller_text"] == MARKER and store.call("call-1")["source"] == f"sip:{MARKER}"
    assert store.actions("call-1")[0]["args"]["message"] == MARKER
    assert store.version == len(MIGRATIONS)
    store.close()
    assert leaks(config.db_path) == [] and not config.db_path.read_bytes().startswith(PLAINTEXT_HEADER)
    assert sorted(p.name for p in config.db_path.parent.iterdir()) == ["appliance.db", "db.key"]
    again = Store.configured(config)
    audit = again.query("SELECT actor, action FROM audit ORDER BY id", [])
    assert audit == [
        {"actor": "test", "action": "planted"},
        {"actor": "appliance", "action": "encrypted the database"},
    ], "encrypted once, and audited"
    again.close()


def test_rows_still_in_an_earlier_versions_write_ahead_log_are_kept(tmp_path: Path) -> None:
    """An earlier version stopped hard: its last rows are only in the -wal file when the upgrade opens it."""
    running = tmp_path / "running" / "appliance.db"
    old = Store(running)
    plant(old)
    state = tmp_path / "state"
    state.mkdir()
    for name, data in files_of(running).items():  # the files as a power cut leaves them
        (state / name).write_bytes(data)
    old.close()
    assert (state / "appliance.db-wal").stat().st_size > 0
    store = Store.configured(ApplianceConfig(state_dir=str(state)))
    assert store.turns("call-1")[0]["caller_text"] == MARKER
    store.close()
    assert leaks(state / "appliance.db") == []


def test_the_doctor_says_where_the_key_comes_from_and_what_to_do_when_it_is_wrong(env: dict[str, str]) -> None:
    state = Path(env["VOCALIA_STATE_DIR"])
    daemon_store(state).close()
    ok = run_appliance(["--log-level", "WARNING", "doctor"], env)
    assert "✔ database" in ok.stdout and f"encrypted (SQLCipher), key from {state / 'db.key'}" in ok.stdout, ok.stdout
    (state / "db.key").write_text(secrets.token_hex(32))
    bad = run_appliance(["--log-level", "WARNING", "doctor"], env)
    assert bad.returncode == 1 and "✘ database" in bad.stdout and "cannot be decrypted" in bad.stdout, bad.stdout
    assert "fix: restore the key that belongs to it" in bad.stdout


@pytest.mark.slow
def test_the_daemon_keeps_an_encrypted_database(env: dict[str, str]) -> None:
    for daemon in start_daemon(env):
        assert daemon.health()["status"] == "ok"
    state = Path(env["VOCALIA_STATE_DIR"])
    header = (state / "appliance.db").read_bytes()[:16]
    assert header != PLAINTEXT_HEADER and len(header) == 16
    assert oct((state / "db.key").stat().st_mode & 0o777) == "0o600"
    store = daemon_store(state)
    assert store.query("SELECT count(*) AS n FROM calls", []) == [{"n": 0}]
    store.close()
