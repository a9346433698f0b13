"""Text to speech with piper (ONNX), one chunk per sentence, resampled to the pipeline rate."""

from __future__ import annotations

import json
from collections.abc import Iterator

import numpy as np
import onnxruntime
from piper import PiperVoice
from piper.config import PiperConfig

from ..audio.resample import resample
from ..errors import ModelError
from .registry import ResolvedModel


class Synthesizer:
    """One loaded piper voice with a bounded thread budget."""

    def __init__(self, model: ResolvedModel, threads: int, rate: int) -> None:
        opts = onnxruntime.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        # onnxruntime's arena keeps the peak of every run: one long sentence (185 characters) left piper's
        # session 480 MB larger for good, which the call churn soak saw as +14 % RSS. Without the arena,
        # memory goes back after each sentence, at the same synthesis speed (measured: 320 vs 330 ms).
        opts.enable_cpu_mem_arena = False
        try:
            config = PiperConfig.from_dict(json.loads(model.path.with_name(model.path.name + ".json").read_text()))
            session = onnxruntime.InferenceSession(str(model.path), opts, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime and piper raise many unrelated types for a bad voice
            raise ModelError(f"TTS voice {model.path} cannot be loaded ({err}); check [models] tts") from None
        self._voice = PiperVoice(config=config, session=session)
        self.name = model.name
        self.rate = rate

    def sentences(self, text: str) -> Iterator[np.ndarray]:
        """Yield int16 audio at ``rate``, one array per sentence. Blocking: iterate in an executor."""
        for chunk in self._voice.synthesize(text):
            yield resample(chunk.audio_int16_array, chunk.sample_rate, self.rate)
