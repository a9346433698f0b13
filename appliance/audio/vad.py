"""Voice activity detection with Silero VAD v6 (ONNX, the copy shipped inside faster-whisper)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime

from ..errors import ModelError
from .frames import to_float

WINDOW = 512  # samples at 16 kHz (32 ms): the window Silero v6 was trained on
CONTEXT = 64  # samples of the previous window the model sees again
# Silero's recurrent state drifts over a long stretch without speech (the patient listening to a 16 s
# reminder, a caller on hold): after 18 s of line silence the first second of "Yes, I confirm" scored 0.3-0.4
# instead of 0.8, under the threshold, and the start of the answer was lost (0.59 after 3 s of silence,
# 0.54 after 6 s, 0.42 after 10 s). A state fresh from zeros is not the best either (0.5 on the same words):
# the model scores best having heard a second or three of silence. So every stream starts from the state
# left by PRIME_S of silence, and goes back to it after RESET_AFTER_S of quiet. Not sooner: resetting after
# 2 s also reset it during ordinary turns (the caller quiet while a reply plays), which moved utterance
# boundaries enough to write "Marie Du Pond" for "Marie Dupont" in the French booking over SIP.
PRIME_S = 1.0
RESET_AFTER_S = 8.0
QUIET = 0.1  # a window below this probability is quiet

_RESET_WINDOWS = round(RESET_AFTER_S * 16000 / WINDOW)
_State = tuple[np.ndarray, np.ndarray]


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
        h = c = np.zeros((1, 1, 128), dtype=np.float32)
        silence = np.zeros((1, CONTEXT + WINDOW), dtype=np.float32)
        for _ in range(round(PRIME_S * 16000 / WINDOW)):
            _, h, c = self._session.run(None, {"input": silence, "h": h, "c": c})
        self._primed: _State = (h, c)

    def stream(self) -> VadStream:
        """A fresh detector state for one audio stream."""
        return VadStream(self._session, self._primed)


class VadStream:
    """Speech probability of a 16 kHz stream, window by window, carrying the model state."""

    def __init__(self, session: onnxruntime.InferenceSession, primed: _State) -> None:
        self._session = session
        self._primed = primed
        self._h, self._c = primed
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)
        self._quiet = 0  # windows in a row below QUIET
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
            self._quiet = self._quiet + 1 if self.probability < QUIET else 0
            if self._quiet >= _RESET_WINDOWS:  # quiet long enough: back to the state it scores best from
                self._h, self._c = self._primed
                self._quiet = 0
        return self.probability
