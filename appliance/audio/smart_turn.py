"""Whether the caller has finished their turn, heard from the audio: Smart Turn v3.2 (Pipecat, BSD-2-Clause).

The model reads the last 8 s of the utterance (Whisper log-mel features, 80 x 800) and gives the
probability that the speaker is done: intonation and rhythm, in 23 languages, where the transcript
rule (:mod:`.turn`) sees only words. Its ONNX file ships inside the ``pipecat-ai`` wheel; scripts/setup
takes that one file out of it (the framework is not installed).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import onnxruntime
from faster_whisper.feature_extractor import FeatureExtractor

from ..errors import ModelError
from .frames import PIPELINE_RATE, to_float

WINDOW_S = 8  # what the model was trained on: the utterance's last 8 s, zero-padded in front


class SmartTurn:
    """The loaded model, shared by every call (one decision at a time per thread budget)."""

    def __init__(self, path: Path, threads: int = 1) -> None:
        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = threads
        opts.log_severity_level = 3
        try:
            self._session = onnxruntime.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises several unrelated types for a bad file
            raise ModelError(
                f'end-of-turn model {path} cannot be loaded ({err}); run scripts/setup, or set [listen] end_of_turn = "rule"'
            ) from None
        inputs = self._session.get_inputs()
        if [i.name for i in inputs] != ["input_features"] or list(inputs[0].shape[1:]) != [80, 100 * WINDOW_S]:
            raise ModelError(f"end-of-turn model {path} is not a Smart Turn v3 model (inputs {inputs})")
        self._features = FeatureExtractor(feature_size=80, sampling_rate=PIPELINE_RATE, chunk_length=WINDOW_S)
        self._lock = threading.Lock()  # the feature extractor keeps no state; the lock bounds the threads

    def probability(self, samples: np.ndarray) -> float:
        """The probability (0-1) that the utterance in ``samples`` (int16 or float, 16 kHz) is finished."""
        audio = to_float(samples) if samples.dtype == np.int16 else samples.astype(np.float32)
        window = PIPELINE_RATE * WINDOW_S
        audio = audio[-window:]
        if len(audio) < window:
            audio = np.concatenate([np.zeros(window - len(audio), np.float32), audio])
        # Whisper's extractor with transformers' do_normalize: the waveform at zero mean, unit variance first
        audio = (audio - audio.mean()) / np.sqrt(audio.var() + 1e-7)
        features = self._features(audio, padding=0)[:, : 100 * WINDOW_S]
        with self._lock:
            (logit,) = self._session.run(None, {"input_features": features[np.newaxis].astype(np.float32)})
        return float(np.asarray(logit).reshape(-1)[0])
