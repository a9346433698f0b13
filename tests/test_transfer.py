"""Warm transfer (issue #16): the person hears who is calling before the caller is put through.

A baresip caller asks for a person. The appliance calls the staff phone (baresip, answering by itself),
says who is calling and what they said, then joins the two calls: each then hears the other. A busy
staff phone (SIPp answering 486) brings the caller back to the receptionist, who offers to take a message.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest
from faster_whisper import WhisperModel

from appliance.audio.files import read_audio, write_wav
from appliance.testing import baresip_setup, free_port, speak
from tests.conftest import daemon_store, start_daemon, transcribe

pytestmark = pytest.mark.slow

SCENARIOS = Path(__file__).parent / "sipp"
TOKEN = "it-token-for-the-transfer-test"


def said_at(workdir: Path, name: str, parts: list[tuple[float, str]], total_s: float) -> Path:
    """A recording of ``parts`` (each said from its second on), ``total_s`` long, 8 kHz."""
    audio = np.zeros(int(total_s * 8000), np.int16)
    for at, text in parts:
        speech = speak(text, 8000, workdir)
        start = int(at * 8000)
        audio[start : start + len(speech)] = speech[: len(audio) - start]
    path = workdir / f"{name}.wav"
    write_wav(path, audio, 8000)
    return path


def words(listener: WhisperModel, phone_dir: Path) -> str:
    """What a phone heard, each stretch of sound transcribed on its own (Whisper may skip speech that
    follows a long silence inside one 30 s window)."""
    (heard,) = (phone_dir / "rec").glob("*-dec.wav")
    audio = read_audio(heard, 8000, 120)
    loud = np.sqrt((audio[: len(audio) // 160 * 160].reshape(-1, 160).astype(np.float64) ** 2).mean(axis=1)) > 300
    texts, start, quiet = [], None, 0
    for n, voiced in enumerate([*loud, False, *[False] * 50]):
        if voiced:
            start, quiet = (n if start is None else start), 0
        elif start is not None:
            quiet += 1
            if quiet >= 40:  # 0.8 s of silence ends a stretch
                part = phone_dir / f"part-{start}.wav"
                write_wav(part, audio[start * 160 : (n - quiet + 10) * 160], 8000)
                texts.append(transcribe(listener, part))
                start = None
    return " ".join(" ".join(texts).split())


def test_the_person_hears_who_is_calling_then_the_two_talk(
    env: dict[str, str], tmp_path: Path, listener: WhisperModel
) -> None:
    staff_port = free_port()
    staff_audio = said_at(tmp_path, "staff", [(14.0, "Good morning, this is the front desk.")], 32)
    staff = baresip_setup(tmp_path / "staff", staff_audio)
    (staff / "config").write_text((staff / "config").read_text().replace("127.0.0.1:0", f"127.0.0.1:{staff_port}"))
    (staff / "accounts").write_text("<sip:staff@127.0.0.1>;regint=0;answermode=auto\n")
    caller_audio = said_at(
        tmp_path, "caller", [(4.5, "I would like to speak to a person."), (27.0, "Hello, my name is Jane.")], 38
    )
    with subprocess.Popen(
        ["baresip", "-f", str(staff), "-t", "60"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as person:
        try:
            for daemon in start_daemon(
                env,
                VOCALIA_BUSINESS_LANGUAGE="en",
                VOCALIA_SIP_TRANSFER_TARGET=f"sip:staff@127.0.0.1:{staff_port}",
                VOCALIA_SIP_TRANSFER_MODE="warm",
                VOCALIA_WEB_TOKEN=TOKEN,
            ):
                caller = baresip_setup(tmp_path / "caller", caller_audio, user="+14155550142")
                subprocess.run(
                    ["baresip", "-f", str(caller), "-e", f"/dial sip:r@127.0.0.1:{daemon.sip_port}", "-t", "40"],
                    capture_output=True,
                    timeout=60,
                )
                store = daemon_store(daemon.state)
                (transfer,) = store.query("SELECT * FROM transfers", [])
                (call,) = store.query("SELECT end_reason FROM calls WHERE id = ?", [transfer["call_id"]])
                metrics = httpx.get(
                    f"http://127.0.0.1:{daemon.web_port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
                ).text
        finally:
            person.terminate()
            person.wait(timeout=15)
    assert (transfer["mode"], transfer["outcome"], call["end_reason"]) == ("warm", "answered", "transferred")
    assert "speak to a person" in transfer["summary"] and "555" in transfer["summary"], transfer
    assert 'vocalia_transfers{mode="warm",outcome="answered"} 1' in metrics
    staff_heard, caller_heard = words(listener, tmp_path / "staff"), words(listener, tmp_path / "caller")
    assert "a call for you from" in staff_heard and "speak to a person" in staff_heard, staff_heard
    assert "my name is jane" in staff_heard, ("the person hears the caller once joined", staff_heard)
    assert "put you through" in caller_heard, caller_heard
    assert "good morning this is the front" in caller_heard, ("the caller hears the person once joined", caller_heard)


def test_a_busy_person_brings_the_caller_back_to_leave_a_message(
    env: dict[str, str], tmp_path: Path, listener: WhisperModel
) -> None:
    staff_port = free_port()
    busy = subprocess.Popen(
        ["sipp", "-sf", str(SCENARIOS / "busy.xml"), "-i", "127.0.0.1", "-p", str(staff_port), "-m", "1", "-nostdin"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    caller_audio = said_at(tmp_path, "caller", [(4.5, "I would like to speak to a person.")], 22)
    try:
        for daemon in start_daemon(
            env,
            VOCALIA_BUSINESS_LANGUAGE="en",
            VOCALIA_SIP_TRANSFER_TARGET=f"sip:staff@127.0.0.1:{staff_port}",
            VOCALIA_SIP_TRANSFER_MODE="warm",
        ):
            caller = baresip_setup(tmp_path / "caller", caller_audio)
            subprocess.run(
                ["baresip", "-f", str(caller), "-e", f"/dial sip:r@127.0.0.1:{daemon.sip_port}", "-t", "22"],
                capture_output=True,
                timeout=45,
            )
            store = daemon_store(daemon.state)
            (transfer,) = store.query("SELECT * FROM transfers", [])
            turns = store.query("SELECT reply_text FROM turns ORDER BY idx", [])
    finally:
        busy.kill()
        busy.wait(timeout=10)
    assert (transfer["mode"], transfer["outcome"], transfer["status"]) == ("warm", "busy", 486), transfer
    heard = words(listener, tmp_path / "caller")
    assert "no one is available" in heard and "take a message" in heard, (heard, turns)
