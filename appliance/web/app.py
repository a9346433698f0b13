"""ASGI application (Starlette): ``/healthz`` for systemd, monitoring and the IT team."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .. import __version__
from ..sip.endpoint import SipEndpoint


@dataclass
class Health:
    """What ``/healthz`` reports; the daemon fills it in as it starts."""

    models: dict[str, str] = field(default_factory=dict)
    sip: SipEndpoint | None = None
    ready: bool = False
    started: float = field(default_factory=time.monotonic)


def create_app(health: Health) -> Starlette:
    """The web application."""

    async def healthz(request: Request) -> JSONResponse:
        body: dict[str, Any] = {
            "status": "ok" if health.ready else "starting",
            "version": __version__,
            "uptime_s": round(time.monotonic() - health.started, 1),
            "models": health.models,
        }
        if health.sip is not None:
            body["sip"] = {
                "listening": health.sip.listening,
                "active_calls": health.sip.active_calls,
                "max_calls": health.sip.settings.max_calls,
                "busy_rejections": health.sip.busy_rejections,
                "registration": health.sip.registration or None,
            }
        return JSONResponse(body, status_code=200 if health.ready else 503)

    return Starlette(routes=[Route("/healthz", healthz)])
