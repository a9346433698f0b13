"""One owner per call: a :class:`CallSession` with one inbox and one playout, on any line."""

from .engines import Engines
from .events import CallerAudio, Event, HungUp, Key, TransferDone
from .lines import CallResult, Line, RecordingLine, SoundCardLine, run_call
from .playout import Playout
from .session import CallSession

__all__ = [
    "CallResult",
    "CallSession",
    "CallerAudio",
    "Engines",
    "Event",
    "HungUp",
    "Key",
    "Line",
    "Playout",
    "RecordingLine",
    "SoundCardLine",
    "TransferDone",
    "run_call",
]
