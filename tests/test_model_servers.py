"""Models on a server shared by the workers (issue #17): speech to text over the Wyoming protocol.

``appliance stt-server`` serves Whisper over Wyoming; two workers behind kamailio with ``[models]
stt_server`` send each utterance there. A real baresip caller asks two questions; the server is killed
between them, and the second is still answered (the local model takes over), not met with silence.
"""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import WhisperModel

from appliance.audio.files import write_wav
from appliance.config import ApplianceConfig, ModelsConfig
from appliance.errors import ConfigError
from appliance.models.wyoming import WyomingTranscriber
from appliance.testing import baresip_setup, free_port, speak
from tests.conftest import APPLIANCE, ROOT, daemon_store, transcribe, wait_for
from tests.test_scale import run_cluster


def stt_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[str]:
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [*APPLIANCE, "stt-server", "--uri", f"tcp://127.0.0.1:{port}"],
            env={**env, "VOCALIA_BUSINESS_LANGUAGE": "en"},
            cwd=ROOT,
            stderr=sink,
            text=True,
        )
    wait_for(lambda: proc.poll() is not None or "STT server on" in log.read_text(), 60, "the STT server")
    assert proc.poll() is None, log.read_text()
    return proc


def two_questions(workdir: Path) -> Path:
    """4.5 s of silence (the greeting), a question, 9 s for its answer, another question, 9 s."""
    gap = np.zeros(9 * 8000, np.int16)
    audio = np.concatenate(
        [
            np.zeros(36000, np.int16),
            speak("What time do you open tomorrow?", 8000, workdir),
            gap,
            speak("Where are you located?", 8000, workdir),
            gap,
        ]
    )
    path = workdir / "caller.wav"
    write_wav(path, audio, 8000)
    return path


@pytest.mark.slow
def test_two_workers_hear_callers_through_one_stt_server_and_without_it_when_it_dies(
    env: dict[str, str], tmp_path: Path, listener: WhisperModel
) -> None:
    port = free_port()
    server_log = tmp_path / "stt-server.log"
    server = stt_server(env, port, server_log)
    boxes = run_cluster(env, tmp_path, 2, VOCALIA_MODELS_STT_SERVER=f"tcp://127.0.0.1:{port}")
    cluster = next(boxes)
    try:
        assert [cluster.health(k)["models"]["stt"] for k in range(2)] == [f"wyoming tcp://127.0.0.1:{port}"] * 2
        source = two_questions(tmp_path)
        phone = baresip_setup(tmp_path / "phone", source)
        call = subprocess.Popen(
            ["baresip", "-f", str(phone), "-e", f"/dial sip:reception@127.0.0.1:{cluster.sip_port}", "-t", "34"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        store = daemon_store(cluster.state)
        wait_for(lambda: store.query("SELECT id FROM turns", []), 30, "the first question answered")
        assert "heard" in server_log.read_text(), "the first question went to the server"
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
        call.wait(timeout=60)
        turns = store.query("SELECT caller_text, reply_text FROM turns ORDER BY idx", [])
        assert len(turns) == 2, turns
        assert turns[0]["caller_text"].lower().rstrip("?.") == "what time do you open tomorrow", turns
        assert "12 Main Street" in turns[1]["reply_text"], ("the second question answered, by the local model", turns)
        worker = next(k for k in range(2) if cluster.health(k)["reasons"])
        reasons = cluster.health(worker)["reasons"]
        assert any("STT server" in reason and "local model" in reason for reason in reasons), reasons
        (heard,) = (tmp_path / "phone" / "rec").glob("*-dec.wav")
        text = transcribe(listener, heard)
        assert "open monday to friday" in " ".join(text.split()), text
        longest = max(re.findall(r"[a-z]+", turns[1]["reply_text"].lower()), key=len)
        assert longest in text.split(), ("the second answer was heard", turns, text)
        next(boxes, None)  # its clean stop, checked
    finally:
        boxes.close()
        if server.poll() is None:
            server.kill()


def test_a_wrong_server_address_is_refused_with_the_fix() -> None:
    config = ApplianceConfig(models=ModelsConfig(stt_server="127.0.0.1:10300"))
    with pytest.raises(ConfigError, match="tcp://host:port"):
        WyomingTranscriber(config.models.stt_server, ["en"], 1.0, lambda: None)  # type: ignore[arg-type,return-value]
