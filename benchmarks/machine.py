"""Where a benchmark ran, for the first line of its table: the CPU model, its cores, and the vector
extensions that change the speed of the models (a figure from an AVX-512 box is not one for AVX2)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

_FLAGS = ("avx512f", "avx512_vnni", "avx2", "fma")


def cpu_name() -> str:
    """E.g. "AMD EPYC 9R14, 2 cores, avx512f avx512_vnni avx2 fma"."""
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                model = value.strip()
            elif key.strip() == "flags":
                flags = set(value.split())
    except OSError:
        pass
    present = " ".join(f for f in _FLAGS if f in flags) or "no AVX2"
    return f"{model}, {os.cpu_count()} cores, {present}"
