"""CalDAV: bookings written to the practice's calendar, and its busy times read back for availability.

Writes go through the outbox (``PUT``/``DELETE`` of one ``.ics`` per booking). The resource name is
derived from the patient and the start time, so a repeated ``PUT`` after a lost answer rewrites the
same event and a repeated ``DELETE`` finds it gone (404 counts as done): idempotent by construction.
Reads (``REPORT`` calendar-query for one day) go live through :mod:`.availability`.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from xml.etree import ElementTree

import httpx
from icalendar import Calendar, Event

from .availability import Busy, LiveAvailability
from .connectors import Connector, Outcome, http_outcome

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


class CalDavAvailability(LiveAvailability):
    """Busy times from a CalDAV calendar (a ``REPORT`` calendar-query for the day)."""

    def _fetch(self, day: date) -> Busy:
        options = self.connector.options
        # time-range is in UTC and our events are in local (floating) time: ask for a day either side,
        # then keep what falls on ``day``.
        stamp = "%Y%m%dT000000Z"
        query = _QUERY.format(
            start=(day - timedelta(days=1)).strftime(stamp), end=(day + timedelta(days=2)).strftime(stamp)
        )
        response = self._client.request(
            "REPORT",
            options["url"],
            content=query,
            headers={"Depth": "1", "Content-Type": "application/xml; charset=utf-8"},
            auth=_auth(options),
        )
        response.raise_for_status()
        events = []
        for data in ElementTree.fromstring(response.content).iter("{urn:ietf:params:xml:ns:caldav}calendar-data"):
            for component in Calendar.from_ical(data.text or "").walk("VEVENT"):
                begins, ends = _naive(component.decoded("dtstart")), _naive(component.decoded("dtend"))
                if begins.date() <= day <= ends.date():
                    events.append((begins, ends, str(component.get("x-vocalia-provider", ""))))
        return events


def _auth(options: dict[str, Any]) -> httpx.Auth | None:
    if not options.get("username"):
        return None
    return httpx.BasicAuth(options["username"], options.get("password", ""))


def _naive(moment: datetime | date) -> datetime:
    if not isinstance(moment, datetime):
        return datetime.combine(moment, datetime.min.time())
    return moment.replace(tzinfo=None)
