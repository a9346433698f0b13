"""An attack kit for the SIP perimeter tests: a hand-written torture corpus in the spirit of RFC 4475,
a seeded mutation fuzzer, raw UDP/TCP senders bound to a chosen source address, a private network
namespace so that nothing a fuzzed message points at can leave the box, and the legitimate caller
whose greeting proves the daemon still works.

Messages are templates: ``$DST`` is the daemon's host:port, ``$SRC`` the sender's, ``$T`` the Via
transport (``UDP``/``TCP``), ``$ID`` a token unique to each send (Call-ID, tags, branch), and ``$LEN``
the length of the body (whatever follows the first blank line) once the rest is filled in.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import select
import shutil
import socket
import subprocess
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from appliance.audio.files import write_wav
from appliance.models.registry import ModelRegistry
from appliance.testing import baresip_setup

LOOPBACK = "127.0.0.1"  # the allowed caller (the daemon runs with [sip] allow = 127.0.0.1/32)
OUTSIDER = "127.0.0.66"  # "another host": Linux lets a socket bind any 127.0.0.0/8 address
RATE = 8000  # what baresip records (PCMU)

# ---- the torture corpus ----------------------------------------------------------------------------

SDP = (
    "v=0\r\no=caller 2890 2890 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 49170 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
    "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\n"
)
VIA = "Via: SIP/2.0/$T $SRC;branch=z9hG4bK-$ID;rport\r\n"


def _dialog(method: str, cseq: str = "1", to_tag: bool = False) -> str:
    """The usual header block of a request from the test caller (no Content-Length)."""
    to = "To: <sip:reception@$DST>" + (";tag=gone-$ID" if to_tag else "")
    return (
        f'{VIA}Max-Forwards: 70\r\nFrom: "Test Caller" <sip:caller@127.0.0.1>;tag=f-$ID\r\n{to}\r\n'
        f"Call-ID: $ID@127.0.0.1\r\nCSeq: {cseq} {method}\r\nContact: <sip:caller@$SRC>\r\n"
    )


def _request(method: str, headers: str = "", body: str = "", kind: str = "application/sdp", **dialog: str) -> str:
    start = f"{method} sip:reception@$DST SIP/2.0\r\n"
    typed = f"Content-Type: {kind}\r\n" if body else ""
    return f"{start}{_dialog(method, **dialog)}{headers}{typed}Content-Length: $LEN\r\n\r\n{body}"


def _invite(headers: str = "", body: str = SDP) -> str:
    return _request("INVITE", headers, body)


_MULTIPART = (
    "--b0undary\r\nContent-Type: application/sdp\r\n\r\n"
    + SDP
    + "\r\n--b0undary\r\nContent-Type: text/plain\r\nContent-Disposition: render;handling=optional\r\n\r\n"
    "a note nobody reads\r\n--b0undary--\r\n"
)
_COMPACT = (
    "INVITE sip:reception@$DST SIP/2.0\r\nv: SIP/2.0/$T $SRC;branch=z9hG4bK-$ID\r\nMax-Forwards: 70\r\n"
    "f: <sip:caller@127.0.0.1>;tag=f-$ID\r\nt: sip:reception@$DST\r\ni: $ID@127.0.0.1\r\nCSeq: 1 INVITE\r\n"
    "m: <sip:caller@$SRC>\r\nk: timer\r\ns: compact\r\nc: application/sdp\r\nl: $LEN\r\n\r\n" + SDP
)
_FOLDED = (
    "INVITE sip:reception@$DST SIP/2.0\r\n"
    "Via  :   SIP/2.0/$T   $SRC\r\n   ;branch=z9hG4bK-$ID\r\n"
    "Max-Forwards:\t70\r\n"
    'From:   "Folded\r\n  Name"   <sip:caller@127.0.0.1>  ;  tag = f-$ID\r\n'
    "To :\r\n\t<sip:reception@$DST>\r\n"
    "Call-ID  :  $ID@127.0.0.1\r\n"
    "CSeq:\r\n  1\r\n  INVITE\r\n"
    "Subject: a subject that goes on\r\n   and on over\r\n\tthree lines\r\n"
    "Contact: <sip:caller@$SRC>\r\nContent-Type: application/sdp\r\nContent-Length:   $LEN  \r\n\r\n" + SDP
)
_ODD_SDP = (
    "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns= \r\nc=IN IP4 127.0.0.1\r\nb=AS:64\r\nt=0 0\r\n"
    "a=x-unknown-session-attribute:1\r\nm=video 0 RTP/AVP 31\r\nm=audio 49172 RTP/AVP 96 97 0\r\n"
    "a=rtpmap:96 NOSUCHCODEC/8000\r\na=rtpmap:97 telephone-event/8000\r\na=ptime:30\r\na=maxptime:150\r\n"
    "m=audio 49174 RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n"
)
_VIDEO_FIRST_SDP = (
    "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=video 0 RTP/AVP 31\r\nm=audio 49172 RTP/AVP 0\r\n"
)
_MANY_STREAMS_SDP = "v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" + "".join(
    f"m=audio {49200 + 2 * n} RTP/AVP 0\r\n" for n in range(16)
)
_BAD_SDP = "v=0\r\nm=audio 99999999 RTP/AVP 256 -1 abc\r\nc=IN IP4 127.0.0.1\r\na=rtpmap:256\r\nm=\r\n"
_LONG = (
    "INVITE sip:reception@$DST SIP/2.0\r\n" + VIA + "Max-Forwards: 70\r\n"
    f'From: "{"L" * 300}" <sip:caller@127.0.0.1>;tag=f-$ID{"t" * 200}\r\nTo: <sip:reception@$DST>\r\n'
    f"Call-ID: $ID{'c' * 400}@127.0.0.1\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@$SRC>\r\n"
    f"Subject: {'s' * 1500}\r\nX-Long-Param: v;{';'.join(f'p{n}={n}' for n in range(60))}\r\n"
    "Content-Type: application/sdp\r\nContent-Length: $LEN\r\n\r\n" + SDP
)
_MANY_VIA = (
    "OPTIONS sip:reception@$DST SIP/2.0\r\n"
    + VIA
    + "".join(f"Via: SIP/2.0/UDP 127.0.0.1:{5100 + n};branch=z9hG4bK-hop{n}\r\n" for n in range(40))
    + _dialog("OPTIONS").split("\r\n", 1)[1]
    + "Content-Length: 0\r\n\r\n"
)
_GOOD = _invite()


def _without(message: str, header: str) -> str:
    return re.sub(rf"^{header}:[^\r]*\r\n", "", message, count=1, flags=re.M)


def _replace(message: str, old: str, new: str) -> str:
    assert old in message, old
    return message.replace(old, new, 1)


def _garbage(size: int, seed: int = 4475) -> bytes:
    return random.Random(seed).randbytes(size)


# (name, template); "valid-" messages are legal if odd, "bad-" ones are not.
TORTURE: list[tuple[str, bytes]] = [
    (name, text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text)
    for name, text in [
        ("valid-folded-whitespace", _FOLDED),
        ("valid-escaped-ruri", _replace(_GOOD, "sip:reception@$DST SIP", "sip:%72eception%20desk@$DST;user=ip SIP")),
        ("valid-escaped-nul", _replace(_GOOD, "To: <sip:reception@$DST>", "To: <sip:null-%00-null@$DST>")),
        ("valid-long-values", _LONG),
        ("valid-unknown-method", _request("FROBNICATE", body="frob\r\n", kind="text/plain")),
        ("valid-unknown-scheme", _replace(_request("OPTIONS"), "sip:reception@$DST SIP", "nosuch:reception SIP")),
        (
            "valid-multipart",
            _invite("MIME-Version: 1.0\r\n", _MULTIPART).replace(
                "application/sdp\r\nContent-Length", 'multipart/mixed;boundary="b0undary"\r\nContent-Length', 1
            ),
        ),
        ("valid-compact-forms", _COMPACT),
        ("valid-padded-length", _GOOD.replace("Content-Length: $LEN", "Content-Length: 000000000000000000000000$LEN")),
        ("valid-response-no-reason", "SIP/2.0 200 \r\n" + _dialog("OPTIONS") + "Content-Length: 0\r\n\r\n"),
        ("valid-response-no-space", "SIP/2.0 180\r\n" + _dialog("INVITE") + "Content-Length: 0\r\n\r\n"),
        (
            "valid-mixed-case",
            _GOOD.replace("Via: SIP/2.0/$T", "vIA: sip/2.0/$T")
            .replace("Call-ID:", "cAlL-iD:")
            .replace("CSeq:", "cseq:"),
        ),
        ("valid-max-forwards-0", _request("OPTIONS").replace("Max-Forwards: 70", "Max-Forwards: 0")),
        ("valid-require-unknown", _request("OPTIONS", "Require: nothing-we-know, x-tortured\r\nAccept: */*\r\n")),
        ("valid-invite-no-sdp", _request("INVITE")),
        ("valid-odd-sdp", _invite("Supported: timer, 100rel\r\nSession-Expires: 90\r\n", _ODD_SDP)),
        ("valid-video-first", _invite(body=_VIDEO_FIRST_SDP)),
        ("valid-many-streams", _invite(body=_MANY_STREAMS_SDP)),
        ("valid-odd-params", _GOOD.replace(";tag=f-$ID", ';tag=f-$ID;x="a;b\\"c";empty="";flag;UPPER=Case')),
        ("valid-utf8-names", _GOOD.replace('"Test Caller"', '"Zo\u00eb \u00dcnicode \u0645\u0631\u062d\u0628\u0627"')),
        ("valid-lf-only", _request("OPTIONS").replace("\r\n", "\n")),
        ("valid-many-via", _MANY_VIA),
        ("valid-message", _request("MESSAGE", body="hello there\r\n", kind="text/plain")),
        (
            "valid-subscribe",
            _request("SUBSCRIBE", "Event: presence\r\nExpires: 3600\r\nAccept: application/pidf+xml\r\n"),
        ),
        ("valid-notify-unsolicited", _request("NOTIFY", "Event: check-sync\r\nSubscription-State: terminated\r\n")),
        (
            "valid-register",
            _replace(_request("REGISTER", "Expires: 3600\r\n"), "sip:reception@$DST SIP", "sip:127.0.0.1 SIP"),
        ),
        ("valid-stray-bye", _request("BYE", to_tag=True, cseq="2")),
        ("valid-stray-cancel", _request("CANCEL")),
        ("valid-stray-ack", _request("ACK", to_tag=True)),
        ("valid-stray-prack", _request("PRACK", "RAck: 1 1 INVITE\r\n", to_tag=True, cseq="2")),
        ("valid-keepalive", "\r\n\r\n"),
        ("bad-length-too-large", _GOOD.replace("Content-Length: $LEN", "Content-Length: 9000")),
        ("bad-length-negative", _GOOD.replace("Content-Length: $LEN", "Content-Length: -50")),
        ("bad-length-overflow", _GOOD.replace("Content-Length: $LEN", "Content-Length: 184467440737095516160")),
        ("bad-length-text", _GOOD.replace("Content-Length: $LEN", "Content-Length: twelve")),
        ("bad-no-call-id", _without(_GOOD, "Call-ID")),
        ("bad-no-from", _without(_GOOD, "From")),
        ("bad-no-to", _without(_GOOD, "To")),
        ("bad-no-cseq", _without(_GOOD, "CSeq")),
        ("bad-no-via", _without(_GOOD, "Via")),
        ("bad-unterminated-quote", _GOOD.replace('"Test Caller"', '"Test Caller')),
        ("bad-ruri-brackets", _replace(_GOOD, "INVITE sip:reception@$DST SIP", "INVITE <sip:reception@$DST> SIP")),
        ("bad-ruri-space", _replace(_GOOD, "INVITE sip:reception@$DST SIP", "INVITE sip:recep tion@$DST SIP")),
        ("bad-sip-version", _GOOD.replace("SIP/2.0\r\n", "SIP/7.0\r\n", 1).replace("SIP/2.0/$T", "SIP/7.0/$T")),
        ("bad-cseq-overflow", _GOOD.replace("CSeq: 1 INVITE", "CSeq: 4294967296 INVITE")),
        ("bad-cseq-method", _GOOD.replace("CSeq: 1 INVITE", "CSeq: 1 OPTIONS")),
        ("bad-cseq-negative", _GOOD.replace("CSeq: 1 INVITE", "CSeq: -1 INVITE")),
        (
            "bad-duplicate-headers",
            _GOOD.replace(
                "CSeq: 1 INVITE\r\n", "CSeq: 1 INVITE\r\nCall-ID: other-$ID\r\nCSeq: 7 BYE\r\nContent-Length: 3\r\n"
            ),
        ),
        ("bad-sdp", _invite(body=_BAD_SDP)),
        ("bad-control-chars", _GOOD.replace("Contact:", "X-Ctl: \x01\x02\x1b[31m\x7f\x08\r\nX\x00Nul: 1\r\nContact:")),
        ("bad-binary-body", _request("INFO", body="\x00\udcff\x00\udcfe" * 64, kind="application/octet-stream")),
        ("bad-invalid-utf8", _GOOD.replace("Contact:", "Subject: \udcff\udcfe\udcc0\udc80 not utf-8\r\nContact:")),
        ("bad-only-start-line", "OPTIONS sip:reception@$DST SIP/2.0\r\n\r\n"),
        ("bad-truncated", _GOOD[: _GOOD.index("tag=f-$ID") + 3]),
        ("bad-oversized", _invite("X-Padding: " + "p" * 62_000 + "\r\n")),
        ("bad-garbage", _garbage(1500)),
        ("bad-empty", b""),
    ]
]


# The minimal messages of crashes the corpus and the fuzzer found (regression tests in test_sip_attacks.py).
VIDEO_FIRST = dict(TORTURE)["valid-video-first"]
MANY_STREAMS = dict(TORTURE)["valid-many-streams"]


def fill(template: bytes, dst: str, src: str, transport: str, ident: str) -> bytes:
    """A template with its markers filled in; ``$LEN`` becomes the length of the body."""
    out = (
        template.replace(b"$DST", dst.encode())
        .replace(b"$SRC", src.encode())
        .replace(b"$T", transport.encode())
        .replace(b"$ID", ident.encode())
    )
    if b"$LEN" in out:
        head, sep, body = out.partition(b"\r\n\r\n") if b"\r\n\r\n" in out else out.partition(b"\n\n")
        out = head.replace(b"$LEN", str(len(body)).encode()) + sep + body
    return out


# ---- sending ---------------------------------------------------------------------------------------


def _header(message: bytes, *names: str) -> bytes | None:
    pattern = rb"^(?:" + b"|".join(re.escape(n.encode()) for n in names) + rb")[ \t]*:[ \t]*([^\r\n]*)"
    found = re.search(pattern, message, re.I | re.M)
    return found.group(1) if found else None


def status(response: bytes) -> int:
    """The status code of a response (0 for anything else)."""
    found = re.match(rb"SIP/2\.0 (\d{3})", response)
    return int(found.group(1)) if found else 0


def split_responses(data: bytes) -> list[bytes]:
    """Responses in a TCP byte stream (each starts with ``SIP/2.0 ``)."""
    return [b"SIP/2.0 " + part for part in data.split(b"SIP/2.0 ")[1:] if part[:3].isdigit()]


def goodbye(response: bytes, dst: str, src: str, transport: str) -> list[bytes]:
    """ACK and BYE for a 2xx answer to an INVITE, so that a fuzzed call does not hold a call slot."""
    cseq = _header(response, "CSeq", "") or b"1 INVITE"
    number = int(re.match(rb"\d+", cseq).group(0)) if re.match(rb"\d+", cseq) else 1  # type: ignore[union-attr]
    common = b"".join(
        name + b": " + value + b"\r\n"
        for name, value in (
            (b"From", _header(response, "From", "f")),
            (b"To", _header(response, "To", "t")),
            (b"Call-ID", _header(response, "Call-ID", "i")),
        )
        if value is not None
    )
    out = []
    for method, n in ((b"ACK", number), (b"BYE", number + 1)):
        branch = f"z9hG4bK-{method.decode().lower()}-{random.getrandbits(48):x}".encode()
        out.append(
            method + b" sip:reception@" + dst.encode() + b" SIP/2.0\r\n"
            b"Via: SIP/2.0/" + transport.encode() + b" " + src.encode() + b";branch=" + branch + b";rport\r\n"
            b"Max-Forwards: 70\r\n" + common + b"CSeq: " + str(n).encode() + b" " + method + b"\r\n"
            b"Content-Length: 0\r\n\r\n"
        )
    return out


def answered_invite(response: bytes) -> bool:
    """Whether ``response`` accepts an INVITE (a call now exists that we must end)."""
    cseq = _header(response, "CSeq") or b""
    return 200 <= status(response) < 300 and cseq.upper().endswith(b"INVITE")


def _udp_answers(sock: socket.socket, wait_s: float) -> list[bytes]:
    got: list[bytes] = []
    deadline = time.monotonic() + wait_s
    while (left := deadline - time.monotonic()) > 0 and select.select([sock], [], [], left)[0]:
        got.append(sock.recv(65535))
        if status(got[-1]) >= 200:
            break
    return got


def _tcp_answers(sock: socket.socket, wait_s: float) -> list[bytes]:
    stream = b""
    deadline = time.monotonic() + wait_s
    with contextlib.suppress(OSError):  # a reset is an answer of sorts: nothing more comes
        while (left := deadline - time.monotonic()) > 0 and select.select([sock], [], [], left)[0]:
            chunk = sock.recv(65535)
            if not chunk:
                break
            stream += chunk
            if any(status(r) >= 200 for r in split_responses(stream)):
                break
    return split_responses(stream)


Transform = Callable[[bytes], bytes]


def _same(message: bytes) -> bytes:
    return message


@dataclass
class Sender:
    """Raw SIP from one source address to the daemon on 127.0.0.1; counts what it sent and got back."""

    dst_port: int
    source: str = LOOPBACK
    sent: int = 0
    answers: int = 0  # responses received
    calls_ended: int = 0  # INVITEs that were answered 2xx, then ended with ACK + BYE

    @property
    def dst(self) -> str:
        return f"{LOOPBACK}:{self.dst_port}"

    def udp(self, template: bytes, ident: str, wait_s: float = 0.3, transform: Transform = _same) -> list[bytes]:
        """Send one message (``transform`` of the filled template) over UDP from a fresh socket;
        the responses until a final one or ``wait_s``."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((self.source, 0))
            src = f"{self.source}:{sock.getsockname()[1]}"
            sock.sendto(transform(fill(template, self.dst, src, "UDP", ident)), (LOOPBACK, self.dst_port))
            self.sent += 1
            got = _udp_answers(sock, wait_s)
            send = lambda data: sock.sendto(data, (LOOPBACK, self.dst_port))  # noqa: E731
            self._end_calls(got, src, "UDP", send, lambda: _udp_answers(sock, 1.0))
            return got

    def tcp(self, template: bytes, ident: str, wait_s: float = 0.4, transform: Transform = _same) -> list[bytes]:
        """Send one message (``transform`` of the filled template) over a fresh TCP connection;
        the responses until a final one or ``wait_s``."""
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # Close with a reset: hundreds of connections must not pile up in TIME_WAIT on either side.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            sock.bind((self.source, 0))
            sock.settimeout(2)
            src = f"{self.source}:{sock.getsockname()[1]}"
            sock.connect((LOOPBACK, self.dst_port))
            with contextlib.suppress(OSError):  # the daemon may close a connection it will not read
                sock.sendall(transform(fill(template, self.dst, src, "TCP", ident)))
            self.sent += 1
            got = _tcp_answers(sock, wait_s)
            # Wait for the BYE's answer: a reset discards what the daemon has not read yet.
            self._end_calls(got, src, "TCP", sock.sendall, lambda: _tcp_answers(sock, 1.0))
            return got

    def burst(self, templates: list[bytes], transport: str, wait_s: float = 0.5) -> list[int]:
        """Send each message on a socket (or connection) of its own, all at once; then, after ``wait_s``,
        the number of bytes that came back on each."""
        kind = socket.SOCK_DGRAM if transport == "UDP" else socket.SOCK_STREAM
        socks = []
        try:
            for n, template in enumerate(templates):
                sock = socket.socket(socket.AF_INET, kind)
                socks.append(sock)
                sock.bind((self.source, 0))
                src = f"{self.source}:{sock.getsockname()[1]}"
                message = fill(template, self.dst, src, transport, f"burst-{transport}-{n}-{random.getrandbits(32):x}")
                if kind == socket.SOCK_DGRAM:
                    sock.sendto(message, (LOOPBACK, self.dst_port))
                else:
                    sock.settimeout(2)
                    sock.connect((LOOPBACK, self.dst_port))
                    with contextlib.suppress(OSError):
                        sock.sendall(message)
                self.sent += 1
            time.sleep(wait_s)
            received = []
            for sock in socks:
                sock.setblocking(False)
                got = b""
                with contextlib.suppress(OSError):  # nothing there, or a closed connection: no answer
                    while chunk := sock.recv(65535):
                        got += chunk
                received.append(len(got))
            self.answers += sum(1 for n in received if n)
            return received
        finally:
            for sock in socks:
                sock.close()

    def stream(
        self,
        make: Callable[[str, int], bytes],
        count: int,
        per_second: float,
        check: Callable[[int], None] = lambda n: None,
        max_s: float = 60.0,
    ) -> None:
        """Send ``count`` datagrams ``make(src, n)`` from one socket at ``per_second`` (at most ``max_s``),
        ending any call that is answered; ``check(n)`` runs after every 100th."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((self.source, 0))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            src = f"{self.source}:{sock.getsockname()[1]}"
            target = (LOOPBACK, self.dst_port)
            start = time.monotonic()
            for n in range(count):
                sock.sendto(make(src, n), target)
                self.sent += 1
                self._drain(sock, src, 0.0)
                if n % 100 == 99:
                    check(n)
                ahead = start + (n + 1) / per_second - time.monotonic()
                if ahead > 0.001:
                    time.sleep(ahead)
                if time.monotonic() - start > max_s:
                    break
            self._drain(sock, src, 1.0)

    def _drain(self, sock: socket.socket, src: str, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while select.select([sock], [], [], max(0.0, deadline - time.monotonic()))[0]:
            response = sock.recv(65535)
            self.answers += 1
            if answered_invite(response):
                for request in goodbye(response, self.dst, src, "UDP"):
                    sock.sendto(request, (LOOPBACK, self.dst_port))
                self.calls_ended += 1

    def _end_calls(
        self,
        got: list[bytes],
        src: str,
        transport: str,
        send: Callable[[bytes], object],
        bye_answer: Callable[[], object],
    ) -> None:
        self.answers += len(got)
        for response in got:
            if answered_invite(response):
                with contextlib.suppress(OSError):
                    for request in goodbye(response, self.dst, src, transport):
                        send(request)
                    bye_answer()
                self.calls_ended += 1


def udp_drops(port: int) -> int:
    """Datagrams the kernel dropped for the UDP socket(s) bound to ``port`` (full receive buffer)."""
    drops = 0
    for line in Path("/proc/thread-self/net/udp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port:
            drops += int(fields[-1])
    return drops


# ---- the mutation fuzzer ---------------------------------------------------------------------------

_SEED_INVITE_PHONE = _invite(
    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY\r\nSupported: replaces, timer, 100rel\r\n"
    "Session-Expires: 1800\r\nUser-Agent: DeskPhone 4.2\r\nP-Asserted-Identity: <sip:+15555550100@127.0.0.1>\r\n",
    SDP.replace("a=sendrecv", "a=ptime:20\r\na=rtcp:49171\r\na=sendrecv"),
)
_SEED_INVITE_TRUNK = _invite(
    "Record-Route: <sip:127.0.0.1:5099;lr>\r\nDiversion: <sip:+15555550111@127.0.0.1>;reason=no-answer\r\n"
    "Privacy: none\r\nAccept: application/sdp\r\nUser-Agent: TrunkGateway/1.0\r\n",
    SDP.replace("m=audio 49170 RTP/AVP 0 8 101", "m=audio 49176 RTP/AVP 9 0 101").replace(
        "a=rtpmap:8 PCMA/8000", "a=rtpmap:9 G722/8000"
    ),
)
SEEDS: list[tuple[str, bytes]] = [
    ("invite-softphone", _GOOD.encode()),
    ("invite-desk-phone", _SEED_INVITE_PHONE.encode()),
    ("invite-trunk", _SEED_INVITE_TRUNK.encode()),
    ("invite-compact", _COMPACT.encode()),
    ("options", _request("OPTIONS", "Accept: application/sdp\r\n").encode()),
]
_NASTY = [
    b"\x00",
    b"\r",
    b"\n",
    b"\r\n",
    b"\t",
    b" ",
    b":",
    b";",
    b",",
    b"<",
    b">",
    b'"',
    b"%",
    b"\x7f",
    b"\x1b",
    b"\xff",
]
_HUGE = [b"4294967296", b"18446744073709551616", b"-1", b"0", b"9" * 40, b"-2147483649", b"1e9", b"0x10"]


def _lines(message: bytes) -> tuple[list[bytes], bytes]:
    head, _, body = message.partition(b"\r\n\r\n")
    return head.split(b"\r\n"), body


def _join(lines: list[bytes], body: bytes) -> bytes:
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def mutate(message: bytes, rng: random.Random) -> bytes:
    """One to three random mutations of ``message`` (seeded by ``rng``)."""
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["flip", "insert", "delete", "dup", "drop", "truncate", "swap", "number", "repeat", "length"])
        data = bytearray(message)
        if kind == "flip" and data:
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            message = bytes(data)
        elif kind == "insert":
            at = rng.randrange(len(message) + 1)
            junk = b"".join(
                rng.choice(_NASTY) if rng.random() < 0.6 else rng.randbytes(1) for _ in range(rng.randint(1, 16))
            )
            message = message[:at] + junk + message[at:]
        elif kind == "delete" and message:
            at = rng.randrange(len(message))
            message = message[:at] + message[at + rng.randint(1, 40) :]
        elif kind in ("dup", "drop", "swap"):
            lines, body = _lines(message)
            if len(lines) < 3:
                continue
            n = rng.randrange(1, len(lines))
            if kind == "dup":
                lines[n:n] = [lines[n]] * rng.randint(1, 30)
            elif kind == "drop":
                del lines[n]
            else:  # swap two header values (or whole lines when one has no colon)
                m = rng.randrange(1, len(lines))
                a, b = lines[n].partition(b":"), lines[m].partition(b":")
                if a[1] and b[1]:
                    lines[n], lines[m] = a[0] + b":" + b[2], b[0] + b":" + a[2]
                else:
                    lines[n], lines[m] = lines[m], lines[n]
            message = _join(lines, body)
        elif kind == "truncate":
            message = message[: rng.randrange(len(message) + 1)]
        elif kind == "number":
            numbers = list(re.finditer(rb"\d+", message))
            if numbers:
                hit = rng.choice(numbers)
                message = message[: hit.start()] + rng.choice(_HUGE) + message[hit.end() :]
        elif kind == "repeat":
            tokens = list(re.finditer(rb"[A-Za-z0-9=;<>@.:-]{2,}", message))
            if tokens:
                hit = rng.choice(tokens)
                message = message[: hit.end()] + hit.group(0) * rng.randint(2, 200) + message[hit.end() :]
        elif kind == "length":  # keep the body reachable: a right Content-Length after the other mutations
            head, sep, body = message.partition(b"\r\n\r\n")
            message = (
                re.sub(rb"(?im)^(Content-Length|l)[ \t]*:[^\r\n]*", b"Content-Length: %d" % len(body), head)
                + sep
                + body
            )
    return message[:65000]


# ---- containment -----------------------------------------------------------------------------------

# ---- the daemon's log ------------------------------------------------------------------------------

_SECURITY = re.compile(r"^(\S+ \S+) WARNING appliance\.security: SECURITY event=(\S+) src=(\S+) detail=\"(.*)\"$")


@dataclass
class SecurityLine:
    at: str
    event: str
    src: str
    detail: str


class DaemonLog:
    """Drains the daemon's stderr in a thread (a full pipe would block the daemon) and keeps its lines."""

    def __init__(self, stream: object) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream: object) -> None:
        for line in stream:  # type: ignore[attr-defined]
            self.lines.append(line.rstrip("\n"))

    def security(self, event: str | None = None, src: str | None = None) -> list[SecurityLine]:
        """The security events logged so far, optionally of one event and source."""
        found = [SecurityLine(*m.groups()) for m in map(_SECURITY.match, list(self.lines)) if m]
        return [x for x in found if (event is None or x.event == event) and (src is None or x.src == src)]


# ---- the legitimate caller -------------------------------------------------------------------------


def pinned_voice(directory: Path, cache: Path) -> Path:
    """The default piper voice with its noise turned off, for ``[models] tts``: piper draws fresh noise for
    every synthesis (two greetings' waveforms correlate at about 0.2), so a caller's recording can be
    compared with a reference only when the voice says the same thing the same way every time."""
    shipped = ModelRegistry(cache).resolve("tts", "piper-joe-medium").path
    directory.mkdir(parents=True, exist_ok=True)
    voice = directory / "pinned.onnx"
    try:
        os.link(shipped, voice)
    except OSError:  # another file system
        shutil.copyfile(shipped, voice)
    config = json.loads(shipped.with_name(shipped.name + ".json").read_text())
    config["inference"] = {**config.get("inference", {}), "noise_scale": 0.0, "noise_w": 0.0}
    voice.with_name(voice.name + ".json").write_text(json.dumps(config))
    return voice


def start_call(workdir: Path, port: int, seconds: int) -> subprocess.Popen[str]:
    """A baresip call from 127.0.0.1 that stays silent for ``seconds`` and records what it hears."""
    silence = workdir / "silence.wav"
    write_wav(silence, np.zeros(seconds * RATE, np.int16), RATE)
    baresip_setup(workdir, silence)
    cmd = ["baresip", "-f", str(workdir), "-e", f"/dial sip:reception@{LOOPBACK}:{port}", "-t", str(seconds + 2)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=workdir)


@dataclass
class Heard:
    """What a caller heard: int16 samples at 8 kHz (empty if nothing), the recording and baresip's log."""

    audio: np.ndarray
    path: Path | None
    log: str


def finish_call(call: subprocess.Popen[str], workdir: Path, timeout: float = 40) -> Heard:
    """Wait for a :func:`start_call` call to end."""
    log, _ = call.communicate(timeout=timeout)
    recordings = sorted((workdir / "rec").glob("*-dec.wav"))
    if not recordings:
        return Heard(np.zeros(0, np.int16), None, log)
    with wave.open(str(recordings[-1]), "rb") as wav:
        assert wav.getframerate() == RATE and wav.getnchannels() == 1 and wav.getsampwidth() == 2
        audio = np.frombuffer(wav.readframes(wav.getnframes()), np.int16)
    return Heard(audio, recordings[-1], log)


def onset(audio: np.ndarray, threshold: float = 300.0) -> int:
    """The first sample of the first 20 ms frame louder than ``threshold`` (RMS), or -1."""
    frame = RATE // 50
    usable = len(audio) // frame * frame
    rms = np.sqrt(np.mean(audio[:usable].astype(np.float64).reshape(-1, frame) ** 2, axis=1))
    loud = np.flatnonzero(rms > threshold)
    return int(loud[0]) * frame if len(loud) else -1


def similarity(a: np.ndarray, b: np.ndarray, seconds: float = 3.0, max_lag_s: float = 0.3) -> float:
    """Maximum normalised cross-correlation of the first ``seconds`` of speech in ``a`` against ``b``,
    over lags of up to ``max_lag_s`` around the two onsets (1.0: the same waveform)."""
    oa, ob = onset(a), onset(b)
    n, lag = int(seconds * RATE), int(max_lag_s * RATE)
    if oa < 0 or ob < 0 or len(a) < oa + n:
        return 0.0
    x = a[oa : oa + n].astype(np.float64)
    start = max(0, ob - lag)
    y = b[start : ob + n + lag].astype(np.float64)
    if len(y) < n:
        return 0.0
    corr = np.correlate(y, x, "valid")
    energy = np.concatenate([[0.0], np.cumsum(y**2)])
    windows = energy[n:] - energy[:-n]
    norm = np.sqrt(np.sum(x**2) * np.maximum(windows, 1e-9))
    return float(np.max(corr / norm))
