"""Appointment reminders: planned once per booking time, placed within the call hours, never twice, and the
patient's confirm / cancel / change / "don't call me" handled by the receptionist's own flows."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from appliance.dialog.engine import Business
from appliance.dialog.profile import Reminders, load_profile
from appliance.dialog.reminder import ReminderCall
from appliance.errors import ConfigError
from appliance.outbound.reminders import ReminderBook
from appliance.store import Store

NOON = datetime(2026, 11, 24, 12, 0)  # a Tuesday, inside the default call hours


def book_for(store: Store, start: datetime, phone: str = "+14155550142", provider: str = "Dr. Martin") -> str:
    booking_id = uuid.uuid4().hex
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO bookings (id, patient_name, start, end, provider, phone, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                booking_id,
                "Robert Chen",
                start.strftime("%Y-%m-%dT%H:%M"),
                (start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
                provider,
                phone,
                "2026-11-20T10:00:00",
            ),
        )
    return booking_id


def reminders_book(tmp_path: Path, **settings: object) -> ReminderBook:
    profile = dataclasses.replace(load_profile(), reminders=Reminders(channel="call", **settings))  # type: ignore[arg-type]
    return ReminderBook(Store(tmp_path / "a.db"), profile, lease_s=60)


def states(book: ReminderBook) -> list[tuple[str, str, int]]:
    rows = book.store.query("SELECT state, outcome, attempts FROM reminders ORDER BY created_at", [])
    return [(r["state"], r["outcome"], r["attempts"]) for r in rows]


def test_each_booking_within_the_lead_time_gets_one_reminder_however_often_it_is_planned(tmp_path: Path) -> None:
    book = reminders_book(tmp_path)
    book_for(book.store, NOON + timedelta(hours=20))
    book_for(book.store, NOON + timedelta(hours=30))  # beyond 24 h: later
    book_for(book.store, NOON + timedelta(hours=3), phone="")  # no number to call
    blocked = book_for(book.store, NOON + timedelta(hours=5), phone="+14155550199")
    book.do_not_call("+14155550199", "asked")
    assert book.plan(NOON) == 1
    assert book.plan(NOON) == 0 and book.plan(NOON + timedelta(minutes=5)) == 0
    assert len(states(book)) == 1
    assert not book.store.query("SELECT 1 FROM reminders WHERE booking_id = ?", [blocked])
    off = ReminderBook(book.store, load_profile())  # the shipped profile: reminders off
    assert off.plan(NOON) == 0


def test_calls_are_placed_only_within_the_call_hours_and_skip_changed_bookings(tmp_path: Path) -> None:
    book = reminders_book(tmp_path)
    moved = book_for(book.store, NOON + timedelta(hours=4))
    cancelled = book_for(book.store, NOON + timedelta(hours=5))
    kept = book_for(book.store, NOON + timedelta(hours=6))
    assert book.plan(NOON) == 3
    assert book.claim(local=NOON.replace(hour=21)) is None, "not in the evening"
    assert book.claim(local=NOON + timedelta(days=5)) is None, "not on Sunday"
    with book.store.transaction() as conn:
        conn.execute("UPDATE bookings SET start = '2026-11-25T09:00' WHERE id = ?", (moved,))
        conn.execute("UPDATE bookings SET status = 'cancelled' WHERE id = ?", (cancelled,))
    claimed = book.claim(local=NOON)
    assert claimed is not None and claimed.booking_id == kept and claimed.attempts == 1
    assert book.claim(local=NOON) is None
    skipped = book.store.query("SELECT booking_id, last_error FROM reminders WHERE state = 'skipped'", [])
    assert {r["booking_id"] for r in skipped} == {moved, cancelled}


def test_busy_and_no_answer_are_tried_again_then_the_reminder_fails(tmp_path: Path) -> None:
    book = reminders_book(tmp_path, attempts=2, retry_minutes=1)
    book_for(book.store, NOON + timedelta(hours=4))
    book.plan(NOON)
    first = book.claim(local=NOON)
    assert first is not None and book.settle(first.id, "busy") == "pending"
    assert book.claim(local=NOON) is None, "not before the retry delay"
    second = book.claim(now=time.time() + 61, local=NOON)
    assert second is not None and second.id == first.id and second.attempts == 2
    assert book.settle(second.id, "no_answer") == "failed"
    assert states(book) == [("failed", "no_answer", 2)]


def test_a_message_left_on_a_machine_settles_the_reminder_and_no_message_does_not(tmp_path: Path) -> None:
    book = reminders_book(tmp_path, attempts=2, retry_minutes=1)
    book_for(book.store, NOON + timedelta(hours=4))
    book_for(book.store, NOON + timedelta(hours=5), "+14155550143")
    book.plan(NOON)
    left, silent = book.claim(local=NOON), book.claim(local=NOON)
    assert left is not None and silent is not None
    assert book.settle(left.id, "voicemail", "message_left") == "done"
    assert book.settle(silent.id, "voicemail") == "pending"  # [reminders] voicemail = "none": nobody was told


def test_two_workers_never_claim_the_same_reminder(tmp_path: Path) -> None:
    book = reminders_book(tmp_path)
    for n in range(30):
        book_for(book.store, NOON + timedelta(hours=2, minutes=n), phone=f"+1415555{n:04d}")
    book.plan(NOON)
    other = ReminderBook(Store(tmp_path / "a.db"), book.profile)  # a second process on the same file
    claimed: list[str] = []

    def work(worker: ReminderBook) -> None:
        while (reminder := worker.claim(local=NOON)) is not None:
            claimed.append(reminder.id)

    threads = [threading.Thread(target=work, args=(w,)) for w in (book, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(claimed) == 30 and len(set(claimed)) == 30


def test_a_crash_after_the_answer_never_calls_again_and_one_while_ringing_does(tmp_path: Path) -> None:
    book = reminders_book(tmp_path)
    book_for(book.store, NOON + timedelta(hours=2))
    book_for(book.store, NOON + timedelta(hours=3), phone="+14155550199")
    book.plan(NOON)
    reached, ringing = book.claim(local=NOON), book.claim(local=NOON)
    assert reached is not None and ringing is not None
    book.answered(reached.id, "call-1")
    # The worker dies here (kill -9): its leases run out, a new one starts.
    later = time.time() + 61
    assert book.recover(now=later) == 2
    rows = {r["id"]: (r["state"], r["outcome"]) for r in book.store.query("SELECT * FROM reminders", [])}
    assert rows[reached.id] == ("done", "interrupted") and rows[ringing.id] == ("pending", "interrupted")
    again = book.claim(now=later, local=NOON)
    assert again is not None and again.id == ringing.id and again.attempts == 2
    assert book.claim(now=later, local=NOON) is None


def test_a_worker_s_calls_in_progress_stay_its_own_while_it_renews_them(tmp_path: Path) -> None:
    book = reminders_book(tmp_path)  # leases of 60 s
    book_for(book.store, NOON + timedelta(hours=2))
    book_for(book.store, NOON + timedelta(hours=3), phone="+14155550199")
    book.plan(NOON)
    talking, ringing = book.claim(local=NOON), book.claim(local=NOON)
    assert talking is not None and ringing is not None
    book.answered(talking.id, "call-1")
    start = time.time()
    for tick in range(1, 13):  # a ten-minute call, the campaign renewing every 10 s
        book.renew([talking.id, ringing.id], now=start + 10 * tick)
        assert book.recover(now=start + 10 * tick + 1) == 0
    book.renew([talking.id], now=start + 130)  # the ringing one is not renewed any more (its worker died)
    assert book.recover(now=start + 185) == 1  # its lease ran out at 180 s; the call still talking, at 190 s
    assert states(book) == [("answered", "answered", 1), ("pending", "interrupted", 1)]


def test_the_profile_s_reminders_section_is_checked(tmp_path: Path) -> None:
    source = load_profile().path.read_text(encoding="utf-8")
    for name in ("demo-clinic.faq.md", "demo-clinic.faq.fr.md", "demo-clinic.faq.es.md"):
        (tmp_path / name).write_text((load_profile().path.parent / name).read_text(encoding="utf-8"))
    path = tmp_path / "p.toml"
    path.write_text(source + '\n[reminders]\nchannel = "call"\ncall_hours = "10:00-18:30"\ncall_days = ["monday"]\n')
    reminders = load_profile(path).reminders
    assert reminders.channel == "call" and reminders.call_days == (0,) and reminders.call_hours[1].minute == 30
    for bad, message in (
        ('channel = "fax"', 'must be "call", "sms", "whatsapp" or "off"'),
        ('channel = "whatsapp"\nconsent = "opt_out"', "WhatsApp"),
        ('consent = "maybe"', 'must be "opt_in" or "opt_out"'),
        ('call_hours = "19:00-09:00"', "ends before it starts"),
        ('call_days = ["funday"]', "is not a weekday"),
        ('voicemail = "full"', 'must be "brief", "detailed" or "none"'),
    ):
        path.write_text(source + f"\n[reminders]\n{bad}\n")
        with pytest.raises(ConfigError, match=message):
            load_profile(path)


# -- the reminder call's dialogue ---------------------------------------------------------------


def reminder_call(demo_business: Business, tmp_path: Path) -> tuple[ReminderCall, ReminderBook, dict[str, object]]:
    store = demo_business.calendar.store
    booking_id = book_for(store, datetime(2026, 11, 24, 10, 0))
    (booking,) = store.query("SELECT * FROM bookings WHERE id = ?", [booking_id])
    book = ReminderBook(store, demo_business.profile)
    engine = demo_business.engine("reminder-call", "+14155550142")
    call = ReminderCall(
        engine,
        booking,
        on_confirm=lambda: book.confirm(booking_id),
        on_opt_out=lambda: book.do_not_call("+14155550142", "asked"),
    )
    return call, book, booking


def test_the_reminder_says_who_calls_and_a_spoken_confirm_is_recorded(demo_business: Business, tmp_path: Path) -> None:
    call, book, booking = reminder_call(demo_business, tmp_path)
    greeting = call.greeting().text
    assert greeting.startswith("Hello, this is the automated assistant of Demo Clinic")
    assert "Dr. Martin on Tuesday, November 24 at 10 AM" in greeting and "Robert" not in greeting
    reply = call.respond("Yes, I confirm, thank you.")
    assert reply.end_call and "confirmed" in reply.text and call.reply == "confirmed"
    (row,) = book.store.query("SELECT status, confirmed_at FROM bookings", [])
    assert row["status"] == "booked" and row["confirmed_at"]


def test_cancel_is_read_back_before_it_is_written_and_keys_work_too(demo_business: Business, tmp_path: Path) -> None:
    call, book, _ = reminder_call(demo_business, tmp_path)
    question = call.on_dtmf("2")
    assert question is not None and "cancel" in question.text.lower()
    assert book.store.query("SELECT status FROM bookings", []) == [{"status": "booked"}], "not before the yes"
    done = call.on_dtmf("1")
    assert done is not None and "cancelled" in done.text
    assert book.store.query("SELECT status FROM bookings", []) == [{"status": "cancelled"}]
    assert [a["tool"] for a in book.store.actions("reminder-call")] == ["cancel_booking"]


def test_change_moves_the_booking_through_the_reschedule_flow(demo_business: Business, tmp_path: Path) -> None:
    call, book, _ = reminder_call(demo_business, tmp_path)
    assert "instead" in call.respond("Can I change it?").text
    offer = call.respond("Wednesday at 11 am please")
    assert "Wednesday" in offer.text, offer.text
    call.respond("Yes")
    (row,) = book.store.query("SELECT start, moved_from FROM bookings", [])
    assert row["start"] == "2026-11-25T11:00" and row["moved_from"] == "2026-11-24T10:00"


def test_a_patient_who_asks_not_to_be_called_is_put_on_the_list(demo_business: Business, tmp_path: Path) -> None:
    call, book, _ = reminder_call(demo_business, tmp_path)
    assert call.respond("Please stop calling me.").end_call
    assert [r["phone"] for r in book.store.query("SELECT phone FROM do_not_call", [])] == ["+14155550142"]
    assert book.store.query("SELECT status FROM bookings", []) == [{"status": "booked"}]


def test_a_french_patient_confirms_in_french(demo_business: Business, tmp_path: Path) -> None:
    call, _, _ = reminder_call(demo_business, tmp_path)
    call.engine.language = "fr"
    assert "rappelons votre rendez-vous avec Dr. Martin le mardi 24 novembre à 10 h" in call.greeting().text
    assert call.respond("Oui, je confirme.", "fr").text.startswith("Merci, votre rendez-vous")


def test_a_failing_round_does_not_stop_the_campaign(tmp_path: Path) -> None:
    # SMS reminders, at any hour: the first round hits a store error, the next one sends the text.
    import asyncio
    from datetime import time as clock

    from appliance.config import ApplianceConfig
    from appliance.outbound.campaign import Campaign

    settings = Reminders(channel="sms", call_hours=(clock(0, 0), clock(23, 59)), call_days=tuple(range(7)))
    profile = dataclasses.replace(load_profile(), reminders=settings)
    store = Store(tmp_path / "a.db")
    book = ReminderBook(store, profile)
    book_for(store, book.local_now() + timedelta(hours=2))
    plan, failures = book.plan, []

    def plan_failing_once() -> int:
        if not failures:
            failures.append("locked")
            raise RuntimeError("database is locked")
        return plan()

    book.plan = plan_failing_once  # type: ignore[method-assign]
    campaign = Campaign(book, Business(profile, store), None, None, ApplianceConfig())  # type: ignore[arg-type]

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(campaign.run(stop, every_s=0.05))
        for _ in range(100):
            await asyncio.sleep(0.05)
            if store.query("SELECT * FROM reminders WHERE state = 'done'", []):
                break
        stop.set()
        await task

    asyncio.run(run())
    assert failures == ["locked"]
    assert [r["tool"] for r in store.actions()] == ["send_sms"]
    assert states(book) == [("done", "sent", 1)]


# -- consent --------------------------------------------------------------------------------------


def say_consent(store: Store, phone: str, channel: str, granted: bool) -> None:
    from appliance.store import consent as consents

    with store.transaction() as conn:
        consents.record(conn, phone, channel, granted, "front desk")


def test_opt_in_reminds_only_a_recorded_yes_and_a_refusal_wins_over_opt_out(tmp_path: Path) -> None:
    book = reminders_book(tmp_path, consent="opt_in")
    yes, no, never = "+14155550101", "+14155550102", "+14155550103"
    for n, phone in enumerate((yes, no, never)):
        book_for(book.store, NOON + timedelta(hours=2 + n), phone=phone)
    say_consent(book.store, yes, "call", True)
    say_consent(book.store, no, "call", False)
    say_consent(book.store, never, "sms", True)  # a yes to texts is not a yes to calls
    assert book.plan(NOON) == 1
    assert [r["phone"] for r in book.store.query("SELECT phone FROM reminders", [])] == [yes]
    opt_out = ReminderBook(book.store, dataclasses.replace(book.profile, reminders=Reminders(channel="call")))
    assert opt_out.plan(NOON) == 1, "opt-out: the one never asked is reminded, the one who said no is not"
    assert sorted(r["phone"] for r in book.store.query("SELECT phone FROM reminders", [])) == [yes, never]


def test_a_refusal_recorded_after_planning_stops_the_reminder(tmp_path: Path) -> None:
    book = reminders_book(tmp_path)
    book_for(book.store, NOON + timedelta(hours=2))
    assert book.plan(NOON) == 1
    say_consent(book.store, "+14155550142", "call", False)  # the patient rang the desk meanwhile
    assert book.claim(local=NOON) is None
    (row,) = book.store.query("SELECT state, last_error FROM reminders", [])
    assert row == {"state": "skipped", "last_error": "the patient refused these reminders"}


WHATSAPP_TOML = (
    '[[connector]]\nname = "wa"\nkind = "whatsapp"\ntools = ["create_booking", "send_reminder"]\n'
    'token_env = "WA_TOKEN"\nphone_number_id = "106540352242922"\n'
)


def whatsapp_profile(tmp_path: Path) -> tuple[Business, ReminderBook]:
    from datetime import time as clock

    from appliance.integrations.connectors import load_connectors
    from appliance.integrations.outbox import Outbox

    (tmp_path / "integrations.toml").write_text(WHATSAPP_TOML)
    connectors = load_connectors(tmp_path / "integrations.toml", {"WA_TOKEN": "t"})
    settings = Reminders(
        channel="whatsapp", consent="opt_in", call_hours=(clock(0, 0), clock(23, 59)), call_days=tuple(range(7))
    )
    profile = dataclasses.replace(load_profile(), reminders=settings)
    store = Store(tmp_path / "a.db")
    business = Business(profile, store, outbox=Outbox(store, connectors), clock=lambda: NOON)
    return business, ReminderBook(store, profile)


def test_a_booking_call_asks_for_whatsapp_reminders_and_records_the_answer(tmp_path: Path) -> None:
    business, _ = whatsapp_profile(tmp_path)
    engine = business.engine("c1", "+14155550142")
    replies = [engine.respond(t).text for t in ("Book me with Dr. Martin tomorrow at 10 am", "Robert Chen", "yes")]
    assert replies[-1] == "Would you like a reminder on WhatsApp before your appointment?"
    readback = engine.respond("yes please").text
    assert "with a reminder on WhatsApp" in readback and readback.endswith("Shall I book it?")
    assert engine.respond("yes").text.startswith("You're booked")
    store = business.store
    (consent,) = store.query("SELECT phone, channel, granted, source, call_id FROM consent", [])
    assert consent == {
        "phone": "+14155550142",
        "channel": "whatsapp",
        "granted": 1,
        "source": "asked on the booking call",
        "call_id": "c1",
    }
    assert [r["connector"] for r in store.query("SELECT connector FROM outbox", [])] == ["wa"]
    assert store.query("SELECT actor FROM audit WHERE action = 'whatsapp reminders consented to'", [])
    # the next call from that number is not asked again
    again = business.engine("c2", "+14155550142")
    for line in ("Book me with Dr. Martin on Friday at 11 am", "Robert Chen"):
        again.respond(line)
    assert "Shall I book it?" in again.respond("yes").text


def test_a_patient_who_says_no_gets_no_whatsapp_message_at_all(tmp_path: Path) -> None:
    business, book = whatsapp_profile(tmp_path)
    engine = business.engine("c1", "+14155550142")
    for line in ("Book me with Dr. Martin tomorrow at 10 am", "Robert Chen", "yes"):
        engine.respond(line)
    readback = engine.respond("no thanks").text
    assert "no reminder" in readback
    assert engine.respond("yes").text.startswith("You're booked")
    store = business.store
    assert [r["granted"] for r in store.query("SELECT granted FROM consent", [])] == [0]
    assert store.query("SELECT * FROM outbox", []) == [], "no WhatsApp confirmation to a patient who said no"
    assert [a["tool"] for a in store.actions()] == ["create_booking"], "the booking itself is written"
    assert book.plan(NOON) == 0


def test_a_yes_at_the_read_back_changes_the_answer(tmp_path: Path) -> None:
    business, _ = whatsapp_profile(tmp_path)
    engine = business.engine("c1", "+14155550142")
    for line in ("Book me with Dr. Martin tomorrow at 10 am", "Robert Chen", "yes", "no"):
        engine.respond(line)
    assert "with a reminder on WhatsApp" in engine.respond("actually yes send me a reminder").text
    engine.respond("yes")
    assert [r["granted"] for r in business.store.query("SELECT granted FROM consent", [])] == [1]


def test_whatsapp_reminders_go_out_as_the_template_once(tmp_path: Path) -> None:
    import asyncio

    from appliance.config import ApplianceConfig
    from appliance.outbound.campaign import Campaign

    business, book = whatsapp_profile(tmp_path)
    store = business.store
    book.local_now = lambda: NOON  # type: ignore[method-assign]
    book_for(store, NOON + timedelta(hours=2))
    book_for(store, NOON + timedelta(hours=3), phone="+14155550199")  # never asked: no reminder
    say_consent(store, "+14155550142", "whatsapp", True)
    campaign = Campaign(book, business, None, None, ApplianceConfig())  # type: ignore[arg-type]
    for _ in range(2):
        asyncio.run(campaign.tick())
    assert states(book) == [("done", "sent", 1)]
    (action,) = store.actions()
    assert action["tool"] == "send_reminder"
    assert action["args"] == {
        "phone": "+14155550142",
        "start": (NOON + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "patient_name": "Robert Chen",
        "provider": "Dr. Martin",
        "language": "en",
    }
    (payload,) = store.query("SELECT connector, payload FROM outbox", [])
    assert payload["connector"] == "wa" and '"appointment_reminder"' in payload["payload"]
