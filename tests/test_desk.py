"""The front desk's view: its own sign-in, the day's messages, callbacks and bookings, marks and exports
audited, and no way across to IT's pages (or from IT's to the desk's)."""

from __future__ import annotations

import csv
import html
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from appliance.config import StoreConfig
from appliance.dialog.engine import Business
from appliance.dialog.profile import load_profile
from appliance.dialog.tools import Action
from appliance.errors import ConfigError
from appliance.integrations.connectors import load_connectors
from appliance.integrations.outbox import Outbox
from appliance.store import Store, TurnRecord
from appliance.store.retention import purge_expired
from appliance.web.app import Health, create_app

IT_TOKEN = "it-token-for-tests"
DESK_TOKEN = "desk-token-for-tests"


@pytest.fixture
def business(tmp_path: Path) -> Business:
    path = tmp_path / "integrations.toml"
    path.write_text(
        '[[connector]]\nname = "office-mail"\nkind = "webhook"\ntools = ["take_message"]\n'
        'url = "http://127.0.0.1:9/x"\nsecret_env = "S"\n'
    )
    store = Store(tmp_path / "a.db")
    return Business(load_profile(), store, outbox=Outbox(store, load_connectors(path, {"S": "s"})))


def desk_client(business: Business) -> TestClient:
    health = Health(store=business.calendar.store, outbox=business.outbox, business=business.profile, ready=True)
    return TestClient(create_app(health, IT_TOKEN, DESK_TOKEN))


def signed_in(business: Business, name: str = "Maria") -> TestClient:
    client = desk_client(business)
    response = client.post("/desk/login", data={"token": DESK_TOKEN, "name": name}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/desk"
    return client


def message(business: Business, call_id: str, name: str, phone: str, text: str) -> str:
    business.calendar.store.start_call(call_id, "sip:+1415555****@pbx")
    business.calendar.store.add_turn(
        call_id, TurnRecord(idx=0, speech_start_s=0.1, caller_text=text, reply_text="Noted.")
    )
    args = {"caller_name": name, "phone": phone, "message": text, "recipient": "Dr. Lopez"}
    return business.outbox.record(call_id, Action("take_message", args))


def audit(business: Business) -> list[tuple[str, str, str]]:
    rows = business.calendar.store.query("SELECT actor, action, detail FROM audit ORDER BY id", [])
    return [(r["actor"], r["action"], r["detail"]) for r in rows]


def test_each_role_opens_only_its_own_pages(business: Business) -> None:
    task = message(business, "call-1", "Karen White", "+14155550142", "My results are back.")
    client = desk_client(business)
    it = {"Authorization": f"Bearer {IT_TOKEN}"}
    desk = {"Authorization": f"Bearer {DESK_TOKEN}", "X-Vocalia-Desk-User": "Ops script"}
    # Nobody signed in: 401, and nothing about the caller.
    for url in ("/api/desk", "/api/desk/calls/call-1", "/api/desk/export.csv"):
        refused = client.get(url)
        assert refused.status_code == 401 and "Karen" not in refused.text
    assert client.get("/desk").status_code == 401
    # IT sees the line and the outbox, never the desk's list, and cannot mark a message.
    assert client.get("/metrics", headers=it).status_code == 200
    assert client.get("/api/desk", headers=it).status_code == 403
    marked = client.post(f"/api/desk/tasks/{task}", json={"handled": "done"}, headers=it)
    assert marked.status_code == 403 and "Karen" not in marked.text
    # The desk sees its list and cannot read the metrics, IT's status or retry a delivery.
    assert client.get("/api/desk", headers=desk).status_code == 200
    for method, url in (("GET", "/metrics"), ("GET", "/api/status"), ("GET", "/api/outbox")):
        assert client.request(method, url, headers=desk).status_code == 403
    (row,) = business.outbox.rows(None, 10)
    assert client.post(f"/api/outbox/{row.id}/retry", headers=desk).status_code == 403
    # The desk's token on the IT sign-in form opens nothing.
    assert client.post("/login", data={"token": DESK_TOKEN}, follow_redirects=False).status_code == 401
    assert business.calendar.store.query("SELECT handled FROM actions", []) == [{"handled": ""}]


def test_the_desk_signs_in_with_its_token_and_a_name_and_the_sign_in_is_audited(business: Business) -> None:
    client = desk_client(business)
    wrong = client.post("/desk/login", data={"token": "guess", "name": "Eve"}, follow_redirects=False)
    assert wrong.status_code == 401 and "Wrong token" in wrong.text
    nameless = client.post("/desk/login", data={"token": DESK_TOKEN, "name": "  "}, follow_redirects=False)
    assert nameless.status_code == 400 and "give your name" in nameless.text
    client = signed_in(business, "Maria\nGarcía")
    page = client.get("/desk")
    assert page.status_code == 200 and "Maria García" in page.text
    assert client.get("/", follow_redirects=False).headers["location"] == "/desk", "the desk lands on its own page"
    (entry,) = audit(business)
    assert entry[0] == "front desk: Maria García from testclient" and entry[1] == "signed in"
    # A cookie signed for another name (or edited) opens nothing.
    cookie = client.cookies["vocalia_desk"]
    forged = "TWFsbG9yeQ" + cookie[cookie.index(".") :]  # "Mallory", with Maria's signature
    assert desk_client(business).get("/api/desk", headers={"cookie": f"vocalia_desk={forged}"}).status_code == 401
    assert desk_client(business).get("/api/desk", headers={"cookie": f"vocalia_desk={cookie}"}).status_code == 200


def test_a_message_waits_at_the_desk_until_someone_marks_it_and_the_mark_is_audited(business: Business) -> None:
    task = message(business, "call-1", "Karen White", "+33612345678", "My blood pressure readings are normal.")
    client = signed_in(business)
    (shown,) = client.get("/api/desk").json()["tasks"]
    assert (shown["name"], shown["phone"], shown["dial"], shown["recipient"]) == (
        "Karen White",
        "+33 6 12 34 56 78",
        "+33612345678",
        "Dr. Lopez",
    )
    assert shown["message"] == "My blood pressure readings are normal." and shown["handled"] == ""
    assert shown["deliveries"] == [{"connector": "office-mail", "state": "pending", "error": ""}]
    assert client.post(f"/api/desk/tasks/{task}", json={"handled": "sideways"}).status_code == 400
    assert client.post("/api/desk/tasks/nope", json={"handled": "done"}).status_code == 404
    assert client.post(f"/api/desk/tasks/{task}", json={"handled": "called_back"}).status_code == 200
    (shown,) = client.get("/api/desk").json()["tasks"]
    assert (shown["handled"], shown["handled_by"]) == ("called_back", "Maria") and shown["handled_at"]
    assert audit(business)[-1] == ("front desk: Maria from testclient", "marked a caller called back", task)
    # Reopened by mistake: back to the list, and that is audited too.
    assert client.post(f"/api/desk/tasks/{task}", json={"handled": ""}).status_code == 200
    assert client.get("/api/desk").json()["tasks"][0]["handled"] == ""
    assert audit(business)[-1][1] == "reopened a task"


def test_an_open_message_from_an_earlier_day_stays_on_the_list_and_is_never_purged(business: Business) -> None:
    old = message(business, "call-old", "Ann Lee", "+14155550142", "Please call me about my bill.")
    handled = message(business, "call-done", "Bob Stone", "+14155550199", "Refill please.")
    then = (datetime.now(UTC) - timedelta(days=45)).isoformat()
    with business.calendar.store.transaction() as conn:
        conn.execute("UPDATE actions SET created_at = ?", (then,))
        conn.execute("UPDATE calls SET started_at = ?", (then,))
        conn.execute("DELETE FROM outbox")  # as if no connector took messages: the desk is where they go
        conn.execute(
            "UPDATE actions SET handled = 'done', handled_by = 'Maria', handled_at = ? WHERE id = ?", (then, handled)
        )
    client = signed_in(business)
    assert [t["id"] for t in client.get("/api/desk").json()["tasks"]] == [old], "yesterday's open one, not the done one"
    purge_expired(business.calendar.store, StoreConfig())
    assert [r["id"] for r in business.calendar.store.query("SELECT id FROM actions", [])] == [old]


def test_bookings_show_by_day_with_cancellations_and_moves(business: Business) -> None:
    calendar, today = business.calendar, datetime.now().replace(second=0, microsecond=0)
    day = today.date() + timedelta(days=1)
    for name, hour in (("Paul Martin", 9), ("Lena Kraus", 10), ("Omar Haddad", 11)):
        calendar.seed(name, datetime.combine(day, datetime.min.time()).replace(hour=hour), "Dr. Lopez")
    rows = business.calendar.store.query("SELECT * FROM bookings ORDER BY start", [])
    calendar.cancel("call-2", rows[0])
    slot = calendar.free(datetime.combine(day, datetime.min.time()).replace(hour=15), None, "Dr. Lopez")
    assert slot is not None and calendar.move("call-3", rows[1], slot)
    client = signed_in(business)
    shown = client.get("/api/desk", params={"day": day.isoformat()}).json()["bookings"]
    assert [(b["name"], b["start"][11:], b["status"], b["moved_from"][11:]) for b in shown] == [
        ("Paul Martin", "09:00", "cancelled", ""),
        ("Omar Haddad", "11:00", "booked", ""),
        ("Lena Kraus", "15:00", "booked", "10:00"),
    ]
    assert [
        b["name"] for b in client.get("/api/desk", params={"day": day.isoformat(), "q": "lena"}).json()["bookings"]
    ] == ["Lena Kraus"]


def test_the_day_is_searched_and_exported_as_csv_and_the_export_is_audited(business: Business) -> None:
    message(business, "call-1", "Karen White", "+14155550142", "Call me back.")
    message(business, "call-2", "Bob Stone", "+14155550199", "Refill please.")
    business.outbox.record("call-3", Action("schedule_callback", {"caller_name": "Ann Lee", "phone": "+14155550100"}))
    formula = '=HYPERLINK("http://example.com")'
    business.outbox.record(
        "call-4", Action("take_message", {"caller_name": formula, "phone": "+14155550111", "message": "x"})
    )
    client = signed_in(business)
    assert [t["name"] for t in client.get("/api/desk", params={"q": "555 0199"}).json()["tasks"]] == ["Bob Stone"]
    assert [t["kind"] for t in client.get("/api/desk", params={"q": "ann"}).json()["tasks"]] == ["callback"]
    exported = client.get("/api/desk/export.csv", params={"q": "karen"})
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    assert "attachment" in exported.headers["content-disposition"]
    (header, row) = list(csv.reader(io.StringIO(exported.text)))
    assert header[:6] == ["type", "time", "name", "phone", "details", "state"]
    assert row[0] == "message" and row[2:6] == ["Karen White", "'+1 415-555-0142", "Dr. Lopez | Call me back.", "open"]
    assert audit(business)[-1][1:] == (
        "exported the front desk's day",
        f"{datetime.now(business.profile.timezone).date().isoformat()} q='karen'",
    )
    # A cell a spreadsheet would run as a formula is exported as text.
    (_, row) = list(csv.reader(io.StringIO(client.get("/api/desk/export.csv", params={"q": "hyperlink"}).text)))
    assert row[2] == "'" + formula


def test_what_a_caller_said_opens_one_call_at_a_time_and_is_audited(business: Business) -> None:
    message(business, "call-1", "Karen White", "+14155550142", "Please tell her my readings are normal.")
    client = signed_in(business)
    before = len(audit(business))
    assert "readings" not in str(client.get("/api/desk").json()["tasks"][0].get("said", "")), "not without asking"
    said = client.get("/api/desk/calls/call-1").json()
    assert said == [{"caller": "Please tell her my readings are normal.", "reply": "Noted."}]
    assert audit(business)[before:] == [("front desk: Maria from testclient", "showed what a caller said", "call-1")]
    assert client.get("/api/desk/calls/nope").status_code == 404


def test_the_desk_page_speaks_the_clinic_s_language(business: Business, tmp_path: Path) -> None:
    source = load_profile().path.read_text(encoding="utf-8")
    french = tmp_path / "clinique.toml"
    french.write_text(source.replace('languages = ["en", "fr", "es"]', 'languages = ["fr", "en"]'), encoding="utf-8")
    for name in ("demo-clinic.faq.md", "demo-clinic.faq.fr.md", "demo-clinic.faq.es.md"):
        (tmp_path / name).write_text((load_profile().path.parent / name).read_text(encoding="utf-8"))
    health = Health(store=business.calendar.store, business=load_profile(french), ready=True)
    client = TestClient(create_app(health, IT_TOKEN, DESK_TOKEN))
    login = html.unescape(client.get("/desk").text)
    assert '<html lang="fr"' in login and "Jeton d'accès" in login and "Votre nom" in login
    client.post("/desk/login", data={"token": DESK_TOKEN, "name": "Chloé"})
    assert "À traiter" in html.unescape(client.get("/desk").text)


def test_the_desk_token_must_differ_from_it_s(business: Business) -> None:
    health = Health(store=business.calendar.store, ready=True)
    with pytest.raises(ConfigError, match="desk_token must differ"):
        create_app(health, "same", "same")
    off = TestClient(create_app(health, IT_TOKEN, ""))
    refused = off.get("/api/desk")
    assert refused.status_code == 401 and "VOCALIA_WEB_DESK_TOKEN" in refused.text
