"""The front desk's page in a real browser (headless Chromium), after real SIP calls from baresip."""

from __future__ import annotations

import shutil
import time
from functools import partial
from pathlib import Path

import httpx
import numpy as np
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from appliance.audio.files import write_wav
from appliance.audio.frames import PIPELINE_RATE
from appliance.audio.resample import resample
from appliance.models.tts import KokoroSynthesizer
from appliance.testing import HttpSink, baresip
from tests.conftest import accessibility_problems, daemon_store, start_daemon, wait_for
from tests.test_status_page import ARTIFACTS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("chromedriver") is None, reason="chromium-driver (Debian) is installed by setup"),
]
IT_TOKEN, DESK_TOKEN = "it-token", "desk-token"
CALLER_ID = "+14155550142"


def caller_audio(voice: KokoroSynthesizer, path: Path, turns: list[tuple[str, float]]) -> tuple[Path, int]:
    """Each turn spoken, then the silence the reply needs; 8 kHz, with the greeting's wait first."""
    parts = [np.zeros(int(6.0 * PIPELINE_RATE), np.int16)]
    for text, gap in turns:
        parts += [np.concatenate(list(voice.sentences(text))), np.zeros(int(gap * PIPELINE_RATE), np.int16)]
    write_wav(path, resample(np.concatenate(parts), PIPELINE_RATE, 8000), 8000)
    return path, int(sum(len(p) for p in parts) / PIPELINE_RATE) + 2


def text_of(browser: WebDriver, element_id: str) -> str:
    return str(browser.find_element(By.ID, element_id).text)


def test_a_message_and_a_booking_from_real_calls_reach_the_desk_which_marks_the_message_done(
    env: dict[str, str],
    tmp_path: Path,
    browser: WebDriver,
    caller_voice: KokoroSynthesizer,
    request: pytest.FixtureRequest,
) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Each pause is the reply's length and a little more: the read-backs run to about ten seconds.
    booking, booking_s = caller_audio(
        caller_voice,
        tmp_path / "booking.wav",
        [
            ("Hi, I'd like to book an appointment with Doctor Martin on Thursday at 10 am.", 5.0),
            ("My name is Robert Chen.", 5.0),
            ("Yes, that's right.", 12.0),
            ("Yes.", 7.0),
        ],
    )
    note, note_s = caller_audio(
        caller_voice,
        tmp_path / "message.wav",
        [
            ("Hi, I'd like to leave a message for Doctor Lopez.", 5.0),
            ("My name is Karen White.", 5.0),
            ("Yes.", 5.0),
            ("Please tell her my blood pressure readings are back to normal.", 13.0),
            ("Yes, thank you.", 8.0),
        ],
    )
    # The office's webhook takes messages: the desk sees that it went out.
    sink = HttpSink()
    request.addfinalizer(sink.close)
    integrations = tmp_path / "integrations.toml"
    integrations.write_text(
        f'[[connector]]\nname = "office-hook"\nkind = "webhook"\ntools = ["take_message"]\nurl = "{sink.url}"\n'
        'secret_env = "VOCALIA_SECRET_HOOK"\n'
    )
    extra = {
        "VOCALIA_WEB_TOKEN": IT_TOKEN,
        "VOCALIA_WEB_DESK_TOKEN": DESK_TOKEN,
        "VOCALIA_INTEGRATIONS_FILE": str(integrations),
        "VOCALIA_SECRET_HOOK": "s",
    }
    for daemon in start_daemon(env, **extra):
        base = f"http://127.0.0.1:{daemon.web_port}"
        target = f"sip:reception@127.0.0.1:{daemon.sip_port}"
        browser.get(base + "/desk")
        assert accessibility_problems(browser) == []
        browser.find_element(By.ID, "token").send_keys(DESK_TOKEN)
        browser.find_element(By.ID, "name").send_keys("Maria")
        browser.find_element(By.ID, "signin").click()
        wait_for(lambda: browser.find_element(By.ID, "user").text == "Maria", what="the desk page")
        for workdir, source, seconds in ((tmp_path / "b1", booking, booking_s), (tmp_path / "b2", note, note_s)):
            heard, log = baresip(workdir, target, source, "PCMU/8000/1", seconds, user=CALLER_ID)
            assert heard is not None, log
        ended = time.monotonic()
        store = daemon_store(daemon.state)
        calls = [
            [(t["caller_text"], t["reply_text"]) for t in store.turns(c["id"])]
            for c in store.query("SELECT id FROM calls", [])
        ]
        # Within 5 s of the call's end, the message is on the list to handle and the booking is shown.
        task = wait_for(
            lambda: [t for t in browser.find_elements(By.CSS_SELECTOR, "li.task.open") if "Karen White" in t.text],
            timeout=5.0,
            what=f"the message at the desk; the calls went {calls}",
        )[0]  # type: ignore[index]
        assert "blood pressure" in task.text.lower() and "+1 415-555-0142" in task.text and "Lopez" in task.text
        booked = wait_for(
            lambda: [b for b in browser.find_elements(By.CSS_SELECTOR, "li.booking") if "Robert Chen" in b.text],
            timeout=5.0 - (time.monotonic() - ended),
            what=f"the booking at the desk; the calls went {calls}",
        )[0]  # type: ignore[index]
        assert "10:00" in booked.text
        wait_for(lambda: "office-hook: sent" in browser.find_element(By.ID, "open").text, what="the delivery's state")
        assert len(sink.effects) == 1
        assert "dr. martin" in browser.find_element(By.ID, "bookings").text.lower(), "under its provider"
        assert "1" in browser.find_element(By.ID, "count").text
        browser.save_screenshot(str(ARTIFACTS / "desk.png"))
        assert accessibility_problems(browser) == []
        # On a tablet held upright the page fits its width: nothing to scroll sideways.
        browser.set_window_size(768, 1024)
        assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        browser.save_screenshot(str(ARTIFACTS / "desk-tablet.png"))
        (message,) = store.query("SELECT id, call_id FROM actions WHERE tool = 'take_message'", [])
        # IT cannot mark it; the desk cannot retry a delivery nor read the metrics.
        it, desk = {"Authorization": f"Bearer {IT_TOKEN}"}, {"Authorization": f"Bearer {DESK_TOKEN}"}
        assert (
            httpx.post(f"{base}/api/desk/tasks/{message['id']}", json={"handled": "done"}, headers=it).status_code
            == 403
        )
        assert httpx.get(f"{base}/metrics", headers=desk).status_code == 403
        assert httpx.post(f"{base}/api/outbox/any/retry", headers=desk).status_code == 403
        # What the caller said, on request: shown, and audited.
        browser.find_element(By.CSS_SELECTOR, "li.task.open button.said-button").click()
        said = wait_for(partial(text_of, browser, f"said-{message['call_id']}"), what="the transcript")
        assert "blood pressure" in str(said).lower()
        # Marked done from the keyboard: it moves to the handled list with who did it, and the audit has it.
        browser.find_element(By.CSS_SELECTOR, "li.task.open button.done").send_keys(Keys.ENTER)
        handled = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "li.task.handled"), what="the handled row")
        assert "Karen White" in handled[0].text and "Maria" in handled[0].text  # type: ignore[index]
        assert not browser.find_elements(By.CSS_SELECTOR, "li.task.open")
        browser.save_screenshot(str(ARTIFACTS / "desk-handled.png"))
        rows = store.query("SELECT actor, action, detail FROM audit ORDER BY id", [])
        actions = [(r["action"], r["detail"]) for r in rows if r["actor"].startswith("front desk: Maria")]
        assert actions == [
            ("signed in", ""),
            ("showed what a caller said", message["call_id"]),
            ("marked a task done", message["id"]),
        ]
        store.close()
