"""The one outbound audio buffer of a call: the session queues reply frames, the line's clock takes them.

The clock may be pjsua2's media thread (a SIP call) or a task on the loop (a recording, the sound card);
either way it takes a frame every 20 ms with :meth:`Playout.pull` and plays silence when there is none.
Barge-in clears the buffer, so the caller stops hearing the reply within one frame.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable

from ..store import TurnRecord

CAPACITY = 25  # 500 ms of reply queued ahead of the clock: enough to ride out scheduling jitter


class Playout:
    """Reply frames waiting for the line's clock; :meth:`pull` is safe from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop, clock: Callable[[], float], capacity: int = CAPACITY) -> None:
        self._loop = loop
        self._clock = clock  # the call's time, stamped on a turn when its first frame is played
        self._capacity = capacity
        self._frames: deque[tuple[bytes, TurnRecord | None]] = deque()
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._frames)

    def pull(self) -> bytes | None:
        """The next frame to play, or None for silence (the line's clock, any thread)."""
        try:
            pcm, turn = self._frames.popleft()
        except IndexError:
            return None
        if turn is not None and turn.first_frame_s is None:
            turn.first_frame_s = self._clock()
        with contextlib.suppress(RuntimeError):  # the loop is gone: the call is over
            self._loop.call_soon_threadsafe(self._changed.set)
        return pcm

    async def push(self, pcm: bytes, turn: TurnRecord | None) -> None:
        """Queue one frame of ``turn``'s reply, waiting while the buffer is full."""
        while len(self._frames) >= self._capacity:
            await self._wait()
        self._frames.append((pcm, turn))

    async def drain(self) -> None:
        """Wait until every queued frame has been played."""
        while self._frames:
            await self._wait()

    async def started(self, turn: TurnRecord) -> None:
        """Wait until ``turn``'s first frame has been played, or none of it is left to play."""
        while turn.first_frame_s is None and any(owner is turn for _, owner in list(self._frames)):
            await self._wait()

    def clear(self) -> TurnRecord | None:
        """Drop everything queued (barge-in); returns the turn whose reply was cut, if any."""
        cut = next((turn for _, turn in list(self._frames) if turn is not None), None)
        self._frames.clear()
        self._changed.set()
        return cut

    async def _wait(self) -> None:
        self._changed.clear()
        await self._changed.wait()
