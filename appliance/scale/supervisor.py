"""``appliance run`` with ``[scale] workers`` > 1: kamailio in front, the workers behind, kept running.

The supervisor opens the store once (its key and migrations, so the workers never race to create
them), writes kamailio's configuration under ``<state>/kamailio``, starts kamailio and the workers as
child processes, and restarts any that dies (a worker after 1 s, doubling to 30 s while it keeps dying
within a minute of its start). A worker that exits with a configuration or model error stops everything:
restarting it would fail the same way. SIGTERM stops the workers first (each hangs up and settles its
calls), then kamailio. Should the supervisor itself die without cleaning up (``kill -9`` outside systemd,
whose cgroup would take the children with it), its children get SIGTERM from the kernel
(``PR_SET_PDEATHSIG``): no orphaned worker or kamailio keeps the SIP ports from the next start.

Each worker is an ordinary daemon (``appliance run --worker K``) on its own SIP port and web port, with
its own ``[sip] max_calls`` lines, the shared store (SQLite in WAL mode: the outbox and the reminders
claim rows with leases inside ``BEGIN IMMEDIATE`` transactions, so two workers never deliver or place
the same one) and its own outbox worker. Worker 0 serves the web pages on ``[web] port`` and shows every
worker; it alone registers with the PBX, giving kamailio's address as the Contact.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import functools
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from ..config import ApplianceConfig
from ..errors import ApplianceError, ConfigError
from ..security import uri_host
from ..service import Notifier
from ..store import Store
from .kamailio import Worker, check, front_address, render, workers

_LOGGER = logging.getLogger(__name__)
_LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Run in the child between fork and exec: SIGTERM when the supervisor's thread that started it dies
    (and at once if the supervisor died before the call)."""
    _LIBC.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


READY_TIMEOUT_S = 300.0  # the workers load their models at the same time on a small box
_FATAL_EXITS = (ConfigError.exit_code, 3)  # a config or model error: a restart would fail the same way


def worker_config(config: ApplianceConfig, index: int) -> ApplianceConfig:
    """The configuration worker ``index`` runs with: its SIP and web ports, kamailio as its front, and the
    registration (worker 0 only) giving the PBX kamailio's address."""
    check(config)
    me = workers(config)[index]
    front = front_address(config)
    # kamailio forwards every caller from its own address, whatever [sip] allow names
    allow = f"{config.sip.allow}, {front}/32" if config.sip.allow.strip() else f"{front}/32"
    sip = dataclasses.replace(config.sip, port=me.sip_port, front=front, allow=allow)
    if index == 0 and config.sip.registrar:
        sip = dataclasses.replace(
            sip, contact=f"sip:{config.sip.username or 'appliance'}@{_reachable(config)}:{config.sip.port}"
        )
    elif config.sip.registrar:  # only worker 0 registers; the others still place calls through the PBX
        through = config.sip.outbound_uri or f"sip:{{number}}@{uri_host(config.sip.registrar, port=True)}"
        sip = dataclasses.replace(sip, registrar="", outbound_uri=through)
    web = config.web if index == 0 else dataclasses.replace(config.web, host="127.0.0.1", port=me.web_port)
    threads = config.scale.stt_threads or max(1, (os.cpu_count() or 2) // config.scale.workers)
    models = dataclasses.replace(config.models, stt_threads=threads)
    return dataclasses.replace(config, sip=sip, web=web, models=models)


def _reachable(config: ApplianceConfig) -> str:
    """The address the PBX reaches kamailio at: ``[sip] host``, or for a wildcard the one this box routes
    to the registrar from."""
    host = config.sip.host
    if host not in ("", "0.0.0.0", "::"):
        return host
    target = uri_host(config.sip.registrar)
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((target, 5060))
            return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"


class _Child:
    """One process the supervisor keeps running."""

    def __init__(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0
        self.backoff = 1.0
        self.restart_at: float | None = None
        self.restarts = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.command, env=self.env, preexec_fn=functools.partial(_die_with_parent, os.getpid())
        )
        self.started = time.monotonic()
        self.restart_at = None

    def poll(self) -> int | None:
        return None if self.proc is None else self.proc.poll()


class Supervisor:
    """Runs kamailio and the workers until SIGTERM (see the module's docstring)."""

    def __init__(self, config: ApplianceConfig, config_path: Path | None, log_level: str) -> None:
        check(config)
        self.config = config
        self.workers = workers(config)
        self.runtime = config.state_path / "kamailio"
        binary = shutil.which(config.scale.kamailio)
        if binary is None:
            raise ConfigError(
                f"[scale] workers = {config.scale.workers} needs kamailio in front ({config.scale.kamailio!r} "
                "not found): run scripts/setup (it installs Debian's kamailio) or set [scale] kamailio"
            )
        env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")}
        env["VOCALIA_SCALE_WORKERS"] = str(config.scale.workers)  # --workers N reaches the workers too
        base = [sys.executable, "-m", "appliance", "--log-level", log_level]
        if config_path is not None:
            base += ["--config", str(config_path)]
        self.kamailio = _Child(
            "kamailio",
            [binary, "-DD", "-E", "-f", str(self.runtime / "kamailio.cfg"), "-Y", str(self.runtime)],
            env,
        )
        self.children = [
            _Child(f"worker {w.index}", [*base, "run", "--worker", str(w.index)], env) for w in self.workers
        ]
        # set by the signal handler: a flag, not a threading.Event, whose set() in a handler deadlocks on the
        # lock the interrupted Event.wait() of the same thread holds
        self._stopping = False

    def prepare(self) -> None:
        """The store created and migrated once, kamailio's files written and checked."""
        Store.configured(self.config).close()
        self.runtime.mkdir(parents=True, exist_ok=True)
        text, dispatchers = render(self.config, self.runtime)
        (self.runtime / "kamailio.cfg").write_text(text, encoding="utf-8")
        (self.runtime / "dispatcher.list").write_text(dispatchers, encoding="utf-8")
        checked = subprocess.run(
            [*self.kamailio.command[:1], "-c", "-f", str(self.runtime / "kamailio.cfg")],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if checked.returncode != 0:
            tail = "\n".join(checked.stderr.strip().splitlines()[-5:])
            raise ApplianceError(f"kamailio refuses {self.runtime / 'kamailio.cfg'}:\n{tail}")

    def run(self) -> int:
        """Start everything and keep it running until SIGTERM or SIGINT. Returns the exit status."""
        self.prepare()
        logging.getLogger("httpx").setLevel(logging.WARNING)  # the readiness polls, twice a second
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_signal)
        notifier = Notifier()
        self.kamailio.start()
        for child in self.children:
            child.start()
        _LOGGER.info(
            "kamailio on udp %s:%d in front of %d workers (SIP ports %d-%d)",
            self.config.sip.host,
            self.config.sip.port,
            len(self.workers),
            self.workers[0].sip_port,
            self.workers[-1].sip_port,
        )
        status = 0
        ready = False
        deadline = time.monotonic() + READY_TIMEOUT_S
        watchdog_at = 0.0
        try:
            while not self._stopping:
                time.sleep(0.5)
                if self._stopping:
                    break
                fatal = self._tend()
                if fatal is not None:
                    status = fatal
                    break
                if not ready and self._all_ready():
                    ready = True
                    notifier.notify(
                        f"READY=1\nSTATUS=answering on port {self.config.sip.port} with {len(self.workers)} workers"
                    )
                    _LOGGER.info("all %d workers answer", len(self.workers))
                elif not ready and time.monotonic() > deadline:
                    _LOGGER.error("the workers were not all ready within %.0f s; still trying", READY_TIMEOUT_S)
                    deadline = float("inf")
                now = time.monotonic()
                if notifier.watchdog_s is not None and now - watchdog_at >= notifier.watchdog_s / 2:
                    notifier.notify("WATCHDOG=1")  # the supervisor runs; it restarts what dies under it
                    watchdog_at = now
        finally:
            notifier.notify("STOPPING=1")
            self._shutdown()
        return status

    def _on_signal(self, signum: int, frame: object) -> None:
        self._stopping = True

    def _tend(self) -> int | None:
        """Restart what died; the exit status to stop with when a worker cannot start at all."""
        now = time.monotonic()
        for child in [self.kamailio, *self.children]:
            code = child.poll()
            if code is None or child.proc is None:
                continue
            if child.restart_at is None:
                lived = now - child.started
                if child is not self.kamailio and code in _FATAL_EXITS and child.restarts == 0:
                    _LOGGER.error("%s cannot start (exit %d; its error is above): stopping", child.name, code)
                    return code
                child.backoff = 1.0 if lived > 60 else min(30.0, child.backoff * 2)
                child.restart_at = now + (1.0 if lived > 60 else child.backoff)
                _LOGGER.error(
                    "%s exited (status %d) after %.0f s; restarting it in %.0f s",
                    child.name,
                    code,
                    lived,
                    child.restart_at - now,
                )
            elif now >= child.restart_at:
                child.restarts += 1
                child.start()
        return None

    def _all_ready(self) -> bool:
        return all(_answers(w) for w in self.workers)

    def _shutdown(self) -> None:
        for child in self.children:
            if child.poll() is None and child.proc is not None:
                child.proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 25
        for child in self.children:
            if child.proc is None:
                continue
            try:
                child.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _LOGGER.error("%s did not stop within 25 s; killed", child.name)
                child.proc.kill()
                child.proc.wait()
        if self.kamailio.proc is not None and self.kamailio.poll() is None:
            self.kamailio.proc.terminate()
            try:
                self.kamailio.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kamailio.proc.kill()
                self.kamailio.proc.wait()

    def pids(self) -> dict[str, int | None]:
        return {c.name: (c.proc.pid if c.proc else None) for c in [self.kamailio, *self.children]}


def _answers(worker: Worker) -> bool:
    try:
        return httpx.get(worker.health_url, timeout=1).json().get("status") in ("ok", "degraded")
    except (httpx.HTTPError, ValueError):
        return False
