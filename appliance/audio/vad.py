"""Voice activity detection with Silero VAD v6 (ONNX, the copy shipped inside faster-whisper)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime

from ..errors import ModelError
from .frames import to_float

WINDOW = 512  # samples at 16 kHz (32 ms): the window Silero v6 was trained on
CONTEXT = 64  # samples of the previous window the model sees again
PRIMING_S = 1  # seconds of silence the reset state has heard


class SileroVad:
    """The loaded model; shared by every call, each of which opens its own :class:`VadStream`."""

    def __init__(self, path: Path) -> None:
        opts = onnxruntime.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        opts.log_severity_level = 4
        try:
            self._session = onnxruntime.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises several unrelated types for a bad file
            raise ModelError(
                f"VAD model {path} cannot be loaded ({err}); point [models] vad at a Silero ONNX file"
            ) from None
        names = {i.name for i in self._session.get_inputs()}
        if names != {"input", "h", "c"}:
            raise ModelError(f"VAD model {path} is not a Silero VAD v6 model (inputs {sorted(names)})")
        # The state after a second of silence: where a stream goes back to once the line has been quiet
        # for long (see VadStream.reset).
        settled = VadStream(self._session)
        settled.push(np.zeros(PRIMING_S * 16000, dtype=np.int16))
        self._primed = (settled._h, settled._c, settled._context)

    def stream(self) -> VadStream:
        """A fresh detector state for one audio stream."""
        return VadStream(self._session, self._primed)


class VadStream:
    """Speech probability of a 16 kHz stream, window by window, carrying the model state."""

    def __init__(
        self, session: onnxruntime.InferenceSession, primed: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    ) -> None:
        self._session = session
        self._h = np.zeros((1, 1, 128), dtype=np.float32)
        self._c = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._primed = primed
        self.probability = 0.0

    def reset(self) -> None:
        """Back to the state of a second of silence. Silero's state drifts while it is fed a long
        silence (an answer after 18 s of it scores 0.33 in speech, not 0.59): an outbound call resets
        it when its long reminder has been said, so the patient's first words are not lost."""
        if self._primed is not None:
            self._h, self._c, self._context = (a.copy() for a in self._primed)
        self._pending = np.zeros(0, dtype=np.float32)
        self.probability = 0.0

    def push(self, samples: np.ndarray) -> float:
        """Feed int16 samples at 16 kHz; returns the probability of the latest complete window."""
        self._pending = np.concatenate([self._pending, to_float(samples)])
        while len(self._pending) >= WINDOW:
            window, self._pending = self._pending[:WINDOW], self._pending[WINDOW:]
            x = np.concatenate([self._context, window])[None, :]
            prob, self._h, self._c = self._session.run(None, {"input": x, "h": self._h, "c": self._c})
            self._context = window[-CONTEXT:]
            self.probability = float(np.asarray(prob).reshape(-1)[0])
        return self.probability
