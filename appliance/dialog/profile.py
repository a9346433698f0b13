"""The business profile: who the receptionist answers for, when it is open, who sees whom for what.

One TOML file per business, edited by IT or the office manager and validated at load: a wrong key
or value fails with the file, the key, the value and what would be accepted. The demo clinic ships
inside the package and is what the default run answers as.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from ..config import read_toml
from ..errors import ConfigError

DEMO_PROFILE = Path(__file__).resolve().parent / "profiles" / "demo-clinic.toml"
KINDS = ("clinic", "dental", "smb", "shop")
LANGUAGES = ("en", "fr", "es")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SECTIONS = {
    "business",
    "hours",
    "providers",
    "services",
    "knowledge",
    "calendar",
    "booking",
    "orders",
    "replies",
    "reminders",
    "callbacks",
}
_BUSINESS_KEYS = {
    "name",
    "kind",
    "languages",
    "timezone",
    "address",
    "phone",
    "country",
    "transfer_target",
    "emergency_number",
    "currency",
}


@dataclass(frozen=True)
class Service:
    """Something a caller can book, with how long it takes."""

    name: str
    duration_min: int = 30
    price: float | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Provider:
    """A person callers book with; ``services`` empty means every service."""

    name: str
    services: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reminders:
    """Appointment reminders: when, how, and within which hours the appliance may call a patient.

    ``channel``: "call" (an outbound call, the patient confirms, cancels or changes), "sms" (a text
    through the outbox), "whatsapp" (an approved template through the outbox's WhatsApp connector) or
    "off". Calls are placed only on ``call_days`` within ``call_hours`` (business time zone); a busy line
    or no answer is tried again ``retry_minutes`` later, ``attempts`` times in all.
    ``consent``: "opt_out" (every booking with a number is reminded unless the patient refused or is on
    the do-not-call list) or "opt_in" (the booking call asks, and only a recorded yes is reminded);
    WhatsApp is always opt-in, as Meta's Business policy requires.
    An answering machine gets a message without health details: ``voicemail`` "brief" (who called, call
    us back), "detailed" (also the appointment's day and time, never the provider or the reason) or
    "none" (no message; the reminder is tried again like an unanswered call).
    """

    channel: str = "off"
    hours_before: int = 24
    call_hours: tuple[time, time] = (time(9, 0), time(19, 0))
    call_days: tuple[int, ...] = (0, 1, 2, 3, 4, 5)  # Monday to Saturday
    attempts: int = 3
    retry_minutes: int = 30
    voicemail: str = "brief"
    consent: str = "opt_out"

    @property
    def asks_consent(self) -> bool:
        """Whether a booking call asks the patient whether they want reminders."""
        return self.channel != "off" and self.consent == "opt_in"


@dataclass(frozen=True)
class Callbacks:
    """Callback requests placed by the appliance itself (opt-in: ``place = true``), at the time the caller
    asked for, or as soon as the call days and hours of ``[reminders]`` allow. The patient hears the AI
    disclosure and the receptionist, who can book, take a message or put them through; a busy line or
    no answer is tried again ``retry_minutes`` later, ``attempts`` times in all, and a request nobody
    reached stays on the front desk's list. Off: every callback request is the front desk's."""

    place: bool = False
    attempts: int = 2
    retry_minutes: int = 20


@dataclass(frozen=True)
class BusinessProfile:
    """A validated business profile. Paths inside it are resolved against the file's folder."""

    path: Path
    name: str
    kind: str
    languages: tuple[str, ...]
    timezone: ZoneInfo
    country: str  # ISO 3166 region used to read local phone numbers
    address: str = ""
    phone: str = ""
    transfer_target: str = ""
    emergency_number: str = "911"
    currency: str = "dollars"  # as spoken after a price
    hours: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)  # weekday 0=Monday
    providers: tuple[Provider, ...] = ()
    services: tuple[Service, ...] = ()
    knowledge: tuple[Path, ...] = ()
    calendar: str = "local"
    slot_min: int = 30  # booking grid
    max_days_ahead: int = 90
    ask_date_of_birth: bool = False
    orders_file: Path | None = None
    replies: dict[str, dict[str, str]] = field(default_factory=dict)  # language -> template key -> text
    reminders: Reminders = field(default_factory=Reminders)
    callbacks: Callbacks = field(default_factory=Callbacks)

    def service(self, name: str) -> Service | None:
        """The service with this exact name."""
        return next((s for s in self.services if s.name == name), None)

    def providers_for(self, service: str | None) -> tuple[Provider, ...]:
        """The providers who offer a service (all of them when none is named)."""
        if service is None:
            return self.providers
        return tuple(p for p in self.providers if not p.services or service in p.services)


def load_profile(path: Path | None = None) -> BusinessProfile:
    """Read and validate a profile file; None loads the shipped demo clinic.

    Raises:
        ConfigError: the file cannot be read, or a key or value is wrong (the message says which and why).
    """
    path = (path or DEMO_PROFILE).expanduser().resolve()
    raw = read_toml(path, "business profile", "check [business] profile")
    return _Reader(path).profile(raw)


class _Reader:
    """Turns the raw TOML of one file into a profile, naming the file and key in every error."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, message: str) -> ConfigError:
        return ConfigError(f"{self.path}: {where} {message}")

    def keys(self, table: dict[str, Any], allowed: set[str], where: str) -> None:
        for key in table:
            if key not in allowed:
                raise self.fail(f"{where} {key}", f"is not a known key; valid keys: {', '.join(sorted(allowed))}")

    def text(self, table: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
        value = table.get(key, default)
        if value is None:
            raise self.fail(f"{where} {key}", "is missing; it is required")
        if not isinstance(value, str):
            raise self.fail(f"{where} {key} = {value!r}", "must be a string")
        return value.strip()

    def number(self, table: dict[str, Any], key: str, where: str, default: int) -> int:
        value = table.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise self.fail(f"{where} {key} = {value!r}", "must be a whole number above 0")
        return value

    def strings(self, table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(f"{where} {key} = {value!r}", 'must be a list of names, e.g. ["a", "b"]')
        return tuple(v.strip() for v in value)

    def profile(self, raw: dict[str, Any]) -> BusinessProfile:
        self.keys(raw, _SECTIONS, "top level:")
        business = raw.get("business")
        if not isinstance(business, dict):
            raise self.fail("[business]", "is missing; it needs at least name, kind, languages and timezone")
        self.keys(business, _BUSINESS_KEYS, "[business]")
        kind = self.text(business, "kind", "[business]")
        if kind not in KINDS:
            raise self.fail(f'[business] kind = "{kind}"', f"is not a known kind; use one of {', '.join(KINDS)}")
        languages = self.strings(business, "languages", "[business]") or ("en",)
        for language in languages:
            if language not in LANGUAGES:
                raise self.fail(
                    f'[business] languages: "{language}"', f"is not supported; use some of {', '.join(LANGUAGES)}"
                )
        zone_name = self.text(business, "timezone", "[business]")
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail(
                f'[business] timezone = "{zone_name}"', 'is not an IANA time zone; e.g. "Europe/Paris"'
            ) from None
        country = self.text(business, "country", "[business]", "US").upper()
        if country not in phonenumbers.SUPPORTED_REGIONS:
            raise self.fail(f'[business] country = "{country}"', 'is not an ISO 3166 region code; e.g. "US", "FR"')
        services = self.services(raw.get("services", []))
        names = {s.name for s in services}
        calendar = raw.get("calendar", {})
        booking = raw.get("booking", {})
        orders = raw.get("orders", {})
        knowledge = raw.get("knowledge", {})
        for name, table in (("calendar", calendar), ("booking", booking), ("orders", orders), ("knowledge", knowledge)):
            if not isinstance(table, dict):
                raise self.fail(f"[{name}]", "must be a table")
        self.keys(calendar, {"kind", "slot_min", "max_days_ahead"}, "[calendar]")
        self.keys(booking, {"ask_date_of_birth"}, "[booking]")
        self.keys(orders, {"file"}, "[orders]")
        self.keys(knowledge, {"files"}, "[knowledge]")
        if calendar.get("kind", "local") != "local":
            raise self.fail(f"[calendar] kind = {calendar.get('kind')!r}", 'is not available yet; use "local"')
        ask_dob = booking.get("ask_date_of_birth", False)
        if not isinstance(ask_dob, bool):
            raise self.fail(f"[booking] ask_date_of_birth = {ask_dob!r}", "must be true or false")
        return BusinessProfile(
            path=self.path,
            name=self.text(business, "name", "[business]"),
            kind=kind,
            languages=languages,
            timezone=zone,
            country=country,
            address=self.text(business, "address", "[business]", ""),
            phone=self.text(business, "phone", "[business]", ""),
            transfer_target=self.text(business, "transfer_target", "[business]", ""),
            emergency_number=self.text(business, "emergency_number", "[business]", "911"),
            currency=self.text(business, "currency", "[business]", "dollars"),
            hours=self.hours(raw.get("hours", {})),
            providers=self.providers(raw.get("providers", []), names),
            services=services,
            knowledge=tuple(self.file(f, "[knowledge] files") for f in self.strings(knowledge, "files", "[knowledge]")),
            slot_min=self.number(calendar, "slot_min", "[calendar]", 30),
            max_days_ahead=self.number(calendar, "max_days_ahead", "[calendar]", 90),
            ask_date_of_birth=ask_dob,
            orders_file=self.file(self.text(orders, "file", "[orders]"), "[orders] file") if orders else None,
            replies=self.replies(raw.get("replies", {})),
            reminders=self.reminders(raw.get("reminders", {})),
            callbacks=self.callbacks(raw.get("callbacks", {})),
        )

    def callbacks(self, table: Any) -> Callbacks:
        if not isinstance(table, dict):
            raise self.fail("[callbacks]", "must be a table")
        self.keys(table, {"place", "attempts", "retry_minutes"}, "[callbacks]")
        place = table.get("place", False)
        if not isinstance(place, bool):
            raise self.fail(f"[callbacks] place = {place!r}", "must be true or false")
        return Callbacks(
            place=place,
            attempts=max(1, self.number(table, "attempts", "[callbacks]", 2)),
            retry_minutes=self.number(table, "retry_minutes", "[callbacks]", 20),
        )

    def reminders(self, table: Any) -> Reminders:
        if not isinstance(table, dict):
            raise self.fail("[reminders]", "must be a table")
        keys = {"channel", "hours_before", "call_hours", "call_days", "attempts", "retry_minutes", "voicemail"}
        self.keys(table, keys | {"consent"}, "[reminders]")
        channel = self.text(table, "channel", "[reminders]", "off")
        if channel not in ("call", "sms", "whatsapp", "off"):
            raise self.fail(f'[reminders] channel = "{channel}"', 'must be "call", "sms", "whatsapp" or "off"')
        consent = self.text(table, "consent", "[reminders]", "opt_in" if channel == "whatsapp" else "opt_out")
        if consent not in ("opt_in", "opt_out"):
            raise self.fail(f'[reminders] consent = "{consent}"', 'must be "opt_in" or "opt_out"')
        if channel == "whatsapp" and consent != "opt_in":
            raise self.fail(
                '[reminders] consent = "opt_out"',
                'cannot go with channel = "whatsapp": WhatsApp messages need the patient\'s opt-in (use "opt_in")',
            )
        voicemail = self.text(table, "voicemail", "[reminders]", "brief")
        if voicemail not in ("brief", "detailed", "none"):
            raise self.fail(f'[reminders] voicemail = "{voicemail}"', 'must be "brief", "detailed" or "none"')
        spec = self.text(table, "call_hours", "[reminders]", "09:00-19:00")
        try:
            start_text, end_text = spec.split("-")
            hours = (time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip()))
        except ValueError:
            raise self.fail(f'[reminders] call_hours = "{spec}"', 'is not a time range; write "09:00-19:00"') from None
        if hours[1] <= hours[0]:
            raise self.fail(f'[reminders] call_hours = "{spec}"', "ends before it starts")
        days = self.strings(table, "call_days", "[reminders]") or WEEKDAYS[:6]
        for day in days:
            if day not in WEEKDAYS:
                raise self.fail(f'[reminders] call_days: "{day}"', f"is not a weekday; use {', '.join(WEEKDAYS)}")
        return Reminders(
            channel=channel,
            hours_before=self.number(table, "hours_before", "[reminders]", 24),
            call_hours=hours,
            call_days=tuple(WEEKDAYS.index(d) for d in days),
            attempts=max(1, self.number(table, "attempts", "[reminders]", 3)),
            retry_minutes=self.number(table, "retry_minutes", "[reminders]", 30),
            voicemail=voicemail,
            consent=consent,
        )

    def file(self, name: str, where: str) -> Path:
        path = (self.path.parent / name).resolve()
        if not path.is_file():
            raise self.fail(f'{where} "{name}"', f"does not exist (looked for {path})")
        return path

    def hours(self, table: Any) -> dict[int, tuple[tuple[time, time], ...]]:
        if not isinstance(table, dict):
            raise self.fail("[hours]", "must be a table of weekdays")
        self.keys(table, set(WEEKDAYS), "[hours]")
        hours: dict[int, tuple[tuple[time, time], ...]] = {}
        for day, spec in table.items():
            where = f'[hours] {day} = "{spec}"'
            if not isinstance(spec, str):
                raise self.fail(where, 'must be a string like "08:00-18:00"')
            if spec.strip().lower() == "closed":
                continue
            ranges = []
            for part in spec.split(","):
                try:
                    start_text, end_text = part.strip().split("-")
                    start, end = time.fromisoformat(start_text.strip()), time.fromisoformat(end_text.strip())
                except ValueError:
                    raise self.fail(
                        where, 'is not a time range; write "08:00-18:00", "08:00-12:00, 14:00-18:00" or "closed"'
                    ) from None
                if end <= start:
                    raise self.fail(where, "ends before it starts")
                ranges.append((start, end))
            hours[WEEKDAYS.index(day)] = tuple(sorted(ranges))
        return hours

    def services(self, items: Any) -> tuple[Service, ...]:
        if not isinstance(items, list):
            raise self.fail("[[services]]", "must be an array of tables")
        services = []
        for i, item in enumerate(items):
            where = f"[[services]] #{i + 1}"
            self.keys(item, {"name", "duration_min", "price", "aliases"}, where)
            price = item.get("price")
            if price is not None and (not isinstance(price, int | float) or isinstance(price, bool) or price < 0):
                raise self.fail(f"{where} price = {price!r}", "must be a number")
            services.append(
                Service(
                    name=self.text(item, "name", where),
                    duration_min=self.number(item, "duration_min", where, 30),
                    price=float(price) if price is not None else None,
                    aliases=self.strings(item, "aliases", where),
                )
            )
        return tuple(services)

    def providers(self, items: Any, services: set[str]) -> tuple[Provider, ...]:
        if not isinstance(items, list):
            raise self.fail("[[providers]]", "must be an array of tables")
        providers = []
        for i, item in enumerate(items):
            where = f"[[providers]] #{i + 1}"
            self.keys(item, {"name", "services", "aliases"}, where)
            offered = self.strings(item, "services", where)
            for name in offered:
                if name not in services:
                    raise self.fail(f'{where} services: "{name}"', "is not the name of a [[services]] entry")
            providers.append(Provider(self.text(item, "name", where), offered, self.strings(item, "aliases", where)))
        return tuple(providers)

    def replies(self, table: Any) -> dict[str, dict[str, str]]:
        from .replies import TEMPLATES

        if not isinstance(table, dict):
            raise self.fail("[replies]", "must be a table of languages, e.g. [replies.en]")
        replies: dict[str, dict[str, str]] = {}
        for language, entries in table.items():
            if language not in LANGUAGES or not isinstance(entries, dict):
                raise self.fail(f"[replies.{language}]", f"must be a table for one of {', '.join(LANGUAGES)}")
            self.keys(entries, set(TEMPLATES["en"]), f"[replies.{language}]")
            replies[language] = {k: self.text(entries, k, f"[replies.{language}]") for k in entries}
        return replies
