"""The one outbound audio buffer of a call: the session queues reply frames, the line's clock takes them.

The clock may be pjsua2's media thread (a SIP call) or a task on the loop (a recording, the sound card);
either way it takes a frame every 20 ms with :meth:`Playout.pull` and plays silence when there is none.
Barge-in holds the buffer, so the caller stops hearing the reply within one frame; what the caller
said then decides: a backchannel ("uh-huh", "d'accord", "vale") resumes the reply from the start of the
clause it stopped in, anything else clears it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import Callable

from ..store import TurnRecord

CAPACITY = 25  # 500 ms of reply queued ahead of the clock: enough to ride out scheduling jitter


class Playout:
    """Reply frames waiting for the line's clock; :meth:`pull` is safe from any thread."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        clock: Callable[[], float],
        capacity: int = CAPACITY,
        on_sent: Callable[[bytes | None], None] | None = None,
    ) -> None:
        """``on_sent``: told each frame the line plays (None: silence), from the line's clock."""
        self._loop = loop
        self._on_sent = on_sent
        self._clock = clock  # the call's time, stamped on a turn when its first frame is played
        self._capacity = capacity
        self._frames: deque[tuple[bytes, TurnRecord | None, str | None]] = deque()
        self._played: list[tuple[bytes, TurnRecord | None, str | None]] = []  # of the clause now playing
        self._lock = threading.Lock()  # pull() runs on the line's clock thread
        self._changed = asyncio.Event()
        self.held = False
        self.clause = ""  # the text of the clause now playing (or held)

    def __len__(self) -> int:
        return len(self._frames)

    def pull(self) -> bytes | None:
        """The next frame to play, or None for silence (the line's clock, any thread)."""
        frame = None
        with self._lock:
            if not self.held and self._frames:
                frame = self._frames.popleft()
                if frame[2] is not None:  # a clause begins: what is kept for a resume starts again
                    self._played, self.clause = [], frame[2]
                self._played.append(frame)
        if self._on_sent is not None:
            self._on_sent(frame[0] if frame else None)
        if frame is None:
            return None
        pcm, turn, _ = frame
        if turn is not None and turn.first_frame_s is None:
            turn.first_frame_s = self._clock()
        with contextlib.suppress(RuntimeError):  # the loop is gone: the call is over
            self._loop.call_soon_threadsafe(self._changed.set)
        return pcm

    async def push(self, pcm: bytes, turn: TurnRecord | None, clause: str | None = None) -> None:
        """Queue one frame of ``turn``'s reply, waiting while the buffer is full; ``clause`` is the text
        of the clause this frame begins, if it begins one."""
        while len(self._frames) >= self._capacity:
            await self._wait()
        with self._lock:
            self._frames.append((pcm, turn, clause))

    async def drain(self) -> None:
        """Wait until every queued frame has been played."""
        while self._frames:
            await self._wait()

    async def started(self, turn: TurnRecord) -> None:
        """Wait until ``turn``'s first frame has been played, or none of it is left to play."""
        while turn.first_frame_s is None and any(owner is turn for _, owner, _ in list(self._frames)):
            await self._wait()

    def hold(self) -> None:
        """Stop playing now (the caller talks over the reply), ready to go on from the start of the clause
        that was playing (:meth:`resume`) or to be cleared."""
        with self._lock:
            if not self.held:
                self.held = True
                self._frames.extendleft(reversed(self._played))
                self._played = []

    def resume(self) -> None:
        """Go on with the held reply."""
        with self._lock:
            self.held = False
        self._changed.set()

    def clear(self) -> TurnRecord | None:
        """Drop everything queued (barge-in); returns the turn whose reply was cut, if any."""
        with self._lock:
            cut = next((turn for _, turn, _ in self._frames if turn is not None), None)
            self._frames.clear()
            self._played, self.held, self.clause = [], False, ""
        self._changed.set()
        return cut

    async def _wait(self) -> None:
        self._changed.clear()
        await self._changed.wait()
