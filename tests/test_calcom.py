"""A clinic on Cal.com (issue #18): bookings written there once, and callers offered only its free times.

The contract is Cal.com's API v2 as documented (``cal-api-version`` 2024-08-13 for bookings,
2024-09-04 for slots): requests through the real outbox worker, answers as the reference shows them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx

from appliance.dialog.engine import Business
from appliance.dialog.tools import Action
from appliance.integrations.calcom import CalComAvailability, CalComConnector
from appliance.integrations.outbox import Outbox
from tests.conftest import DEMO_NOW, deliver_recorded

TOML = (
    '[[connector]]\nname = "cal"\nkind = "calcom"\ntools = ["create_booking", "cancel_booking"]\n'
    'api_key_env = "CAL"\nevent_type_id = 1147\ntimezone = "America/New_York"\nbase_url = "https://cal.clinic.lan/api"\n'
)
BOOKED = {
    "status": "success",
    "data": {"id": 91, "uid": "bk_91", "start": "2026-11-24T15:00:00.000Z", "status": "accepted"},
}


def run(
    tmp_path: Path, action: Action, answer: Callable[[httpx.Request], httpx.Response]
) -> tuple[list[httpx.Request], Outbox]:
    seen, outbox, _ = deliver_recorded(tmp_path, TOML, {"CAL": "cal_live_x"}, [action], answer)
    return seen, outbox


def test_a_booking_is_made_once_even_when_the_answer_is_lost(tmp_path: Path) -> None:
    made: list[dict[str, object]] = []

    def cal(request: httpx.Request) -> httpx.Response:
        assert (
            request.headers["cal-api-version"] == "2024-08-13"
            and request.headers["Authorization"] == "Bearer cal_live_x"
        )
        if request.method == "GET":
            return httpx.Response(200, json={"status": "success", "data": made})
        made.append(json.loads(request.content))
        return httpx.Response(500, json={"status": "error"}) if len(made) == 1 else httpx.Response(201, json=BOOKED)

    action = Action(
        "create_booking",
        {"patient_name": "Priya Raman", "start": "2026-11-24T10:00", "provider": "Dr. Martin", "phone": "+14155550198"},
    )
    seen, outbox = run(tmp_path, action, cal)
    (row,) = outbox.rows()
    assert row.state == "delivered" and len(made) == 1, "one booking, though the first answer was a 500"
    (booking,) = made
    assert booking["start"] == "2026-11-24T15:00:00.000Z", "10:00 in New York, in UTC"
    assert booking["eventTypeId"] == 1147
    attendee = booking["attendee"]
    assert attendee["name"] == "Priya Raman" and attendee["phoneNumber"] == "+14155550198"  # type: ignore[index]
    assert attendee["timeZone"] == "America/New_York" and str(attendee["email"]).endswith("@phone.invalid")  # type: ignore[index]
    searches = [r for r in seen if r.method == "GET"]
    assert [r.url.params["attendeeEmail"] for r in searches] == [attendee["email"]] * 2  # type: ignore[index]
    assert str(seen[1].url) == "https://cal.clinic.lan/api/v2/bookings"


def test_a_cancel_finds_the_booking_by_name_and_start(tmp_path: Path) -> None:
    def cal(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"status": "success", "data": [BOOKED["data"]]})
        return httpx.Response(200, json={"status": "success", "data": {**BOOKED["data"], "status": "cancelled"}})  # type: ignore[dict-item]

    seen, outbox = run(
        tmp_path, Action("cancel_booking", {"patient_name": "Priya Raman", "start": "2026-11-24T10:00"}), cal
    )
    assert outbox.rows()[0].state == "delivered"
    search, cancel = seen
    assert (
        search.url.params["attendeeName"] == "Priya Raman"
        and search.url.params["afterStart"] == "2026-11-24T15:00:00.000Z"
    )
    assert cancel.url.path == "/api/v2/bookings/bk_91/cancel" and "cancellationReason" in json.loads(cancel.content)


def test_a_caller_is_offered_only_the_times_cal_com_has_free(demo_business: Business) -> None:
    seen: list[httpx.Request] = []
    slots = {
        "status": "success",
        "data": {
            "2026-11-24": [{"start": "2026-11-24T09:00:00.000-05:00"}, {"start": "2026-11-24T11:00:00.000-05:00"}]
        },
    }

    def cal(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=slots)

    connector = CalComConnector(
        "cal", ("create_booking",), None, {"api_key": "k", "event_type_id": 1147, "timezone": "America/New_York"}
    )
    reader = CalComAvailability(connector, transport=httpx.MockTransport(cal))
    business = Business(
        demo_business.profile, demo_business.calendar.store, clock=lambda: DEMO_NOW, availability=reader
    )
    taken = business.engine("c1", "+14155550142").respond("Can I see Dr. Martin tomorrow at 10 am?").text
    assert "already taken" in taken, taken
    free = business.engine("c2", "+14155550142").respond("Can I see Dr. Martin tomorrow at 11 am?").text
    assert "already taken" not in free, free
    request = seen[0]
    assert request.url.path == "/v2/slots" and request.headers["cal-api-version"] == "2024-09-04"
    assert request.url.params["eventTypeId"] == "1147" and request.url.params["start"] == "2026-11-24"
    assert len(seen) == 1, "the day's free slots are cached"
