"""The voice pipeline of one call: 20 ms frames in, 20 ms frames out.

A line (a SIP call, a WAV file, a sound card) puts caller frames into :attr:`CallPipeline.inbound`
and takes the appliance's frames from :meth:`CallPipeline.next_frame` at its own 20 ms pace.
Inside: VAD and end-of-turn detection per frame; transcription starts speculatively at the first
pause, while the end-of-turn silence is still running; the reply is synthesized sentence by
sentence and queued a little ahead of the line; caller speech over the reply cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np

from .audio.frames import FRAME_MS, PIPELINE_RATE, AudioFrame, split_frames
from .audio.turn import TurnDetector, TurnEvent
from .audio.vad import SileroVad
from .config import ApplianceConfig, CallConfig, ListenConfig
from .dialog.responder import Reply, Responder
from .models.registry import ModelRegistry
from .models.stt import Transcriber, Transcript
from .models.tts import Synthesizer
from .store import Store, TurnRecord

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")

PREROLL_FRAMES = 15  # 300 ms kept before the detected speech start: VAD onset lags the first phoneme
OUTBOUND_FRAMES = 25  # 500 ms of reply queued ahead of the line: enough to ride out scheduling jitter


@dataclass
class Engines:
    """The models and their executors, loaded once per daemon and shared by every call.

    Each stage has its own small executor: that is the thread budget of the two-core box.
    """

    transcriber: Transcriber
    synthesizer: Synthesizer
    vad: SileroVad
    listen: ListenConfig
    language: str
    stt_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "stt"))
    tts_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "tts"))
    vad_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "vad"))
    misc_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2, "misc"))

    @classmethod
    def load(cls, config: ApplianceConfig) -> Engines:
        """Resolve and load every model the pipeline needs. Blocking; raises ModelError."""
        registry = ModelRegistry(config.model_cache)
        m = config.models
        language = config.business.language
        return cls(
            transcriber=Transcriber(
                registry.resolve("stt", m.stt), m.stt_threads, language, m.stt_beam_size, m.stt_prompt, m.stt_fit_window
            ),
            synthesizer=Synthesizer(registry.resolve("tts", m.tts), m.tts_threads, PIPELINE_RATE),
            vad=SileroVad(registry.resolve("vad", m.vad).path),
            listen=config.listen,
            language=language,
        )

    def close(self) -> None:
        """Stop the executors."""
        for pool in (self.stt_pool, self.tts_pool, self.vad_pool, self.misc_pool):
            pool.shutdown(wait=False, cancel_futures=True)


class CallPipeline:
    """Listens, transcribes, replies and speaks for one call."""

    def __init__(
        self,
        engines: Engines,
        responder: Responder,
        store: Store | None = None,
        source: str = "test",
        greet: bool = True,
        limits: CallConfig | None = None,
        call_id: str | None = None,
    ) -> None:
        self.call_id = call_id or str(uuid.uuid4())
        self.inbound: asyncio.Queue[AudioFrame | None] = asyncio.Queue(maxsize=50)
        self.turns: list[TurnRecord] = []
        self.end_reason = ""
        self._engines = engines
        self._responder = responder
        self._store = store
        self._source = source
        self._greet = greet
        self._limits = limits or CallConfig()
        self._last_activity = 0.0  # when the caller last spoke or the appliance last made a sound
        self._silence_prompts = 0
        self._time_up = False
        self._t0 = time.monotonic()
        self._detector = TurnDetector(engines.listen, engines.language)
        self._vad = engines.vad.stream()
        self._preroll: deque[np.ndarray] = deque(maxlen=PREROLL_FRAMES)
        self._utterance: list[np.ndarray] = []
        self._turn: TurnRecord | None = None
        self._turn_count = 0
        self._speculation: asyncio.Future[Transcript] | None = None
        # Work for the reply loop: a spoken turn and its transcript, a key press, or a line to say.
        self._pending: asyncio.Queue[tuple[TurnRecord, asyncio.Future[Transcript]] | TurnRecord | Reply] = (
            asyncio.Queue()
        )
        self._busy = False
        self._replying: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._out: deque[tuple[bytes, TurnRecord | None]] = deque()
        self._space = asyncio.Event()
        self._hangup_after_output = False
        self._transfer_after_output = False
        self._transferring = False  # a REFER is out: a hang-up now means the caller went to the person
        self._unrecorded: TurnRecord | None = None
        # Set by the line when it can hand the call to a person (SIP REFER); it reports back with
        # transfer_failed() or ends the call. Without it, a transfer request fails at once.
        self.on_transfer: Callable[[], None] | None = None
        self.finished = asyncio.Event()

    # ---- the line's side -------------------------------------------------------------------
    def now(self) -> float:
        """Seconds since the call started."""
        return time.monotonic() - self._t0

    def next_frame(self) -> AudioFrame | None:
        """The next 20 ms of reply audio, or None when the appliance is silent. Call on the loop."""
        if not self._out:
            if self._replying is None and self._hangup_after_output:
                self._finish("appliance_hangup")
            elif self._replying is None and self._transfer_after_output:
                self._transfer_after_output = False
                if self.on_transfer is None:
                    self.transfer_failed()
                else:
                    self._transferring = True
                    self.on_transfer()
            return None
        pcm, turn = self._out.popleft()
        self._space.set()
        if turn is not None and turn.first_frame_s is None:
            turn.first_frame_s = self.now()
        return AudioFrame(pcm, PIPELINE_RATE, time.monotonic())

    def transfer_failed(self) -> None:
        """The person could not be reached: the responder offers another way. Call on the loop."""
        self._transferring = False
        self._pending.put_nowait(self._responder.on_transfer_failed())

    def transferred(self) -> None:
        """The call now rests with a person: this pipeline's part is over. Call on the loop."""
        self._finish("transferred")

    def press(self, digit: str) -> None:
        """The caller pressed a key (DTMF): it interrupts what the appliance is saying. Call on the loop."""
        self._turn_count += 1
        turn = TurnRecord(self._turn_count, speech_start_s=self.now(), caller_text=digit, eot_reason="dtmf")
        turn.speech_end_s = turn.eot_s = turn.stt_done_s = turn.speech_start_s
        self._barge_in()
        self._pending.put_nowait(turn)

    @property
    def idle(self) -> bool:
        """No caller speech in progress, no reply being prepared or played."""
        return not (self._detector.in_utterance or self._busy or self._pending.qsize() or self._out)

    # ---- the call ----------------------------------------------------------------------------
    async def run(self) -> str:
        """Run until the caller hangs up, the appliance ends the call, or the call runs too long."""
        await self._blocking(self._engines.misc_pool, self._store_call_start)
        self._own(asyncio.create_task(self._respond_loop()))
        if self._greet:
            self._pending.put_nowait(self._responder.greeting())
        try:
            while not self.finished.is_set():
                frame = await self.inbound.get()
                if self.finished.is_set():
                    break
                if frame is None:
                    self._finish("transferred" if self._transferring else "caller_hangup")
                else:
                    await self._on_frame(frame)
                    self._check_limits()
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            if self._unrecorded is not None:  # the caller hung up during the reply: the turn still counts
                await self._record(self._unrecorded)
            await self._blocking(self._engines.misc_pool, self._store_call_end)
        return self.end_reason

    def _check_limits(self) -> None:
        """Say goodbye at the time limit; prompt, then let go, a caller who has gone quiet."""
        now, limits = self.now(), self._limits
        if now >= limits.max_duration_s + 15:  # the goodbye could not be played: end anyway
            self._finish("max_duration")
        if now >= limits.max_duration_s and not self._time_up:
            self._time_up = True
            self._barge_in()
            self._pending.put_nowait(self._responder.on_time_limit())
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

    def _finish(self, reason: str) -> None:
        if not self.finished.is_set():
            self.end_reason = reason
            self.finished.set()
            with contextlib.suppress(asyncio.QueueFull):  # wake the listen loop; a full queue wakes it anyway
                self.inbound.put_nowait(None)

    async def _on_frame(self, frame: AudioFrame) -> None:
        samples = frame.samples()
        probability = await self._blocking(self._engines.vad_pool, self._vad.push, samples)
        now = frame.time - self._t0
        self._detector.agent_speaking = self._replying is not None or bool(self._out)
        if self._detector.in_utterance:
            self._utterance.append(samples)
        else:
            self._preroll.append(samples)
        for event in self._detector.push(now, probability):
            self._on_event(event, now)

    def _on_event(self, event: TurnEvent, now: float) -> None:
        if event is TurnEvent.SPEECH_START:
            self._silence_prompts = 0
            self._utterance = list(self._preroll)
            self._preroll.clear()
            self._turn_count += 1
            self._turn = TurnRecord(
                self._turn_count, speech_start_s=max(0.0, now - len(self._utterance) * FRAME_MS / 1000)
            )
        elif event is TurnEvent.PAUSE:
            self._speculate()
        elif event is TurnEvent.RESUME:
            self._speculation = None
        elif event is TurnEvent.BARGE_IN:
            self._barge_in()
        elif event is TurnEvent.END_OF_TURN:
            self._end_turn(now)

    def _speculate(self) -> None:
        """Transcribe what was said so far while the end-of-turn silence is still running."""
        if self._speculation is not None and not self._speculation.done():
            self._speculation.cancel()  # only cancels a job not yet started: a started one runs to its end
        audio = np.concatenate(self._utterance)
        future = asyncio.get_running_loop().run_in_executor(
            self._engines.stt_pool, self._engines.transcriber.transcribe, audio
        )
        self._speculation = future

        def give_hint(done: asyncio.Future[Transcript]) -> None:
            if self._speculation is done and not done.cancelled() and done.exception() is None:
                if self._turn is not None:
                    self._turn.stt_done_s = self.now()
                self._detector.set_hint(done.result().text)

        future.add_done_callback(give_hint)

    def _end_turn(self, now: float) -> None:
        turn, speculation = self._turn, self._speculation
        self._turn, self._speculation = None, None
        if turn is None:
            return
        turn.speech_end_s = self._detector.last_voiced
        turn.eot_s, turn.eot_reason = now, self._detector.last_reason
        if speculation is None:  # the turn ended without a pause (too long): transcribe now
            speculation = asyncio.get_running_loop().run_in_executor(
                self._engines.stt_pool, self._engines.transcriber.transcribe, np.concatenate(self._utterance)
            )
        self._utterance = []
        self._pending.put_nowait((turn, speculation))

    async def _respond_loop(self) -> None:
        """Answer ended turns one after the other, so replies never overlap."""
        while True:
            item = await self._pending.get()
            self._busy = True
            try:
                if isinstance(item, Reply):
                    await self._play(None, item)
                elif isinstance(item, TurnRecord):
                    await self._answer_key(item)
                else:
                    await self._answer(*item)
            finally:
                self._busy = False

    async def _answer(self, turn: TurnRecord, transcript: asyncio.Future[Transcript]) -> None:
        result = await transcript
        if not turn.stt_done_s:
            turn.stt_done_s = self.now()
        turn.stt_s, turn.caller_text = result.seconds, result.text
        if not result.text.strip():
            _LOGGER.debug("turn %d: empty transcript, no reply", turn.idx)
            return
        reply = await self._blocking(self._engines.misc_pool, self._responder.respond, result.text)
        turn.reply_ready_s = self.now()
        await self._play(turn, reply)

    async def _answer_key(self, turn: TurnRecord) -> None:
        reply = self._responder.on_dtmf(turn.caller_text)
        turn.reply_ready_s = self.now()
        if reply is not None:
            await self._play(turn, reply)
        else:
            await self._record(turn)

    async def _play(self, turn: TurnRecord | None, reply: Reply) -> None:
        """Speak ``reply`` in a child task that barge-in may cancel without stopping this loop."""
        self._replying = asyncio.create_task(self._speak(turn, reply))
        self._own(self._replying)
        if turn is not None:
            turn.reply_text = reply.text
            self._unrecorded = turn  # recorded by run() if the call ends while the reply plays
        await asyncio.wait({self._replying})
        self._replying = None
        if turn is not None:
            self._unrecorded = None
            await self._record(turn)

    async def _speak(self, turn: TurnRecord | None, reply: Reply) -> None:
        """Synthesize sentence by sentence, queueing frames a little ahead of the line."""
        sentences = iter(self._engines.synthesizer.sentences(reply.text))
        while True:
            audio = await self._blocking(self._engines.tts_pool, next, sentences, None)
            if audio is None:
                break
            if turn is not None and turn.first_audio_s is None:
                turn.first_audio_s = self.now()
            for pcm in split_frames(audio):
                while len(self._out) >= OUTBOUND_FRAMES:
                    self._space.clear()
                    await self._space.wait()
                self._out.append((pcm, turn))
        if reply.end_call:
            self._hangup_after_output = True
        elif reply.transfer:
            self._transfer_after_output = True

    def _barge_in(self) -> None:
        """The caller talks over the reply: stop it within a frame."""
        owner = next((t for _, t in self._out if t is not None), None)
        self._out.clear()
        self._space.set()
        if owner is not None:
            owner.barged_in = True
        if self._replying is not None:
            self._replying.cancel()
        self._hangup_after_output = self._transfer_after_output = False

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

    # ---- plumbing ------------------------------------------------------------------------------
    def _own(self, task: asyncio.Task[Any]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)

    async def _blocking(self, pool: ThreadPoolExecutor, fn: Callable[..., _T], *args: Any) -> _T:
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)

    def _store_call_start(self) -> None:
        if self._store is not None:
            self._store.start_call(self.call_id, self._source)

    def _store_call_end(self) -> None:
        if self._store is not None:
            self._store.end_call(self.call_id, self.end_reason or "cancelled")


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _LOGGER.error("call task failed", exc_info=task.exception())
