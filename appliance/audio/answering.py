"""Who picked up an outbound call: a person or an answering machine? And where is the machine's beep?

The verdict comes from the first seconds of the line, the way a person calling would judge it:

* a person answers with a short "Hello?" and waits, or says nothing at all;
* a machine talks on ("Hi, you've reached ... please leave a message after the tone"), says words only
  machines say, or beeps.

Calling a person a machine is the worse error (the patient hears nothing, or a message meant for a tape,
and hangs up), so every doubt goes to the person: silence, a greeting that stops within
:attr:`Screening.short_s`, and a mid-length greeting without a machine's words are people; only a beep,
a greeting that runs on past :attr:`Screening.long_s`, or machine words make a machine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .frames import FRAME_MS, PIPELINE_RATE

# ---- the beep -----------------------------------------------------------------------------------
_FFT = 1024  # one 20 ms frame (320 samples at 16 kHz), zero-padded: 15.6 Hz bins
_BAND = (300.0, 3000.0)  # where voicemail beeps are, inside the telephone band
_TONE_SHARE = 0.8  # of the frame's energy within a few bins of its peak: a pure tone, not a voice
_TONE_DRIFT_HZ = 40.0  # how far the peak may wander within one beep
_LOUD = 300.0  # frame RMS (int16) below which nothing is a tone: line noise
BEEP_S = 0.16  # a tone held this long is a beep (voicemail beeps last 0.2-1 s)


class BeepDetector:
    """Finds a held pure tone, frame by frame. A voice spreads its energy over many harmonics and moves its
    pitch; a beep puts nearly all of it in one narrow band and holds it."""

    def __init__(self) -> None:
        self._window = np.hanning(PIPELINE_RATE * FRAME_MS // 1000)
        freqs = np.fft.rfftfreq(_FFT, 1 / PIPELINE_RATE)
        self._band = (freqs >= _BAND[0]) & (freqs <= _BAND[1])
        self._voice = (freqs >= 100.0) & (freqs <= 4000.0)
        self._freqs = freqs
        self._run = 0  # frames in a row holding the same tone
        self._pitch = 0.0
        self.heard = False  # a beep has been heard (and may still be sounding)
        self.ended = False  # ... and it has stopped

    def tone(self, samples: np.ndarray) -> float:
        """The frequency of the pure tone this 20 ms frame holds, 0.0 if it holds none."""
        x = samples.astype(np.float64)
        if len(x) != len(self._window) or np.sqrt(np.mean(x * x)) < _LOUD:
            return 0.0
        power = np.abs(np.fft.rfft(x * self._window, _FFT)) ** 2
        total = float(power[self._voice].sum())
        banded = np.where(self._band, power, 0.0)
        peak = int(np.argmax(banded))
        if total <= 0.0 or not self._band[peak]:
            return 0.0
        near = float(power[max(0, peak - 4) : peak + 5].sum())
        return float(self._freqs[peak]) if near / total >= _TONE_SHARE else 0.0

    def push(self, samples: np.ndarray) -> bool:
        """Feed one 20 ms frame (16 kHz int16); True on the frame where a beep is first recognized."""
        pitch = self.tone(samples)
        if pitch and self._run and abs(pitch - self._pitch) <= _TONE_DRIFT_HZ:
            self._run += 1
        elif pitch:
            self._run, self._pitch = 1, pitch
        else:
            if self.heard and self._run:
                self.ended = True
            self._run = 0
        if not self.heard and self._run * FRAME_MS / 1000 >= BEEP_S:
            self.heard = True
            return True
        return False


# ---- person or machine ----------------------------------------------------------------------------
MACHINE_WORDS: dict[str, re.Pattern[str]] = {
    "en": re.compile(
        r"leave (?:me |us )?(?:a |your )?(?:message|name|number)|after the (?:tone|beep)|voice ?mail|mailbox"
        r"|(?:not|un)available|(?:can't|cannot|can not) (?:take|come to|get to|answer)|get back to you"
        r"|you(?:'ve| have) reached|at the tone|record your message"
    ),
    "fr": re.compile(
        r"laisse[rz]? (?:moi |nous )?(?:un |votre )?message|après le (?:bip|signal)|messagerie|répondeur"
        r"|(?:pas|plus) disponible|indisponible|vous êtes bien (?:sur|chez)|je vous rappellerai|rappeler(?:ai|ons)"
    ),
    "es": re.compile(
        r"deje (?:su |un |sus )?(?:mensaje|nombre|número)|después (?:de la señal|del tono|del pitido)|buzón"
        r"|no (?:está|estoy|estamos) disponible|ha llamado a|le (?:devolveré|devolveremos)|contestador"
    ),
}


def machine_words(text: str, language: str) -> bool:
    """Whether ``text`` holds words only an answering machine's greeting says (any of the packs: a Spanish
    clinic's patient may have an English voicemail)."""
    said = text.lower()
    first = MACHINE_WORDS.get(language)
    packs = ([first] if first else []) + [p for lang, p in MACHINE_WORDS.items() if lang != language]
    return any(p.search(said) for p in packs)


@dataclass(frozen=True)
class Screening:
    """The thresholds of the verdict (seconds from the answer, or of the greeting's own length)."""

    silence_s: float = 2.5  # nothing said this long after the answer: a person waiting
    pause_s: float = 0.8  # a silence this long ends the greeting
    short_s: float = 2.5  # a greeting that stops within this is a person's
    long_s: float = 5.0  # a greeting still going after this is a machine's
    give_up_s: float = 8.0  # undecided by then: a person
    speech: float = 0.5  # VAD probability of a voiced frame
    min_voiced_frames: int = 3  # this many in a row start a greeting (60 ms; a click does not)


@dataclass(frozen=True)
class Verdict:
    """``kind`` "human" or "machine"; ``reason`` what decided it; ``at_s`` when (seconds from the answer)."""

    kind: str
    reason: str
    at_s: float


class AnsweringDetector:
    """Frame-by-frame verdict on who answered. :meth:`push` returns None until it knows; when the greeting
    needs its words read (it stopped between ``short_s`` and ``long_s``), :attr:`wants_words` is set and
    :meth:`words` gives the verdict."""

    def __init__(self, settings: Screening | None = None) -> None:
        self.settings = settings or Screening()
        self.beep = BeepDetector()
        self._run = 0  # voiced frames in a row
        self.first_voiced: float | None = None  # when the greeting began
        self.last_voiced = 0.0
        self.wants_words = False
        self.verdict: Verdict | None = None

    def push(self, now: float, probability: float, samples: np.ndarray) -> Verdict | None:
        """One 20 ms frame heard ``now`` seconds after the answer, with its VAD probability."""
        if self.verdict is not None:
            return self.verdict
        s = self.settings
        if self.beep.push(samples):
            return self._decide("machine", "beep", now)
        frame_s = FRAME_MS / 1000
        self._run = self._run + 1 if probability >= s.speech else 0
        if self._run >= s.min_voiced_frames:
            if self.first_voiced is None:
                self.first_voiced = now - (s.min_voiced_frames - 1) * frame_s
            self.last_voiced = now
        length = self.last_voiced - self.first_voiced if self.first_voiced is not None else 0.0
        if length >= s.long_s:  # even while its words are being read: it talks on
            return self._decide("machine", "long_greeting", now)
        if self.wants_words:
            return None
        if self.first_voiced is None:
            if now >= s.silence_s:
                return self._decide("human", "silence", now)
        else:
            if now - self.last_voiced >= s.pause_s:
                if length < s.short_s:
                    return self._decide("human", "short_greeting", now)
                self.wants_words = True
                return None
        if now >= s.give_up_s:
            return self._decide("human", "undecided", now)
        return None

    def words(self, text: str, language: str, now: float) -> Verdict:
        """The verdict on a mid-length greeting from what it said."""
        if self.verdict is None:
            if machine_words(text, language):
                return self._decide("machine", "machine_words", now)
            return self._decide("human", "greeting", now)
        return self.verdict

    def _decide(self, kind: str, reason: str, now: float) -> Verdict:
        self.verdict = Verdict(kind, reason, now)
        return self.verdict
