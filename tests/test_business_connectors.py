"""The business's tools (issue #18), each through the real outbox worker against a recorded contract.

Each contract is the API's documented request and answers: what a success returns, a 429 with
``Retry-After`` (waited, then sent again), and a 4xx error body (the delivery is dead with that reason).
The connectors are configured from an integrations file, as an installer would write them.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from appliance.dialog.tools import Action
from appliance.errors import ConfigError
from appliance.integrations.connectors import load_connectors
from appliance.integrations.outbox import Outbox
from tests.conftest import deliver_recorded

BOOKING = Action(
    "create_booking",
    {"patient_name": "Lucía Fernández", "start": "2026-12-07T10:30", "provider": "Dr. Martin", "phone": "+34612345678"},
)
MESSAGE = Action("take_message", {"caller_name": "Karen White", "phone": "+14155550142", "message": "Call me back"})
LEAD = Action(
    "qualify_lead",
    {"name": "Jordan Miles", "score": 85, "company": "Acme", "budget": 15000.0, "phone": "+13125550188", "need": "CRM"},
)
SECRETS = {"TOKEN": "secret-token", "HOOK": "https://prod-12.westeurope.logic.azure.com/workflows/abc/invoke?sig=x"}


def deliver(
    tmp_path: Path,
    connector_toml: str,
    action: Action,
    answer: Callable[[httpx.Request], httpx.Response],
    consented: tuple[tuple[str, str], ...] = (),
) -> tuple[list[httpx.Request], Outbox, float]:
    """Queue ``action`` for the one connector of ``connector_toml`` and run the worker until it settles."""
    return deliver_recorded(tmp_path, connector_toml, SECRETS, [action], answer, consented)


SAID_YES = (("+34612345678", "whatsapp"),)  # Lucía said yes to WhatsApp messages on her booking call


def once_limited(success: httpx.Response) -> Callable[[httpx.Request], httpx.Response]:
    """The first request answered 429 with Retry-After: 1, the rest by ``success``."""
    count = {"n": 0}

    def answer(request: httpx.Request) -> httpx.Response:
        count["n"] += 1
        if count["n"] == 1:
            return httpx.Response(429, headers={"Retry-After": "1"}, json={"error": "rate limited"})
        return success

    return answer


def settled(outbox: Outbox) -> tuple[str, int, str]:
    (row,) = outbox.rows()
    return row.state, row.attempts, row.last_error or ""


def test_teams_gets_an_adaptive_card_without_the_patients_name(tmp_path: Path) -> None:
    toml = '[[connector]]\nname = "team"\nkind = "teams"\ntools = ["create_booking"]\nurl_env = "HOOK"\n'
    seen, outbox, took = deliver(tmp_path, toml, BOOKING, once_limited(httpx.Response(202)))
    assert settled(outbox)[:2] == ("delivered", 2) and took >= 1.0, "429: waited Retry-After, then sent again"
    card = json.loads(seen[-1].content)
    assert (
        card["type"] == "message" and card["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    )
    body = card["attachments"][0]["content"]
    assert body["type"] == "AdaptiveCard" and {"title": "provider", "value": "Dr. Martin"} in body["body"][1]["facts"]
    assert "Lucía" not in seen[-1].content.decode() and "+34" not in seen[-1].content.decode()


def test_freshdesk_opens_one_ticket_and_a_retry_finds_it_by_its_tag(tmp_path: Path) -> None:
    toml = (
        '[[connector]]\nname = "desk"\nkind = "freshdesk"\ntools = ["take_message"]\n'
        'domain = "clinic"\napi_key_env = "TOKEN"\n'
    )
    created: list[dict[str, object]] = []

    def freshdesk(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":  # GET /api/v2/search/tickets?query="tag:'...'"
            return httpx.Response(200, json={"results": created, "total": len(created)})
        created.append(json.loads(request.content))
        # the ticket is made, but the answer never arrives: the worker sees a 503 and tries again
        return httpx.Response(503, json={"code": "service_unavailable"}) if len(created) == 1 else httpx.Response(201)

    seen, outbox, _ = deliver(tmp_path, toml, MESSAGE, freshdesk)
    assert settled(outbox)[0] == "delivered" and len(created) == 1, "one ticket, whatever the retries"
    search, post = seen[0], seen[1]
    assert str(search.url).startswith("https://clinic.freshdesk.com/api/v2/search/tickets?query=")
    assert search.headers["Authorization"] == "Basic " + base64.b64encode(b"secret-token:X").decode()
    ticket = created[0]
    assert post.url.path == "/api/v2/tickets" and ticket["source"] == 3 and ticket["phone"] == "+14155550142"
    assert ticket["subject"] == "Phone take message from Karen White" and "Call me back" in str(ticket["description"])
    assert [t for t in ticket["tags"] if str(t).startswith("vocalia-")]  # type: ignore[attr-defined]


def test_freshdesk_refusing_the_ticket_is_dead_with_its_reason(tmp_path: Path) -> None:
    toml = (
        '[[connector]]\nname = "desk"\nkind = "freshdesk"\ntools = ["take_message"]\n'
        'domain = "clinic"\napi_key_env = "TOKEN"\n'
    )
    invalid = {
        "description": "Validation failed",
        "errors": [{"field": "email", "message": "It should be a valid email"}],
    }

    def freshdesk(request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json={"results": [], "total": 0})
        return httpx.Response(400, json=invalid)

    _, outbox, _ = deliver(tmp_path, toml, MESSAGE, freshdesk)
    state, attempts, error = settled(outbox)
    assert (state, attempts) == ("dead", 1) and "HTTP 400" in error and "valid email" in error


def test_pipedrive_makes_a_person_a_keyed_deal_and_a_note_once(tmp_path: Path) -> None:
    toml = (
        '[[connector]]\nname = "crm"\nkind = "pipedrive"\ntools = ["qualify_lead"]\napi_token_env = "TOKEN"\n'
        'key_field = "a1b2c3d4e5vocaliakey"\n'
    )
    deals: list[dict[str, object]] = []

    def pipedrive(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/v1/deals/search":
            items = [{"item": {"id": 7}}] if deals else []
            return httpx.Response(200, json={"success": True, "data": {"items": items}})
        if path == "/v1/persons":
            return httpx.Response(201, json={"success": True, "data": {"id": 42}})
        if path == "/v1/deals":
            deals.append(json.loads(request.content))
            return httpx.Response(201, json={"success": True, "data": {"id": 7}})
        return httpx.Response(201, json={"success": True, "data": {"id": 3}})  # /v1/notes

    seen, outbox, _ = deliver(tmp_path, toml, LEAD, pipedrive)
    assert settled(outbox)[0] == "delivered"
    assert [r.url.path for r in seen] == ["/v1/deals/search", "/v1/persons", "/v1/deals", "/v1/notes"]
    assert all(r.url.params["api_token"] == "secret-token" for r in seen)
    person = json.loads(seen[1].content)
    assert person == {"name": "Jordan Miles", "phone": [{"value": "+13125550188", "primary": True}]}
    (deal,) = deals
    key = seen[0].url.params["term"]
    assert deal["person_id"] == 42 and deal["a1b2c3d4e5vocaliakey"] == key and deal["title"] == "Acme (phone lead)"
    assert json.loads(seen[3].content)["deal_id"] == 7 and "need: CRM" in json.loads(seen[3].content)["content"]
    # the same delivery again (a lost answer): the deal holding our key is found, nothing is created
    (tmp_path / "again").mkdir()
    again, _, _ = deliver(tmp_path / "again", toml, LEAD, pipedrive)
    assert [r.url.path for r in again] == ["/v1/deals/search"]


def test_whatsapp_sends_the_booking_confirmation_template(tmp_path: Path) -> None:
    toml = (
        '[[connector]]\nname = "wa"\nkind = "whatsapp"\ntools = ["create_booking"]\ntoken_env = "TOKEN"\n'
        'phone_number_id = "106540352242922"\nlanguage = "es"\n'
    )
    accepted = httpx.Response(
        200,
        json={
            "messaging_product": "whatsapp",
            "contacts": [{"input": "34612345678", "wa_id": "34612345678"}],
            "messages": [{"id": "wamid.HBgLMzQ2MTIzNDU2NzgVAgARGBI"}],
        },
    )
    seen, outbox, took = deliver(tmp_path, toml, BOOKING, once_limited(accepted), SAID_YES)
    assert settled(outbox)[:2] == ("delivered", 2) and took >= 1.0
    request = seen[-1]
    assert str(request.url) == "https://graph.facebook.com/v21.0/106540352242922/messages"
    assert request.headers["Authorization"] == "Bearer secret-token"
    message = json.loads(request.content)
    assert message["to"] == "34612345678" and message["type"] == "template"
    template = message["template"]
    assert template["name"] == "appointment_confirmation" and template["language"] == {"code": "es"}
    assert [p["text"] for p in template["components"][0]["parameters"]] == [
        "Lucía Fernández",
        "2026-12-07 10:30",
        "Dr. Martin",
    ]


def test_whatsapp_refusing_a_number_is_dead_with_its_reason(tmp_path: Path) -> None:
    toml = (
        '[[connector]]\nname = "wa"\nkind = "whatsapp"\ntools = ["create_booking"]\ntoken_env = "TOKEN"\n'
        'phone_number_id = "106540352242922"\n'
    )
    refused = {
        "error": {
            "message": "(#131026) Message undeliverable",
            "type": "OAuthException",
            "code": 131026,
            "error_data": {
                "messaging_product": "whatsapp",
                "details": "Receiver is incapable of receiving this message",
            },
        }
    }
    _, outbox, _ = deliver(tmp_path, toml, BOOKING, lambda request: httpx.Response(400, json=refused), SAID_YES)
    state, attempts, error = settled(outbox)
    assert (state, attempts) == ("dead", 1) and "131026" in error


WHATSAPP = (
    '[[connector]]\nname = "wa"\nkind = "whatsapp"\ntools = ["create_booking", "send_reminder"]\n'
    'token_env = "TOKEN"\nphone_number_id = "106540352242922"\nlanguage = "en"\n'
    '[connector.languages]\nes = "es_ES"\nfr = "fr_FR"\n'
)
SENT = httpx.Response(200, json={"messaging_product": "whatsapp", "messages": [{"id": "wamid.HBgLMzQ2MTIz"}]})


def test_whatsapp_sends_nothing_to_a_patient_who_never_said_yes(tmp_path: Path) -> None:
    seen, outbox, _ = deliver(tmp_path, WHATSAPP, BOOKING, lambda request: SENT)
    assert seen == [] and outbox.rows() == [], "no consent on record: nothing queued, nothing sent"
    refused = (("+34612345678", "sms"),)  # a yes to SMS is not a yes to WhatsApp
    (tmp_path / "sms").mkdir()
    seen, outbox, _ = deliver(tmp_path / "sms", WHATSAPP, BOOKING, lambda request: SENT, refused)
    assert seen == [] and outbox.rows() == []


def test_whatsapp_reminder_is_the_approved_template_in_the_patients_language(tmp_path: Path) -> None:
    reminder = Action(
        "send_reminder",
        {"phone": "+34612345678", "start": "2026-12-07T10:30", "patient_name": "Lucía Fernández", "language": "es"},
    )
    seen, outbox, _ = deliver(tmp_path, WHATSAPP, reminder, lambda request: SENT, SAID_YES)
    assert settled(outbox)[0] == "delivered"
    template = json.loads(seen[-1].content)["template"]
    assert template["name"] == "appointment_reminder" and template["language"] == {"code": "es_ES"}
    assert [p["text"] for p in template["components"][0]["parameters"]][:2] == ["Lucía Fernández", "2026-12-07 10:30"]


def test_google_sheets_appends_a_row_starting_with_the_key(tmp_path: Path) -> None:
    toml = (
        '[[connector]]\nname = "log"\nkind = "google_sheets"\ntools = ["create_booking"]\ntoken_env = "TOKEN"\n'
        'spreadsheet_id = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"\nrange = "Calls!A1"\n'
    )
    appended = httpx.Response(
        200,
        json={
            "spreadsheetId": "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms",
            "updates": {"updatedRange": "Calls!A2:C2", "updatedRows": 1, "updatedColumns": 3, "updatedCells": 3},
        },
    )
    seen, outbox, took = deliver(tmp_path, toml, BOOKING, once_limited(appended))
    assert settled(outbox)[:2] == ("delivered", 2) and took >= 1.0
    request = seen[-1]
    assert request.url.path == "/v4/spreadsheets/1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms/values/Calls!A1:append"
    assert request.url.params["valueInputOption"] == "RAW" and request.url.params["insertDataOption"] == "INSERT_ROWS"
    (row,) = json.loads(request.content)["values"]
    assert row[1] == "create_booking" and json.loads(row[2]) == {"provider": "Dr. Martin", "start": "2026-12-07T10:30"}
    assert "Lucía" not in request.content.decode(), "names stay out of the sheet unless fields says so"


@pytest.mark.parametrize("kind", ["teams", "freshdesk", "pipedrive", "whatsapp", "google_sheets"])
def test_a_connector_without_its_secret_is_refused_at_start_with_the_fix(tmp_path: Path, kind: str) -> None:
    secret = {"teams": "url_env", "freshdesk": "api_key_env", "pipedrive": "api_token_env"}.get(kind, "token_env")
    path = tmp_path / "integrations.toml"
    path.write_text(f'[[connector]]\nname = "x"\nkind = "{kind}"\ntools = ["take_message"]\n{secret} = "MISSING"\n')
    with pytest.raises(ConfigError, match="MISSING is empty"):
        load_connectors(path, {})
