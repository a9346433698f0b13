"""Outbox benchmark: enqueue and delivery throughput, and the delay from commit to delivery.

Run: .venv/bin/python benchmarks/outbox.py [--actions 500] [--plaintext]

Enqueue: each action recorded in its own transaction (as a call does), with ``synchronous=FULL`` (what
the store uses) and ``NORMAL`` for comparison. Delivery: a worker sends them to a local HTTP sink
(webhook connector, concurrency 4) while they are being queued; delay = sink receipt - commit.
The database is encrypted (SQLCipher) as in the appliance; ``--plaintext`` measures plain SQLite instead.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from machine import cpu_name  # noqa: E402 - benchmarks/machine.py, beside this script

from appliance.dialog.tools import Action  # noqa: E402
from appliance.integrations.connectors import load_connectors  # noqa: E402
from appliance.integrations.outbox import Outbox  # noqa: E402
from appliance.integrations.worker import OutboxWorker  # noqa: E402
from appliance.store import Store  # noqa: E402
from appliance.store.keys import DatabaseKey  # noqa: E402
from appliance.testing import HttpSink  # noqa: E402


def action(n: int) -> Action:
    return Action("take_message", {"caller_name": f"Caller {n}", "phone": "+14155552671", "message": f"message {n}"})


def connectors_for(url: str, workdir: Path) -> list:  # type: ignore[type-arg]
    path = workdir / "integrations.toml"
    path.write_text(
        f'[[connector]]\nname = "sink"\nkind = "webhook"\ntools = ["take_message"]\nurl = "{url}"\n'
        'secret_env = "BENCH_SECRET"\nconcurrency = 4\n'
    )
    return load_connectors(path, {"BENCH_SECRET": "bench"})


def enqueue_rate(count: int, synchronous: str, workdir: Path, url: str, key: DatabaseKey | None) -> float:
    store = Store(workdir / f"enqueue-{synchronous}.db", key)
    store.db.execute(f"PRAGMA synchronous={synchronous}")
    outbox = Outbox(store, connectors_for(url, workdir))
    started = time.perf_counter()
    for n in range(count):
        outbox.record(f"call-{n}", action(n))
    elapsed = time.perf_counter() - started
    store.close()
    return count / elapsed


async def delivery(count: int, workdir: Path, sink: HttpSink, key: DatabaseKey | None) -> tuple[float, list[float]]:
    store = Store(workdir / "deliver.db", key)
    connectors = connectors_for(sink.url, workdir)
    outbox = Outbox(store, connectors)
    committed: dict[str, float] = {}
    stop = asyncio.Event()
    worker = asyncio.create_task(OutboxWorker(outbox, connectors, poll_s=0.05).run(stop))
    started = time.perf_counter()
    for n in range(count):
        action_id = await asyncio.to_thread(outbox.record, f"call-{n}", action(n))
        committed[f"vocalia-{action_id}-sink"] = time.time()
        if n % 10 == 0:
            await asyncio.sleep(0)  # calls arrive spread out, not all in one burst
    while len(sink.effects) < count:  # noqa: ASYNC110 - the sink counts in its own thread
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    stop.set()
    await worker
    store.close()
    first_seen: dict[str, float] = {}
    for got in sink.deliveries:
        first_seen.setdefault(got.key, got.at)
    return count / elapsed, [first_seen[k] - committed[k] for k in committed]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actions", type=int, default=500)
    parser.add_argument("--plaintext", action="store_true", help="plain SQLite instead of SQLCipher")
    args = parser.parse_args()
    key = None if args.plaintext else DatabaseKey(secrets.token_bytes(32), "the benchmark")
    sink = HttpSink()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            full = enqueue_rate(args.actions, "FULL", workdir, sink.url, key)
            normal = enqueue_rate(args.actions, "NORMAL", workdir, sink.url, key)
            sink.deliveries.clear()
            sink.effects.clear()
            rate, delays = asyncio.run(delivery(args.actions, workdir, sink, key))
    finally:
        sink.close()
    ordered = sorted(delays)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    print(
        "| database | actions | enqueue, synchronous=FULL | enqueue, NORMAL | delivered | commit -> delivery p50 | p95 |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {'plaintext' if key is None else 'SQLCipher'} | {args.actions} | {full:.0f}/s | {normal:.0f}/s | {rate:.0f}/s | "
        f"{statistics.median(delays) * 1000:.0f} ms | {p95 * 1000:.0f} ms |"
    )
    print(f"\nCPU: {cpu_name()}")


if __name__ == "__main__":
    main()
