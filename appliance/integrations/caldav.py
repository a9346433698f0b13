"""CalDAV: bookings written to the practice's calendar, and its busy times read back for availability.

Writes go through the outbox (``PUT``/``DELETE`` of one ``.ics`` per booking). The resource name is
derived from the patient and the start time, so a repeated ``PUT`` after a lost answer rewrites the
same event and a repeated ``DELETE`` finds it gone (404 counts as done): idempotent by construction.
Reads (``REPORT`` calendar-query for one day) go live with a short timeout and a short cache, never
through the queue; when the server cannot be reached the local calendar alone decides.
"""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from xml.etree import ElementTree

import httpx
from icalendar import Calendar, Event

from ..dialog.calendar import BusyTimes
from .connectors import Connector, Outcome, http_outcome

_LOGGER = logging.getLogger(__name__)
_QUERY = """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start}" end="{end}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""


def event_name(patient_name: str, start: str) -> str:
    """The .ics resource of a booking: stable for the same patient and start."""
    digest = hashlib.sha256(f"{patient_name.strip().lower()}|{start}".encode()).hexdigest()[:24]
    return f"vocalia-{digest}.ics"


class CalDavConnector(Connector):
    """One calendar collection (``url``, ending with ``/``); ``durations`` maps services to minutes."""

    kind = "caldav"
    settings: ClassVar[dict[str, type]] = {
        "url": str,
        "username": str,
        "allow_http": bool,
        "duration_min": int,
        "durations": dict,
        "availability": bool,  # also read busy times from this calendar when offering slots
    }
    secrets = ("password",)

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        allowed = self.fields if self.fields is not None else ("patient_name", "provider", "service")
        start = args.get("new_start") or args.get("start")
        minutes = self.options.get("durations", {}).get(args.get("service"), self.options.get("duration_min", 30))
        return {
            "action": tool,
            "start": start,
            "old_start": args.get("old_start"),
            "minutes": minutes,
            "key_name": args["patient_name"],
            "shown": {k: v for k, v in args.items() if k in allowed},
        }

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        auth = _auth(self.options)
        base = self.options["url"]
        if payload["action"] in ("cancel_booking", "reschedule_booking"):
            old = payload["old_start"] if payload["action"] == "reschedule_booking" else payload["start"]
            if old:
                gone = await client.request(
                    "DELETE", base + event_name(payload["key_name"], old), auth=auth, timeout=self.timeout_s
                )
                if gone.status_code != 404 and not gone.is_success:
                    return http_outcome(gone)
            if payload["action"] == "cancel_booking":
                return Outcome(True)
        body = self._ics(payload, key)
        put = await client.request(
            "PUT",
            base + event_name(payload["key_name"], payload["start"]),
            content=body,
            headers={"Content-Type": "text/calendar; charset=utf-8"},
            auth=auth,
            timeout=self.timeout_s,
        )
        return http_outcome(put)

    @staticmethod
    def _ics(payload: dict[str, Any], key: str) -> bytes:
        start = datetime.fromisoformat(payload["start"])
        shown = payload["shown"]
        calendar = Calendar()
        calendar.add("prodid", "-//VocalIA Edge//appliance//EN")
        calendar.add("version", "2.0")
        event = Event()
        event.add("uid", event_name(payload["key_name"], payload["start"]).removesuffix(".ics"))
        event.add("dtstamp", datetime.now())
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(minutes=payload["minutes"]))
        event.add("summary", f"Appointment: {shown['patient_name']}" if "patient_name" in shown else "Appointment")
        if shown.get("provider"):
            event.add("x-vocalia-provider", shown["provider"])
        event.add("description", "\n".join(f"{k}: {v}" for k, v in shown.items()) + f"\nbooked by VocalIA ({key})")
        calendar.add_component(event)
        return bytes(calendar.to_ical())


class CalDavAvailability:
    """Busy times of one day from a CalDAV calendar, cached ``ttl_s``; failures leave the day unknown."""

    def __init__(self, connector: CalDavConnector, timeout_s: float = 2.0, ttl_s: float = 30.0) -> None:
        self.connector = connector
        self.timeout_s = timeout_s
        self.ttl_s = ttl_s
        self._cache: dict[date, tuple[float, list[tuple[datetime, datetime, str]]]] = {}
        self._client = httpx.Client(timeout=timeout_s)

    def busy(self, day: date) -> list[tuple[datetime, datetime, str]]:
        """(start, end, provider) of the events on ``day``; provider "" when the event names none."""
        cached = self._cache.get(day)
        if cached and time.monotonic() - cached[0] < self.ttl_s:
            return cached[1]
        options = self.connector.options
        # time-range is in UTC and our events are in local (floating) time: ask for a day either side,
        # then keep what falls on ``day``.
        stamp = "%Y%m%dT000000Z"
        query = _QUERY.format(
            start=(day - timedelta(days=1)).strftime(stamp), end=(day + timedelta(days=2)).strftime(stamp)
        )
        auth = _auth(options)
        try:
            response = self._client.request(
                "REPORT",
                options["url"],
                content=query,
                headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
                auth=auth,
            )
            response.raise_for_status()
        except httpx.HTTPError as err:
            _LOGGER.warning(
                "calendar %s unreachable (%s): availability from the local calendar only", self.connector.name, err
            )
            return []
        events = []
        for data in ElementTree.fromstring(response.content).iter("{urn:ietf:params:xml:ns:caldav}calendar-data"):
            for component in Calendar.from_ical(data.text or "").walk("VEVENT"):
                start, end = component.decoded("dtstart"), component.decoded("dtend")
                begins, ends = _naive(start), _naive(end)
                if begins.date() <= day <= ends.date():
                    events.append((begins, ends, str(component.get("x-vocalia-provider", ""))))
        self._cache[day] = (time.monotonic(), events)
        return events

    def forget(self) -> None:
        """Drop cached days (after this appliance changed the calendar)."""
        self._cache.clear()


def _auth(options: dict[str, Any]) -> httpx.Auth | None:
    if not options.get("username"):
        return None
    return httpx.BasicAuth(options["username"], options.get("password", ""))


def _naive(moment: datetime | date) -> datetime:
    if not isinstance(moment, datetime):
        return datetime.combine(moment, datetime.min.time())
    return moment.replace(tzinfo=None)


def availability(connectors: list[Connector]) -> BusyTimes | None:
    """The live busy-time reader of the calendar connector (CalDAV or FHIR) marked ``availability = true``."""
    from .saas import FhirAvailability, FhirConnector

    for connector in connectors:
        if not connector.options.get("availability"):
            continue
        if isinstance(connector, CalDavConnector):
            return CalDavAvailability(connector)
        if isinstance(connector, FhirConnector):
            return FhirAvailability(connector)
    return None
