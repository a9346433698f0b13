"""Google's APIs with a service account's key (issue #18): the token is minted by the appliance (a JWT
signed with the key, traded at Google's token endpoint), kept for its hour, minted again when it runs
out or a 401 says so; and Gmail sends the office's e-mail once, however often a delivery is retried.

The contracts are Google's documented ones: the OAuth 2.0 JWT bearer grant (``POST /token`` with
``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``, answered ``access_token`` / ``expires_in``
or ``invalid_grant``), Sheets ``values:append``, Gmail ``users.messages.list`` / ``send`` and its 403
``rateLimitExceeded``.
"""

from __future__ import annotations

import asyncio
import base64
import email
import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from appliance.dialog.tools import Action
from appliance.errors import ConfigError
from appliance.integrations.connectors import load_connectors
from appliance.integrations.google_calendar import GoogleCalendarAvailability
from tests.conftest import deliver_recorded

TOKEN_URI = "https://oauth2.googleapis.com/token"
MESSAGE = Action("take_message", {"caller_name": "Karen White", "phone": "+14155550142", "message": "Call me back"})


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def key_file(tmp_path: Path, key: rsa.RSAPrivateKey) -> Path:
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = tmp_path / "google-key.json"
    info = {
        "type": "service_account",
        "project_id": "clinic-edge",
        "private_key_id": "3f1c",
        "private_key": pem,
        "client_email": "vocalia@clinic-edge.iam.gserviceaccount.com",
        "token_uri": TOKEN_URI,
    }
    path.write_text(json.dumps(info))
    return path


def claims_of(assertion: str, key: rsa.RSAPrivateKey) -> dict[str, object]:
    """The JWT's claims, after checking its RS256 signature with the account's public key."""
    header, body, signature = assertion.split(".")
    pad = lambda part: base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))  # noqa: E731
    assert json.loads(pad(header)) == {"alg": "RS256", "typ": "JWT"}
    key.public_key().verify(pad(signature), f"{header}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return json.loads(pad(body))  # type: ignore[no-any-return]


class Google:
    """Google's token endpoint and one API, answering as documented; ``tokens`` counts the tokens minted."""

    def __init__(self, api: Callable[[httpx.Request], httpx.Response], expires_in: int = 3599) -> None:
        self.api, self.expires_in = api, expires_in
        self.assertions: list[str] = []
        self.bearers: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URI:
            form = parse_qs(request.content.decode())
            assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
            self.assertions.append(form["assertion"][0])
            token = f"ya29.token-{len(self.assertions)}"
            return httpx.Response(
                200, json={"access_token": token, "expires_in": self.expires_in, "token_type": "Bearer"}
            )
        self.bearers.append(request.headers["Authorization"])
        return self.api(request)


def sheets_toml(path: Path) -> str:
    return (
        '[[connector]]\nname = "log"\nkind = "google_sheets"\ntools = ["take_message"]\n'
        f'spreadsheet_id = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"\nservice_account_file = "{path}"\n'
    )


APPENDED = httpx.Response(200, json={"spreadsheetId": "1Bxi", "updates": {"updatedRows": 1}})


def test_a_service_account_mints_one_token_for_many_deliveries(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    google = Google(lambda request: APPENDED)
    toml = sheets_toml(key_file(tmp_path, key))
    _, outbox, _ = deliver_recorded(tmp_path, toml, {}, [MESSAGE, MESSAGE, MESSAGE], google)
    assert [r.state for r in outbox.rows()] == ["delivered"] * 3
    (assertion,) = google.assertions
    claims = claims_of(assertion, key)
    assert claims["iss"] == "vocalia@clinic-edge.iam.gserviceaccount.com" and claims["aud"] == TOKEN_URI
    assert claims["scope"] == "https://www.googleapis.com/auth/spreadsheets"
    assert claims["exp"] - claims["iat"] == 3600  # type: ignore[operator]
    assert google.bearers == ["Bearer ya29.token-1"] * 3


def test_a_token_about_to_expire_and_a_401_each_mint_a_new_one(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    short = Google(lambda request: APPENDED, expires_in=30)  # inside the minute's margin: never reused
    _, outbox, _ = deliver_recorded(tmp_path, sheets_toml(key_file(tmp_path, key)), {}, [MESSAGE, MESSAGE], short)
    assert [r.state for r in outbox.rows()] == ["delivered"] * 2 and len(short.assertions) == 2
    answers = [httpx.Response(401, json={"error": {"code": 401, "status": "UNAUTHENTICATED"}}), APPENDED]
    revoked = Google(lambda request: answers.pop(0))
    (tmp_path / "again").mkdir()
    _, outbox, _ = deliver_recorded(tmp_path / "again", sheets_toml(key_file(tmp_path, key)), {}, [MESSAGE], revoked)
    assert outbox.rows()[0].state == "delivered" and outbox.rows()[0].attempts == 1
    assert revoked.bearers == ["Bearer ya29.token-1", "Bearer ya29.token-2"]


def test_a_key_google_refuses_is_dead_with_the_reason_and_the_fix(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        assert str(request.url) == TOKEN_URI, "no API call without a token"
        return httpx.Response(400, json={"error": "invalid_grant", "error_description": "Invalid JWT Signature."})

    _, outbox, _ = deliver_recorded(tmp_path, sheets_toml(key_file(tmp_path, key)), {}, [MESSAGE], refuse)
    (row,) = outbox.rows()
    assert (row.state, row.attempts) == ("dead", 1)
    assert "invalid_grant: Invalid JWT Signature." in (row.last_error or "") and "service_account_file" in (
        row.last_error or ""
    )


def test_a_missing_or_wrong_key_file_is_refused_at_start(tmp_path: Path) -> None:
    path = tmp_path / "integrations.toml"
    path.write_text(sheets_toml(tmp_path / "nowhere.json"))
    with pytest.raises(ConfigError, match="nowhere.json cannot be read"):
        load_connectors(path, {})
    (tmp_path / "bad.json").write_text('{"client_email": "x"}')
    path.write_text(sheets_toml(tmp_path / "bad.json"))
    with pytest.raises(ConfigError, match="is not a service account key"):
        load_connectors(path, {})
    path.write_text(sheets_toml(tmp_path).replace(f'service_account_file = "{tmp_path}"\n', ""))
    with pytest.raises(ConfigError, match=r"set token_env = \"VAR\".*\(or service_account_file = PATH\)"):
        load_connectors(path, {})


def test_live_availability_reads_the_calendar_with_a_minted_token(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    path = tmp_path / "integrations.toml"
    path.write_text(
        '[[connector]]\nname = "cal"\nkind = "google_calendar"\ntools = ["create_booking"]\n'
        f'calendar_id = "clinic@example.com"\ntimezone = "UTC"\nservice_account_file = "{key_file(tmp_path, key)}"\n'
    )
    (connector,) = load_connectors(path, {})
    busy = {
        "calendars": {
            "clinic@example.com": {"busy": [{"start": "2026-12-07T10:00:00Z", "end": "2026-12-07T10:30:00Z"}]}
        }
    }
    google = Google(lambda request: httpx.Response(200, json=busy))
    reader = GoogleCalendarAvailability(connector, transport=httpx.MockTransport(google))
    assert [start.hour for start, _, _ in reader.busy(date(2026, 12, 7))] == [10]
    assert claims_of(google.assertions[0], key)["scope"] == "https://www.googleapis.com/auth/calendar"
    assert google.bearers == ["Bearer ya29.token-1"]


# -- Gmail ------------------------------------------------------------------------------------------------


def gmail_toml(path: Path) -> str:
    return (
        '[[connector]]\nname = "mail"\nkind = "gmail"\ntools = ["take_message"]\nto = "frontdesk@clinic.example"\n'
        f'mailbox = "reception@clinic.example"\nservice_account_file = "{path}"\n'
    )


class Gmail:
    """The mailbox: ``messages.list`` finds what was sent, ``messages/send`` sends (after ``limited`` 403s)."""

    def __init__(self, limited: int = 0) -> None:
        self.sent: list[email.message.Message] = []
        self.limited = limited

    def __call__(self, request: httpx.Request) -> httpx.Response:
        base = "https://gmail.googleapis.com/gmail/v1/users/me/messages"
        if request.method == "GET" and str(request.url).startswith(base):
            wanted = request.url.params["q"].removeprefix("rfc822msgid:")
            found = [
                {"id": f"18c{n}", "threadId": f"18c{n}"} for n, m in enumerate(self.sent) if m["Message-ID"] == wanted
            ]
            return httpx.Response(
                200, json={"messages": found, "resultSizeEstimate": len(found)} if found else {"resultSizeEstimate": 0}
            )
        assert request.method == "POST" and str(request.url) == f"{base}/send"
        if self.limited:
            self.limited -= 1
            error = {
                "code": 403,
                "message": "User-rate limit exceeded",
                "errors": [{"reason": "userRateLimitExceeded"}],
            }
            return httpx.Response(403, headers={"Retry-After": "1"}, json={"error": error})
        raw = base64.urlsafe_b64decode(json.loads(request.content)["raw"])
        self.sent.append(email.message_from_bytes(raw))
        return httpx.Response(200, json={"id": "18c0", "threadId": "18c0", "labelIds": ["SENT"]})


def test_gmail_sends_the_office_one_mail_and_a_retry_finds_it(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    mailbox = Gmail()
    google = Google(mailbox)
    _, outbox, _ = deliver_recorded(tmp_path, gmail_toml(key_file(tmp_path, key)), {}, [MESSAGE], google)
    assert outbox.rows()[0].state == "delivered"
    (sent,) = mailbox.sent
    assert sent["To"] == "frontdesk@clinic.example" and sent["From"] == "reception@clinic.example"
    assert sent["Subject"] == "[VocalIA] take message" and "caller name: Karen White" in sent.get_payload()
    claims = claims_of(google.assertions[0], key)
    assert claims["sub"] == "reception@clinic.example" and "gmail.send" in str(claims["scope"])
    # the same delivery attempted again (its answer lost): the search finds the mail, nothing is sent
    connector = load_connectors(tmp_path / "integrations.toml", {})[0]
    row = outbox.rows()[0]

    async def again() -> bool:
        async with httpx.AsyncClient(transport=httpx.MockTransport(google)) as client:
            outcome = await connector.deliver(client, row.payload, row.idempotency_key)
            return outcome.delivered

    assert asyncio.run(again()) and len(mailbox.sent) == 1


def test_gmail_s_rate_limit_403_is_waited_out(tmp_path: Path, key: rsa.RSAPrivateKey) -> None:
    mailbox = Gmail(limited=1)
    _, outbox, took = deliver_recorded(tmp_path, gmail_toml(key_file(tmp_path, key)), {}, [MESSAGE], Google(mailbox))
    (row,) = outbox.rows()
    assert (row.state, row.attempts) == ("delivered", 2) and took >= 1.0 and len(mailbox.sent) == 1
