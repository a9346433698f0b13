"""``appliance talk`` through a stand-in sound card (CI has none): the same code path as PyAudio."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from appliance.audio.frames import PIPELINE_RATE, frame_samples, split_frames
from appliance.cli import talk
from appliance.config import ApplianceConfig
from appliance.store import Store
from appliance.testing import speak

pytestmark = pytest.mark.slow


class FakeStream:
    """A full-duplex PyAudio stream: the microphone plays a recording in real time, the speaker records."""

    def __init__(self, microphone: np.ndarray, **options: Any) -> None:
        self.options = options
        self._frames = split_frames(microphone)
        self._next = time.monotonic()
        self.played: list[bytes] = []
        self.closed = False

    def read(self, n: int, exception_on_overflow: bool = True) -> bytes:
        assert n == frame_samples()
        self._next += 0.02
        time.sleep(max(0.0, self._next - time.monotonic()))
        return self._frames.pop(0) if self._frames else bytes(2 * n)

    def write(self, data: bytes) -> None:
        self.played.append(data)

    def stop_stream(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


def fake_pyaudio(microphone: np.ndarray) -> tuple[SimpleNamespace, list[FakeStream]]:
    opened: list[FakeStream] = []

    class PyAudio:
        def open(self, **options: Any) -> FakeStream:
            opened.append(FakeStream(microphone, **options))
            return opened[-1]

        def terminate(self) -> None:
            pass

    return SimpleNamespace(PyAudio=PyAudio, paInt16=8), opened


def test_talk_converses_through_the_sound_card(fast_config: ApplianceConfig, tmp_path: Path) -> None:
    config = dataclasses.replace(fast_config, state_dir=str(tmp_path))
    silence = np.zeros(PIPELINE_RATE * 3, dtype=np.int16)
    mic = np.concatenate([silence[:8000], speak("What are your opening hours?", PIPELINE_RATE, tmp_path), silence])
    mic = np.concatenate([mic, silence, speak("Goodbye.", PIPELINE_RATE, tmp_path), silence])
    module, opened = fake_pyaudio(mic)
    assert talk(config, module) == 0
    (stream,) = opened
    assert stream.options == {
        "format": 8,
        "channels": 1,
        "rate": 16000,
        "input": True,
        "output": True,
        "frames_per_buffer": 320,
    }
    assert stream.closed
    spoken = np.frombuffer(b"".join(stream.played), dtype=np.int16)
    assert np.abs(spoken).max() > 3000, "the greeting and replies came out of the speaker"
    (call,) = Store.configured(config).db.table("calls").rows
    assert call["source"] == "talk" and call["end_reason"] == "appliance_hangup"
