"""Speech to text with faster-whisper (CTranslate2, int8 on CPU).

Whisper's encoder always runs on a 30 s window, padded with silence; for a 2 s phone utterance
almost all of that work is padding. CTranslate2 accepts a shorter window, so by default the
utterance is encoded in a window that fits it: its length plus 6 s of silence, rounded up to 2 s.
Less padding makes Whisper loop ("Yes, please. Yes, please. Yes"). Measured on 14 espeak-ng
receptionist utterances, whisper base, 2 cores: median decode 210 ms instead of 600 ms; WER 13 %
instead of 29 % at 8 kHz and 5 % instead of 2 % at 16 kHz. ``[models] stt_fit_window = false``
restores the reference behaviour.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import ctranslate2
import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.tokenizer import _LANGUAGE_CODES, Tokenizer

from ..audio.frames import PIPELINE_RATE, to_float
from ..errors import ModelError
from .registry import ResolvedModel

FULL_WINDOW_S = 30  # what Whisper was trained on; longer audio goes through faster-whisper's chunking
WINDOW_STEP_S = 2
TRAILING_SILENCE_S = 6.0
# faster-whisper's defaults for "this segment is silence or noise, not speech".
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0
# Speech carries at most ~4 tokens a second; a decode much longer than that is a repetition loop
# ("Thank you. Thank you. ..."), which otherwise runs to 448 tokens and holds the STT thread ~2 s.
TOKENS_PER_SECOND = 7
MIN_TOKENS = 10
# A decode that runs into that cap has looped: an immediately repeated span this long or longer is
# said once ("What are your hours? What are your hours? What are" -> "What are your hours?").
MIN_REPEAT_TOKENS = 3


@dataclass(frozen=True)
class Transcript:
    """What the caller said, and how long decoding took."""

    text: str
    language: str
    seconds: float


class Transcriber:
    """One loaded Whisper model; thread-safe, so calls may share it."""

    def __init__(
        self,
        model: ResolvedModel,
        threads: int,
        language: str,
        beam_size: int = 1,
        prompt: str = "",
        fit_window: bool = True,
    ) -> None:
        try:
            self._model = WhisperModel(str(model.path), device="cpu", compute_type="int8", cpu_threads=threads)
        except (RuntimeError, ValueError, OSError) as err:
            raise ModelError(f"STT model {model.path} cannot be loaded ({err}); check [models] stt") from None
        multilingual = bool(self._model.model.is_multilingual)
        if not multilingual and language != "en":
            raise ModelError(f"STT model {model.name} is English-only but [business] language is {language!r}")
        if language not in _LANGUAGE_CODES:
            raise ModelError(f"[business] language = {language!r} is not a language Whisper knows (e.g. en, fr, es)")
        self.name = model.name
        self.language = language
        self._beam_size = beam_size
        self._prompt = prompt
        self._fit_window = fit_window
        self._tokenizer = Tokenizer(self._model.hf_tokenizer, multilingual, task="transcribe", language=language)
        previous = self._tokenizer.encode(" " + prompt.strip()) if prompt.strip() else []
        self._prompt_tokens = self._model.get_prompt(self._tokenizer, previous, without_timestamps=True)

    def transcribe(self, samples: np.ndarray, cancelled: threading.Event | None = None) -> Transcript:
        """Transcribe 16 kHz int16 audio. Blocking: run it in an executor.

        ``cancelled`` set (the caller went on speaking) stops the work after the encoder, before the
        decoder, and gives an empty transcript.
        """
        started = time.perf_counter()
        cancelled = cancelled or threading.Event()
        audio = to_float(samples)
        seconds = len(audio) / PIPELINE_RATE
        if cancelled.is_set():
            text = ""
        elif self._fit_window and seconds + TRAILING_SILENCE_S <= FULL_WINDOW_S:
            text = self._decode_fitted(audio, seconds, cancelled)
        else:
            text = self._decode_reference(audio)
        return Transcript(text, self.language, time.perf_counter() - started)

    def _decode_fitted(self, audio: np.ndarray, seconds: float, cancelled: threading.Event) -> str:
        window_s = min(FULL_WINDOW_S, WINDOW_STEP_S * math.ceil((seconds + TRAILING_SILENCE_S) / WINDOW_STEP_S))
        padded = np.zeros(window_s * PIPELINE_RATE, dtype=np.float32)
        padded[: len(audio)] = audio
        extractor = self._model.feature_extractor
        features = extractor(padded)[:, : window_s * PIPELINE_RATE // extractor.hop_length]
        encoded = self._model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])))
        if cancelled.is_set():
            return ""
        # max_length counts the prompt too
        budget = min(self._model.max_length - len(self._prompt_tokens), MIN_TOKENS + int(TOKENS_PER_SECOND * seconds))
        result = self._model.model.generate(
            encoded,
            [self._prompt_tokens],
            beam_size=self._beam_size,
            max_length=len(self._prompt_tokens) + budget,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < self._tokenizer.eot]
        if len(tokens) >= budget - 1:  # no end of text before the cap: a repetition loop
            tokens = collapse_repeats(tokens)
        # scores are normalised by length (length_penalty 1): undo it as faster-whisper does
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        if result.no_speech_prob > NO_SPEECH_PROB and avg_logprob < LOW_LOGPROB:
            return ""  # noise, a cough, a line click: Whisper would invent "Thank you."
        return str(self._tokenizer.decode(tokens)).strip()

    def _decode_reference(self, audio: np.ndarray) -> str:
        segments, _ = self._model.transcribe(
            audio,
            language=self.language,
            beam_size=self._beam_size,
            # A single temperature: the fallback ladder can take 7-12 s on a rare repetition loop.
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            initial_prompt=self._prompt or None,
            vad_filter=False,
        )
        return " ".join(s.text.strip() for s in segments).strip()


def collapse_repeats(tokens: list[int], min_span: int = MIN_REPEAT_TOKENS) -> list[int]:
    """``tokens`` with each immediate repetition of a span of ``min_span`` or more tokens said once, and a
    copy cut short at the end dropped: what a decoding loop stopped by the length cap leaves. Without a
    full repetition, only an almost whole copy counts as one (all but its last token, maybe cut mid-word)."""
    out = list(tokens)
    i = 0
    while i < len(out):
        for span in range(min_span, len(out) - i - min_span + 1):
            first, rest = out[i : i + span], out[i + span : i + 2 * span]
            if rest == first:
                end = i + 2 * span
                while out[end : end + span] == first:
                    end += span
                if _cut_copy(out[end:], first, 1):  # it looped: any start of the span that follows is loop
                    end = len(out)
                del out[i + span : end]
                break
            if i + span + len(rest) == len(out) and len(rest) >= span - 1 and _cut_copy(rest, first, min_span):
                del out[i + span :]
                break
        i += 1
    return out


def _cut_copy(rest: list[int], first: list[int], min_span: int) -> bool:
    """Whether ``rest`` is the start of ``first``, at least ``min_span`` long, its last token maybe cut mid-word."""
    return min_span <= len(rest) < len(first) and rest[:-1] == first[: len(rest) - 1]
