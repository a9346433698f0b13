"""What the status page shows, as JSON: health, calls, caller-ear latency, outbox, models.

Nothing here names a caller unless the viewer opts in (``phi``): then the last thing each caller of
today said is included, and the opt-in is written to the audit log by the caller of :func:`status`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .app import Health


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def resident_mb() -> int | None:
    """The daemon's resident memory (all models included), from /proc."""
    try:
        text = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return None
    found = re.search(r"^VmRSS:\s+(\d+) kB", text, re.MULTILINE)
    return int(found.group(1)) // 1024 if found else None


def _workers(health: Health) -> list[dict[str, Any]]:
    """Each worker behind kamailio, as its own /healthz tells (this one from itself)."""
    seen = []
    for worker in health.cluster:
        row: dict[str, Any] = {"index": worker.index, "sip": f"{worker.sip_host}:{worker.sip_port}"}
        if worker.index == health.worker:
            state, reasons = health.state()
            row |= {"status": state, "reasons": reasons, "memory_mb": resident_mb()}
            if health.sip is not None:
                row |= {"active_calls": health.sip.active_calls, "max_calls": health.sip.settings.max_calls}
        else:
            try:
                answer = httpx.get(worker.health_url, timeout=0.5).json()
            except (httpx.HTTPError, ValueError) as err:
                row |= {"status": "down", "reasons": [f"no answer on {worker.health_url} ({type(err).__name__})"]}
            else:
                line = answer.get("sip") or {}
                row |= {
                    "status": answer.get("status"),
                    "reasons": answer.get("reasons", []),
                    "active_calls": line.get("active_calls"),
                    "max_calls": line.get("max_calls"),
                    "memory_mb": (answer.get("worker") or {}).get("memory_mb"),
                }
        seen.append(row)
    return seen


def status(health: Health, phi: bool, max_call_s: float = 3600.0) -> dict[str, Any]:
    """The status page's data."""
    body = health.summary() | {"memory_mb": resident_mb(), "phi": phi}
    if health.sip is not None:
        body["sip"] = {
            "listening": health.sip.listening,
            "active_calls": health.sip.active_calls,
            "registration": health.sip.registration or None,
            "refused": health.sip.refused,
            "released": health.sip.released,
            "busy_rejections": health.sip.busy_rejections,
        }
    if health.cluster:
        body["workers"] = _workers(health)
    store = health.store
    if store is not None:
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
        recent = (datetime.now(UTC) - timedelta(seconds=max_call_s)).isoformat()
        live = store.query(
            "SELECT c.id, c.source, c.started_at, COUNT(t.id) AS turns FROM calls c LEFT JOIN turns t ON t.call_id = c.id "
            "WHERE c.ended_at IS NULL AND c.started_at >= ? GROUP BY c.id ORDER BY c.started_at",
            [recent],
        )
        now = datetime.now(UTC)
        body["calls"] = {
            "in_progress": [
                {
                    "id": c["id"][:8],
                    "caller": c["source"],  # masked by the SIP layer: sip:+1415555****@host
                    "duration_s": round((now - datetime.fromisoformat(c["started_at"])).total_seconds()),
                    "turns": c["turns"],
                }
                for c in live
            ],
            "today": {
                r["outcome"]: r["n"]
                for r in store.query(
                    "SELECT COALESCE(end_reason, 'in_progress') AS outcome, COUNT(*) AS n FROM calls "
                    "WHERE started_at >= ? GROUP BY outcome",
                    [today],
                )
            },
        }
        turns = store.query(
            "SELECT t.call_id, t.idx, t.caller_text, t.first_frame_s - t.speech_end_s AS latency, c.started_at "
            "FROM turns t JOIN calls c ON c.id = t.call_id WHERE c.started_at >= ? AND t.first_frame_s > 0 "
            "AND t.eot_reason != 'dtmf' ORDER BY c.started_at, t.idx",
            [today],
        )
        body["transfers"] = {
            f"{r['mode']} {r['outcome']}": r["n"]
            for r in store.query(
                "SELECT mode, outcome, COUNT(*) AS n FROM transfers WHERE at >= ? GROUP BY mode, outcome", [today]
            )
        }
        latencies = [t["latency"] * 1000 for t in turns]
        p50, p95 = _percentile(latencies, 50), _percentile(latencies, 95)
        body["latency"] = {
            "turns": len(latencies),
            "p50_ms": round(p50) if p50 is not None else None,
            "p95_ms": round(p95) if p95 is not None else None,
            "recent_ms": [round(v) for v in latencies[-60:]],
        }
        if phi:
            body["said"] = [{"call": t["call_id"][:8], "turn": t["idx"], "text": t["caller_text"]} for t in turns[-20:]]
    if health.reminders is not None:
        midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        body["reminders"] = health.reminders.today(midnight.isoformat(timespec="milliseconds"))
    if health.outbox is not None:
        body["outbox"] = {
            "connectors": health.outbox.stats(),
            "dead": [
                {"id": r.id, "connector": r.connector, "action": r.tool, "error": r.last_error, "attempts": r.attempts}
                for r in health.outbox.rows("dead", 50)
            ],
        }
    return body
