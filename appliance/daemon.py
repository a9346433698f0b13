"""The daemon: loads the models, opens the store, answers SIP calls and serves the web endpoints until SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import uuid
from collections.abc import Callable, Coroutine, Sequence

import uvicorn

from .call import CallSession, Engines, TransferDone
from .call.transfer import WarmTransfer
from .call.transfer import record as record_transfer
from .config import ApplianceConfig, StoreConfig
from .dialog.assist import IntentProposer
from .dialog.engine import Business, DialogueEngine
from .dialog.profile import load_profile
from .errors import ApplianceError, ConfigError
from .integrations.availability import availability
from .integrations.connectors import load_connectors
from .integrations.outbox import Outbox
from .integrations.shopify import live_orders
from .integrations.worker import OutboxWorker
from .models.llm import RemoteLLM
from .models.wyoming import WyomingTranscriber
from .outbound.campaign import Campaign
from .outbound.reminders import ReminderBook
from .scale.kamailio import Worker
from .service import Notifier
from .sip.endpoint import IncomingCall, SipEndpoint
from .store import Store
from .store.retention import purge_expired
from .web.app import Health, create_app

_LOGGER = logging.getLogger(__name__)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"[web] port {port} on {host} is already in use; stop the other program or set [web] port"
            ) from None
        raise ConfigError(f"[web] host {host!r} port {port} cannot be bound ({err.strerror}); check [web]") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


async def _retention(store: Store, policy: StoreConfig) -> None:
    """Purge what the retention policy no longer allows to keep: at start, then every 6 hours."""
    while True:
        counts = await asyncio.to_thread(purge_expired, store, policy)
        if any(counts.values()):
            _LOGGER.info("retention: purged %s", ", ".join(f"{n} {kind}" for kind, n in counts.items() if n))
        await asyncio.sleep(6 * 3600)


def _log_worker_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        _LOGGER.error("the outbox worker stopped: %r; actions stay queued until a restart", task.exception())


def _server_down(what: str, url: str, client: RemoteLLM | WyomingTranscriber, meanwhile: str) -> Callable[[], str]:
    """A health check saying, while a model server does not answer, which one, why and who stands in."""
    return lambda: (
        f"{what} server {url} does not answer ({client.down_reason}): {meanwhile}" if client.down_reason else ""
    )


async def serve(config: ApplianceConfig, cluster: Sequence[Worker] = (), worker: int | None = None) -> None:
    """Run until SIGTERM or SIGINT. Raises ApplianceError for anything the operator must fix.

    ``worker``: this daemon's index among the ``cluster`` behind kamailio (``appliance run --workers``);
    worker 0's status page shows every worker."""
    loop = asyncio.get_running_loop()
    with contextlib.ExitStack() as cleanup:
        profile = await asyncio.to_thread(load_profile, config.profile_path)
        sock = _bind(config.web.host, config.web.port)
        cleanup.callback(sock.close)
        connectors = load_connectors(config.integrations_path)
        engines = await asyncio.to_thread(Engines.load, config, profile.languages)
        cleanup.callback(engines.close)
        # Last of the checks: a start refused for a model or a connector leaves no new database or key behind.
        store = await asyncio.to_thread(Store.configured, config)
        cleanup.callback(store.close)
        outbox = Outbox(store, connectors)
        proposer = await asyncio.to_thread(IntentProposer.configured, config.models, config.model_cache)
        if proposer is not None:
            cleanup.callback(proposer.llm.close)
        business = Business(
            profile,
            store,
            proposer=proposer,
            outbox=outbox,
            availability=availability(connectors),
            orders=live_orders(connectors),
        )
        deliverer = OutboxWorker.configured(outbox, config.integrations)
        stop_worker = asyncio.Event()
        transfer_target = profile.transfer_target or config.sip.transfer_target
        calls: set[asyncio.Task[None]] = set()

        async def answer(incoming: IncomingCall) -> None:
            call_id = str(uuid.uuid4())
            engine = business.engine(call_id, incoming.caller_id or None)
            session = CallSession(
                engines,
                engine,
                store,
                source=f"sip:{incoming.remote}",
                greet=True,
                limits=config.call,
                call_id=call_id,
            )
            if transfer_target and config.sip.transfer_mode == "warm":
                warm = WarmTransfer(
                    sip, engines, store, transfer_target, config.sip.transfer_ring_s, profile.languages[0]
                )
                session.on_transfer = lambda: _spawn(warm_transfer(warm, incoming, session, engine, call_id))
            elif transfer_target:
                session.on_transfer = lambda: sip.transfer(
                    incoming.call_id, transfer_target, lambda ok: blind_done(session, call_id, ok)
                )
            incoming.line.attach(session)
            reason = await session.run()
            if reason not in ("caller_hangup", "transferred"):
                await asyncio.sleep(0.1)  # the last frames are still on their way to the caller
                sip.hangup(incoming.call_id)

        background: set[asyncio.Task[object]] = set()

        def _spawn(job: Coroutine[object, object, object]) -> None:
            task = asyncio.create_task(job)
            background.add(task)
            task.add_done_callback(background.discard)

        async def warm_transfer(
            warm: WarmTransfer, incoming: IncomingCall, session: CallSession, engine: DialogueEngine, call_id: str
        ) -> None:
            summary = engine.handover_summary()
            await warm.run(incoming, call_id, summary, lambda joined: session.post(TransferDone(joined)))

        def blind_done(session: CallSession, call_id: str, ok: bool) -> None:
            session.post(TransferDone(ok))
            _spawn(
                asyncio.to_thread(
                    record_transfer, store, call_id, "blind", transfer_target, "answered" if ok else "failed"
                )
            )

        def on_call(incoming: IncomingCall) -> None:
            task = asyncio.create_task(answer(incoming))
            calls.add(task)
            task.add_done_callback(calls.discard)

        failures: list[str] = []

        def on_sip_failure(reason: str) -> None:
            failures.append(reason)
            if server is not None:
                server.should_exit = True

        server: uvicorn.Server | None = None
        sip = SipEndpoint(config.sip, loop, on_call, on_sip_failure)
        await asyncio.to_thread(sip.start)
        cleanup.callback(sip.stop)
        health = Health(
            models={"stt": engines.transcriber.name, "tts": engines.synthesizer.name, "vad": config.models.vad},
            sip=sip,
            store=store,
            outbox=outbox,
            business=profile,
            ready=True,
            worker=worker,
            cluster=list(cluster) if worker == 0 else [],
        )
        if proposer is not None:
            health.models["llm"] = proposer.llm.name
        llm = proposer.llm if proposer is not None else None
        if isinstance(llm, RemoteLLM):
            health.problems.append(_server_down("LLM", llm.base_url, llm, "the rules answer alone"))
        stt = engines.transcriber
        if isinstance(stt, WyomingTranscriber):
            health.problems.append(_server_down("STT", stt.uri, stt, "the local model hears callers"))
        app = create_app(health, config.web.token, config.web.desk_token)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        server.should_exit = bool(failures)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
        _LOGGER.info("serving on http://%s:%d (database %s)", config.web.host, config.web.port, config.db_path)
        delivering = asyncio.create_task(deliverer.run(stop_worker))
        delivering.add_done_callback(_log_worker_end)
        notifier = Notifier()

        async def announce() -> None:
            while not server.started:  # noqa: ASYNC110 - uvicorn exposes readiness only as a flag
                await asyncio.sleep(0.05)
            notifier.notify(f"READY=1\nSTATUS=answering on {', '.join(sip.listening)}")
            await notifier.watchdog(lambda: sip.alive and not delivering.done())

        announcing = asyncio.create_task(announce())
        book = ReminderBook(store, profile)
        health.reminders = book
        campaign = Campaign(book, business, engines, sip, config)
        outbound = profile.reminders.channel != "off" or profile.callbacks.place
        reminding = asyncio.create_task(campaign.run(stop_worker)) if outbound else None
        retention = asyncio.create_task(_retention(store, config.store))
        warming = asyncio.create_task(
            engines.warm(
                lambda language, key: business.phrases.say(language, key, business=profile.name), lambda: bool(calls)
            )
        )
        try:
            await server.serve(sockets=[sock])
        finally:
            notifier.notify("STOPPING=1")
            announcing.cancel()
            retention.cancel()
            warming.cancel()
            for task in calls:
                task.cancel()
            await asyncio.gather(*calls, return_exceptions=True)
            stop_worker.set()
            await asyncio.gather(delivering, *([reminding] if reminding else []), return_exceptions=True)
    if failures:  # exit non-zero: systemd restarts the service (Restart=on-failure)
        raise ApplianceError(f"the SIP thread stopped ({failures[0]}); restart the service")
    _LOGGER.info("stopped")
