"""The SIP endpoint (pjsua2): one owner thread for every pjsua2 object, calls handed to asyncio.

The lifecycle, which every change here must keep:

- **One thread, "sip", creates, drives and destroys every pjsua2 object.** pjsua2 aborts the process
  when it is called from a thread it does not know. Other threads post commands (:meth:`hangup`,
  :meth:`transfer`, :meth:`dial`); a failing command is logged and the thread goes on. If the thread
  itself dies, :attr:`SipEndpoint.failure` says why, ``/healthz`` reports it, the watchdog stops and
  the daemon exits non-zero, so systemd restarts it.
- **Audio ports live as long as the library.** One port per call slot is created at start and handed
  to a call while its audio flows (:attr:`_AudioPort.line`); the media clock thread keeps calling a
  port until the port is destroyed, and a Python port destroyed under it crashes the process. So
  ports are destroyed only at shutdown, after ``setNoDev()`` has stopped and joined the media clock.
- **A call's object dies before its slot can be reused.** pjsua2's ``Call`` keeps its slot number for
  life, and its destructor hangs up whichever call then holds that slot. A disconnected call leaves
  the live calls at once and is destroyed on this thread at the end of that event round, and in any
  case before the next SIP request reaches pjsua (the perimeter's module runs first) or a call is
  placed: pjsua can only give a slot to a new call on one of those paths.
- **A call that never becomes a conversation ends quickly**: answered but not ACKed within
  ``ack_timeout_s`` (pjsip's own transaction timeout, shortened), or no RTP from the caller for
  ``rtp_timeout_s``, it is hung up and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import queue
import re
import socket
import threading
import time
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pjsua2 as pj

from ..audio.frames import FRAME_MS, PIPELINE_RATE
from ..config import SipConfig
from ..errors import ConfigError
from ..security import REFUSAL_REASONS, SecurityEvents, SipPolicy, uri_host
from .guard import SipGuard, pjsip_library
from .line import SipLine

_LOGGER = logging.getLogger(__name__)
RELEASE_REASONS = ("no_ack", "no_rtp")  # calls the endpoint ended because they never became a conversation
# Whether this pjsua2 build speaks IPv6: pjsua defaults an account to "IPv6 disabled" exactly when pjlib was
# compiled without PJ_HAS_IPV6, and then refuses any other setting (assertion), answers 500 to a call over
# an IPv6 transport and 488 to an offer of IPv6 media. The pinned pjsua2-python 2.15.1 wheel is such a build.
IPV6 = pj.AccountConfig().mediaConfig.ipv6Use != pj.PJSUA_IPV6_DISABLED

COMPILED_MAX_CALLS = 4  # PJSUA_MAX_CALLS of the pjsua2-python wheel: a 5th call gets 486 from pjsua itself
_TRANSPORTS = {
    "udp": {4: pj.PJSIP_TRANSPORT_UDP, 6: pj.PJSIP_TRANSPORT_UDP6},
    "tcp": {4: pj.PJSIP_TRANSPORT_TCP, 6: pj.PJSIP_TRANSPORT_TCP6},
}
_SRTP = {"off": pj.PJMEDIA_SRTP_DISABLED, "optional": pj.PJMEDIA_SRTP_OPTIONAL, "mandatory": pj.PJMEDIA_SRTP_MANDATORY}


@dataclass(frozen=True)
class IncomingCall:
    """A call that was answered: its audio line, and who called (for logs, masked)."""

    call_id: int
    remote: str
    line: SipLine
    caller_id: str = ""  # the caller's number from the From URI's user part, when it is one


@dataclass(frozen=True)
class Dialed:
    """How an outbound call attempt went: answered (``status`` 200, with its line), or the final SIP status
    (486 busy, 603 declined, 408 no answer within the ring time...), 0 when it could not be placed."""

    status: int
    call: IncomingCall | None = None
    reason: str = ""


def _vector_bytes_slow(vector: pj.ByteVector, size: int) -> bytes:
    return bytes(vector)[:size]


def _vector_bytes_direct(vector: pj.ByteVector, size: int) -> bytes:
    """The bytes of a ``std::vector<unsigned char>`` by one memory copy (libstdc++ keeps its start first).
    ``bytes(vector)`` goes element by element through SWIG, ~1 ms a frame with the GIL held."""
    start = ctypes.c_void_p.from_address(int(vector.this)).value
    return ctypes.string_at(start, size) if start else b""


def _pick_vector_reader() -> Callable[[pj.ByteVector, int], bytes]:
    """The direct copy when it reads a known vector right (checked at every start), else the slow one."""
    known = bytes(range(256)) * 3
    try:
        if _vector_bytes_direct(pj.ByteVector(known), len(known)) == known:
            return _vector_bytes_direct
    except (TypeError, ValueError, OSError):
        pass
    _LOGGER.warning("this pjsua2 build's frame buffers cannot be read directly; using the slow copy")
    return _vector_bytes_slow


LATE_GAP_S = 0.04  # two frame times between a port's ticks: the caller's jitter buffer starts to notice


class MediaClockStats:
    """How the media clock thread fares with the calls' ports: the gaps between a port's ticks (20 ms when
    nothing holds the thread up: a long gap is the GIL or the CPU taken by inference) and the time spent
    in the Python callbacks. Written by the media thread only; read anywhere (roughly consistent)."""

    def __init__(self) -> None:
        self.frames = 0
        self.late_frames = 0
        self.worst_gap_s = 0.0
        self.callback_s = 0.0
        self.worst_callback_s = 0.0

    def tick(self, gap_s: float | None, spent_s: float) -> None:
        self.frames += 1
        self.callback_s += spent_s
        self.worst_callback_s = max(self.worst_callback_s, spent_s)
        if gap_s is not None:
            self.worst_gap_s = max(self.worst_gap_s, gap_s)
            self.late_frames += gap_s > LATE_GAP_S

    def view(self) -> dict[str, float]:
        """For /healthz and the benchmarks."""
        return {
            "frames": self.frames,
            "late_frames": self.late_frames,
            "worst_gap_ms": round(self.worst_gap_s * 1000, 1),
            "mean_callback_us": round(self.callback_s / self.frames * 1e6, 1) if self.frames else 0.0,
            "worst_callback_ms": round(self.worst_callback_s * 1000, 2),
        }


class _AudioPort(pj.AudioMediaPort):  # type: ignore[misc]
    """A conference port bridging one call's audio (16 kHz, 20 ms frames) to its :class:`SipLine`.

    The media clock thread calls it every 20 ms for as long as the library runs, whether a call holds it
    or not (:attr:`line` is None between calls: it then plays silence and drops what it hears)."""

    def __init__(self, read: Callable[[pj.ByteVector, int], bytes], stats: MediaClockStats) -> None:
        super().__init__()
        self.line: SipLine | None = None
        self._read = read
        self._stats = stats
        self._last_tick: float | None = None
        self._silence = pj.ByteVector(bytes(2 * PIPELINE_RATE * FRAME_MS // 1000))

    def take(self, line: SipLine) -> None:
        """Give the port to a call (SIP thread): its first tick starts the gap count afresh."""
        self._last_tick = None
        self.line = line

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:  # noqa: N802 (pjsua2 names)
        line = self.line
        if line is not None and frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and frame.size:
            line.frame_received(self._read(frame.buf, frame.size))

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:  # noqa: N802
        started = time.perf_counter()
        line = self.line
        pcm = line.frame_requested() if line is not None else None
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        frame.buf = pj.ByteVector(pcm) if pcm is not None else self._silence
        frame.size = len(pcm) if pcm is not None else self._silence.size()
        if line is None:  # no call: nothing to measure (take() starts the count afresh)
            return
        gap = started - self._last_tick if self._last_tick is not None else None
        self._last_tick = started
        self._stats.tick(gap, time.perf_counter() - started)


class _Call(pj.Call):  # type: ignore[misc]
    def __init__(self, endpoint: SipEndpoint, account: pj.Account, call_id: int, line: SipLine) -> None:
        super().__init__(account, call_id)
        self.endpoint = endpoint
        self.line = line
        self.port: _AudioPort | None = None
        self.remote = ""
        self.caller_id = ""
        self.on_transfer: Callable[[bool], None] | None = None
        self.answered_at = 0.0  # monotonic time the 200 OK went out (incoming calls)
        self.confirmed = False  # the caller's ACK came
        self.sip_call_id = ""
        self.media_index: int | None = None  # the audio stream carrying the call, once active
        self.rx_packets = 0  # RTP packets from the caller so far, and when that count last grew
        self.rx_at = 0.0
        self.on_dialed: Callable[[Dialed], None] | None = None  # an outbound call not answered yet
        self.ring_deadline = 0.0
        self.rang_out = False  # we gave up waiting for the answer
        self.bridged_to: int | None = None  # the call this one talks to directly (a warm transfer)

    def onCallState(self, prm: pj.OnCallStateParam) -> None:  # noqa: N802
        try:
            info = self.getInfo()
            if info.state == pj.PJSIP_INV_STATE_CONFIRMED:
                self.confirmed = True
            elif info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
                self.endpoint._on_disconnected(self, info.lastStatusCode)
        except Exception:  # nothing may leave a pjsua2 callback (see _audio)
            _LOGGER.exception("call state callback failed")

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:  # noqa: N802
        try:
            self._connect_audio()
        except Exception:
            _LOGGER.exception("call %d: media callback failed", self.getId())

    def _connect_audio(self) -> None:
        info = self.getInfo()
        for media in info.media:
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                audio = self._audio(media.index)
                if audio is None:
                    continue
                if self.port is None:
                    self.port = self.endpoint._take_port(self)
                    if self.port is None:
                        return
                if self.media_index is None:
                    self.rx_at = time.monotonic()
                self.media_index = media.index
                audio.startTransmit(self.port)
                self.port.startTransmit(audio)
                self.endpoint._on_media(self)
                return

    def _audio(self, index: int) -> pj.AudioMedia | None:
        """The call's audio stream. An exception must not leave a pjsua2 callback: its traceback would hold
        this call, freed later by the garbage collector from another thread, and pjsua aborts the process
        (an offer with video before audio did exactly that)."""
        for wanted in (index, -1):  # -1: the first audio stream with a conference slot
            try:
                return self.getAudioMedia(wanted)
            except pj.Error as err:
                reason = err.reason.strip()
        _LOGGER.warning("call %d: no usable audio stream (%s)", self.getId(), reason)
        return None

    def onDtmfDigit(self, prm: pj.OnDtmfDigitParam) -> None:  # noqa: N802
        self.line.dtmf(prm.digit)

    def onCallTransferStatus(self, prm: pj.OnCallTransferStatusParam) -> None:  # noqa: N802
        if prm.statusCode < 200 and not prm.finalNotify:
            return  # 100 Trying, 180 Ringing: the transfer is under way
        prm.cont = False
        try:
            self.endpoint._on_transfer_done(self, 200 <= prm.statusCode < 300, prm.statusCode)
        except Exception:
            _LOGGER.exception("call %d: transfer callback failed", self.getId())

    def received_packets(self) -> int | None:
        """RTP packets received on the call's audio stream so far; None when there is no stream."""
        if self.media_index is None:
            return None
        try:
            return int(self.getStreamStat(self.media_index).rtcp.rxStat.pkt)
        except pj.Error:
            return None


class _Account(pj.Account):  # type: ignore[misc]
    def __init__(self, endpoint: SipEndpoint) -> None:
        super().__init__()
        self.endpoint = endpoint

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:  # noqa: N802
        try:
            self.endpoint._on_incoming(self, prm.callId)
        except Exception:
            _LOGGER.exception("incoming call %d could not be handled", prm.callId)

    def onRegState(self, prm: pj.OnRegStateParam) -> None:  # noqa: N802
        try:
            self.endpoint._on_reg_state(self)
        except Exception:
            _LOGGER.exception("registration callback failed")


class SipEndpoint:
    """Listens for SIP calls and hands each answered call to ``on_call`` on the asyncio loop.

    ``on_failure(reason)`` is called on the loop if the SIP thread dies: calls can no longer be answered.
    """

    def __init__(
        self,
        settings: SipConfig,
        loop: asyncio.AbstractEventLoop,
        on_call: Callable[[IncomingCall], None],
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        if settings.max_calls > COMPILED_MAX_CALLS:
            raise ConfigError(
                f"[sip] max_calls = {settings.max_calls} is above the {COMPILED_MAX_CALLS} concurrent calls "
                "this build of pjsua2 supports; set it to 4 or less (and [scale] workers for more lines)"
            )
        self.settings = settings
        self.policy = SipPolicy(
            settings.allow, settings.max_invites_per_minute, settings.max_requests_per_minute, settings.front
        )
        self.events = SecurityEvents()
        self._guard = SipGuard(self.policy, self.events, on_accept=self._bury, note_ipv6_offers=not IPV6)
        self.loop = loop
        self._on_call = on_call
        self._on_failure = on_failure
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._calls: dict[int, _Call] = {}
        self._rejected: dict[int, _Call] = {}  # answered 486 (or 500), not yet disconnected
        self._ended: list[_Call] = []  # disconnected this event round: destroyed before a slot can be reused
        self._ports: list[_AudioPort] = []
        self.media = MediaClockStats()
        self._thread = threading.Thread(target=self._run, name="sip", daemon=True)
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._error: Exception | None = None
        self.failure = ""  # why the SIP thread stopped, if it did
        self.busy_rejections = 0
        self.ipv6_offers_refused = 0  # calls lost because they offered IPv6 media to a build without IPv6
        self.released = dict.fromkeys(RELEASE_REASONS, 0)
        self.listening: list[str] = []
        self.registration: dict[str, object] = {}  # empty when no registrar is configured

    @property
    def refused(self) -> dict[str, int]:
        """Requests the perimeter refused since start, by reason (:data:`~appliance.security.REFUSAL_REASONS`)."""
        return {reason: self.events.counts[reason] for reason in REFUSAL_REASONS}

    @property
    def active_calls(self) -> int:
        """Calls in progress."""
        return len(self._calls)

    @property
    def alive(self) -> bool:
        """Whether the SIP thread runs and answers calls."""
        return self._thread.is_alive() and not self.failure

    def start(self) -> None:
        """Start the SIP thread; raises ConfigError when the transports cannot be opened."""
        self._thread.start()
        self._ready.wait(timeout=30)
        if self._error is not None:
            self._thread.join(timeout=10)
            raise self._error
        _LOGGER.info("SIP listening on %s (max %d calls)", ", ".join(self.listening), self.settings.max_calls)

    def stop(self) -> None:
        """Hang up every call and destroy the library on its own thread."""
        self._stop.set()
        self._thread.join(timeout=15)

    def hangup(self, call_id: int) -> None:
        """Hang up a call (from any thread)."""
        self._commands.put(lambda: self._hangup(call_id))

    def bridge(self, first: int, second: int, done: Callable[[bool], None]) -> None:
        """Join two calls' audio directly (a warm transfer: the caller and the person), leaving the
        appliance out of the conversation; when either hangs up, the other is hung up. ``done(joined)``
        is called on the loop."""
        self._commands.put(lambda: self._bridge(first, second, done))

    def transfer(self, call_id: int, target: str, done: Callable[[bool], None]) -> None:
        """Blind transfer (REFER) to ``target``; ``done(success)`` is called on the asyncio loop."""
        self._commands.put(lambda: self._transfer(call_id, target, done))

    def dial(self, uri: str) -> None:
        """Place a call (from any thread); ``on_call`` gets it once its audio flows."""
        self._commands.put(lambda: self._dial(uri))

    def call_out(self, uri: str, ring_s: float, done: Callable[[Dialed], None]) -> None:
        """Place an outbound call for the appliance itself (from any thread): ``done`` gets, on the loop,
        the answered call (its audio flowing) or why it was not answered. It never takes the last free
        line: inbound callers keep priority."""
        self._commands.put(lambda: self._call_out(uri, ring_s, done))

    # ---- the SIP thread ------------------------------------------------------------------------
    def _run(self) -> None:
        endpoint = pj.Endpoint()
        endpoint.libCreate()
        try:
            self._account = self._init(endpoint)
        except Exception as err:  # pj.Error, or a ConfigError of ours
            self._error = err if isinstance(err, ConfigError) else ConfigError(f"SIP cannot start: {err}")
            self._ready.set()
            self._ports.clear()
            endpoint.libDestroy()
            return
        self._ready.set()
        try:
            self._serve(endpoint)
        except BaseException as err:  # noqa: BLE001 - the thread must never die silently
            self.failure = f"{type(err).__name__}: {err}".strip()
            _LOGGER.critical(
                "the SIP thread stopped (%s): calls can no longer be answered", self.failure, exc_info=True
            )
            if self._on_failure is not None:
                self.loop.call_soon_threadsafe(self._on_failure, self.failure)
        try:
            self._shutdown(endpoint)
        except Exception:
            _LOGGER.exception("SIP shutdown failed")

    def _serve(self, endpoint: pj.Endpoint) -> None:
        policed = time.monotonic()
        while not self._stop.is_set():
            endpoint.libHandleEvents(10)
            self._bury()
            self._run_commands()
            now = time.monotonic()
            if now - policed >= 1:
                policed = now
                try:
                    self.events.flush()
                    self._police(now)
                except Exception:  # housekeeping must not stop the thread that answers calls
                    _LOGGER.exception("SIP housekeeping failed")

    def _run_commands(self) -> None:
        while not self._commands.empty():
            command = self._commands.get()
            try:
                command()
            except Exception:  # one failed command (a pj.Error from a call in a bad state) stops nothing else
                _LOGGER.exception("a SIP command failed")
            del command  # it may hold the last reference to something of pjsua2's: drop it here, now

    def _init(self, endpoint: pj.Endpoint) -> pj.Account:
        s = self.settings
        cfg = pj.EpConfig()
        cfg.uaConfig.threadCnt = 0
        cfg.uaConfig.mainThreadOnly = True
        cfg.uaConfig.maxCalls = COMPILED_MAX_CALLS
        cfg.uaConfig.userAgent = s.user_agent
        cfg.logConfig.level = s.log_level
        cfg.logConfig.consoleLevel = s.log_level
        cfg.medConfig.clockRate = PIPELINE_RATE
        cfg.medConfig.sndClockRate = PIPELINE_RATE
        cfg.medConfig.ecTailLen = 0
        cfg.medConfig.noVad = True
        endpoint.libInit(cfg)
        # pjsip waits 32 s (64*T1) for the ACK of an answer, and defers our BYE until then: a call whose
        # caller never ACKs held its slot that long. Its ACK wait (and every transaction's give-up time)
        # becomes ack_timeout_s; after that, pjsip itself ends the call with a BYE (408).
        pjsip_library().pjsip_tsx_set_timers(0, 0, 0, max(1000, int(s.ack_timeout_s * 1000)))
        self._guard.install()  # before any transport exists: no request ever passes unjudged
        probe = self._create_transports(endpoint)
        if s.tls_port:
            self._create_tls(endpoint)
        endpoint.libStart()
        if probe is not None:
            self._guard.self_check(endpoint.libHandleEvents, *probe)
        else:
            _LOGGER.warning("SIP perimeter self-check skipped: no UDP or TCP transport to send it over")
        if s.registrar:  # the PBX we register to calls us from its own address: allow it
            self._allow_host_of(s.registrar)
        endpoint.audDevManager().setNullDev()
        read = _pick_vector_reader()
        fmt = pj.MediaFormatAudio()
        fmt.init(pj.PJMEDIA_FORMAT_PCM, PIPELINE_RATE, 1, FRAME_MS * 1000, 16)
        for n in range(COMPILED_MAX_CALLS):  # one per call slot, for the library's whole life
            port = _AudioPort(read, self.media)
            port.createPort(f"line{n}", fmt)
            self._ports.append(port)
        account_cfg = pj.AccountConfig()
        host = "127.0.0.1" if _wildcard(s.host) else (f"[{s.host}]" if ":" in s.host else s.host)
        account_cfg.idUri = f"sip:appliance@{host}:{s.port}" if s.port else f"sip:appliance@{host}"
        if s.srtp not in _SRTP:
            raise ConfigError(f"[sip] srtp = {s.srtp!r}: use off, optional or mandatory")
        account_cfg.mediaConfig.srtpUse = _SRTP[s.srtp]
        account_cfg.mediaConfig.srtpSecureSignaling = 0  # SDES keys over TLS when the peer uses it, UDP/TCP too
        if IPV6:  # media follows the offer's family (a dual-stack phone may offer IPv6 media over IPv4 SIP)
            account_cfg.mediaConfig.ipv6Use = pj.PJSUA_IPV6_ENABLED_PREFER_IPV4
            account_cfg.sipConfig.ipv6Use = pj.PJSUA_IPV6_ENABLED_NO_PREFERENCE
        if s.registrar:
            self._configure_registration(account_cfg)
        if not _wildcard(s.host):  # media on the same address as SIP, not the default route's
            account_cfg.mediaConfig.transportConfig.boundAddress = s.host
            account_cfg.mediaConfig.transportConfig.publicAddress = s.host
        account = _Account(self)
        account.create(account_cfg, True)
        return account

    def _create_transports(self, endpoint: pj.Endpoint) -> tuple[str, int, str] | None:
        """Open UDP/TCP on ``[sip] host``: both IPv4 and IPv6 for ``::``. Returns where the self-check goes."""
        s = self.settings
        ipv6_address = ":" in s.host and s.host != "::"
        if ipv6_address and not IPV6:
            raise ConfigError(
                f"[sip] host = {s.host!r}: this pjsua2 build has no IPv6 (compiled without PJ_HAS_IPV6); "
                'use an IPv4 address, "0.0.0.0" or "::"'
            )
        dual = s.host == "::" and IPV6
        if s.host == "::" and not IPV6:
            _LOGGER.warning(
                "this pjsua2 build has no IPv6 (compiled without PJ_HAS_IPV6): SIP and media on IPv4 only; "
                "phones must use IPv4 (and IPv4 media)"
            )
        families = (4, 6) if dual else ((6,) if ipv6_address else (4,))
        probe: tuple[str, int, str] | None = None
        for name in (t.strip() for t in s.transports.split(",") if t.strip()):
            if name not in _TRANSPORTS:
                raise ConfigError(f"[sip] transports = {s.transports!r}: unknown transport {name!r}; use udp, tcp")
            for family in families:
                transport = pj.TransportConfig()
                transport.port = s.port
                transport.boundAddress = "" if _wildcard(s.host) else s.host
                if family == 6:
                    shown = "[::]" if _wildcard(s.host) else f"[{s.host}]"
                else:
                    shown = "0.0.0.0" if _wildcard(s.host) else s.host
                try:
                    transport_id = endpoint.transportCreate(_TRANSPORTS[name][family], transport)
                except pj.Error as err:
                    if dual and family == 6:  # a kernel without IPv6: serve IPv4 and say so
                        _LOGGER.warning("no IPv6 %s transport (%s): serving IPv4 only", name, err.reason.strip())
                        continue
                    raise ConfigError(
                        f"[sip] cannot listen on {name} {shown}:{s.port} ({err.reason.strip()}); "
                        "another SIP service may hold the port: stop it or set [sip] port"
                    ) from None
                self.listening.append(f"{name}:{shown}:{s.port}")
                if probe is None:  # the self-check goes to the port really bound (port 0: one the system chose)
                    port = int(endpoint.transportGetInfo(transport_id).localName.rsplit(":", 1)[1])
                    address = s.host if not _wildcard(s.host) else ("::1" if family == 6 else "127.0.0.1")
                    probe = (address, port, name)
        return probe

    def _create_tls(self, endpoint: pj.Endpoint) -> None:
        s = self.settings
        for key, path in (("tls_cert", s.tls_cert), ("tls_key", s.tls_key)):
            if not path or not Path(path).is_file():
                raise ConfigError(f"[sip] tls_port is set but {key} = {path!r} is not a readable PEM file")
        transport = pj.TransportConfig()
        transport.port = s.tls_port
        transport.boundAddress = "" if s.host in ("0.0.0.0", "") else s.host
        transport.tlsConfig.certFile = s.tls_cert
        transport.tlsConfig.privKeyFile = s.tls_key
        transport.tlsConfig.method = pj.PJSIP_TLSV1_2_METHOD
        try:
            endpoint.transportCreate(pj.PJSIP_TRANSPORT_TLS, transport)
        except pj.Error as err:
            raise ConfigError(f"[sip] cannot listen on tls {s.host}:{s.tls_port} ({err.reason.strip()})") from None
        self.listening.append(f"tls:{s.host}:{s.tls_port}")

    def _configure_registration(self, account_cfg: pj.AccountConfig) -> None:
        s = self.settings
        if not s.registrar.startswith(("sip:", "sips:")) or not s.username:
            raise ConfigError(
                f"[sip] registrar = {s.registrar!r} needs a sip: URI and [sip] username (and password if it asks)"
            )
        domain = s.domain or s.registrar.split(":", 1)[1].split(";")[0]
        account_cfg.idUri = f"sip:{s.username}@{domain}"
        account_cfg.regConfig.registrarUri = s.registrar
        account_cfg.regConfig.timeoutSec = s.register_interval_s
        account_cfg.regConfig.retryIntervalSec = 30
        account_cfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", s.username, 0, s.password))
        account_cfg.natConfig.udpKaIntervalSec = s.keepalive_s
        if s.contact:  # a worker behind kamailio: the PBX sends calls to kamailio, which hands them out
            account_cfg.sipConfig.contactForced = f"<{s.contact}>"
        self.registration = {"registrar": s.registrar, "registered": False, "status": 0, "reason": "registering"}

    def _allow_host_of(self, uri: str) -> None:
        """Let the host of a SIP URI we register or call to send us requests, even outside ``[sip] allow``."""
        host = uri_host(uri)
        try:
            addresses = {str(info[4][0]) for info in socket.getaddrinfo(host, None)} if host else set()
        except OSError as err:
            _LOGGER.warning("%s does not resolve (%s): only [sip] allow may send requests", host, err)
            return
        self.policy.allow_addresses(addresses)

    def _on_reg_state(self, account: pj.Account) -> None:
        info = account.getInfo()
        s = self.settings
        was = self.registration.get("registered")
        self.registration = {
            "registrar": s.registrar,
            "registered": bool(info.regIsActive),
            "status": int(info.regStatus),
            "reason": str(info.regStatusText),
        }
        if info.regIsActive and not was:
            _LOGGER.info("registered to %s as %s (expires in %d s)", s.registrar, s.username, info.regExpiresSec)
        elif not info.regIsActive and info.regStatus // 100 != 2:
            hint = "check [sip] username and password" if info.regStatus in (401, 403, 407) else "check [sip] registrar"
            _LOGGER.warning(
                "registration to %s failed: %d %s; %s", s.registrar, info.regStatus, info.regStatusText, hint
            )

    def _reject(self, call: _Call, status: int) -> None:
        """Answer ``status`` after the incoming-call callback returns: rejecting inside it an INVITE
        without SDP trips a pjsip assertion (the rdata clone is freed twice) and aborts the process."""
        call_id = call.getId()
        self._rejected[call_id] = call  # kept alive until pjsua reports it disconnected

        def reject() -> None:
            rejected = self._rejected.get(call_id)
            if rejected is not None:
                op = pj.CallOpParam()
                op.statusCode = status
                rejected.hangup(op)

        self._commands.put(reject)

    def _on_incoming(self, account: pj.Account, call_id: int) -> None:
        """An INVITE the perimeter (:mod:`.guard`) let through: answer it, or 486 when all slots are busy."""
        line = SipLine(self.loop)
        call = _Call(self, account, call_id, line)
        op = pj.CallOpParam()
        if len(self._calls) >= self.settings.max_calls:
            self.busy_rejections += 1
            _LOGGER.warning("all %d call slots busy: answering 486 Busy Here", self.settings.max_calls)
            self._reject(call, pj.PJSIP_SC_BUSY_HERE)
            return
        info = call.getInfo()
        call.remote = _mask(info.remoteUri)
        call.caller_id = _caller_number(info.remoteUri)
        call.sip_call_id = info.callIdString
        self._calls[call_id] = call
        op.statusCode = pj.PJSIP_SC_OK
        try:
            call.answer(op)
        except pj.Error as err:  # must not leave the callback: its traceback would keep the call alive
            _LOGGER.warning("call %d cannot be answered: %s", call_id, err.reason.strip())
            del self._calls[call_id]
            self._reject(call, pj.PJSIP_SC_INTERNAL_SERVER_ERROR)
            return
        call.answered_at = time.monotonic()

    def _dial(self, uri: str) -> None:
        self._bury()  # a call ended by an earlier command this round must be gone before pjsua picks a slot
        call = _Call(self, self._account, pj.PJSUA_INVALID_ID, SipLine(self.loop))
        call.remote = uri
        self._allow_host_of(uri)  # its BYE must reach us
        try:
            call.makeCall(uri, pj.CallOpParam(True))
        except pj.Error as err:
            _LOGGER.error("cannot call %s: %s", uri, err.reason.strip())
            call.line.hangup()
            return
        self._calls[call.getId()] = call

    def _call_out(self, uri: str, ring_s: float, done: Callable[[Dialed], None]) -> None:
        def report(result: Dialed) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: the daemon is stopping
                self.loop.call_soon_threadsafe(done, result)

        if len(self._calls) >= self.settings.max_calls - 1:
            report(Dialed(0, reason="no free line (the last one is kept for callers)"))
            return
        self._bury()
        call = _Call(self, self._account, pj.PJSUA_INVALID_ID, SipLine(self.loop))
        call.remote = _mask(uri)
        call.on_dialed = report
        call.ring_deadline = time.monotonic() + ring_s
        self._allow_host_of(uri)
        try:
            call.makeCall(uri, pj.CallOpParam(True))
        except pj.Error as err:
            report(Dialed(0, reason=err.reason.strip()))
            return
        self._calls[call.getId()] = call

    def _bridge(self, first: int, second: int, done: Callable[[bool], None]) -> None:
        calls = [self._calls.get(first), self._calls.get(second)]
        media = [c._audio(c.media_index) if c is not None and c.media_index is not None else None for c in calls]
        joined = all(c is not None and c.isActive() and c.port is not None for c in calls) and None not in media
        if joined:
            a, b = typing.cast(list[_Call], calls)
            audio_a, audio_b = typing.cast(list[pj.AudioMedia], media)
            for call, audio in ((a, audio_a), (b, audio_b)):
                port = typing.cast(_AudioPort, call.port)
                audio.stopTransmit(port)  # the appliance stops listening and speaking on both
                port.stopTransmit(audio)
            audio_a.startTransmit(audio_b)
            audio_b.startTransmit(audio_a)
            a.bridged_to, b.bridged_to = second, first
            _LOGGER.info("calls %d and %d joined", first, second)
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(done, joined)

    def _transfer(self, call_id: int, target: str, done: Callable[[bool], None]) -> None:
        call = self._calls.get(call_id)
        if call is None or not call.isActive():
            return
        call.on_transfer = done
        try:
            call.xfer(target, pj.CallOpParam(True))
        except pj.Error as err:
            _LOGGER.warning("transfer of call %d to %s refused: %s", call_id, target, err.reason.strip())
            self._on_transfer_done(call, False, 0)

    def _on_transfer_done(self, call: _Call, success: bool, status: int) -> None:
        call_id = call.getId()
        _LOGGER.info("transfer of call %d %s (%d)", call_id, "succeeded" if success else "failed", status)
        done, call.on_transfer = call.on_transfer, None
        if done is not None:
            self.loop.call_soon_threadsafe(done, success)
        if success:  # blind transfer: the caller now talks to the person, we leave the call
            self._commands.put(lambda: self._hangup(call_id))

    def _take_port(self, call: _Call) -> _AudioPort | None:
        for port in self._ports:
            if port.line is None:
                port.take(call.line)
                return port
        _LOGGER.error("call %d: no free audio port (more calls than slots?); it stays silent", call.getId())
        return None

    def _on_media(self, call: _Call) -> None:
        if not call.line.started:
            call.line.started = True
            incoming = IncomingCall(call.getId(), call.remote, call.line, call.caller_id)
            dialed, call.on_dialed = call.on_dialed, None
            if dialed is not None:
                dialed(Dialed(200, incoming))
                return
            self.loop.call_soon_threadsafe(self._on_call, incoming)

    def _on_disconnected(self, call: _Call, status: int) -> None:
        _LOGGER.info("call %d from %s ended (%d)", call.getId(), call.remote, status)
        if call.answered_at and not call.confirmed and status == pj.PJSIP_SC_REQUEST_TIMEOUT:
            self.released["no_ack"] += 1
            _LOGGER.warning("call %d from %s was never acknowledged (no ACK for the answer)", call.getId(), call.remote)
        if not call.confirmed and call.sip_call_id and call.sip_call_id in self._guard.ipv6_offers:
            self.ipv6_offers_refused += 1
            _LOGGER.warning(
                "call %d from %s offered IPv6 media (c=IN IP6), which this pjsua2 build cannot carry (no IPv6): "
                "answered %d; set the phone to IPv4 media (Linphone: [rtp] prefer_ipv6=0)",
                call.getId(),
                call.remote,
                status,
            )
        dialed, call.on_dialed = call.on_dialed, None
        if dialed is not None:  # an outbound call that was never answered
            dialed(Dialed(pj.PJSIP_SC_REQUEST_TIMEOUT if call.rang_out else status, reason=f"SIP {status}"))
        call.line.hangup()
        if call.bridged_to is not None:  # a joined call: the other side is hung up too
            partner, call.bridged_to = call.bridged_to, None
            self._commands.put(lambda: self._hangup(partner))
        if call.port is not None:  # the media clock plays silence on it until the next call takes it
            call.port.line = None
            call.port = None
        for calls in (self._calls, self._rejected):
            if calls.get(call.getId()) is call:
                del calls[call.getId()]
        self._ended.append(call)

    def _bury(self) -> None:
        """Destroy the calls disconnected since the last time (SIP thread). Their slots are free, so their
        destructors touch nothing; a new call can only take a slot after this has run (module docstring)."""
        self._ended.clear()

    def _police(self, now: float) -> None:
        """Hang up calls that never became a conversation: no ACK for the answer, or no RTP from the caller."""
        s = self.settings
        for call in list(self._calls.values()):
            if call.on_dialed is not None and not call.rang_out and now >= call.ring_deadline:
                call.rang_out = True  # nobody answered: CANCEL, reported as no answer
                self._hangup(call.getId())
                continue
            info = call.getInfo()
            packets = call.received_packets()
            if info.state != pj.PJSIP_INV_STATE_CONFIRMED or packets is None:
                continue
            if packets > call.rx_packets:
                call.rx_packets, call.rx_at = packets, now
                continue
            limit = s.rtp_timeout_s if call.rx_packets == 0 else s.rtp_gap_s
            if now - call.rx_at >= limit and _receiving(info, call.media_index):
                self._release(call, "no_rtp", f"no RTP from the caller for {now - call.rx_at:.1f} s")

    def _release(self, call: _Call, reason: str, why: str) -> None:
        self.released[reason] += 1
        _LOGGER.warning("call %d from %s: %s; hanging up to free its slot", call.getId(), call.remote, why)
        self._hangup(call.getId())

    def _hangup(self, call_id: int) -> None:
        call = self._calls.get(call_id)
        if call is not None and call.isActive():
            op = pj.CallOpParam()
            op.statusCode = pj.PJSIP_SC_OK
            call.hangup(op)

    def _shutdown(self, endpoint: pj.Endpoint) -> None:
        endpoint.hangupAllCalls()
        for _ in range(200):  # up to 2 s for each BYE to be answered, so that callers hear a clean hang-up
            endpoint.libHandleEvents(10)
            self._bury()
            self._run_commands()
            if not self._calls:
                break
        for line in [c.line for c in self._calls.values()]:  # no loop variable may keep a call alive
            line.hangup()
        # Stop the media clock (setNoDev joins its thread): from here on no port callback can run.
        endpoint.audDevManager().setNoDev()
        while not self._commands.empty():  # queued commands may hold references to calls: drop them all
            self._commands.get()
        self._calls.clear()
        self._rejected.clear()
        self._bury()
        self._ports.clear()
        self._account.shutdown()
        del self._account
        gc.collect()  # any pjsua2 object alive after libDestroy() aborts the process at exit
        self._guard.remove()
        endpoint.libDestroy()


def _wildcard(host: str) -> bool:
    return host in ("", "0.0.0.0", "::")


def _receiving(info: pj.CallInfo, index: int | None) -> bool:
    """Whether the caller is meant to send us audio on that stream (not on hold with ``a=inactive``)."""
    for media in info.media:
        if media.index == index:
            return bool(media.dir & pj.PJMEDIA_DIR_DECODING)
    return False


def _caller_number(uri: str) -> str:
    """The user part of a SIP URI if it is a phone number (``sip:+14155552671@pbx`` -> ``+14155552671``)."""
    found = re.search(r"sips?:(\+?[0-9]{4,15})@", uri)
    return found.group(1) if found else ""


def _mask(uri: str) -> str:
    """A caller URI for logs and the status page: no display name (a name is PHI), the number masked:
    ``"Jane Roe" <sip:+33612345678@host>`` -> ``sip:+3361234****@host``."""
    inner = re.search(r"<([^>]*)>", uri)
    user, at, host = (inner.group(1) if inner else uri).partition("@")
    return f"{user[: max(4, len(user) - 4)]}****{at}{host}" if at else "****"
