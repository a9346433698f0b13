"""The business's own tools, mapped from each API's public reference (tested against recorded contracts).

- ``teams``: a Microsoft Teams Workflows (or incoming) webhook: an Adaptive Card per action. Like Slack,
  it names nobody unless ``fields`` says so. Teams has no idempotency key, so a retry after a lost answer
  can post the card twice.
- ``freshdesk``: a ticket for a message or a callback (API v2, Basic auth with the API key). Freshdesk has
  no idempotency header, so each ticket is tagged with our key and a search for that tag comes first: a
  retry finds the ticket the lost answer created instead of opening another.
- ``pipedrive``: ``qualify_lead`` as a person, a deal carrying our key in a deal custom field (``key_field``:
  the field's API key), and a note on the deal. A deal already holding the key means the lead was
  delivered, so a retry creates nothing.
- ``whatsapp``: the WhatsApp Business Cloud API sends a booking's confirmation as an approved template
  message (``templates``: tool -> template name). Meta has no idempotency key either, and a message once
  accepted cannot be recalled: a retry after a lost answer can send it twice. An action without a phone
  number (a cancel, a move) has nothing to send and is dead at once, as is a number the API refuses
  (not on WhatsApp), with the API's reason. Nothing is queued to a number whose patient has not said yes
  to WhatsApp messages (``[reminders] channel = "whatsapp"`` asks on the booking call; the front desk can
  record it with ``appliance consent``). ``send_reminder`` is the reminder campaign's template, in the
  patient's language (``languages`` maps ours to the template's codes).
- ``google_sheets``: one row per action appended to a sheet, for the office's reports (``values:append``).
  The row starts with our key: a retried append can add a second row with the same key, which the sheet's
  reports de-duplicate (``UNIQUE``).
- ``gmail``: an e-mail to the office for each action, sent from the practice's Google Workspace mailbox
  (``users.messages.send``). Its ``Message-ID`` carries our key, and each attempt first searches the
  mailbox for it (``rfc822msgid:``): a retry after a lost answer finds the mail sent and sends nothing.
  Gmail's rate limits (429, or 403 ``rateLimitExceeded``) are waited out.

The Google ones take their token from a service account's key (``service_account_file``; Gmail with
``mailbox``, the account it acts for) or a fixed one (``token_env``): see :mod:`.google_auth`.
"""

from __future__ import annotations

import base64
import json
from typing import Any, ClassVar

import httpx

from .connectors import NAMELESS_FIELDS, Connector, Outcome, http_outcome, mail, mail_message, retry_after
from .google_auth import GoogleConnector


def _bearer(connector: Connector) -> dict[str, str]:
    return {"Authorization": f"Bearer {connector.options['token']}"}


class TeamsConnector(Connector):
    """A Teams channel: an Adaptive Card with what happened (no person named by default)."""

    kind = "teams"
    settings: ClassVar[dict[str, type]] = {"url_env": str, "allow_http": bool}
    secrets = ("url",)

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        allowed = self.fields if self.fields is not None else NAMELESS_FIELDS
        facts = [{"title": k.replace("_", " "), "value": str(v)} for k, v in args.items() if k in allowed]
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [
                {"type": "TextBlock", "text": f"Phone: {tool.replace('_', ' ')}", "weight": "Bolder", "wrap": True},
                {"type": "FactSet", "facts": facts},
            ],
        }
        return {
            "type": "message",
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}],
        }

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        response = await client.post(self.options["url"], json=payload, timeout=self.timeout_s)
        return http_outcome(response)


class FreshdeskConnector(Connector):
    """A Freshdesk ticket for ``take_message`` / ``schedule_callback``, found again by its key's tag."""

    kind = "freshdesk"
    settings: ClassVar[dict[str, type]] = {"domain": str, "api_key_env": str, "base_url": str}
    secrets = ("api_key",)

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        name = args.get("caller_name", "caller")
        lines = [f"{k.replace('_', ' ')}: {v}" for k, v in args.items() if k in (self.fields or args)]
        return {
            "subject": f"Phone {tool.replace('_', ' ')} from {name}",
            "description": "<br>".join(lines),
            "name": name,
            "phone": args.get("phone", ""),
            "priority": 2,
            "status": 2,
            "source": 3,  # phone
        }

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        base = self.options.get("base_url", f"https://{self.options.get('domain', '')}.freshdesk.com")
        auth = (self.options["api_key"], "X")
        tag = f"vocalia-{key[:32]}"
        found = await client.get(
            f"{base}/api/v2/search/tickets", params={"query": f"\"tag:'{tag}'\""}, auth=auth, timeout=self.timeout_s
        )
        if not found.is_success:
            return http_outcome(found)
        if found.json().get("total", 0):
            return Outcome(True)  # a previous attempt created it; its answer was lost
        response = await client.post(
            f"{base}/api/v2/tickets", json={**payload, "tags": [tag]}, auth=auth, timeout=self.timeout_s
        )
        return http_outcome(response)


class PipedriveConnector(Connector):
    """``qualify_lead`` as a Pipedrive person, a deal keyed by ``key_field``, and a note on the deal."""

    kind = "pipedrive"
    settings: ClassVar[dict[str, type]] = {"api_token_env": str, "key_field": str, "base_url": str}
    secrets = ("api_token",)

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        note = [f"Lead score {args['score']} from a phone call."]
        note += [f"{k}: {args[k]}" for k in ("need", "timeline", "authority", "budget") if k in args]
        return {
            "person": {
                "name": args["name"],
                "phone": [{"value": args["phone"], "primary": True}] if args.get("phone") else [],
            },
            "deal": {"title": f"{args.get('company') or args['name']} (phone lead)", "value": args.get("budget", 0)},
            "org": args.get("company", ""),
            "note": "\n".join(note),
        }

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        base = self.options.get("base_url", "https://api.pipedrive.com")
        params = {"api_token": self.options["api_token"]}
        field = self.options["key_field"]
        found = await client.get(
            f"{base}/v1/deals/search",
            params={**params, "term": key, "fields": "custom_fields", "exact_match": "true"},
            timeout=self.timeout_s,
        )
        if not found.is_success:
            return http_outcome(found)
        if (found.json().get("data") or {}).get("items"):
            return Outcome(True)  # the deal exists: an earlier attempt got through
        person = await client.post(f"{base}/v1/persons", params=params, json=payload["person"], timeout=self.timeout_s)
        if not person.is_success:
            return http_outcome(person)
        deal = await client.post(
            f"{base}/v1/deals",
            params=params,
            json={**payload["deal"], "person_id": person.json()["data"]["id"], field: key},
            timeout=self.timeout_s,
        )
        if not deal.is_success:
            return http_outcome(deal)
        note = await client.post(
            f"{base}/v1/notes",
            params=params,
            json={"content": payload["note"], "deal_id": deal.json()["data"]["id"]},
            timeout=self.timeout_s,
        )
        return http_outcome(note) if not note.is_success else Outcome(True)


class WhatsAppConnector(Connector):
    """A booking's confirmation as a WhatsApp template message (Cloud API)."""

    kind = "whatsapp"
    settings: ClassVar[dict[str, type]] = {
        "phone_number_id": str,
        "token_env": str,
        "language": str,
        "languages": dict,
        "templates": dict,
        "base_url": str,
    }
    secrets = ("token",)
    consent_channel = "whatsapp"  # nothing is queued to a number without a recorded yes
    TEMPLATES: ClassVar[dict[str, str]] = {
        "create_booking": "appointment_confirmation",
        "reschedule_booking": "appointment_moved",
        "cancel_booking": "appointment_cancelled",
        "send_reminder": "appointment_reminder",
    }
    PARAMETERS: ClassVar[dict[str, tuple[str, ...]]] = {
        "create_booking": ("patient_name", "start", "provider"),
        "reschedule_booking": ("patient_name", "new_start"),
        "cancel_booking": ("patient_name", "start"),
        "send_reminder": ("patient_name", "start", "provider"),
    }

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        templates = {**self.TEMPLATES, **self.options.get("templates", {})}
        values = [
            str(args[k]).replace("T", " ") if k.endswith("start") else str(args[k])
            for k in self.PARAMETERS.get(tool, ())
            if k in args
        ]
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": str(args.get("phone", "")).lstrip("+"),
            "type": "template",
            "template": {
                "name": templates.get(tool, tool),
                "language": {"code": self._language(args.get("language"))},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": v} for v in values]}],
            },
        }

    def _language(self, spoken: Any) -> str:
        """The template's language code: the patient's language through ``languages`` (``fr = "fr_FR"``),
        the language itself, or the connector's ``language`` when the action names none."""
        if not spoken:
            return str(self.options.get("language", "en"))
        return str(self.options.get("languages", {}).get(spoken, spoken))

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        if not payload["to"]:
            return Outcome(False, "no phone number in the action: nothing to send on WhatsApp", permanent=True)
        base = self.options.get("base_url", "https://graph.facebook.com/v21.0")
        response = await client.post(
            f"{base}/{self.options['phone_number_id']}/messages",
            json=payload,
            headers=_bearer(self),
            timeout=self.timeout_s,
        )
        return http_outcome(response)


class GoogleSheetsConnector(GoogleConnector):
    """One row per action appended to a Google Sheet (``spreadsheet_id``, ``range`` such as ``Calls!A1``)."""

    kind = "google_sheets"
    settings: ClassVar[dict[str, type]] = {
        "spreadsheet_id": str,
        "range": str,
        "token_env": str,
        "base_url": str,
        "service_account_file": str,
    }
    secrets = ("token",)
    SCOPES = ("https://www.googleapis.com/auth/spreadsheets",)

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        allowed = self.fields if self.fields is not None else NAMELESS_FIELDS
        shown = {k: v for k, v in args.items() if k in allowed}
        return {"row": [tool, json.dumps(shown, ensure_ascii=False, sort_keys=True)]}

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        base = self.options.get("base_url", "https://sheets.googleapis.com")
        where = self.options.get("range", "Sheet1!A1")
        response = await self.call(
            client,
            "POST",
            f"{base}/v4/spreadsheets/{self.options['spreadsheet_id']}/values/{where}:append",
            params={"valueInputOption": "RAW", "insertDataOption": "INSERT_ROWS"},
            json={"majorDimension": "ROWS", "values": [[key, *payload["row"]]]},
        )
        return response if isinstance(response, Outcome) else http_outcome(response)


class GmailConnector(GoogleConnector):
    """E-mail to the office (``to``) from the practice's mailbox (``mailbox``), through the Gmail API."""

    kind = "gmail"
    settings: ClassVar[dict[str, type]] = {
        "to": str,
        "mailbox": str,
        "token_env": str,
        "base_url": str,
        "service_account_file": str,
    }
    secrets = ("token",)
    # send, and read to find a message an earlier attempt sent (the rfc822msgid: search needs it)
    SCOPES = ("https://www.googleapis.com/auth/gmail.send", "https://www.googleapis.com/auth/gmail.readonly")

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        return mail(tool, super().payload(tool, args, action_id)["args"])

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        base = str(self.options.get("base_url", "https://gmail.googleapis.com")).rstrip("/") + "/gmail/v1/users/me"
        message_id = f"<{key}@vocalia.invalid>"
        found = await self.call(client, "GET", f"{base}/messages", params={"q": f"rfc822msgid:{message_id}"})
        if isinstance(found, Outcome):
            return found
        if not found.is_success:
            return _gmail_outcome(found)
        if found.json().get("messages"):
            return Outcome(True)  # an earlier attempt sent it; its answer was lost
        message = mail_message(self.options.get("mailbox") or "me", self.options["to"], payload, key)
        raw = base64.urlsafe_b64encode(message.as_bytes()).decode()
        sent = await self.call(client, "POST", f"{base}/messages/send", json={"raw": raw})
        if isinstance(sent, Outcome):
            return sent
        return _gmail_outcome(sent)


def _gmail_outcome(response: httpx.Response) -> Outcome:
    """Gmail says a rate limit with 403 as well as 429: both are waited out, other 4xx are dead."""
    if response.status_code == 403:
        try:
            reasons = {e.get("reason") for e in response.json()["error"].get("errors", [])}
        except (ValueError, KeyError, TypeError, AttributeError):
            reasons = set()
        if reasons & {"rateLimitExceeded", "userRateLimitExceeded"}:
            error = f"HTTP 403: Gmail rate limit ({', '.join(sorted(r for r in reasons if r))})"
            return Outcome(False, error, retry_after=retry_after(response.headers.get("retry-after")))
    return http_outcome(response)
