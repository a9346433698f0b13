"""Scenario files: calls described in JSON with what must happen, run against the dialogue before go-live.

Format: ``{"name", "profile"?, "now", "caller_id"?, "language"?, "existing_bookings"?: [{"patient_name",
"start", "provider"?}], "turns": ["caller utterance", ...], "expect": {"actions": [{"tool", "args"}],
"transfer"?: bool, "say_contains"?: ["..."]}}``. ``profile`` is relative to the scenario file (default:
the demo clinic). Every expected action must be produced with the listed arguments (strings compared
case-insensitively, date-times as times; unlisted arguments are free), no other write action may be
produced, ``transfer`` must match when given, and each ``say_contains`` text must appear in a reply.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import ApplianceError
from ..store import Store
from .assist import IntentProposer
from .engine import Business
from .profile import BusinessProfile, load_profile
from .understand import format_phone


class ScenarioError(ApplianceError):
    """A scenario file that cannot be read or lacks a required field."""

    exit_code = 2


@dataclass
class ScenarioResult:
    """What one scenario produced, and whether it met its expectations."""

    name: str
    passed: bool
    actions: list[dict[str, Any]]
    replies: list[str]
    transferred: bool
    failures: list[str] = field(default_factory=list)
    file: str = ""
    unread: list[str] = field(default_factory=list)  # written values the read-back before the write did not say
    wrong_writes: int = 0  # actions produced that the caller did not mean
    turn_s: list[float] = field(default_factory=list)  # how long each respond() took


def load_scenarios(path: Path) -> list[tuple[Path, dict[str, Any]]]:
    """The scenarios in a file (one object or a list) or in every ``*.json`` under a folder."""
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    loaded = []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as err:
            raise ScenarioError(f"scenario file {file} cannot be read: {err}") from None
        for item in data if isinstance(data, list) else [data]:
            for key in ("name", "now", "turns", "expect"):
                if key not in item:
                    raise ScenarioError(f"{file}: scenario {item.get('name', '?')!r} lacks {key!r}")
            loaded.append((file, item))
    return loaded


def run_scenario(
    file: Path, scenario: dict[str, Any], profiles: dict[Path, BusinessProfile], proposer: IntentProposer | None = None
) -> ScenarioResult:
    """Play one scenario through a fresh dialogue and store (with the LLM's task guesses if given), and judge it."""
    profile_path = (file.parent / scenario["profile"]).resolve() if scenario.get("profile") else None
    key = profile_path or Path("<demo>")
    if key not in profiles:
        profiles[key] = load_profile(profile_path)
    profile = profiles[key]
    now = datetime.fromisoformat(scenario["now"])
    with tempfile.TemporaryDirectory(prefix="vocalia-scenario-") as tmp:
        store = Store(Path(tmp) / "scenario.db")
        try:
            business = Business(profile, store, clock=lambda: now, proposer=proposer)
            for booking in scenario.get("existing_bookings", []):
                provider = booking.get("provider") or (profile.providers[0].name if profile.providers else "")
                business.calendar.seed(booking["patient_name"], datetime.fromisoformat(booking["start"]), provider)
            engine = business.engine("scenario", scenario.get("caller_id"), scenario.get("language"))
            replies = [engine.greeting().text]
            transferred = ended = False
            unread: list[str] = []
            turn_s: list[float] = []
            written = 0
            for turn in scenario["turns"]:
                if ended or transferred:
                    break
                readback = replies[-1]
                started = time.perf_counter()
                reply = engine.respond(turn)
                turn_s.append(time.perf_counter() - started)
                replies.append(reply.text)
                transferred, ended = reply.transfer, reply.end_call
                new = store.actions()[written:]
                written += len(new)
                for action in new:
                    unread += unread_values(action["tool"], action["args"], readback, business, engine)
            actions = [{"tool": a["tool"], "args": a["args"]} for a in store.actions()]
        finally:
            store.close()
    failures = judge(scenario["expect"], actions, replies, transferred)
    wrong = sum(f.startswith("unexpected action") for f in failures)
    return ScenarioResult(
        scenario["name"], not failures, actions, replies, transferred, failures, str(file), unread, wrong, turn_s
    )


# Arguments that are not read back: a lead's qualification notes in the caller's own words (need,
# timeline, budget, authority), our own text (an SMS), and values the business computes (a score).
_NOT_READ_BACK = {"text", "need", "timeline", "score", "authority", "budget", "amount"}


def unread_values(tool: str, args: dict[str, Any], readback: str, business: Business, engine: Any) -> list[str]:
    """The written values of an action that the read-back before it did not say, as ``tool.arg=value``.

    A date-time must be said as the receptionist says moments (day and time), a date of birth with its
    year, a phone as its spoken groups (or "the number you're calling from" for the caller's own),
    names, providers and services as written."""
    phrases, language = business.phrases, engine.language
    said = readback.lower()
    missing = []
    for key, value in args.items():
        if key in _NOT_READ_BACK:
            continue
        if key in ("start", "new_start", "when"):
            forms = [phrases.moment(language, datetime.fromisoformat(value))]
        elif key == "old_start":
            moment = datetime.fromisoformat(value)
            forms = [phrases.moment(language, moment), phrases.day(language, moment.date())]
        elif key == "date_of_birth":
            forms = [phrases.birth_date(language, datetime.fromisoformat(value).date())]
        elif key in ("phone", "to"):
            forms = [format_phone(value)]
            if value == engine.caller_id:
                forms.append(phrases.say(language, "to_caller_id"))
        elif key == "order_number":
            forms = [" ".join(value), value]
        else:
            forms = [str(value)]
        if not any(form.lower() in said for form in forms):
            missing.append(f"{tool}.{key}={value}")
    return missing


def judge(expect: dict[str, Any], actions: list[dict[str, Any]], replies: list[str], transferred: bool) -> list[str]:
    """Why the produced call does not meet ``expect`` (empty when it does)."""
    failures = []
    unmatched = list(actions)
    for wanted in expect.get("actions", []):
        match = next((a for a in unmatched if _matches(wanted, a)), None)
        if match is None:
            failures.append(f"expected action not produced: {json.dumps(wanted, ensure_ascii=False)}")
        else:
            unmatched.remove(match)
    for extra in unmatched:
        failures.append(f"unexpected action: {json.dumps(extra, ensure_ascii=False)}")
    if "transfer" in expect and bool(expect["transfer"]) != transferred:
        failures.append(f"transfer expected {expect['transfer']}, got {transferred}")
    spoken = " ".join(replies).lower()
    for text in expect.get("say_contains", []):
        if text.lower() not in spoken:
            failures.append(f"no reply says {text!r}")
    return failures


def _matches(wanted: dict[str, Any], action: dict[str, Any]) -> bool:
    if wanted["tool"] != action["tool"]:
        return False
    args = action["args"]
    return all(key in args and _same(value, args[key]) for key, value in wanted.get("args", {}).items())


def _same(expected: Any, actual: Any) -> bool:
    if isinstance(expected, str) and isinstance(actual, str):
        try:
            return datetime.fromisoformat(expected) == datetime.fromisoformat(actual)
        except ValueError:
            return expected.strip().lower() == actual.strip().lower()
    return bool(expected == actual)


def run_paths(paths: list[Path]) -> list[ScenarioResult]:
    """Run every scenario found under ``paths``."""
    profiles: dict[Path, BusinessProfile] = {}
    return [run_scenario(file, item, profiles) for path in paths for file, item in load_scenarios(path)]


def as_json(result: ScenarioResult) -> dict[str, Any]:
    """The result as a JSON-ready dict."""
    return asdict(result)
