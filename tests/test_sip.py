"""SIP calls from a real softphone (baresip) to the daemon, on loopback."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import WhisperModel

from appliance.audio.files import write_wav
from appliance.dialog.replies import TEMPLATES
from appliance.testing import baresip, baresip_setup, sip_request, speak
from tests.conftest import ROOT, Daemon, daemon_store, free_port, run_appliance, start_daemon, transcribe

pytestmark = pytest.mark.slow


@pytest.fixture
def daemon(env: dict[str, str]) -> Iterator[Daemon]:
    yield from start_daemon(env)


def heard_words(phrase: str, text: str) -> bool:
    """Whether ``phrase`` was heard, whatever word breaks Whisper chose ("demo clinic" / "democlinic")."""
    return phrase.replace(" ", "") in text.replace(" ", "")


def caller_audio(tmp_path: Path, text: str, lead_s: float, tail_s: float) -> Path:
    speech = speak(text, 8000, tmp_path)
    audio = np.concatenate([np.zeros(int(lead_s * 8000), np.int16), speech, np.zeros(int(tail_s * 8000), np.int16)])
    path = tmp_path / "caller.wav"
    write_wav(path, audio, 8000)
    return path


@pytest.mark.parametrize("codec", ["PCMU/8000/1", "PCMA/8000/1", "G722/8000/1"])
def test_a_softphone_call_is_greeted_and_answered(
    daemon: Daemon, tmp_path: Path, listener: WhisperModel, codec: str
) -> None:
    # The greeting lasts about 3.5 s: the caller speaks after it, then stays on the line for the reply.
    source = caller_audio(tmp_path, "What time do you open tomorrow?", lead_s=4.5, tail_s=6.0)
    heard, log = baresip(tmp_path / "baresip", f"sip:reception@127.0.0.1:{daemon.sip_port}", source, codec, 25)
    assert heard is not None, log
    assert codec.split("/")[0] in log  # the codec we asked for is the one in use
    text = transcribe(listener, heard)
    store = daemon_store(daemon.state)
    understood = [t["caller_text"] for t in store.db.table("turns").rows]
    assert heard_words("thank you for calling demo clinic", text), text
    assert heard_words("open monday to friday", text), (text, understood)
    (call,) = store.db.table("calls").rows
    assert call["end_reason"] == "caller_hangup" and call["source"].startswith("sip:")
    (turn,) = store.turns(call["id"])
    assert "open" in turn["caller_text"].lower()
    assert turn["first_frame_s"] > turn["speech_end_s"]


def test_a_call_beyond_max_calls_gets_busy(env: dict[str, str], tmp_path: Path) -> None:
    for daemon in start_daemon(env, VOCALIA_SIP_MAX_CALLS="1"):
        source = caller_audio(tmp_path, "Hello.", lead_s=0.5, tail_s=12.0)
        target = f"sip:reception@127.0.0.1:{daemon.sip_port}"
        config = baresip_setup(tmp_path / "first", source)
        cmd = ["baresip", "-f", str(config), "-e", f"/dial {target}", "-t", "15"]
        with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as first:
            deadline = time.monotonic() + 10
            while daemon.health()["sip"]["active_calls"] < 1:
                assert time.monotonic() < deadline, "the first call was not answered"
                time.sleep(0.2)
            _, log = baresip(tmp_path / "second", target, source, "PCMU/8000/1", 5)
            assert "486 Busy Here" in log, log
            assert daemon.health()["sip"]["busy_rejections"] == 1
            first.wait(timeout=30)


def test_it_can_place_a_test_call_from_the_command_line(daemon: Daemon, env: dict[str, str], tmp_path: Path) -> None:
    record = tmp_path / "heard.wav"
    target = f"sip:reception@127.0.0.1:{daemon.sip_port}"
    args = ["--log-level", "WARNING", "call", target, "--say", "What are your opening hours?", "--record", str(record)]
    result = run_appliance(args, {**env, "VOCALIA_SIP_LOG_LEVEL": "0"}, timeout=90)
    assert result.returncode == 0, result.stderr
    answers = [line for line in result.stdout.splitlines() if "] answer: " in line]
    assert heard_words("thank you for calling demo clinic", answers[0].lower()), result.stdout
    assert "We're open Monday to Friday" in answers[1], result.stdout
    assert record.stat().st_size > 16000 * 2 * 5  # more than 5 s of the call was recorded


def test_calling_nobody_fails_in_one_line(env: dict[str, str]) -> None:
    nobody = f"sip:nobody@127.0.0.1:{free_port()}"
    result = run_appliance(["call", nobody, "--say", "Hello?"], {**env, "VOCALIA_SIP_LOG_LEVEL": "0"}, timeout=90)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {nobody} did not answer"), result.stderr


def test_sigterm_during_a_call_exits_cleanly(env: dict[str, str], tmp_path: Path) -> None:
    source = caller_audio(tmp_path, "Hello.", lead_s=0.5, tail_s=20.0)
    for daemon in start_daemon(env):  # its teardown sends SIGTERM and requires exit status 0
        config = baresip_setup(tmp_path / "caller", source)
        cmd = ["baresip", "-f", str(config), "-e", f"/dial sip:r@127.0.0.1:{daemon.sip_port}", "-t", "25"]
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as caller:
            deadline = time.monotonic() + 10
            while daemon.health()["sip"]["active_calls"] < 1:
                assert time.monotonic() < deadline, "the call was not answered"
                time.sleep(0.2)
            daemon.proc.send_signal(signal.SIGTERM)
            assert daemon.proc.wait(timeout=20) == 0
            log, _ = caller.communicate(timeout=30)
        # The caller's call ends with the daemon, instead of hanging on in silence until its own timeout.
        assert "session closed" in log or "terminated" in log, log


def test_dtmf_from_sipp_reaches_the_dialogue(daemon: Daemon, tmp_path: Path) -> None:
    # SIPp's uac_pcap scenario plays 8 s of recorded speech, then the key 1 as RFC 2833/4733 events, then BYE.
    (tmp_path / "pcap").symlink_to("/usr/share/sip-tester")
    cmd = ["sipp", "-sn", "uac_pcap", f"127.0.0.1:{daemon.sip_port}", "-s", "reception", "-i", "127.0.0.1"]
    cmd += ["-p", str(free_port()), "-mp", str(free_port()), "-m", "1", "-timeout", "30", "-timeout_error", "-nostdin"]
    result = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-2000:]
    time.sleep(0.5)  # the daemon records the call's end after the BYE
    store = daemon_store(daemon.state)
    turns = store.db.table("turns").rows
    keys = [t for t in turns if t["eot_reason"] == "dtmf"]
    # The recording is unclear speech that Whisper takes for Spanish or English depending on where the VAD
    # cuts it (es 0.58-0.84 of the three languages' probability, as real Spanish clips get), so the key's
    # answer is checked in the language the call was in when the key came: the last speech heard.
    heard = [t["language"] for t in turns if t["eot_reason"] != "dtmf" and t["caller_text"].strip()]
    language = heard[-1] if heard else "en"
    assert [(t["caller_text"], t["reply_text"]) for t in keys] == [("1", TEMPLATES[language]["keys_hint"])]
    (call,) = store.db.table("calls").rows
    assert call["end_reason"] == "caller_hangup"


def registered(daemon: Daemon, timeout: float = 10.0) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while True:
        registration: dict = daemon.health()["sip"]["registration"]  # type: ignore[type-arg]
        if registration["status"] or time.monotonic() > deadline:
            return registration
        time.sleep(0.2)


def test_the_daemon_registers_and_takes_calls_through_the_registrar(
    env: dict[str, str], kamailio: int, tmp_path: Path, listener: WhisperModel
) -> None:
    account = {"VOCALIA_SIP_REGISTRAR": f"sip:127.0.0.1:{kamailio}", "VOCALIA_SIP_USERNAME": "reception"}
    for daemon in start_daemon(env, **account, VOCALIA_SIP_PASSWORD="s3cret"):
        registration = registered(daemon)
        assert registration["registered"] and registration["status"] == 200, registration
        source = caller_audio(tmp_path, "What time do you open tomorrow?", lead_s=4.5, tail_s=6.0)
        heard, log = baresip(tmp_path / "caller", f"sip:reception@127.0.0.1:{kamailio}", source, "PCMU/8000/1", 25)
        assert heard is not None, log
        assert heard_words("thank you for calling demo clinic", transcribe(listener, heard))


def test_a_wrong_password_is_reported_clearly(env: dict[str, str], kamailio: int) -> None:
    account = {"VOCALIA_SIP_REGISTRAR": f"sip:127.0.0.1:{kamailio}", "VOCALIA_SIP_USERNAME": "reception"}
    for daemon in start_daemon(env, **account, VOCALIA_SIP_PASSWORD="wrong"):
        registration = registered(daemon)
        assert not registration["registered"] and registration["status"] == 401, registration
        daemon.proc.send_signal(signal.SIGTERM)
        _, stderr = daemon.proc.communicate(timeout=20)
        assert (
            f"registration to sip:127.0.0.1:{kamailio} failed: 401 Unauthorized; check [sip] username and password"
            in stderr
        )


def test_asking_for_a_person_transfers_the_call_with_refer(env: dict[str, str], tmp_path: Path) -> None:
    staff_port = free_port()
    quiet = tmp_path / "quiet.wav"
    write_wav(quiet, np.zeros(8000 * 30, np.int16), 8000)
    staff = baresip_setup(tmp_path / "staff", quiet)
    (staff / "config").write_text((staff / "config").read_text().replace("127.0.0.1:0", f"127.0.0.1:{staff_port}"))
    (staff / "accounts").write_text("<sip:staff@127.0.0.1>;regint=0;answermode=auto\n")
    target = f"sip:staff@127.0.0.1:{staff_port}"
    with subprocess.Popen(
        ["baresip", "-f", str(staff), "-t", "40"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as person:
        try:
            for daemon in start_daemon(env, VOCALIA_SIP_TRANSFER_TARGET=target):
                source = caller_audio(tmp_path, "I would like to speak to a person.", lead_s=4.5, tail_s=10.0)
                _, log = baresip(tmp_path / "caller", f"sip:r@127.0.0.1:{daemon.sip_port}", source, "PCMU/8000/1", 20)
                assert "transferring call" in log and target in log, log  # the caller got a REFER to the person
                store = daemon_store(daemon.state)
                (turn,) = store.db.table("turns").rows
                assert turn["reply_text"] == TEMPLATES["en"]["transfer"]
                (call,) = store.db.table("calls").rows
                assert call["end_reason"] == "transferred"
        finally:
            person.terminate()
            staff_log, _ = person.communicate(timeout=15)
    assert "answering call" in staff_log and "sip:caller@127.0.0.1" in staff_log, staff_log


def test_four_concurrent_calls_are_answered_and_a_fifth_gets_busy(
    daemon: Daemon, tmp_path: Path, listener: WhisperModel
) -> None:
    source = caller_audio(tmp_path, "What time do you open tomorrow?", lead_s=4.5, tail_s=8.0)
    target = f"sip:reception@127.0.0.1:{daemon.sip_port}"
    callers = []
    for n in range(4):
        config = baresip_setup(tmp_path / f"caller{n}", source)
        cmd = ["baresip", "-f", str(config), "-e", f"/dial {target}", "-t", "25"]
        callers.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        deadline = time.monotonic() + 15
        while daemon.health()["sip"]["active_calls"] < 4:
            assert time.monotonic() < deadline, daemon.health()
            time.sleep(0.2)
        _, log = baresip(tmp_path / "fifth", target, source, "PCMU/8000/1", 5)
        assert "486 Busy Here" in log, log
    finally:
        for proc in callers:
            proc.wait(timeout=40)
    for n in range(4):
        (heard,) = (tmp_path / f"caller{n}" / "rec").glob("*-dec.wav")
        text = transcribe(listener, heard)
        assert heard_words("thank you for calling demo clinic", text) and heard_words("open monday to friday", text), (
            n,
            text,
        )
    store = daemon_store(daemon.state)
    latencies = [t["first_frame_s"] - t["speech_end_s"] for t in store.db.table("turns").rows]
    assert len(latencies) == 4
    print("end of speech -> first reply frame with 4 concurrent calls:", sorted(round(x, 2) for x in latencies))


@pytest.mark.parametrize("transport", ["udp", "tls"])
def test_encrypted_calls_with_srtp(env: dict[str, str], tmp_path: Path, listener: WhisperModel, transport: str) -> None:
    cert, key = tmp_path / "appliance.crt", tmp_path / "appliance.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert)]
        + ["-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True,
        capture_output=True,
    )
    tls_port = free_port()
    tls = {"VOCALIA_SIP_TLS_PORT": str(tls_port), "VOCALIA_SIP_TLS_CERT": str(cert), "VOCALIA_SIP_TLS_KEY": str(key)}
    for daemon in start_daemon(env, VOCALIA_SIP_SRTP="mandatory", **tls):
        assert f"tls:127.0.0.1:{tls_port}" in daemon.health()["sip"]["listening"]
        source = caller_audio(tmp_path, "What time do you open tomorrow?", lead_s=4.5, tail_s=6.0)
        port = tls_port if transport == "tls" else daemon.sip_port
        target = f"sip:r@127.0.0.1:{port}" + (";transport=tls" if transport == "tls" else "")
        extra = f"module srtp.so\nsip_cafile {cert}\n"
        heard, log = baresip(tmp_path / "caller", target, source, "PCMU/8000/1", 20, extra, ";mediaenc=srtp-mand")
        assert "Using media encryption 'srtp-mand'" in log and "Call established" in log, log
        assert heard is not None
        text = transcribe(listener, heard)
        assert heard_words("thank you for calling demo clinic", text) and heard_words("open monday to friday", text), (
            text
        )


def test_an_unencrypted_caller_is_refused_when_srtp_is_mandatory(env: dict[str, str], tmp_path: Path) -> None:
    for daemon in start_daemon(env, VOCALIA_SIP_SRTP="mandatory"):
        source = caller_audio(tmp_path, "Hello.", lead_s=0.5, tail_s=3.0)
        _, log = baresip(tmp_path / "caller", f"sip:r@127.0.0.1:{daemon.sip_port}", source, "PCMU/8000/1", 8)
        assert "Call established" not in log
        assert re.search(r"\b(488|406)\b", log), log  # Not Acceptable (Here): no common secure media


def raw_invite(daemon: Daemon, user_agent: str, wait_s: float = 3.0) -> list[str]:
    """Send one INVITE without SDP from 127.0.0.1 over UDP; the responses until a final one (none: [])."""
    return sip_request(daemon.sip_port, "INVITE", user_agent, wait_s)


def test_a_source_outside_the_allow_list_gets_no_answer(env: dict[str, str]) -> None:
    for daemon in start_daemon(env, VOCALIA_SIP_ALLOW="10.0.0.0/8, 192.0.2.0/24"):
        assert raw_invite(daemon, "Yealink SIP-T46S") == [], "a scan from outside finds nothing"
        assert daemon.health()["sip"]["active_calls"] == 0
        assert daemon.health()["sip"]["refused"]["source"] == 1
        daemon.proc.send_signal(signal.SIGTERM)
        _, stderr = daemon.proc.communicate(timeout=20)
        assert (
            'SECURITY event=sip_source_refused src=127.0.0.1 detail="INVITE dropped: source not in [sip] allow"'
            in stderr
        )


def test_a_scanner_is_dropped_and_logged_for_fail2ban(env: dict[str, str]) -> None:
    """An INVITE from a SIP scanner (here without SDP: rejecting one used to abort pjsip) gets no answer."""
    for daemon in start_daemon(env):
        assert raw_invite(daemon, "friendly-scanner") == []
        assert daemon.health()["status"] == "ok" and daemon.health()["sip"]["active_calls"] == 0
        assert raw_invite(daemon, "Yealink SIP-T46S")[0].startswith("SIP/2.0 100"), "a desk phone still gets in"
        daemon.proc.send_signal(signal.SIGTERM)
        _, stderr = daemon.proc.communicate(timeout=20)
        (line,) = [x for x in stderr.splitlines() if "SECURITY" in x]
        assert (
            'SECURITY event=sip_scanner src=127.0.0.1 detail="INVITE dropped: scanner User-Agent friendly-scanner"'
            in line
        )
        # The shipped fail2ban filter matches the real line (fail2ban's <HOST> as an address group).
        rule = re.search(r"^failregex = (.*)$", (ROOT / "fail2ban" / "vocalia.conf").read_text(), re.M).group(1)  # type: ignore[union-attr]
        found = re.search(rule.replace("<HOST>", r"(?P<host>[\d.:a-fA-F]+)"), line)
        assert found is not None and found.group("host") == "127.0.0.1"
