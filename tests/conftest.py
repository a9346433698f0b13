"""Shared fixtures: the appliance as a subprocess, real models loaded once per session."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from faster_whisper import WhisperModel
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from appliance.audio.frames import PIPELINE_RATE
from appliance.call import Engines
from appliance.config import ApplianceConfig, ModelsConfig, StoreConfig, load_config
from appliance.dialog.engine import Business
from appliance.dialog.profile import load_profile
from appliance.dialog.tools import Action
from appliance.integrations.connectors import load_connectors
from appliance.integrations.outbox import Outbox
from appliance.integrations.worker import OutboxWorker
from appliance.models.registry import ModelRegistry
from appliance.models.tts import KokoroSynthesizer
from appliance.scale.kamailio import modules_dir
from appliance.store import Store
from appliance.store import consent as consents
from appliance.testing import free_port

ROOT = Path(__file__).resolve().parent.parent
APPLIANCE = [sys.executable, "-m", "appliance"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Environment for running the appliance as a subprocess with its state in a temp dir."""
    return {
        **os.environ,
        "VOCALIA_STATE_DIR": str(tmp_path / "state"),
        "PYTHONPATH": str(ROOT),
        # Tests talk to loopback only; a daemon started by a test listens there, on a port of its own.
        "VOCALIA_SIP_HOST": "127.0.0.1",
        "VOCALIA_SIP_PORT": str(free_port()),
    }


def run_appliance(args: list[str], env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run ``appliance ARGS`` to completion."""
    return subprocess.run([*APPLIANCE, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


def daemon_store(state: Path, db: Path | None = None) -> Store:
    """The database a daemon or CLI run with this state dir uses (``db``: its [store] path), opened with its key.

    The key is ``<state>/db.key``, created for a new database as the daemon would.
    """
    return Store.configured(ApplianceConfig(state_dir=str(state), store=StoreConfig(path=str(db or ""))))


@pytest.fixture(scope="session")
def listener(tmp_path_factory: pytest.TempPathFactory) -> WhisperModel:
    """Whisper base, the caller's ear: what a test caller heard is transcribed with it."""
    path = ModelRegistry(tmp_path_factory.mktemp("cache")).resolve("stt", "whisper-base").path
    return WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=2)


def transcribe(model: WhisperModel, wav: Path) -> str:
    """What a caller's recording says: lowercase words, no punctuation."""
    segments, _ = model.transcribe(str(wav), language="en", vad_filter=True)
    return re.sub(r"[^a-z ]+", " ", " ".join(s.text for s in segments).lower())


@pytest.fixture(scope="session")
def fast_config(tmp_path_factory: pytest.TempPathFactory) -> ApplianceConfig:
    """The default configuration with the small English model (tiny.en) for quick pipeline tests."""
    base = load_config(None, env={})
    state = tmp_path_factory.mktemp("state")
    return ApplianceConfig(state_dir=str(state), models=ModelsConfig(stt="whisper-tiny.en"), listen=base.listen)


@pytest.fixture(scope="session")
def fast_engines(fast_config: ApplianceConfig) -> Iterator[Engines]:
    """Real models (tiny.en, Silero, piper), loaded once."""
    engines = Engines.load(fast_config)
    yield engines
    engines.close()


# Monday 23 November 2026, 09:00 at the demo clinic: dialogue tests see a fixed "now".
DEMO_NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("America/New_York"))


@pytest.fixture
def demo_business(tmp_path: Path) -> Iterator[Business]:
    """The shipped demo clinic with a fresh store and the clock at :data:`DEMO_NOW`."""
    store = Store(tmp_path / "dialog.db")
    yield Business(load_profile(), store, clock=lambda: DEMO_NOW)
    store.close()


@dataclass
class Daemon:
    sip_port: int
    web_port: int
    proc: subprocess.Popen[str]
    state: Path

    def health(self) -> dict:  # type: ignore[type-arg]
        return httpx.get(f"http://127.0.0.1:{self.web_port}/healthz", timeout=2).json()  # type: ignore[no-any-return]


def start_daemon(env: dict[str, str], **extra: str) -> Iterator[Daemon]:
    sip_port, web_port = free_port(), free_port()
    env = {
        **env,
        "VOCALIA_SIP_HOST": "127.0.0.1",
        "VOCALIA_SIP_PORT": str(sip_port),
        "VOCALIA_WEB_PORT": str(web_port),
        "VOCALIA_SIP_LOG_LEVEL": "0",
        **extra,
    }
    with subprocess.Popen([*APPLIANCE, "run"], env=env, cwd=ROOT, stderr=subprocess.PIPE, text=True) as proc:
        daemon = Daemon(sip_port, web_port, proc, Path(env["VOCALIA_STATE_DIR"]))
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                try:
                    if daemon.health()["status"] in ("ok", "degraded"):  # degraded: e.g. registration refused
                        break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "daemon not ready"
                    time.sleep(0.2)
            yield daemon
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0, "the daemon must exit cleanly on SIGTERM (no abort at exit)"
        finally:
            if proc.poll() is None:
                proc.kill()


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    """Debian's headless Chromium, driven by Selenium (the page tests)."""
    options = Options()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,900"):
        options.add_argument(flag)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    yield driver
    driver.quit()


def wait_for(check: Callable[[], object], timeout: float = 30.0, what: str = "") -> object:
    """``check()``'s first truthy value, polled every 0.2 s (a page still being drawn counts as not yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # noqa: BLE001 - the page is still being drawn
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="session")
def caller_voice(tmp_path_factory: pytest.TempPathFactory) -> KokoroSynthesizer:
    """A test caller's English voice, Kokoro's af_heart: not the appliance's own (piper)."""
    registry = ModelRegistry(tmp_path_factory.mktemp("cache"))
    return KokoroSynthesizer(registry.resolve_voice("kokoro-af-heart"), "en", 1, PIPELINE_RATE)


KAMAILIO_CONFIG = """\
#!KAMAILIO
debug=2
log_stderror=yes
children=2
disable_tcp=yes
listen=udp:127.0.0.1:{port}
mpath="{modules}/"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here"); exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    if (is_method("REGISTER")) {{
        if (!pv_www_authenticate("$td", "{password}", "0")) {{ www_challenge("$td", "0"); exit; }}
        if (!save("location")) {{ sl_reply_error(); }}
        exit;
    }}
    record_route();
    if (!lookup("location")) {{ sl_send_reply("404", "Not Found"); exit; }}
    t_relay();
}}
"""


@pytest.fixture
def kamailio(tmp_path: Path) -> Iterator[int]:
    """Kamailio as the PBX: a registrar with digest auth (password s3cret for every user) and a proxy to
    the registered phones, on loopback; yields its port."""
    port = free_port()
    config = tmp_path / "kamailio.cfg"
    config.write_text(KAMAILIO_CONFIG.format(port=port, password="s3cret", modules=modules_dir()))
    cmd = ["kamailio", "-DD", "-E", "-f", str(config), "-P", str(tmp_path / "kamailio.pid"), "-Y", str(tmp_path)]
    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as proc:
        time.sleep(1.0)
        assert proc.poll() is None, "kamailio did not start"
        yield port
        proc.terminate()
        proc.wait(timeout=10)


def deliver_recorded(
    tmp_path: Path,
    integrations: str,
    secrets: dict[str, str],
    actions: list[Action],
    answer: Callable[[httpx.Request], httpx.Response],
    consented: tuple[tuple[str, str], ...] = (),
) -> tuple[list[httpx.Request], Outbox, float]:
    """Queue ``actions`` for the connectors of an integrations file and run the real outbox worker, its
    HTTP answered by ``answer`` (a recorded contract), until every delivery settles (at most 10 s).
    ``consented``: (phone, channel) pairs whose patient said yes first. Returns the requests made, the
    outbox and the seconds it took."""
    path = tmp_path / "integrations.toml"
    path.write_text(integrations)
    connectors = load_connectors(path, secrets)
    store = Store(tmp_path / "a.db")
    with store.transaction() as conn:
        for phone, channel in consented:
            consents.record(conn, phone, channel, True, "asked on the booking call")
    outbox = Outbox(store, connectors)
    for action in actions:
        outbox.record("call-1", action)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    async def drain() -> float:
        stop = asyncio.Event()
        worker = OutboxWorker(outbox, connectors, poll_s=0.05, base_s=0.05, transport=httpx.MockTransport(handler))
        started = time.monotonic()
        task = asyncio.create_task(worker.run(stop))
        for _ in range(200):
            await asyncio.sleep(0.05)
            if not any(e["pending"] or e["in_flight"] for e in outbox.stats().values()):
                break
        stop.set()
        await task
        return time.monotonic() - started

    took = asyncio.run(drain())
    return seen, outbox, took


AXE = sorted((Path(sys.prefix) / "share" / "vocalia").glob("axe-core-*.min.js"))


def accessibility_problems(browser: WebDriver) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now (WCAG 2 A/AA rules)."""
    assert AXE, "axe-core is installed by scripts/setup --dev"
    browser.execute_script(AXE[-1].read_text(encoding="utf-8"))
    result: dict[str, Any] = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}}).then(done);"
    )
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
