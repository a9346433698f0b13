"""SIP latency benchmark: real calls from baresip to the daemon, measured at the caller's ear.

Starts ``appliance run`` on loopback, places calls with baresip (G.711 µ-law, espeak-ng caller speech),
`--concurrency` at a time, and reads each turn's stage times from the daemon's database: from the last
voiced frame received to the first reply frame sent, and each stage in between. Prints p50/p95.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from machine import cpu_name  # benchmarks/machine.py, beside this script

from appliance.audio.files import write_wav
from appliance.config import ApplianceConfig
from appliance.store import Store
from appliance.testing import baresip_setup, free_port, free_ports, speak

QUESTIONS = [
    "What time do you open tomorrow?",
    "I would like to book an appointment.",
    "Where are you located?",
    "Can I leave a message for the nurse?",
]
STAGES = {
    "stt done": "stt_done_s",
    "end of turn": "eot_s",
    "reply ready": "reply_ready_s",
    "first audio": "first_audio_s",
    "first frame (caller's ear)": "first_frame_s",
}


def start_daemon(
    state: Path, sip_port: int, web_port: int, workers: int = 1, language: str = ""
) -> subprocess.Popen[bytes]:
    """``appliance run`` on loopback; with ``workers`` > 1, kamailio on ``sip_port`` in front of them, their
    web ports from ``web_port`` on."""
    env = {
        **os.environ,
        "VOCALIA_STATE_DIR": str(state),
        "VOCALIA_SIP_HOST": "127.0.0.1",
        "VOCALIA_SIP_PORT": str(sip_port),
        "VOCALIA_WEB_PORT": str(web_port),
        "VOCALIA_SIP_LOG_LEVEL": "0",
        "VOCALIA_SCALE_WORKERS": str(workers),
        "VOCALIA_SCALE_WORKER_PORT": str(free_ports(workers)),
    }
    if language:
        env["VOCALIA_BUSINESS_LANGUAGE"] = language
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance", "--log-level", "WARNING", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if all(_health(web_port + k) is not None for k in range(workers)):
            return proc
        time.sleep(0.3)
    proc.kill()
    raise SystemExit("the daemon did not start")


def _health(port: int) -> dict | None:  # type: ignore[type-arg]
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
    except httpx.TransportError:
        return None
    return answer.json() if answer.status_code == 200 else None  # type: ignore[no-any-return]


def _resident_mb(pid: int) -> int:
    """Resident memory of a process and its children, from /proc (MB)."""
    total = 0
    for candidate in Path("/proc").iterdir():
        if not candidate.name.isdigit():
            continue
        try:
            stat = (candidate / "stat").read_text().split()
            status = (candidate / "status").read_text()
        except OSError:
            continue
        if candidate.name == str(pid) or stat[3] == str(pid):
            found = [line for line in status.splitlines() if line.startswith("VmRSS:")]
            total += int(found[0].split()[1]) // 1024 if found else 0
    return total


def caller_wav(workdir: Path, n: int, text: str) -> Path:
    speech = speak(text, 8000, workdir)
    audio = np.concatenate([np.zeros(36000, np.int16), speech, np.zeros(64000, np.int16)])  # 4.5 s, speech, 8 s
    path = workdir / f"caller-{n}.wav"
    write_wav(path, audio, 8000)
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=8, help="calls per concurrency level")
    parser.add_argument("--concurrency", default="1,4", help="simultaneous calls, e.g. 1,2,4")
    parser.add_argument("--workers", type=int, default=1, help="daemons behind kamailio ([scale] workers)")
    parser.add_argument("--language", default="", help="one language for every call (default: the profile's)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sources = [caller_wav(work, n, q) for n, q in enumerate(QUESTIONS)]
        for level in (int(c) for c in args.concurrency.split(",")):
            state = work / f"state-{level}"
            sip_port, web_port = free_port(), free_ports(args.workers)
            daemon = start_daemon(state, sip_port, web_port, args.workers, args.language)
            try:
                target = f"sip:reception@127.0.0.1:{sip_port}"
                print(f"{args.calls} calls, {level} at a time ...", file=sys.stderr)
                for batch in range(0, args.calls, level):
                    procs = []
                    for n in range(batch, min(args.calls, batch + level)):
                        source = sources[n % len(sources)]
                        procs.append(_call_async(work / f"c{level}-{n}", target, source))
                    for proc in procs:
                        proc.wait(timeout=60)
                clocks = [_health(web_port + k) or {} for k in range(args.workers)]
                media = _merged([c["sip"]["media_clock"] for c in clocks if c])
                memory = _resident_mb(daemon.pid)
                busy = sum(c["sip"]["busy_rejections"] for c in clocks if c)
            finally:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(timeout=30)
            store = Store.configured(ApplianceConfig(state_dir=str(state)))  # encrypted: opened with its key
            turns = store.query("SELECT * FROM turns WHERE eot_reason != 'dtmf'", [])
            store.close()
            rows.append((level, turns, media, memory, busy))
    workers = f", {args.workers} workers behind kamailio" if args.workers > 1 else ""
    print(f"\n## SIP calls from baresip (PCMU, loopback{workers})\n")
    head = ["calls at once", "turns", "busy"] + [f"{name} p50/p95 ms" for name in STAGES] + ["RSS MB"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for level, turns, _, memory, busy in rows:
        cells = [str(level), str(len(turns)), str(busy)]
        for column in STAGES.values():
            values = [(t[column] - t["speech_end_s"]) * 1000 for t in turns if t[column]]
            cells.append(f"{np.percentile(values, 50):.0f} / {np.percentile(values, 95):.0f}" if values else "-")
        print("| " + " | ".join([*cells, str(memory)]) + " |")
    print(
        "\nTimes are after the last voiced frame the daemon received; 'first frame' is the first reply frame it sent."
    )
    print("\n## The media clock thread meanwhile (pjsua2's, calling each call's port every 20 ms)\n")
    print("| calls at once | frames | late (gap > 40 ms) | worst gap ms | mean callback µs | worst callback ms |")
    print("|---|---|---|---|---|---|")
    for level, _, media, _, _ in rows:
        print(
            f"| {level} | {media['frames']} | {media['late_frames']} ({media['late_frames'] / max(1, media['frames']):.2%}) "
            f"| {media['worst_gap_ms']} | {media['mean_callback_us']} | {media['worst_callback_ms']} |"
        )
    print(f"\nCPU: {cpu_name()}")
    return 0


def _merged(clocks: list[dict]) -> dict:  # type: ignore[type-arg]
    """The workers' media clocks as one: frames and late frames summed, the worst of the worsts."""
    if not clocks:
        return {"frames": 0, "late_frames": 0, "worst_gap_ms": 0, "mean_callback_us": 0, "worst_callback_ms": 0}
    frames = sum(c["frames"] for c in clocks)
    return {
        "frames": frames,
        "late_frames": sum(c["late_frames"] for c in clocks),
        "worst_gap_ms": max(c["worst_gap_ms"] for c in clocks),
        "mean_callback_us": round(sum(c["mean_callback_us"] * c["frames"] for c in clocks) / max(1, frames)),
        "worst_callback_ms": max(c["worst_callback_ms"] for c in clocks),
    }


def _call_async(workdir: Path, target: str, source: Path) -> subprocess.Popen[bytes]:
    """Start one baresip call in the background (the same peer the tests use)."""
    config = baresip_setup(workdir, source)
    cmd = ["baresip", "-f", str(config), "-e", f"/dial {target}", "-t", "20"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    sys.exit(main())
