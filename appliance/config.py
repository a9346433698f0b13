"""Configuration: one tree of frozen dataclasses, built once from TOML and the environment.

Every key has a default, so an empty file (or none) runs the demo. A wrong key or value fails at
start with the file, the key, the value and what would be accepted. Environment variables named
``VOCALIA_<SECTION>_<KEY>`` (for example ``VOCALIA_WEB_PORT=9000``) override the file.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

ENV_PREFIX = "VOCALIA_"
SECRET_PREFIX = "VOCALIA_SECRET_"  # connector secrets (named by *_env keys), not config keys
# Read by the scripts (scripts/setup, install-service), not configuration: they pass through the daemon.
SCRIPT_VARIABLES = frozenset({"VOCALIA_CONFIG", "VOCALIA_VENV", "VOCALIA_WHEEL_CACHE", "VOCALIA_ROOT"})


@dataclass(frozen=True)
class BusinessConfig:
    """Who the appliance answers for: a business profile file (hours, providers, services, FAQ)."""

    profile: str = ""  # "" = the shipped demo clinic
    # "" = each call in the caller's language, among the profile's languages; a code ("fr") = every call
    # in that one language
    language: str = ""


@dataclass(frozen=True)
class ModelsConfig:
    """Which model runs each stage: a bundled default's name or a path, and its thread budget."""

    stt: str = "whisper-base"
    vad: str = "silero-v6"
    tts: str = "piper-joe-medium"
    llm: str = "smollm2-135m"
    cache_dir: str = ""
    stt_threads: int = 2
    stt_beam_size: int = 1
    # Context that primes Whisper with the words callers use, per language ([models.stt_prompts] en = "...");
    # a language not listed gets its language pack's prompt. Measured on espeak-ng utterances at 8 kHz (en):
    # WER 16 % -> 8 % on 14 of them, 21 % -> 19 % on 24.
    stt_prompts: dict[str, str] = field(default_factory=dict)
    # The voice of each language other than the default ``tts`` one ([models.voices] fr = "kokoro-ff-siwis"):
    # a bundled voice's name or a path. A language not listed gets its bundled default.
    voices: dict[str, str] = field(default_factory=dict)
    stt_fit_window: bool = True
    # Speech to text on a Wyoming server shared by the workers ("tcp://host:10300"; `appliance stt-server`
    # runs one): no Whisper in this process until the server fails to answer within server_timeout_s.
    stt_server: str = ""
    server_timeout_s: float = 5.0
    tts_threads: int = 1
    llm_threads: int = 1
    # Ask the LLM which task an utterance is about when the rules understand nothing. Off: the bundled
    # SmolLM2 guesses worse than the rules (benchmarks/dialog.py); turn on with a larger configured model.
    llm_intents: bool = False
    # The LLM on an OpenAI-compatible server instead of in this process ("http://host:8080/v1";
    # `appliance llm-server` runs llama.cpp's on this box's [models] llm). A server that does not answer
    # within server_timeout_s leaves the rules to answer alone. llm_server_model: the model name such a
    # server wants (vLLM does; "" sends none).
    llm_server: str = ""
    llm_server_model: str = ""


EndOfTurn = typing.Literal["rule", "smart", "both"]


@dataclass(frozen=True)
class ListenConfig:
    """Voice activity detection, end of turn and barge-in (times in milliseconds)."""

    vad_threshold: float = 0.5
    vad_neg_threshold: float = 0.35
    min_speech_ms: int = 96
    pause_ms: int = 96
    eot_complete_ms: int = 300
    eot_silence_ms: int = 700
    eot_incomplete_ms: int = 1300
    barge_in_ms: int = 200
    max_utterance_s: float = 30.0
    # How the end of a turn is judged at a pause: "rule" (the transcript so far reads finished or not),
    # "smart" (Smart Turn v3.2 hears it from the audio) or "both" (the short wait only when both say done,
    # the long one when both say not; benchmarks/turn_taking.py measured them).
    end_of_turn: EndOfTurn = "both"
    smart_turn_threshold: float = 0.5  # Smart Turn's probability from which the caller is done


@dataclass(frozen=True)
class CallConfig:
    """Limits of one call: how long it may last, and how long a silent caller is waited for."""

    max_duration_s: float = 480.0
    silence_prompt_s: float = 10.0  # caller silent this long: "Are you still there?"
    silence_hangup_s: float = 20.0  # still silent: say goodbye and hang up


@dataclass(frozen=True)
class SipConfig:
    """The SIP endpoint: where it listens and how many calls it takes at once."""

    host: str = "::"  # "::" every address (IPv6 too if pjsua2 has it); "0.0.0.0" every IPv4 address; or one address
    port: int = 5060
    transports: str = "udp,tcp"
    max_calls: int = 4
    user_agent: str = "VocalIA-Edge"
    log_level: int = 1  # pjsip's own log verbosity (0-6) on stderr
    # Registration to a PBX or trunk (empty registrar: direct IP calls only).
    registrar: str = ""  # e.g. "sip:pbx.example.lan" or "sip:192.0.2.10:5060"
    username: str = ""
    password: str = ""  # prefer VOCALIA_SIP_PASSWORD from a systemd credential to writing it here
    domain: str = ""  # the account's domain; empty: the registrar's host
    register_interval_s: int = 300
    keepalive_s: int = 15  # NAT keep-alive on UDP
    transfer_target: str = ""  # where "a person, please" or key 0 goes, e.g. "sip:100@pbx.example.lan"
    # "blind": a REFER, the PBX rings the person; "warm": the appliance calls the person first, says who is
    # calling and what they said, then joins the calls (a second line for the time of the call)
    transfer_mode: typing.Literal["blind", "warm"] = "blind"
    transfer_ring_s: float = 20.0  # warm: the person's phone rings this long before the caller is told
    # Outbound calls (reminders): the URI for a number, {number} being E.164 ("+14155550142"); empty: through
    # the registrar ("sip:{number}@<registrar host>"), or no outbound calls when there is none.
    outbound_uri: str = ""
    ring_s: float = 30.0  # an outbound call not answered by then is "no answer"
    srtp: str = "optional"  # media encryption (SDES): off | optional | mandatory
    tls_port: int = 0  # SIP over TLS (1.2) on this port; 0 = off
    tls_cert: str = ""  # PEM certificate and key for TLS
    tls_key: str = ""
    # Who may send SIP: networks (CIDR, comma-separated), plus the registrar's address. Requests from
    # anywhere else get no answer and are security events. The default is the private and loopback ranges:
    # a box reachable from the Internet must name its trunk's addresses here.
    allow: str = "127.0.0.0/8, ::1/128, 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, fc00::/7, fe80::/10"
    max_invites_per_minute: int = 30  # new calls per source address; more are dropped and logged
    max_requests_per_minute: int = 120  # requests outside a call (INVITE, OPTIONS, REGISTER...) per source
    # A call that never becomes a conversation gives its slot back: answered but never ACKed, or no RTP
    # from the caller since the answer (rtp_timeout_s) or for rtp_gap_s once RTP has flowed.
    ack_timeout_s: float = 4.0
    rtp_timeout_s: float = 5.0
    rtp_gap_s: float = 30.0
    # The address of kamailio's dispatcher in front of this daemon: its requests are not rate-limited per
    # source here, since kamailio limits each real source itself. `appliance run` sets it for its own
    # workers; set it by hand on another box that is one of the [scale] peers. And the Contact the
    # registering worker gives the PBX (the dispatcher's; set by `appliance run`).
    front: str = ""
    contact: str = ""


@dataclass(frozen=True)
class ScaleConfig:
    """More calls than one daemon holds: ``workers`` daemons on this box, each with its own [sip] max_calls,
    behind kamailio's dispatcher, which takes [sip] port. They share one store."""

    workers: int = 1
    worker_port: int = 5070  # worker k's SIP port is worker_port + k; its web /healthz is on [web] port + k
    probe_s: int = 2  # kamailio sends each worker an OPTIONS this often; one unanswered and it gets no calls
    # Each worker's Whisper threads ([models] stt_threads for one daemon); 0: the cores shared out among the
    # workers, at least 1 each. Measured on 2 cores, 3 workers, 12 callers asking at once: p95 1.99 s with
    # 1 thread each, 2.31 s with 2.
    stt_threads: int = 0
    kamailio: str = "kamailio"  # Debian's kamailio (installed by scripts/setup)
    # Other appliances kamailio also hands calls to, after this box's workers: SIP URIs, comma-separated
    # ("sip:192.0.2.11:5060"), each another box's daemon (with [sip] front = this box's address) or kamailio.
    peers: str = ""


@dataclass(frozen=True)
class StoreConfig:
    """Where calls and turns are kept (empty: ``<state_dir>/appliance.db``), with which key, and for how long."""

    path: str = ""
    # The database key file (64 hex characters). Under systemd the LoadCredential=db.key credential wins;
    # empty: <state_dir>/db.key, created for a new database (beside it: fine for a demo only).
    key_file: str = ""
    retention_calls_days: int = 30  # calls, turns and their transcripts
    retention_deliveries_days: int = 30  # delivered outbox rows and their actions' arguments
    retention_bookings_days: int = 365  # past bookings in the local calendar
    retention_audit_days: int = 2190  # the audit log (6 years, as HIPAA asks of its records)


@dataclass(frozen=True)
class IntegrationsConfig:
    """Where actions are delivered: a file of ``[[connector]]`` tables (empty: actions stay queued locally)."""

    file: str = ""
    lease_s: float = 60.0  # a delivery not settled by then (the worker was killed) is attempted again
    retry_base_s: float = 2.0  # first retry delay ceiling; doubles per attempt, with full jitter
    retry_cap_s: float = 600.0


@dataclass(frozen=True)
class WebConfig:
    """The local web server: ``/healthz`` (open); IT's status page, ``/metrics`` and ``/api`` (``token``);
    the front desk's ``/desk`` (``desk_token``)."""

    host: str = "127.0.0.1"
    port: int = 8080
    token: str = ""  # IT's token: status page, /metrics, /api; set VOCALIA_WEB_TOKEN (a credential), not here
    desk_token: str = ""  # the front desk's token for /desk; set VOCALIA_WEB_DESK_TOKEN (a credential)


@dataclass(frozen=True)
class ApplianceConfig:
    """The whole configuration tree; each component receives only its own slice."""

    state_dir: str = ""
    business: BusinessConfig = field(default_factory=BusinessConfig)
    models: ModelsConfig = field(default_factory=ModelsConfig)
    listen: ListenConfig = field(default_factory=ListenConfig)
    call: CallConfig = field(default_factory=CallConfig)
    sip: SipConfig = field(default_factory=SipConfig)
    scale: ScaleConfig = field(default_factory=ScaleConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    integrations: IntegrationsConfig = field(default_factory=IntegrationsConfig)
    web: WebConfig = field(default_factory=WebConfig)

    @property
    def state_path(self) -> Path:
        """The directory for the database and the model cache."""
        if self.state_dir:
            return Path(self.state_dir).expanduser()
        systemd_state = os.environ.get("STATE_DIRECTORY")
        if systemd_state:
            return Path(systemd_state.split(":")[0])
        return Path("~/.local/state/vocalia").expanduser()

    @property
    def profile_path(self) -> Path | None:
        """The business profile file; None for the shipped demo clinic."""
        return Path(self.business.profile).expanduser() if self.business.profile else None

    @property
    def integrations_path(self) -> Path | None:
        """The integrations (connectors) file; None when actions only queue locally."""
        return Path(self.integrations.file).expanduser() if self.integrations.file else None

    @property
    def db_path(self) -> Path:
        """The SQLite database file."""
        return Path(self.store.path).expanduser() if self.store.path else self.state_path / "appliance.db"

    @property
    def model_cache(self) -> Path:
        """Where split model parts are assembled."""
        if self.models.cache_dir:
            return Path(self.models.cache_dir).expanduser()
        return Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")).expanduser() / "vocalia" / "models"


def load_config(path: Path | None = None, env: Mapping[str, str] | None = None) -> ApplianceConfig:
    """Build the configuration from an optional TOML file and ``VOCALIA_*`` variables.

    Raises:
        ConfigError: the file is missing or unreadable, or a key or value is wrong.
    """
    raw: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        raw = read_toml(path, "config file", "pass an existing file to --config")
    config = _build(ApplianceConfig, raw, source, "")
    return _apply_env(config, os.environ if env is None else env)


def read_toml(path: Path, what: str, missing_fix: str) -> dict[str, Any]:
    """The content of a TOML file.

    Raises:
        ConfigError: the file is missing (the message ends with ``missing_fix``), unreadable or not TOML.
    """
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist; {missing_fix}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{what} {path} cannot be read: {err}") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML ({err}); fix the syntax at that line") from None


def _build(cls: type[Any], raw: Mapping[str, Any], source: str, section: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        where = f"[{section}] {key}" if section else key
        if key not in names:
            raise ConfigError(f"{source}: unknown key {where}; valid keys here: {', '.join(sorted(names))}")
        hint = hints[key]
        if dataclasses.is_dataclass(hint):
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: {key} must be a [{key}] table, not {value!r}")
            values[key] = _build(typing.cast(type[Any], hint), value, source, key)
        elif typing.get_origin(hint) is dict:
            values[key] = _check_table(value, source, f"{section}.{key}")
        else:
            values[key] = _check_scalar(hint, value, source, where)
    return cls(**values)


_TYPE_WORDS = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _check_table(value: Any, source: str, table: str) -> dict[str, str]:
    """A table of strings keyed by language code, such as ``[models.voices]``."""
    if not isinstance(value, dict):
        raise ConfigError(f'{source}: {table} must be a [{table}] table of strings, e.g. fr = "..."')
    for key, item in value.items():
        if not isinstance(item, str):
            raise ConfigError(f"{source}: [{table}] {key} = {item!r} must be a string")
    return dict(value)


def _check_scalar(hint: Any, value: Any, source: str, where: str) -> Any:
    if typing.get_origin(hint) is typing.Literal:  # one of a few words
        if value not in typing.get_args(hint):
            choices = ", ".join(repr(c) for c in typing.get_args(hint))
            raise ConfigError(f"{source}: {where} = {value!r} must be one of {choices}")
        return value
    ok = isinstance(value, hint) and not (hint is int and isinstance(value, bool))
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        value, ok = float(value), True
    if not ok:
        raise ConfigError(f"{source}: {where} = {value!r} must be {_TYPE_WORDS[hint]}")
    if hint in (int, float) and value < 0:
        raise ConfigError(f"{source}: {where} = {value!r} must not be negative")
    return value


def _apply_env(config: ApplianceConfig, env: Mapping[str, str]) -> ApplianceConfig:
    sections = {f.name for f in dataclasses.fields(config) if dataclasses.is_dataclass(getattr(config, f.name))}
    for name, text in sorted(env.items()):
        if not name.startswith(ENV_PREFIX) or name in SCRIPT_VARIABLES or name.startswith(SECRET_PREFIX):
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        if rest == "state_dir":
            config = dataclasses.replace(config, state_dir=text)
            continue
        section = next((s for s in sections if rest.startswith(s + "_")), None)
        if section is None:
            raise ConfigError(f"environment: unknown variable {name}; expected {ENV_PREFIX}<SECTION>_<KEY>")
        key = rest[len(section) + 1 :]
        current = getattr(config, section)
        hints = typing.get_type_hints(type(current))
        if key not in hints:
            raise ConfigError(f"environment: {name} names no key of [{section}]; valid: {', '.join(sorted(hints))}")
        if typing.get_origin(hints[key]) is dict:
            raise ConfigError(f"environment: {name}: [{section}.{key}] is a table; set it in the config file")
        value = _parse_env(hints[key], text, name)
        config = dataclasses.replace(config, **{section: dataclasses.replace(current, **{key: value})})
    return config


def _parse_env(hint: Any, text: str, name: str) -> Any:
    try:
        if hint is bool:
            if text.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(text)
            return text.lower() in ("1", "true", "yes")
        if typing.get_origin(hint) is typing.Literal:
            return _check_scalar(hint, text, "environment", name)
        return _check_scalar(hint, hint(text), "environment", name)
    except ValueError:
        raise ConfigError(f"environment: {name}={text!r} must be {_TYPE_WORDS[hint]}") from None
