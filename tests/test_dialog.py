"""The dialogue engine on text: scenario files, understanding, flows' edge cases, profile and tool checks."""

from __future__ import annotations

import json
import subprocess
from datetime import date, datetime, time
from pathlib import Path

import pytest

from appliance.dialog.engine import Business
from appliance.dialog.profile import load_profile
from appliance.dialog.scenarios import load_scenarios, run_scenario
from appliance.dialog.tools import Action, ToolError, validate
from appliance.dialog.understand import (
    backchannel,
    detect_language,
    intents,
    normalize,
    parse_name,
    parse_phone,
    parse_when,
    yes_no,
)
from appliance.errors import ConfigError

from .conftest import APPLIANCE, ROOT, run_appliance

SCENARIOS = ROOT / "tests" / "scenarios"
MONDAY = datetime(2026, 11, 23, 9, 0)
ALL = load_scenarios(SCENARIOS)


@pytest.mark.parametrize(("file", "scenario"), ALL, ids=[s["name"] for _, s in ALL])
def test_scenario(file: Path, scenario: dict[str, object]) -> None:
    result = run_scenario(file, scenario, {})
    assert result.passed, "\n".join(result.failures + ["replies:", *result.replies])
    assert not result.unread, f"written but not read back before the yes: {result.unread}"


def test_there_are_enough_scenarios_in_three_languages() -> None:
    names = [s["name"] for _, s in ALL]
    assert len(names) >= 60
    assert sum(n.startswith("fr:") for n in names) >= 10 and sum(n.startswith("es:") for n in names) >= 10


# -- understanding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "said", "day", "at", "part"),
    [
        ("en", "next Tuesday at 2 pm", date(2026, 11, 24), time(14, 0), None),
        ("en", "tomorrow at 10", date(2026, 11, 24), time(10, 0), None),  # dateparser alone drops the hour
        ("en", "tomorrow at ten thirty a m", date(2026, 11, 24), time(10, 30), None),
        ("en", "friday at half past two", date(2026, 11, 27), time(14, 30), None),
        ("en", "on December 3rd at 4:30 pm", date(2026, 12, 3), time(16, 30), None),
        ("en", "Wednesday afternoon", date(2026, 11, 25), None, "afternoon"),
        ("en", "at noon", None, time(12, 0), None),
        ("en", "monday", date(2026, 11, 30), None, None),  # said on a Monday: next week's
        ("fr", "demain à 10 heures", date(2026, 11, 24), time(10, 0), None),  # dateparser alone: 19:00
        ("fr", "jeudi à 14h30", date(2026, 11, 26), time(14, 30), None),
        ("fr", "vendredi à dix heures et demie", date(2026, 11, 27), time(10, 30), None),
        ("fr", "mardi prochain dans l'après-midi", date(2026, 11, 24), None, "afternoon"),
        ("fr", "le 3 décembre à midi", date(2026, 12, 3), time(12, 0), None),
        ("es", "el viernes a las 10", date(2026, 11, 27), time(10, 0), None),  # dateparser alone: nothing
        ("es", "mañana por la tarde", date(2026, 11, 24), None, "afternoon"),
        ("es", "mañana a las diez", date(2026, 11, 24), time(10, 0), None),
        ("es", "el jueves a las dos de la tarde", date(2026, 11, 26), time(14, 0), "afternoon"),
        ("es", "el 3 de diciembre", date(2026, 12, 3), None, None),
    ],
)
def test_dates_and_times(language: str, said: str, day: date | None, at: time | None, part: str | None) -> None:
    when = parse_when(normalize(said, language), language, MONDAY)
    assert when is not None
    assert (when.day, when.at, when.part) == (day, at, part)


@pytest.mark.parametrize(
    ("said", "region", "e164"),
    [
        ("my number is 415 555 2671", "US", "+14155552671"),
        ("four one five five five five two six seven one", "US", "+14155552671"),
        ("oh six one two three four five six seven eight", "FR", "+33612345678"),
        ("06 12 34 56 78", "FR", "+33612345678"),
        ("06 12 34 56 78", "MA", "+212612345678"),
        ("plus 33 6 12 34 56 78", "US", "+33612345678"),
    ],
)
def test_phone_numbers(said: str, region: str, e164: str) -> None:
    assert parse_phone(normalize(said, "en"), region) == e164


def test_no_phone_number_in_a_date() -> None:
    assert parse_phone(normalize("tomorrow at 10 30", "en"), "US") is None


@pytest.mark.parametrize(
    ("language", "said", "expecting", "name"),
    [
        ("en", "My name is Jane Smith.", False, "Jane Smith"),
        ("en", "my name is jane smyth s m y t h", False, "Jane Smyth"),
        ("en", "It's Smyth, S-M-Y-T-H.", True, "Smyth"),
        ("en", "Robert Chen", True, "Robert Chen"),
        ("en", "I'm calling to book an appointment", False, None),
        ("en", "I'm looking for an appointment next week", False, None),
        ("en", "is there parking near you", True, None),
        ("fr", "Je m'appelle Hélène Blanc", False, "Hélène Blanc"),
        ("es", "me llamo Carmen López", False, "Carmen López"),
        ("es", "soy nuevo paciente", False, None),
    ],
)
def test_names(language: str, said: str, expecting: bool, name: str | None) -> None:
    assert parse_name(said, language, expecting) == name


@pytest.mark.parametrize(
    ("language", "said", "answer"),
    [
        ("en", "Yes, please", True),
        ("en", "yeah that works", True),
        ("en", "No, make it Friday", False),
        ("en", "nope", False),
        ("en", "hmm", None),
        ("fr", "oui c'est ça", True),
        ("fr", "non merci", False),
        ("es", "sí, claro", True),
        ("es", "no, mejor el miércoles", False),
    ],
)
def test_yes_and_no(language: str, said: str, answer: bool | None) -> None:
    assert yes_no(said, language) is answer


@pytest.mark.parametrize(
    ("language", "said", "nod"),
    [
        ("en", "Uh-huh.", True),
        ("en", "Okay, yeah.", True),
        ("en", "Mm-hmm", True),
        ("en", "", True),  # a breath, a cough: nothing to answer
        ("en", "Okay, and where are you?", False),
        ("en", "Goodbye.", False),
        ("en", "Yes, I want to book", False),
        ("fr", "D'accord.", True),
        ("fr", "Oui, je vois.", True),
        ("fr", "Attendez, c'est où ?", False),
        ("es", "Vale, vale.", True),
        ("es", "Sí, claro.", True),
        ("es", "Perdone, ¿dónde están?", False),
    ],
)
def test_a_backchannel_takes_no_turn(language: str, said: str, nod: bool) -> None:
    assert backchannel(said, language) is nod


@pytest.mark.parametrize(
    ("language", "heard", "seconds", "nod"),
    [
        ("es", "Bali", 0.4, True),  # "vale", misheard: one short word that means nothing here
        ("fr", "Ouïze", 0.3, True),  # "oui"
        ("es", "No.", 0.3, False),  # short, but it stops a speaker
        ("en", "Wait!", 0.4, False),
        ("fr", "Attendez !", 0.5, False),
        ("es", "Bali", 1.2, False),  # too long for a nod: someone is saying something
        ("en", "Sorry what", 0.5, False),
        ("en", "Goodbye.", 0.6, False),  # short, but it asks for something
        ("es", "Adiós.", 0.5, False),
        ("en", "Thursday?", 0.5, False),
        ("en", "Uh-fuh.", 0.6, True),  # "uh-huh" as whisper once heard it over a reply
        ("en", "Uh, wait.", 0.6, False),
        ("en", "Uh, no.", 0.5, False),
        ("en", "Uh-fuh.", 1.2, False),
    ],
)
def test_one_short_word_over_a_reply_is_a_nod_unless_it_stops_the_speaker(
    language: str, heard: str, seconds: float, nod: bool
) -> None:
    assert backchannel(heard, language, seconds) is nod


@pytest.mark.parametrize(
    ("said", "language"),
    [
        ("Bonjour, je voudrais un rendez-vous demain", "fr"),
        ("Hola, quisiera una cita el viernes", "es"),
        ("Hi, I'd like to book an appointment", "en"),
        ("¿Hay aparcamiento cerca?", "es"),
    ],
)
def test_language_detection(said: str, language: str) -> None:
    assert detect_language(said, ("en", "fr", "es")) == language


def test_emergency_outranks_everything() -> None:
    assert intents("i want to book an appointment but she can't breathe", "en")[0] == "emergency"


# -- flows: edge cases ------------------------------------------------------------------------------


def talk(business: Business, *lines: str, caller_id: str | None = "+14155550142", call: str = "c1") -> list[str]:
    engine = business.engine(call, caller_id)
    return [engine.respond(line).text for line in lines]


def test_a_slot_taken_by_another_call_before_the_yes_is_not_double_booked(demo_business: Business) -> None:
    first = demo_business.engine("call-1", "+14155550101")
    second = demo_business.engine("call-2", "+14155550102")
    for engine, name in ((first, "Ann Lee"), (second, "Bob Ray")):
        engine.respond("Book me with Dr. Martin tomorrow at 10 am")
        engine.respond(name)
        assert "Shall I book it?" in engine.respond("yes").text
    assert first.respond("yes").text.startswith("You're booked")
    taken = second.respond("yes").text
    assert taken.startswith("Sorry, that time was just taken.") and "I can offer" in taken
    assert [a["call_id"] for a in demo_business.calendar.store.actions()] == ["call-1"]


def test_a_closed_day_offers_the_next_open_one(demo_business: Business) -> None:
    reply = talk(demo_business, "Can I come on Sunday at 10 am?")[0]
    assert reply.startswith("We're closed on Sundays. I can offer Monday, November 30 at 9:30 AM or 10 AM")


def test_a_past_time_is_refused(demo_business: Business) -> None:
    reply = talk(demo_business, "I'd like an appointment today at 8 am")[0]
    assert reply.startswith("That time has already passed.")


def test_an_unknown_provider_is_named_and_the_real_ones_offered(demo_business: Business) -> None:
    reply = talk(demo_business, "I want to see Dr. House tomorrow")[0]
    assert reply.startswith("We don't have Dr. House here; you can see Dr. Martin, Dr. Lopez or Nurse Kim.")


def test_a_phone_number_can_be_typed_on_the_keypad(demo_business: Business) -> None:
    engine = demo_business.engine("keys", None)
    engine.respond("I'd like to book tomorrow at 11 am")
    assert engine.respond("Maya Angelou").text == "What's the best phone number to reach you?"
    assert [engine.on_dtmf(d) for d in "4155552671"] == [None] * 10
    reply = engine.on_dtmf("#")
    assert reply is not None and "for Maya Angelou, reachable at +1 415 555 2671. Shall I book it?" in reply.text
    assert engine.respond("yes").text.startswith("You're booked")
    (action,) = demo_business.calendar.store.actions("keys")
    assert action["args"]["phone"] == "+14155552671"


def test_key_zero_hands_over_and_other_keys_get_a_hint(demo_business: Business) -> None:
    engine = demo_business.engine("keys", None)
    hint = engine.on_dtmf("5")
    assert hint is not None and "press 0" in hint.text and not hint.transfer
    zero = engine.on_dtmf("0")
    assert zero is not None and zero.transfer


def test_after_a_failed_transfer_a_message_is_taken(demo_business: Business) -> None:
    engine = demo_business.engine("t", "+14155550142")
    assert engine.respond("Can I talk to a person?").transfer
    assert "take a message" in engine.on_transfer_failed().text
    engine.respond("Karen Page")
    engine.respond("yes")
    engine.respond("Please call me about my invoice")
    engine.respond("yes")
    (action,) = demo_business.calendar.store.actions("t")
    assert action["tool"] == "take_message" and action["args"]["caller_name"] == "Karen Page"


def test_silence_then_goodbye(demo_business: Business) -> None:
    engine = demo_business.engine("s", None)
    assert engine.on_silence(1).text == "Are you still there?" and not engine.on_silence(1).end_call
    assert engine.on_silence(2).end_call


def test_profile_reply_overrides(tmp_path: Path, demo_business: Business) -> None:
    source = load_profile().path.read_text(encoding="utf-8")
    profile = tmp_path / "clinic.toml"
    profile.write_text(source + '\n[replies.en]\ngreeting = "Hello, {business} here. What can I do for you?"\n')
    for name in ("demo-clinic.faq.md", "demo-clinic.faq.fr.md", "demo-clinic.faq.es.md"):
        (tmp_path / name).write_text((load_profile().path.parent / name).read_text(encoding="utf-8"))
    business = Business(load_profile(profile), demo_business.calendar.store)
    assert business.engine(None).greeting().text == "Hello, Demo Clinic here. What can I do for you?"


# -- profile and tools ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (('kind = "clinic"', 'kind = "spa"'), 'kind = "spa" is not a known kind; use one of clinic, dental, smb, shop'),
        (('sunday = "closed"', 'sunday = "9-5"'), 'sunday = "9-5" is not a time range'),
        (('timezone = "America/New_York"', 'timezone = "Mars/Olympus"'), "is not an IANA time zone"),
        (("slot_min = 30", "slot_min = 0"), "[calendar] slot_min = 0 must be a whole number above 0"),
        (
            ('services = ["consultation"]', 'services = ["surgery"]'),
            'services: "surgery" is not the name of a [[services]]',
        ),
        (("[booking]", "[bookings]"), "top level: bookings is not a known key"),
        (('"demo-clinic.faq.md", ', '"missing.md", '), '[knowledge] files "missing.md" does not exist'),
        (('languages = ["en", "fr", "es"]', 'languages = ["en", "de"]'), '[business] languages: "de" is not supported'),
    ],
)
def test_profile_errors_name_the_key_and_the_fix(tmp_path: Path, edit: tuple[str, str], message: str) -> None:
    source = load_profile().path.read_text(encoding="utf-8")
    assert edit[0] in source
    path = tmp_path / "profile.toml"
    path.write_text(source.replace(edit[0], edit[1], 1))
    for name in ("demo-clinic.faq.md", "demo-clinic.faq.fr.md", "demo-clinic.faq.es.md"):
        (tmp_path / name).write_text("## Q\nA\n")
    with pytest.raises(ConfigError) as err:
        load_profile(path)
    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (Action("create_booking", {"patient_name": "A", "start": "tomorrow"}), "start: 'tomorrow' does not match"),
        (Action("create_booking", {"start": "2026-11-24T10:00"}), "'patient_name' is a required property"),
        (Action("send_sms", {"to": "555-1234", "text": "hi"}), "to: '555-1234' does not match"),
        (Action("cancel_booking", {"patient_name": "A", "all": True}), "Additional properties are not allowed"),
        (Action("delete_everything", {}), "unknown tool 'delete_everything'"),
    ],
)
def test_tool_arguments_are_checked_before_anything_happens(action: Action, message: str) -> None:
    with pytest.raises(ToolError, match=message.replace("(", r"\(").replace("[", r"\[")):
        validate(action)


def test_a_stored_action_is_schema_valid(demo_business: Business) -> None:
    talk(demo_business, "Please text me your address", "yes", "yes")
    (action,) = demo_business.calendar.store.actions("c1")
    assert validate(Action(action["tool"], action["args"])) and action["state"] == "pending"


# -- command line -----------------------------------------------------------------------------------


def test_scenarios_command_reports_each_result_and_fails_on_any(tmp_path: Path, env: dict[str, str]) -> None:
    good = SCENARIOS / "handover.json"
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "name": "expects a booking that the caller never asked for",
                "now": "2026-11-23T09:00:00",
                "turns": ["What are your opening hours?"],
                "expect": {"actions": [{"tool": "create_booking", "args": {"patient_name": "X"}}]},
            }
        )
    )
    ok = run_appliance(["scenarios", "run", str(good), "--json"], env)
    assert ok.returncode == 0, ok.stderr
    results = json.loads(ok.stdout)
    assert {"name", "passed", "actions", "replies", "transferred"} <= set(results[0])
    assert all(r["passed"] for r in results)
    failed = run_appliance(["scenarios", "run", str(good), str(bad)], env)
    assert failed.returncode == 1
    assert "FAIL  expects a booking that the caller never asked for" in failed.stdout
    assert "expected action not produced" in failed.stdout


def test_chat_command_converses_on_text(env: dict[str, str]) -> None:
    chat = subprocess.run(
        [*APPLIANCE, "chat", "--now", "2026-11-23T09:00:00"],
        input="What are your opening hours?\nno thanks bye\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert chat.returncode == 0, chat.stderr
    lines = chat.stdout.splitlines()
    assert lines[0] == "appliance: Thank you for calling Demo Clinic. How can I help you today?"
    assert lines[1].startswith("appliance: We're open Monday to Friday, from 8 AM to noon")
    assert lines[2].endswith("Goodbye! [hangs up]")


def test_the_caller_id_number_is_never_read_out(demo_business: Business) -> None:
    replies = talk(demo_business, "I'd like to leave a message", "Karen White", "yes", "I'll be late", "yes")
    assert "we'll reach you on the number you're calling from. Shall I send it?" in replies[3]
    assert not any("555" in r or "415" in r for r in replies)
    spoken = talk(demo_business, "Please have someone call me back", "Ann Lee", "no", "646 555 0134", "anytime")
    assert (
        "We'll call you back as soon as we can at +1 646 555 0134" in spoken[-1]
    )  # a number the caller said is read back


def test_every_declared_flow_has_its_conversation_its_action_and_its_questions() -> None:
    from appliance.dialog.engine import DialogueEngine
    from appliance.dialog.flows import FLOWS, KINDS, QUESTIONS
    from appliance.dialog.replies import TEMPLATES
    from appliance.dialog.tools import SCHEMAS

    for name, spec in FLOWS.items():
        assert callable(getattr(DialogueEngine, f"_flow_{name}", None)), name
        assert spec.tool is None or spec.tool in SCHEMAS, name
        assert spec.kinds and spec.kinds <= set(KINDS), name
        assert set(spec.slots) <= set(QUESTIONS), name
    for language, templates in TEMPLATES.items():
        missing = sorted(k for k in QUESTIONS.values() if k not in templates)
        assert not missing, f"{language} lacks the questions {missing}"


def test_each_language_pack_says_and_reads_everything_the_others_do() -> None:
    from dataclasses import fields

    from appliance.dialog.languages import PACKS

    assert set(PACKS) == {"en", "fr", "es"}
    keys = {code: set(pack.templates) for code, pack in PACKS.items()}
    for code, pack in PACKS.items():
        assert keys[code] == keys["en"], f"{code} templates differ: {keys[code] ^ keys['en']}"
        assert [name for name, _ in pack.intents] == [name for name, _ in PACKS["en"].intents], code
        empty = [f.name for f in fields(pack) if f.name != "articles" and not getattr(pack, f.name)]
        assert not empty, f"{code} has nothing for {empty}"


@pytest.mark.parametrize(
    ("asked", "language", "offer"),
    [
        ("hi is doctor lopez there", "en", "Dr. Lopez can't come to the phone right now"),
        ("bonjour, est-ce que le docteur lopez est là ?", "fr", "Dr. Lopez n'est pas disponible"),
        ("hola, ¿está el doctor lopez?", "es", "Dr. Lopez no puede atenderle"),
    ],
)
def test_asking_for_a_person_offers_a_message_for_them(
    demo_business: Business, asked: str, language: str, offer: str
) -> None:
    # "Is Dr. Lopez there?" is no booking: the caller hears that they cannot come to the phone, and the
    # message they then leave is for that person.
    engine = demo_business.engine("c1", "+14155550142")
    assert engine.respond(asked).text.startswith(offer)
    for line in {
        "en": ("yes", "Ann Lee", "yes", "please call me about my results", "yes"),
        "fr": ("oui", "Anne Lefort", "oui", "qu'il me rappelle pour mes résultats", "oui"),
        "es": ("sí", "Ana López", "sí", "que me llame por mis resultados", "sí"),
    }[language]:
        engine.respond(line)
    (action,) = demo_business.calendar.store.actions()
    assert action["tool"] == "take_message" and action["args"]["recipient"] == "Dr. Lopez", action


def test_an_orders_file_exported_from_a_spreadsheet_is_read(tmp_path: Path) -> None:
    """Excel and LibreOffice write a byte-order mark and capitalised headers ("Number", "Status")."""
    shop = (ROOT / "tests" / "scenarios" / "profiles" / "corner-shop.toml").read_text()
    orders = tmp_path / "orders.csv"
    orders.write_text("\ufeffNumber,Status,Amount\n20001,shipped on Monday,12.50\n", encoding="utf-8")
    profile = tmp_path / "shop.toml"
    profile.write_text(shop.replace("corner-shop.orders.csv", str(orders)))
    business = Business(load_profile(profile), None)
    engine = business.engine("call-1", "+17205550111")
    engine.greeting()
    assert "shipped on Monday" in engine.respond("where is my order 20001").text
