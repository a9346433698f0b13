"""Test peers for tests and benchmarks: espeak-ng caller speech (through sox), baresip softphone calls,
and an HTTP sink for webhook deliveries."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from .audio.files import read_audio, write_wav


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


def baresip_setup(workdir: Path, source: Path, codec: str = "PCMU/8000/1", extra: str = "", params: str = "") -> Path:
    """A baresip config dir that plays ``source`` and records what it hears in ``workdir/rec``."""
    recordings = workdir / "rec"
    recordings.mkdir(parents=True, exist_ok=True)
    (workdir / "config").write_text(BARESIP_CONFIG.format(source=source, recordings=recordings) + extra)
    (workdir / "accounts").write_text(f"<sip:caller@127.0.0.1>;regint=0;audio_codecs={codec}{params}\n")
    return workdir


def baresip(
    workdir: Path, target: str, source: Path, codec: str, seconds: int, extra: str = "", params: str = ""
) -> tuple[Path | None, str]:
    """Call ``target`` playing ``source`` (baresip hangs up when it ends); returns what it heard and its log."""
    baresip_setup(workdir, source, codec, extra, params)
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
