"""The web endpoints: /healthz without credentials or PHI, /metrics and the API behind a token."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from appliance.dialog.tools import Action
from appliance.integrations.connectors import load_connectors
from appliance.integrations.outbox import Outbox
from appliance.store import Store, TurnRecord
from appliance.web.app import Health, create_app

TOKEN = "t0ken-for-tests"


@pytest.fixture
def health(tmp_path: Path) -> Health:
    path = tmp_path / "integrations.toml"
    path.write_text(
        '[[connector]]\nname = "crm"\nkind = "webhook"\ntools = ["take_message"]\nurl = "http://127.0.0.1:9/x"\nsecret_env = "S"\n'
    )
    store = Store(tmp_path / "a.db")
    outbox = Outbox(store, load_connectors(path, {"S": "s"}))
    store.start_call("call-1", "sip:caller")
    turn = TurnRecord(
        idx=0,
        speech_start_s=1.0,
        caller_text="My name is Jane Smith",
        reply_text="Thanks",
        eot_reason="complete",
        speech_end_s=2.0,
        eot_s=2.3,
        stt_done_s=2.2,
        reply_ready_s=2.31,
        first_audio_s=2.45,
        first_frame_s=2.5,
    )
    store.add_turn("call-1", turn)
    store.end_call("call-1", "caller_hangup")
    outbox.record(
        "call-1", Action("take_message", {"caller_name": "Jane Smith", "phone": "+14155550142", "message": "hi"})
    )
    return Health(models={"stt": "whisper-base"}, store=store, outbox=outbox, ready=True)


def test_healthz_needs_no_credentials_and_shows_no_phi(health: Health) -> None:
    client = TestClient(create_app(health, TOKEN))
    body = client.get("/healthz").json()
    assert body["status"] == "ok" and body["reasons"] == []
    row = health.outbox.rows()[0]  # type: ignore[union-attr]
    health.outbox.dead(row.id, "HTTP 401: bad token")  # type: ignore[union-attr]
    degraded = client.get("/healthz")
    assert degraded.status_code == 200 and degraded.json()["status"] == "degraded"
    assert degraded.json()["reasons"] == ["1 dead deliveries (appliance outbox list --state dead)"]
    assert "Jane" not in degraded.text and "4155550142" not in degraded.text


def test_metrics_and_api_need_the_token(health: Health) -> None:
    client = TestClient(create_app(health, TOKEN))
    for path in ("/metrics", "/api/outbox"):
        refused = client.get(path)
        assert refused.status_code == 401 and "Jane" not in refused.text
        assert client.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
    off = TestClient(create_app(health, "")).get("/metrics", headers={"Authorization": "Bearer "})
    assert off.status_code == 401 and "VOCALIA_WEB_TOKEN" in off.json()["error"]


def test_metrics_in_prometheus_format(health: Health) -> None:
    text = TestClient(create_app(health, TOKEN)).get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).text
    assert 'vocalia_calls_total{reason="caller_hangup"} 1' in text
    assert "vocalia_turns_total 1" in text
    assert 'vocalia_turn_first_frame_seconds_bucket{le="0.5"} 1' in text  # 0.5 s after the end of speech
    assert 'vocalia_turn_first_frame_seconds_bucket{le="0.25"} 0' in text
    assert 'vocalia_outbox_rows{connector="crm",state="pending"} 1' in text
    assert "vocalia_up 1" in text and "Jane" not in text


def test_the_api_lists_and_retries_deliveries(health: Health) -> None:
    client = TestClient(create_app(health, TOKEN))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    row = health.outbox.rows()[0]  # type: ignore[union-attr]
    health.outbox.dead(row.id, "HTTP 500")  # type: ignore[union-attr]
    (listed,) = client.get("/api/outbox?state=dead", headers=auth).json()
    assert listed["id"] == row.id and listed["last_error"] == "HTTP 500"
    assert listed["tool"] == "take_message" and listed["payload"] is None, "no names or numbers in the list"
    assert client.post(f"/api/outbox/{row.id}/retry", headers=auth).json() == {"id": row.id, "state": "pending"}
    assert health.outbox.rows()[0].state == "pending"  # type: ignore[union-attr]
    assert client.post("/api/outbox/nope/retry", headers=auth).status_code == 404


def test_the_status_api_shows_no_phi_unless_asked_and_audits_the_asking(health: Health) -> None:
    client = TestClient(create_app(health, TOKEN))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    plain = client.get("/api/status", headers=auth)
    body = plain.json()
    assert body["latency"] == {"turns": 1, "p50_ms": 500, "p95_ms": 500, "recent_ms": [500]}
    assert body["calls"]["today"] == {"caller_hangup": 1} and body["memory_mb"] > 50
    assert "Jane" not in plain.text and health.store.query("SELECT * FROM audit", []) == []  # type: ignore[union-attr]
    shown = client.get("/api/status?phi=1", headers=auth).json()
    assert shown["said"] == [{"call": "call-1", "turn": 0, "text": "My name is Jane Smith"}]
    (entry,) = health.store.query("SELECT actor, action FROM audit", [])  # type: ignore[union-attr]
    assert entry["action"] == "showed what callers said today" and entry["actor"].startswith("status page from")


def test_the_status_api_shows_today_s_reminder_outcomes(tmp_path: Path) -> None:
    from datetime import datetime, timedelta

    from tests.test_reminders import book_for, reminders_book

    book = reminders_book(tmp_path)
    noon = datetime(2026, 11, 24, 12, 0)
    for n in range(4):
        book_for(book.store, noon + timedelta(hours=2, minutes=30 * n), f"+1415555010{n}")
    book.plan(noon)
    machine, busy, talking = (book.claim(local=noon) for _ in range(3))
    assert machine and busy and talking
    book.settle(machine.id, "voicemail", "message_left")
    book.settle(busy.id, "busy")
    book.answered(talking.id, "call-2")
    client = TestClient(create_app(Health(store=book.store, reminders=book, ready=True), TOKEN))
    shown = client.get("/api/status", headers={"Authorization": f"Bearer {TOKEN}"}).json()["reminders"]
    # the busy one waits for its retry, the fourth for its turn; the answered call is still going
    assert shown == {
        "waiting": 2,
        "calling": 1,
        "outcomes": {"voicemail": 1, "busy": 1},
        "replies": {"message_left": 1},
    }
