"""A clinic on Google Calendar (issue #18): bookings as events with ids of our own, busy times read live.

The contract is the Calendar API v3 reference: ``events.insert`` with a client-chosen id (a repeat is
409 "duplicate"), ``events.delete`` (404/410 once gone) and ``freeBusy.query``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx

from appliance.dialog.engine import Business
from appliance.dialog.tools import Action
from appliance.integrations.google_calendar import GoogleCalendarAvailability, GoogleCalendarConnector, event_id
from appliance.integrations.outbox import Outbox
from tests.conftest import DEMO_NOW, deliver_recorded

TOML = (
    '[[connector]]\nname = "gcal"\nkind = "google_calendar"\n'
    'tools = ["create_booking", "cancel_booking", "reschedule_booking"]\n'
    'calendar_id = "frontdesk@democlinic.example"\ntoken_env = "G"\ntimezone = "America/New_York"\n'
)
DUPLICATE = {
    "error": {"code": 409, "message": "The requested identifier already exists.", "errors": [{"reason": "duplicate"}]}
}


def run(
    tmp_path: Path, actions: list[Action], answer: Callable[[httpx.Request], httpx.Response]
) -> tuple[list[httpx.Request], Outbox]:
    seen, outbox, _ = deliver_recorded(tmp_path, TOML, {"G": "ya29.token"}, actions, answer)
    return seen, outbox


def test_a_booking_is_one_event_and_a_repeat_is_a_duplicate_not_a_second_event(tmp_path: Path) -> None:
    events: dict[str, dict[str, object]] = {}

    def google(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer ya29.token"
        event = json.loads(request.content)
        if event["id"] in events:
            return httpx.Response(409, json=DUPLICATE)
        events[event["id"]] = event
        return (
            httpx.Response(503, json={"error": {"code": 503}}) if len(events) == 1 else httpx.Response(200, json=event)
        )

    booking = Action(
        "create_booking", {"patient_name": "Priya Raman", "start": "2026-11-24T10:00", "provider": "Dr. Martin"}
    )
    seen, outbox = run(tmp_path, [booking], google)
    assert outbox.rows()[0].state == "delivered" and len(events) == 1 and len(seen) == 2
    assert seen[0].url.raw_path == b"/calendar/v3/calendars/frontdesk%40democlinic.example/events"
    (event,) = events.values()
    assert event["id"] == event_id("Priya Raman", "2026-11-24T10:00")
    assert event["start"] == {"dateTime": "2026-11-24T10:00:00", "timeZone": "America/New_York"}
    assert event["end"] == {"dateTime": "2026-11-24T10:30:00", "timeZone": "America/New_York"}


def test_a_move_adds_the_new_event_and_deletes_the_old_one(tmp_path: Path) -> None:
    def google(request: httpx.Request) -> httpx.Response:
        return httpx.Response(204) if request.method == "DELETE" else httpx.Response(200, json={})

    move = Action(
        "reschedule_booking",
        {"patient_name": "Priya Raman", "old_start": "2026-11-24T10:00", "new_start": "2026-11-25T11:00"},
    )
    seen, outbox = run(tmp_path, [move], google)
    insert, delete = seen
    assert json.loads(insert.content)["id"] == event_id("Priya Raman", "2026-11-25T11:00")
    assert delete.method == "DELETE" and delete.url.path.endswith(
        "/events/" + event_id("Priya Raman", "2026-11-24T10:00")
    )
    assert outbox.rows()[0].state == "delivered"


def test_busy_times_from_free_busy_keep_callers_off_them(demo_business: Business) -> None:
    seen: list[httpx.Request] = []
    calendar = "frontdesk@democlinic.example"
    answer = {
        "kind": "calendar#freeBusy",
        "timeMin": "2026-11-24T05:00:00.000Z",
        "timeMax": "2026-11-25T05:00:00.000Z",
        "calendars": {calendar: {"busy": [{"start": "2026-11-24T15:00:00Z", "end": "2026-11-24T16:00:00Z"}]}},
    }

    def google(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer)

    connector = GoogleCalendarConnector(
        "gcal", ("create_booking",), None, {"calendar_id": calendar, "token": "t", "timezone": "America/New_York"}
    )
    reader = GoogleCalendarAvailability(connector, transport=httpx.MockTransport(google))
    business = Business(
        demo_business.profile, demo_business.calendar.store, clock=lambda: DEMO_NOW, availability=reader
    )
    assert (
        "already taken" in business.engine("c1", "+14155550142").respond("Can I see Dr. Martin tomorrow at 10 am?").text
    )
    assert (
        "already taken"
        not in business.engine("c2", "+14155550142").respond("Can I see Dr. Martin tomorrow at 11 am?").text
    )
    query = json.loads(seen[0].content)
    assert seen[0].url.path == "/calendar/v3/freeBusy" and query["items"] == [{"id": calendar}]
    assert query["timeMin"] == "2026-11-24T00:00:00-05:00" and query["timeZone"] == "America/New_York"
