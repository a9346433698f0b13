"""``appliance run``: the daemon starts, answers /healthz, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import APPLIANCE, ROOT, free_port, run_appliance


def wait_healthy(url: str, proc: subprocess.Popen[str], timeout: float = 60.0) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        try:
            response = httpx.get(url, timeout=1.0)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} not healthy after {timeout} s")


def test_daemon_serves_healthz_and_stops_on_sigterm(env: dict[str, str]) -> None:
    port = free_port()
    with subprocess.Popen(
        [*APPLIANCE, "run"], env={**env, "VOCALIA_WEB_PORT": str(port)}, cwd=ROOT, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            body = wait_healthy(f"http://127.0.0.1:{port}/healthz", proc).json()
            assert body["status"] == "ok"
            assert body["models"] == {"stt": "whisper-base", "tts": "piper-joe-medium", "vad": "silero-v6"}
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=15) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def test_a_busy_port_is_reported_in_one_line(env: dict[str, str]) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_appliance(["run"], {**env, "VOCALIA_WEB_PORT": str(port)}, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: [web] port {port} on 127.0.0.1 is already in use; stop the other program or set [web] port"
    ]


@pytest.mark.parametrize(
    ("var", "value", "code", "expected"),
    [
        ("VOCALIA_MODELS_STT", "/nonexistent/whisper", 3, "[models] stt = '/nonexistent/whisper': no such file"),
        ("VOCALIA_BUSINESS_LANGUAGE", "klingon", 3, "is not a language Whisper knows"),
    ],
)
def test_a_bad_model_setting_stops_the_daemon_with_the_fix(
    env: dict[str, str], var: str, value: str, code: int, expected: str
) -> None:
    result = run_appliance(["run"], {**env, var: value, "VOCALIA_WEB_PORT": str(free_port())}, timeout=60)
    assert result.returncode == code
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


def test_a_voice_path_holding_another_kind_of_model_is_named(env: dict[str, str]) -> None:
    gguf = json.loads(run_appliance(["models", "--json"], env).stdout)[3]["path"]
    result = run_appliance(
        ["run"], {**env, "VOCALIA_MODELS_TTS": gguf, "VOCALIA_WEB_PORT": str(free_port())}, timeout=60
    )
    assert result.returncode == 3
    assert result.stderr.strip().splitlines() == [
        f"error: [models] tts = '{gguf}': {gguf} is not an ONNX model; "
        "expected a piper voice .onnx file with its .onnx.json beside it"
    ]


def test_a_damaged_whisper_model_is_reported(env: dict[str, str], tmp_path: Path) -> None:
    whisper = Path(json.loads(run_appliance(["models", "--json"], env).stdout)[0]["path"])
    broken = tmp_path / "whisper"
    shutil.copytree(whisper, broken, ignore=shutil.ignore_patterns("model.bin"))
    (broken / "model.bin").write_bytes(b"\0" * 4096)
    result = run_appliance(["run"], {**env, "VOCALIA_MODELS_STT": str(broken), "VOCALIA_WEB_PORT": str(free_port())})
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: STT model {broken} cannot be loaded"), result.stderr
