"""The outbound campaign of a running daemon: plans reminders from the bookings and, where the profile
opts in, callbacks from the callback requests; places them within the call hours (an outbound call through
the SIP account, or a reminder by SMS or WhatsApp through the outbox), and records each attempt's outcome.
Outbound calls never take the last free line."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import astuple
from datetime import datetime
from typing import Any

from ..audio.answering import Verdict
from ..call import CallSession, Engines
from ..config import ApplianceConfig
from ..dialog.engine import Business
from ..dialog.reminder import CallbackCall, ReminderCall
from ..dialog.tools import Action
from ..dialog.understand import format_phone
from ..security import uri_host
from ..sip.endpoint import Dialed, IncomingCall, SipEndpoint
from .reminders import Reminder, ReminderBook
from .screening import Screener

_LOGGER = logging.getLogger(__name__)
NO_LINE = 0  # Dialed.status when the call could not be placed (no free line, or refused locally)
MESSAGES = ("sms", "whatsapp")  # reminder channels sent through the outbox: they take no line


def outcome_of(status: int) -> str:
    """A final SIP status of an unanswered call, as the outcome stored."""
    if status in (486, 600):
        return "busy"
    if status in (603, 403):
        return "declined"
    if status in (408, 480, 487):
        return "no_answer"
    return "failed"


def outbound_target(config: ApplianceConfig) -> str:
    """The URI template outbound calls go to ({number} is E.164), "" when none can be placed."""
    if config.sip.outbound_uri:
        return config.sip.outbound_uri
    host = uri_host(config.sip.registrar, port=True)
    return f"sip:{{number}}@{host}" if host else ""


class Campaign:
    """Places due reminders while the daemon runs."""

    def __init__(
        self, book: ReminderBook, business: Business, engines: Engines, sip: SipEndpoint, config: ApplianceConfig
    ) -> None:
        self.book = book
        self.business = business
        self.engines = engines
        self.sip = sip
        self.config = config
        self.target = outbound_target(config)
        self.calls: dict[asyncio.Task[None], str] = {}  # the calls being made, with their reminder's id
        self._freed = asyncio.Event()  # a call ended: its line may take the next reminder at once

    @property
    def places_calls(self) -> bool:
        """Whether this profile has the appliance place calls (reminders by call, or callbacks)."""
        return self.book.settings.channel == "call" or self.book.callbacks.place

    @property
    def enabled(self) -> bool:
        return self.book.settings.channel in MESSAGES or (self.places_calls and bool(self.target))

    async def run(self, stop: asyncio.Event, every_s: float = 10.0) -> None:
        """Plan and place reminders until ``stop``, a round every ``every_s`` or as soon as a line frees up.
        A round that fails is logged and the next one runs: the campaign never stops by itself."""
        if self.places_calls and not self.target:
            _LOGGER.error("reminder and callback calls need [sip] outbound_uri or [sip] registrar; none are placed")
            return
        channel = self.book.settings.channel
        tool = "send_reminder" if channel == "whatsapp" else "send_sms"
        if channel in MESSAGES and not self._sent_by(tool):
            _LOGGER.error(
                "reminders by %s: no connector in integrations.toml sends %s; they are settled as sent but nothing "
                "goes out (add one, e.g. [whatsapp] or [twilio])",
                channel,
                tool,
            )
        try:
            while not stop.is_set():
                self._freed.clear()
                try:
                    await self.tick()
                except Exception:  # the store busy, a bad row: the next round tries again, calls go on
                    _LOGGER.exception("reminders: a round failed; trying again in %.0f s", every_s)
                stopping = asyncio.ensure_future(stop.wait())
                freed = asyncio.ensure_future(self._freed.wait())
                await asyncio.wait({stopping, freed}, timeout=every_s, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                freed.cancel()
        finally:
            for task in self.calls:
                task.cancel()
            await asyncio.gather(*self.calls, return_exceptions=True)

    async def tick(self) -> None:
        """One round: keep this worker's leases, take back a dead worker's rows, plan new reminders, then
        place as many due ones as lines allow."""
        await asyncio.to_thread(self.book.renew, list(self.calls.values()))
        recovered = await asyncio.to_thread(self.book.recover)
        if recovered:
            _LOGGER.warning("reminders: settled %d left by a stopped worker (none is placed twice)", recovered)
        planned = await asyncio.to_thread(self.book.plan)
        if planned:
            _LOGGER.info("reminders: %d planned", planned)
        while self._room() > 0:
            reminder = await asyncio.to_thread(self.book.claim)
            if reminder is None:
                return
            task = asyncio.create_task(self._remind(reminder))
            self.calls[task] = reminder.id
            task.add_done_callback(self._ended)
            if reminder.channel in MESSAGES:
                await task

    def _ended(self, task: asyncio.Task[None]) -> None:
        self.calls.pop(task, None)
        self._freed.set()

    def _room(self) -> int:
        if not self.places_calls:
            return 1  # messages only: no line is taken
        return self.config.sip.max_calls - 1 - max(self.sip.active_calls, len(self.calls))

    async def _remind(self, reminder: Reminder) -> None:
        try:
            if reminder.channel in MESSAGES:
                await asyncio.to_thread(self._send, reminder)
            else:
                await self._call(reminder)
        except Exception:
            _LOGGER.exception("reminder %s failed; it is tried again after a restart", reminder.id)

    def _sent_by(self, tool: str) -> bool:
        return any(tool in connector.tools for connector in self.business.outbox.connectors.values())

    def _send(self, reminder: Reminder) -> None:
        """The message goes into the outbox in the same transaction that settles the reminder: sent once.
        WhatsApp sends the business's approved reminder template (free text is not allowed to a patient who
        has not written first); SMS sends the reminder's text."""
        profile = self.business.profile
        start = datetime.fromisoformat(reminder.appointment)
        if reminder.channel == "whatsapp":
            args = {
                "phone": reminder.phone,
                "start": reminder.appointment,
                "patient_name": reminder.patient_name,
                "provider": reminder.provider or profile.name,
                "language": reminder.language,
            }
            with self.book.store.transaction() as conn:
                self.business.outbox.add(conn, None, Action("send_reminder", {k: v for k, v in args.items() if v}))
                self.book.sent(conn, reminder.id)
            return
        text = self.business.phrases.say(
            reminder.language,
            "reminder_sms",
            business=profile.name,
            provider=reminder.provider or profile.name,
            when=self.business.phrases.moment(reminder.language, start),
            phone=f" ({profile.phone})" if profile.phone else "",
        )
        with self.book.store.transaction() as conn:
            self.business.outbox.add(conn, None, Action("send_sms", {"to": reminder.phone, "text": text[:480]}))
            self.book.sent(conn, reminder.id)

    async def _call(self, reminder: Reminder) -> None:
        loop = asyncio.get_running_loop()
        dialed: asyncio.Future[Dialed] = loop.create_future()
        uri = self.target.replace("{number}", reminder.phone)

        def done(result: Dialed) -> None:
            if not dialed.done():
                dialed.set_result(result)

        self.sip.call_out(uri, self.config.sip.ring_s, done)
        result = await dialed
        if result.status == NO_LINE and result.reason.startswith("no free line"):
            await asyncio.to_thread(self.book.release, reminder.id)
            return
        if result.call is None:
            outcome = outcome_of(result.status)
            state = await asyncio.to_thread(self.book.settle, reminder.id, outcome, "", result.reason)
            _LOGGER.info("reminder %s: %s (attempt %d; now %s)", reminder.id[:8], outcome, reminder.attempts, state)
            return
        call_id = str(uuid.uuid4())
        await asyncio.to_thread(self.book.answered, reminder.id, call_id)
        screener = Screener(self.engines, reminder.language)
        result.call.line.attach(screener)
        verdict = await screener.screen()
        if verdict is None:  # picked up and hung up before anything was said: still a call in the list
            await asyncio.to_thread(self._hung_up_call, call_id, f"outbound:{result.call.remote}")
            await asyncio.to_thread(self.book.settle, reminder.id, "answered", "no_reply")
            _LOGGER.info("reminder %s: answered and hung up at once", reminder.id[:8])
            return
        _LOGGER.info("reminder %s: a %s answered (%s, %.1f s)", reminder.id[:8], *astuple(verdict))
        if verdict.kind == "machine":
            await self._leave_message(reminder, result.call, screener, verdict, call_id)
            return
        engine = self.business.engine(call_id, reminder.phone)
        engine.language = reminder.language
        responder: ReminderCall | CallbackCall
        if reminder.kind == "callback":
            responder = CallbackCall(engine)
        else:
            booking = await asyncio.to_thread(self._booking, reminder.booking_id)
            responder = ReminderCall(
                engine,
                booking,
                on_confirm=lambda: self.book.confirm(reminder.booking_id),
                on_opt_out=lambda: self.book.do_not_call(reminder.phone, "asked on a reminder call"),
            )
        session = CallSession(
            self.engines,
            responder,
            self.book.store,
            source=f"outbound:{result.call.remote}",
            greet=True,
            limits=self.config.call,
            call_id=call_id,
            fresh_ears_after_greeting=True,  # the patient hears the whole reminder before answering
        )
        result.call.line.attach(session)
        reason = await session.run()
        if reason != "caller_hangup":
            await asyncio.sleep(0.1)  # the last frames are still on their way
            self.sip.hangup(result.call.call_id)
        reply = await asyncio.to_thread(self._reply, call_id, responder.reply)
        await asyncio.to_thread(self.book.settle, reminder.id, "answered", reply)
        _LOGGER.info("reminder %s: answered, %s", reminder.id[:8], reply)

    async def _leave_message(
        self, reminder: Reminder, call: IncomingCall, screener: Screener, verdict: Verdict, call_id: str
    ) -> None:
        """An answering machine: after its beep, the message the profile allows (no provider, no reason)."""
        style = self.book.settings.voicemail
        message = "" if style == "none" else self._voicemail_text(reminder, detailed=style == "detailed")
        left = bool(message) and await screener.until_recording() and await screener.say(message, reminder.language)
        if not screener.hung_up:
            await asyncio.sleep(0.1)  # the last frames are still on their way
            self.sip.hangup(call.call_id)
        heard = " ".join(screener.heard)
        await asyncio.to_thread(
            Screener.record,
            self.book.store,
            call_id,
            f"outbound:{call.remote}",
            verdict,
            message if left else "",
            heard,
        )
        state = await asyncio.to_thread(self.book.settle, reminder.id, "voicemail", "message_left" if left else "")
        _LOGGER.info(
            "reminder %s: voicemail, %s (now %s)", reminder.id[:8], "message left" if left else "no message", state
        )

    def _hung_up_call(self, call_id: str, source: str) -> None:
        self.book.store.start_call(call_id, source)
        self.book.store.end_call(call_id, "caller_hangup")

    def _voicemail_text(self, reminder: Reminder, detailed: bool) -> str:
        profile, phrases = self.business.profile, self.business.phrases
        if reminder.kind == "callback":
            key = "callback_voicemail"  # who called back, and our number: nothing of what it was about
        else:
            key = "reminder_voicemail" if detailed else "reminder_voicemail_brief"
        return phrases.say(
            reminder.language,
            key,
            business=profile.name,
            when=phrases.moment(reminder.language, datetime.fromisoformat(reminder.appointment))
            if reminder.appointment
            else "",
            phone=f" {phrases.say(reminder.language, 'to_phone', phone=format_phone(profile.phone))}"
            if profile.phone
            else "",
        )

    def _booking(self, booking_id: str) -> dict[str, Any]:
        (row,) = self.book.store.query("SELECT * FROM bookings WHERE id = ?", [booking_id])
        return row

    def _reply(self, call_id: str, chosen: str) -> str:
        """What the call did to the booking: the writes are in the store, the rest is what was chosen. A
        callback's: "reached", or the first thing the caller had written ("create_booking", ...)."""
        tools = {a["tool"] for a in self.book.store.actions(call_id)}
        if chosen == "reached":
            return next((a["tool"] for a in self.book.store.actions(call_id)), chosen)
        if "cancel_booking" in tools:
            return "cancelled"
        if "reschedule_booking" in tools:
            return "rescheduled"
        if chosen in ("confirmed", "opted_out"):
            return chosen
        return "unchanged" if chosen else "no_reply"
