"""``appliance call``: a real SIP call for IT to test the appliance (or any SIP destination).

It speaks a sentence (synthesized by the appliance's own voice) or plays a recording, records what
the other side answers, and transcribes it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace

import numpy as np

from ..audio.frames import FRAME_MS, PIPELINE_RATE, split_frames
from ..call.events import CallerAudio, Event
from ..call.playout import Playout
from ..config import SipConfig
from ..errors import ApplianceError
from .endpoint import IncomingCall, SipEndpoint

_LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallRecording:
    """What the other side said during the call, at 16 kHz, and whether it hung up first."""

    heard: np.ndarray
    remote_hung_up: bool


async def place_call(
    settings: SipConfig, uri: str, caller: np.ndarray, listen_s: float, connect_timeout_s: float = 15.0
) -> CallRecording:
    """Call ``uri``, play 16 kHz ``caller`` audio, keep listening ``listen_s`` after it, then hang up."""
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[IncomingCall] = loop.create_future()
    # An ephemeral port: the client must not collide with a daemon on the same box.
    endpoint = SipEndpoint(replace(settings, port=0, transports="udp", max_calls=1), loop, answered.set_result)
    await asyncio.to_thread(endpoint.start)
    try:
        endpoint.dial(uri)
        try:
            call = await asyncio.wait_for(answered, connect_timeout_s)
        except TimeoutError:
            raise ApplianceError(f"{uri} did not answer within {connect_timeout_s:.0f} s") from None
        caller_side = _Caller(loop)
        call.line.attach(caller_side)
        frames = split_frames(caller)
        for pcm in frames:
            await caller_side.playout.push(pcm, None)
        heard: list[bytes] = []
        total = len(frames) + int(listen_s * 1000 / FRAME_MS)
        while len(heard) < total:
            event = await caller_side.inbox.get()
            if not isinstance(event, CallerAudio):
                return CallRecording(_join(heard), remote_hung_up=True)
            heard.append(event.pcm)
        endpoint.hangup(call.call_id)
        return CallRecording(_join(heard), remote_hung_up=False)
    finally:
        await asyncio.to_thread(endpoint.stop)


class _Caller:
    """The calling side of the line: what it says is queued for the media clock, what it hears is kept."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.inbox: asyncio.Queue[Event] = asyncio.Queue()
        start = time.monotonic()
        self.playout = Playout(loop, lambda: time.monotonic() - start, capacity=1 << 30)

    def post(self, event: Event) -> None:
        self.inbox.put_nowait(event)


def _join(frames: list[bytes]) -> np.ndarray:
    return np.frombuffer(b"".join(frames), dtype=np.int16)


def utterances(audio: np.ndarray, min_gap_s: float = 0.6) -> list[tuple[float, np.ndarray]]:
    """Split clean appliance speech on silences longer than ``min_gap_s``: (start s, samples) each."""
    size = PIPELINE_RATE * FRAME_MS // 1000
    frames = audio[: len(audio) // size * size].reshape(-1, size).astype(np.float64)
    loud = np.flatnonzero(np.sqrt((frames**2).mean(axis=1)) > 200)
    spans: list[list[int]] = []
    for i in loud:
        if spans and i - spans[-1][1] <= min_gap_s * 1000 / FRAME_MS:
            spans[-1][1] = int(i)
        else:
            spans.append([int(i), int(i)])
    return [(a * FRAME_MS / 1000, audio[a * size : (b + 1) * size]) for a, b in spans]
