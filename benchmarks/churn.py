"""Call churn soak: hundreds of calls of every awkward kind, four at a time, against one daemon.

Real peers on loopback: baresip (speaking or silent, hanging up at random times, during the greeting
too), SIPp (recorded speech + DTMF; answers never ACKed) and a raw SIP caller for what those two do not
script (CANCEL while ringing, re-INVITE mid-call). Linphone (``linphonec``) calls too when installed.
At the end, SIGTERM. Reports per kind: calls, legitimate calls answered, failures; the daemon's exit
status, crashes (signals, "Assertion", "Segmentation"), and its RSS at call 50 and at the last call.

    .venv/bin/python benchmarks/churn.py --calls 300 --seed 12
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
from machine import cpu_name  # benchmarks/machine.py, beside this script

from appliance.audio.files import write_wav
from appliance.testing import baresip, conversation, free_port, linphone_call, private_network

ROOT = Path(__file__).resolve().parent.parent
SIPP_SCENARIOS = ROOT / "tests" / "sipp"
CONCURRENCY = 4  # the appliance's call slots


@dataclass
class Outcome:
    kind: str
    legit: bool  # a caller the appliance must answer
    answered: bool
    detail: str = ""


class Daemon:
    """``appliance run`` on loopback, its stderr kept for crash signs."""

    def __init__(self, state: Path) -> None:
        self.sip_port, self.web_port = free_port(), free_port()
        env = {
            **os.environ,
            "VOCALIA_STATE_DIR": str(state),
            "VOCALIA_SIP_HOST": "127.0.0.1",
            "VOCALIA_SIP_PORT": str(self.sip_port),
            "VOCALIA_WEB_PORT": str(self.web_port),
            "VOCALIA_SIP_LOG_LEVEL": "1",
            "VOCALIA_SIP_ACK_TIMEOUT_S": "2",
            "VOCALIA_SIP_RTP_TIMEOUT_S": "4",
            "VOCALIA_SIP_MAX_INVITES_PER_MINUTE": "100000",
            "VOCALIA_SIP_MAX_REQUESTS_PER_MINUTE": "100000",
            "PYTHONPATH": str(ROOT),
        }
        state.mkdir(parents=True, exist_ok=True)
        self.log = state / "daemon.log"
        self._log = self.log.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "appliance", "run"], env=env, stdout=subprocess.DEVNULL, stderr=self._log, cwd=ROOT
        )
        deadline = time.monotonic() + 90
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"the daemon did not start:\n{self.log.read_text()[-3000:]}")
            try:
                if self.health()["status"] in ("ok", "degraded"):
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("the daemon did not become ready") from None
                time.sleep(0.3)

    def health(self) -> dict:  # type: ignore[type-arg]
        return httpx.get(f"http://127.0.0.1:{self.web_port}/healthz", timeout=3).json()  # type: ignore[no-any-return]

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(found.group(1)) / 1024 if found else float("nan")

    def wait_idle(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.health()["sip"]["active_calls"] and time.monotonic() < deadline:
            time.sleep(0.5)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._log.close()


# ---- the callers ------------------------------------------------------------------------------
class Callers:
    def __init__(self, daemon: Daemon, workdir: Path, rng: random.Random) -> None:
        self.daemon = daemon
        self.workdir = workdir
        self.rng = rng
        self.lock = threading.Lock()
        self.speech = conversation(["What are your opening hours?", "Thank you, goodbye."], 8000, workdir, 4.0, 4.5)
        self.silence = workdir / "silence.wav"
        write_wav(self.silence, np.zeros(20 * 8000, np.int16), 8000)
        (workdir / "pcap").symlink_to("/usr/share/sip-tester")
        self.target = f"sip:reception@127.0.0.1:{daemon.sip_port}"

    def _dir(self) -> Path:
        path = self.workdir / uuid.uuid4().hex[:10]
        path.mkdir()
        return path

    def pick(self) -> Callable[[], Outcome]:
        with self.lock:
            roll = self.rng.random()
            seconds = self.rng.choice([1, 2, 3, 5, 8, 12])
        kinds: list[tuple[float, Callable[[], Outcome]]] = [
            (0.30, lambda: self.baresip(seconds, speak=True)),
            (0.15, lambda: self.baresip(seconds, speak=False)),
            (0.15, self.sipp_speech_dtmf),
            (0.10, lambda: self.sipp("no_ack.xml", "no ACK")),
            (0.10, self.cancel_while_ringing),
            (0.10, self.reinvite),
        ]
        if shutil.which("linphonec"):
            kinds.append((0.10, lambda: self.linphone(seconds)))
        total = sum(w for w, _ in kinds)
        for weight, kind in kinds:
            roll -= weight / total
            if roll <= 0:
                return kind
        return kinds[-1][1]

    def baresip(self, seconds: int, speak: bool) -> Outcome:
        kind = f"baresip {'speaking' if speak else 'silent'}"
        _, log = baresip(self._dir(), self.target, self.speech if speak else self.silence, "PCMU/8000/1", seconds)
        answered = "established" in log.lower()
        # A caller hanging up within a second may be gone before the answer: it is not a failed answer.
        return Outcome(kind, seconds >= 2, answered, "" if answered else log[-300:])

    def sipp_speech_dtmf(self) -> Outcome:
        workdir = self._dir()
        (workdir / "pcap").symlink_to("/usr/share/sip-tester")
        cmd = ["sipp", "-sn", "uac_pcap", f"127.0.0.1:{self.daemon.sip_port}", "-s", "reception"]
        cmd += ["-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()), "-m", "1"]
        cmd += ["-timeout", "40", "-timeout_error", "-nostdin"]
        result = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, timeout=60)
        return Outcome("sipp speech+DTMF", True, result.returncode == 0, result.stdout[-300:])

    def sipp(self, scenario: str, kind: str) -> Outcome:
        cmd = ["sipp", "-sf", str(SIPP_SCENARIOS / scenario), f"127.0.0.1:{self.daemon.sip_port}", "-s", "reception"]
        cmd += ["-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()), "-m", "1"]
        cmd += ["-timeout", "40", "-timeout_error", "-nostdin"]
        result = subprocess.run(cmd, cwd=self._dir(), capture_output=True, text=True, timeout=60)
        # Not a conversation: what counts is that the appliance gave the slot back (SIPp waits for the BYE).
        return Outcome(kind, False, result.returncode == 0, result.stdout[-300:])

    def cancel_while_ringing(self) -> Outcome:
        with RawCaller(self.daemon.sip_port) as caller:
            status = caller.invite(cancel=True)
        # 487 (cancelled in time) or 200 (answered first, then hung up): both end cleanly.
        return Outcome("CANCEL while ringing", False, status in (200, 487), f"final {status}")

    def reinvite(self) -> Outcome:
        with RawCaller(self.daemon.sip_port) as caller:
            answered = caller.invite() == 200
            time.sleep(1.0)
            reinvited = answered and caller.reinvite() == 200
            time.sleep(0.5)
            caller.bye()
        return Outcome("re-INVITE mid-call", True, answered and reinvited, "" if reinvited else "re-INVITE failed")

    def linphone(self, seconds: int) -> Outcome:
        call = linphone_call(self._dir(), self.target, self.silence, max(seconds, 3))
        return Outcome("linphone", True, call.heard is not None, "" if call.heard else call.output[-300:])


class RawCaller:
    """A minimal UDP user agent for the messages the test peers cannot script."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.local = self.sock.getsockname()[1]
        self.call_id = f"{uuid.uuid4().hex}@127.0.0.1"
        self.tag = uuid.uuid4().hex[:8]
        self.to_tag = ""
        self.cseq = 1
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))

    def __enter__(self) -> RawCaller:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        self.rtp.close()

    def _sdp(self, version: int) -> str:
        port = self.rtp.getsockname()[1]
        return (
            f"v=0\r\no=raw 1 {version} IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
        )

    def _send(self, method: str, branch: str, cseq: int, body: str = "", to_tag: bool = False) -> None:
        to = f"<sip:reception@127.0.0.1:{self.port}>" + (f";tag={self.to_tag}" if to_tag and self.to_tag else "")
        headers = [
            f"{method} sip:reception@127.0.0.1:{self.port} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.local};branch={branch};rport",
            "Max-Forwards: 70",
            f"From: <sip:raw@127.0.0.1>;tag={self.tag}",
            f"To: {to}",
            f"Call-ID: {self.call_id}",
            f"CSeq: {cseq} {method}",
            f"Contact: <sip:raw@127.0.0.1:{self.local}>",
            "User-Agent: churn-raw",
        ]
        if body:
            headers.append("Content-Type: application/sdp")
        headers.append(f"Content-Length: {len(body.encode())}")
        self.sock.sendto(("\r\n".join(headers) + "\r\n\r\n" + body).encode(), ("127.0.0.1", self.port))

    def _final(self, method: str, timeout: float = 10) -> int:
        """Wait for the final response to ``method``; answer the appliance's own requests (BYE) on the way."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(65535).decode("latin-1")
            except TimeoutError:
                continue
            first = data.split("\r\n", 1)[0]
            if first.startswith("SIP/2.0 "):
                status = int(first.split()[1])
                if f" {method}\r\n" in data.split("CSeq:", 1)[1].split("\r\n", 1)[0] + "\r\n" and status >= 200:
                    found = re.search(r"^To:.*;tag=([^;\r\n]+)", data, re.MULTILINE | re.IGNORECASE)
                    if found:
                        self.to_tag = found.group(1)
                    return status
            elif first.startswith("BYE "):
                self._answer(data)
        return 0

    def _answer(self, request: str) -> None:
        keep = [
            h
            for h in request.split("\r\n")[1:]
            if h.split(":", 1)[0].lower() in ("via", "from", "to", "call-id", "cseq")
        ]
        self.sock.sendto(
            ("SIP/2.0 200 OK\r\n" + "\r\n".join(keep) + "\r\nContent-Length: 0\r\n\r\n").encode(),
            ("127.0.0.1", self.port),
        )

    def invite(self, cancel: bool = False) -> int:
        branch = f"z9hG4bK{uuid.uuid4().hex[:12]}"
        self._send("INVITE", branch, self.cseq, self._sdp(1))
        if cancel:
            self._send("CANCEL", branch, self.cseq)
        status = self._final("INVITE")
        self._send("ACK", branch if status != 200 else f"z9hG4bK{uuid.uuid4().hex[:12]}", self.cseq, to_tag=True)
        if cancel and status == 200:  # the answer won the race: hang up like a caller would
            self.bye()
        return status

    def reinvite(self) -> int:
        self.cseq += 1
        self._send("INVITE", f"z9hG4bK{uuid.uuid4().hex[:12]}", self.cseq, self._sdp(2), to_tag=True)
        status = self._final("INVITE")
        if status == 200:
            self._send("ACK", f"z9hG4bK{uuid.uuid4().hex[:12]}", self.cseq, to_tag=True)
        return status

    def bye(self) -> int:
        self.cseq += 1
        self._send("BYE", f"z9hG4bK{uuid.uuid4().hex[:12]}", self.cseq, to_tag=True)
        return self._final("BYE", timeout=5)


# ---- the run ------------------------------------------------------------------------------------
def crash_signs(log: str) -> list[str]:
    return [
        line for line in log.splitlines() if re.search(r"Assertion|Segmentation|Aborted|Fatal Python|Traceback", line)
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--seed", type=int, default=12)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    outcomes: list[Outcome] = []
    rss: dict[int, float] = {}
    # A network namespace with only loopback: every peer's media is on 127.0.0.1, nothing leaves the box.
    with tempfile.TemporaryDirectory(prefix="vocalia-churn-") as tmp, private_network():
        workdir = Path(tmp)
        daemon = Daemon(workdir / "state")
        callers = Callers(daemon, workdir, rng)
        started = time.monotonic()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            futures = [pool.submit(lambda: callers.pick()()) for _ in range(args.calls)]
            for n, future in enumerate(futures, 1):
                outcomes.append(future.result())
                if daemon.proc.poll() is not None:
                    break
                if n in (50, args.calls):
                    rss[n] = daemon.rss_mb()
                if n % 25 == 0:
                    print(
                        f"{n} calls, {time.monotonic() - started:.0f} s, RSS {daemon.rss_mb():.0f} MB", file=sys.stderr
                    )
        alive = daemon.proc.poll() is None
        health = daemon.health() if alive else {}
        if alive:
            daemon.wait_idle()
        exit_status = daemon.stop() if alive else daemon.proc.returncode
        signs = crash_signs(daemon.log.read_text())
        elapsed = time.monotonic() - started

    print(f"\nCall churn soak: {len(outcomes)} calls, {CONCURRENCY} at a time, seed {args.seed}, {elapsed:.0f} s")
    print(f"CPU: {cpu_name()}\n")
    print("| caller | calls | legitimate | answered (legitimate) | ended cleanly (others) |")
    print("|---|---|---|---|---|")
    kinds = Counter(o.kind for o in outcomes)
    for kind in sorted(kinds):
        mine = [o for o in outcomes if o.kind == kind]
        legit = [o for o in mine if o.legit]
        others = [o for o in mine if not o.legit]
        print(
            f"| {kind} | {len(mine)} | {len(legit)} | {sum(o.answered for o in legit)}/{len(legit)} "
            f"| {sum(o.answered for o in others)}/{len(others)} |"
        )
    growth = (rss[args.calls] / rss[50] - 1) * 100 if 50 in rss and args.calls in rss else float("nan")
    sip = health.get("sip", {})
    print(
        f"\nRSS at call 50: {rss.get(50, float('nan')):.0f} MB; at call {args.calls}: {rss.get(args.calls, float('nan')):.0f} MB ({growth:+.1f} %)"
    )
    print(
        f"released by the appliance: {sip.get('released')}; busy (486): {sip.get('busy_rejections')}; refused: {sip.get('refused')}"
    )
    print(f"daemon alive to the end: {alive}; SIGTERM exit status: {exit_status}; crash signs in its log: {len(signs)}")
    for line in signs[:10]:
        print("  " + line)
    failed = [o for o in outcomes if o.legit and not o.answered]
    for o in failed[:10]:
        print(f"  unanswered {o.kind}: {o.detail!r}")
    ok = alive and exit_status == 0 and not signs and not failed and not growth > 10
    print("\nPASS" if ok else "\nFAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
