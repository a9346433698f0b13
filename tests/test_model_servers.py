"""Models on servers shared by the workers (issue #17): speech to text over the Wyoming protocol, the
LLM over an OpenAI-compatible API.

``appliance stt-server`` serves Whisper over Wyoming and ``appliance llm-server`` llama.cpp's OpenAI server;
two workers behind kamailio with ``[models] stt_server`` and ``llm_server`` send each utterance and each
unclear request there. A real baresip caller speaks three times; both servers are killed after the first,
and the caller is still answered (the local Whisper hears, the rules answer alone), never met with silence.
"""

from __future__ import annotations

import http.server
import json
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import WhisperModel

from appliance.audio.files import write_wav
from appliance.config import ApplianceConfig, ModelsConfig
from appliance.dialog.assist import IntentProposer
from appliance.errors import ConfigError
from appliance.models.llm import RETRY_S, LLMUnavailable, RemoteLLM
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


def llm_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[str]:
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [*APPLIANCE, "llm-server", "--url", f"http://127.0.0.1:{port}/v1"],
            env=env,
            cwd=ROOT,
            stderr=sink,
            stdout=sink,
            text=True,
        )
    wait_for(lambda: proc.poll() is not None or "Uvicorn running" in log.read_text(), 60, "the LLM server")
    assert proc.poll() is None, log.read_text()
    return proc


UNCLEAR = "I got a letter from you last week and I don't understand it."  # no task the rules can read


def three_turns(workdir: Path) -> Path:
    """4.5 s of silence (the greeting), a question, 9 s for its answer, another, 9 s, then something the
    rules cannot read (the LLM is asked), 9 s."""
    gap = np.zeros(9 * 8000, np.int16)
    audio = np.concatenate(
        [
            np.zeros(36000, np.int16),
            speak("What time do you open tomorrow?", 8000, workdir),
            gap,
            speak("Where are you located?", 8000, workdir),
            gap,
            speak(UNCLEAR, 8000, workdir),
            gap,
        ]
    )
    path = workdir / "caller.wav"
    write_wav(path, audio, 8000)
    return path


@pytest.mark.slow
def test_two_workers_share_an_stt_and_an_llm_server_and_go_on_when_the_stt_server_dies(
    env: dict[str, str], tmp_path: Path, listener: WhisperModel
) -> None:
    stt_port, llm_port = free_port(), free_port()
    stt_log, llm_log = tmp_path / "stt-server.log", tmp_path / "llm-server.log"
    stt, llm = stt_server(env, stt_port, stt_log), llm_server(env, llm_port, llm_log)
    boxes = run_cluster(
        env,
        tmp_path,
        2,
        VOCALIA_MODELS_STT_SERVER=f"tcp://127.0.0.1:{stt_port}",
        VOCALIA_MODELS_LLM_SERVER=f"http://127.0.0.1:{llm_port}/v1",
        VOCALIA_MODELS_LLM_INTENTS="true",
    )
    cluster = next(boxes)
    try:
        models = [cluster.health(k)["models"] for k in range(2)]
        assert [m["stt"] for m in models] == [f"wyoming tcp://127.0.0.1:{stt_port}"] * 2, models
        assert [m["llm"] for m in models] == [f"openai http://127.0.0.1:{llm_port}/v1"] * 2, models
        source = three_turns(tmp_path)
        phone = baresip_setup(tmp_path / "phone", source)
        call = subprocess.Popen(
            ["baresip", "-f", str(phone), "-e", f"/dial sip:reception@127.0.0.1:{cluster.sip_port}", "-t", "46"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        store = daemon_store(cluster.state)
        wait_for(lambda: store.query("SELECT id FROM turns", []), 30, "the first question answered")
        assert "heard" in stt_log.read_text(), "the first question went to the server"
        stt.send_signal(signal.SIGKILL)
        stt.wait(timeout=10)
        call.wait(timeout=70)
        turns = store.query("SELECT caller_text, reply_text FROM turns ORDER BY idx", [])
        assert len(turns) == 3, turns
        assert turns[0]["caller_text"].lower().rstrip("?.") == "what time do you open tomorrow", turns
        assert "12 Main Street" in turns[1]["reply_text"], ("the second question answered, by the local model", turns)
        asked = llm_log.read_text().count('"POST /v1/chat/completions HTTP/1.1" 200')
        assert asked == 1, ("the unclear request, and only it, went to the LLM server", turns)
        assert turns[2]["reply_text"], turns
        worker = next(k for k in range(2) if cluster.health(k)["reasons"])
        reasons = cluster.health(worker)["reasons"]
        assert any("STT server" in reason and "local model" in reason for reason in reasons), reasons
        (heard,) = (tmp_path / "phone" / "rec").glob("*-dec.wav")
        text = transcribe(listener, heard)
        assert "open monday to friday" in " ".join(text.split()), text
        for turn in turns[1:]:
            longest = max(re.findall(r"[a-z]+", turn["reply_text"].lower()), key=len)
            assert longest in text.split(), ("every answer was heard", turns, text)
        next(boxes, None)  # its clean stop, checked
    finally:
        boxes.close()
        for server in (stt, llm):
            if server.poll() is None:
                server.kill()
            server.wait(timeout=10)


def test_a_wrong_server_address_is_refused_with_the_fix() -> None:
    config = ApplianceConfig(models=ModelsConfig(stt_server="127.0.0.1:10300"))
    with pytest.raises(ConfigError, match="tcp://host:port"):
        WyomingTranscriber(config.models.stt_server, ["en"], 1.0, lambda: None)  # type: ignore[arg-type,return-value]


class _Failing(http.server.BaseHTTPRequestHandler):
    """An LLM server in trouble: every request gets a 503, and is counted."""

    requests = 0

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        type(self).requests += 1
        self.send_response(503)
        self.send_header("Retry-After", "5")
        self.end_headers()
        self.wfile.write(b'{"error": {"message": "Loading model"}}')

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing_llm() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    _Failing.requests = 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_an_llm_server_in_error_leaves_the_rules_alone_and_is_not_asked_again_at_once(failing_llm: str) -> None:
    llm = RemoteLLM(failing_llm, timeout_s=2.0)
    proposer = IntentProposer(llm)
    try:
        assert proposer.propose("I got a letter from you", ["book", "message"]) is None
        assert _Failing.requests == 1
        started = time.perf_counter()
        assert proposer.propose("something else entirely", ["book", "message"]) is None
        assert time.perf_counter() - started < 0.1, "a server that just failed is not waited on"
        assert _Failing.requests == 1, f"asked again within {RETRY_S} s"
        assert "503" in llm.down_reason, llm.down_reason
    finally:
        llm.close()


def test_a_dead_llm_server_fails_fast() -> None:
    llm = RemoteLLM(f"http://127.0.0.1:{free_port()}/v1", timeout_s=2.0)
    started = time.perf_counter()
    with pytest.raises(LLMUnavailable, match="ConnectError"):
        llm.json("sort", "hello", {"type": "object"})
    assert time.perf_counter() - started < 2.0
    llm.close()


def test_an_llm_server_url_that_is_not_one_is_refused_with_the_fix() -> None:
    with pytest.raises(ConfigError, match="http://127.0.0.1:8080/v1"):
        RemoteLLM("127.0.0.1:8080", timeout_s=1.0)


@pytest.mark.slow
def test_llama_cpps_server_answers_in_the_task_schema(env: dict[str, str], tmp_path: Path) -> None:
    """The real server (llama-cpp-python's, on the bundled SmolLM2): it refuses the standard json_schema
    format, so the client asks in its json_object + schema form, and the grammar holds the answer to it."""
    port = free_port()
    server = llm_server(env, port, tmp_path / "llm-server.log")
    try:
        llm = RemoteLLM(f"http://127.0.0.1:{port}/v1", timeout_s=30.0)
        schema = {
            "type": "object",
            "properties": {"task": {"type": "string", "enum": ["book", "cancel", "none"]}},
            "required": ["task"],
            "additionalProperties": False,
        }
        answer = llm.json("Sort the request: book, cancel or none.", "I need to cancel tomorrow", schema, 16)
        assert json.loads(answer.text)["task"] in ("book", "cancel", "none"), answer
        assert not llm.down_reason
        proposer = IntentProposer(llm)
        assert proposer.propose(UNCLEAR, ["book", "cancel", "message"]) in (None, "book", "cancel", "message")
        assert "POST /v1/chat/completions" in (tmp_path / "llm-server.log").read_text()
        llm.close()
    finally:
        server.terminate()
        server.wait(timeout=20)
