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
from appliance.testing import baresip_setup, free_port, speak

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


def start_daemon(state: Path, sip_port: int, web_port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "VOCALIA_STATE_DIR": str(state),
        "VOCALIA_SIP_HOST": "127.0.0.1",
        "VOCALIA_SIP_PORT": str(sip_port),
        "VOCALIA_WEB_PORT": str(web_port),
        "VOCALIA_SIP_LOG_LEVEL": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "appliance", "--log-level", "WARNING", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{web_port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the daemon did not start")


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
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        sources = [caller_wav(work, n, q) for n, q in enumerate(QUESTIONS)]
        for level in (int(c) for c in args.concurrency.split(",")):
            state = work / f"state-{level}"
            sip_port, web_port = free_port(), free_port()
            daemon = start_daemon(state, sip_port, web_port)
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
                media = httpx.get(f"http://127.0.0.1:{web_port}/healthz", timeout=3).json()["sip"]["media_clock"]
            finally:
                daemon.send_signal(signal.SIGTERM)
                daemon.wait(timeout=30)
            store = Store.configured(ApplianceConfig(state_dir=str(state)))  # encrypted: opened with its key
            turns = store.query("SELECT * FROM turns WHERE eot_reason != 'dtmf'", [])
            store.close()
            rows.append((level, turns, media))
    print("\n## SIP calls from baresip (PCMU, loopback, 2 CPU cores)\n")
    head = ["calls at once", "turns"] + [f"{name} p50/p95 ms" for name in STAGES]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for level, turns, _ in rows:
        cells = [str(level), str(len(turns))]
        for column in STAGES.values():
            values = [(t[column] - t["speech_end_s"]) * 1000 for t in turns if t[column]]
            cells.append(f"{np.percentile(values, 50):.0f} / {np.percentile(values, 95):.0f}" if values else "-")
        print("| " + " | ".join(cells) + " |")
    print(
        "\nTimes are after the last voiced frame the daemon received; 'first frame' is the first reply frame it sent."
    )
    print("\n## The media clock thread meanwhile (pjsua2's, calling each call's port every 20 ms)\n")
    print("| calls at once | frames | late (gap > 40 ms) | worst gap ms | mean callback µs | worst callback ms |")
    print("|---|---|---|---|---|---|")
    for level, _, media in rows:
        print(
            f"| {level} | {media['frames']} | {media['late_frames']} ({media['late_frames'] / max(1, media['frames']):.2%}) "
            f"| {media['worst_gap_ms']} | {media['mean_callback_us']} | {media['worst_callback_ms']} |"
        )
    print(f"\nCPU: {cpu_name()}")
    return 0


def _call_async(workdir: Path, target: str, source: Path) -> subprocess.Popen[bytes]:
    """Start one baresip call in the background (the same peer the tests use)."""
    config = baresip_setup(workdir, source)
    cmd = ["baresip", "-f", str(config), "-e", f"/dial {target}", "-t", "20"]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    sys.exit(main())
