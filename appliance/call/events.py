"""What reaches a call from outside, through its one inbox, in the order it happened."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallerAudio:
    """20 ms of the caller's audio (16 kHz PCM16) and when it arrived (monotonic seconds)."""

    pcm: bytes
    time: float


@dataclass(frozen=True, slots=True)
class Key:
    """A key the caller pressed (RFC 4733 / SIP INFO)."""

    digit: str


@dataclass(frozen=True, slots=True)
class TransferDone:
    """The outcome of handing the call to a person: ``ok`` when the person has it."""

    ok: bool


@dataclass(frozen=True, slots=True)
class HungUp:
    """The caller's side ended the call (BYE, end of a recording, the line dropped)."""


Event = CallerAudio | Key | TransferDone | HungUp
