"""Retention purge, and export / erasure of one call, each written to the audit log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from appliance.dialog.tools import Action
from appliance.integrations.connectors import load_connectors
from appliance.integrations.outbox import Outbox
from appliance.store import Store, TurnRecord

from .conftest import daemon_store, run_appliance


def seed(store: Store, outbox: Outbox, call_id: str, days_ago: int, delivered: bool) -> None:
    store.start_call(call_id, "sip:caller")
    store.add_turn(
        call_id, TurnRecord(idx=0, speech_start_s=0.5, caller_text=f"secret words of {call_id}", reply_text="ok")
    )
    store.end_call(call_id, "caller_hangup")
    outbox.record(
        call_id, Action("take_message", {"caller_name": "Ann Lee", "phone": "+14155550142", "message": call_id})
    )
    then = (datetime.now(UTC) - timedelta(days=days_ago)).isoformat()
    with store.transaction() as conn:
        conn.execute("UPDATE calls SET started_at = ? WHERE id = ?", (then, call_id))
        conn.execute("UPDATE actions SET created_at = ? WHERE call_id = ?", (then, call_id))
        state = "delivered" if delivered else "pending"
        conn.execute(
            "UPDATE outbox SET state = ?, updated_at = ? WHERE action_id IN (SELECT id FROM actions WHERE call_id = ?)",
            (state, then, call_id),
        )


def setup(tmp_path: Path) -> tuple[Store, Outbox, Path]:
    path = tmp_path / "integrations.toml"
    path.write_text(
        '[[connector]]\nname = "crm"\nkind = "webhook"\ntools = ["take_message"]\nurl = "http://127.0.0.1:9/x"\nsecret_env = "S"\n'
    )
    db = tmp_path / "state" / "appliance.db"
    store = daemon_store(tmp_path / "state")
    return store, Outbox(store, load_connectors(path, {"S": "s"})), db


def test_the_purge_removes_expired_rows_keeps_the_rest_and_what_is_still_owed(
    tmp_path: Path, env: dict[str, str]
) -> None:
    store, outbox, db = setup(tmp_path)
    seed(store, outbox, "old-delivered", 45, delivered=True)
    seed(store, outbox, "old-undelivered", 45, delivered=False)
    seed(store, outbox, "recent", 2, delivered=True)
    result = run_appliance(["--log-level", "WARNING", "purge"], {**env, "VOCALIA_STORE_PATH": str(db)})
    assert result.returncode == 0, result.stderr
    assert "2 turns, 2 calls, 1 deliveries, 1 actions" in result.stdout
    assert [c["id"] for c in store.query("SELECT id FROM calls", [])] == ["recent"]
    assert not store.query("SELECT * FROM turns WHERE caller_text LIKE '%old-%'", [])
    owed = store.query("SELECT a.call_id, o.state FROM outbox o JOIN actions a ON a.id = o.action_id", [])
    assert sorted((r["call_id"], r["state"]) for r in owed) == [("old-undelivered", "pending"), ("recent", "delivered")]
    (entry,) = store.query("SELECT actor, action, detail FROM audit", [])
    assert entry["action"] == "purged expired rows" and entry["actor"].startswith("cli by")
    store.close()


def test_export_and_erase_one_call_are_audited(tmp_path: Path, env: dict[str, str]) -> None:
    store, outbox, db = setup(tmp_path)
    seed(store, outbox, "call-7", 1, delivered=True)
    env = {**env, "VOCALIA_STORE_PATH": str(db)}
    exported = run_appliance(["export", "--call", "call-7"], env)
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert data["turns"][0]["caller_text"] == "secret words of call-7" and data["actions"][0]["tool"] == "take_message"
    erased = run_appliance(["purge", "--call", "call-7"], env)
    assert erased.returncode == 0 and "1 turns" in erased.stdout
    assert store.query("SELECT * FROM calls", []) == [] and store.query("SELECT * FROM turns", []) == []
    assert [e["action"] for e in store.query("SELECT action FROM audit ORDER BY id", [])] == [
        "exported a call",
        "erased a call",
    ]
    missing = run_appliance(["export", "--call", "nope"], env)
    assert missing.returncode == 1 and "no call 'nope'" in missing.stderr
    store.close()


def test_the_front_desk_records_and_shows_a_patients_consent(tmp_path: Path, env: dict[str, str]) -> None:
    store, _, db = setup(tmp_path)
    env = {**env, "VOCALIA_STORE_PATH": str(db)}
    never = run_appliance(["consent", "+34612345678"], env)
    assert never.returncode == 0 and "never asked" in never.stdout
    granted = run_appliance(["consent", "+34 612 34 56 78", "--channel", "whatsapp", "--grant"], env)
    assert granted.returncode == 0, granted.stderr
    assert "+34612345678 whatsapp: yes, front desk (cli by" in granted.stdout
    refused = run_appliance(["consent", "(415) 555-0142", "--channel", "call", "--refuse"], env)  # the clinic's US
    assert refused.returncode == 0 and "+14155550142 call: no" in refused.stdout
    rows = store.query("SELECT phone, channel, granted FROM consent ORDER BY phone", [])
    assert [(r["phone"], r["channel"], r["granted"]) for r in rows] == [
        ("+14155550142", "call", 0),
        ("+34612345678", "whatsapp", 1),
    ]
    assert [e["action"] for e in store.query("SELECT action FROM audit ORDER BY id", [])] == [
        "whatsapp reminders consented to",
        "call reminders refused",
    ]
    bad = run_appliance(["consent", "12345", "--channel", "sms", "--grant"], env)
    assert bad.returncode != 0 and "not a valid phone number" in bad.stderr
    no_channel = run_appliance(["consent", "+34612345678", "--grant"], env)
    assert no_channel.returncode != 0 and "--channel" in no_channel.stderr
    store.close()
