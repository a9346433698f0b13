"""The one resampler of the appliance (soxr): 8, 16, 22.05 kHz and whatever a file brings."""

from __future__ import annotations

import numpy as np
import soxr


def resample(samples: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Resample a whole int16 signal in one go."""
    if src_rate == dst_rate or len(samples) == 0:
        return samples.astype(np.int16, copy=False)
    return np.asarray(soxr.resample(samples.astype(np.int16, copy=False), src_rate, dst_rate, quality="HQ"))


class StreamResampler:
    """Resample a stream chunk by chunk, keeping the filter state between chunks."""

    def __init__(self, src_rate: int, dst_rate: int) -> None:
        self.src_rate = src_rate
        self.dst_rate = dst_rate
        self._stream = None if src_rate == dst_rate else soxr.ResampleStream(src_rate, dst_rate, 1, dtype="int16")

    def process(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        """Resample the next chunk; ``last=True`` flushes the filter's tail."""
        if self._stream is None:
            return samples.astype(np.int16, copy=False)
        return np.asarray(self._stream.resample_chunk(samples.astype(np.int16, copy=False), last=last))
