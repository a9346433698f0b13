"""Caller speech for tests and benchmarks: espeak-ng voices, resampled by sox like a phone line would."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np

from .audio.files import read_audio, write_wav


def speak(text: str, rate: int, workdir: Path) -> np.ndarray:
    """``text`` spoken by espeak-ng (en-US), as int16 at ``rate`` Hz."""
    key = hashlib.sha1(text.encode()).hexdigest()[:10]
    raw = workdir / f"espeak-{key}.wav"
    out = workdir / f"espeak-{key}-{rate}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(rate), str(out)], check=True)
    return read_audio(out, rate, 60)


def conversation(texts: list[str], rate: int, workdir: Path, gap_s: float = 3.0, lead_s: float = 0.5) -> Path:
    """A caller recording at ``rate``: each utterance followed by ``gap_s`` of silence; returns its path."""
    parts = [np.zeros(int(lead_s * rate), dtype=np.int16)]
    for text in texts:
        parts += [speak(text, rate, workdir), np.zeros(int(gap_s * rate), dtype=np.int16)]
    path = workdir / f"caller-{rate}.wav"
    write_wav(path, np.concatenate(parts), rate)
    return path
