"""The daemon: loads the models, opens the store, serves the web endpoints until SIGTERM."""

from __future__ import annotations

import asyncio
import errno
import logging
import signal
import socket

import uvicorn

from .config import ApplianceConfig
from .errors import ApplianceError, ConfigError
from .pipeline import Engines
from .store import Store
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


async def serve(config: ApplianceConfig) -> None:
    """Run until SIGTERM or SIGINT. Raises ApplianceError for anything the operator must fix."""
    sock = _bind(config.web.host, config.web.port)
    health = Health()
    store = await asyncio.to_thread(Store, config.db_path)
    try:
        engines = await asyncio.to_thread(Engines.load, config)
    except ApplianceError:
        store.close()
        sock.close()
        raise
    health.models = {
        "stt": engines.transcriber.name,
        "tts": engines.synthesizer.name,
        "vad": config.models.vad,
    }
    health.ready = True
    server = uvicorn.Server(uvicorn.Config(create_app(health), log_level="warning", lifespan="off"))
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    _LOGGER.info("serving on http://%s:%d (database %s)", config.web.host, config.web.port, config.db_path)
    try:
        await server.serve(sockets=[sock])
    finally:
        engines.close()
        store.close()
        _LOGGER.info("stopped")
