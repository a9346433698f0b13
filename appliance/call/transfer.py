"""Transfers to a person, and how each went.

Warm (``[sip] transfer_mode = "warm"``): while the caller holds, the appliance calls the person
(``transfer_target``) on a line of its own. It tells them who is calling and what the caller said, then
joins the two calls. If nobody answers, the line is busy, or the person hangs up during the summary,
the caller is told and the receptionist takes a message. Blind: a REFER, the PBX does the rest.
Every attempt is a row of the ``transfers`` table with its outcome (answered, busy, no_answer,
declined, failed), shown on the status page and in ``/metrics``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from ..outbound.campaign import outcome_of
from ..outbound.screening import Screener
from ..sip.endpoint import Dialed, IncomingCall, SipEndpoint
from ..store import Store
from ..store.db import now_stamp
from .engines import Engines

_LOGGER = logging.getLogger(__name__)

OUTCOMES = ("answered", "busy", "no_answer", "declined", "failed")


def record(
    store: Store, call_id: str, mode: str, target: str, outcome: str, status: int = 0, summary: str = ""
) -> None:
    """One transfer attempt in the store."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO transfers (call_id, mode, target, outcome, status, summary, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (call_id, mode, target, outcome, status, summary, now_stamp()),
        )


T = TypeVar("T")


def _settle(future: asyncio.Future[T]) -> Callable[[T], None]:
    """A callback that gives ``future`` its result, once."""

    def settle(value: T) -> None:
        if not future.done():
            future.set_result(value)

    return settle


class WarmTransfer:
    """Calls the person, gives them the summary, joins the calls (see the module's docstring)."""

    def __init__(
        self, sip: SipEndpoint, engines: Engines, store: Store, target: str, ring_s: float, language: str
    ) -> None:
        self.sip = sip
        self.engines = engines
        self.store = store
        self.target = target
        self.ring_s = ring_s
        self.language = language

    async def run(self, caller: IncomingCall, call_id: str, summary: str, done: Callable[[bool], None]) -> str:
        """Transfer ``caller``; ``done(joined)`` tells the caller's session. Returns the outcome."""
        loop = asyncio.get_running_loop()
        dialed: asyncio.Future[Dialed] = loop.create_future()
        self.sip.call_out(self.target, self.ring_s, _settle(dialed))
        result = await dialed
        outcome, joined = outcome_of(result.status), False
        if result.call is not None:
            person = result.call
            screener = Screener(self.engines, self.language)  # owns the person's line while they hear it
            person.line.attach(screener)
            if await screener.say(summary, self.language):
                bridged: asyncio.Future[bool] = loop.create_future()
                self.sip.bridge(caller.call_id, person.call_id, _settle(bridged))
                joined = await bridged
                outcome = "answered" if joined else "failed"
                if not joined:  # the caller hung up meanwhile: the person is not left on a dead line
                    self.sip.hangup(person.call_id)
            else:
                outcome = "declined"  # the person hung up during the summary
        _LOGGER.info(
            "warm transfer of call %s to %s: %s (%s)", call_id[:8], self.target, outcome, result.reason or result.status
        )
        await asyncio.to_thread(record, self.store, call_id, "warm", self.target, outcome, result.status, summary)
        done(joined)
        return outcome
