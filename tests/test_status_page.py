"""The status page in a real browser (headless Chromium from Debian, driven by Selenium)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from appliance.dialog.tools import Action
from appliance.integrations.connectors import load_connectors
from appliance.integrations.outbox import Outbox
from appliance.testing import HttpSink, free_port

from .conftest import APPLIANCE, ROOT, accessibility_problems, daemon_store, start_daemon, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromedriver") is None, reason="chromium-driver (Debian) is installed by setup"),
]
TOKEN = "status-page-token"
ARTIFACTS = Path(os.environ.get("VOCALIA_TEST_ARTIFACTS", ROOT / "tests" / "artifacts"))


def test_the_status_page_shows_a_live_call_and_retries_a_dead_delivery(
    env: dict[str, str], tmp_path: Path, browser: WebDriver
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    sink = HttpSink(default=400)
    try:
        path = tmp_path / "integrations.toml"
        path.write_text(
            f'[[connector]]\nname = "practice"\nkind = "webhook"\ntools = ["take_message"]\nurl = "{sink.url}"\n'
            'secret_env = "VOCALIA_SECRET_HOOK"\n'
        )
        store = daemon_store(Path(env["VOCALIA_STATE_DIR"]))
        Outbox(store, load_connectors(path, {"VOCALIA_SECRET_HOOK": "s"})).record(
            "earlier-call",
            Action("take_message", {"caller_name": "Jane Smith", "phone": "+14155550142", "message": "x"}),
        )
        extra = {"VOCALIA_WEB_TOKEN": TOKEN, "VOCALIA_INTEGRATIONS_FILE": str(path), "VOCALIA_SECRET_HOOK": "s"}
        for daemon in start_daemon(env, **extra):
            base = f"http://127.0.0.1:{daemon.web_port}"
            # Without credentials: 401 and nothing about calls or callers.
            for url in ("/", "/api/status", "/api/outbox"):
                refused = httpx.get(base + url)
                assert refused.status_code == 401 and "Jane" not in refused.text and "Main Street" not in refused.text
            browser.get(base + "/")
            assert accessibility_problems(browser) == [], "IT's sign-in page"
            browser.find_element(By.ID, "token").send_keys(TOKEN)
            browser.find_element(By.ID, "signin").click()
            wait_for(lambda: browser.find_element(By.ID, "state").text in ("ok", "degraded"), what="the state badge")
            assert accessibility_problems(browser) == [], "IT's status page"
            # The delivery was refused (HTTP 400): it is dead, with the peer's answer, and the line is degraded.
            dead = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "tr.dead"), what="the dead row")
            assert "HTTP 400: refused" in dead[0].text and "take_message" in dead[0].text  # type: ignore[index]
            assert browser.find_element(By.ID, "state").text == "degraded"
            # A real test call: it shows while in progress, then its latency.
            call = subprocess.Popen(
                [
                    *APPLIANCE,
                    "--log-level",
                    "ERROR",
                    "call",
                    f"sip:reception@127.0.0.1:{daemon.sip_port}",
                    "--say",
                    "Where are you located?",
                    "--listen",
                    "6",
                ],
                env={**env, "VOCALIA_SIP_PORT": str(free_port()), "VOCALIA_SIP_LOG_LEVEL": "0"},
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            live = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "tr.call"), what="the call in progress")
            assert "sip:" in live[0].text and "****" in live[0].text, "the caller is masked"  # type: ignore[index]
            browser.save_screenshot(str(ARTIFACTS / "status-page-call.png"))
            assert call.wait(timeout=60) == 0
            wait_for(lambda: browser.find_element(By.ID, "nturns").text == "1 turns today", what="the turn")
            p50 = int(browser.find_element(By.ID, "p50").text)
            assert 100 < p50 < 5000
            # Retry the dead delivery once the peer is fixed.
            sink.default = 200
            browser.find_element(By.CSS_SELECTOR, "button.retry").click()
            wait_for(lambda: not browser.find_elements(By.CSS_SELECTOR, "tr.dead"), what="the retried row to leave")
            wait_for(lambda: "1 delivered" in browser.find_element(By.ID, "outbox").text, what="the delivery")
            assert len(sink.effects) == 1
            browser.save_screenshot(str(ARTIFACTS / "status-page.png"))
            # Seeing what callers said is an opt-in, and it is audited.
            browser.find_element(By.ID, "phi").click()
            said = wait_for(lambda: browser.find_element(By.ID, "said").text, what="the transcripts")
            assert "located" in str(said).lower()
            audit = store.query("SELECT actor, action FROM audit", [])
            assert audit and audit[0]["action"] == "showed what callers said today"
        store.close()
    finally:
        sink.close()
