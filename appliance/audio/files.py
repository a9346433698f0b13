"""Reading caller audio from any file PyAV can decode, and writing WAV files."""

from __future__ import annotations

import os
import tempfile
import wave
from pathlib import Path

import av
import numpy as np

from ..errors import AudioInputError
from .resample import resample


def read_audio(path: Path, rate: int, max_seconds: float) -> np.ndarray:
    """Decode ``path`` to mono int16 at ``rate``.

    Raises:
        AudioInputError: the file is missing, is not audio, holds no sound, or is too long.
    """
    if not path.is_file():
        raise AudioInputError(f"{path}: no such file; give the path of a WAV recording of the caller")
    chunks: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise AudioInputError(f"{path}: holds no audio stream; give a WAV recording of the caller")
            stream = container.streams.audio[0]
            src_rate = stream.rate or stream.codec_context.sample_rate
            to_mono = av.AudioResampler(format="s16", layout="mono", rate=src_rate)
            total = 0
            for frame in container.decode(stream):
                for out in to_mono.resample(frame):
                    chunk = out.to_ndarray().reshape(-1)
                    total += len(chunk)
                    if total > max_seconds * src_rate:
                        raise AudioInputError(
                            f"{path}: longer than {max_seconds:.0f} s, the longest call allowed "
                            "([call] max_duration_s); trim the recording or raise that limit"
                        )
                    chunks.append(chunk)
    except av.error.FFmpegError as err:
        raise AudioInputError(f"{path}: not a readable audio file ({err.strerror}); give a WAV recording") from None
    samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    if len(samples) == 0:
        raise AudioInputError(f"{path}: contains no audio samples; record the caller again")
    return resample(samples, src_rate, rate)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    """Write mono int16 samples atomically: the file appears whole or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(rate)
            wav.writeframes(samples.astype(np.int16, copy=False).tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
