"""End-of-turn detection: when has the caller finished speaking?

A pure state machine fed one speech probability per 20 ms frame. At each pause it is told what the
caller said so far (the transcript, :meth:`TurnDetector.set_hint`) and how finished it sounds (Smart
Turn's probability, :meth:`TurnDetector.set_turn_probability`); :func:`needed_silence_ms` turns those
into the silence that ends the turn: short when the utterance is done, longer after a one- or two-word
answer (which often goes on: "Yes, ... that works"), longest when it stops mid-sentence ("I'd like to
book for ..."). Until it knows, a plain silence timeout holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from ..config import EndOfTurn, ListenConfig
from .frames import FRAME_MS

# Words after which a sentence cannot end: conjunctions, prepositions, articles, fillers.
_TRAILING_WORDS = {
    "en": "and or but so because for to the a an with at on in of my your from about like um uh er is are was "
    "would could can will i we it this that than then if when",
    "fr": "et ou mais donc parce que pour à au aux le la les un une des de du avec en sur dans mon ma mes euh "
    "est je nous",
    "es": "y o pero porque para a al el la los las un una de del con en por mi mis eh es yo que",
}
_TRAILING = {lang: set(words.split()) for lang, words in _TRAILING_WORDS.items()}
_WORD = re.compile(r"[\w']+", re.UNICODE)


class Completeness(Enum):
    """How finished the transcript of an utterance reads."""

    COMPLETE = "complete"  # a sentence of several words with final punctuation
    SHORT = "short"  # one or two words ("Yes.", "Hi."): often the start of more ("Yes, that works")
    INCOMPLETE = "incomplete"  # ends on "and", "for the", a comma, or without punctuation


def completeness(text: str, language: str = "en") -> Completeness:
    """How finished a transcript reads, which sets how long a silence ends the turn."""
    stripped = text.strip()
    if not stripped or stripped.endswith(("...", "…", ",", "-", ":", ";")):
        return Completeness.INCOMPLETE
    words = _WORD.findall(stripped.lower())
    if not words or words[-1] in _TRAILING.get(language, _TRAILING["en"]) or stripped[-1] not in ".?!":
        return Completeness.INCOMPLETE
    return Completeness.SHORT if len(words) <= 2 else Completeness.COMPLETE


def needed_silence_ms(
    settings: ListenConfig, mode: EndOfTurn, kind: Completeness | None, probability: float | None
) -> int | None:
    """The silence after which the turn ends at this pause, from the transcript's ``kind`` and Smart
    Turn's ``probability`` that the caller is done; None while what ``mode`` needs is not known yet."""
    s = settings
    by_text = {
        Completeness.COMPLETE: s.eot_complete_ms,
        Completeness.SHORT: s.eot_silence_ms,
        Completeness.INCOMPLETE: s.eot_incomplete_ms,
    }
    if mode == "rule":
        return None if kind is None else by_text[kind]
    if probability is None or (mode == "both" and kind is None):
        return None
    done = probability >= s.smart_turn_threshold
    if mode == "smart":
        return s.eot_complete_ms if done else s.eot_incomplete_ms
    if done and kind is Completeness.COMPLETE:
        return s.eot_complete_ms
    if not done and kind is not Completeness.COMPLETE:
        return s.eot_incomplete_ms
    return s.eot_silence_ms  # one says done, the other not


class TurnEvent(Enum):
    """What the detector saw in the frame it was just given."""

    SPEECH_START = "speech_start"  # enough voiced frames: an utterance begins
    PAUSE = "pause"  # short silence after speech: a good moment to transcribe what was said
    RESUME = "resume"  # speech again after a pause: what was transcribed is stale
    BARGE_IN = "barge_in"  # the caller talks over the appliance
    END_OF_TURN = "end_of_turn"


@dataclass
class _Utterance:
    start: float
    last_voiced: float
    paused: bool = False
    hint: str | None = None  # transcript of the utterance up to the current pause
    probability: float | None = None  # Smart Turn's, that the caller is done at the current pause


class TurnDetector:
    """Turns per-frame speech probabilities into turn events."""

    def __init__(self, settings: ListenConfig, language: str = "en", mode: EndOfTurn | None = None) -> None:
        """``mode``: how the end is judged; ``settings.end_of_turn`` unless told (a call without Smart
        Turn loaded judges by the transcript)."""
        self.settings = settings
        self.mode: EndOfTurn = mode or settings.end_of_turn
        self.language = language
        self.agent_speaking = False
        self._voiced_run = 0.0  # seconds of consecutive voiced frames
        self._barged = False
        self._utterance: _Utterance | None = None
        self.last_voiced = 0.0  # time of the last voiced frame of the current or last utterance
        self.last_reason = ""  # why the last turn ended

    @property
    def in_utterance(self) -> bool:
        """Whether the caller is in the middle of an utterance."""
        return self._utterance is not None

    def set_hint(self, transcript: str) -> None:
        """Give the transcript of the utterance up to the current pause."""
        if self._utterance is not None and self._utterance.paused:
            self._utterance.hint = transcript

    def set_turn_probability(self, probability: float) -> None:
        """Give Smart Turn's probability that the utterance is done at the current pause."""
        if self._utterance is not None and self._utterance.paused:
            self._utterance.probability = probability

    def push(self, now: float, probability: float) -> list[TurnEvent]:
        """Feed the speech probability of the frame that ended at ``now`` (seconds)."""
        s = self.settings
        frame = FRAME_MS / 1000
        events: list[TurnEvent] = []
        voiced = probability >= s.vad_threshold
        silent = probability < s.vad_neg_threshold
        self._voiced_run = self._voiced_run + frame if voiced else 0.0
        if not self._voiced_run:
            self._barged = False
        elif self.agent_speaking and not self._barged and self._voiced_run >= s.barge_in_ms / 1000 - 1e-9:
            self._barged = True
            events.append(TurnEvent.BARGE_IN)

        u = self._utterance
        if u is None:
            if self._voiced_run >= s.min_speech_ms / 1000 - 1e-9:
                self._utterance = _Utterance(start=now - self._voiced_run, last_voiced=now)
                self.last_voiced = now
                events.append(TurnEvent.SPEECH_START)
            return events

        # Hysteresis: once speaking, only a frame below the lower threshold counts as silence;
        # once paused, only a frame above the upper one counts as speech again.
        if voiced and u.paused:
            u.paused, u.hint, u.probability = False, None, None
            events.append(TurnEvent.RESUME)
        if not silent and not u.paused:
            u.last_voiced = self.last_voiced = now
        quiet = now - u.last_voiced
        if not u.paused and quiet >= s.pause_ms / 1000 - 1e-9:
            u.paused = True
            events.append(TurnEvent.PAUSE)
        reason = self._end_reason(u, now, quiet)
        if reason:
            self.last_reason = reason
            self._utterance = None
            self._voiced_run = 0.0  # after a cut, speech that goes on starts a new utterance from now
            events.append(TurnEvent.END_OF_TURN)
        return events

    def _end_reason(self, u: _Utterance, now: float, quiet: float) -> str:
        s = self.settings
        if now - u.start >= s.max_utterance_s:
            return "max_length"
        if not u.paused:
            return ""
        kind = completeness(u.hint, self.language) if u.hint is not None else None
        needed = needed_silence_ms(s, self.mode, kind, u.probability)
        if needed is not None:
            return _reason(self.mode, kind, u.probability, s) if quiet >= needed / 1000 - 1e-9 else ""
        return "silence" if quiet >= s.eot_silence_ms / 1000 - 1e-9 else ""


def _reason(mode: EndOfTurn, kind: Completeness | None, probability: float | None, s: ListenConfig) -> str:
    """Why the turn ended, as recorded with it ("complete", "smart_done", "short+smart_not_done")."""
    heard = "smart_done" if (probability or 0.0) >= s.smart_turn_threshold else "smart_not_done"
    text = kind.value if kind is not None else ""
    return {"rule": text, "smart": heard}.get(mode, f"{text}+{heard}")
