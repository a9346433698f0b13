"""``appliance doctor``: check what the daemon needs, one line per check, with the fix for each failure."""

from __future__ import annotations

import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from .config import ApplianceConfig
from .errors import ApplianceError

MIN_FREE_BYTES = 1 << 30


@dataclass(frozen=True)
class Check:
    """The outcome of one check."""

    name: str
    ok: bool
    detail: str
    fix: str = ""


def run_checks(config: ApplianceConfig) -> list[Check]:
    """Every check, in the order the daemon meets them."""
    checks = [
        _guard("business profile", lambda: _profile(config)),
        *_models(config),
        _guard("SIP port", lambda: _sip_port(config)),
        _guard("registrar", lambda: _registrar(config)),
        _guard("connectors", lambda: _connectors(config)),
        _guard("database", lambda: _database(config)),
        _guard("disk space", lambda: _disk(config)),
    ]
    return checks


def _guard(name: str, check: Callable[[], Check]) -> Check:
    try:
        return check()
    except ApplianceError as err:
        return Check(name, False, str(err).split(";")[0], str(err).split(";", 1)[1].strip() if ";" in str(err) else "")


def _profile(config: ApplianceConfig) -> Check:
    from .dialog.profile import load_profile

    profile = load_profile(config.profile_path)
    return Check("business profile", True, f"{profile.name} ({profile.kind}, {', '.join(profile.languages)})")


def _models(config: ApplianceConfig) -> list[Check]:
    from .audio.frames import PIPELINE_RATE
    from .audio.vad import SileroVad
    from .models.registry import ModelRegistry
    from .models.stt import Transcriber
    from .models.tts import Synthesizer

    registry = ModelRegistry(config.model_cache)
    m = config.models
    loaders: dict[str, Callable[[], object]] = {
        "stt": lambda: Transcriber(registry.resolve("stt", m.stt), m.stt_threads, config.business.language or "en"),
        "tts": lambda: Synthesizer(registry.resolve("tts", m.tts), m.tts_threads, PIPELINE_RATE),
        "vad": lambda: SileroVad(registry.resolve("vad", m.vad).path),
    }
    checks = []
    for stage, load in loaders.items():
        name = f"model {stage}"

        def timed(stage: str = stage, load: Callable[[], object] = load, name: str = name) -> Check:
            started = time.perf_counter()
            load()
            spec = getattr(m, stage)
            return Check(name, True, f"{spec} loads in {time.perf_counter() - started:.1f} s")

        checks.append(_guard(name, timed))
    return checks


def _sip_port(config: ApplianceConfig) -> Check:
    s = config.sip
    for kind in s.transports.split(","):
        family = socket.AF_INET6 if ":" in s.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM if kind.strip() == "udp" else socket.SOCK_STREAM)
        try:
            sock.bind((s.host, s.port))
        except OSError as err:
            return Check(
                "SIP port",
                False,
                f"{kind.strip()} {s.host}:{s.port}: {err.strerror}",
                "stop what holds the port (is the daemon already running?) or set [sip] port",
            )
        finally:
            sock.close()
    return Check("SIP port", True, f"{s.transports} {s.host}:{s.port} free")


def _registrar(config: ApplianceConfig) -> Check:
    registrar = config.sip.registrar
    if not registrar:
        return Check("registrar", True, "none configured: direct calls to this box")
    host = urlsplit(registrar.replace("sip:", "sip://", 1)).hostname or ""
    try:
        address = socket.getaddrinfo(host, None)[0][4][0]
    except OSError as err:
        return Check("registrar", False, f"{host}: {err}", "check [sip] registrar and the box's DNS")
    return Check("registrar", True, f"{host} resolves to {address} (registration shows in /healthz)")


def _connectors(config: ApplianceConfig) -> Check:
    from .integrations.connectors import load_connectors

    connectors = load_connectors(config.integrations_path)
    if not connectors:
        return Check("connectors", True, "none: actions stay in the local outbox")
    return Check("connectors", True, ", ".join(f"{c.name} ({c.kind})" for c in connectors))


def _database(config: ApplianceConfig) -> Check:
    """The database opens with its key; read-only: a first start or an upgrade is left to the daemon."""
    from .store.db import connect
    from .store.keys import KEY_FILE, find_key, is_plaintext

    db = config.db_path
    key = find_key(config)
    if key is None:
        where = f"a new key in {config.state_path / KEY_FILE}"
    else:
        where = f"the key from {key.source}"
        if key.source == str(config.state_path / KEY_FILE):
            where += " (beside the database: in production, the systemd credential)"
    if is_plaintext(db):
        return Check("database", True, f"plaintext (earlier version): encrypted at the next start, with {where}")
    if key is None or not db.exists():
        return Check("database", True, f"none yet: created encrypted (SQLCipher) at first start, with {where}")
    connect(db, key).close()
    return Check("database", True, f"encrypted (SQLCipher), {where.removeprefix('the ')}")


def _disk(config: ApplianceConfig) -> Check:
    where = config.state_path
    while not where.exists():
        where = where.parent
    free = shutil.disk_usage(where).free
    ok = free >= MIN_FREE_BYTES
    return Check(
        "disk space",
        ok,
        f"{free / (1 << 30):.1f} GiB free under {where}",
        "" if ok else "free space: the database and the model cache need at least 1 GiB",
    )


def render(checks: list[Check]) -> str:
    """The table an operator reads."""
    width = max(len(c.name) for c in checks)
    lines = []
    for c in checks:
        lines.append(f"{'✔' if c.ok else '✘'} {c.name:{width}}  {c.detail}")
        if not c.ok and c.fix:
            lines.append(f"  {'':{width}}  fix: {c.fix}")
    return "\n".join(lines)
