"""ASGI application (Starlette): ``/healthz`` for systemd, load balancers and the IT team."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .. import __version__


@dataclass
class Health:
    """What ``/healthz`` reports; the daemon fills it in as it starts."""

    models: dict[str, str] = field(default_factory=dict)
    ready: bool = False
    started: float = field(default_factory=time.monotonic)


def create_app(health: Health) -> Starlette:
    """The web application."""

    async def healthz(request: Request) -> JSONResponse:
        body = {
            "status": "ok" if health.ready else "starting",
            "version": __version__,
            "uptime_s": round(time.monotonic() - health.started, 1),
            "models": health.models,
        }
        return JSONResponse(body, status_code=200 if health.ready else 503)

    return Starlette(routes=[Route("/healthz", healthz)])
