"""ASGI application (Starlette): the status page for IT, the front desk's page, ``/healthz``, ``/metrics``.

Two roles sign in, each with its own token:

* **IT** (``[web] token``, ``VOCALIA_WEB_TOKEN``): the status page (``/``), ``/metrics`` and ``/api/*``
  (outbox, retries). It never sees callers' messages.
* **The front desk** (``[web] desk_token``, ``VOCALIA_WEB_DESK_TOKEN``): ``/desk`` and ``/api/desk/*``,
  the messages and callbacks to handle and the bookings. Whoever signs in gives their name, which the
  audit log records with every mark, export and transcript opened. The desk cannot retry a delivery
  or read ``/metrics``.

``/healthz`` needs no credentials and carries no PHI: ``ok``, ``degraded`` (answering, but a
registration failed or deliveries are dead) or ``down`` (SIP not listening), with the reasons.
Scripts send ``Authorization: Bearer <token>``; a page keeps an HttpOnly, SameSite=Strict cookie.
A role's pages answer 401 without its credentials and 403 to the other role; a token left empty
turns its role off.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from .. import __version__
from ..dialog.profile import BusinessProfile
from ..errors import ConfigError
from ..integrations.outbox import Outbox
from ..outbound.reminders import ReminderBook
from ..scale.kamailio import Worker
from ..security import security_event
from ..sip.endpoint import SipEndpoint
from ..store import Store
from . import desk
from .desk_page import desk_login, desk_page
from .page import LOGIN, PAGE
from .status import resident_mb, status

COOKIE = "vocalia_session"
DESK_COOKIE = "vocalia_desk"
SESSION_S = 12 * 3600
TOKEN_ENV = "VOCALIA_WEB_TOKEN"  # the [web] token key, from the environment (a systemd credential)
DESK_TOKEN_ENV = "VOCALIA_WEB_DESK_TOKEN"
DESK_USER_HEADER = "x-vocalia-desk-user"  # who is calling /api/desk with the desk's bearer token
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
    business: BusinessProfile | None = None  # the desk's language, time zone and name
    reminders: ReminderBook | None = None
    ready: bool = False
    started: float = field(default_factory=time.monotonic)
    worker: int | None = None  # this daemon's index behind kamailio ([scale] workers > 1)
    cluster: list[Worker] = field(default_factory=list)  # worker 0: every worker, for the status page
    problems: list[Callable[[], str]] = field(default_factory=list)  # each says what is wrong now, or ""

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
        reasons += [problem for check in self.problems if (problem := check())]
        if self.outbox is not None:
            dead = sum(entry["dead"] for entry in self.outbox.stats().values())
            if dead:
                reasons.append(f"{dead} dead deliveries (appliance outbox list --state dead)")
        return ("degraded" if reasons else "ok"), reasons


Role = Literal["it", "desk"]


@dataclass(frozen=True)
class Viewer:
    """Who a request comes from: a role, and for the desk the name given at sign-in."""

    role: Role
    name: str
    client: str


def _sign(key: str, text: str) -> str:
    return hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()


def _desk_session(desk_token: str, name: str, expires: int) -> str:
    """The desk's cookie: the name and an expiry, signed with the desk token (a new token ends every session)."""
    encoded = base64.urlsafe_b64encode(name.encode()).decode()
    return f"{encoded}.{expires}.{_sign(desk_token, f'vocalia-desk-session-v1|{name}|{expires}')}"


def _desk_name(desk_token: str, cookie: str) -> str | None:
    try:
        encoded, expires, mac = cookie.split(".")
        name = base64.urlsafe_b64decode(encoded.encode()).decode()
        deadline = int(expires)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if deadline < time.time():
        return None
    expected = _sign(desk_token, f"vocalia-desk-session-v1|{name}|{deadline}")
    return name if hmac.compare_digest(mac.encode(), expected.encode()) else None


def _clean_name(text: str) -> str:
    """A desk user's name as the audit log keeps it: printable, one line, at most 60 characters."""
    return "".join(ch for ch in " ".join(text.split()) if ch.isprintable())[:60]


def create_app(health: Health, token: str, desk_token: str = "") -> Starlette:
    """The web application; ``token`` ("" = off) opens IT's pages, ``desk_token`` ("" = off) the desk's.
    The endpoints are plain functions where they can be: Starlette runs those in its thread pool, so
    their SQLite reads stay off the event loop."""
    if desk_token and hmac.compare_digest(desk_token.encode(), token.encode()):
        raise ConfigError(f"[web] desk_token must differ from [web] token: set {DESK_TOKEN_ENV} to a token of its own")
    session = _sign(token, "vocalia-status-session-v1") if token else ""

    def viewer(request: Request) -> Viewer | None:
        client = request.client.host if request.client else "?"
        given = request.headers.get("authorization", "").encode()
        if token and hmac.compare_digest(given, f"Bearer {token}".encode()):
            return Viewer("it", "IT", client)
        if desk_token and hmac.compare_digest(given, f"Bearer {desk_token}".encode()):
            return Viewer("desk", _clean_name(request.headers.get(DESK_USER_HEADER, "")) or "API", client)
        if token and hmac.compare_digest(request.cookies.get(COOKIE, "").encode(), session.encode()):
            return Viewer("it", "IT", client)
        if desk_token and (name := _desk_name(desk_token, request.cookies.get(DESK_COOKIE, ""))):
            return Viewer("desk", name, client)
        return None

    def refuse(request: Request, role: Role) -> Response | None:
        """None when the request comes from ``role``; otherwise 401 (no credentials) or 403 (the other role)."""
        who = viewer(request)
        if who is not None and who.role == role:
            return None
        if who is not None:
            opens = "IT's pages" if role == "it" else "the front desk's pages"
            return JSONResponse({"error": f"this sign-in does not open {opens}"}, 403)
        if not (token if role == "it" else desk_token):
            variable = TOKEN_ENV if role == "it" else DESK_TOKEN_ENV
            return JSONResponse({"error": f"this role is off: set {variable} (a systemd credential)"}, 401)
        return JSONResponse({"error": "unauthorized"}, 401, headers={"WWW-Authenticate": "Bearer"})

    def index(request: Request) -> Response:
        who = viewer(request)
        if who is not None and who.role == "it":
            return HTMLResponse(PAGE)
        if who is not None:
            return RedirectResponse("/desk", status_code=303)
        return HTMLResponse(LOGIN.replace("{error}", ""), status_code=401)

    async def login(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))  # no multipart: one urlencoded field
        given = form.get("token", [""])[0]
        if token and hmac.compare_digest(given.encode(), token.encode()):
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, session, httponly=True, samesite="strict", max_age=SESSION_S)
            return response
        security_event("web_login_failed", request.client.host if request.client else "", "wrong status page token")
        await asyncio.sleep(1.0)  # slows down guessing
        return HTMLResponse(LOGIN.replace("{error}", '<p style="color:#b3261e">Wrong token.</p>'), status_code=401)

    def logout(request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    def api_status(request: Request) -> Response:
        if refusal := refuse(request, "it"):
            return refusal
        phi = request.query_params.get("phi") == "1"
        if phi and health.store is not None:
            client = request.client.host if request.client else "?"
            health.store.audit(f"status page from {client}", "showed what callers said today")
        return JSONResponse(status(health, phi))

    def healthz(request: Request) -> JSONResponse:
        body = health.summary()
        state = body["status"]
        if health.worker is not None:
            body["worker"] = {"index": health.worker, "pid": os.getpid(), "memory_mb": resident_mb()}
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
        return refuse(request, "it") or PlainTextResponse(
            render_metrics(health), media_type="text/plain; version=0.0.4"
        )

    def outbox_rows(request: Request) -> Response:
        if (refusal := refuse(request, "it")) or health.outbox is None:
            return refusal or JSONResponse([])
        state = request.query_params.get("state")
        # Payloads carry names and numbers: the list shows what was sent, not to whom.
        rows = [asdict(r) | {"payload": None} for r in health.outbox.rows(state, 200)]
        return JSONResponse(rows)

    def outbox_retry(request: Request) -> Response:
        if (refusal := refuse(request, "it")) or health.outbox is None:
            return refusal or JSONResponse({"error": "no outbox"}, 404)
        row_id = request.path_params["row_id"]
        if not health.outbox.retry(row_id):
            return JSONResponse({"error": f"no dead or waiting delivery {row_id}"}, 404)
        return JSONResponse({"id": row_id, "state": "pending"})

    # The front desk.
    language = health.business.languages[0] if health.business is not None else "en"
    zone = health.business.timezone if health.business is not None else ZoneInfo("UTC")

    def desk_user(request: Request) -> desk.DeskUser:
        who = viewer(request)
        assert who is not None  # noqa: S101 - called after refuse()
        return desk.DeskUser(who.name, who.client)

    def chosen_day(request: Request) -> date:
        text = request.query_params.get("day", "")
        try:
            return date.fromisoformat(text) if text else datetime.now(zone).date()
        except ValueError:
            return datetime.now(zone).date()

    def desk_index(request: Request) -> Response:
        who = viewer(request)
        if who is not None and who.role == "desk":
            return HTMLResponse(desk_page(language, health.business.name if health.business else "", who.name))
        return HTMLResponse(desk_login(language, ""), status_code=401)

    async def desk_signin(request: Request) -> Response:
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        given, name = form.get("token", [""])[0], _clean_name(form.get("name", [""])[0])
        client = request.client.host if request.client else ""
        if desk_token and name and hmac.compare_digest(given.encode(), desk_token.encode()):
            expires = int(time.time()) + SESSION_S
            response = RedirectResponse("/desk", status_code=303)
            response.set_cookie(
                DESK_COOKIE,
                _desk_session(desk_token, name, expires),
                httponly=True,
                samesite="strict",
                max_age=SESSION_S,
            )
            if health.store is not None:
                await asyncio.to_thread(health.store.audit, f"front desk: {name} from {client}", "signed in")
            return response
        if not name and given:
            return HTMLResponse(desk_login(language, "name"), status_code=400)
        security_event("web_login_failed", client, "wrong front desk token")
        await asyncio.sleep(1.0)
        return HTMLResponse(desk_login(language, "token"), status_code=401)

    def desk_signout(request: Request) -> Response:
        response = RedirectResponse("/desk", status_code=303)
        response.delete_cookie(DESK_COOKIE)
        return response

    def desk_api(request: Request) -> Response:
        if (refusal := refuse(request, "desk")) or health.store is None:
            return refusal or JSONResponse({"error": "no store"}, 503)
        day, query = chosen_day(request), request.query_params.get("q", "")[:100]
        return JSONResponse(
            {
                "day": day.isoformat(),
                "today": datetime.now(zone).date().isoformat(),
                "tasks": desk.tasks(health.store, day, zone, query),
                "bookings": desk.bookings(health.store, day, query),
            }
        )

    async def desk_mark(request: Request) -> Response:
        if (refusal := refuse(request, "desk")) or health.store is None:
            return refusal or JSONResponse({"error": "no store"}, 503)
        try:
            how = json.loads(await request.body()).get("handled")
        except (ValueError, AttributeError):
            how = None
        if how not in desk.HANDLED:
            return JSONResponse(
                {"error": 'send {"handled": "done"}, {"handled": "called_back"} or {"handled": ""}'}, 400
            )
        task_id = request.path_params["task_id"]
        if not await asyncio.to_thread(desk.handle, health.store, task_id, how, desk_user(request)):
            return JSONResponse({"error": f"no message or callback request {task_id}"}, 404)
        return JSONResponse({"id": task_id, "handled": how})

    def desk_call(request: Request) -> Response:
        if (refusal := refuse(request, "desk")) or health.store is None:
            return refusal or JSONResponse({"error": "no store"}, 503)
        said = desk.call_said(health.store, request.path_params["call_id"], desk_user(request))
        if said is None:
            return JSONResponse({"error": "no such call (or its transcript is past retention)"}, 404)
        return JSONResponse(said)

    def desk_export(request: Request) -> Response:
        if (refusal := refuse(request, "desk")) or health.store is None:
            return refusal or JSONResponse({"error": "no store"}, 503)
        day, query = chosen_day(request), request.query_params.get("q", "")[:100]
        text = desk.export_csv(health.store, day, zone, query, desk_user(request))
        disposition = f'attachment; filename="front-desk-{day.isoformat()}.csv"'
        return Response(text, media_type="text/csv; charset=utf-8", headers={"Content-Disposition": disposition})

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
            Route("/desk", desk_index),
            Route("/desk/login", desk_signin, methods=["POST"]),
            Route("/desk/logout", desk_signout),
            Route("/api/desk", desk_api),
            Route("/api/desk/tasks/{task_id}", desk_mark, methods=["POST"]),
            Route("/api/desk/calls/{call_id}", desk_call),
            Route("/api/desk/export.csv", desk_export),
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
    if health.reminders is not None:
        counts = health.reminders.counts()
        by = [(f'{{{k.split(":")[0]}="{k.split(":")[1]}"}}', float(n)) for k, n in sorted(counts.items())]
        metric(
            "vocalia_reminders",
            "gauge",
            "Outbound calls (appointment reminders, callbacks) by kind, by state, by the last attempt's outcome, "
            "and by the reply.",
            by,
        )
    if health.store is not None:
        rows = health.store.query("SELECT mode, outcome, COUNT(*) AS n FROM transfers GROUP BY mode, outcome", [])
        metric(
            "vocalia_transfers",
            "gauge",
            "Transfers to a person kept in the store (retention applies), by mode and outcome.",
            [(f'{{mode="{r["mode"]}",outcome="{r["outcome"]}"}}', float(r["n"])) for r in rows],
        )
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
