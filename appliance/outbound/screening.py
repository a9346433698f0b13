"""The first seconds of an answered outbound call: a person, or an answering machine?

A :class:`Screener` owns the line from the answer until the verdict (:mod:`appliance.audio.answering`).
A person is then handed to the reminder's dialogue, which greets them. For a machine it waits for the
beep (or the end of the greeting), leaves the short message the profile allows, and hangs up.
"""

from __future__ import annotations

import asyncio
import logging
import time

import numpy as np

from ..audio.answering import AnsweringDetector, Verdict
from ..audio.frames import split_frames
from ..call.engines import Engines
from ..call.events import CallerAudio, Event, HungUp
from ..call.playout import Playout
from ..models.stt import Transcript
from ..models.tts import clauses
from ..store import Store, TurnRecord

_LOGGER = logging.getLogger(__name__)
AFTER_GREETING_S = 2.0  # a machine's greeting with no beep: this much silence and its recording has begun
MESSAGE_BY_S = 30.0  # from the answer: no beep or end of greeting by then, the message is left anyway


class Screener:
    """Owns an answered outbound line until it knows who answered (a LineOwner). Create it on the loop."""

    def __init__(self, engines: Engines, language: str) -> None:
        self.inbox: asyncio.Queue[Event] = asyncio.Queue()
        self.playout = Playout(asyncio.get_running_loop(), self.now)
        self.detector = AnsweringDetector()
        self.hung_up = False
        self.heard: list[str] = []  # what the greeting said, when its words were read
        self._engines = engines
        self._language = language
        self._vad = engines.vad.stream()
        self._greeting: list[np.ndarray] = []
        self._t0 = time.monotonic()
        self._loop = asyncio.get_running_loop()

    def now(self) -> float:
        """Seconds since the answer."""
        return time.monotonic() - self._t0

    def post(self, event: Event) -> None:
        self.inbox.put_nowait(event)

    async def screen(self) -> Verdict | None:
        """Listen until the verdict; None if the far end hung up first."""
        words: asyncio.Future[str] | None = None
        while True:
            frame = await self._next()
            if frame is None:
                return None
            now, probability, samples = frame
            if self.detector.first_voiced is not None:
                self._greeting.append(samples)
            verdict = self.detector.push(now, probability, samples)
            if verdict is None and self.detector.wants_words and words is None:
                job = self._loop.run_in_executor(
                    self._engines.stt_pool,
                    self._engines.transcriber.transcribe,
                    np.concatenate(self._greeting),
                    None,
                    self._language,
                )
                words = asyncio.ensure_future(self._text(job))
            if verdict is None and words is not None and words.done():
                self.heard.append(words.result())
                verdict = self.detector.words(words.result(), self._language, now)
            if verdict is not None:
                if words is not None and not words.done():
                    words.cancel()
                return verdict

    async def until_recording(self) -> bool:
        """After a machine's verdict: wait for its beep to end, or for the silence after its greeting;
        False if it hung up."""
        beep = self.detector.beep
        while True:
            if beep.ended or self.now() >= MESSAGE_BY_S:
                return True
            if not beep.heard and self.now() - self.detector.last_voiced >= AFTER_GREETING_S:
                return True
            frame = await self._next()
            if frame is None:
                return False
            now, probability, samples = frame
            beep.push(samples)
            if probability >= self.detector.settings.speech:
                self.detector.last_voiced = now

    async def say(self, text: str, language: str) -> bool:
        """Speak ``text`` to the line and wait until it has been played; False if it hung up meanwhile."""
        voice = self._engines.voice(language)
        listening = asyncio.ensure_future(self._hang_up())
        try:
            for clause in clauses(text):
                audio = await self._loop.run_in_executor(self._engines.tts_pool, voice.clause, clause)
                for pcm in split_frames(audio):
                    if listening.done():
                        return False
                    await self.playout.push(pcm, None)
            drained = asyncio.ensure_future(self.playout.drain())
            await asyncio.wait({drained, listening}, return_when=asyncio.FIRST_COMPLETED)
            drained.cancel()
            return not listening.done()
        finally:
            listening.cancel()

    @staticmethod
    def record(store: Store, call_id: str, source: str, verdict: Verdict, message: str, heard: str) -> None:
        """The machine's call in the store: what its greeting said, and what was left on it."""
        store.start_call(call_id, source)
        turn = TurnRecord(1, verdict.at_s, caller_text=heard, reply_text=message, eot_reason="voicemail")
        store.add_turn(call_id, turn)
        store.end_call(call_id, "voicemail")

    @staticmethod
    async def _text(job: asyncio.Future[Transcript]) -> str:
        return (await job).text

    async def _next(self) -> tuple[float, float, np.ndarray] | None:
        """The next frame from the line: (seconds since the answer, VAD probability, samples); None once
        the far end hung up."""
        while True:
            event = await self.inbox.get()
            if isinstance(event, HungUp):
                self.hung_up = True
                return None
            if isinstance(event, CallerAudio):
                samples = np.frombuffer(event.pcm, dtype=np.int16)
                probability = await self._loop.run_in_executor(self._engines.vad_pool, self._vad.push, samples)
                return event.time - self._t0, probability, samples

    async def _hang_up(self) -> None:
        """Returns when the far end hangs up (what it sends meanwhile is not listened to)."""
        while not isinstance(await self.inbox.get(), HungUp):
            pass
        self.hung_up = True
