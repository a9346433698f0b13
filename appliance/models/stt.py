"""Speech to text with faster-whisper (CTranslate2, int8 on CPU).

Whisper's encoder always runs on a 30 s window, padded with silence; for a 2 s phone utterance
almost all of that work is padding. CTranslate2 accepts a shorter window, so by default the
utterance is encoded in a window that fits it: its length plus 6 s of silence, rounded up to 2 s.
Less padding makes Whisper loop ("Yes, please. Yes, please. Yes"). Measured on 14 espeak-ng
receptionist utterances, whisper base, 2 cores: median decode 210 ms instead of 600 ms; WER 13 %
instead of 29 % at 8 kHz and 5 % instead of 2 % at 16 kHz. ``[models] stt_fit_window = false``
restores the reference behaviour.

A box may answer callers in several languages. Whisper's language probabilities, read from the same
encoder pass the decoder then uses, restricted to the business's languages, pick the language of each
utterance; a call keeps its language unless another one wins clearly (:func:`choose_language`), so a
name or one borrowed word ("okay", "vale") does not flip it. Each language decodes with a prompt in
that language: an English prompt pushes Whisper to translate French into English.
"""

from __future__ import annotations

import difflib
import math
import re
import threading
import time
from collections.abc import Mapping, Sequence
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
# A call moves to another of the business's languages when that language takes at least this share of
# the probability Whisper gives the business's languages on one utterance (the first utterance just
# takes the likeliest one). A judgement, not a fit: benchmarks/languages.py measures what it gives.
SWITCH_SHARE = 0.85
# ...and only on an utterance this long (s, as cut by the turn detector): Whisper takes a short "Sí" for
# English "see" and "Oui, c'est ça" for anything; a caller who changes language says a sentence.
SWITCH_MIN_S = 2.0


Shares = tuple[tuple[str, float], ...]  # each of the business's languages with its share of the probability


@dataclass(frozen=True)
class Transcript:
    """What the caller said, and how long decoding took."""

    text: str
    language: str
    seconds: float
    # The business's languages with the share of Whisper's probability each took (empty: not detected,
    # the box listens for one language only).
    language_shares: Shares = ()


def choose_language(shares: Sequence[tuple[str, float]], current: str | None, seconds: float = 60.0) -> str:
    """The language an utterance of ``seconds`` is taken in: the likeliest of ``shares`` (language, share
    of the allowed languages' probability) on a call's first utterance; later, ``current`` unless another
    language takes :data:`SWITCH_SHARE` of it on an utterance of :data:`SWITCH_MIN_S` or more."""
    best, share = max(shares, key=lambda pair: pair[1])
    if current is None or best == current or (share >= SWITCH_SHARE and seconds >= SWITCH_MIN_S):
        return best
    return current


class Transcriber:
    """One loaded Whisper model; thread-safe, so calls may share it."""

    def __init__(
        self,
        model: ResolvedModel,
        threads: int,
        languages: str | Sequence[str],
        beam_size: int = 1,
        prompts: str | Mapping[str, str] = "",
        fit_window: bool = True,
    ) -> None:
        """``languages``: the language to listen for, or the business's languages to choose from per
        utterance (the first is the default); ``prompts``: each language's prompt (one string: the first
        language's)."""
        languages = (languages,) if isinstance(languages, str) else tuple(dict.fromkeys(languages))
        if not languages:
            raise ModelError("no language to listen for; set [business] language or the profile's languages")
        try:
            self._model = WhisperModel(str(model.path), device="cpu", compute_type="int8", cpu_threads=threads)
        except (RuntimeError, ValueError, OSError) as err:
            raise ModelError(f"STT model {model.path} cannot be loaded ({err}); check [models] stt") from None
        multilingual = bool(self._model.model.is_multilingual)
        for language in languages:
            if language not in _LANGUAGE_CODES:
                raise ModelError(
                    f"[business] language = {language!r} is not a language Whisper knows (e.g. en, fr, es)"
                )
        if not multilingual:
            if languages[0] != "en":
                raise ModelError(f"STT model {model.name} is English-only but [business] language is {languages[0]!r}")
            languages = ("en",)  # an English-only model hears every caller in English
        self.name = model.name
        self.languages = languages
        self.language = languages[0]
        self._beam_size = beam_size
        self._prompts = {languages[0]: prompts} if isinstance(prompts, str) else dict(prompts)
        self._fit_window = fit_window
        self._tokenizers = {
            lang: Tokenizer(self._model.hf_tokenizer, multilingual, task="transcribe", language=lang)
            for lang in languages
        }
        self._prompt_tokens = {lang: self._prompt_for(lang) for lang in languages}

    def _prompt_for(self, language: str, context: str = "") -> list[int]:
        tokenizer = self._tokenizers[language]
        prompt = f"{self._prompts.get(language, '').strip()} {context.strip()}".strip()
        previous = tokenizer.encode(" " + prompt) if prompt else []
        return list(self._model.get_prompt(tokenizer, previous, without_timestamps=True))

    def transcribe(
        self,
        samples: np.ndarray,
        cancelled: threading.Event | None = None,
        current: str | None = None,
        context: str = "",
    ) -> Transcript:
        """Transcribe 16 kHz int16 audio. Blocking: run it in an executor.

        ``current`` is the call's language so far (None on its first utterance): with several languages
        the utterance is taken in the one :func:`choose_language` picks. ``cancelled`` set (the caller
        went on speaking) stops the work after the encoder, before the decoder, and gives an empty
        transcript. ``context`` (what the appliance just asked) follows the prompt: a short answer ("Oui",
        "Sí") is heard as the answer to that question rather than as any word.
        """
        started = time.perf_counter()
        cancelled = cancelled or threading.Event()
        audio = to_float(samples)
        seconds = len(audio) / PIPELINE_RATE
        if cancelled.is_set():
            text, (language, shares) = "", self._language(current)
        elif self._fit_window and seconds + TRAILING_SILENCE_S <= FULL_WINDOW_S:
            text, language, shares = self._decode_fitted(audio, seconds, cancelled, current, context)
        else:
            text, language, shares = self._decode_reference(audio, current)
        return Transcript(text, language, time.perf_counter() - started, shares)

    def _language(
        self, current: str | None, probabilities: Sequence[tuple[str, float]] | None = None, seconds: float = 0.0
    ) -> tuple[str, Shares]:
        """The language to decode in and the shares it was chosen from: without Whisper's
        ``probabilities`` (one language, or none computed), the call's language so far."""
        if probabilities is None:
            return (current if current in self.languages else self.language), Shares()
        shares = self._shares(probabilities)
        return choose_language(shares, current, seconds), shares

    def _shares(self, probabilities: Sequence[tuple[str, float]]) -> Shares:
        """Whisper's language probabilities, kept to the business's languages and scaled to sum to 1."""
        kept = [(token.strip("<|>"), p) for token, p in probabilities if token.strip("<|>") in self.languages]
        total = sum(p for _, p in kept)
        if total <= 0:
            return tuple((lang, 1.0 / len(self.languages)) for lang in self.languages)
        return tuple((lang, p / total) for lang, p in kept)

    def _decode_fitted(
        self, audio: np.ndarray, seconds: float, cancelled: threading.Event, current: str | None, context: str = ""
    ) -> tuple[str, str, Shares]:
        window_s = min(FULL_WINDOW_S, WINDOW_STEP_S * math.ceil((seconds + TRAILING_SILENCE_S) / WINDOW_STEP_S))
        padded = np.zeros(window_s * PIPELINE_RATE, dtype=np.float32)
        padded[: len(audio)] = audio
        extractor = self._model.feature_extractor
        features = extractor(padded)[:, : window_s * PIPELINE_RATE // extractor.hop_length]
        encoded = self._model.model.encode(ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None])))
        # one decoder step on the encoder output already computed
        probabilities = self._model.model.detect_language(encoded)[0] if len(self.languages) > 1 else None
        language, shares = self._language(current, probabilities, seconds)
        if cancelled.is_set():
            return "", language, shares
        prompt, tokenizer = self._prompt_tokens[language], self._tokenizers[language]
        if context.strip():
            prompt = self._prompt_for(language, context)
        # max_length counts the prompt too
        budget = min(self._model.max_length - len(prompt), MIN_TOKENS + int(TOKENS_PER_SECOND * seconds))
        result = self._model.model.generate(
            encoded,
            [prompt],
            beam_size=self._beam_size,
            max_length=len(prompt) + budget,
            return_scores=True,
            return_no_speech_prob=True,
            suppress_blank=True,
            suppress_tokens=[-1],
        )[0]
        tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
        if len(tokens) >= budget - 1:  # no end of text before the cap: a repetition loop
            tokens = collapse_repeats(tokens)
        # scores are normalised by length (length_penalty 1): undo it as faster-whisper does
        avg_logprob = result.scores[0] * len(tokens) / (len(tokens) + 1)
        if result.no_speech_prob > NO_SPEECH_PROB and avg_logprob < LOW_LOGPROB:
            return "", language, shares  # noise, a cough, a line click: Whisper would invent "Thank you."
        echoes = f"{self._prompts.get(language, '')} {context}"
        return without_prompt(str(tokenizer.decode(tokens)), echoes), language, shares

    def _decode_reference(self, audio: np.ndarray, current: str | None) -> tuple[str, str, Shares]:
        probabilities = None
        if len(self.languages) > 1:
            probabilities = [(f"<|{lang}|>", p) for lang, p in self._model.detect_language(audio)[2]]
        language, shares = self._language(current, probabilities, len(audio) / PIPELINE_RATE)
        segments, _ = self._model.transcribe(
            audio,
            language=language,
            beam_size=self._beam_size,
            # A single temperature: the fallback ladder can take 7-12 s on a rare repetition loop.
            temperature=0.0,
            condition_on_previous_text=False,
            without_timestamps=True,
            initial_prompt=self._prompts.get(language) or None,
            vad_filter=False,
        )
        text = " ".join(s.text.strip() for s in segments)
        return without_prompt(text, self._prompts.get(language, "")), language, shares


# A sentence of the transcript whose words are this close to one of the prompt's sentences (difflib ratio
# on lower-case words), or of five words or more all but one found in order in the prompt, is the prompt
# said back: Whisper does that when it cannot make out the audio.
PROMPT_ECHO_RATIO = 0.8
PROMPT_PART_WORDS = 5


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def _echoes(sentence: list[str], echo: list[str]) -> bool:
    if len(sentence) >= PROMPT_PART_WORDS and sentence[:PROMPT_PART_WORDS] == echo[:PROMPT_PART_WORDS]:
        return True  # the prompt's opening words, then whatever else came to the decoder's mind
    matcher = difflib.SequenceMatcher(None, sentence, echo, autojunk=False)
    if matcher.ratio() >= PROMPT_ECHO_RATIO:
        return True
    matched = sum(block.size for block in matcher.get_matching_blocks())
    return len(sentence) >= PROMPT_PART_WORDS and matched >= len(sentence) - 1


def without_prompt(text: str, prompt: str) -> str:
    """``text`` without the sentences that repeat the decoding prompt (the prompt echoed, not speech)."""
    echoes = [_words(sentence) for sentence in re.split(r"(?<=[.?!])\s+", prompt.strip()) if sentence.strip()]
    kept = [
        sentence
        for sentence in re.split(r"(?<=[.?!])\s+", text.strip())
        if not (_words(sentence) and any(_echoes(_words(sentence), echo) for echo in echoes))
    ]
    return " ".join(kept).strip()


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
