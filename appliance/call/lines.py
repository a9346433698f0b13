"""Lines with a clock of their own: a recording played in real time (``appliance simulate``, the
benchmark) and the local sound card (``appliance talk``).

Each tick, :func:`run_call` reads 20 ms of the caller into the session's inbox and plays 20 ms from its
playout (silence when there is none). A SIP call needs no such loop: pjsua2's media clock does both
(:mod:`appliance.sip.line`).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from ..audio.frames import FRAME_MS, PIPELINE_RATE, frame_samples, silence, split_frames
from ..store import TurnRecord
from .events import CallerAudio, HungUp
from .session import CallSession

TAIL_S = 1.5  # silence after a recording ends before hanging up, once the appliance is idle


class Line(Protocol):
    """Both directions of one call's audio, paced by the line."""

    async def read(self, session: CallSession) -> bytes | None:
        """The next 20 ms of caller audio at 16 kHz, waiting for it; None when the caller hangs up."""
        ...

    async def write(self, pcm: bytes) -> None:
        """Play 20 ms of the appliance's audio."""
        ...


@dataclass(frozen=True)
class CallResult:
    """What came out of a call."""

    call_id: str
    turns: list[TurnRecord]
    end_reason: str


async def run_call(session: CallSession, line: Line) -> CallResult:
    """Run ``session`` on ``line`` until either side hangs up."""
    call = asyncio.create_task(session.run())
    quiet = silence()
    try:
        while not session.finished.is_set():
            pcm = await line.read(session)
            if pcm is None:
                session.post(HungUp())
                break
            session.post(CallerAudio(pcm, time.monotonic()))
            await line.write(session.playout.pull() or quiet)
        reason = await call
    finally:
        if not call.done():
            call.cancel()
    return CallResult(session.call_id, session.turns, reason)


class RecordingLine:
    """A caller recording played in real time; everything the appliance says is kept."""

    def __init__(self, caller: np.ndarray, max_tail_s: float = 30.0) -> None:
        self._frames = split_frames(caller)
        self._max_ticks = len(self._frames) + int(max_tail_s * 1000 / FRAME_MS)
        self._heard: list[bytes] = []
        self._tick = 0
        self._start = 0.0
        self._idle_since: float | None = None

    async def read(self, session: CallSession) -> bytes | None:
        """The next frame of the recording, then silence until the appliance has been idle a while."""
        loop = asyncio.get_running_loop()
        if self._tick == 0:
            self._start = loop.time()
        n, self._tick = self._tick, self._tick + 1
        if n >= self._max_ticks:
            return None
        if n >= len(self._frames):
            self._idle_since = (self._idle_since or loop.time()) if session.idle else None
            if self._idle_since is not None and loop.time() - self._idle_since >= TAIL_S:
                return None
        await asyncio.sleep(max(0.0, self._start + n * FRAME_MS / 1000 - loop.time()))
        return self._frames[n] if n < len(self._frames) else silence()

    async def write(self, pcm: bytes) -> None:
        """Keep what the caller would have heard."""
        self._heard.append(pcm)

    @property
    def heard(self) -> np.ndarray:
        """The appliance's side of the call, as int16 at 16 kHz."""
        return np.frombuffer(b"".join(self._heard), dtype=np.int16)


class SoundCardLine:
    """The local microphone and speaker through PyAudio (the ``talk`` extra)."""

    def __init__(self, pyaudio_module: Any) -> None:
        self._audio = pyaudio_module.PyAudio()
        self._stream = self._audio.open(
            format=pyaudio_module.paInt16,
            channels=1,
            rate=PIPELINE_RATE,
            input=True,
            output=True,
            frames_per_buffer=frame_samples(),
        )

    async def read(self, session: CallSession) -> bytes | None:
        """One frame from the microphone; the sound card's clock paces the call."""
        data: bytes = await asyncio.to_thread(self._stream.read, frame_samples(), exception_on_overflow=False)
        return data

    async def write(self, pcm: bytes) -> None:
        """One frame to the speaker."""
        await asyncio.to_thread(self._stream.write, pcm)

    def close(self) -> None:
        """Release the sound card."""
        self._stream.stop_stream()
        self._stream.close()
        self._audio.terminate()
