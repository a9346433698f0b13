"""The audio line of one SIP call, between pjsua2's media clock thread and the asyncio loop."""

from __future__ import annotations

import asyncio
import collections

from ..audio.frames import silence
from ..pipeline import CallPipeline

INBOUND_FRAMES = 50  # 1 s of caller audio waiting for the loop before frames are dropped
OUTBOUND_FRAMES = 10  # 200 ms of reply audio waiting for the media clock


class SipLine:
    """Caller frames in from the media thread, reply frames out to it; paced by the media clock."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._in: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._out: collections.deque[bytes] = collections.deque(maxlen=OUTBOUND_FRAMES)
        self._silence = silence()
        self.started = False  # set by the SIP thread once the call's media is up
        self.dropped = 0
        self.digits: asyncio.Queue[str] = asyncio.Queue()

    # ---- media clock / SIP thread side ----------------------------------------------------------
    def frame_received(self, pcm: bytes) -> None:
        """A 20 ms frame from the caller (media thread)."""
        self._loop.call_soon_threadsafe(self._put, pcm)

    def frame_requested(self) -> bytes:
        """The next 20 ms frame to send (media thread): reply audio, or silence."""
        try:
            return self._out.popleft()
        except IndexError:
            return self._silence

    def dtmf(self, digit: str) -> None:
        """A DTMF digit from the caller (SIP thread)."""
        self._loop.call_soon_threadsafe(self.digits.put_nowait, digit)

    def hangup(self) -> None:
        """The call ended (SIP thread)."""
        self._loop.call_soon_threadsafe(self._in.put_nowait, None)

    def _put(self, pcm: bytes) -> None:
        if self._in.qsize() >= INBOUND_FRAMES:
            self.dropped += 1
            return
        self._in.put_nowait(pcm)

    # ---- the Line protocol (asyncio side) ---------------------------------------------------------
    async def read(self, pipeline: CallPipeline | None = None) -> bytes | None:
        """The next caller frame; None once the call has ended."""
        return await self._in.get()

    async def write(self, pcm: bytes) -> None:
        """Queue one reply frame for the media clock."""
        self._out.append(pcm)
