"""Shared fixtures: caller speech made with espeak-ng, real models loaded once per session."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from appliance.audio.files import read_audio, write_wav
from appliance.config import ApplianceConfig, ModelsConfig, load_config
from appliance.pipeline import Engines

ROOT = Path(__file__).resolve().parent.parent
APPLIANCE = [sys.executable, "-m", "appliance"]


def speak(text: str, rate: int, tmp: Path) -> np.ndarray:
    """Caller speech from espeak-ng, at ``rate`` Hz through sox, returned as int16 at that rate."""
    key = hashlib.sha1(text.encode()).hexdigest()[:10]
    raw = tmp / f"espeak-{key}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
    out = tmp / f"espeak-{key}-{rate}.wav"
    subprocess.run(["sox", str(raw), "-r", str(rate), str(out)], check=True)
    return read_audio(out, rate, 60)


def conversation(texts: list[str], rate: int, tmp: Path, gap_s: float = 3.0, lead_s: float = 0.5) -> Path:
    """A caller recording: each utterance followed by ``gap_s`` of silence, as a WAV at ``rate``."""
    parts = [np.zeros(int(lead_s * rate), dtype=np.int16)]
    for text in texts:
        parts += [speak(text, rate, tmp), np.zeros(int(gap_s * rate), dtype=np.int16)]
    path = tmp / f"caller-{rate}.wav"
    write_wav(path, np.concatenate(parts), rate)
    return path


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """Environment for running the appliance as a subprocess with its state in a temp dir."""
    return {**os.environ, "VOCALIA_STATE_DIR": str(tmp_path / "state"), "PYTHONPATH": str(ROOT)}


def run_appliance(args: list[str], env: dict[str, str], timeout: float = 240) -> subprocess.CompletedProcess[str]:
    """Run ``appliance ARGS`` to completion."""
    return subprocess.run([*APPLIANCE, *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)


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
