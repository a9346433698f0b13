"""Calendar and SaaS connectors: CalDAV against a real Radicale server, the others against recorded contracts."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fhir.resources.R4B.appointment import Appointment  # R4B: the R4 shape of Appointment
from fhir.resources.R4B.slot import Slot

from appliance.dialog.engine import Business
from appliance.dialog.tools import Action
from appliance.integrations.caldav import CalDavAvailability, CalDavConnector
from appliance.integrations.connectors import Connector, load_connectors
from appliance.integrations.outbox import Outbox
from appliance.integrations.saas import (
    FhirAvailability,
    FhirConnector,
    HubSpotConnector,
    StripePaymentLinkConnector,
    ZendeskConnector,
)
from appliance.integrations.worker import OutboxWorker
from appliance.store import Store
from appliance.testing import free_port

from .conftest import DEMO_NOW


@pytest.fixture
def radicale(tmp_path: Path) -> Iterator[str]:
    """A Radicale CalDAV server on loopback with one calendar; yields the calendar's URL."""
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "radicale",
        "--storage-filesystem-folder",
        str(tmp_path / "collections"),
        "--server-hosts",
        f"127.0.0.1:{port}",
        "--auth-type",
        "none",
        "--logging-level",
        "warning",
    ]
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/clinic/appointments/"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.request("MKCOL", url.removesuffix("appointments/"), timeout=2)
                made = httpx.request("MKCALENDAR", url, timeout=2)
                assert made.status_code == 201, made.text
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "radicale did not start"
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


async def drain(outbox: Outbox, connectors: list[Connector]) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(OutboxWorker(outbox, connectors, poll_s=0.05, base_s=0.05).run(stop))
    for _ in range(200):
        await asyncio.sleep(0.05)
        if not any(e["pending"] or e["in_flight"] for e in (await asyncio.to_thread(outbox.stats)).values()):
            break
    stop.set()
    await task


async def test_a_dialogue_booking_lands_in_radicale_and_occupies_then_frees_the_slot(
    radicale: str, demo_business: Business, tmp_path: Path
) -> None:
    path = tmp_path / "integrations.toml"
    path.write_text(
        f'[[connector]]\nname = "calendar"\nkind = "caldav"\nurl = "{radicale}"\navailability = true\n'
        'tools = ["create_booking", "cancel_booking", "reschedule_booking"]\n'
    )
    connectors = load_connectors(path, {})
    store = demo_business.calendar.store
    outbox = Outbox(store, connectors)
    business = Business(demo_business.profile, store, clock=lambda: DEMO_NOW, outbox=outbox)
    engine = business.engine("c1", "+14155550142")
    for said in ("Book me with Dr. Martin tomorrow at 10 am", "Ann Lee", "yes", "yes"):
        reply = engine.respond(said)
    assert reply.text.startswith("You're booked")
    await drain(outbox, connectors)
    (event,) = await asyncio.to_thread(calendar_files, radicale)
    # Another appliance (an empty local store) reads the slot as taken from the calendar alone.
    other = tmp_path / "other"
    other.mkdir()
    fresh = Store(other / "a.db")
    reader = CalDavAvailability(connectors[0])  # type: ignore[arg-type]
    viewer = Business(demo_business.profile, fresh, clock=lambda: DEMO_NOW, availability=reader)
    taken = viewer.engine("c2", "+14155550143").respond("Can I see Dr. Martin tomorrow at 10 am?").text
    assert "already taken" in taken, taken
    # The patient cancels: the event goes away and the slot is free again at the next read.
    canceller = business.engine("c3", "+14155550142")
    for said in ("I need to cancel my appointment tomorrow", "Ann Lee", "yes"):
        reply = canceller.respond(said)
    assert "is cancelled" in reply.text
    await drain(outbox, connectors)
    assert await asyncio.to_thread(calendar_files, radicale) == []
    reader.forget()
    free = viewer.engine("c4", "+14155550143").respond("Can I see Dr. Martin tomorrow at 10 am?").text
    assert free == "May I have your full name, please?", free
    assert event.endswith(".ics") and "Ann" not in event, "the event's name carries no patient data"
    fresh.close()


async def test_a_repeated_caldav_delivery_rewrites_the_same_event(radicale: str) -> None:
    connector = CalDavConnector("calendar", ("create_booking",), None, {"url": radicale})
    payload = connector.payload("create_booking", {"patient_name": "Ann Lee", "start": "2026-11-24T10:00"}, "a1")
    async with httpx.AsyncClient() as client:
        assert (await connector.deliver(client, payload, "k1")).delivered
        assert (await connector.deliver(client, payload, "k1")).delivered
    assert len(await asyncio.to_thread(calendar_files, radicale)) == 1


def calendar_files(url: str) -> list[str]:
    """The .ics resources in a calendar collection (a PROPFIND listing)."""
    listing = httpx.request("PROPFIND", url, headers={"Depth": "1"}, timeout=5).text
    return [part.split("<")[0] for part in listing.split("<href>") if ".ics" in part.split("<")[0]]


def recorder(*responses: httpx.Response) -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []
    answers = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return seen, httpx.MockTransport(handler)


async def test_fhir_appointment_contract() -> None:
    connector = FhirConnector(
        "ehr",
        ("create_booking", "cancel_booking"),
        None,
        {"base_url": "https://ehr.test/fhir", "timezone": "America/New_York", "token": "t"},
    )
    args = {"patient_name": "Ann Lee", "start": "2026-11-24T10:00", "provider": "Dr. Martin", "service": "consultation"}
    created = connector.payload("create_booking", args, "a1")
    cancelled = connector.payload("cancel_booking", {"patient_name": "Ann Lee", "start": "2026-11-24T10:00"}, "a2")
    seen, transport = recorder(
        httpx.Response(201, json={"resourceType": "Appointment", "id": "1"}), httpx.Response(200, json={})
    )
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await connector.deliver(client, created, "k1")).delivered
        assert (await connector.deliver(client, cancelled, "k2")).delivered
    post, patch = seen
    resource = json.loads(post.content)
    Appointment.model_validate(resource)  # a valid FHIR R4 Appointment
    assert resource["start"] == "2026-11-24T10:00:00-05:00" and resource["end"] == "2026-11-24T10:30:00-05:00"
    assert post.url == "https://ehr.test/fhir/Appointment" and post.headers["Authorization"] == "Bearer t"
    identifier = resource["identifier"][0]["value"]
    assert post.headers["If-None-Exist"] == f"identifier=urn:vocalia:booking|{identifier}", "conditional create"
    assert patch.method == "PATCH" and patch.url.params["identifier"] == f"urn:vocalia:booking|{identifier}"
    assert json.loads(patch.content) == [{"op": "replace", "path": "/status", "value": "cancelled"}]


async def test_stripe_payment_link_contract() -> None:
    connector = StripePaymentLinkConnector(
        "stripe", ("send_payment_link",), None, {"api_key": "sk_test_1", "currency": "usd"}
    )
    payload = connector.payload(
        "send_payment_link", {"phone": "+17205550111", "order_number": "10488", "amount": 54.0}, "a1"
    )
    seen, transport = recorder(
        httpx.Response(200, json={"id": "price_1"}),
        httpx.Response(200, json={"id": "plink_1", "url": "https://buy.stripe.com/x"}),
        httpx.Response(402, json={"error": {"message": "card declined"}}),
    )
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await connector.deliver(client, payload, "k1")).delivered
        refused = await connector.deliver(client, payload, "k2")
    price, link, _ = seen
    assert price.url.path == "/v1/prices" and link.url.path == "/v1/payment_links"
    assert dict(httpx.QueryParams(price.content.decode()))["unit_amount"] == "5400"
    assert dict(httpx.QueryParams(link.content.decode()))["line_items[0][price]"] == "price_1"
    assert price.headers["Idempotency-Key"] == "k1-price" and link.headers["Idempotency-Key"] == "k1-link"
    assert price.headers["Authorization"] == "Basic " + base64.b64encode(b"sk_test_1:").decode()
    assert refused.permanent


async def test_a_payment_link_reaches_the_caller_by_sms_once(tmp_path: Path) -> None:
    """Stripe creates the link; its delivery queues a send_sms with the URL, delivered through Twilio."""
    calls: list[httpx.Request] = []

    def saas(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        if request.url.path == "/v1/prices":
            return httpx.Response(200, json={"id": "price_1"})
        if request.url.path == "/v1/payment_links":
            return httpx.Response(200, json={"id": "plink_1", "url": "https://buy.stripe.com/test_1"})
        return httpx.Response(201, json={"sid": "SM1"})

    path = tmp_path / "integrations.toml"
    path.write_text(
        '[[connector]]\nname = "stripe"\nkind = "stripe"\ntools = ["send_payment_link"]\napi_key_env = "STRIPE_KEY"\n'
        'product = "Corner Bike Shop order"\n\n[[connector]]\nname = "sms"\nkind = "twilio"\ntools = ["send_sms"]\n'
        'account_sid = "AC1"\nauth_token_env = "TWILIO_TOKEN"\nfrom_number = "+12125550100"\n'
    )
    connectors = load_connectors(path, {"STRIPE_KEY": "sk_test_1", "TWILIO_TOKEN": "tok"})
    store = Store(tmp_path / "a.db")
    outbox = Outbox(store, connectors)
    outbox.record(
        "call-1", Action("send_payment_link", {"phone": "+17205550111", "order_number": "10488", "amount": 54.0})
    )
    stop = asyncio.Event()
    worker = OutboxWorker(outbox, connectors, poll_s=0.05, transport=httpx.MockTransport(saas))
    task = asyncio.create_task(worker.run(stop))
    for _ in range(100):
        await asyncio.sleep(0.05)
        if sum(e["delivered"] for e in outbox.stats().values()) == 2:
            break
    stop.set()
    await task
    sms = calls[-1]
    assert sms.url.path == "/2010-04-01/Accounts/AC1/Messages.json"
    assert (
        dict(httpx.QueryParams(sms.content.decode()))["Body"]
        == "Corner Bike Shop order 10488: https://buy.stripe.com/test_1"
    )
    assert [a["tool"] for a in store.actions("call-1")] == ["send_payment_link", "send_sms"]
    stripe_row = next(r for r in outbox.rows() if r.connector == "stripe")
    outbox.delivered(stripe_row.id, Action("send_sms", {"to": "+17205550111", "text": "again"}))  # a late repeat
    assert len(store.actions("call-1")) == 2, "settling a delivered row again queues nothing"
    store.close()


async def test_hubspot_lead_contract() -> None:
    connector = HubSpotConnector("crm", ("qualify_lead",), None, {"token": "pat"})
    payload = connector.payload(
        "qualify_lead",
        {"name": "Jordan Miles", "score": 95, "company": "Acme", "budget": 15000.0, "phone": "+13125550188"},
        "a1",
    )
    seen, transport = recorder(
        httpx.Response(200, json={}), httpx.Response(200, json={}), httpx.Response(429, headers={"Retry-After": "10"})
    )
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await connector.deliver(client, payload, "k1")).delivered
        limited = await connector.deliver(client, payload, "k1")
    contact, deal, _ = seen
    assert (
        contact.url.path == "/crm/v3/objects/contacts/batch/upsert"
        and deal.url.path == "/crm/v3/objects/deals/batch/upsert"
    )
    body = json.loads(contact.content)["inputs"][0]
    assert body["idProperty"] == "vocalia_key" and body["id"] == "k1"
    assert body["properties"] == {
        "firstname": "Jordan",
        "lastname": "Miles",
        "phone": "+13125550188",
        "company": "Acme",
    }
    assert json.loads(deal.content)["inputs"][0]["properties"]["amount"] == "15000.0"
    assert limited.retry_after == 10.0 and not limited.permanent


async def test_zendesk_ticket_contract() -> None:
    connector = ZendeskConnector(
        "desk", ("take_message",), None, {"subdomain": "clinic", "email": "it@clinic.test", "token": "zt"}
    )
    payload = connector.payload(
        "take_message", {"caller_name": "Karen White", "phone": "+14155550142", "message": "Call me"}, "a1"
    )
    seen, transport = recorder(httpx.Response(201, json={"ticket": {"id": 1}}))
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await connector.deliver(client, payload, "k1")).delivered
    (request,) = seen
    assert str(request.url) == "https://clinic.zendesk.com/api/v2/tickets.json"
    assert request.headers["Idempotency-Key"] == "k1"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"it@clinic.test/token:zt").decode()
    ticket = json.loads(request.content)["ticket"]
    assert (
        ticket["subject"] == "Phone take message from Karen White" and "message: Call me" in ticket["comment"]["body"]
    )


def test_fhir_slot_search_feeds_availability(demo_business: Business) -> None:
    """Availability read from Slot resources (status=busy) on the FHIR server, live, then cached."""
    seen: list[httpx.Request] = []
    busy = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {
                "resource": {
                    "resourceType": "Slot",
                    "status": "busy",
                    "schedule": {"reference": "Schedule/1"},
                    "start": "2026-11-24T15:00:00+00:00",
                    "end": "2026-11-24T15:30:00+00:00",
                    "comment": "Dr. Martin",
                }
            }
        ],
    }

    def ehr(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=busy)

    for entry in busy["entry"]:
        Slot.model_validate(entry["resource"])
    connector = FhirConnector(
        "ehr", ("create_booking",), None, {"base_url": "https://ehr.test/fhir", "timezone": "America/New_York"}
    )
    reader = FhirAvailability(connector, transport=httpx.MockTransport(ehr))
    business = Business(
        demo_business.profile, demo_business.calendar.store, clock=lambda: DEMO_NOW, availability=reader
    )
    reply = business.engine("c1", "+14155550142").respond("Can I see Dr. Martin tomorrow at 10 am?").text
    assert "already taken" in reply, "15:00 UTC is 10:00 in New York: the slot is busy at the EHR"
    assert seen[0].url.params.get_list("start") == ["ge2026-11-24T00:00:00-05:00", "lt2026-11-25T00:00:00-05:00"]
    assert seen[0].url.params["status"] == "busy"
    business.engine("c2", "+14155550142").respond("Can I see Dr. Martin tomorrow at 11 am?")
    assert len(seen) == 1, "the day's answer is cached"
