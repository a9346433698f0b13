"""Test peers for tests and benchmarks: espeak-ng caller speech (through sox), baresip softphone calls,
a line that echoes the appliance back, and an HTTP sink for webhook deliveries."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import os
import queue
import random
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from .audio.files import read_audio, write_wav
from .call.lines import RecordingLine
from .call.session import CallSession


def speak(text: str, rate: int, workdir: Path) -> np.ndarray:
    """``text`` spoken by espeak-ng (en-US), as int16 at ``rate`` Hz."""
    key = hashlib.sha1(text.encode()).hexdigest()[:10]
    raw = workdir / f"espeak-{key}.wav"
    out = workdir / f"espeak-{key}-{rate}.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(["sox", str(raw), "-r", str(rate), str(out)], check=True)
    return read_audio(out, rate, 60)


def conversation(texts: list[str], rate: int, workdir: Path, gap_s: float = 3.0, lead_s: float = 0.5) -> Path:
    """A caller recording at ``rate``: each utterance followed by ``gap_s`` of silence; returns its path."""
    parts = [np.zeros(int(lead_s * rate), dtype=np.int16)]
    for text in texts:
        parts += [speak(text, rate, workdir), np.zeros(int(gap_s * rate), dtype=np.int16)]
    path = workdir / f"caller-{rate}.wav"
    write_wav(path, np.concatenate(parts), rate)
    return path


BARESIP_CONFIG = """\
poll_method epoll
sip_listen 127.0.0.1:0
net_interface 127.0.0.1
audio_source aufile,{source}
audio_alert aufile,/dev/null
audio_srate 8000
audio_channels 1
module_path /usr/lib/baresip/modules
module stdio.so
module g711.so
module g722.so
module aufile.so
module sndfile.so
snd_path {recordings}
module_app account.so
module_app menu.so
"""


def baresip_setup(
    workdir: Path, source: Path, codec: str = "PCMU/8000/1", extra: str = "", params: str = "", user: str = "caller"
) -> Path:
    """A baresip config dir that plays ``source`` and records what it hears in ``workdir/rec``; it calls as
    ``sip:<user>@127.0.0.1`` (a number there is the caller ID the appliance sees)."""
    recordings = workdir / "rec"
    recordings.mkdir(parents=True, exist_ok=True)
    (workdir / "config").write_text(BARESIP_CONFIG.format(source=source, recordings=recordings) + extra)
    (workdir / "accounts").write_text(f"<sip:{user}@127.0.0.1>;regint=0;audio_codecs={codec}{params}\n")
    return workdir


def baresip(
    workdir: Path,
    target: str,
    source: Path,
    codec: str,
    seconds: int,
    extra: str = "",
    params: str = "",
    user: str = "caller",
) -> tuple[Path | None, str]:
    """Call ``target`` playing ``source`` (baresip hangs up when it ends); returns what it heard and its log."""
    baresip_setup(workdir, source, codec, extra, params, user)
    result = subprocess.run(
        ["baresip", "-f", str(workdir), "-e", f"/dial {target}", "-t", str(seconds)],
        capture_output=True,
        text=True,
        timeout=seconds + 15,
        cwd=workdir,
    )
    heard = sorted((workdir / "rec").glob("*-dec.wav"))
    return (heard[-1] if heard else None), result.stdout + result.stderr


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port on 127.0.0.1")


def sip_request(port: int, method: str, user_agent: str, wait_s: float = 3.0) -> list[str]:
    """One request outside a call, without SDP, from 127.0.0.1 over UDP to ``port``; the responses until a
    final one ([]: no answer within ``wait_s``)."""
    me = free_port()
    request = (
        f"{method} sip:100@127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK-raw-{me};rport\r\nMax-Forwards: 70\r\n"
        f"From: <sip:100@127.0.0.1>;tag=raw{me}\r\nTo: <sip:100@127.0.0.1:{port}>\r\n"
        f"Call-ID: raw-{me}@127.0.0.1\r\nCSeq: 1 {method}\r\nContact: <sip:100@127.0.0.1:{me}>\r\n"
        f"User-Agent: {user_agent}\r\nContent-Length: 0\r\n\r\n"
    )
    answers: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", me))
        sock.settimeout(wait_s)
        sock.sendto(request.encode(), ("127.0.0.1", port))
        try:
            while not answers or answers[-1].startswith("SIP/2.0 1"):
                answers.append(sock.recv(4096).decode(errors="replace"))
        except TimeoutError:
            pass
    return answers


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive ports free on 127.0.0.1 (UDP and TCP)."""
    if count == 1:
        return free_port()
    for _ in range(100):
        base = random.randrange(20000, 60000)
        try:
            for port in range(base, base + count):
                with socket.socket() as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                    tcp.bind(("127.0.0.1", port))
                    udp.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free port range on 127.0.0.1")


@dataclass
class Delivery:
    """One request the sink received."""

    at: float
    path: str
    key: str
    headers: dict[str, str]
    body: bytes


class HttpSink:
    """A local HTTP peer for webhooks and Slack that can be told to fail, hang, answer 429 with
    Retry-After, or refuse; it counts effects by ``Idempotency-Key`` (a repeated key has no second effect).

    ``script`` is consumed one entry per request: a status code, or ``("status", retry_after)``;
    once empty, ``default`` answers. ``delay_s`` (a callable or a number) holds each answer.
    """

    def __init__(self, default: int = 200, delay_s: float | Callable[[], float] = 0.0) -> None:
        self.default = default
        self.delay_s = delay_s
        self.script: list[int | tuple[int, str]] = []
        self.deliveries: list[Delivery] = []
        self.effects: dict[str, int] = {}
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                key = self.headers.get("Idempotency-Key", "")
                delay = sink.delay_s() if callable(sink.delay_s) else sink.delay_s
                time.sleep(delay)
                with sink._lock:
                    answer = sink.script.pop(0) if sink.script else sink.default
                    status, retry = answer if isinstance(answer, tuple) else (answer, "")
                    sink.deliveries.append(Delivery(time.time(), self.path, key, dict(self.headers), body))
                    if 200 <= status < 300:
                        sink.effects[key] = 1  # the peer applies a key once, however often it is sent
                payload = b"ok" if status < 400 else b"refused"
                try:
                    self.send_response(status)
                    if retry:
                        self.send_header("Retry-After", retry)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender was killed while we held the answer: the effect stands

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the http.server API
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


LINPHONE_RC = """\
[sip]
sip_port=-1
sip_tcp_port=0
sip_tls_port=0
ipv6_migration_done=1
use_ipv6={use_ipv6}
contact=sip:tester@127.0.0.1
guess_hostname=0
register_only_when_network_is_up=0
[rtp]
audio_rtp_port=20000-59999
prefer_ipv6={prefer_ipv6}
[net]
firewall_policy=none
[sound]
echocancellation=0
[video]
enabled=0
capture=0
display=0
automatically_initiate=0
automatically_accept=0
"""
# Linphone re-enables every codec it knows unless it is listed as disabled: only PCMU stays on.
LINPHONE_CODECS = [("PCMU", 8000, 1, 1), ("opus", 48000, 2, 0), ("speex", 16000, 1, 0), ("speex", 8000, 1, 0)]
LINPHONE_CODECS += [("PCMA", 8000, 1, 0), ("G729", 8000, 1, 0), ("speex", 32000, 1, 0)]


@dataclass
class LinphoneCall:
    """What a Linphone call gave: the recording of what it heard (None if the media never ran) and its output."""

    heard: Path | None
    output: str


def linphone_call(workdir: Path, target: str, source: Path, seconds: float, ipv6: bool = False) -> LinphoneCall:
    """Call ``target`` with Debian's ``linphonec`` (Linphone 5.1): play ``source`` as its microphone (it loops,
    so pad it), record what it hears, hang up after ``seconds`` (or when the callee does).

    ``ipv6``: Linphone as it comes on a dual-stack host (IPv6 on, media over IPv6 preferred); otherwise IPv6
    on but IPv4 media preferred (``[rtp] prefer_ipv6=0``), the setting for an IPv4-only PBX.
    """
    (workdir / ".local/share/linphone").mkdir(parents=True, exist_ok=True)  # without it the core never starts
    rc = workdir / "rc"
    text = LINPHONE_RC.format(use_ipv6=1, prefer_ipv6=int(ipv6))
    for n, (mime, rate, channels, enabled) in enumerate(LINPHONE_CODECS):
        text += f"[audio_codec_{n}]\nmime={mime}\nrate={rate}\nchannels={channels}\nenabled={enabled}\n"
    rc.write_text(text)
    recording = workdir / "heard.wav"
    cmd = ["linphonec", "-c", str(rc), "-d", "4", "-l", str(workdir / "linphone.log")]
    env = {**os.environ, "HOME": str(workdir)}
    with subprocess.Popen(
        cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    ) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        stdout = proc.stdout

        def read() -> None:
            for line in stdout:
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, daemon=True).start()
        output: list[str] = []

        def send(command: str) -> None:
            assert proc.stdin is not None
            proc.stdin.write(command + "\n")
            proc.stdin.flush()

        def wait_for(words: tuple[str, ...], timeout: float) -> str:
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                try:
                    line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if line is None:
                    return "exited"
                output.append(line)
                found = next((w for w in words if w in line), None)
                if found is not None and not line.rstrip().endswith("sip port = 0"):
                    return found
            return "timeout"

        media = ""
        try:
            for _ in range(50):  # the core is up once its SIP port is bound
                send("ports")
                if wait_for(("sip port = ",), 0.2) == "sip port = ":
                    break
            for command in ("soundcard use files", f"play {source}", f"record {recording}", f"call {target}"):
                send(command)
            media = wait_for(("Media streams established", " ended ", "error", "declined"), 15)
            if media == "Media streams established" and wait_for((" ended ",), seconds) != " ended ":
                send("terminate")
                wait_for((" ended ", "No active call"), 5)
            send("quit")
            wait_for(("Terminating",), 5)
            proc.wait(timeout=10)
        finally:
            if proc.poll() is None:
                proc.kill()
    ran = media == "Media streams established" and recording.is_file()
    return LinphoneCall(recording if ran else None, "\n".join(output))


_CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


def _loopback_up() -> None:
    """``ip link set lo up`` in the calling thread's network namespace, without needing iproute2."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        flags = struct.unpack("16sH14x", fcntl.ioctl(sock, _SIOCGIFFLAGS, struct.pack("16sH14x", b"lo", 0)))[1]
        fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | _IFF_UP))


@contextlib.contextmanager
def private_network() -> Iterator[None]:
    """Run the calling thread, the threads and processes it starts, in a new network namespace with only
    loopback: a fuzzed Contact, Via or SDP address can point anywhere, and nothing can leave the box.

    Needs root (CAP_SYS_ADMIN), like every machine of this project; restores the thread's namespace after.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    original = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        if libc.unshare(_CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWNET) failed: private test networks need root")
        try:
            _loopback_up()
            yield
        finally:
            if libc.setns(original, _CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back to the original network namespace failed")
    finally:
        os.close(original)


def loud_spans(audio: np.ndarray, min_gap_s: float = 0.3) -> list[tuple[float, float]]:
    """Spans (s) where 20 ms frames carry sound, merging gaps shorter than ``min_gap_s``."""
    frames = audio[: len(audio) // 320 * 320].reshape(-1, 320).astype(np.float64)
    active = np.sqrt((frames**2).mean(axis=1)) > 100
    spans: list[list[float]] = []
    for i in np.flatnonzero(active):
        t = i * 0.02
        if spans and t - spans[-1][1] <= min_gap_s:
            spans[-1][1] = t + 0.02
        else:
            spans.append([t, t + 0.02])
    return [(a, b) for a, b in spans]


class EchoLine(RecordingLine):
    """A recording played as the caller on a line whose far end also sends back what the appliance says
    (a two-wire hybrid without echo cancelling): ``delay_s`` late, spread over 1.3 ms, at ``level``."""

    def __init__(self, caller: np.ndarray, delay_s: float = 0.06, level: float = 0.3) -> None:
        super().__init__(caller)
        delay = int(delay_s * 16000)
        self._taps = ((delay, level), (delay + 8, level / 2), (delay + 20, -level / 4))
        self._sent = np.zeros(0, np.int16)
        self._at = 0

    async def read(self, session: CallSession) -> bytes | None:
        pcm = await super().read(session)
        if pcm is None:
            return None
        frame = np.frombuffer(pcm, np.int16).astype(np.float64)
        for delay, gain in self._taps:
            start = self._at - delay
            past = self._sent[max(0, start) : max(0, start + len(frame))].astype(np.float64)
            frame[len(frame) - len(past) :] += gain * past
        self._at += len(frame)
        return np.clip(frame, -32768, 32767).astype(np.int16).tobytes()

    async def write(self, pcm: bytes) -> None:
        await super().write(pcm)
        self._sent = np.concatenate([self._sent, np.frombuffer(pcm, np.int16)])
