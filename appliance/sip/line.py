"""The audio line of one SIP call, between pjsua2's media clock thread and the call's owner on the loop.

The media clock hands the caller's frames to the owner's inbox (dropped beyond 10 s waiting, with a warning:
a loop held up for a second or two, a model loading on a 2-core box, must cost the caller's words nothing;
one that far behind has lost the call anyway) and takes the reply's frames straight from the owner's playout, so barge-in, which
clears the playout, is heard within a frame. Keys and the hang-up come from the SIP thread. Events that
arrive before an owner is attached (a key, the hang-up) wait for it; caller audio before then is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Protocol

from ..call.events import CallerAudio, Event, HungUp, Key
from ..call.playout import Playout

_LOGGER = logging.getLogger(__name__)
INBOUND_FRAMES = 500  # 10 s of caller audio waiting for the loop before frames are dropped


class LineOwner(Protocol):
    """What a SIP line feeds and drains: a :class:`~appliance.call.CallSession`, or a test caller."""

    inbox: asyncio.Queue[Event]
    playout: Playout

    def post(self, event: Event) -> None:
        """Take an event (on the loop)."""
        ...


class SipLine:
    """Caller frames in from the media thread, reply frames out to it; paced by the media clock."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._owner: LineOwner | None = None
        self._early: list[Event] = []
        self.started = False  # set by the SIP thread once the call's media is up
        self.dropped = 0

    def attach(self, owner: LineOwner) -> None:
        """Give the line its owner (on the loop); what came before it is handed over."""
        self._owner = owner
        for event in self._early:
            owner.post(event)
        self._early.clear()

    # ---- media clock / SIP thread side ----------------------------------------------------------
    def frame_received(self, pcm: bytes) -> None:
        """A 20 ms frame from the caller (media thread)."""
        owner = self._owner
        if owner is None:
            return
        if owner.inbox.qsize() >= INBOUND_FRAMES:
            if not self.dropped:
                _LOGGER.warning(
                    "the caller's audio waits over %d s to be heard: dropping it (the box is overloaded)",
                    INBOUND_FRAMES * 20 // 1000,
                )
            self.dropped += 1
            return
        self._post(CallerAudio(pcm, time.monotonic()))

    def frame_requested(self) -> bytes | None:
        """The next 20 ms to send (media thread): reply audio, or None for silence."""
        owner = self._owner
        return owner.playout.pull() if owner is not None else None

    def dtmf(self, digit: str) -> None:
        """A DTMF digit from the caller (SIP thread)."""
        self._post(Key(digit))

    def hangup(self) -> None:
        """The call ended (SIP thread)."""
        self._post(HungUp())

    def _post(self, event: Event) -> None:
        with contextlib.suppress(RuntimeError):  # the loop has closed: the daemon is stopping
            self._loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: Event) -> None:
        if self._owner is not None:
            self._owner.post(event)
        elif not isinstance(event, CallerAudio):
            self._early.append(event)
