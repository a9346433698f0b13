"""Live availability: busy times of one day read from the practice's own calendar (CalDAV, FHIR, Cal.com
or Google Calendar).

Reads never go through the outbox: they are made when slots are offered, with a short timeout, and
cached a short while per day. When the calendar cannot be reached (or answers nonsense) the day reads
as having no outside events, and the local calendar alone decides.
"""

from __future__ import annotations

import logging
import time
from datetime import date, datetime

import httpx

from ..dialog.calendar import BusyTimes
from .connectors import Connector

_LOGGER = logging.getLogger(__name__)
Busy = list[tuple[datetime, datetime, str]]  # (start, end, provider or ""), naive local times


class LiveAvailability:
    """The cache and the fallback; subclasses fetch one day with :meth:`_fetch`."""

    def __init__(
        self,
        connector: Connector,
        timeout_s: float = 2.0,
        ttl_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.connector = connector
        self.ttl_s = ttl_s
        self._cache: dict[date, tuple[float, Busy]] = {}
        self._client = httpx.Client(timeout=timeout_s, transport=transport)

    def busy(self, day: date) -> Busy:
        """What is on ``day`` (cached ``ttl_s``); nothing when the calendar cannot be read."""
        cached = self._cache.get(day)
        if cached and time.monotonic() - cached[0] < self.ttl_s:
            return cached[1]
        try:
            events = self._fetch(day)
        except (httpx.HTTPError, ValueError) as err:
            _LOGGER.warning(
                "%s %s unreachable (%s): availability from the local calendar only",
                self.connector.kind,
                self.connector.name,
                err,
            )
            return []
        self._cache[day] = (time.monotonic(), events)
        return events

    def forget(self) -> None:
        """Drop cached days (after this appliance changed the calendar)."""
        self._cache.clear()

    def _fetch(self, day: date) -> Busy:
        raise NotImplementedError


def availability(connectors: list[Connector]) -> BusyTimes | None:
    """The live reader of the calendar connector marked ``availability = true``."""
    from .calcom import CalComAvailability, CalComConnector
    from .caldav import CalDavAvailability, CalDavConnector
    from .google_calendar import GoogleCalendarAvailability, GoogleCalendarConnector
    from .saas import FhirAvailability, FhirConnector

    for connector in connectors:
        if not connector.options.get("availability"):
            continue
        if isinstance(connector, CalDavConnector):
            return CalDavAvailability(connector)
        if isinstance(connector, FhirConnector):
            return FhirAvailability(connector)
        if isinstance(connector, CalComConnector):
            return CalComAvailability(connector)
        if isinstance(connector, GoogleCalendarConnector):
            return GoogleCalendarAvailability(connector)
    return None
