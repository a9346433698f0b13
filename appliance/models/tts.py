"""Text to speech, resampled to the pipeline rate, one chunk per clause: piper (ONNX), and Kokoro-82M
(kokoro-onnx) for the languages piper's bundled voice does not speak."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np
import onnxruntime
from piper import PiperVoice
from piper.config import PiperConfig

from ..audio.resample import resample
from ..errors import ModelError
from .registry import ResolvedModel, ResolvedVoice

# A reply is synthesized clause by clause, so the first clause plays while the next is made: piper and
# Kokoro make a whole sentence before its first sample (a 6.7 s sentence: 464 ms with piper here, 1.3-1.6 s
# with Kokoro on 2 cores); its first clause alone takes a fraction of that.
_CLAUSES = re.compile(r"(?<=[.?!;:])\s+|(?<=,)\s+(?=\S{2,})")
CACHE_CLAUSES = 512  # fixed phrases (greeting, questions, "is there anything else") come back every call


def clauses(text: str) -> list[str]:
    """The clauses a reply is spoken in, one audio chunk each, in order."""
    return [c.strip() for c in _CLAUSES.split(text.strip()) if c.strip()]


class _ClauseVoice:
    """A voice that speaks a reply one clause at a time, keeping the clauses it has spoken.

    Up to :data:`CACHE_CLAUSES` clauses are kept: the fixed parts of the replies are synthesized once per
    daemon, and :meth:`warm` makes them before the first call.
    """

    def __init__(self, name: str, rate: int) -> None:
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self.name = name
        self.rate = rate

    def sentences(self, text: str) -> Iterator[np.ndarray]:
        """Yield int16 audio at ``rate``, one array per clause, each ending with its pause. Blocking:
        iterate in an executor."""
        for clause in clauses(text):
            yield self.clause(clause)

    def cached(self, text: str) -> bool:
        """Whether every clause of ``text`` is kept, ready to play."""
        with self._lock:
            return all(c in self._cache for c in clauses(text))

    def warm(self, texts: Iterable[str]) -> None:
        """Synthesize these replies' clauses now, so that the first caller does not wait for them."""
        for text in texts:
            for _ in self.sentences(text):
                pass

    def clause(self, clause: str) -> np.ndarray:
        """One clause's audio (as :func:`clauses` splits a reply), kept for the next time. Blocking."""
        with self._lock:
            cached = self._cache.get(clause)
        if cached is not None:
            return cached
        audio = self.render(clause)
        with self._lock:
            if len(self._cache) >= CACHE_CLAUSES:
                self._cache.pop(next(iter(self._cache)))
            self._cache[clause] = audio
        return audio

    def render(self, clause: str) -> np.ndarray:
        """One clause's audio, made now (not kept): what a clause not yet said costs."""
        raise NotImplementedError


class Synthesizer(_ClauseVoice):
    """One loaded piper voice with a bounded thread budget."""

    def __init__(self, model: ResolvedModel, threads: int, rate: int) -> None:
        super().__init__(model.name, rate)
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

    def render(self, clause: str) -> np.ndarray:
        # piper ends each clause with its own pause (about 0.2 s, a comma's or a full stop's)
        chunks = [resample(c.audio_int16_array, c.sample_rate, self.rate) for c in self._voice.synthesize(clause)]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


# Kokoro's language codes for espeak-ng (kokoro-onnx phonemizes with the espeak-ng it bundles).
KOKORO_LANGUAGES = {"en": "en-us", "fr": "fr-fr", "es": "es", "it": "it", "pt": "pt-br", "hi": "hi", "ja": "ja"}
KOKORO_RATE = 24000
_PAUSE_S = {",": 0.12, ".": 0.28, "?": 0.28, "!": 0.28, ";": 0.2, ":": 0.2}
# What espeak-ng (Kokoro's phonemizer) would read letter by letter, as said: "10 h 30" is "dix heures trente".
_SPEAKABLE = {
    "fr": (
        (re.compile(r"\b(\d{1,2}) ?h ?(\d{2})\b"), r"\1 heures \2"),
        (re.compile(r"\b(\d{1,2}) ?h\b"), r"\1 heures"),
    ),
    "es": ((re.compile(r"\b(\d{1,2}):00\b"), r"\1"), (re.compile(r"\b(\d{1,2}):(\d{2})\b"), r"\1 y \2")),
}


class KokoroSynthesizer(_ClauseVoice):
    """Kokoro-82M (kokoro-onnx) speaking one language with one voice, clause by clause, at ``rate``."""

    def __init__(self, voice: ResolvedVoice, language: str, threads: int, rate: int, model: Any = None) -> None:
        """``model``: a loaded kokoro-onnx model another language's voice already uses (they share it)."""
        if language not in KOKORO_LANGUAGES:
            raise ModelError(f"Kokoro cannot speak {language!r}; give [models.voices] {language} a piper voice")
        super().__init__(voice.model.name, rate)
        self._kokoro = model if model is not None else _load_kokoro(voice, threads)
        self._voice = voice.kokoro_voice
        self._lang = KOKORO_LANGUAGES[language]
        self._speakable = _SPEAKABLE.get(language, ())

    def render(self, clause: str) -> np.ndarray:
        spoken = clause
        for pattern, said in self._speakable:
            spoken = pattern.sub(said, spoken)
        samples, rate = self._kokoro.create(spoken, voice=self._voice, lang=self._lang, trim=True)
        pcm = (np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767).astype(np.int16)
        pause = np.zeros(int(_PAUSE_S.get(clause[-1], 0.2) * rate), dtype=np.int16)
        return resample(np.concatenate([pcm, pause]), rate, self.rate)

    @property
    def model(self) -> Any:
        """The kokoro-onnx model, for another language's voice to share."""
        return self._kokoro


def _load_kokoro(voice: ResolvedVoice, threads: int) -> Any:
    from kokoro_onnx import Kokoro  # imported here: only boxes with a Kokoro voice load it

    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    opts.enable_cpu_mem_arena = False  # as for piper: memory goes back after each clause
    try:
        session = onnxruntime.InferenceSession(str(voice.model.path), opts, providers=["CPUExecutionProvider"])
        return Kokoro.from_session(session, str(voice.kokoro_voices))
    except Exception as err:  # onnxruntime and kokoro-onnx raise many unrelated types for a bad file
        raise ModelError(f"Kokoro voice {voice.model.name} cannot be loaded ({err}); run scripts/setup") from None


Voice = Synthesizer | KokoroSynthesizer


def load_voices(specs: dict[str, ResolvedVoice], threads: int, rate: int) -> dict[str, Voice]:
    """Each language's synthesizer (Kokoro or piper); the Kokoro voices share one loaded model."""
    voices: dict[str, Voice] = {}
    kokoro: Any = None
    for language, voice in specs.items():
        if voice.kokoro_voice:
            synthesizer = KokoroSynthesizer(voice, language, threads, rate, kokoro)
            kokoro = synthesizer.model
            voices[language] = synthesizer
        else:
            voices[language] = Synthesizer(voice.model, threads, rate)
    return voices
