"""One call, owned by one object: what the caller says in, what the appliance says out.

A :class:`CallSession` owns one task group for the call. Everything from outside arrives through one
inbox, in order (:mod:`.events`: caller audio, keys, the transfer's outcome, the hang-up); the timers
(silence prompts, the time limit) run on their own clock, not on the caller's frames. What the appliance
says goes into one :class:`~.playout.Playout` that the line's clock reads directly.

Inside: VAD and end-of-turn detection per frame; transcription starts speculatively at the first pause,
while the end-of-turn silence is still running, and is cancelled when the caller goes on; the reply is
synthesized clause by clause into the playout. Caller speech over the reply holds it within a frame; once
the caller's words are known, a backchannel ("uh-huh", "d'accord"), or the appliance's own reply echoed
back by the line, lets it go on from the start of its clause, and anything else clears it (a key clears
it at once).
A reply that ends the call, or hands it to a person, does so once its last frame has been played.

When the call ends, nothing the caller did is lost: keys already pressed still reach the dialogue, and
an utterance not yet answered is recorded with its transcript (but not acted upon: nobody heard a
read-back for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np

from ..audio.echo import EchoGuard
from ..audio.frames import FRAME_MS, split_frames
from ..audio.turn import TurnDetector, TurnEvent
from ..config import CallConfig
from ..dialog.responder import Reply, Responder
from ..dialog.understand import backchannel
from ..models.stt import Transcript
from ..models.tts import clauses
from ..store import Store, TurnRecord
from .engines import Engines
from .events import CallerAudio, Event, Key, TransferDone
from .playout import Playout

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")

PREROLL_FRAMES = 15  # 300 ms kept before the detected speech start: VAD onset lags the first phoneme
WIND_UP_S = 3.0  # how long a call that ended waits for the transcript of its last, unanswered utterance
ECHO_SHARE = 0.8  # the share of the words heard over a reply that are its own when they are its echo


class _CallOver(Exception):
    """Raised inside the task group once the call has finished: it cancels every task of the call."""


class _Speculation:
    """A transcription started before the end of the turn, which the caller's next words make stale."""

    def __init__(self, future: asyncio.Future[Transcript], cancelled: threading.Event) -> None:
        self.future = future
        self._cancelled = cancelled

    def cancel(self) -> None:
        """Stop it: a job still queued never runs, a running one stops after the encoder."""
        self._cancelled.set()
        self.future.cancel()


# A turn whose reply is being worked out: a spoken turn with its transcript, a key press, or a fixed line.
_Work = tuple[TurnRecord, asyncio.Future[Transcript]] | TurnRecord | Reply


class CallSession:
    """Listens, transcribes, replies and speaks for one call. Create it on the event loop."""

    def __init__(
        self,
        engines: Engines,
        responder: Responder,
        store: Store | None = None,
        source: str = "test",
        greet: bool = True,
        limits: CallConfig | None = None,
        call_id: str | None = None,
        fresh_ears_after_greeting: bool = False,
    ) -> None:
        """``fresh_ears_after_greeting``: the greeting is long and the other side listens to it in
        silence (an outbound reminder), so the voice detector goes back to a settled state once it has
        been said (see :meth:`VadStream.reset`)."""
        self.call_id = call_id or str(uuid.uuid4())
        self.turns: list[TurnRecord] = []
        self.end_reason = ""
        self.inbox: asyncio.Queue[Event] = asyncio.Queue()
        self._echo_guard = EchoGuard()  # what the line sends back of the appliance's own voice
        self.playout = Playout(asyncio.get_running_loop(), self.now, on_sent=self._echo_guard.sent)
        self.finished = asyncio.Event()
        # Set by a line that can hand the call to a person (SIP REFER); the outcome comes back as a
        # TransferDone event. Without it, a transfer request fails at once.
        self.on_transfer: Callable[[], None] | None = None
        self._engines = engines
        self._responder = responder
        self._store = store
        self._source = source
        self._greet = greet
        self._fresh_ears = fresh_ears_after_greeting
        self._limits = limits or CallConfig()
        self._t0 = time.monotonic()
        self._last_activity = 0.0  # when the caller last spoke or the appliance last made a sound
        self._silence_prompts = 0
        self._time_up = False
        self._detector = TurnDetector(engines.listen, engines.language, "rule" if engines.smart_turn is None else None)
        self.language: str | None = None  # the caller's language, once heard (speech recognition keeps it)
        self._last_said = ""  # the appliance's last reply: the question the caller is answering
        self._vad = engines.vad.stream()
        self._preroll: deque[np.ndarray] = deque(maxlen=PREROLL_FRAMES)
        self._utterance: list[np.ndarray] = []
        self._turn: TurnRecord | None = None
        self._turn_count = 0
        self._speculation: _Speculation | None = None
        self._pending: asyncio.Queue[_Work] = asyncio.Queue()
        self._busy = False
        self._group: asyncio.TaskGroup | None = None
        self._replying: asyncio.Task[None] | None = None
        self._transferring = False  # a REFER is out: a hang-up now means the caller went to the person
        self._unrecorded: TurnRecord | None = None  # a turn whose reply is playing
        self._speaking = ""  # the text of the reply being said, to know it when the line echoes it
        self._onset = 0.0  # when the caller's current utterance began

    # ---- the outside's side ------------------------------------------------------------------
    def now(self) -> float:
        """Seconds since the call started."""
        return time.monotonic() - self._t0

    def post(self, event: Event) -> None:
        """Hand the call an event (on the loop; from another thread use ``loop.call_soon_threadsafe``)."""
        self.inbox.put_nowait(event)

    @property
    def idle(self) -> bool:
        """No caller speech in progress, no reply being prepared or played."""
        return not (self._detector.in_utterance or self._busy or self._pending.qsize() or len(self.playout))

    # ---- the call ----------------------------------------------------------------------------
    async def run(self) -> str:
        """Run until the caller hangs up, the appliance ends the call, or the call runs too long.

        Returns the end reason; a failure inside the call ends it with ``error`` (logged) rather than raising.
        """
        await self._blocking(self._engines.misc_pool, self._store_call_start)
        if self._greet:
            self._pending.put_nowait(self._responder.greeting())
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                group.create_task(self._listen())
                group.create_task(self._respond_loop())
                group.create_task(self._keep_time())
                await self.finished.wait()
                raise _CallOver
        except* _CallOver:
            pass
        except* Exception as failure:
            _LOGGER.error("call %s failed", self.call_id[:8], exc_info=failure.exceptions[0])
            self._finish("error")
        finally:
            self._group = None
            await self._wind_up()
        return self.end_reason

    def _finish(self, reason: str) -> None:
        if not self.finished.is_set():
            self.end_reason = reason
            self.finished.set()

    async def _listen(self) -> None:
        """Take the inbox in order: frames to the turn detector, keys to the dialogue, the hang-up."""
        while True:
            event = await self.inbox.get()
            if isinstance(event, CallerAudio):
                await self._on_frame(event)
            elif isinstance(event, Key):
                self._press(event.digit)
            elif isinstance(event, TransferDone):
                self._on_transfer_done(event.ok)
            else:
                self._finish("transferred" if self._transferring else "caller_hangup")
                return

    async def _keep_time(self) -> None:
        """The call's own clock: the time limit and the silence prompts, whether or not frames arrive."""
        while True:
            await asyncio.sleep(FRAME_MS / 1000)
            self._check_limits()

    def _check_limits(self) -> None:
        """Say goodbye at the time limit; prompt, then let go, a caller who has gone quiet."""
        now, limits = self.now(), self._limits
        if now >= limits.max_duration_s + 15:  # the goodbye could not be played: end anyway
            self._finish("max_duration")
        if now >= limits.max_duration_s and not self._time_up:
            self._time_up = True
            self._barge_in()
            waiting = [self._pending.get_nowait() for _ in range(self._pending.qsize())]
            for item in [self._responder.on_time_limit(), *waiting]:  # the goodbye before anything else
                self._pending.put_nowait(item)
        if not self.idle:
            self._last_activity = now
            return
        # Quiet since the caller last spoke or, after a prompt, since the prompt ended.
        wait = (
            limits.silence_prompt_s if not self._silence_prompts else limits.silence_hangup_s - limits.silence_prompt_s
        )
        if self._silence_prompts < 2 and now - self._last_activity >= wait:
            self._silence_prompts += 1
            self._pending.put_nowait(self._responder.on_silence(self._silence_prompts))

    def _press(self, digit: str) -> None:
        """A key interrupts what the appliance is saying and goes to the dialogue in turn."""
        self._turn_count += 1
        turn = TurnRecord(self._turn_count, speech_start_s=self.now(), caller_text=digit, eot_reason="dtmf")
        turn.speech_end_s = turn.eot_s = turn.stt_done_s = turn.speech_start_s
        self._barge_in()
        self._pending.put_nowait(turn)

    def _on_transfer_done(self, ok: bool) -> None:
        if ok:  # the call now rests with a person: this session's part is over
            self._finish("transferred")
            return
        self._transferring = False  # nobody took it: the responder offers another way
        self._pending.put_nowait(self._responder.on_transfer_failed())

    async def _on_frame(self, frame: CallerAudio) -> None:
        samples = np.frombuffer(frame.pcm, dtype=np.int16)
        probability = await self._blocking(self._engines.vad_pool, self._hear, samples)
        now = frame.time - self._t0
        self._detector.agent_speaking = self._replying is not None or bool(len(self.playout))
        if self._detector.in_utterance:
            self._utterance.append(samples)
        else:
            self._preroll.append(samples)
        for event in self._detector.push(now, probability):
            self._on_event(event, now)

    async def _settle_ears(self) -> None:
        """Once the greeting has been heard, and unless the caller is already speaking, the voice
        detector starts again from a settled state (on its own thread, between two frames)."""
        await self.playout.drain()
        if not self._detector.in_utterance:
            await self._blocking(self._engines.vad_pool, self._vad.reset)

    def _hear(self, samples: np.ndarray) -> float:
        """The speech probability of a frame from the caller's side, 0 where it is the appliance's own
        voice echoed back by the line (VAD thread)."""
        probability = self._vad.push(samples)
        return 0.0 if self._echo_guard.is_echo(samples) else probability

    def _on_event(self, event: TurnEvent, now: float) -> None:
        if event is TurnEvent.SPEECH_START:
            self._silence_prompts = 0
            self._utterance = list(self._preroll)
            self._preroll.clear()
            self._turn_count += 1
            self._turn = TurnRecord(
                self._turn_count, speech_start_s=max(0.0, now - len(self._utterance) * FRAME_MS / 1000)
            )
            self._onset = now - self._engines.listen.min_speech_ms / 1000  # the first voiced frame
        elif event is TurnEvent.PAUSE:
            self._speculate()
        elif event is TurnEvent.RESUME:
            self._drop_speculation()
        elif event is TurnEvent.BARGE_IN:
            self._hold()
        elif event is TurnEvent.END_OF_TURN:
            self._end_turn(now)

    def _transcribe(self, audio: np.ndarray) -> _Speculation:
        cancelled = threading.Event()
        future = asyncio.get_running_loop().run_in_executor(
            self._engines.stt_pool,
            self._engines.transcriber.transcribe,
            audio,
            cancelled,
            self.language,
            self._last_said,
        )
        return _Speculation(future, cancelled)

    def _speculate(self) -> None:
        """Transcribe what was said so far while the end-of-turn silence is still running."""
        self._drop_speculation()
        speculation = self._speculation = self._transcribe(np.concatenate(self._utterance))

        def give_hint(done: asyncio.Future[Transcript]) -> None:
            if self._speculation is speculation and not done.cancelled() and done.exception() is None:
                if self._turn is not None:
                    self._turn.stt_done_s = self.now()
                self._detector.set_hint(done.result().text)

        speculation.future.add_done_callback(give_hint)
        if self._engines.smart_turn is not None:  # and how finished it sounds, at the same pause
            heard = asyncio.get_running_loop().run_in_executor(
                self._engines.turn_pool, self._engines.smart_turn.probability, np.concatenate(self._utterance)
            )

            def give_probability(done: asyncio.Future[float]) -> None:
                if done.cancelled() or self._speculation is not speculation:
                    return
                if done.exception() is not None:  # judged by the silence rule this time; the call goes on
                    _LOGGER.warning("call %s: Smart Turn failed: %s", self.call_id[:8], done.exception())
                    return
                self._detector.set_turn_probability(done.result())

            heard.add_done_callback(give_probability)

    def _drop_speculation(self) -> None:
        """The caller went on: what was transcribed so far is stale, and must not hold the STT thread."""
        if self._speculation is not None:
            self._speculation.cancel()
            self._speculation = None

    def _end_turn(self, now: float) -> None:
        turn, speculation = self._turn, self._speculation
        self._turn, self._speculation = None, None
        if turn is None:
            return
        turn.speech_end_s = self._detector.last_voiced
        turn.eot_s, turn.eot_reason = now, self._detector.last_reason
        if speculation is None:  # the turn ended without a pause (too long): transcribe now
            speculation = self._transcribe(np.concatenate(self._utterance))
        self._utterance = []
        if self.playout.held:  # said over the reply: what it was decides whether the reply goes on
            assert self._group is not None
            spoken_s = self._detector.last_voiced - self._onset
            self._group.create_task(self._after_hold(turn, speculation.future, spoken_s))
        else:
            self._pending.put_nowait((turn, speculation.future))

    async def _after_hold(self, turn: TurnRecord, transcript: asyncio.Future[Transcript], spoken_s: float) -> None:
        """The caller spoke over the reply (for ``spoken_s``), now held: go on with it after a backchannel
        or an echo of it, otherwise cut it and answer what they said."""
        try:
            result = await transcript
        except Exception:  # noqa: BLE001 - not heard: cut, and let the turn take its usual way
            self._barge_in()
            self._pending.put_nowait((turn, transcript))
            return
        if self.playout.held and (
            backchannel(result.text, result.language or self.language or "en", spoken_s) or self._echo(result.text)
        ):
            self._note_transcript(turn, result)
            turn.eot_reason = "backchannel"
            self.playout.resume()
            await self._record(turn)  # heard, kept, not answered
            return
        self._barge_in()
        self._pending.put_nowait((turn, transcript))

    def _echo(self, heard: str) -> bool:
        """Whether ``heard`` is the reply being said, come back through the line (no echo canceller on it)."""
        said = set(re.findall(r"[\w']+", self._speaking.lower()))
        words = re.findall(r"[\w']+", heard.lower())
        return len(words) >= 2 and sum(w in said for w in words) >= ECHO_SHARE * len(words)

    async def _respond_loop(self) -> None:
        """Answer ended turns one after the other, so replies never overlap."""
        while True:
            item = await self._pending.get()
            self._busy = True
            try:
                if isinstance(item, Reply):
                    await self._play(None, item)
                    if self._fresh_ears and self._group is not None:
                        self._fresh_ears = False  # the greeting only
                        self._group.create_task(self._settle_ears())
                elif isinstance(item, TurnRecord):
                    await self._answer_key(item)
                else:
                    await self._answer(*item)
            finally:
                self._busy = False

    async def _answer(self, turn: TurnRecord, transcript: asyncio.Future[Transcript]) -> None:
        result = await transcript
        self._note_transcript(turn, result)
        if not result.text.strip():
            _LOGGER.debug("turn %d: empty transcript, no reply", turn.idx)
            return
        reply = await self._blocking(self._engines.misc_pool, self._responder.respond, result.text, result.language)
        turn.reply_ready_s = self.now()
        if self._time_up:  # the goodbye comes first now; this reply is never heard
            await self._record(turn)
            return
        await self._play(turn, reply)

    def _note_transcript(self, turn: TurnRecord, result: Transcript) -> None:
        if not turn.stt_done_s:
            turn.stt_done_s = self.now()
        turn.stt_s, turn.caller_text, turn.language = result.seconds, result.text, result.language
        if result.text.strip():  # the call's language is what the caller last spoke (with hysteresis)
            self.language = self._detector.language = result.language

    async def _answer_key(self, turn: TurnRecord) -> None:
        reply = self._responder.on_dtmf(turn.caller_text)
        turn.reply_ready_s = self.now()
        if reply is not None:
            await self._play(turn, reply)
        else:
            await self._record(turn)

    async def _play(self, turn: TurnRecord | None, reply: Reply) -> None:
        """Speak ``reply`` in a child task that barge-in may cancel without stopping this loop."""
        assert self._group is not None
        self._replying = self._group.create_task(self._speak(turn, reply))
        if turn is not None:
            turn.reply_text = reply.text
            self._unrecorded = turn  # recorded by the wind-up if the call ends while the reply plays
        await asyncio.wait({self._replying})
        self._replying = None
        if turn is not None:
            await self.playout.started(turn)  # its first frame time belongs in the record
            self._unrecorded = None
            await self._record(turn)

    async def _speak(self, turn: TurnRecord | None, reply: Reply) -> None:
        """Synthesize clause by clause into the playout; end or hand over the call once it is heard."""
        self._last_said = reply.text if reply.language in (None, self.language) else ""
        self._speaking, self.playout.clause = reply.text, ""
        voice = self._engines.voice(reply.language)
        for text in clauses(reply.text):
            audio = await self._blocking(self._engines.tts_pool, voice.clause, text)
            if turn is not None and turn.first_audio_s is None:
                turn.first_audio_s = self.now()
            begins: str | None = text  # the clause a resume goes back to
            for pcm in split_frames(audio):
                await self.playout.push(pcm, turn, begins)
                begins = None
        if reply.end_call or reply.transfer:
            await self.playout.drain()
        if reply.end_call:
            self._finish("appliance_hangup")
        elif reply.transfer:
            if self.on_transfer is None:
                self._on_transfer_done(False)
            else:
                self._transferring = True
                self.on_transfer()

    def _hold(self) -> None:
        """The caller talks over the reply: it stops within a frame, held until their words are known. Over
        a question ("... is that right?") what they say is an answer: the reply is cut at once."""
        if self.playout.clause.rstrip().endswith("?"):
            self._barge_in()
        else:
            self.playout.hold()

    def _barge_in(self) -> None:
        """The caller talks over the reply (or presses a key): stop it within a frame."""
        cut = self.playout.clear()
        if cut is not None:
            cut.barged_in = True
        if self._replying is not None:
            self._replying.cancel()

    async def _record(self, turn: TurnRecord) -> None:
        self.turns.append(turn)
        latency = (turn.first_frame_s - turn.speech_end_s) if turn.first_frame_s is not None else float("nan")
        _LOGGER.info(
            "call %s turn %d: eot=%s stt=%.0f ms, end of speech -> first frame %.0f ms%s",
            self.call_id[:8],
            turn.idx,
            turn.eot_reason,
            turn.stt_s * 1000,
            latency * 1000,
            " (barged in)" if turn.barged_in else "",
        )
        if self._store is not None:
            await self._blocking(self._engines.misc_pool, self._store.add_turn, self.call_id, turn)

    async def _wind_up(self) -> None:
        """Record what the call left unfinished, then its end."""
        self._drop_speculation()
        if self._unrecorded is not None:  # the caller hung up during the reply: the turn still counts
            await self._record(self._unrecorded)
            self._unrecorded = None
        while not self._pending.empty():
            item = self._pending.get_nowait()
            if isinstance(item, TurnRecord):  # a key already pressed reaches the dialogue
                reply = self._responder.on_dtmf(item.caller_text)
                item.reply_text = reply.text if reply is not None else ""
                await self._record(item)
            elif isinstance(item, tuple):  # an utterance not yet answered: kept, not acted upon
                turn, transcript = item
                with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                    self._note_transcript(turn, await asyncio.wait_for(transcript, WIND_UP_S))
                await self._record(turn)
        await self._blocking(self._engines.misc_pool, self._store_call_end)

    # ---- plumbing ------------------------------------------------------------------------------
    async def _blocking(self, pool: ThreadPoolExecutor, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    def _store_call_start(self) -> None:
        if self._store is not None:
            self._store.start_call(self.call_id, self._source)

    def _store_call_end(self) -> None:
        if self._store is not None:
            self._store.end_call(self.call_id, self.end_reason or "cancelled")
