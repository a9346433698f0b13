"""The outbox and its worker against real local peers: an HTTP sink, an SMTP server, kill -9 mid-delivery."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller

from appliance.dialog.engine import Business
from appliance.dialog.tools import Action
from appliance.errors import ConfigError
from appliance.integrations.connectors import Connector, TwilioSmsConnector, load_connectors
from appliance.integrations.outbox import Outbox
from appliance.integrations.worker import OutboxWorker, backoff_s
from appliance.store import Store
from appliance.testing import HttpSink, free_port

from .conftest import APPLIANCE, ROOT, daemon_store, run_appliance, start_daemon

SECRET = "s3cret-for-tests"
BOOKING = Action(
    "create_booking",
    {"patient_name": "Jane Smith", "start": "2026-11-24T10:00", "provider": "Dr. Martin", "phone": "+14155552671"},
)


@pytest.fixture
def sink() -> Iterator[HttpSink]:
    peer = HttpSink()
    yield peer
    peer.close()


def integrations(tmp_path: Path, *connectors: str) -> Path:
    path = tmp_path / "integrations.toml"
    path.write_text("\n".join(connectors))
    return path


def webhook(name: str, url: str, tools: str = '["create_booking", "take_message"]', extra: str = "") -> str:
    return f'[[connector]]\nname = "{name}"\nkind = "webhook"\ntools = {tools}\nurl = "{url}"\nsecret_env = "HOOK_SECRET"\n{extra}\n'


def setup(tmp_path: Path, *connectors: str) -> tuple[Store, Outbox, list[Connector]]:
    loaded = load_connectors(integrations(tmp_path, *connectors), {"HOOK_SECRET": SECRET})
    store = Store(tmp_path / "appliance.db")
    return store, Outbox(store, loaded), loaded


async def deliver(outbox: Outbox, connectors: list[Connector], until: float = 10.0, base_s: float = 0.05) -> None:
    """Run a worker until nothing is pending or in flight (or ``until`` seconds pass)."""
    stop = asyncio.Event()
    task = asyncio.create_task(OutboxWorker(outbox, connectors, lease_s=5, poll_s=0.05, base_s=base_s).run(stop))
    deadline = time.monotonic() + until
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        stats = await asyncio.to_thread(outbox.stats)
        if not any(e["pending"] or e["in_flight"] for e in stats.values()):
            break
    stop.set()
    await task


async def test_a_webhook_delivery_is_signed_idempotent_and_allow_listed(tmp_path: Path, sink: HttpSink) -> None:
    store, outbox, connectors = setup(
        tmp_path, webhook("practice", sink.url, extra='fields = ["patient_name", "start"]')
    )
    outbox.record("call-1", BOOKING)
    await deliver(outbox, connectors)
    (got,) = sink.deliveries
    (row,) = outbox.rows("delivered")
    assert got.key == row.idempotency_key
    body = json.loads(got.body)
    assert body["args"] == {"patient_name": "Jane Smith", "start": "2026-11-24T10:00"}, "only allow-listed fields"
    assert body["action"] == "create_booking" and "phone" not in got.body.decode()
    stamp = got.headers["X-Vocalia-Timestamp"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + got.body, hashlib.sha256).hexdigest()
    assert got.headers["X-Vocalia-Signature"] == f"sha256={expected}"
    store.close()


async def test_a_peer_that_is_down_gets_the_action_after_it_recovers(tmp_path: Path, sink: HttpSink) -> None:
    sink.script = [503, 503, 502]
    store, outbox, connectors = setup(tmp_path, webhook("practice", sink.url))
    outbox.record("call-1", BOOKING)
    await deliver(outbox, connectors)
    (row,) = outbox.rows()
    assert row.state == "delivered" and row.attempts == 4
    assert len(sink.deliveries) == 4 and len({d.key for d in sink.deliveries}) == 1, "one key across retries"
    store.close()


async def test_429_with_retry_after_is_not_retried_sooner(tmp_path: Path, sink: HttpSink) -> None:
    sink.script = [(429, "2")]
    store, outbox, connectors = setup(tmp_path, webhook("practice", sink.url))
    outbox.record("call-1", BOOKING)
    await deliver(outbox, connectors)
    first, second = sink.deliveries
    assert second.at - first.at >= 2.0
    assert outbox.rows()[0].state == "delivered"
    store.close()


async def test_a_permanent_refusal_goes_dead_and_replay_redelivers(
    tmp_path: Path, sink: HttpSink, env: dict[str, str]
) -> None:
    sink.default = 400
    path = integrations(tmp_path, webhook("practice", sink.url))
    env = {
        **env,
        "VOCALIA_INTEGRATIONS_FILE": str(path),
        "HOOK_SECRET": SECRET,
        "VOCALIA_STORE_PATH": str(tmp_path / "a.db"),
    }
    store = daemon_store(Path(env["VOCALIA_STATE_DIR"]), tmp_path / "a.db")
    connectors = load_connectors(path, {"HOOK_SECRET": SECRET})
    outbox = Outbox(store, connectors)
    outbox.record("call-1", BOOKING)
    await deliver(outbox, connectors)
    (row,) = outbox.rows()
    assert row.state == "dead" and row.attempts == 1 and row.last_error == "HTTP 400: refused"
    listed = run_appliance(["outbox", "list", "--state", "dead"], env)
    assert row.id in listed.stdout and "HTTP 400: refused" in listed.stdout
    sink.default = 200  # the peer is fixed
    replay = run_appliance(["outbox", "replay-dead"], env)
    assert replay.returncode == 0 and "1 dead deliveries queued again" in replay.stdout
    work = run_appliance(["outbox", "work", "--until-empty"], env, timeout=60)
    assert work.returncode == 0, work.stderr
    assert outbox.rows()[0].state == "delivered" and len(sink.effects) == 1
    stats = json.loads(run_appliance(["outbox", "stats", "--json"], env).stdout)
    assert stats["practice"]["delivered"] == 1 and stats["practice"]["dead"] == 0
    store.close()


async def test_a_slow_connector_does_not_hold_up_another(tmp_path: Path) -> None:
    slow, fast = HttpSink(delay_s=4.0), HttpSink()
    try:
        store, outbox, connectors = setup(
            tmp_path, webhook("slow-crm", slow.url), webhook("fast-sms", fast.url, tools='["create_booking"]')
        )
        started = time.time()
        outbox.record("call-1", BOOKING)
        await deliver(outbox, connectors)
        assert fast.deliveries[0].at - started < 1.5
        assert slow.deliveries[0].at - started >= 4.0
        store.close()
    finally:
        slow.close()
        fast.close()


def test_kill_9_during_delivery_loses_nothing_and_applies_each_action_once(tmp_path: Path, env: dict[str, str]) -> None:
    """200 actions; the worker process is killed with SIGKILL at 20 random moments while delivering."""
    rng = random.Random(20261125)
    peer = HttpSink(delay_s=lambda: rng.uniform(0.05, 0.3))  # ~20 deliveries/s: 200 take ~10 s of work
    try:
        path = integrations(tmp_path, webhook("practice", peer.url, extra="concurrency = 4"))
        db = tmp_path / "kill.db"
        store = daemon_store(Path(env["VOCALIA_STATE_DIR"]), db)
        outbox = Outbox(store, load_connectors(path, {"HOOK_SECRET": SECRET}))
        for n in range(200):
            outbox.record(
                f"call-{n}",
                Action("take_message", {"caller_name": f"Caller {n}", "phone": "+14155552671", "message": f"m{n}"}),
            )
        keys = {r.idempotency_key for r in outbox.rows(limit=500)}
        env = {
            **env,
            "HOOK_SECRET": SECRET,
            "VOCALIA_INTEGRATIONS_FILE": str(path),
            "VOCALIA_STORE_PATH": str(db),
            "VOCALIA_INTEGRATIONS_LEASE_S": "1",
            "VOCALIA_INTEGRATIONS_RETRY_BASE_S": "0.05",
        }
        kills = 0
        for _ in range(20):
            if outbox.stats()["practice"]["delivered"] == 200:
                break
            before = len(peer.deliveries)
            worker = subprocess.Popen([*APPLIANCE, "outbox", "work"], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 20
            while len(peer.deliveries) == before and time.monotonic() < deadline:
                time.sleep(0.01)  # until this worker is delivering
            time.sleep(rng.uniform(0.0, 1.0))
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            kills += 1
        delivered_under_kills = outbox.stats()["practice"]["delivered"]
        final = run_appliance(["outbox", "work", "--until-empty"], env, timeout=120)
        assert final.returncode == 0, final.stderr
        rows = outbox.rows(limit=500)
        assert [r.state for r in rows].count("delivered") == 200
        assert set(peer.effects) == keys, "every action reached the peer, each under its own single key"
        duplicates = len(peer.deliveries) - len(keys)
        assert kills == 20 and duplicates > 0, "the kills landed while deliveries were in flight"
        print(
            f"kill -9 x{kills}: 200 actions, {delivered_under_kills} settled between kills, {len(peer.deliveries)} "
            f"requests ({duplicates} repeated after a kill lost the answer), 0 lost, 0 applied twice"
        )
        store.close()
    finally:
        peer.close()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:  # noqa: N802 - aiosmtpd API
        self.messages.append(envelope.content)  # type: ignore[attr-defined]
        return "250 OK"


async def test_a_message_is_e_mailed_through_a_real_smtp_server(tmp_path: Path) -> None:
    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        connector = (
            f'[[connector]]\nname = "office"\nkind = "smtp"\ntools = ["take_message"]\nhost = "127.0.0.1"\n'
            f'port = {port}\nsender = "reception@clinic.test"\nto = "office@clinic.test"\n'
        )
        store, outbox, connectors = setup(tmp_path, connector)
        outbox.record(
            "call-1",
            Action(
                "take_message",
                {"caller_name": "Karen White", "phone": "+14155550142", "message": "Call me about my results"},
            ),
        )
        await deliver(outbox, connectors)
        (raw,) = mailbox.messages
        text = raw.decode()
        (row,) = outbox.rows("delivered")
        assert f"Message-ID: <{row.idempotency_key}@vocalia.invalid>" in text
        assert "Subject: [VocalIA] take message" in text and "message: Call me about my results" in text
        store.close()
    finally:
        controller.stop()


async def test_twilio_contract() -> None:
    """Request shape from Twilio's Messages API docs: form POST, basic auth, idempotency token header."""
    seen: list[httpx.Request] = []

    def api(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(201, json={"sid": "SM123", "status": "queued"})
        if len(seen) == 2:
            return httpx.Response(503, headers={"Retry-After": "7"})
        return httpx.Response(400, json={"code": 21211, "message": "Invalid 'To' Phone Number"})

    connector = TwilioSmsConnector(
        "sms", ("send_sms",), None, {"account_sid": "AC123", "auth_token": "tok", "from_number": "+12125550100"}
    )
    payload = connector.payload("send_sms", {"to": "+14155552671", "text": "Our address: 12 Main St"}, "a1")
    async with httpx.AsyncClient(transport=httpx.MockTransport(api)) as client:
        ok = await connector.deliver(client, payload, "key-1")
        later = await connector.deliver(client, payload, "key-1")
        refused = await connector.deliver(client, payload, "key-1")
    request = seen[0]
    assert request.url == "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
    assert request.headers["Authorization"] == "Basic " + __import__("base64").b64encode(b"AC123:tok").decode()
    assert request.headers["I-Twilio-Idempotency-Token"] == "key-1"
    form = dict(httpx.QueryParams(request.content.decode()))
    assert form == {"To": "+14155552671", "Body": "Our address: 12 Main St", "From": "+12125550100"}
    assert ok.delivered and not later.delivered and later.retry_after == 7.0 and not later.permanent
    assert refused.permanent and "21211" in refused.error


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    rng = random.Random(1)
    samples = {n: [backoff_s(n, 2.0, 60.0, rng) for _ in range(500)] for n in (1, 3, 10)}
    assert min(samples[1]) >= 0 and max(samples[1]) <= 2.0
    assert max(samples[3]) <= 8.0 and max(samples[3]) > 6.0
    assert max(samples[10]) <= 60.0 and min(samples[10]) < 10.0  # capped, and jittered down to near zero


@pytest.mark.parametrize(
    ("connector", "env", "message"),
    [
        ('[[connector]]\nname = "x"\nkind = "fax"\ntools = ["send_sms"]\n', {}, "kind = 'fax' is not known"),
        (webhook("x", "https://h.example/hook"), {}, "secret comes from an environment variable"),
        (webhook("x", "http://crm.example.com/hook"), {"HOOK_SECRET": "s"}, "plain http to another host; use https"),
        (webhook("x", "https://h.example", tools='["delete_all"]'), {"HOOK_SECRET": "s"}, "tools = ['delete_all']"),
    ],
)
def test_connector_config_errors(tmp_path: Path, connector: str, env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_connectors(integrations(tmp_path, connector), env)


def test_a_booking_and_its_deliveries_are_one_transaction(
    demo_business: Business, tmp_path: Path, sink: HttpSink
) -> None:
    connectors = load_connectors(integrations(tmp_path, webhook("practice", sink.url)), {"HOOK_SECRET": SECRET})
    store = demo_business.calendar.store
    business = Business(demo_business.profile, store, clock=demo_business._clock, outbox=Outbox(store, connectors))
    first, second = business.engine("c1", "+14155550101"), business.engine("c2", "+14155550102")
    for engine, name in ((first, "Ann Lee"), (second, "Bob Ray")):
        for said in ("Book me with Dr. Martin tomorrow at 10 am", name, "yes"):
            engine.respond(said)
    first.respond("yes")
    assert "just taken" in second.respond("yes").text
    (row,) = business.outbox.rows()
    assert row.payload["args"]["patient_name"] == "Ann Lee", "the refused booking queued nothing"


def test_the_example_integrations_file_loads() -> None:
    secrets = {"VOCALIA_SECRET_WEBHOOK": "s", "VOCALIA_SECRET_SLACK_URL": "https://hooks.slack.com/services/T/B/x"}
    secrets |= {"VOCALIA_SECRET_TWILIO": "t", "VOCALIA_SECRET_SMTP": "p"}
    connectors = load_connectors(ROOT / "config" / "integrations.example.toml", secrets)
    assert [(c.name, c.kind) for c in connectors] == [
        ("practice-system", "webhook"),
        ("front-desk-slack", "slack"),
        ("sms", "twilio"),
        ("office-mail", "smtp"),
    ]


@pytest.mark.slow
def test_the_daemon_delivers_what_was_queued_while_it_was_down(
    tmp_path: Path, env: dict[str, str], sink: HttpSink
) -> None:
    """Actions queued before a restart (the box was off, or the WAN down) go out once the daemon runs."""
    path = integrations(tmp_path, webhook("practice", sink.url))
    db = Path(env["VOCALIA_STATE_DIR"]) / "appliance.db"
    store = Store(db)
    Outbox(store, load_connectors(path, {"HOOK_SECRET": SECRET})).record("call-1", BOOKING)
    store.close()
    for _daemon in start_daemon(env, VOCALIA_INTEGRATIONS_FILE=str(path), HOOK_SECRET=SECRET):
        deadline = time.monotonic() + 10
        while not sink.effects and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(sink.effects) == 1 and json.loads(sink.deliveries[0].body)["args"]["patient_name"] == "Jane Smith"
