"""Callback requests the appliance places itself (``[callbacks] place = true``): planned once per request,
at the time asked for, skipped once the front desk has handled it, retried on no answer a bounded number
of times, marked called back on the desk's list when the caller was reached, and never placed twice
across a crash. The real call to a baresip phone is in tests/test_reminder_calls.py."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from appliance.dialog.profile import Callbacks, load_profile
from appliance.dialog.tools import Action
from appliance.errors import ConfigError
from appliance.integrations.outbox import Outbox
from appliance.outbound.reminders import APPLIANCE, ReminderBook
from appliance.store import Store

PHONE = "+14155550142"
NOON = datetime(2026, 11, 24, 12, 0)  # a Tuesday, inside the default call hours


def callbacks_book(tmp_path: Path, place: bool = True, attempts: int = 2) -> ReminderBook:
    profile = dataclasses.replace(load_profile(), callbacks=Callbacks(place=place, attempts=attempts, retry_minutes=0))
    store = Store(tmp_path / "a.db")
    store.migrate()
    return ReminderBook(store, profile, lease_s=60)


def request(book: ReminderBook, when: str | None = None, phone: str = PHONE) -> str:
    """A schedule_callback action as a call records it (the outbox writes it with its deliveries)."""
    args: dict[str, object] = {"caller_name": "Lena Fischer", "phone": phone}
    if when:
        args["when"] = when
    return Outbox(book.store, []).record(None, Action("schedule_callback", args))


def handled(book: ReminderBook, action_id: str) -> tuple[str, str]:
    (row,) = book.store.query("SELECT handled, handled_by FROM actions WHERE id = ?", [action_id])
    return row["handled"], row["handled_by"]


def test_a_request_is_planned_once_and_only_where_the_profile_opts_in(tmp_path: Path) -> None:
    book = callbacks_book(tmp_path)
    request(book)
    assert book.plan(NOON) == 1
    assert book.plan(NOON) == 0 and book.plan(NOON) == 0
    (row,) = book.store.query("SELECT kind, phone, channel FROM reminders", [])
    assert (row["kind"], row["phone"], row["channel"]) == ("callback", PHONE, "call")
    off = ReminderBook(book.store, load_profile())  # the shipped profile: the front desk calls back
    request(off)
    assert off.plan(NOON) == 0


def test_a_callback_asked_for_later_waits_for_its_time(tmp_path: Path) -> None:
    book = callbacks_book(tmp_path)
    later = datetime.now(book.profile.timezone).replace(tzinfo=None) + timedelta(hours=3)
    request(book, later.strftime("%Y-%m-%dT%H:%M"))
    book.plan(NOON)
    assert book.claim(local=NOON) is None, "not before the time asked for"
    claimed = book.claim(now=time.time() + 3 * 3600 + 60, local=NOON)
    assert claimed is not None and claimed.kind == "callback" and claimed.patient_name == "Lena Fischer"


def test_the_front_desk_calling_first_means_the_appliance_does_not(tmp_path: Path) -> None:
    book = callbacks_book(tmp_path)
    action = request(book)
    book.plan(NOON)
    with book.store.transaction() as conn:
        conn.execute("UPDATE actions SET handled = 'called_back', handled_by = 'maria' WHERE id = ?", (action,))
    assert book.claim(local=NOON) is None
    (row,) = book.store.query("SELECT state, last_error FROM reminders", [])
    assert (row["state"], row["last_error"]) == ("skipped", "handled at the front desk")


def test_a_caller_reached_is_off_the_desk_list_with_an_audit_row(tmp_path: Path) -> None:
    book = callbacks_book(tmp_path)
    action = request(book)
    book.plan(NOON)
    claimed = book.claim(local=NOON)
    assert claimed is not None
    book.answered(claimed.id, "call-1")
    assert book.settle(claimed.id, "answered", "reached") == "done"
    assert handled(book, action) == ("called_back", APPLIANCE)
    assert book.store.query("SELECT actor, action FROM audit WHERE detail = ?", [action]) == [
        {"actor": APPLIANCE, "action": "called a caller back"}
    ]


def test_no_answer_is_tried_again_then_left_to_the_front_desk(tmp_path: Path) -> None:
    book = callbacks_book(tmp_path, attempts=2)
    action = request(book)
    book.plan(NOON)
    first = book.claim(local=NOON)
    assert first is not None and book.settle(first.id, "no_answer") == "pending"
    second = book.claim(local=NOON)
    assert second is not None and second.attempts == 2 and book.settle(second.id, "busy") == "failed"
    assert book.claim(local=NOON) is None
    assert handled(book, action) == ("", ""), "still on the desk's list: nobody reached them"


def test_a_crash_during_the_call_never_calls_twice_and_counts_the_caller_reached(tmp_path: Path) -> None:
    book = callbacks_book(tmp_path)
    action = request(book)
    book.plan(NOON)
    claimed = book.claim(local=NOON)
    assert claimed is not None
    book.answered(claimed.id, "call-1")
    assert book.recover(now=time.time() + 120) == 1  # its lease ran out: the worker died mid-call
    assert book.claim(local=NOON) is None
    assert handled(book, action) == ("called_back", APPLIANCE)


def test_old_requests_stay_the_front_desks(tmp_path: Path) -> None:
    book = callbacks_book(tmp_path)
    action = request(book)
    stale = (datetime.now(UTC) - timedelta(hours=30)).isoformat(timespec="milliseconds")
    with book.store.transaction() as conn:
        conn.execute("UPDATE actions SET created_at = ? WHERE id = ?", (stale, action))
    assert book.plan(NOON) == 0


def test_a_wrong_callbacks_table_is_refused_with_the_fix(tmp_path: Path) -> None:
    demo = load_profile()
    path = tmp_path / "clinic.toml"
    for name in ("demo-clinic.faq.md", "demo-clinic.faq.fr.md", "demo-clinic.faq.es.md"):
        (tmp_path / name).write_text((demo.path.parent / name).read_text(encoding="utf-8"), encoding="utf-8")
    path.write_text(demo.path.read_text(encoding="utf-8") + '\n[callbacks]\nplace = "yes"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[callbacks\] place = 'yes'.*true or false"):
        load_profile(path)
