"""Cal.com (self-hosted or cloud, API v2): bookings written there, and the times offered read from it.

- Writes (through the outbox): ``create_booking`` is ``POST /v2/bookings`` for the event type
  (``event_type_id``); ``cancel_booking`` and ``reschedule_booking`` find the booking by the patient's
  name and its start, then ``POST /v2/bookings/{uid}/cancel`` or ``/reschedule``. Cal.com takes no
  idempotency key and needs an attendee e-mail, which a phone caller does not give. So the attendee gets
  an address derived from our key (``phone-<key>@<placeholder_domain>``), and a search for that address
  comes before each create: a retry finds the booking instead of making a second one. Cancelling a
  booking that is not there any more is done.
- Reads (``availability = true``): ``GET /v2/slots`` for the event type and the day. Everything outside
  the free slots it returns is busy, so the caller is offered only times Cal.com would accept. That
  includes the hosts' own calendars Cal.com checks. Cal.com unreachable: the local calendar alone decides.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx

from .availability import Busy, LiveAvailability
from .connectors import Connector, Outcome, http_outcome

BOOKINGS_VERSION = "2024-08-13"  # the cal-api-version each endpoint is documented with
SLOTS_VERSION = "2024-09-04"


class CalComConnector(Connector):
    """One Cal.com event type (``event_type_id``) of a Cal.com instance (``base_url``; cloud by default)."""

    kind = "calcom"
    settings: ClassVar[dict[str, type]] = {
        "event_type_id": int,
        "api_key_env": str,
        "base_url": str,
        "timezone": str,
        "duration_min": int,
        "placeholder_domain": str,
        "availability": bool,
    }
    secrets = ("api_key",)

    def _headers(self, version: str = BOOKINGS_VERSION) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.options['api_key']}", "cal-api-version": version}

    def _base(self) -> str:
        return str(self.options.get("base_url", "https://api.cal.com")).rstrip("/")

    def _utc(self, local: str) -> str:
        zone = ZoneInfo(self.options.get("timezone", "UTC"))
        moment = datetime.fromisoformat(local).replace(tzinfo=zone).astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        start = args.get("start") or args.get("old_start") or ""
        return {
            "action": tool,
            "name": args["patient_name"],
            "start": self._utc(start) if start else "",
            "new_start": self._utc(args["new_start"]) if args.get("new_start") else "",
            "phone": args.get("phone", ""),
            "notes": ", ".join(f"{k}: {args[k]}" for k in ("provider", "service") if args.get(k)),
        }

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        if payload["action"] == "create_booking":
            return await self._create(client, payload, key)
        if not payload["start"]:
            return Outcome(False, "no start time in the action: the Cal.com booking cannot be found", permanent=True)
        found = await client.get(
            f"{self._base()}/v2/bookings",
            params={
                "attendeeName": payload["name"],
                "afterStart": payload["start"],
                "beforeEnd": self._end(payload["start"]),
            },
            headers=self._headers(),
            timeout=self.timeout_s,
        )
        if not found.is_success:
            return http_outcome(found)
        bookings = [b for b in found.json().get("data", []) if b.get("start", "").startswith(payload["start"][:16])]
        if not bookings:
            return Outcome(True)  # nothing there: cancelled or moved already
        uid = bookings[0]["uid"]
        if payload["action"] == "cancel_booking":
            body: dict[str, Any] = {"cancellationReason": "Cancelled by the patient on the phone"}
            path = f"/v2/bookings/{uid}/cancel"
        else:
            body = {"start": payload["new_start"], "reschedulingReason": "Moved by the patient on the phone"}
            path = f"/v2/bookings/{uid}/reschedule"
        response = await client.post(
            f"{self._base()}{path}", json=body, headers=self._headers(), timeout=self.timeout_s
        )
        return http_outcome(response)

    def _end(self, start_utc: str) -> str:
        start = datetime.fromisoformat(start_utc.replace("Z", "+00:00"))
        end = start + timedelta(minutes=self.options.get("duration_min", 30))
        return end.strftime("%Y-%m-%dT%H:%M:%S.000Z")

    async def _create(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        email = f"phone-{hashlib.sha256(key.encode()).hexdigest()[:20]}@{self.options.get('placeholder_domain', 'phone.invalid')}"
        found = await client.get(
            f"{self._base()}/v2/bookings",
            params={"attendeeEmail": email},
            headers=self._headers(),
            timeout=self.timeout_s,
        )
        if not found.is_success:
            return http_outcome(found)
        if found.json().get("data"):
            return Outcome(True)  # an earlier attempt made it; its answer was lost
        attendee: dict[str, Any] = {
            "name": payload["name"],
            "email": email,
            "timeZone": self.options.get("timezone", "UTC"),
        }
        if payload["phone"]:
            attendee["phoneNumber"] = payload["phone"]
        body: dict[str, Any] = {
            "start": payload["start"],
            "eventTypeId": self.options["event_type_id"],
            "attendee": attendee,
            "metadata": {"vocalia_key": key[:40]},
        }
        if payload["notes"]:
            body["bookingFieldsResponses"] = {"notes": payload["notes"]}
        response = await client.post(
            f"{self._base()}/v2/bookings", json=body, headers=self._headers(), timeout=self.timeout_s
        )
        return http_outcome(response)


class CalComAvailability(LiveAvailability):
    """Busy is whatever of the day Cal.com does not offer as a free slot of the event type."""

    def _fetch(self, day: date) -> Busy:
        connector = self.connector
        assert isinstance(connector, CalComConnector)
        zone_name = connector.options.get("timezone", "UTC")
        response = self._client.get(
            f"{connector._base()}/v2/slots",
            params={
                "eventTypeId": connector.options["event_type_id"],
                "start": day.isoformat(),
                "end": day.isoformat(),
                "timeZone": zone_name,
            },
            headers=connector._headers(SLOTS_VERSION),
        )
        response.raise_for_status()
        length = timedelta(minutes=connector.options.get("duration_min", 30))
        zone = ZoneInfo(zone_name)
        free = sorted(
            datetime.fromisoformat(slot["start"].replace("Z", "+00:00")).astimezone(zone).replace(tzinfo=None)
            for slot in response.json().get("data", {}).get(day.isoformat(), [])
        )
        busy: Busy = []
        cursor = datetime.combine(day, datetime.min.time())
        for start in free:
            if start > cursor:
                busy.append((cursor, start, ""))
            cursor = max(cursor, start + length)
        end_of_day = datetime.combine(day + timedelta(days=1), datetime.min.time())
        if cursor < end_of_day:
            busy.append((cursor, end_of_day, ""))
        return busy
