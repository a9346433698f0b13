"""The receptionist's tasks as data: which kinds of business offer each, what it asks for and in which
order, what its yes writes, and which other requests may not interrupt it.

The engine's ``_flow_<name>`` methods carry each task's conversation (offers, read-backs, corrections);
this table is where a business kind, the tasks it offers, a slot's question and a task's action are
declared, once. The order of :data:`FLOWS` is the priority of their intents when one utterance names
several ("cancel my appointment" is a cancel, not a booking).
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("clinic", "dental", "smb", "shop")
_CALENDAR = frozenset({"clinic", "dental", "smb"})  # businesses with a calendar of appointments
_ALL = frozenset(KINDS)


@dataclass(frozen=True)
class FlowSpec:
    """One task: ``kinds`` that offer it, the ``tool`` its yes writes (None for a read), the ``slots``
    it collects in the order it asks, and the intents that never pull a caller out of it."""

    name: str
    kinds: frozenset[str]
    tool: str | None
    slots: tuple[str, ...]
    kept_against: frozenset[str] = frozenset()


FLOWS: dict[str, FlowSpec] = {
    spec.name: spec
    for spec in (
        # Booking words ("appointment") occur in every calendar task: they never start a booking mid-way.
        FlowSpec("reschedule", _CALENDAR, "reschedule_booking", ("name", "old_when", "new_when"), frozenset({"book"})),
        FlowSpec("cancel", _CALENDAR, "cancel_booking", ("name", "old_when"), frozenset({"book"})),
        # "Cancel my order" asks about that order first: its state decides whether it can be cancelled.
        FlowSpec(
            "order_cancel", frozenset({"shop"}), "cancel_order", ("order",), frozenset({"order_status", "payment"})
        ),
        FlowSpec("order_status", frozenset({"shop"}), None, ("order",)),
        # "Can you text me the link?" while a payment link is being sent is that link.
        FlowSpec("payment", frozenset({"shop"}), "send_payment_link", ("order", "phone"), frozenset({"sms"})),
        FlowSpec("sms", _ALL, "send_sms", ("phone",)),
        FlowSpec("callback", _ALL, "schedule_callback", ("name", "phone", "callback_when")),
        FlowSpec("message", _ALL, "take_message", ("name", "phone", "message")),
        # "Can you change that to 3 pm?" while booking changes the booking being made.
        FlowSpec(
            "book", _CALENDAR, "create_booking", ("when", "name", "phone", "dob", "consent"), frozenset({"reschedule"})
        ),
        # A prospect asks about meetings and calls back while qualifying: that is part of the lead.
        FlowSpec(
            "lead",
            frozenset({"smb"}),
            "qualify_lead",
            ("need", "company", "budget", "timeline", "authority", "name", "phone"),
            frozenset({"book", "callback"}),
        ),
    )
}

# The question that asks for each slot: a template key (replies.py, or the profile's overrides).
QUESTIONS = {
    "when": "ask_when",
    "new_when": "ask_new_when",
    "old_when": "ask_old_when",
    "name": "ask_name",
    "phone": "ask_phone",
    "caller_id": "ask_phone_caller_id",
    "dob": "ask_dob",
    "consent": "ask_reminder_consent",  # where the profile's reminders are opt-in
    "message": "ask_message",
    "callback_when": "ask_callback_when",
    "need": "ask_need",
    "company": "ask_company",
    "budget": "ask_budget",
    "timeline": "ask_timeline",
    "authority": "ask_authority",
    "order": "ask_order",
}


def offered(flow: str, kind: str) -> bool:
    """Whether a business of ``kind`` offers the task."""
    spec = FLOWS.get(flow)
    return spec is not None and kind in spec.kinds
