"""The reply step of a call: a small interface, and a tiny rule-based receptionist behind it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Reply:
    """What the appliance says next, and whether it then hangs up or hands the call to a person."""

    text: str
    end_call: bool = False
    transfer: bool = False


class Responder(Protocol):
    """Decides each reply of one call. One instance per call; it may keep dialogue state."""

    def greeting(self) -> Reply:
        """What the caller hears when the call is answered."""
        ...

    def respond(self, transcript: str) -> Reply:
        """The reply to what the caller just said. Blocking work is allowed: it runs in an executor."""
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


_TRANSFER = "Let me transfer you to a member of staff. Please hold."


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    reply: str
    end_call: bool = False
    transfer: bool = False


def _rule(words: str, reply: str, end_call: bool = False) -> _Rule:
    return _Rule(re.compile(rf"\b(?:{words})\b", re.IGNORECASE), reply, end_call)


class RuleResponder:
    """A placeholder receptionist that answers from a handful of keyword rules."""

    def __init__(self, business_name: str) -> None:
        self.business_name = business_name
        self._misses = 0
        self._rules = (
            _rule("bye|goodbye|that's all|nothing else", "Thank you for calling. Goodbye!", end_call=True),
            _rule(
                "emergency|chest pain|can't breathe|bleeding",
                "If this is a medical emergency, please hang up and dial your local emergency number now.",
            ),
            _rule("open|hours|close|closing", "We are open Monday to Friday, from eight to six."),
            _rule("where|address|located|directions", f"{business_name} is at 12 Main Street, next to the pharmacy."),
            _rule(
                "appointment|book|booking|schedule|see the doctor|see a doctor",
                "I can help you book an appointment. Which day would suit you?",
            ),
            _rule("cancel", "I can cancel your appointment. May I have your full name, please?"),
            _rule("message|call me back|callback", "Of course. Please tell me your name and your message."),
            _Rule(
                re.compile(r"\b(?:human|person|someone|receptionist|operator)\b", re.IGNORECASE),
                _TRANSFER,
                transfer=True,
            ),
            _rule("thank", "You're welcome. Is there anything else I can do for you?"),
        )

    def greeting(self) -> Reply:
        """The opening line."""
        return Reply(f"Thank you for calling {self.business_name}. How can I help you today?")

    def on_dtmf(self, digit: str) -> Reply | None:
        """0 asks for the front desk; other keys are only acknowledged until the dialogue engine lands."""
        if digit == "0":
            return Reply(_TRANSFER, transfer=True)
        return Reply(f"You pressed {digit}.")

    def on_silence(self, times: int) -> Reply:
        """Ask once, then let the caller go."""
        if times == 1:
            return Reply("Are you still there?")
        return Reply("I can't hear you, so I'll end the call now. Please call back any time. Goodbye.", True)

    def on_transfer_failed(self) -> Reply:
        """Take a message instead."""
        return Reply("I'm sorry, no one is available right now. I can take a message: please tell me your name.")

    def on_time_limit(self) -> Reply:
        """A polite end at the time limit."""
        return Reply("I'm sorry, we have reached the time limit for this call. Please call back. Goodbye.", True)

    def respond(self, transcript: str) -> Reply:
        """The first matching rule's reply, or a request to repeat."""
        for rule in self._rules:
            if rule.pattern.search(transcript):
                self._misses = 0
                return Reply(rule.reply, rule.end_call, rule.transfer)
        self._misses += 1
        if self._misses >= 3:
            return Reply("I'm sorry, I'm having trouble understanding. Please call back later. Goodbye.", True)
        return Reply("Sorry, I didn't catch that. Could you say it again?")
