"""The caller's audio between pjsua2's media thread and a call held up on the loop (appliance.sip.line)."""

from __future__ import annotations

import asyncio
import logging
import threading

import pytest

from appliance.call.events import CallerAudio, Event
from appliance.sip.line import INBOUND_FRAMES, SipLine

FRAME = bytes(640)  # 20 ms at 16 kHz


class _StalledOwner:
    """A call whose listener is busy: it takes events into its inbox and reads none."""

    def __init__(self) -> None:
        self.inbox: asyncio.Queue[Event] = asyncio.Queue()
        self.playout = None

    def post(self, event: Event) -> None:
        self.inbox.put_nowait(event)


async def test_a_listener_held_up_for_seconds_loses_none_of_the_callers_words() -> None:
    line = SipLine(asyncio.get_running_loop())
    owner = _StalledOwner()
    line.attach(owner)  # type: ignore[arg-type]
    seconds = 5  # a model loading, a burst of inference on two cores

    def media_thread() -> None:
        for _ in range(seconds * 50):
            line.frame_received(FRAME)

    sender = threading.Thread(target=media_thread)
    sender.start()
    await asyncio.to_thread(sender.join)
    await asyncio.sleep(0.1)  # the last deliveries
    assert owner.inbox.qsize() == seconds * 50 and line.dropped == 0


async def test_a_listener_that_far_behind_drops_frames_and_says_so_once(caplog: pytest.LogCaptureFixture) -> None:
    line = SipLine(asyncio.get_running_loop())
    owner = _StalledOwner()
    line.attach(owner)  # type: ignore[arg-type]
    with caplog.at_level(logging.WARNING, "appliance.sip.line"):
        for _ in range(INBOUND_FRAMES + 120):
            line.frame_received(FRAME)
            await asyncio.sleep(0)  # delivered before the next frame, as the media clock paces them
    assert owner.inbox.qsize() == INBOUND_FRAMES and line.dropped == 120
    assert all(isinstance(e, CallerAudio) for e in [owner.inbox.get_nowait() for _ in range(3)])
    (warning,) = [r.getMessage() for r in caplog.records]
    assert "overloaded" in warning
