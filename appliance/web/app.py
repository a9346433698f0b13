"""ASGI application (Starlette): the status page, ``/healthz``, ``/metrics`` and a JSON API for IT.

``/healthz`` needs no credentials and carries no PHI: ``ok``, ``degraded`` (answering, but a
registration failed or deliveries are dead) or ``down`` (SIP not listening), with the reasons.
``/metrics`` (Prometheus text format) and ``/api/*`` need ``Authorization: Bearer <token>``, the token
being ``[web] token``, set as ``VOCALIA_WEB_TOKEN`` (a systemd credential); without one they answer 401.
The status page (``/``) signs in with the same token and keeps an HttpOnly, SameSite=Strict cookie.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import __version__
from ..integrations.outbox import Outbox
from ..security import security_event
from ..sip.endpoint import SipEndpoint
from ..store import Store
from .page import LOGIN, PAGE
from .status import status

COOKIE = "vocalia_session"
TOKEN_ENV = "VOCALIA_WEB_TOKEN"  # the [web] token key, from the environment (a systemd credential)
# Histogram buckets (seconds) for the caller-ear latency of each stage, after the caller's last voiced frame.
BUCKETS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
STAGES = {
    "stt_done": "stt_done_s",
    "end_of_turn": "eot_s",
    "reply_ready": "reply_ready_s",
    "first_frame": "first_frame_s",
}


@dataclass
class Health:
    """What the web endpoints report; the daemon fills it in as it starts."""

    models: dict[str, str] = field(default_factory=dict)
    sip: SipEndpoint | None = None
    store: Store | None = None
    outbox: Outbox | None = None
    ready: bool = False
    started: float = field(default_factory=time.monotonic)

    def summary(self) -> dict[str, Any]:
        """What every view starts with: state and reasons, version, uptime, models (no PHI)."""
        state, reasons = self.state()
        return {
            "status": state,
            "reasons": reasons,
            "version": __version__,
            "uptime_s": round(time.monotonic() - self.started, 1),
            "models": self.models,
        }

    def state(self) -> tuple[str, list[str]]:
        """``ok`` | ``degraded`` | ``down`` | ``starting``, with the reasons (no PHI)."""
        if not self.ready:
            return "starting", ["loading models"]
        reasons = []
        if self.sip is not None and not self.sip.listening:
            return "down", ["SIP is not listening"]
        if self.sip is not None and not self.sip.alive:
            return "down", [f"the SIP thread stopped ({self.sip.failure or 'unknown'}); the service must restart"]
        registration = self.sip.registration if self.sip is not None else {}
        if registration and not registration.get("registered"):
            reasons.append(f"not registered to {registration.get('registrar')}: {registration.get('reason')}")
        if self.outbox is not None:
            dead = sum(entry["dead"] for entry in self.outbox.stats().values())
            if dead:
                reasons.append(f"{dead} dead deliveries (appliance outbox list --state dead)")
        return ("degraded" if reasons else "ok"), reasons


def create_app(health: Health, token: str) -> Starlette:
    """The web application; ``token`` ("" = API off) guards /metrics and /api. The endpoints are plain
    functions: Starlette runs them in its thread pool, so their SQLite reads stay off the event loop."""

    session = hmac.new(token.encode(), b"vocalia-status-session-v1", hashlib.sha256).hexdigest() if token else ""

    def signed_in(request: Request) -> bool:
        if not token:
            return False
        given = request.headers.get("authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return True
        return hmac.compare_digest(request.cookies.get(COOKIE, "").encode(), session.encode())

    def denied(request: Request) -> Response | None:
        if not token:
            return JSONResponse({"error": f"the API is off: set {TOKEN_ENV} (a systemd credential)"}, 401)
        if not signed_in(request):
            return JSONResponse({"error": "unauthorized"}, 401, headers={"WWW-Authenticate": "Bearer"})
        return None

    def index(request: Request) -> Response:
        if signed_in(request):
            return HTMLResponse(PAGE)
        return HTMLResponse(LOGIN.replace("{error}", ""), status_code=401)

    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))  # no multipart: one urlencoded field
        given = form.get("token", [""])[0]
        if token and hmac.compare_digest(given.encode(), token.encode()):
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, session, httponly=True, samesite="strict", max_age=12 * 3600)
            return response
        security_event("web_login_failed", request.client.host if request.client else "", "wrong status page token")
        await asyncio.sleep(1.0)  # slows down guessing
        return HTMLResponse(LOGIN.replace("{error}", '<p style="color:#e63946">Wrong token.</p>'), status_code=401)

    def logout(request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    def api_status(request: Request) -> Response:
        if refusal := denied(request):
            return refusal
        phi = request.query_params.get("phi") == "1"
        if phi and health.store is not None:
            client = request.client.host if request.client else "?"
            health.store.audit(f"status page from {client}", "showed what callers said today")
        return JSONResponse(status(health, phi))

    def healthz(request: Request) -> JSONResponse:
        body = health.summary()
        state = body["status"]
        if health.sip is not None:
            body["sip"] = {
                "listening": health.sip.listening,
                "active_calls": health.sip.active_calls,
                "max_calls": health.sip.settings.max_calls,
                "busy_rejections": health.sip.busy_rejections,
                "released": health.sip.released,
                "ipv6_offers_refused": health.sip.ipv6_offers_refused,
                "media_clock": health.sip.media.view(),
                "refused": health.sip.refused,
                "registration": health.sip.registration or None,
            }
        return JSONResponse(body, status_code=503 if state in ("starting", "down") else 200)

    def metrics(request: Request) -> Response:
        return denied(request) or PlainTextResponse(render_metrics(health), media_type="text/plain; version=0.0.4")

    def outbox_rows(request: Request) -> Response:
        if (refusal := denied(request)) or health.outbox is None:
            return refusal or JSONResponse([])
        state = request.query_params.get("state")
        # Payloads carry names and numbers: the list shows what was sent, not to whom.
        rows = [asdict(r) | {"payload": None} for r in health.outbox.rows(state, 200)]
        return JSONResponse(rows)

    def outbox_retry(request: Request) -> Response:
        if (refusal := denied(request)) or health.outbox is None:
            return refusal or JSONResponse({"error": "no outbox"}, 404)
        row_id = request.path_params["row_id"]
        if not health.outbox.retry(row_id):
            return JSONResponse({"error": f"no dead or waiting delivery {row_id}"}, 404)
        return JSONResponse({"id": row_id, "state": "pending"})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout),
            Route("/api/status", api_status),
            Route("/healthz", healthz),
            Route("/metrics", metrics),
            Route("/api/outbox", outbox_rows),
            Route("/api/outbox/{row_id}/retry", outbox_retry, methods=["POST"]),
        ]
    )


def render_metrics(health: Health) -> str:
    """Prometheus text exposition: calls, turns, latency histograms per stage, outbox, SIP."""
    lines: list[str] = []

    def metric(name: str, kind: str, doc: str, samples: list[tuple[str, float]]) -> None:
        lines.extend([f"# HELP {name} {doc}", f"# TYPE {name} {kind}"])
        lines.extend(f"{name}{labels} {value:g}" for labels, value in samples)

    store = health.store
    if store is not None:
        calls = store.query("SELECT COALESCE(end_reason, 'in_progress') AS r, COUNT(*) AS n FROM calls GROUP BY r", [])
        metric(
            "vocalia_calls_total",
            "counter",
            "Calls by how they ended.",
            [(f'{{reason="{c["r"]}"}}', c["n"]) for c in calls],
        )
        turns = store.query("SELECT COUNT(*) AS n FROM turns", [])[0]["n"]
        metric("vocalia_turns_total", "counter", "Caller turns answered.", [("", turns)])
        for stage, column in STAGES.items():
            rows = store.query(
                f"SELECT {column} - speech_end_s AS d FROM turns WHERE {column} IS NOT NULL AND {column} > 0 "
                "AND eot_reason != 'dtmf'",
                [],
            )
            delays = [r["d"] for r in rows]
            samples = [(f'{{le="{b:g}"}}', sum(1 for d in delays if d <= b)) for b in BUCKETS]
            samples.append(('{le="+Inf"}', len(delays)))
            name = f"vocalia_turn_{stage}_seconds"
            lines.extend(
                [
                    f"# HELP {name} Time from the end of caller speech to {stage.replace('_', ' ')}.",
                    f"# TYPE {name} histogram",
                ]
            )
            lines.extend(f"{name}_bucket{labels} {value:g}" for labels, value in samples)
            lines.extend([f"{name}_sum {sum(delays):g}", f"{name}_count {len(delays)}"])
    if health.outbox is not None:
        stats = health.outbox.stats()
        depth = [
            (f'{{connector="{c}",state="{s}"}}', e[s])
            for c, e in stats.items()
            for s in ("pending", "in_flight", "dead")
        ]
        metric("vocalia_outbox_rows", "gauge", "Deliveries waiting, in flight or dead, per connector.", depth)
        age = [(f'{{connector="{c}"}}', e["oldest_undelivered_s"] or 0.0) for c, e in stats.items()]
        metric("vocalia_outbox_oldest_undelivered_seconds", "gauge", "Age of the oldest undelivered row.", age)
    if health.sip is not None:
        metric("vocalia_sip_active_calls", "gauge", "Calls in progress.", [("", health.sip.active_calls)])
        refused = [(f'{{reason="{reason}"}}', float(n)) for reason, n in health.sip.refused.items()]
        metric("vocalia_sip_refused_total", "counter", "SIP requests the perimeter refused, by reason.", refused)
        released = [(f'{{reason="{reason}"}}', float(n)) for reason, n in health.sip.released.items()]
        metric(
            "vocalia_sip_calls_released_total",
            "counter",
            "Calls hung up because they never became a conversation (no ACK, no RTP), by reason.",
            released,
        )
        registration = health.sip.registration
        if registration:
            registered = 1.0 if registration.get("registered") else 0.0
            metric(
                "vocalia_sip_registered",
                "gauge",
                "1 when registered to the PBX or trunk.",
                [(f'{{registrar="{registration.get("registrar")}"}}', registered)],
            )
    metric(
        "vocalia_up",
        "gauge",
        "1 when the appliance answers calls.",
        [("", 1.0 if health.state()[0] in ("ok", "degraded") else 0.0)],
    )
    return "\n".join(lines) + "\n"
