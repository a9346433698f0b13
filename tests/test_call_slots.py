"""Slot hygiene (issue #12): a call that never becomes a conversation gives its slot back within seconds.

The appliance has four call slots. An INVITE answered but never ACKed holds one for pjsip's 32 s by
itself, and a call without RTP for as long as the caller stays; four such calls made the next real
caller hear 486 Busy. SIPp plays those callers (scenarios in ``tests/sipp``), baresip the real one.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from appliance.audio.files import read_audio, write_wav
from appliance.testing import baresip, free_port
from tests.conftest import Daemon, start_daemon

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).parent / "sipp"
PJSIP_ACK_WAIT_S = 32.0  # pjsip's own Timer H: how long an unacknowledged answer held its slot before


@pytest.fixture
def daemon(env: dict[str, str]) -> Iterator[Daemon]:
    yield from start_daemon(env, VOCALIA_SIP_ACK_TIMEOUT_S="2", VOCALIA_SIP_RTP_TIMEOUT_S="2")


def sipp(daemon: Daemon, workdir: Path, scenario: str, calls: int) -> subprocess.Popen[str]:
    """``calls`` callers of ``scenario`` at once, each expecting the appliance's BYE."""
    cmd = ["sipp", "-sf", str(SCENARIOS / scenario), f"127.0.0.1:{daemon.sip_port}", "-s", "reception"]
    cmd += ["-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()), "-m", str(calls), "-l", str(calls)]
    cmd += ["-r", str(calls), "-timeout", "40", "-timeout_error", "-nostdin"]
    return subprocess.Popen(cmd, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_calls(daemon: Daemon, count: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while daemon.health()["sip"]["active_calls"] != count:
        assert time.monotonic() < deadline, daemon.health()
        time.sleep(0.1)


def real_call(daemon: Daemon, workdir: Path, seconds: int = 8) -> tuple[np.ndarray, str]:
    """A baresip call that stays silent and records what it heard (8 kHz)."""
    silence = workdir / "silence.wav"
    write_wav(silence, np.zeros(seconds * 8000, np.int16), 8000)
    heard, log = baresip(workdir, f"sip:reception@127.0.0.1:{daemon.sip_port}", silence, "PCMU/8000/1", seconds)
    if heard is None:
        return np.zeros(0, np.int16), log
    return read_audio(heard, 8000, 60), log


def loud_seconds(audio: np.ndarray) -> float:
    frames = audio[: len(audio) // 160 * 160].reshape(-1, 160).astype(np.float64)
    return float((np.sqrt((frames**2).mean(axis=1)) > 300).sum() * 0.02)


def released_metric(daemon: Daemon, reason: str, token: str) -> float:
    text = httpx.get(
        f"http://127.0.0.1:{daemon.web_port}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=2
    ).text
    found = re.search(rf'^vocalia_sip_calls_released_total{{reason="{reason}"}} (\S+)$', text, re.MULTILINE)
    assert found, text
    return float(found.group(1))


def test_four_answers_never_acknowledged_free_their_slots_for_a_real_caller(daemon: Daemon, tmp_path: Path) -> None:
    started = time.monotonic()
    callers = sipp(daemon, tmp_path, "no_ack.xml", calls=4)
    wait_calls(daemon, 4)  # every slot is held
    output, _ = callers.communicate(timeout=60)
    elapsed = time.monotonic() - started
    # Each of them got the appliance's BYE (SIPp fails a call whose BYE never comes), well before pjsip's 32 s.
    assert callers.returncode == 0, output[-3000:]
    assert elapsed < PJSIP_ACK_WAIT_S / 2, f"the unacknowledged calls held their slots {elapsed:.1f} s"
    wait_calls(daemon, 0, timeout=5)
    sip = daemon.health()["sip"]
    assert sip["released"] == {"no_ack": 4, "no_rtp": 0}, sip
    # The next real caller is answered and hears the greeting, instead of 486 Busy.
    heard, log = real_call(daemon, tmp_path / "real")
    assert "486" not in log and loud_seconds(heard) > 2.0, log
    assert daemon.health()["sip"]["busy_rejections"] == 0


def test_a_call_without_rtp_is_hung_up_but_a_quiet_caller_is_not(env: dict[str, str], tmp_path: Path) -> None:
    token = "t" * 32
    for daemon in start_daemon(env, VOCALIA_SIP_RTP_TIMEOUT_S="2", VOCALIA_WEB_TOKEN=token):
        # A caller who says nothing still sends RTP (silence): the appliance keeps the call.
        heard, log = real_call(daemon, tmp_path / "quiet", seconds=8)
        assert loud_seconds(heard) > 2.0, log
        assert daemon.health()["sip"]["released"]["no_rtp"] == 0
        callers = sipp(daemon, tmp_path, "no_rtp.xml", calls=2)
        output, _ = callers.communicate(timeout=60)
        assert callers.returncode == 0, output[-3000:]  # both got a BYE
        wait_calls(daemon, 0, timeout=5)
        assert daemon.health()["sip"]["released"] == {"no_ack": 0, "no_rtp": 2}
        assert released_metric(daemon, "no_rtp", token) == 2.0
