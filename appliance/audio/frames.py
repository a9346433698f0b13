"""The unit of audio that flows through a call: 20 ms of mono PCM16."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PIPELINE_RATE = 16_000
FRAME_MS = 20


def frame_samples(sample_rate: int = PIPELINE_RATE) -> int:
    """Samples in one 20 ms frame at ``sample_rate``."""
    return sample_rate * FRAME_MS // 1000


@dataclass(frozen=True, slots=True)
class AudioFrame:
    """20 ms of mono signed 16-bit audio, as a SIP media port hands it over.

    ``time`` is the monotonic clock reading (seconds) when the frame entered or left the appliance.
    """

    pcm: bytes
    sample_rate: int = PIPELINE_RATE
    time: float = 0.0

    def samples(self) -> np.ndarray:
        """The frame as an int16 array."""
        return np.frombuffer(self.pcm, dtype=np.int16)


def silence(sample_rate: int = PIPELINE_RATE) -> bytes:
    """One frame of digital silence."""
    return bytes(2 * frame_samples(sample_rate))


def split_frames(samples: np.ndarray, sample_rate: int = PIPELINE_RATE) -> list[bytes]:
    """Cut int16 samples into 20 ms frames, zero-padding the last one."""
    size = frame_samples(sample_rate)
    padded = np.zeros(-(-len(samples) // size) * size, dtype=np.int16)
    padded[: len(samples)] = samples
    return [padded[i : i + size].tobytes() for i in range(0, len(padded), size)]


def to_float(samples: np.ndarray) -> np.ndarray:
    """int16 samples as float32 in [-1, 1], the form the models take."""
    return samples.astype(np.float32) / 32768.0


def to_int16(samples: np.ndarray) -> np.ndarray:
    """float samples in [-1, 1] as int16, clipped."""
    return np.clip(samples * 32768.0, -32768, 32767).astype(np.int16)
