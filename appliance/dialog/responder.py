"""The reply step of a call: the interface between the voice pipeline and the dialogue engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Reply:
    """What the appliance says next, and whether it then hangs up or hands the call to a person."""

    text: str
    end_call: bool = False
    transfer: bool = False
    language: str | None = None  # the language it is in (None: the call's default); its voice follows


class Responder(Protocol):
    """Decides each reply of one call. One instance per call; it may keep dialogue state."""

    def greeting(self) -> Reply:
        """What the caller hears when the call is answered."""
        ...

    def respond(self, transcript: str, language: str | None = None) -> Reply:
        """The reply to what the caller just said, in ``language`` when speech recognition heard one.
        Blocking work is allowed: it runs in an executor."""
        ...

    def on_dtmf(self, digit: str) -> Reply | None:
        """A key the caller pressed (RFC 4733); None to say nothing (e.g. while collecting digits)."""
        ...

    def on_silence(self, times: int) -> Reply:
        """The caller has said nothing for a while (``times`` = 1, then 2): prompt, then end the call."""
        ...

    def on_time_limit(self) -> Reply:
        """The call reached its maximum duration: a goodbye that ends it."""
        ...

    def on_transfer_failed(self) -> Reply:
        """Nobody took the transferred call (or none is configured): offer another way."""
        ...
