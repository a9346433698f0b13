"""SaaS connectors, mapped from each API's public documentation (tested against recorded contracts).

- ``fhir``: FHIR R4 ``Appointment``: conditional create (``If-None-Exist`` on our booking identifier),
  cancel by conditional JSON-Patch of ``status``; reschedule moves ``start``/``end`` the same way;
  availability from a live ``Slot`` search (``status=busy``) for the day.
- ``stripe``: a Payment Link for an amount (a Price, then the Link), with Stripe's ``Idempotency-Key``;
  the link then goes to the caller as a ``send_sms`` action (queued when the delivery is settled).
- ``hubspot``: a lead as contact + deal through ``batch/upsert`` on a unique ``vocalia_key`` property
  (HubSpot has no idempotency header; the upsert makes a retry update instead of duplicate).
- ``zendesk``: a ticket for a message or a callback, with Zendesk's ``Idempotency-Key``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

import httpx

from ..dialog.tools import Action
from .availability import Busy, LiveAvailability
from .caldav import event_name
from .connectors import Connector, Outcome, http_outcome

BOOKING_SYSTEM = "urn:vocalia:booking"


def _bearer(connector: Connector) -> dict[str, str]:
    token = connector.options.get("token")
    return {"Authorization": f"Bearer {token}"} if token else {}


class FhirConnector(Connector):
    """A FHIR R4 server's ``Appointment`` resources (``base_url`` ends before ``/Appointment``)."""

    kind = "fhir"
    settings: ClassVar[dict[str, type]] = {
        "base_url": str,
        "timezone": str,
        "duration_min": int,
        "token_env": str,
        "availability": bool,  # also read busy Slots when offering times
    }
    secrets = ("token",)

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        zone = ZoneInfo(self.options.get("timezone", "UTC"))
        start_text = args.get("new_start") or args["start"] if tool != "cancel_booking" else args.get("start", "")
        identifier = event_name(args["patient_name"], args.get("old_start") or args.get("start") or "").removesuffix(
            ".ics"
        )
        start = datetime.fromisoformat(start_text).replace(tzinfo=zone) if start_text else None
        end = start + timedelta(minutes=self.options.get("duration_min", 30)) if start else None
        return {
            "action": tool,
            "identifier": identifier,
            "new_identifier": event_name(args["patient_name"], start_text).removesuffix(".ics") if start_text else "",
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
            "patient": args["patient_name"],
            "provider": args.get("provider"),
            "service": args.get("service"),
        }

    @staticmethod
    def appointment(payload: dict[str, Any]) -> dict[str, Any]:
        """The Appointment resource a booking creates."""
        participants = [{"actor": {"display": payload["patient"]}, "status": "accepted"}]
        if payload.get("provider"):
            participants.append({"actor": {"display": payload["provider"]}, "status": "accepted"})
        resource: dict[str, Any] = {
            "resourceType": "Appointment",
            "identifier": [{"system": BOOKING_SYSTEM, "value": payload["new_identifier"]}],
            "status": "booked",
            "start": payload["start"],
            "end": payload["end"],
            "participant": participants,
        }
        if payload.get("service"):
            resource["serviceType"] = [{"text": payload["service"]}]
        return resource

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        base = self.options["base_url"].rstrip("/")
        headers = {**_bearer(self), "Accept": "application/fhir+json"}
        if payload["action"] == "create_booking":
            response = await client.post(
                f"{base}/Appointment",
                json=self.appointment(payload),
                headers={
                    **headers,
                    "Content-Type": "application/fhir+json",
                    "If-None-Exist": f"identifier={BOOKING_SYSTEM}|{payload['new_identifier']}",
                },
                timeout=self.timeout_s,
            )
            return http_outcome(response)
        if payload["action"] == "cancel_booking":
            patch = [{"op": "replace", "path": "/status", "value": "cancelled"}]
        else:
            patch = [
                {"op": "replace", "path": "/start", "value": payload["start"]},
                {"op": "replace", "path": "/end", "value": payload["end"]},
                {"op": "replace", "path": "/identifier/0/value", "value": payload["new_identifier"]},
            ]
        response = await client.patch(
            f"{base}/Appointment",
            params={"identifier": f"{BOOKING_SYSTEM}|{payload['identifier']}"},
            json=patch,
            headers={**headers, "Content-Type": "application/json-patch+json"},
            timeout=self.timeout_s,
        )
        if response.status_code == 404 and payload["action"] == "cancel_booking":
            return Outcome(True)  # nothing to cancel: already gone
        return http_outcome(response)


class FhirAvailability(LiveAvailability):
    """Busy times from the FHIR server's ``Slot`` resources (``status=busy``) of the day."""

    def _fetch(self, day: date) -> Busy:
        zone = ZoneInfo(self.connector.options.get("timezone", "UTC"))
        start = datetime.combine(day, datetime.min.time(), zone)
        params = {"status": "busy", "start": [f"ge{start.isoformat()}", f"lt{(start + timedelta(days=1)).isoformat()}"]}
        response = self._client.get(
            f"{self.connector.options['base_url'].rstrip('/')}/Slot",
            params=params,
            headers={**_bearer(self.connector), "Accept": "application/fhir+json"},
        )
        response.raise_for_status()
        events = []
        for entry in response.json().get("entry", []):
            slot = entry.get("resource", {})
            begins = datetime.fromisoformat(slot["start"]).astimezone(zone).replace(tzinfo=None)
            ends = datetime.fromisoformat(slot["end"]).astimezone(zone).replace(tzinfo=None)
            events.append((begins, ends, slot.get("comment", "")))
        return events


class StripePaymentLinkConnector(Connector):
    """``send_payment_link``: a Price for the amount, then a Payment Link (Stripe API, form-encoded)."""

    kind = "stripe"
    settings: ClassVar[dict[str, type]] = {"api_key_env": str, "currency": str, "product": str, "base_url": str}
    secrets = ("api_key",)

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        return {"amount": args.get("amount"), "order_number": args.get("order_number", ""), "phone": args["phone"]}

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        if payload["amount"] is None:
            return Outcome(False, "no amount: a payment link needs the order's amount", permanent=True)
        base = self.options.get("base_url", "https://api.stripe.com")
        auth = (self.options["api_key"], "")
        price = await client.post(
            f"{base}/v1/prices",
            data={
                "unit_amount": str(round(payload["amount"] * 100)),
                "currency": self.options.get("currency", "usd"),
                "product_data[name]": self.options.get("product", f"Order {payload['order_number']}".strip()),
            },
            auth=auth,
            headers={"Idempotency-Key": f"{key}-price"},
            timeout=self.timeout_s,
        )
        if not price.is_success:
            return http_outcome(price)
        link = await client.post(
            f"{base}/v1/payment_links",
            data={
                "line_items[0][price]": price.json()["id"],
                "line_items[0][quantity]": "1",
                "metadata[order_number]": payload["order_number"],
            },
            auth=auth,
            headers={"Idempotency-Key": f"{key}-link"},
            timeout=self.timeout_s,
        )
        outcome = http_outcome(link)
        if not outcome.delivered:
            return outcome
        # The link reaches the caller as an SMS: a send_sms action, queued when this row is settled.
        text = f"{self.options.get('product', 'Your order')} {payload['order_number']}: {link.json()['url']}"
        return Outcome(True, follow_up=Action("send_sms", {"to": payload["phone"], "text": text.strip()}))


class HubSpotConnector(Connector):
    """``qualify_lead`` as a contact and a deal, upserted on the unique ``vocalia_key`` property."""

    kind = "hubspot"
    settings: ClassVar[dict[str, type]] = {"token_env": str, "base_url": str}
    secrets = ("token",)

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        first, _, last = args["name"].partition(" ")
        contact = {
            "firstname": first,
            "lastname": last,
            "phone": args.get("phone", ""),
            "company": args.get("company", ""),
        }
        deal = {
            "dealname": f"{args.get('company') or args['name']} (phone lead)",
            "hs_priority": "high" if args["score"] >= 70 else "low",
        }
        if args.get("budget"):
            deal["amount"] = str(args["budget"])
        return {"contact": contact, "deal": deal, "score": args["score"]}

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        base = self.options.get("base_url", "https://api.hubapi.com")
        for kind, properties in (("contacts", payload["contact"]), ("deals", payload["deal"])):
            response = await client.post(
                f"{base}/crm/v3/objects/{kind}/batch/upsert",
                json={"inputs": [{"idProperty": "vocalia_key", "id": key, "properties": properties}]},
                headers=_bearer(self),
                timeout=self.timeout_s,
            )
            if not response.is_success:
                return http_outcome(response)
        return Outcome(True)


class ZendeskConnector(Connector):
    """A ticket for ``take_message`` / ``schedule_callback`` (``subdomain``, ``email`` + API token)."""

    kind = "zendesk"
    settings: ClassVar[dict[str, type]] = {"subdomain": str, "email": str, "token_env": str, "base_url": str}
    secrets = ("token",)

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        name = args.get("caller_name", "caller")
        lines = [f"{k.replace('_', ' ')}: {v}" for k, v in args.items() if k in (self.fields or args)]
        return {
            "ticket": {
                "subject": f"Phone {tool.replace('_', ' ')} from {name}",
                "comment": {"body": "\n".join(lines), "public": False},
                "requester": {"name": name},
                "external_id": action_id,
            }
        }

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        base = self.options.get("base_url", f"https://{self.options['subdomain']}.zendesk.com")
        response = await client.post(
            f"{base}/api/v2/tickets.json",
            json=payload,
            auth=(f"{self.options['email']}/token", self.options["token"]),
            headers={"Idempotency-Key": key},
            timeout=self.timeout_s,
        )
        return http_outcome(response)
