"""The write actions a dialogue can take, each with a JSON schema checked before anything happens.

An action is what the outside world must learn from a call (a booking, a message for the staff, an
SMS). Flows build them; :func:`validate` refuses any that does not match its schema, so neither a
flow bug nor a model's proposal can send something malformed. Call control (transfer) is not an action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonschema

from ..errors import ApplianceError

_DATETIME = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$"}
_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_PHONE = {"type": "string", "pattern": r"^\+[1-9]\d{6,14}$"}
_NAME = {"type": "string", "minLength": 1, "maxLength": 120}
_TEXT = {"type": "string", "minLength": 1, "maxLength": 2000}


def _schema(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {**required, **(optional or {})},
        "required": sorted(required),
        "additionalProperties": False,
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    "create_booking": _schema(
        {"patient_name": _NAME, "start": _DATETIME},
        {"provider": _NAME, "service": _NAME, "phone": _PHONE, "date_of_birth": _DATE},
    ),
    "cancel_booking": _schema({"patient_name": _NAME}, {"start": _DATETIME}),
    "reschedule_booking": _schema({"patient_name": _NAME, "new_start": _DATETIME}, {"old_start": _DATETIME}),
    "take_message": _schema({"caller_name": _NAME, "phone": _PHONE, "message": _TEXT}, {"recipient": _NAME}),
    "schedule_callback": _schema({"caller_name": _NAME, "phone": _PHONE}, {"when": _DATETIME}),
    "qualify_lead": _schema(
        {"name": _NAME, "score": {"type": "integer", "minimum": 0, "maximum": 100}},
        {
            "budget": {"type": "number", "minimum": 0},
            "authority": {"type": "boolean"},
            "need": _TEXT,
            "timeline": _TEXT,
            "company": _NAME,
            "phone": _PHONE,
        },
    ),
    "send_payment_link": _schema(
        {"phone": _PHONE}, {"order_number": {"type": "string", "pattern": r"^\d{3,20}$"}, "amount": {"type": "number"}}
    ),
    # a shop's order cancelled at the caller's request (Shopify: with a refund when it was paid)
    "cancel_order": _schema(
        {"order_number": {"type": "string", "pattern": r"^\d{3,20}$"}}, {"refund": {"type": "boolean"}}
    ),
    "send_sms": _schema({"to": _PHONE, "text": {"type": "string", "minLength": 1, "maxLength": 480}}),
    # an appointment reminder as a message (WhatsApp): queued by the reminder campaign, never by a dialogue
    "send_reminder": _schema(
        {"phone": _PHONE, "start": _DATETIME},
        {"patient_name": _NAME, "provider": _NAME, "language": {"type": "string", "pattern": "^[a-z]{2}$"}},
    ),
}

# The actions a person at the front desk must handle (call back, pass on): kept until someone has.
DESK_TOOLS = ("take_message", "schedule_callback")


class ToolError(ApplianceError):
    """An action that does not match its tool's schema (or names no tool)."""


@dataclass(frozen=True)
class Action:
    """One write the business must see: a tool name and its arguments."""

    tool: str
    args: dict[str, Any]


def validate(action: Action) -> Action:
    """Return ``action`` if it matches its schema.

    Raises:
        ToolError: unknown tool, or arguments missing, extra or malformed (the message names which).
    """
    schema = SCHEMAS.get(action.tool)
    if schema is None:
        raise ToolError(f"unknown tool {action.tool!r}; known: {', '.join(sorted(SCHEMAS))}")
    try:
        jsonschema.validate(action.args, schema)
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "arguments"
        raise ToolError(f"{action.tool}: {where}: {err.message}") from None
    return action
