"""The sync worker: delivers due outbox rows, retries with backoff, and never blocks one connector on another.

Each connector has its own loop and its own concurrency limit, so a slow or dead CRM does not
delay the SMS to a caller. A retryable failure waits a capped exponential delay with full jitter
(or the peer's Retry-After, if longer); a permanent one marks the row dead with the reason. SQLite
work runs in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence

import httpx

from ..config import IntegrationsConfig
from .connectors import Connector, Outcome
from .outbox import Outbox, OutboxRow

_LOGGER = logging.getLogger(__name__)


def backoff_s(attempts: int, base_s: float = 2.0, cap_s: float = 600.0, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2^(attempts-1))]."""
    ceiling = min(cap_s, base_s * 2 ** max(0, attempts - 1))
    return (rng or random).uniform(0.0, ceiling)


class OutboxWorker:
    """Runs until stopped; ``poll_s`` bounds how long a newly queued row waits to be noticed."""

    def __init__(
        self,
        outbox: Outbox,
        connectors: Sequence[Connector],
        lease_s: float = 60.0,
        poll_s: float = 0.5,
        base_s: float = 2.0,
        cap_s: float = 600.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.outbox = outbox
        self.connectors = list(connectors)
        self.lease_s = lease_s
        self.poll_s = poll_s
        self.base_s = base_s
        self.cap_s = cap_s
        self.transport = transport  # None: the network; a recorded-contract transport in tests

    @classmethod
    def configured(cls, outbox: Outbox, settings: IntegrationsConfig) -> OutboxWorker:
        """A worker for every connector of ``outbox``, with the configured lease and retry timing."""
        return cls(
            outbox,
            list(outbox.connectors.values()),
            settings.lease_s,
            base_s=settings.retry_base_s,
            cap_s=settings.retry_cap_s,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set. Leases left by a killed worker are released first."""
        released = await asyncio.to_thread(self.outbox.expire_leases)
        if released:
            _LOGGER.info("outbox: %d deliveries interrupted by a previous stop are queued again", released)
        client = httpx.AsyncClient(follow_redirects=False, transport=self.transport)
        async with client, asyncio.TaskGroup() as group:
            for connector in self.connectors:
                group.create_task(self._serve(connector, client, stop))
            await stop.wait()  # with no connector too: the worker is "running" until stopped

    async def _serve(self, connector: Connector, client: httpx.AsyncClient, stop: asyncio.Event) -> None:
        running: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            free = connector.concurrency - len(running)
            rows = await asyncio.to_thread(self.outbox.claim, connector.name, free, self.lease_s)
            for row in rows:
                task = asyncio.create_task(self._deliver(connector, client, row))
                running.add(task)
                task.add_done_callback(running.discard)
            if rows and len(running) < connector.concurrency:
                continue  # more may be due
            waits: set[asyncio.Future[object]] = {asyncio.ensure_future(stop.wait())}
            waits |= {asyncio.ensure_future(asyncio.sleep(self.poll_s))}
            if running:
                # A copy: tasks leave ``running`` as they finish, and waiting on an empty set is an error.
                waits.add(asyncio.ensure_future(asyncio.wait(set(running), return_when=asyncio.FIRST_COMPLETED)))
            _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            for future in pending:
                future.cancel()
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)

    async def _deliver(self, connector: Connector, client: httpx.AsyncClient, row: OutboxRow) -> None:
        started = time.monotonic()
        try:
            outcome = await connector.deliver(client, row.payload, row.idempotency_key)
        except httpx.HTTPError as err:
            outcome = Outcome(False, f"{type(err).__name__}: {err}".strip(": "))
        if outcome.delivered:
            await asyncio.to_thread(self.outbox.delivered, row.id, outcome.follow_up)
            _LOGGER.info(
                "outbox: %s delivered to %s (attempt %d, %.0f ms)",
                row.id[:13],
                connector.name,
                row.attempts,
                (time.monotonic() - started) * 1000,
            )
        elif outcome.permanent:
            await asyncio.to_thread(self.outbox.dead, row.id, outcome.error)
            _LOGGER.warning("outbox: %s refused by %s for good: %s", row.id[:13], connector.name, outcome.error)
        else:
            delay = max(backoff_s(row.attempts, self.base_s, self.cap_s), outcome.retry_after or 0.0)
            await asyncio.to_thread(self.outbox.failed, row.id, outcome.error, time.time() + delay)
            _LOGGER.info(
                "outbox: %s to %s failed (attempt %d, retry in %.1f s): %s",
                row.id[:13],
                connector.name,
                row.attempts,
                delay,
                outcome.error,
            )
