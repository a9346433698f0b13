"""Reminder calls placed by the running daemon to real SIP phones: baresip answers and confirms; a phone that
is always busy (SIPp answering 486) is tried again, then the reminder fails. The booking changes only
when the patient asks. A callback request the profile has the appliance place is called back, and the
caller talks to the receptionist."""

from __future__ import annotations

import subprocess
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import pytest
from faster_whisper import WhisperModel

from appliance.audio.files import read_audio, write_wav
from appliance.audio.frames import PIPELINE_RATE
from appliance.audio.resample import resample
from appliance.dialog.profile import load_profile
from appliance.dialog.tools import Action
from appliance.integrations.outbox import Outbox
from appliance.models.registry import ModelRegistry
from appliance.models.tts import KokoroSynthesizer
from appliance.outbound.reminders import APPLIANCE
from appliance.store import Store
from appliance.testing import baresip_setup, free_port
from tests.conftest import ROOT, daemon_store, start_daemon, transcribe, wait_for
from tests.test_reminders import book_for

pytestmark = pytest.mark.slow
TOKEN = "it-token"
PATIENT = "+14155550142"


def clinic_with_reminders(tmp_path: Path, extra: str = "") -> Path:
    """The demo clinic, reminding by call at any hour of any day (the test must not depend on the clock)."""
    demo = load_profile()
    for name in ("demo-clinic.faq.md", "demo-clinic.faq.fr.md", "demo-clinic.faq.es.md"):
        (tmp_path / name).write_text((demo.path.parent / name).read_text(encoding="utf-8"), encoding="utf-8")
    days = '["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]'
    path = tmp_path / "clinic.toml"
    path.write_text(
        demo.path.read_text(encoding="utf-8")
        + f'\n[reminders]\nchannel = "call"\ncall_hours = "00:00-23:59"\ncall_days = {days}\n{extra}',
        encoding="utf-8",
    )
    return path


def booking_in_two_hours(store: Store) -> str:
    """Robert Chen with Dr. Martin two hours from now (business time): inside the 24 h of the reminders."""
    start = datetime.now(ZoneInfo("America/New_York")).replace(tzinfo=None, second=0, microsecond=0)
    return book_for(store, start.replace(minute=0) + timedelta(hours=2), PATIENT)


def patient_phone(tmp_path: Path, audio: np.ndarray) -> tuple[Path, int]:
    """baresip as the patient's phone on a port of its own: it answers by itself and plays ``audio``
    (16 kHz) down the line, recording what it hears in ``<dir>/rec``."""
    source = tmp_path / "patient.wav"
    write_wav(source, resample(audio, PIPELINE_RATE, 8000), 8000)
    port = free_port()
    phone = baresip_setup(tmp_path / "phone", source)
    (phone / "config").write_text((phone / "config").read_text().replace("127.0.0.1:0", f"127.0.0.1:{port}"))
    (phone / "accounts").write_text(f"<sip:{PATIENT}@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMU/8000/1\n")
    return phone, port


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * PIPELINE_RATE), np.int16)


def reminder_daemon_settings(tmp_path: Path, port: int, extra: str = "") -> dict[str, str]:
    return {
        "VOCALIA_BUSINESS_PROFILE": str(clinic_with_reminders(tmp_path, extra)),
        "VOCALIA_SIP_OUTBOUND_URI": f"sip:{{number}}@127.0.0.1:{port}",
        "VOCALIA_WEB_TOKEN": TOKEN,
    }


def test_the_daemon_calls_a_patient_who_confirms_by_voice(
    env: dict[str, str], tmp_path: Path, caller_voice: KokoroSynthesizer
) -> None:
    # The patient picks up and says "Hello?", listens to the whole reminder (about 16 s), then confirms.
    hello = np.concatenate(list(caller_voice.sentences("Hello?")))
    speech = np.concatenate(list(caller_voice.sentences("Yes, I confirm my appointment.")))
    audio = np.concatenate([silence(0.5), hello, silence(20.5 - 0.5 - len(hello) / PIPELINE_RATE), speech, silence(8)])
    phone, port = patient_phone(tmp_path, audio)
    store = daemon_store(Path(env["VOCALIA_STATE_DIR"]))
    store.migrate()
    booking = booking_in_two_hours(store)
    with subprocess.Popen(
        ["baresip", "-f", str(phone), "-t", "90"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as patient:
        try:
            for daemon in start_daemon(env, **reminder_daemon_settings(tmp_path, port)):

                def settled() -> list[dict[str, object]]:
                    return store.query("SELECT * FROM reminders WHERE state IN ('done', 'failed')", [])

                (reminder,) = wait_for(settled, timeout=75, what="the reminder call to end")  # type: ignore[misc]
                turns = store.turns(str(reminder["call_id"]))
                heard = [(t["caller_text"], t["reply_text"], t["eot_reason"]) for t in turns]
                assert (reminder["outcome"], reminder["reply"], reminder["attempts"]) == ("answered", "confirmed", 1), (
                    heard
                )
                (row,) = store.query("SELECT status, confirmed_at FROM bookings WHERE id = ?", [booking])
                assert row["status"] == "booked" and row["confirmed_at"]
                assert turns and "confirm" in turns[0]["caller_text"].lower(), turns
                assert "automated assistant" in turns[0]["reply_text"] or "confirmed" in turns[0]["reply_text"]
                metrics = httpx.get(
                    f"http://127.0.0.1:{daemon.web_port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
                ).text
                assert 'vocalia_reminders{reply="confirmed"} 1' in metrics
                time.sleep(12)  # a second tick of the campaign: nothing is placed twice
                assert len(store.query("SELECT * FROM reminders", [])) == 1
                assert len(store.query("SELECT * FROM calls", [])) == 1
        finally:
            patient.terminate()
            log, _ = patient.communicate(timeout=15)
    assert log.count("Call established") == 1, log  # the patient was called once


def test_through_the_pbx_a_patient_cancels_by_voice(
    env: dict[str, str], tmp_path: Path, caller_voice: KokoroSynthesizer, kamailio: int
) -> None:
    # Both the appliance and the patient's phone are registered with the PBX (kamailio); the reminder goes
    # out through the appliance's account, and the PBX finds the phone by its registration. The patient
    # cancels, hears it read back, and says yes.
    said = [np.concatenate(list(caller_voice.sentences(t))) for t in ("Hello?", "I need to cancel it.", "Yes.")]
    at_s = (0.5, 20.5, 32.0)
    audio = silence(40)
    for words, start in zip(said, at_s, strict=True):
        audio[int(start * PIPELINE_RATE) : int(start * PIPELINE_RATE) + len(words)] = words
    phone, _ = patient_phone(tmp_path, audio)
    (phone / "accounts").write_text(
        f"<sip:{PATIENT}@127.0.0.1:{kamailio}>;auth_pass=s3cret;regint=60;answermode=auto;audio_codecs=PCMU/8000/1\n"
    )
    store = daemon_store(Path(env["VOCALIA_STATE_DIR"]))
    store.migrate()
    booking = booking_in_two_hours(store)
    account = {
        "VOCALIA_BUSINESS_PROFILE": str(clinic_with_reminders(tmp_path)),
        "VOCALIA_SIP_REGISTRAR": f"sip:127.0.0.1:{kamailio}",
        "VOCALIA_SIP_USERNAME": "reception",
        "VOCALIA_SIP_PASSWORD": "s3cret",
    }
    with subprocess.Popen(
        ["baresip", "-f", str(phone), "-t", "120"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as patient:
        try:
            for _ in start_daemon(env, **account):
                (reminder,) = wait_for(  # type: ignore[misc]
                    lambda: store.query("SELECT * FROM reminders WHERE state IN ('done', 'failed')", []),
                    timeout=90,
                    what="the reminder call to end",
                )
                turns = store.turns(str(reminder["call_id"]))
                heard = [(t["caller_text"], t["reply_text"], round(t["speech_start_s"], 1)) for t in turns]
                assert (reminder["outcome"], reminder["reply"]) == ("answered", "cancelled"), heard
                (row,) = store.query("SELECT status FROM bookings WHERE id = ?", [booking])
                assert row["status"] == "cancelled", heard
        finally:
            patient.terminate()
            log, _ = patient.communicate(timeout=15)
    assert "200 OK (kamailio" in log, log  # the phone registered with the PBX, which found it for the call
    assert "from sip:reception@127.0.0.1" in log, log  # the call came from the appliance's account
    assert log.count("Call established") == 1, log


def test_an_answering_machine_gets_a_message_without_health_details(
    env: dict[str, str], tmp_path: Path, listener: WhisperModel
) -> None:
    # The patient's voicemail: a greeting in a voice of its own, a beep, then it records.
    machine = KokoroSynthesizer(
        ModelRegistry(tmp_path / "cache").resolve_voice("kokoro-am-michael"), "en", 1, PIPELINE_RATE
    )
    greeting = np.concatenate(
        list(
            machine.sentences(
                "Hi, you've reached Robert. I can't take your call right now. Please leave a message after the tone."
            )
        )
    )
    t = np.arange(int(0.5 * PIPELINE_RATE)) / PIPELINE_RATE
    beep = (8000 * np.sin(2 * np.pi * 1000 * t)).astype(np.int16)
    audio = np.concatenate([silence(0.6), greeting, silence(0.4), beep, silence(30)])
    after_beep_s = (len(audio) - len(silence(30))) / PIPELINE_RATE
    phone, port = patient_phone(tmp_path, audio)
    store = daemon_store(Path(env["VOCALIA_STATE_DIR"]))
    store.migrate()
    booking = booking_in_two_hours(store)
    with subprocess.Popen(
        ["baresip", "-f", str(phone), "-t", "90"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as patient:
        try:
            for _ in start_daemon(env, **reminder_daemon_settings(tmp_path, port)):
                (reminder,) = wait_for(  # type: ignore[misc]
                    lambda: store.query("SELECT * FROM reminders WHERE state IN ('done', 'failed')", []),
                    timeout=75,
                    what="the reminder call to end",
                )
                assert (reminder["state"], reminder["outcome"], reminder["reply"]) == (
                    "done",
                    "voicemail",
                    "message_left",
                )
                assert store.query("SELECT status, confirmed_at FROM bookings WHERE id = ?", [booking]) == [
                    {"status": "booked", "confirmed_at": ""}
                ]
                (call,) = store.query("SELECT end_reason FROM calls", [])
                assert call["end_reason"] == "voicemail"
        finally:
            patient.terminate()
            patient.communicate(timeout=15)
    (recording,) = sorted((phone / "rec").glob("*-dec.wav"))
    rate = 8000
    heard = read_audio(recording, rate, max_seconds=120)
    message = heard[int(after_beep_s * rate) :]  # what the tape recorded after its beep
    tape = tmp_path / "tape.wav"
    write_wav(tape, message, rate)
    words = transcribe(listener, tape)
    # the whole message, from its start after the beep to its goodbye ("Demo Clinic" is often "democratic")
    for part in ("this is the automated assistant of demo", "upcoming appointment", "call us back", "bye"):
        assert part in words, words
    assert "martin" not in words and "appointment" in words, words  # no provider: only that one is coming
    assert "confirm" not in words, words  # the reminder's questions were not asked of a tape


def test_a_busy_phone_is_tried_again_then_the_reminder_fails(env: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    cmd = ["sipp", "-sf", str(ROOT / "tests" / "sipp" / "busy.xml"), "-i", "127.0.0.1", "-p", str(port)]
    cmd += ["-m", "2", "-timeout", "120", "-nostdin", "-bg"]
    store = daemon_store(Path(env["VOCALIA_STATE_DIR"]))
    store.migrate()
    booking = booking_in_two_hours(store)
    profile = clinic_with_reminders(tmp_path, "attempts = 2\nretry_minutes = 1\n")
    with subprocess.Popen(cmd[:-1], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path) as phone:
        try:
            for _ in start_daemon(
                env, VOCALIA_BUSINESS_PROFILE=str(profile), VOCALIA_SIP_OUTBOUND_URI=f"sip:{{number}}@127.0.0.1:{port}"
            ):

                def attempts() -> list[dict[str, object]]:
                    return store.query("SELECT * FROM reminders WHERE attempts >= 1 AND state = 'pending'", [])

                (first,) = wait_for(attempts, timeout=30, what="the first attempt")  # type: ignore[misc]
                assert first["outcome"] == "busy"
                # The retry waits a minute; the clinic's staff would not wait for the test: bring it forward.
                with store.transaction() as conn:
                    conn.execute("UPDATE reminders SET next_attempt_at = 0")
                failed = wait_for(
                    lambda: store.query("SELECT * FROM reminders WHERE state = 'failed'", []),
                    timeout=40,
                    what="failure",
                )
                assert [(r["outcome"], r["attempts"]) for r in failed] == [("busy", 2)]  # type: ignore[attr-defined]
                assert store.query("SELECT status FROM bookings WHERE id = ?", [booking]) == [{"status": "booked"}]
                assert store.query("SELECT * FROM calls", []) == [], "no call was answered"
        finally:
            phone.terminate()
            phone.wait(timeout=15)


def test_a_daemon_killed_mid_campaign_reaches_every_patient_once(env: dict[str, str], tmp_path: Path) -> None:
    # 50 patients to remind; their phones (SIPp) answer and hang up 1.5 s later. The daemon is killed with
    # SIGKILL while calls are up, then started again: every patient is reached, and none twice.
    port, log = free_port(), tmp_path / "phones.log"
    cmd = ["sipp", "-sf", str(ROOT / "tests" / "sipp" / "answer_hang_up.xml"), "-i", "127.0.0.1", "-p", str(port)]
    cmd += ["-mp", str(free_port()), "-timeout", "400", "-nostdin", "-trace_logs", "-log_file", str(log)]
    store = daemon_store(Path(env["VOCALIA_STATE_DIR"]))
    store.migrate()
    start = datetime.now(ZoneInfo("America/New_York")).replace(tzinfo=None, second=0, microsecond=0)
    patients = {f"+1415555{1000 + n}" for n in range(50)}
    for n, phone in enumerate(sorted(patients)):
        book_for(store, start + timedelta(hours=2, minutes=10 * n), phone)
    settings = reminder_daemon_settings(tmp_path, port)

    def count(state: str) -> int:
        return int(store.query("SELECT COUNT(*) AS n FROM reminders WHERE state = ?", [state])[0]["n"])

    with subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path) as phones:
        try:
            first = start_daemon(env, **settings)
            daemon = next(first)
            # Mid-campaign, with calls up: some patients reached, some talking, none only ringing (a patient
            # whose phone rang when the box died is rightly called again: that is not counted twice here).
            wait_for(
                lambda: count("done") >= 10 and count("answered") >= 1 and count("dialing") == 0,
                timeout=150,
                what="a moment with calls up",
            )
            daemon.proc.kill()
            daemon.proc.wait(timeout=10)
            first.close()
            talking = count("answered")
            for _ in start_daemon(env, **settings):
                try:
                    wait_for(lambda: count("done") + count("failed") == 50, timeout=240, what="the campaign to finish")
                except AssertionError:
                    rows = (
                        "SELECT state, outcome, last_error, attempts, COUNT(*) AS n FROM reminders GROUP BY 1, 2, 3, 4"
                    )
                    raise AssertionError(f"the campaign did not finish: {store.query(rows, [])}") from None
        finally:
            phones.terminate()
            phones.wait(timeout=15)
    reached = [line.split("established ")[1].strip() for line in log.read_text().splitlines() if "established " in line]
    assert sorted(reached) == sorted(patients), "every patient reached exactly once"
    outcomes = store.query("SELECT outcome, COUNT(*) AS n FROM reminders GROUP BY outcome", [])
    assert {r["outcome"]: r["n"] for r in outcomes} == {"answered": 50 - talking, "interrupted": talking}
    ended = store.query("SELECT end_reason, COUNT(*) AS n FROM calls GROUP BY end_reason", [])
    assert {r["end_reason"]: r["n"] for r in ended} == {"caller_hangup": 50 - talking}  # each in the call list


def test_a_callback_request_is_called_back_and_the_caller_talks_to_the_receptionist(
    env: dict[str, str], tmp_path: Path, caller_voice: KokoroSynthesizer, listener: WhisperModel
) -> None:
    # A caller asked to be called back (the action a call records); the profile has the appliance place
    # callbacks. The phone answers "Hello?", hears who is calling and why, and asks a question.
    hello = np.concatenate(list(caller_voice.sentences("Hello?")))
    question = np.concatenate(list(caller_voice.sentences("What time do you open tomorrow?")))
    audio = silence(32)
    for words, start in ((hello, 0.5), (question, 13.0)):
        audio[int(start * PIPELINE_RATE) : int(start * PIPELINE_RATE) + len(words)] = words
    phone, port = patient_phone(tmp_path, audio)
    store = daemon_store(Path(env["VOCALIA_STATE_DIR"]))
    store.migrate()
    action = Outbox(store, []).record(
        None, Action("schedule_callback", {"caller_name": "Robert Chen", "phone": PATIENT})
    )
    settings = reminder_daemon_settings(tmp_path, port, "\n[callbacks]\nplace = true\n")
    with subprocess.Popen(
        ["baresip", "-f", str(phone), "-t", "36"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as patient:
        try:
            for daemon in start_daemon(env, **settings):
                (row,) = wait_for(  # type: ignore[misc]
                    lambda: store.query("SELECT * FROM reminders WHERE state IN ('done', 'failed')", []),
                    timeout=75,
                    what="the callback to end",
                )
                metrics = httpx.get(
                    f"http://127.0.0.1:{daemon.web_port}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
                ).text
                assert 'vocalia_reminders{kind="callback"} 1' in metrics, metrics
                turns = store.turns(str(row["call_id"]))
                heard = [(t["caller_text"], t["reply_text"]) for t in turns]
                assert (row["kind"], row["outcome"], row["reply"], row["attempts"]) == (
                    "callback",
                    "answered",
                    "reached",
                    1,
                ), heard
                assert any("open" in c.lower() and "Monday to Friday" in r for c, r in heard), heard
                (task,) = store.query("SELECT handled, handled_by FROM actions WHERE id = ?", [action])
                assert (task["handled"], task["handled_by"]) == ("called_back", APPLIANCE)
        finally:
            patient.terminate()
            log, _ = patient.communicate(timeout=15)
    assert log.count("Call established") == 1, log
    (recording,) = (tmp_path / "phone" / "rec").glob("*-dec.wav")
    said = transcribe(listener, recording)
    # the disclosure and why we call (the listener hears "assistant" as "assistive" one run in three)
    assert "this is the automated assist" in said and "calling you back as you asked" in said, said
