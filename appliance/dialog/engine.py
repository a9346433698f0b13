"""The receptionist: deterministic flows that book, cancel, reschedule, answer, take messages and hand over.

:class:`Business` holds what every call shares (profile, calendar, knowledge, phrases, clock);
:meth:`Business.engine` makes a :class:`DialogueEngine` per call, which implements the pipeline's
``Responder``. A flow collects what its action needs (asking only for what is missing), reads it
back, and acts only on a yes; the action is schema-checked and recorded in the store in the same
transaction as the calendar change. Emergencies, requests for a person, key 0, frustration and two
utterances in a row that the engine cannot use all hand the call to a person.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import logging
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Protocol

import dateparser
from rapidfuzz import fuzz

from ..errors import ConfigError
from ..integrations.outbox import Outbox
from ..store import Store
from ..store import consent as consents
from .assist import IntentProposer
from .calendar import BusyTimes, LocalCalendar, Slot, iso
from .entities import BUDGET_CUE, Heard, appointment_when, has_moment, hear, lead_facts, region_of, when_clauses
from .flows import FLOWS, QUESTIONS, offered
from .knowledge import STRICT_SCORE, Knowledge
from .languages import PACKS
from .profile import BusinessProfile, Service
from .replies import Phrasebook
from .responder import Reply
from .tools import Action
from .understand import (
    _NOT_NAMES,
    INTENT_PATTERNS,
    When,
    bare_weekday,
    detect_language,
    format_phone,
    intents,
    match_choice,
    named_week,
    normalize,
    parse_amount,
    parse_name,
    parse_order_number,
    parse_ordinal,
    parse_phone,
    swapped_name,
    yes_no,
)

_LOGGER = logging.getLogger(__name__)

_FLOW_INTENTS = tuple(FLOWS)
_LINK = re.compile(r"\b(?:link|lien|enlace|liga)\b")
# "Is Morgan there?", "est-ce que le docteur Benali est là ?", "¿está el doctor Ruiz?": asking for a person now.
_ASKS_FOR = {c: re.compile(p.asks_for) for c, p in PACKS.items()}
# A question: it opens with a question word of the call's language, or ends with a question mark.
_QUESTION = re.compile(
    r"^(?:" + "|".join(p.question_words for p in PACKS.values()) + r")\b|\?\s*$",
    re.IGNORECASE,
)
_FAQ_TOPICS = {topic: {c: p.faq_topics[topic] for c, p in PACKS.items()} for topic in ("hours", "address", "price")}
_DIGITS_END = "#"
# Where a message said with the request begins: "tell Dr. Lopez that ...", "dites au docteur que ...".
_MESSAGE_CUES = {c: p.message_cues for c, p in PACKS.items()}
_MESSAGE_ABOUT = {c: p.message_about for c, p in PACKS.items()}
# How a request begins, in any of the languages: a clause with it is the asking, not the message.
_LEAD_IN = re.compile(
    r"\b(?:i'?d like|i would like|i want|i need|can i|could i|may i|is it possible|(?:trying|hoping|wanted|calling) to|"
    r"j'essaie de|je cherche à|j'appelle pour|je vous appelle pour|intento|estoy intentando|llamo para|je voudrais|je veux|"
    r"je voulais|j'aurais voulu|j'aurais|je souhaiterais|je souhaite|"
    r"est-ce que je peux|je peux|pourrais-je|j'aimerais|quería|quisiera|quiero|puedo|podría|me gustaría)\b",
    re.IGNORECASE,
)
# Words for any visit: never enough, next to a specific service, to choose the service.
_GENERIC = frozenset({"appointment", "visit", "rendez-vous", "rdv", "cita", "consulta", "turno"})


@dataclass
class _Flow:
    """One task in progress: its collected slots and the question the caller is answering."""

    name: str
    slots: dict[str, Any] = field(default_factory=dict)
    awaiting: str | None = None
    offers: list[Slot] = field(default_factory=list)


class Business:
    """What every call's dialogue shares: the profile, the calendar, the knowledge and the clock."""

    def __init__(
        self,
        profile: BusinessProfile,
        store: Store,
        clock: Callable[[], datetime] | None = None,
        proposer: IntentProposer | None = None,
        outbox: Outbox | None = None,
        availability: BusyTimes | None = None,
        orders: OrderBook | None = None,
    ) -> None:
        self.profile = profile
        self.store = store
        self.proposer = proposer  # an LLM asked when the rules understand nothing (optional)
        self.outbox = outbox or Outbox(store)  # where actions are queued for the connectors
        self.calendar = LocalCalendar(profile, store, self.outbox, availability)
        self.knowledge = Knowledge(profile.knowledge)
        self.phrases = Phrasebook(profile.replies)
        # a shop's orders: read live (Shopify) when a connector says so, else the profile's orders file
        self.orders: OrderBook = orders if orders is not None else _load_orders(profile.orders_file)
        self._clock = clock or (lambda: datetime.now(profile.timezone))

    def now(self) -> datetime:
        """The business's local wall-clock time, naive (the calendar's form)."""
        moment = self._clock()
        if moment.tzinfo is not None:
            moment = moment.astimezone(self.profile.timezone).replace(tzinfo=None)
        return moment.replace(second=0, microsecond=0)

    def engine(self, call_id: str | None, caller_id: str | None = None, language: str | None = None) -> DialogueEngine:
        """A fresh dialogue for one call."""
        return DialogueEngine(self, call_id, caller_id, language)


class OrdersUnavailable(Exception):
    """The order system cannot be read now (not: the order does not exist)."""


class OrderBook(Protocol):
    """Where a shop's orders are read: ``get(number)`` gives the order's row (``status``, ``status_<lang>``,
    ``amount``), None for an order that does not exist, or raises OrdersUnavailable."""

    def get(self, number: str, /) -> dict[str, str] | None: ...


def _load_orders(path: Path | None) -> dict[str, dict[str, str]]:
    if path is None:
        return {}
    with path.open(encoding="utf-8-sig", newline="") as handle:  # a spreadsheet's export: BOM, "Number"
        rows = [{(k or "").strip().lower(): (v or "") for k, v in row.items()} for row in csv.DictReader(handle)]
    if rows and not {"number", "status"} <= rows[0].keys():
        raise ConfigError(f"{path}: an orders file needs the columns number and status (amount, status_es... optional)")
    return {row["number"].strip(): row for row in rows}


class DialogueEngine:
    """One call's dialogue (a pipeline ``Responder``)."""

    def __init__(self, business: Business, call_id: str | None, caller_id: str | None, language: str | None) -> None:
        self.business = business
        self.profile = business.profile
        self.call_id = call_id
        self.caller_id = parse_phone(caller_id or "", business.profile.country) if caller_id else None
        self.language = language or business.profile.languages[0]
        self._fixed_language = language is not None
        self._flow: _Flow | None = None
        self._offer: str | None = None  # a yes/no offer just made ("shall I take a message?")
        # a cancel or a move whose booking was not found on the day said: a new day said next searches
        # again ("oh wait, it's Thursday"), instead of answering the message offer made meanwhile
        self._not_found: _Flow | None = None
        self._asked_for: str | None = None  # the staff member the caller asked to speak to
        self._misses = 0
        self._digits = ""
        self._caller_name: str | None = None  # once given, a later message needs not ask again
        self.said: list[str] = []  # what the caller said so far, for the summary of a warm transfer
        self._order: dict[str, Any] | None = None  # the order last talked about ("send me a link for it")
        region = region_of(self.caller_id)
        country = business.profile.country
        # A number said without its country is read as the business's first, then as the caller ID's.
        self._regions = (country,) if region in (None, country) else (country, str(region))
        self._heard = Heard("")
        self._heard_language = False  # whether the caller's words have set the language yet
        self._asked_about: str | None = None  # the service whose price was just asked

    @property
    def task(self) -> str | None:
        """The flow in progress ("book", "cancel", ...), None between tasks."""
        return self._flow.name if self._flow else None

    # -- Responder ------------------------------------------------------------------------------

    def greeting(self) -> Reply:
        """The opening line."""
        return self._say("greeting")

    def respond(self, transcript: str, language: str | None = None) -> Reply:
        """The reply to what the caller said, in the language it was said in: the one speech recognition
        heard (``language``) or, from text alone, the one its words show."""
        if transcript.strip():
            self.said.append(transcript.strip())
        reply = self._respond(transcript.strip(), language)
        return dataclasses.replace(reply, language=self.language)

    def _respond(self, raw: str, heard: str | None) -> Reply:
        if not self._fixed_language and heard in self.profile.languages:
            self.language, self._heard_language = str(heard), True
        elif not self._fixed_language and raw:
            current = self.language if self._heard_language else None
            detected = detect_language(raw, self.profile.languages, current)
            if detected is not None:
                self.language, self._heard_language = detected, True
        text = normalize(raw, self.language)
        asked = self._flow is not None and self._flow.awaiting in ("phone", "caller_id")
        self._heard = hear(text, self.language, self.business.now(), self._regions, self.profile.country, asked)
        found = intents(text, self.language)
        if "emergency" in found:
            return self._transfer("emergency")
        if "human" in found:
            return self._transfer("transfer")
        if "frustrated" in found:
            return self._transfer("transfer_frustrated")
        reply = self._understood(text, raw, found)
        if reply is not None:
            self._misses = 0
            return reply
        self._misses += 1
        if self._misses >= 2:
            return self._transfer("transfer_confused")
        return self._say("not_understood")

    def on_dtmf(self, digit: str) -> Reply | None:
        """0 asks for a person; other keys type a number (ended by #) while one is asked for, and
        otherwise get a hint."""
        if digit == "0" and not self._digits:
            return self._transfer("transfer")
        if self._flow is None or self._flow.awaiting not in ("phone", "order"):
            return self._say("keys_hint")
        if digit != _DIGITS_END:
            self._digits += digit
            return None
        digits, self._digits = self._digits, ""
        return self.respond(digits)

    def on_silence(self, times: int) -> Reply:
        """Ask once, then let the caller go."""
        return self._say("still_there") if times == 1 else self._say("silence_goodbye", end_call=True)

    def on_time_limit(self) -> Reply:
        """A polite end at the time limit."""
        return self._say("time_limit", end_call=True)

    def on_transfer_failed(self) -> Reply:
        """Nobody took the call: take a message instead."""
        self._flow = _Flow("message", awaiting="name")
        return self._say("transfer_failed")

    def change_booking(self, booking: dict[str, Any], how: str) -> Reply:
        """Start cancelling (``how`` = "cancel": the read-back question) or moving ("reschedule": the new
        time is asked) a booking already known (an outbound reminder's); the call then goes on as any."""
        start = datetime.fromisoformat(booking["start"])
        slots: dict[str, Any] = {
            "name": booking["patient_name"],
            "booking": booking,
            "old_day": start.date(),
            "old_time": start.time(),
        }
        self._caller_name = booking["patient_name"]
        if how == "cancel":
            self._flow = _Flow("cancel", slots=slots, awaiting="confirm")
            return self._say("confirm_cancel", when=self._booking_moment(self._flow), name=booking["patient_name"])
        slots |= {"provider": booking["provider"] or None, "service": booking["service"] or None}
        self._flow = _Flow("reschedule", slots=slots, awaiting="new_when")
        return self._say("ask_new_when")

    # -- routing --------------------------------------------------------------------------------

    def _understood(self, text: str, raw: str, found: list[str]) -> Reply | None:
        flow = self._flow
        if flow is not None:
            switch = next((i for i in found if i in _FLOW_INTENTS and self._switches(flow.name, i, text)), None)
            if switch is None:
                ends = "goodbye" in found and re.search(r"\b(?:bye|goodbye|au revoir|adiós|adios)\b", text)
                if ends and flow.awaiting == "confirm" and yes_no(text, self.language) is True:
                    return self._continue(flow, text, raw)  # "great, thanks, bye" to the read-back: a yes
                if ends:
                    self._flow = None
                    return self._say("goodbye", end_call=True)
                if flow.awaiting != "message" and (_QUESTION.search(raw) or _QUESTION.search(text)):
                    # (a message is passed on as said: "que me llame por mis resultados" asks nothing of us)
                    answer = self._faq(text, follow_up=self._ask(flow))
                    if answer is not None:
                        return answer
                return self._continue(flow, text, raw)
            self._flow = None
        offer, self._offer = self._offer, None
        lost, self._not_found = self._not_found, None
        again = self._when(text) if lost is not None and offer == "message" else None
        if lost is not None and again is not None and again.day and not any(i in _FLOW_INTENTS for i in found):
            lost.slots["old_day"], lost.slots["old_time"] = again.day, again.at
            lost.awaiting = "old_when"
            self._flow = lost
            return self._continue(lost, text, raw)
        if offer is not None and not any(i in _FLOW_INTENTS for i in found):
            accepted = yes_no(text, self.language)
            if accepted is True:
                return self._start(offer, text, raw)
            if accepted is False:
                return self._say("anything_else")
        started = next((i for i in found if i in _FLOW_INTENTS and self._offered(i)), None)
        wanted = self._provider(text) if started is None and _ASKS_FOR[self.language].search(text) else None
        if wanted is not None and self._when(text) is None:
            # "is Morgan there?": the person cannot come to the phone; a message for them is offered
            self._asked_for, self._offer = wanted, "message"
            return self._say("person_unavailable", person=wanted)
        if started == "order_status" and "sms" in found and self._sms_topic(text):
            started = "sms"  # "my husband collects my order: can you text him the address?"
        if started == "sms" and self._order is not None and self._offered("payment") and _LINK.search(text):
            started = "payment"  # "text me the link" after an order waiting for payment: that order's link
        if started == "callback" and "message" in found and self._offered("message"):
            started = "message"  # "leave a message for Morgan ... can she call me back": the call back is its content
        in_passing = bool(self._heard.phone) or self._names_this_number(text)
        if started == "callback" and "lead" in found and self._offered("lead") and in_passing and not self._when(text):
            started = "lead"  # a prospect's "you can call me back on this number": contact details, not a callback
        if started == "callback" and "book" in found and self._offered("book") and in_passing:
            started = "book"  # "un rendez-vous jeudi ... vous pouvez me rappeler sur ce numéro": where to reach them
        question = bool(_QUESTION.search(raw) or _QUESTION.search(text))
        if started is None and _MESSAGE_CUES[self.language].search(raw) and self._provider(text):
            started = "message"  # "can you tell Alex the signed contract is in his inbox"
        if started is None and not question and self._offered("book") and self._about_booking(text):
            started = "book"  # "I need a blood test Wednesday at 1:30" is a booking, not a question about tests
        # A question the knowledge answers squarely wins over flow words in it ("can I walk in without
        # an appointment?"); otherwise the flow the caller asked for starts.
        # ("text me your address": the address is what the text carries, not a question)
        asks = question and not (started == "sms" and self._sms_topic(text))
        faq = self._faq(text, strict=started is not None) if asks or started is None else None
        if faq is not None:
            return faq
        if started is None and self._offered("book") and self._about_booking(text):
            started = "book"
        if started is not None:
            return self._start(started, text, raw)
        if "goodbye" in found or (yes_no(text, self.language) is False and len(text.split()) <= 4):
            return self._say("goodbye", end_call=True)
        if yes_no(text, self.language) is True and len(text.split()) <= 3:
            return self._say("anything_else")
        if "thanks" in text or "thank" in text or "merci" in text or "gracias" in text:
            return self._say("anything_else")
        proposed = self._proposed(raw)
        if proposed == "human":
            return self._transfer("transfer")
        if proposed is not None:
            return self._start(proposed, text, raw)
        if question:
            self._offer = "message"
            return self._say("unknown_answer")
        return None

    def _proposed(self, raw: str) -> str | None:
        """The LLM's guess at the task, when one is configured; it can only start a flow."""
        if self.business.proposer is None or not raw:
            return None
        allowed = [i for i in _FLOW_INTENTS if self._offered(i)] + ["human"]
        return self.business.proposer.propose(raw, allowed)

    def _switches(self, current: str, wanted: str, text: str) -> bool:
        """Whether an intent heard mid-flow starts another flow (see ``FlowSpec.kept_against``)."""
        if wanted == current or not self._offered(wanted) or wanted in FLOWS[current].kept_against:
            return False
        awaiting = self._flow.awaiting if self._flow else None
        if (
            wanted == "callback"
            and (current == "message" or awaiting in ("phone", "caller_id"))
            and not self._when(text)
        ):
            # "vous pouvez me rappeler sur ce numéro", "tell her to call me back about my results": the number
            # or the message; a call back asked for at a time ("call me back tomorrow at 10") is a callback
            return False
        opens_about = re.match(rf"\W*(?:{PACKS[self.language].message_about.pattern})", text, re.I)
        if current == "message" and self._flow is not None and "message" not in self._flow.slots and opens_about:
            return False  # "it's about my ankle ... if I should come in" to another question: the message
        return awaiting != "message"  # a message itself may say anything

    def _sms_topic(self, text: str) -> bool:
        """Whether ``text`` names what a text message can carry: the address or the opening hours."""
        return any(re.search(_FAQ_TOPICS[topic][self.language], text) for topic in ("address", "hours"))

    def _about_booking(self, text: str) -> bool:
        """A date, a provider or a service named without other intent: "Can I see Dr. Lopez on Friday?"."""
        return self._when(text) is not None or self._provider(text) is not None or self._service(text) is not None

    def _offered(self, intent: str) -> bool:
        return offered(intent, self.profile.kind)

    def _start(self, name: str, text: str, raw: str) -> Reply:
        self._flow = _Flow(name)
        if name == "message" and self._caller_name:
            self._flow.slots["name"] = self._caller_name
        if name == "message" and self._asked_for:
            self._flow.slots["recipient"] = self._asked_for  # the person asked for a moment ago
        if name == "payment" and self._order is not None:
            self._flow.slots.update(self._order)  # read back with the order's number: the caller hears which
        if name == "book" and self._asked_about and self._service(text) is None:
            self._flow.slots["service"] = self._asked_about  # read back, so the caller hears which
        self._asked_about = None
        reply = self._continue(self._flow, text, raw)
        return reply if reply is not None else Reply(self._ask(self._flow))

    def _continue(self, flow: _Flow, text: str, raw: str) -> Reply | None:
        handler: Callable[[_Flow, str, str], Reply | None] = getattr(self, f"_flow_{flow.name}")
        return handler(flow, text, raw)

    # -- replies --------------------------------------------------------------------------------

    def _say(self, key: str, end_call: bool = False, transfer: bool = False, **fields: object) -> Reply:
        return Reply(self._text(key, **fields), end_call=end_call, transfer=transfer, language=self.language)

    def _text(self, key: str, **fields: object) -> str:
        base = {"business": self.profile.name, "emergency": self.profile.emergency_number}
        if self.profile.reminders.channel != "off":  # "by WhatsApp", "par SMS": how reminders go
            base["channel"] = self.business.phrases.say(self.language, f"by_{self.profile.reminders.channel}")
        return self.business.phrases.say(self.language, key, **{**base, **fields})

    def _transfer(self, key: str) -> Reply:
        if self._flow is not None and self._flow.slots.get("name"):
            self._caller_name = self._caller_name or str(self._flow.slots["name"])
        self._flow = None
        return self._say(key, transfer=True)

    def handover_summary(self, said: list[str] | None = None) -> str:
        """What the person a call is transferred to hears first, in the business's language: who calls
        (the name given, the caller ID) and ``said`` (by default the caller's last two utterances)."""
        said = self.said[-2:] if said is None else said
        language = self.profile.languages[0]
        parts = [self._caller_name or "", format_phone(self.caller_id) if self.caller_id else ""]
        who = ", ".join(p for p in parts if p) or self.business.phrases.say(language, "handover_anonymous")
        words = " ".join(t.strip() for t in said if t.strip()) or "..."
        return self.business.phrases.say(
            language, "handover", who=who, said=words if words[-1] in ".?!" else words + "."
        )

    def _done(self, key: str, **fields: object) -> Reply:
        self._flow = None
        return Reply(self._text(key, **fields))

    def _ask(self, flow: _Flow) -> str:
        """The question the flow is waiting on, asked again."""
        return self._text(QUESTIONS.get(flow.awaiting or "", "anything_else"))

    def _faq(self, text: str, follow_up: str | None = None, strict: bool = False) -> Reply | None:
        """An answer from the profile (hours, address, prices) or the knowledge files, then ``follow_up``
        (by default "anything else?"). ``strict`` asks for a close match of the knowledge only."""
        follow_up = follow_up or self._text("anything_else")
        topics = [t for t, patterns in _FAQ_TOPICS.items() if re.search(patterns[self.language], text)]
        if "price" in topics:  # "how much is a check-up?" names a service: precise enough even when strict
            service = self._service(text)
            if service is not None and service.price is not None:
                self._asked_about = service.name  # "how much is a blood test?" ... "I'd like one Tuesday"
                price = _money(service.price, self.profile.currency, self.language)
                said = self._text("price", service=service.name, price=price)
                return Reply(f"{said[:1].upper()}{said[1:]} {follow_up}")
        if strict:
            answer = self.business.knowledge.answer(text, self.language, STRICT_SCORE)
            return Reply(f"{answer} {follow_up}") if answer else None
        answer = self.business.knowledge.answer(text, self.language)
        if answer is not None:
            return Reply(f"{answer} {follow_up}")
        if "hours" in topics:
            if not self.profile.hours:
                return self._say("closed_all")
            hours = self.business.phrases.hours(self.language, self.profile.hours)
            return Reply(f"{self._text('hours', hours=hours)} {follow_up}")
        if "address" in topics and self.profile.address:
            return Reply(f"{self._text('address', address=self.profile.address)} {follow_up}")
        return None

    # -- slot helpers ---------------------------------------------------------------------------

    def _provider(self, text: str) -> str | None:
        choices = {
            p.name: (p.name, p.name.replace(".", ""), *p.aliases, *_honorifics(p.name)) for p in self.profile.providers
        }
        return match_choice(text, choices)

    def _unknown_provider(self, text: str) -> str | None:
        """A doctor the caller named who does not work here ("Dr. Jones")."""
        found = re.search(r"\b(?:dr\.?|doctor|docteur|doctora?)\s+([a-zà-ÿ'-]{3,})", text)
        common = {"this", "next", "that", "about", "today", "tomorrow", "please", "who", "and", "for", "on", "at", "in"}
        if found and (found.group(1) in common or found.group(1) in _NOT_NAMES):
            return None  # "see a doctor this week" names no doctor
        if found and self._provider(found.group(0)) is None:
            return found.group(0).title().replace("Dr ", "Dr. ")
        return None

    def _service(self, text: str, specific_only: bool = False) -> Service | None:
        """The service named; a specific one ("un vaccin") wins over a generic word for any visit
        ("rendez-vous", "appointment") that a profile may also list as an alias, which ``specific_only``
        ignores (a service is held: "I take him to all his appointments" does not change it)."""
        specific = {
            s.name: tuple(f for f in (s.name, *s.aliases) if f.lower() not in _GENERIC) for s in self.profile.services
        }
        name = match_choice(text, specific)
        if name is None and not specific_only:
            name = match_choice(text, {s.name: (s.name, *s.aliases) for s in self.profile.services})
        return self.profile.service(name) if name else None

    def _name(self, flow: _Flow, raw: str, key: str = "name") -> None:
        """A name once given is replaced when asked for again, or when the caller corrects it ("no, my
        name is ...") at the read-back or with a correction word."""
        asked = flow.awaiting == key
        correcting = self._heard.correction or flow.awaiting == "change"
        correcting = correcting or (flow.awaiting == "confirm" and yes_no(self._heard.text, self.language) is not True)
        stated = bool(re.search(PACKS[self.language].strong_name_intro, raw, re.I))  # "his name's Albert ..."
        if key in flow.slots and not asked and not correcting and not stated:
            return
        said = normalize(raw, self.language, lower=False)
        swapped = swapped_name(said, self.language, str(flow.slots[key])) if key in flow.slots and correcting else None
        name = swapped or parse_name(said, self.language, expecting=asked)
        if name is None and key in flow.slots and correcting:
            name = self._corrected_name(said, str(flow.slots[key]))
        if name and key in flow.slots and correcting and not swapped:
            name = _one_word_put_right(str(flow.slots[key]), name)
        if name:
            flow.slots[key] = name
            self._caller_name = name

    def _introduces_self(self, said: str, named_thing: bool = False) -> bool:
        """ "My name is Kevin Tran", "je m'appelle Claire Fontaine": the answer gives the caller's name.
        ``named_thing``: a thing's name was asked, so "it's Harper Lewis", "c'est ..." names that thing."""
        if named_thing and re.match(r"\W*(?:it'?s|it is|that'?s|c'est|es)\b", said, re.I):
            return False
        return bool(re.match(rf"\W*(?:{PACKS[self.language].name_intro})\b", said, re.I)) and bool(
            parse_name(said, self.language, expecting=False)
        )

    def _corrected_name(self, said: str, held: str) -> str | None:
        """ "Sorry, it's Ana María Pérez" at the read-back: a name after the correction word that
        shares a word with the one held (so a stray phrase is not taken for a name)."""
        tail = re.split(
            r"\b(?:sorry|no|actually|perdón|perdone|pardon|non|en fait|en realidad)\b[,.]?", said, flags=re.I
        )[-1]
        tail = re.sub(r"^\W*(?:it'?s|it is|that'?s|c'est|es|son)\b", "", tail.strip(), flags=re.I)
        if len(tail.split()) > 5:
            return None
        name = parse_name(tail, self.language, expecting=True)
        if name and {w.lower() for w in name.split()} & {w.lower() for w in held.split()}:
            return name
        return None

    def _phone(self, flow: _Flow, text: str) -> bool:
        """Fill the phone slot from the utterance or the caller-ID question; True if it changed."""
        if flow.awaiting == "caller_id" and self.caller_id:
            answer = yes_no(text, self.language)
            if answer is True:
                flow.slots["phone"] = self.caller_id
                return True
            if answer is False and self._heard.phone is None:
                flow.slots["caller_id_refused"] = True
                return True
        number = self._heard.phone
        if number:
            flow.slots["phone"] = number
            return True
        if self.caller_id and "phone" not in flow.slots and self._names_this_number(text):
            flow.slots["phone"] = self.caller_id  # "... and you can use this number", "au numéro que j'appelle"
            return True
        return False

    def _names_this_number(self, text: str) -> bool:
        """ "you can use this number", "au numéro que j'appelle": the caller's own line, named in passing."""
        pattern = PACKS[self.language].this_number
        return bool(pattern) and re.search(pattern, text) is not None

    def _other_phone(self, flow: _Flow) -> Reply:
        """The caller said no to the number read back: ask for another one (not the caller ID again)."""
        flow.slots.pop("phone", None)
        flow.slots["caller_id_refused"] = True
        flow.awaiting = "phone"
        return self._say("ask_phone")

    def _next_contact(self, flow: _Flow, need_phone: bool = True) -> Reply | None:
        """Ask for the name, then the phone number (offering the caller ID first), if missing."""
        if "name" not in flow.slots:
            flow.awaiting = "name"
            return self._say("ask_name")
        if need_phone and "phone" not in flow.slots:
            if self._heard.phone_invalid:
                flow.awaiting = "phone"
                return self._say("phone_invalid")
            if self.caller_id and not flow.slots.get("caller_id_refused"):
                flow.awaiting = "caller_id"
                return self._say("ask_phone_caller_id")
            flow.awaiting = "phone"
            return self._say("ask_phone")
        return None

    def _confirmed(self, flow: _Flow, text: str) -> bool | None:
        """The caller's answer to a read-back: True, False, or None when it was neither."""
        if flow.awaiting != "confirm":
            return None
        answer = yes_no(text, self.language)
        yes = re.match(r"\W*(?:yes|yeah|oui|sí|si)\b", text)
        if answer is True and yes and re.search(rf"\b(?:{PACKS[self.language].corrections})\b", text[yes.end() :]):
            return None  # "sí, ay no, perdón, nació en 2016": what follows the yes puts something right
        if answer is None and flow.name == "sms" and re.search(r"\b(?:thanks|thank you|merci|gracias)\b", text):
            return True  # "thanks!" to "I'll text you our address, is that right?": nothing else is sent
        return answer

    def _when(self, text: str) -> When | None:
        """The appointment moment in ``text``, never read from the phone number or date of birth."""
        return appointment_when(self._heard.without_taken(text), self.language, self.business.now())

    def _choose_slot(self, flow: _Flow, text: str, when: When | None, key: str = "slot") -> Reply | None:
        """Turn what the caller said about time into a held slot, or offer the nearest free ones."""
        cal, now = self.business.calendar, self.business.now()
        service = flow.slots.get("service")
        provider = flow.slots.get("provider")
        if flow.awaiting == "choice" and flow.offers:
            # "February first" is a date, not the first offer
            months = PACKS[self.language].months.replace(" ", "|")
            pick = parse_ordinal(text, self.language) if not re.search(rf"\b(?:{months})\b", text) else None
            if pick is None and when is None:
                pick = _offer_by_hour(text, flow.offers)  # "nine thirty would be fine", "the 3 one"
            if pick is None and when and when.at:
                pick = next((i for i, s in enumerate(flow.offers) if s.start.time() == when.at), None)
            plain_yes = when is None and yes_no(text, self.language) is True and not re.search(r"\d", text)
            if pick is None and plain_yes and len(flow.offers) == 1:
                pick = 0  # a plain yes takes the one offer; of two, it chooses neither ("which would you prefer?")
            if pick is not None and pick < len(flow.offers):
                flow.slots[key] = flow.offers[pick]
                flow.offers = []
                return None
            if when is not None and when.at and not when.day:
                when = When(flow.offers[0].start.date(), when.at, when.part)  # "then at 11": the offers' day
            if when is None:
                if yes_no(text, self.language) is False:
                    flow.offers = []
                    flow.awaiting = "new_when" if key == "new_slot" else "when"
                    return self._say("ask_when")
                return (
                    None
                    if flow.slots.get(key)
                    else Reply(self._text("offer", lead="", options=self._options(flow.offers)))
                )
        if when is None:
            return None
        held: Slot | None = flow.slots.get(key)
        week = named_week(text, self.language, now.date())
        if week is not None:
            flow.slots["week"] = week  # the week said stays said: "la semaine prochaine mardi ... plutôt jeudi"
        elif when.day and "week" in flow.slots and (index := self._bare_weekday(text)) is not None:
            day = flow.slots["week"] + timedelta(days=index)
            if day > now.date():
                when = dataclasses.replace(when, day=day)
        if when.same_time and not when.at:
            # "same time", "a la misma hora": the time held, else the one asked before, else the booking's
            booking = flow.slots.get("booking")
            earlier = held.start.time() if held is not None else flow.slots.get("asked_at")
            if earlier is None and booking and key == "new_slot":
                earlier = datetime.fromisoformat(booking["start"]).time()
            if earlier is not None:
                when = When(when.day or (held.start.date() if held else None), earlier, when.part)
        if when.at:
            flow.slots["asked_at"] = when.at
        if when.at and not when.day and held is not None:
            when = When(held.start.date(), when.at, when.part)
        elif when.day and not when.at and not when.part and held is not None and self._changing(flow):
            when = When(when.day, held.start.time())  # "make it Thursday instead": same time, new day
        flow.slots.pop(key, None)
        lead = ""
        if when.day and when.at:
            start = datetime.combine(when.day, when.at)
            reason = cal.refusal(start, now, service)
            if reason is None:
                slot = cal.free(start, service, provider)
                if slot is not None:
                    flow.slots[key] = slot
                    return None
                reason = "taken"
            lead = self._lead(reason, start)
        elif when.day:
            reason = cal.refusal(datetime.combine(when.day, time(23, 58)), now, service)
            if reason in ("past", "too_far", "closed"):
                lead = self._lead(reason, datetime.combine(when.day, time(12)))
        if when.day and when.day > now.date() + timedelta(days=self.profile.max_days_ahead):
            when = None  # offer the nearest times instead
        offers = cal.nearest(when, now, service, provider)
        if not offers:
            self._flow = _Flow("message", slots={k: v for k, v in flow.slots.items() if k == "name"}, awaiting="name")
            if "name" in self._flow.slots:
                self._flow.awaiting = "phone" if not self.caller_id else "caller_id"
            return self._say("no_slots")
        flow.offers = offers
        flow.awaiting = "choice"
        key_name = "offer" if len(offers) > 1 else "offer_one"
        return self._say(key_name, lead=lead, options=self._options(offers))

    def _bare_weekday(self, text: str) -> int | None:
        """The weekday said alone in the clauses that say when ("plutôt jeudi ... parce que le mardi je
        travaille": Thursday)."""
        said = " ".join(when_clauses(self._heard.without_taken(text), self.language))
        return bare_weekday(said, self.language)

    def _changing(self, flow: _Flow) -> bool:
        """Whether the caller is correcting what they said (a correction word, or at the read-back)."""
        return self._heard.correction or flow.awaiting in ("confirm", "change")

    def _lead(self, reason: str, start: datetime) -> str:
        phrases = self.business.phrases
        if reason == "taken":
            text = self._text("lead_taken", requested=phrases.moment(self.language, start))
            return text[:1].upper() + text[1:]
        if reason == "closed":
            return self._text("lead_closed", weekday=phrases.weekday(self.language, start.date()))
        if reason == "too_far":
            return self._text("lead_too_far", days=self.profile.max_days_ahead)
        return self._text(f"lead_{reason}")

    def _options(self, slots: list[Slot]) -> str:
        return self.business.phrases.options(self.language, [s.start for s in slots])

    def _what(self, slot: Slot, service: str | None) -> str:
        parts = [service] if service else []
        if slot.provider:
            parts.append(self._text("with", provider=slot.provider))
        return " ".join(parts)

    # -- flows ----------------------------------------------------------------------------------

    def _flow_book(self, flow: _Flow, text: str, raw: str) -> Reply | None:
        slots = flow.slots
        answer = self._confirmed(flow, text)
        before = dict(slots)
        # While the caller spells their name, "López" is a surname, not Dr. Lopez.
        naming = flow.awaiting == "name"
        self._name(flow, raw)
        # "a nombre de José García de la Vega": the caller's surname is not Dra. García
        rest = _without_name(text, slots["name"]) if slots.get("name") != before.get("name") else text
        service = None if naming else self._service(rest, specific_only="service" in slots)
        if service is not None:
            slots["service"] = service.name
        provider = None if naming else self._provider(rest)
        unknown = None if provider or naming else self._unknown_provider(rest)
        if provider is not None:
            slots["provider"] = provider
        self._phone(flow, text)
        if flow.awaiting == "consent":  # only a clear yes is consent: "not sure" is no reminder
            slots["consent"] = yes_no(text, self.language) is True
        elif "consent" in slots and flow.awaiting in ("confirm", "change"):
            wanted, unwanted = PACKS[self.language].reminder_answers  # "oui mais sans rappel"
            if re.search(unwanted, text):
                slots["consent"] = False
            elif re.search(wanted, text):
                slots["consent"] = True
        when = None
        if flow.awaiting == "dob":  # a birth date is not a wish for an appointment date
            born = self._heard.dob or _date_of_birth(text, self.language, self.profile.country)
            if born:
                slots["dob"] = born
        else:
            if self._heard.dob and self.profile.ask_date_of_birth:
                slots["dob"] = self._heard.dob  # said in one breath; kept only where the profile asks
            elif self._heard.dob_year and slots.get("dob"):  # "born in 2016, not 2015": same day
                born_on = date.fromisoformat(slots["dob"])
                with contextlib.suppress(ValueError):  # 29 February in a year without one
                    slots["dob"] = born_on.replace(year=self._heard.dob_year).isoformat()
            elif self._heard.dob_fix and slots.get("dob"):  # "my birthday is June 15th": same year
                born_on = date.fromisoformat(slots["dob"])
                month, day = self._heard.dob_fix
                with contextlib.suppress(ValueError):
                    slots["dob"] = born_on.replace(month=month or born_on.month, day=day).isoformat()
            when = self._when(text)
        changed_time = (
            when is not None
            or slots.get("provider") != before.get("provider")
            or slots.get("service") != before.get("service")
        )
        if unknown is not None:
            providers = self.business.phrases.either(
                self.language, [p.name for p in self.profile.providers_for(slots.get("service"))]
            )
            offers = self.business.calendar.nearest(when, self.business.now(), slots.get("service"), None)
            flow.offers, flow.awaiting = offers, "choice"
            lead = self._text("lead_unknown_provider", provider=unknown, providers=providers)
            return self._say("offer", lead=lead, options=self._options(offers)) if offers else self._say("no_slots")
        if flow.awaiting == "confirm" and answer is True and not changed_time and slots == before:
            return self._book_now(flow)
        if flow.awaiting == "confirm" and answer is False and not changed_time and slots == before:
            flow.awaiting = "change"
            return self._say("ask_change")
        if changed_time and "slot" in slots and when is None:
            held: Slot = slots["slot"]
            when = When(held.start.date(), held.start.time())
        offered = self._choose_slot(flow, text, when)
        if offered is not None:
            return offered
        if flow.awaiting in ("choice", "when") and "slot" not in slots and slots == before:
            return None
        if "slot" not in slots:
            flow.awaiting = "when"
            return self._say("ask_when") if slots != before or flow.awaiting else None
        contact = self._next_contact(flow)
        if contact is not None:
            return contact
        if self.profile.ask_date_of_birth and "dob" not in slots:
            flow.awaiting = "dob"
            return self._say("ask_dob")
        if "consent" not in slots and self._asks_consent(slots.get("phone")):
            flow.awaiting = "consent"
            return self._say("ask_reminder_consent")
        flow.awaiting = "confirm"
        slot = slots["slot"]
        return self._say(
            "confirm_booking",
            what=self._what(slot, slots.get("service")) or self._text("with", provider=self.profile.name),
            when=self.business.phrases.moment(self.language, slot.start),
            name=slots["name"],
            details=self._booking_details(slots),
        )

    def _booking_details(self, slots: dict[str, Any]) -> str:
        """The date of birth and the phone number in the booking's read-back: every value written is said."""
        parts = []
        if slots.get("dob"):
            born = self.business.phrases.birth_date(self.language, date.fromisoformat(slots["dob"]))
            parts.append(self._text("born", date=born))
        if slots.get("phone"):
            parts.append(self._text("reach", to_phone=self._to_phone(slots["phone"])))
        if "consent" in slots:
            key = "with_reminder" if slots["consent"] else "without_reminder"
            parts.append(self._text(key))
        return "".join(f", {p}" for p in parts)

    def _asks_consent(self, phone: str | None) -> bool:
        """Whether to ask the patient if they want reminders: the profile asks for opt-in, and this number
        has given no answer yet (a yes or a no once recorded is not asked again)."""
        settings = self.profile.reminders
        if not phone or not settings.asks_consent:
            return False
        with self.business.store.transaction() as conn:
            return consents.given(conn, phone, settings.channel) is None

    def _book_now(self, flow: _Flow) -> Reply:
        slots = flow.slots
        slot: Slot = slots["slot"]
        args: dict[str, Any] = {"patient_name": slots["name"], "start": iso(slot.start)}
        for key, arg in (("service", "service"), ("phone", "phone"), ("dob", "date_of_birth")):
            if slots.get(key):
                args[arg] = slots[key]
        if slot.provider:
            args["provider"] = slot.provider
        answer = (self.profile.reminders.channel, slots["consent"]) if "consent" in slots else None
        if not self.business.calendar.book(self.call_id, slot, args, consent=answer):
            del slots["slot"]
            offers = self.business.calendar.nearest(
                When(slot.start.date(), slot.start.time()),
                self.business.now(),
                slots.get("service"),
                slots.get("provider"),
            )
            flow.offers, flow.awaiting = offers, "choice"
            return self._say("offer", lead=self._text("slot_gone"), options=self._options(offers))
        what = self._what(slot, None)
        return self._done("booked", what=what, when=self.business.phrases.moment(self.language, slot.start))

    def _upcoming(self, name: str) -> list[dict[str, Any]]:
        return self.business.calendar.upcoming(name, self.business.now(), self.profile.max_days_ahead)

    def _booked_name(self, raw: str) -> str | None:
        """The one patient booked ahead whose every name word the caller said (a misheard letter allowed):
        a name said in passing, with no cue, that the rules could not tell from the words around it."""
        said = _folded(raw).split()
        if not said:
            return None
        rows = self.business.calendar.ahead(self.business.now(), self.profile.max_days_ahead)
        found = {
            r["patient_name"]
            for r in rows
            if all(any(fuzz.ratio(w, s) >= 85 for s in said) for w in _folded(r["patient_name"]).split())
        }
        return found.pop() if len(found) == 1 else None

    def _find_booking(self, flow: _Flow, text: str, raw: str) -> Reply | None:
        """Name, then the day of the existing appointment; fills ``booking`` or says it was not found."""
        slots = flow.slots
        self._name(flow, raw)
        booked = self._booked_name(raw)
        if booked and (not slots.get("name") or not self._upcoming(str(slots["name"]))):
            # "cancel my appointment tomorrow afternoon hiroshi tanaka i'm flying home", "la cita de mi
            # marido del lunes ignacio sáenz de santamaría": the whole name of a patient booked ahead
            slots["name"] = booked
        when = self._when(text)
        if when is not None and when.day and "old_day" not in slots:
            slots["old_day"] = when.day
            slots["old_time"] = when.at
        elif flow.awaiting == "old_when" and when is not None and when.day:
            slots["old_day"], slots["old_time"] = when.day, when.at
        if "name" not in slots:
            flow.awaiting = "name"
            return self._say("ask_name")
        if "old_day" not in slots and flow.awaiting != "old_when":
            # "my appointment with Dr. Lopez": the one appointment ahead under that name with that provider
            # is the one (its day and time are said back before anything changes); else the day is asked.
            provider = self._provider(text)
            rows = self.business.calendar.upcoming(slots["name"], self.business.now(), self.profile.max_days_ahead)
            at = when.at.strftime("%H:%M") if when is not None and when.at and not when.day else None
            if provider:
                rows = [r for r in rows if r["provider"] == provider]
            elif at:  # "the 3 pm one": the one appointment ahead at that time
                rows = [r for r in rows if r["start"][11:16] == at]
            else:
                rows = []
            if len(rows) == 1:
                slots["booking"] = rows[0]
                start = datetime.fromisoformat(rows[0]["start"])
                slots["old_day"], slots["old_time"] = start.date(), start.time()
        if "old_day" not in slots:
            flow.awaiting = "old_when"
            return self._say("ask_old_when")
        if "booking" not in slots:
            rows = self.business.calendar.find(slots["name"], slots["old_day"])
            if slots.get("old_time"):
                rows = [r for r in rows if r["start"][11:16] == slots["old_time"].strftime("%H:%M")] or rows
            if not rows:
                name = slots["name"]
                self._flow = None
                self._offer = "message"
                slots.pop("old_day", None)
                slots.pop("old_time", None)
                self._not_found = flow
                return self._say("not_found", name=name)
            slots["booking"] = rows[0]
        return None

    def _booking_moment(self, flow: _Flow) -> str:
        """The existing appointment found, day and time (what the cancel or move writes)."""
        phrases = self.business.phrases
        booking = flow.slots.get("booking")
        if booking and booking.get("start"):
            return phrases.moment(self.language, datetime.fromisoformat(booking["start"]))
        if flow.slots.get("old_time"):
            return phrases.moment(self.language, datetime.combine(flow.slots["old_day"], flow.slots["old_time"]))
        return phrases.day(self.language, flow.slots["old_day"])

    def _flow_cancel(self, flow: _Flow, text: str, raw: str) -> Reply | None:
        answer = self._confirmed(flow, text)
        moved = self._heard.when
        if flow.awaiting == "confirm" and answer is not True and moved is not None and (moved.day or moved.at):
            booking = flow.slots["booking"]
            start = datetime.fromisoformat(booking["start"])
            if moved.at in (None, start.time()) and moved.day in (None, start.date()):
                # "Shall I cancel it?" - "quarter to twelve with Dr. Hughes": the one found, named again; asked again
                return self._say("confirm_cancel", when=self._booking_moment(flow), name=booking["patient_name"])
            # "Shall I cancel it?" - "Thursday at twelve": the caller wants it moved, not cancelled
            slots = {**flow.slots, "provider": booking["provider"] or None, "service": booking["service"] or None}
            self._flow = _Flow("reschedule", slots=slots, awaiting="new_when")
            return self._flow_reschedule(self._flow, text, raw)
        if answer is True:
            self.business.calendar.cancel(self.call_id, flow.slots["booking"])
            return self._done("cancelled", when=self._booking_moment(flow))
        if answer is False:
            return self._done("kept")
        if flow.awaiting == "confirm":
            return None
        missing = self._find_booking(flow, text, raw)
        if missing is not None:
            return missing
        flow.awaiting = "confirm"
        return self._say("confirm_cancel", when=self._booking_moment(flow), name=flow.slots["booking"]["patient_name"])

    def _flow_reschedule(self, flow: _Flow, text: str, raw: str) -> Reply | None:
        slots = flow.slots
        answer = self._confirmed(flow, text)
        when = self._when(text)
        if when is not None and when.same_time and not (when.day or when.at or when.part) and answer is True:
            when = None  # "yes, at the same time" to the read-back: the time read back, kept
        if answer is True and when is None:
            new_slot: Slot = slots.pop("new_slot")
            if not self.business.calendar.move(self.call_id, slots["booking"], new_slot):
                flow.awaiting = "new_when"
                offered = self._choose_slot(flow, text, When(new_slot.start.date(), new_slot.start.time()), "new_slot")
                return Reply(self._text("slot_gone") + (offered.text if offered else self._text("ask_new_when")))
            return self._done("rescheduled", new=self.business.phrases.moment(self.language, new_slot.start))
        if answer is False and when is None:
            return self._done("kept")
        new_text = None
        shift = _weeks_later(self._heard.text, self.language) or slots.pop("weeks_later", 0)
        if "booking" not in slots:
            if shift:
                slots["weeks_later"] = shift  # said before the booking was found: kept until it is
            # "from Tuesday to Thursday at 11": the first date finds the booking, the second is the new one;
            # a single date in the turn that finds the booking is the old one.
            text, new_text = _split_change(self._heard.without_taken(text), self.language, self.business.now())
            if new_text is not None:
                slots["new_when"] = self._when(new_text)
            missing = self._find_booking(flow, text, raw)
            if missing is not None:
                return missing
            when = slots.pop("new_when", None)
            slots["provider"] = slots["booking"]["provider"] or None
            slots["service"] = slots["booking"]["service"] or None
            slots.pop("weeks_later", None)
        if shift:
            # "push it back a week (same time)", "le décaler d'une semaine", "recorrerla una semana": that day
            # so many weeks on, at the booking's time unless a new one is said with it ("... a week, at 10")
            old = datetime.fromisoformat(slots["booking"]["start"])
            said_at = when.at if when is not None and (new_text is not None or flow.awaiting == "new_when") else None
            when = When(old.date() + timedelta(weeks=shift), said_at or old.time())
        same_day = PACKS[self.language].same_day
        if when is not None and when.day is None and same_day and re.search(same_day, text) and "old_day" in slots:
            when = dataclasses.replace(when, day=slots["old_day"])  # "the same day but at 10"
        if flow.awaiting in ("new_when", "choice", "confirm") or when is not None:
            offered = self._choose_slot(flow, text, when, key="new_slot")
            if offered is not None:
                return offered
        if "new_slot" not in slots:
            flow.awaiting = "new_when"
            return self._say("ask_new_when")
        flow.awaiting = "confirm"
        return self._say(
            "confirm_reschedule",
            name=slots["booking"]["patient_name"],
            old=self._booking_moment(flow),
            new=self.business.phrases.moment(self.language, slots["new_slot"].start),
        )

    def _flow_message(self, flow: _Flow, text: str, raw: str) -> Reply | None:
        slots = flow.slots
        answer = self._confirmed(flow, text)
        if answer is True:
            args = {"caller_name": slots["name"], "phone": slots["phone"], "message": slots["message"]}
            if slots.get("recipient"):
                args["recipient"] = slots["recipient"]
            self._record(Action("take_message", args))
            recipient = self._text("to_recipient", recipient=slots["recipient"]) if slots.get("recipient") else ""
            return self._done("message_taken", name=slots["name"], recipient=recipient)
        if answer is False and self._corrected_contact(flow, raw):
            return Reply(self._message_readback(flow))
        if answer is False:
            flow.awaiting = "message"
            slots.pop("message", None)
            return self._say("ask_message")
        if flow.awaiting == "message":
            if yes_no(text, self.language) is None or len(text.split()) > 3 or slots.get("message_asked"):
                slots["message"] = raw.strip()
            else:  # "yes" is not a message: asked once more, then whatever is said is passed on
                slots["message_asked"] = True
        else:
            provider = self._provider(text) or self._only_provider(text)
            if provider:
                slots["recipient"] = provider
            before = (slots.get("name"), slots.get("phone"))
            self._name(flow, raw)
            self._phone(flow, text)
            content = self._message_content(raw)
            answered = before != (slots.get("name"), slots.get("phone"))
            if content is None and not answered and flow.awaiting in ("name", "phone", "caller_id"):
                content = self._message_out_of_turn(flow, raw, text)
            if content and "message" not in slots:
                slots["message"] = content
        return self._contact_then(flow, "message", "message")

    def _corrected_contact(self, flow: _Flow, raw: str) -> bool:
        """At a read-back, "no, it's 415 555 0189" or "no, my name is ...": the new value replaces the
        held one (and the read-back is said again). False when the no carried no new value."""
        if flow.awaiting != "confirm":
            return False
        before = (flow.slots.get("name"), flow.slots.get("phone"))
        if self._heard.phone:
            flow.slots["phone"] = self._heard.phone
        self._name(flow, raw)
        return (flow.slots.get("name"), flow.slots.get("phone")) != before

    def _message_content(self, raw: str) -> str | None:
        """What to pass on, when said with the request: the words after the cue ("tell Dr. Lopez that my
        readings are fine"), what it is about ("... please? It's about my scan results"), or what the
        caller said around the asking ("our contact form stopped working, can I leave a message for
        Morgan?"); without the clauses that give the caller's name or number, or that ask."""
        said = normalize(raw, self.language, lower=False)
        for pattern in (_MESSAGE_CUES[self.language], _MESSAGE_ABOUT[self.language]):
            found = pattern.search(said)
            if found is not None:
                groups = found.groupdict()
                content = self._message_clauses(groups.get("m") or groups.get("m2") or "", strict=False)
                if content:
                    return content
        asked = next((m for name, m in _request_matches(said, self.language) if name == "message"), None)
        if asked is None:
            return None
        after = said[asked.end() :]
        recipient = re.match(
            r"\W*(?:(?:for|to|pour|à|a|para|al?) )?(?:the |le |la |el )?([\w.'-]+(?: [\w.'-]+)?)\W*", after
        )
        if recipient and self._provider(recipient.group(1).lower()):
            after = after[recipient.end() :]  # "... a message for Morgan our contact form stopped working"
        return self._message_clauses(said[: asked.start()], strict=True) or self._message_clauses(after, strict=True)

    def _message_out_of_turn(self, flow: _Flow, raw: str, text: str) -> str | None:
        """The message itself, said when the name or number was asked ("dites-lui que je rentre en
        France", "que he perdido la receta"): an answer of four words or more that gave neither."""
        if self._heard.phone or self._heard.phone_invalid:
            return None
        if flow.awaiting == "name" and "name" not in flow.slots and len(text.split()) < 7:
            return None  # still nameless: the answer was read as a name and found none; ask again
        # (seven words or more and no name in them: the message, said before the name was given)
        if len(text.split()) < 4:  # "sí", "oui c'est ça": an answer, not a message
            return None
        return raw.strip()

    def _message_clauses(self, told: str, strict: bool) -> str | None:
        """The clauses of ``told`` that carry a message; ``strict`` (no cue introduced them): only clauses
        of four words or more that do not ask, five words in all."""
        kept = []
        for clause in re.split(r"(?<=[,.;?!])\s+", told):
            lowered = clause.lower()
            if any(b.strip() and b.strip() in lowered for b in self._heard.blanks):
                continue  # "my number is ..."
            if parse_name(clause, self.language, expecting=False) and len(clause.split()) <= 6:
                continue  # "this is Linda Park"
            if strict and (len(clause.split()) < 4 or _LEAD_IN.search(clause) or self._provider(clause)):
                continue  # "hi", "hola, mire", "I'd like to", "à Morgan Lee s'il vous plaît": not the message
            kept.append(clause)
        content = " ".join(kept).strip(" ,.;")
        return content if len(content.split()) >= (5 if strict else 3) else None

    def _only_provider(self, text: str) -> str | None:
        """ "the doctor" at a practice with a single doctor is that doctor."""
        doctors = [
            p for p in self.profile.providers if re.search(r"\b(?:dr|doctor|docteur|doctora?|dra)\b", p.name, re.I)
        ]
        generic = (
            r"\b(?:the doctor|le docteur|au docteur|le médecin|au médecin|el doctor|al doctor|la doctora|"
            r"al médico|el médico)\b"
        )
        if len(doctors) == 1 and re.search(generic, text):
            return doctors[0].name
        return None

    def _message_readback(self, flow: _Flow) -> str:
        recipient = flow.slots.get("recipient")
        return self._text(
            "confirm_message",
            message=flow.slots["message"],
            name=flow.slots["name"],
            recipient=self._text("to_recipient", recipient=recipient) if recipient else "",
            to_phone=self._to_phone(flow.slots["phone"]),
        )

    def _contact_then(self, flow: _Flow, slot: str, question: str) -> Reply:
        """Name and phone first, then ``slot`` (asking ``question``), then the read-back."""
        contact = self._next_contact(flow)
        if contact is not None:
            return contact
        if slot not in flow.slots:
            flow.awaiting = question
            return Reply(self._ask(flow))
        flow.awaiting = "confirm"
        if flow.name == "message":
            return Reply(self._message_readback(flow))
        if flow.name == "callback":
            return Reply(self._callback_readback(flow))
        return Reply(self._readback(flow.slots["name"], flow.slots["phone"]))

    def _callback_readback(self, flow: _Flow) -> str:
        when = flow.slots.get("when")
        spoken = (
            self.business.phrases.moment(self.language, datetime.fromisoformat(when))
            if when
            else self._text("callback_asap")
        )
        return self._text(
            "confirm_callback", name=flow.slots["name"], when=spoken, to_phone=self._to_phone(flow.slots["phone"])
        )

    def _readback(self, name: str, phone: str) -> str:
        return self._text("confirm_contact", name=name, to_phone=self._to_phone(phone))

    def _to_phone(self, phone: str) -> str:
        """Where we will call or text. A number the caller did not say (caller ID) is not read out:
        a phone may be answered by someone else, and the number is the caller's data."""
        if phone == self.caller_id:
            return self._text("to_caller_id")
        return self._text("to_phone", phone=format_phone(phone))

    def _flow_callback(self, flow: _Flow, text: str, raw: str) -> Reply | None:
        slots = flow.slots
        answer = self._confirmed(flow, text)
        when = self._when(text)
        if when is not None and flow.awaiting == "confirm":
            answer = None  # "actually, make it 11 instead": a new time, read back again
        if answer is True:
            args: dict[str, Any] = {"caller_name": slots["name"], "phone": slots["phone"]}
            if slots.get("when"):
                args["when"] = slots["when"]
            self._record(Action("schedule_callback", args))
            when = slots.get("when")
            spoken = (
                self.business.phrases.moment(self.language, datetime.fromisoformat(when))
                if when
                else self._text("callback_asap")
            )
            return self._done("callback_scheduled", name=slots["name"], when=spoken)
        if answer is False and self._corrected_contact(flow, raw):
            return Reply(self._callback_readback(flow))
        if answer is False:
            return self._done("kept")
        self._name(flow, raw)
        self._phone(flow, text)
        if when is not None:
            held = datetime.fromisoformat(slots["when"]) if slots.get("when") else None
            day = when.day or (held.date() if held else self.business.now().date())
            hours = self.profile.hours.get(day.weekday())
            opens = hours[0][0] if hours else time(9)
            at = when.at or (
                (opens if re.search(PACKS[self.language].first_thing, text) else max(opens, time(9)))
                if when.part in (None, "morning")
                else time(14)
                if when.part == "afternoon"
                else time(17)
            )
            slots["when"] = iso(datetime.combine(day, at))
        elif flow.awaiting == "callback_when":
            slots["when"] = None
        return self._contact_then(flow, "when", "callback_when")

    def _flow_lead(self, flow: _Flow, text: str, raw: str) -> Reply | None:
        slots = flow.slots
        answer = self._confirmed(flow, text)
        if answer is True:
            args = {k: v for k, v in slots.items() if k in ("budget", "authority", "need", "timeline", "company")}
            args.update(name=slots["name"], score=_lead_score(slots), phone=slots["phone"])
            self._record(Action("qualify_lead", args))
            return self._done("lead_done", name=slots["name"])
        if answer is False and self._corrected_contact(flow, raw):
            answer = None
        elif answer is False:
            return self._other_phone(flow)
        awaiting = flow.awaiting
        said = normalize(raw, self.language, lower=False)
        facts = lead_facts(self._heard.without_taken(said), self.language)
        if awaiting == "need":
            facts.pop("need", None)  # the whole answer is the need
        named = self._company_named(flow, said)
        if named:
            facts["company"] = named
        # An answer that gives another fact, or the caller's name ("my name is Kevin Tran" to the company
        # question, "budget's about 8000" to the timeline one), is that fact, not this one's answer.
        gave_phone = bool(self._heard.phone) or self._names_this_number(text)
        elsewhere = (
            bool(set(facts) - {awaiting})
            or gave_phone
            or (
                awaiting in ("company", "timeline")
                and self._introduces_self(said, named_thing=awaiting == "company")
                and awaiting not in facts
            )
        )
        for key, value in facts.items():
            if key not in slots or awaiting in ("confirm", None) or key == awaiting:
                slots[key] = value
                if key == "timeline":
                    slots["timeline_words"] = str(value).lower()
        bare = yes_no(text, self.language) is not None and len(text.split()) <= 4  # "yes that's right"
        amount = parse_amount(text, last=self._heard.correction)
        budget_said = (
            awaiting in ("need", "company")
            and amount is not None
            and amount >= 100
            and "budget" not in slots
            and bool(re.search(BUDGET_CUE, raw.lower()))  # "about two hundred products" is no budget
        )
        if budget_said:
            slots["budget"] = amount  # "about four thousand dollars" to another question is the budget
            elsewhere = True
        elif awaiting == "company" and "timeline" not in slots and amount is None and has_moment(text, self.language):
            slots["timeline"], slots["timeline_words"] = raw.strip(), text  # "in january" is when, not who
            elsewhere = True
        if awaiting == "company" and elsewhere and slots.get("company_asked"):
            slots["company_unclear"] = True  # asked twice and answered with something else: none is written
        if awaiting == "company":
            slots["company_asked"] = True
        if awaiting == "need":
            if not budget_said:
                slots["need"] = raw.strip()
        elif awaiting == "company" and "company" not in facts and not elsewhere:
            if bare:
                slots["company_unclear"] = True  # "yes that's right" names no company: none is written
            else:
                slots["company"] = _company_answer(raw, self.language)
                slots["company_answered"] = raw  # said bare: a company named outright later replaces it
        elif awaiting == "budget" and "budget" not in facts:
            amount = parse_amount(text, last=self._heard.correction)
            if amount is not None:
                slots["budget"] = amount
            elif not elsewhere:
                slots["budget_unclear"] = True  # "not sure yet": no budget is written rather than a guessed one
        elif awaiting == "timeline" and "timeline" not in facts:
            amount = parse_amount(text, last=self._heard.correction)
            if "budget" not in slots and amount is not None and amount >= 100 and not has_moment(text, self.language):
                slots["budget"] = amount  # "twenty thousand or so" to "when would you start?" is the budget
                slots["timeline_unclear"] = True
            elif elsewhere or bare:  # asked once: a project without a date is still a lead
                slots["timeline_unclear"] = True
            else:
                slots["timeline"] = raw.strip()
                slots["timeline_words"] = text
        elif awaiting == "authority":
            decides = lead_facts(raw, self.language).get("authority")
            decides = yes_no(text, self.language) if decides is None else decides
            if decides is not None:
                slots["authority"] = bool(decides)
            else:
                slots["authority_unclear"] = True  # "it's me and my co-founder": not written either way
        if not named and (awaiting != "company" or self._introduces_self(said, named_thing=True)):
            self._name(flow, raw)  # "it's Harper Lewis" to the company question is the company
        self._phone(flow, text)
        for key in FLOWS["lead"].slots:
            if slots.get(f"{key}_unclear"):
                continue
            if key not in slots and key not in ("name", "phone"):  # contact details come last, below
                flow.awaiting = key
                return self._say(QUESTIONS[key])
        contact = self._next_contact(flow)
        if contact is not None:
            return contact
        flow.awaiting = "confirm"
        who = (
            self._text("from_company", name=slots["name"], company=slots["company"])
            if slots.get("company")
            else slots["name"]
        )
        return Reply(self._readback(who, slots["phone"]))

    def _company_named(self, flow: _Flow, said: str) -> str | None:
        """ "La société, c'est Vignobles Durand", "the company is ...", whatever was asked: that company. Where
        the company question had been answered with a person's name ("thibault de la roche") and no name is
        held, that answer was the caller's name."""
        pattern = PACKS[self.language].company_named
        found = re.search(pattern, said, re.I) if pattern else None
        if found is None:
            return None
        company = _company_answer(said[found.end() :], self.language)
        if not company:
            return None
        slots = flow.slots
        earlier = slots.pop("company_answered", None)
        if earlier and "name" not in slots:
            name = parse_name(normalize(str(earlier), self.language, lower=False), self.language, expecting=True)
            if (
                name and name.lower() not in company.lower()
            ):  # "acme outdoor", then "the company is acme outdoor supply"
                slots["name"] = name
                self._caller_name = name
        slots["company"] = company
        return company

    def _ask_order(self, flow: _Flow) -> Reply | None:
        """Ask for the order's number, once: a second answer without one was not understood."""
        flow.awaiting = "order"
        if "asked" in flow.slots:
            return None
        flow.slots["asked"] = True
        return self._say("ask_order")

    def _look_up(self, flow: _Flow, number: str) -> dict[str, str] | Reply:
        """The order ``number``, or what to say: not found (asked again), or the order system is down (a
        message is offered instead)."""
        try:
            order = self.business.orders.get(number)
        except OrdersUnavailable:
            self._flow = _Flow("message", awaiting="name")
            return self._say("orders_unavailable")
        if order is None:
            flow.awaiting = "order"
            return self._say("order_unknown", number=" ".join(number))
        return order

    def _flow_order_status(self, flow: _Flow, text: str, raw: str) -> Reply | None:
        number = parse_order_number(text)
        if number is None:
            return self._ask_order(flow)
        order = self._look_up(flow, number)
        if isinstance(order, Reply):
            return order
        status = order.get(f"status_{self.language}") or order["status"]
        self._order = {"order": number, **({"amount": float(order["amount"])} if order.get("amount") else {})}
        return self._done("order_status", number=" ".join(number), status=status)

    def _flow_order_cancel(self, flow: _Flow, text: str, raw: str) -> Reply | None:
        """Cancel an order the caller names: only one the shop's live system (Shopify) says is not on its
        way yet, read back with its refund; one already shipped, or a shop without a live system, is a
        request passed to the team as a message (a person decides a return)."""
        slots = flow.slots
        answer = self._confirmed(flow, text)
        number = slots.get("order", "")
        spoken = " ".join(number)
        if answer is True:
            args: dict[str, Any] = {"order_number": number, "refund": slots["refund"]}
            self._record(Action("cancel_order", args))
            refunded = self._text("order_refunded") if slots["refund"] else ""
            return self._done("order_cancelled", number=spoken, refunded=refunded)
        if answer is False and parse_order_number(text) is None:
            return self._done("order_kept", number=spoken)
        found = parse_order_number(self._heard.without_taken(text), last=self._heard.correction)
        if found is None and not number and self._order is not None:
            found = str(self._order["order"])  # "can I cancel it?" right after its status
        if found is None:
            if number:
                return None  # at the read-back, neither a yes nor a no
            return self._ask_order(flow)
        spoken = " ".join(found)
        order = self._look_up(flow, found)
        if isinstance(order, Reply):
            return order
        status = order.get(f"status_{self.language}") or order["status"]
        state = order.get("state", "")
        if state in ("cancelled", "refunded"):
            return self._done("order_already_cancelled", number=spoken, status=status)
        if state not in ("unfulfilled", "unpaid"):  # on its way, or no live system to cancel it in
            self._flow = _Flow("message", awaiting="name")
            self._flow.slots["message"] = self._text("order_cancel_message", number=spoken, status=status)
            return self._say("order_not_cancellable", number=spoken, status=status)
        slots["order"], slots["refund"] = found, state == "unfulfilled"  # paid: refunded; unpaid: nothing to
        amount = order.get("amount")
        refund = (
            self._text("order_refund", amount=_money(float(amount), self.profile.currency, self.language))
            if slots["refund"] and amount
            else ""
        )
        flow.awaiting = "confirm"
        return self._say("confirm_order_cancel", number=spoken, refund=refund)

    def _flow_payment(self, flow: _Flow, text: str, raw: str) -> Reply | None:
        slots = flow.slots
        answer = self._confirmed(flow, text)
        if answer is True:
            args: dict[str, Any] = {"phone": slots["phone"]}
            if slots.get("order"):
                args["order_number"] = slots["order"]
                if slots.get("amount") is not None:
                    args["amount"] = slots["amount"]
            self._record(Action("send_payment_link", args))
            return self._done("payment_sent")
        if answer is False and not (self._heard.phone and self._corrected_contact(flow, raw)):
            return self._other_phone(flow)
        taken = self._heard.without_taken(text)  # the phone number said is not an order number
        number = (  # "10452, no wait, that's the old one, 10488": the last one said
            parse_order_number(taken, last=self._heard.correction)
            if flow.awaiting not in ("phone", "caller_id")
            else None
        )
        if number is not None:
            try:
                order = self.business.orders.get(number)
            except OrdersUnavailable:  # the link goes out for the order as said, without its amount
                order = {"number": number}
            if order is None:
                flow.awaiting = "order"
                return self._say("order_unknown", number=" ".join(number))
            slots["order"] = number
            if order.get("amount"):
                slots["amount"] = float(order["amount"])
        self._phone(flow, text)
        if "order" not in slots and flow.awaiting != "order_skipped":
            if flow.awaiting == "order":
                flow.awaiting = "order_skipped"
            else:
                flow.awaiting = "order"
                return self._say("ask_order")
        contact = self._next_contact(flow) if "phone" not in slots else None
        if contact is not None and "name" not in flow.slots:
            flow.slots["name"] = ""  # a payment link needs no name
            contact = self._next_contact(flow)
        if contact is not None:
            return contact
        flow.awaiting = "confirm"
        amount = (
            f" ({_money(slots['amount'], self.profile.currency, self.language)})"
            if slots.get("amount") is not None
            else ""
        )
        for_order = self._text("for_order", number=" ".join(slots["order"])) if slots.get("order") else ""
        return self._say("confirm_payment", order=for_order, amount=amount, to_phone=self._to_phone(slots["phone"]))

    def _flow_sms(self, flow: _Flow, text: str, raw: str) -> Reply | None:
        slots = flow.slots
        answer = self._confirmed(flow, text)
        if answer is True:
            self._record(Action("send_sms", {"to": slots["phone"], "text": slots["text"]}))
            return self._done("sms_sent")
        if answer is False:
            return self._done("kept")
        if "text" not in slots:
            if re.search(_FAQ_TOPICS["hours"][self.language], text) and self.profile.hours:
                slots["text"] = f"{self.profile.name}: " + self.business.phrases.hours(
                    self.language, self.profile.hours
                )
                slots["what"] = self._text("sms_hours")
            else:
                slots["text"] = f"{self.profile.name}, {self.profile.address}"
                slots["what"] = self._text("sms_address")
        self._phone(flow, text)
        flow.slots.setdefault("name", "")
        contact = self._next_contact(flow)
        if contact is not None:
            return contact
        flow.awaiting = "confirm"
        return self._say("confirm_sms", what=slots["what"], to_phone=self._to_phone(slots["phone"]))

    def _record(self, action: Action) -> None:
        self.business.outbox.record(self.call_id, action)
        _LOGGER.info("call %s: action %s recorded", self.call_id, action.tool)


def _weeks_later(text: str, language: str) -> int:
    """How many weeks later the caller moves a booking ("push it back a week", "repousser de quinze
    jours": 2), 0 when they say no such thing."""
    pattern = PACKS[language].shift_weeks
    found = re.search(pattern, text) if pattern else None
    if found is None:
        return 0
    count = found.group("n") or found.group("n2")
    return 2 if count in ("two", "2", "deux", "dos", "15 jours", "quinze jours", "a couple of") else 1


def _money(amount: float, currency: str, language: str) -> str:
    """An amount as said: "42.90 dollars", "42,90 euros", "120 dollars" (cents only where there are some)."""
    figure = f"{amount:.2f}" if round(amount, 2) % 1 else f"{amount:.0f}"
    said = dict(PACKS[language].currencies).get(currency.lower(), currency) if language in PACKS else currency
    return f"{figure if language == 'en' else figure.replace('.', ',')} {said}"


def _one_word_put_right(held: str, said: str) -> str:
    """ "Fiona Mcpherson", then "oh it's macpherson, m a c p h ...": one word said to correct a whole name
    puts right the word it is nearest to (the surname when it is near neither), not the whole name."""
    words = held.split()
    if len(said.split()) != 1 or len(words) < 2:
        return said
    if said.lower() in (w.lower() for w in words):
        return held  # "Smith, S M I T H": what was held
    scores = [fuzz.ratio(w.lower(), said.lower()) for w in words]
    best = max(range(len(words)), key=scores.__getitem__)
    words[best if scores[best] >= 50 else len(words) - 1] = said
    return " ".join(words)


def _company_answer(raw: str, language: str) -> str:
    """The company's name from the answer to "what's the name of your company?": the words after
    "it's called", "the firm is", "la société s'appelle", "se llama"..., or after "for my bakery," when a
    pause sets the name apart, or after a correction ("Atelier Mercier, enfin non, Mercier et Fils"); what
    is said of it after a pause ("..., it's a law office", "..., à Rezé") is not part of it."""
    said = re.split(rf"\b(?:{PACKS[language].corrections})\b[,\s]*", raw.strip(), flags=re.I)[-1]
    said = re.sub(
        r"^\W*(?:(?:yeah|yes|so|well|oh|um|uh|er|erm|euh|heu|hum|eh|alors|bon|ben|bueno|pues|vale|oui|sí)\b[,\s]*)+",
        "",
        said,
        flags=re.I,
    )
    said = said.rstrip(".")
    named = re.search(
        r"\b(?:called|named|name is|name's|s'appelle|se llama|nom est|nombre es|"
        r"(?:firm|company|business|agency|shop|store|practice|société|entreprise|boîte|empresa|agencia|tienda) "
        r"(?:is|est|es))\s+(.+)$",
        said,
        flags=re.IGNORECASE,
    )
    if named:
        said = named.group(1)
    else:
        said = re.sub(
            r"^\W*(?:it'?s|it is|we'?re|we are|the company is|the company's|c'est|la société|l'entreprise|es|somos)\b\s*",
            "",
            said,
            flags=re.IGNORECASE,
        )
    parts = [p.strip() for p in said.split(",") if p.strip()]
    if len(parts) > 1 and re.match(
        r"(?:for|pour|para|de|of|(?:it'?s |c'est |es )?(?:under|in|à|a) (?:my|mon|mi) (?:own |propre )?(?:name|nom|nombre))\b",
        parts[0],
        re.IGNORECASE,
    ):
        said = parts[-1]  # "for my bakery, Sweet Rolls", "c'est à mon nom, Le Bihan Plomberie"
    elif len(parts) > 1 and re.match(
        r"(?:it'?s|it is|we'?re|we are|based|in|à|au|en|c'est|on est|nous sommes|es|somos|a|an|un|une|una)\b",
        parts[1],
        re.IGNORECASE,
    ):
        said = parts[0]  # "Theodore Blake, it's a law office", "Bloc et Cordes, à Rezé"
    return said.strip(" ,.")[:120] or raw.strip()[:120]


def _folded(text: str) -> str:
    """Lower case, without accents or punctuation: "Sáenz de Santamaría" as "saenz de santamaria"."""
    plain = unicodedata.normalize("NFKD", text.lower())
    return re.sub(r"[^\w\s'-]", " ", "".join(c for c in plain if not unicodedata.combining(c)))


_HONORIFICS = ("mister", "mr", "mrs", "ms", "miss", "monsieur", "madame", "señor", "señora", "don", "doña")


def _honorifics(name: str) -> tuple[str, ...]:
    """ "mister Rivera", "señor Etxeberria" for a provider named "Alex Rivera" (a name without a title)."""
    words = name.replace(".", "").split()
    if len(words) < 2 or words[0].lower() in ("dr", "dra", "dre", "doctor", "docteur", "docteure", "doctora", "nurse"):
        return ()
    return tuple(f"{title} {words[-1]}" for title in _HONORIFICS)


def _offer_by_hour(text: str, offers: list[Slot]) -> int | None:
    """The offer whose time the caller names without "at": "9 30", "nine thirty", "the 3 o'clock"."""
    found = re.search(r"\b(\d{1,2})(?:[ :h](\d{2}))?\b", text)
    if found is None:
        return None
    hour, minute = int(found.group(1)), int(found.group(2) or 0)
    for index, offer in enumerate(offers):
        at = offer.start.time()
        if at.minute == minute and hour in (at.hour, at.hour - 12, at.hour % 12 or 12):
            return index
    return None


_CHANGE_VERBS = re.compile(
    r"\b(?:move|moving|change|changing|reschedul\w*|push|switch|bring|déplac\w*|décal\w*|chang\w*|report\w*|"
    r"repouss\w*|avanc\w*|mettre|pasar\w*|cambi\w*|mov\w*|mueva|adelant\w*|atras\w*|poner\w*)\b"
)


def _split_change(text: str, language: str, now: datetime) -> tuple[str, str | None]:
    """Split "move it from Tuesday to Thursday at 11" into the old and the new date's words."""
    splits = []
    for found in re.finditer(r"\b(?:to|until|instead|au|à|pour|a|al|para|por)\b", text):
        before, after = text[: found.start()], text[found.end() :]
        old, new = appointment_when(before, language, now), appointment_when(after, language, now)
        if old is not None and old.day and new is not None and (new.day or new.at):
            splits.append((found.start(), before, after))
    if not splits:
        return text, None
    # "j'ai rendez-vous lundi à 9h40 et je voudrais le décaler à mercredi": the "à" after the change verb
    verb = _CHANGE_VERBS.search(text)
    after_verb = [s for s in splits if verb is not None and s[0] > verb.start()]
    _, before, after = (after_verb or splits)[0]
    return before, after


def _date_of_birth(text: str, language: str, country: str) -> str | None:
    """A date of birth as answered to the question: "March 3rd 1985", "1991 February 2nd", "el 17 de
    septiembre del 98", "oh three fifteen nineteen eighty seven" (as digits, in the country's order)."""
    text = re.sub(r"\b(?:oh|o)\b", "0", text)
    text = re.sub(r"\b(19|20) (\d{2})\b", r"\1\2", text)
    century = date.today().year % 100
    text = re.sub(r"^\W*(?:it'?s|it is|c'est|es|el|le)\b\s*", "", text.strip())
    text = re.sub(
        r"(\b(?:de|del|d')\s*|')(\d{2})\s*$|(?<=[a-zé]),? (\d{2})\s*$",
        lambda m: " " + ("20" if int(m.group(2) or m.group(3)) <= century else "19") + (m.group(2) or m.group(3)),
        text.strip(),
    )
    # "quinze dix quatre-vingt-dix-neuf", "3/9/85": day, month and a two-digit year said as three numbers
    short = re.fullmatch(r"(\d{1,2})[\s/.-]+(\d{1,2})[\s/.-]+(\d{2})", text.strip())
    if short:
        yy = int(short.group(3))
        text = f"{short.group(1)} {short.group(2)} {(20 if yy <= century else 19)}{short.group(3)}"
        text = " ".join(part.zfill(2) for part in text.split())
    digits = re.sub(r"\D", "", text)
    if len(digits) == 8 and re.fullmatch(r"[\d\s/.-]+", text.strip()):  # "oh three fifteen nineteen eighty seven"
        first, second, year = int(digits[:2]), int(digits[2:4]), int(digits[4:])
        orders = [(first, second), (second, first)] if country == "US" else [(second, first), (first, second)]
        for month, day in orders:  # the country's order; the other where that is no date ("15 10" in the US)
            with contextlib.suppress(ValueError):
                born = date(year, month, day)
                return born.isoformat() if date(1900, 1, 1) < born < date.today() else None
    if not re.search(r"\b(?:19|20)\d{2}\b", text):
        return None
    order = "MDY" if country == "US" else "DMY"
    parsed = dateparser.parse(
        text, languages=[language], settings={"PREFER_DATES_FROM": "past", "DATE_ORDER": order, "STRICT_PARSING": True}
    )
    if parsed is None:
        cleaned = re.sub(r"^.*?\b(?:born on|born|is|née? le|el|le)\s+", "", text)
        parsed = dateparser.parse(
            cleaned, languages=[language], settings={"PREFER_DATES_FROM": "past", "DATE_ORDER": order}
        )
    if parsed is None or parsed.date() >= date.today():
        return None
    return str(parsed.date().isoformat())


def _lead_score(slots: dict[str, Any]) -> int:
    """BANT, 25 points each: a budget named, the decision maker, a need described, a near timeline."""
    score = 0
    budget = slots.get("budget") or 0.0
    score += 25 if budget >= 1000 else 15 if budget > 0 else 0
    score += 25 if slots.get("authority") else 5 if "authority" in slots else 0
    need = str(slots.get("need") or "")
    score += 25 if len(need.split()) >= 4 else 10 if need else 0
    timeline = str(slots.get("timeline_words") or "")
    months = re.search(r"(\d+)\s*(?:months?|mois|mes(?:es)?)", timeline)
    weeks = re.search(r"(\d+)\s*(?:weeks?|semaines?|semanas?)", timeline)
    if (
        re.search(
            r"asap|right away|immediately|now|this week|next week|this month|tout de suite|ce mois|ahora|inmediat|este mes",
            timeline,
        )
        or weeks
    ):
        score += 25
    elif (
        months
        and int(months.group(1)) <= 3
        or re.search(r"next month|le mois prochain|el mes que viene|el próximo mes|quarter|trimestre", timeline)
    ):
        score += 20
    elif months and int(months.group(1)) <= 6:
        score += 10
    elif timeline:
        score += 5
    return min(score, 100)


def _without_name(text: str, name: str) -> str:
    """``text`` with the caller's name (as said, in any case) blanked."""
    words = [re.escape(w) for w in re.findall(r"[\w'-]+", name)]
    return re.sub(r"\b" + r"[\s,.-]+".join(words) + r"\b", " ", text, flags=re.IGNORECASE) if words else text


def _request_matches(text: str, language: str) -> list[tuple[str, re.Match[str]]]:
    """Where each intent's words occur in ``text``."""
    return [(name, m) for name, pattern in INTENT_PATTERNS[language] if (m := pattern.search(text))]
