"""Connectors: where actions go, what each may send, and how an action maps to the peer's API.

Connectors are declared in an integrations file (``[integrations] file``), one ``[[connector]]`` table
each: a name, a kind, the tools it receives, and the kind's settings. Each connector builds its
payload from an allow-list of fields when the action is queued, so nothing else of the call ever
leaves the box, and turns a delivery attempt into an :class:`Outcome` the worker understands.
Secrets are read from environment variables named in the file (``*_env`` keys), never from the file.
"""

from __future__ import annotations

import asyncio
import email.message
import email.utils
import hashlib
import hmac
import ipaddress
import json
import os
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from ..config import read_toml
from ..dialog.tools import SCHEMAS, Action
from ..errors import ConfigError

RETRYABLE_STATUS = {408, 409, 425, 429}


@dataclass(frozen=True)
class Outcome:
    """The result of one delivery attempt."""

    delivered: bool
    error: str = ""
    permanent: bool = False  # retrying cannot help (a 4xx such as 400 or 401): the row goes dead
    retry_after: float | None = None  # seconds the peer asked us to wait (Retry-After)
    follow_up: Action | None = None  # an action this delivery produced (a payment link to text)


def http_outcome(response: httpx.Response) -> Outcome:
    """2xx delivered; 408/409/425/429 and 5xx retried (honouring Retry-After); other 4xx permanent."""
    if response.is_success:
        return Outcome(True)
    error = f"HTTP {response.status_code}: {response.text[:200].strip()}"
    if response.status_code in RETRYABLE_STATUS or response.status_code >= 500:
        return Outcome(False, error, retry_after=retry_after(response.headers.get("retry-after")))
    return Outcome(False, error, permanent=True)


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


# What a channel outside the practice's own systems (a chat, a sheet) is sent by default: when and with
# whom, never who called or their number (``fields`` can say otherwise).
NAMELESS_FIELDS = ("start", "new_start", "old_start", "provider", "service", "recipient", "when", "score")


class Connector:
    """One configured destination. Subclasses set ``kind`` and implement :meth:`deliver`."""

    kind: ClassVar[str]
    settings: ClassVar[dict[str, type]] = {}  # kind-specific keys and their types
    secrets: ClassVar[tuple[str, ...]] = ()  # settings read from the environment variable named by KEY_env
    reads_only: ClassVar[bool] = False  # a source read live (orders), which takes no actions ...
    writable: ClassVar[tuple[str, ...]] = ()  # ... but these, when its tools name them (Shopify: cancel_order)
    consent_channel: ClassVar[str] = ""  # a channel that reaches the patient only with their consent
    secret_alternatives: ClassVar[dict[str, str]] = {}  # a secret that another setting can replace

    def __init__(self, name: str, tools: tuple[str, ...], fields: tuple[str, ...] | None, options: dict[str, Any]):
        self.name = name
        self.tools = tools
        self.fields = fields  # None: each tool's own arguments
        self.concurrency: int = options.pop("concurrency", 2)
        self.timeout_s: float = float(options.pop("timeout_s", 10.0))
        self.options = options

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        """What this connector may send about an action: only allow-listed fields."""
        allowed = self.fields if self.fields is not None else tuple(SCHEMAS[tool]["properties"])
        return {"action": tool, "action_id": action_id, "args": {k: v for k, v in args.items() if k in allowed}}

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        """One attempt; network errors are reported as retryable outcomes by the worker."""
        raise NotImplementedError


class WebhookConnector(Connector):
    """POST JSON to a URL, signed: ``X-Vocalia-Signature: sha256=HMAC(secret, timestamp + "." + body)``."""

    kind = "webhook"
    settings = {"url": str, "secret_env": str, "allow_http": bool}
    secrets = ("secret",)

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
        stamp = str(int(time.time()))
        signature = hmac.new(self.options["secret"].encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": key,
            "X-Vocalia-Timestamp": stamp,
            "X-Vocalia-Signature": f"sha256={signature}",
        }
        response = await client.post(self.options["url"], content=body, headers=headers, timeout=self.timeout_s)
        return http_outcome(response)


class SlackConnector(Connector):
    """A Slack incoming webhook: one line per action. By default it names no person (Slack is not a
    place for patient data): only what happened and when, unless ``fields`` says otherwise."""

    kind = "slack"
    settings = {"url_env": str, "allow_http": bool}
    secrets = ("url",)
    DEFAULT_FIELDS = NAMELESS_FIELDS

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        allowed = self.fields if self.fields is not None else self.DEFAULT_FIELDS
        details = ", ".join(f"{k}: {v}" for k, v in args.items() if k in allowed)
        return {"text": f"{tool.replace('_', ' ')}" + (f" ({details})" if details else "")}

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        # Slack has no idempotency mechanism: a retry after a lost answer may post twice.
        response = await client.post(self.options["url"], json=payload, timeout=self.timeout_s)
        return http_outcome(response)


class TwilioSmsConnector(Connector):
    """Twilio Programmable Messaging: ``send_sms`` to the caller, other actions as a text to ``notify``."""

    kind = "twilio"
    settings = {"account_sid": str, "auth_token_env": str, "from_number": str, "notify": str, "base_url": str}
    secrets = ("auth_token",)

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        if tool == "send_sms":
            return {"To": args["to"], "Body": args["text"]}
        fields = self.fields if self.fields is not None else ("start", "new_start", "provider", "when")
        details = ", ".join(f"{k} {v}" for k, v in args.items() if k in fields)
        return {"To": self.options.get("notify", ""), "Body": f"{tool.replace('_', ' ')} {details}".strip()}

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        if not payload["To"]:
            return Outcome(False, "no recipient: set notify in the twilio connector", permanent=True)
        sid = self.options["account_sid"]
        base = self.options.get("base_url", "https://api.twilio.com")
        response = await client.post(
            f"{base}/2010-04-01/Accounts/{sid}/Messages.json",
            data={**payload, "From": self.options["from_number"]},
            auth=(sid, self.options["auth_token"]),
            headers={"I-Twilio-Idempotency-Token": key},
            timeout=self.timeout_s,
        )
        return http_outcome(response)


def mail(tool: str, args: dict[str, Any]) -> dict[str, str]:
    """An e-mail's subject and body for an action: one line per allowed field."""
    lines = [f"{k.replace('_', ' ')}: {v}" for k, v in args.items()]
    return {"subject": f"[VocalIA] {tool.replace('_', ' ')}", "body": "\n".join(lines) + "\n"}


def mail_message(sender: str, to: str, payload: dict[str, str], key: str) -> email.message.EmailMessage:
    """The e-mail of a :func:`mail` payload; its ``Message-ID`` carries the idempotency key."""
    message = email.message.EmailMessage()
    message["From"], message["To"] = sender, to
    message["Subject"] = payload["subject"]
    message["Message-ID"] = f"<{key}@vocalia.invalid>"
    message["Date"] = email.utils.formatdate()
    message.set_content(payload["body"])
    return message


class SmtpConnector(Connector):
    """E-mail to the office through an SMTP server; ``Message-ID`` carries the idempotency key so a
    mailbox or filter can drop a duplicate after a retry."""

    kind = "smtp"
    settings = {
        "host": str,
        "port": int,
        "sender": str,
        "to": str,
        "starttls": bool,
        "cafile": str,
        "allow_plaintext": bool,
        "username": str,
    }
    secrets = ("password",)

    def payload(self, tool: str, args: dict[str, Any], action_id: str) -> dict[str, Any]:
        return mail(tool, super().payload(tool, args, action_id)["args"])

    async def deliver(self, client: httpx.AsyncClient, payload: dict[str, Any], key: str) -> Outcome:
        return await asyncio.to_thread(self._send, payload, key)

    def _send(self, payload: dict[str, Any], key: str) -> Outcome:
        message = mail_message(self.options["sender"], self.options["to"], payload, key)
        try:
            with smtplib.SMTP(self.options["host"], self.options.get("port", 25), timeout=self.timeout_s) as smtp:
                if self.options.get("starttls"):  # the server's certificate is verified (cafile: a private CA)
                    smtp.starttls(context=ssl.create_default_context(cafile=self.options.get("cafile")))
                if self.options.get("username"):
                    smtp.login(self.options["username"], self.options.get("password", ""))
                smtp.send_message(message)
        except smtplib.SMTPResponseException as err:
            permanent = 500 <= err.smtp_code < 600
            return Outcome(False, f"SMTP {err.smtp_code}: {err.smtp_error!r}", permanent=permanent)
        except (OSError, smtplib.SMTPException) as err:
            return Outcome(False, f"SMTP: {err}")
        return Outcome(True)


def kinds() -> dict[str, type[Connector]]:
    """Every connector kind by name."""
    from .business import (
        FreshdeskConnector,
        GmailConnector,
        GoogleSheetsConnector,
        PipedriveConnector,
        TeamsConnector,
        WhatsAppConnector,
    )
    from .calcom import CalComConnector
    from .caldav import CalDavConnector
    from .google_calendar import GoogleCalendarConnector
    from .saas import FhirConnector, HubSpotConnector, StripePaymentLinkConnector, ZendeskConnector
    from .shopify import ShopifyConnector

    classes: tuple[type[Connector], ...] = (
        WebhookConnector,
        SlackConnector,
        TwilioSmsConnector,
        SmtpConnector,
        CalDavConnector,
        FhirConnector,
        StripePaymentLinkConnector,
        HubSpotConnector,
        ZendeskConnector,
        TeamsConnector,
        FreshdeskConnector,
        PipedriveConnector,
        WhatsAppConnector,
        GoogleSheetsConnector,
        GmailConnector,
        ShopifyConnector,
        CalComConnector,
        GoogleCalendarConnector,
    )
    return {c.kind: c for c in classes}


def load_connectors(path: Path | None, env: dict[str, str] | None = None) -> list[Connector]:
    """The connectors of an integrations file (none without a file).

    Raises:
        ConfigError: unknown kind, tool or key, a missing secret, or plain http to a non-local host.
    """
    if path is None:
        return []
    environ = os.environ if env is None else env
    raw = read_toml(path, "integrations file", "check [integrations] file")
    items = raw.get("connector", [])
    if set(raw) - {"connector"} or not isinstance(items, list):
        raise ConfigError(f"{path}: expected only [[connector]] tables")
    connectors: list[Connector] = []
    for index, item in enumerate(items, start=1):
        where = f"{path}: [[connector]] #{index}"
        connectors.append(_connector(item, where, environ))
    names = [c.name for c in connectors]
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: connector names must be unique (got {', '.join(names)})")
    return connectors


def _connector(item: dict[str, Any], where: str, environ: os._Environ[str] | dict[str, str]) -> Connector:
    known = kinds()
    kind = item.get("kind")
    if kind not in known:
        raise ConfigError(f"{where}: kind = {kind!r} is not known; use one of {', '.join(known)}")
    cls = known[kind]
    name = item.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{where}: name is missing")
    tools = item.get("tools", [])
    if cls.reads_only and any(t not in cls.writable for t in tools):
        extra = [t for t in tools if t not in cls.writable]
        takes = f" (it takes only {', '.join(cls.writable)})" if cls.writable else ""
        raise ConfigError(f"{where} ({name}): a {kind} connector is read, not written to{takes}: remove {extra}")
    if (not tools and not cls.reads_only) or not all(t in SCHEMAS for t in tools):
        raise ConfigError(f"{where} ({name}): tools = {tools!r} must list some of {', '.join(SCHEMAS)}")
    fields = item.get("fields")
    allowed = {"kind", "name", "tools", "fields", "concurrency", "timeout_s", *cls.settings}
    allowed |= {f"{secret}_env" for secret in cls.secrets}
    options: dict[str, Any] = {}
    for key, value in item.items():
        if key not in allowed:
            raise ConfigError(f"{where} ({name}): unknown key {key}; valid: {', '.join(sorted(allowed))}")
        if key in cls.settings and not isinstance(value, cls.settings[key]):
            raise ConfigError(f"{where} ({name}): {key} = {value!r} must be a {cls.settings[key].__name__}")
        if key not in ("kind", "name", "tools", "fields"):
            options[key] = value
    for secret in cls.secrets:
        variable = options.pop(f"{secret}_env", None)
        if variable is None and (secret == "password" or cls.secret_alternatives.get(secret, "") in options):
            continue
        if variable is None or not environ.get(variable):
            alternative = cls.secret_alternatives.get(secret)
            instead = f" (or {alternative} = PATH)" if alternative and not variable else ""
            raise ConfigError(
                f"{where} ({name}): the {secret} comes from an environment variable: set {secret}_env = "
                f'"VAR" and VAR (systemd: LoadCredential=){"; " + variable + " is empty" if variable else ""}'
                f"{instead}"
            )
        options[secret] = environ[variable]
    for key in ("url",):
        if key in options:
            _check_url(options[key], options.get("allow_http", False), f"{where} ({name})")
    plaintext = not options.get("starttls") and not options.get("allow_plaintext")
    if cls.kind == "smtp" and plaintext and not _loopback(str(options.get("host", ""))):
        raise ConfigError(
            f"{where} ({name}): mail to {options.get('host')} would carry names and numbers unencrypted; "
            "set starttls = true (or allow_plaintext = true for a relay on this network)"
        )
    return cls(name, tuple(tools), tuple(fields) if fields is not None else None, options)


def _check_url(url: str, allow_http: bool, where: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    if parts.scheme == "http":
        if _loopback(parts.hostname or "") or allow_http:
            return
        raise ConfigError(f"{where}: {url} is plain http to another host; use https (or allow_http = true)")
    raise ConfigError(f"{where}: {url!r} is not an http(s) URL")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"
