"""The SIP endpoint (pjsua2): one owner thread for every pjsua2 object, calls handed to asyncio.

pjsua2 aborts the process when it is called from a thread it does not know, and declines a call
whose Python object has been garbage-collected. So one thread creates, drives and destroys every
pjsua2 object, keeps a reference to each live call, and runs the commands other threads post to
it. The media clock thread calls the audio ports; they only move bytes through a :class:`SipLine`.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import queue
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pjsua2 as pj

from ..audio.frames import FRAME_MS, PIPELINE_RATE
from ..config import SipConfig
from ..errors import ConfigError
from ..security import REFUSAL_REASONS, SecurityEvents, SipPolicy
from .guard import SipGuard
from .line import SipLine

_LOGGER = logging.getLogger(__name__)

COMPILED_MAX_CALLS = 4  # PJSUA_MAX_CALLS of the pjsua2-python wheel: a 5th call gets 486 from pjsua itself
_TRANSPORTS = {"udp": pj.PJSIP_TRANSPORT_UDP, "tcp": pj.PJSIP_TRANSPORT_TCP}
_SRTP = {"off": pj.PJMEDIA_SRTP_DISABLED, "optional": pj.PJMEDIA_SRTP_OPTIONAL, "mandatory": pj.PJMEDIA_SRTP_MANDATORY}


@dataclass(frozen=True)
class IncomingCall:
    """A call that was answered: its audio line, and who called (for logs, masked)."""

    call_id: int
    remote: str
    line: SipLine
    caller_id: str = ""  # the caller's number from the From URI's user part, when it is one


class _AudioPort(pj.AudioMediaPort):  # type: ignore[misc]
    """Bridges a call's audio (16 kHz, 20 ms frames) to its :class:`SipLine`. Runs on the media clock thread."""

    def __init__(self, line: SipLine) -> None:
        super().__init__()
        self._line = line

    def onFrameReceived(self, frame: pj.MediaFrame) -> None:  # noqa: N802 (pjsua2 names)
        if frame.type == pj.PJMEDIA_FRAME_TYPE_AUDIO and frame.size:
            self._line.frame_received(bytes(frame.buf))

    def onFrameRequested(self, frame: pj.MediaFrame) -> None:  # noqa: N802
        pcm = self._line.frame_requested()
        frame.type = pj.PJMEDIA_FRAME_TYPE_AUDIO
        frame.buf = pj.ByteVector(pcm)
        frame.size = len(pcm)


class _Call(pj.Call):  # type: ignore[misc]
    def __init__(self, endpoint: SipEndpoint, account: pj.Account, call_id: int, line: SipLine) -> None:
        super().__init__(account, call_id)
        self.endpoint = endpoint
        self.line = line
        self.port: _AudioPort | None = None
        self.remote = ""
        self.caller_id = ""
        self.on_transfer: Callable[[bool], None] | None = None
        self.ended_at = 0.0  # monotonic time of its DISCONNECTED state

    def onCallState(self, prm: pj.OnCallStateParam) -> None:  # noqa: N802
        info = self.getInfo()
        if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            self.endpoint._on_disconnected(self, info.lastStatusCode)

    def onCallMediaState(self, prm: pj.OnCallMediaStateParam) -> None:  # noqa: N802
        info = self.getInfo()
        for media in info.media:
            if media.type == pj.PJMEDIA_TYPE_AUDIO and media.status == pj.PJSUA_CALL_MEDIA_ACTIVE:
                audio = self._audio(media.index)
                if audio is None:
                    continue
                if self.port is None:
                    self.port = _AudioPort(self.line)
                    fmt = pj.MediaFormatAudio()
                    fmt.init(pj.PJMEDIA_FORMAT_PCM, PIPELINE_RATE, 1, FRAME_MS * 1000, 16)
                    self.port.createPort(f"call{info.id}", fmt)
                audio.startTransmit(self.port)
                self.port.startTransmit(audio)
                self.endpoint._on_media(self)

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
        self.endpoint._on_transfer_done(self, 200 <= prm.statusCode < 300, prm.statusCode)


class _Account(pj.Account):  # type: ignore[misc]
    def __init__(self, endpoint: SipEndpoint) -> None:
        super().__init__()
        self.endpoint = endpoint

    def onIncomingCall(self, prm: pj.OnIncomingCallParam) -> None:  # noqa: N802
        self.endpoint._on_incoming(self, prm.callId)

    def onRegState(self, prm: pj.OnRegStateParam) -> None:  # noqa: N802
        self.endpoint._on_reg_state(self)


class SipEndpoint:
    """Listens for SIP calls and hands each answered call to ``on_call`` on the asyncio loop."""

    def __init__(
        self, settings: SipConfig, loop: asyncio.AbstractEventLoop, on_call: Callable[[IncomingCall], None]
    ) -> None:
        if settings.max_calls > COMPILED_MAX_CALLS:
            raise ConfigError(
                f"[sip] max_calls = {settings.max_calls} is above the {COMPILED_MAX_CALLS} concurrent calls "
                "this build of pjsua2 supports; set it to 4 or less"
            )
        self.settings = settings
        self.policy = SipPolicy(settings.allow, settings.max_invites_per_minute, settings.max_requests_per_minute)
        self.events = SecurityEvents()
        self._guard = SipGuard(self.policy, self.events)
        self.loop = loop
        self._on_call = on_call
        self._commands: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._calls: dict[int, _Call] = {}
        self._rejected: list[_Call] = []  # answered 486 (or 500), not yet disconnected
        self._ended: list[_Call] = []  # disconnected, kept alive while pjsua may have given their slot to a new call
        self._thread = threading.Thread(target=self._run, name="sip", daemon=True)
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._error: Exception | None = None
        self.busy_rejections = 0
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

    def transfer(self, call_id: int, target: str, done: Callable[[bool], None]) -> None:
        """Blind transfer (REFER) to ``target``; ``done(success)`` is called on the asyncio loop."""
        self._commands.put(lambda: self._transfer(call_id, target, done))

    def dial(self, uri: str) -> None:
        """Place a call (from any thread); ``on_call`` gets it once its audio flows."""
        self._commands.put(lambda: self._dial(uri))

    # ---- the SIP thread ------------------------------------------------------------------------
    def _run(self) -> None:
        endpoint = pj.Endpoint()
        endpoint.libCreate()
        try:
            self._account = self._init(endpoint)
        except Exception as err:  # pjsua2 raises pj.Error, which is not an Exception subclass we can name safely
            self._error = err if isinstance(err, ConfigError) else ConfigError(f"SIP cannot start: {err}")
            self._ready.set()
            endpoint.libDestroy()
            return
        self._ready.set()
        flushed = time.monotonic()
        while not self._stop.is_set():
            endpoint.libHandleEvents(10)
            while not self._commands.empty():
                self._commands.get()()
            if time.monotonic() - flushed >= 1:
                self.events.flush()
                self._bury()
                flushed = time.monotonic()
        self._shutdown(endpoint)

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
        self._guard.install()  # before any transport exists: no request ever passes unjudged
        probe: tuple[str, int] | None = None
        for name in (t.strip() for t in s.transports.split(",") if t.strip()):
            if name not in _TRANSPORTS:
                raise ConfigError(f"[sip] transports = {s.transports!r}: unknown transport {name!r}; use udp, tcp")
            transport = pj.TransportConfig()
            transport.port = s.port
            transport.boundAddress = "" if s.host in ("0.0.0.0", "") else s.host
            try:
                transport_id = endpoint.transportCreate(_TRANSPORTS[name], transport)
            except pj.Error as err:
                raise ConfigError(
                    f"[sip] cannot listen on {name} {s.host}:{s.port} ({err.reason.strip()}); "
                    "another SIP service may hold the port: stop it or set [sip] port"
                ) from None
            self.listening.append(f"{name}:{s.host}:{s.port}")
            if probe is None:  # the self-check goes to the port really bound (port 0: one the system chose)
                probe = (name, int(endpoint.transportGetInfo(transport_id).localName.rsplit(":", 1)[1]))
        if s.tls_port:
            self._create_tls(endpoint)
        endpoint.libStart()
        if probe is not None:
            self._guard.self_check(endpoint.libHandleEvents, s.host, probe[1], probe[0])
        else:
            _LOGGER.warning("SIP perimeter self-check skipped: no UDP or TCP transport to send it over")
        if s.registrar:  # the PBX we register to calls us from its own address: allow it
            self._allow_host_of(s.registrar)
        endpoint.audDevManager().setNullDev()
        account_cfg = pj.AccountConfig()
        host = s.host if s.host not in ("0.0.0.0", "") else "127.0.0.1"
        account_cfg.idUri = f"sip:appliance@{host}:{s.port}" if s.port else f"sip:appliance@{host}"
        if s.srtp not in _SRTP:
            raise ConfigError(f"[sip] srtp = {s.srtp!r}: use off, optional or mandatory")
        account_cfg.mediaConfig.srtpUse = _SRTP[s.srtp]
        account_cfg.mediaConfig.srtpSecureSignaling = 0  # SDES keys over TLS when the peer uses it, UDP/TCP too
        if s.registrar:
            self._configure_registration(account_cfg)
        if s.host not in ("0.0.0.0", ""):  # media on the same address as SIP, not the default route's
            account_cfg.mediaConfig.transportConfig.boundAddress = s.host
            account_cfg.mediaConfig.transportConfig.publicAddress = s.host
        account = _Account(self)
        account.create(account_cfg, True)
        return account

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
        self.registration = {"registrar": s.registrar, "registered": False, "status": 0, "reason": "registering"}

    def _allow_host_of(self, uri: str) -> None:
        """Let the host of a SIP URI we register or call to send us requests, even outside ``[sip] allow``."""
        found = re.match(r"sips?:(?:[^@;]*@)?(\[[^\]]+\]|[^:;>]+)", uri)
        host = found.group(1).strip("[]") if found else ""
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
        op = pj.CallOpParam()
        op.statusCode = status
        self._rejected.append(call)  # keep it alive until pjsua reports it disconnected
        self._commands.put(lambda: call.hangup(op))

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
        call.remote = _mask(call.getInfo().remoteUri)
        call.caller_id = _caller_number(call.getInfo().remoteUri)
        self._calls[call_id] = call
        op.statusCode = pj.PJSIP_SC_OK
        try:
            call.answer(op)
        except pj.Error as err:  # must not leave the callback: its traceback would keep the call alive
            _LOGGER.warning("call %d cannot be answered: %s", call_id, err.reason.strip())
            del self._calls[call_id]
            self._reject(call, pj.PJSIP_SC_INTERNAL_SERVER_ERROR)

    def _dial(self, uri: str) -> None:
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
        _LOGGER.info("transfer of call %d %s (%d)", call.getId(), "succeeded" if success else "failed", status)
        done, call.on_transfer = call.on_transfer, None
        if done is not None:
            self.loop.call_soon_threadsafe(done, success)
        if success:  # blind transfer: the caller now talks to the person, we leave the call
            self._commands.put(lambda: self._hangup(call.getId()))

    def _on_media(self, call: _Call) -> None:
        if not call.line.started:
            call.line.started = True
            incoming = IncomingCall(call.getId(), call.remote, call.line, call.caller_id)
            self.loop.call_soon_threadsafe(self._on_call, incoming)

    def _on_disconnected(self, call: _Call, status: int) -> None:
        _LOGGER.info("call %d from %s ended (%d)", call.getId(), call.remote, status)
        call.line.hangup()
        # pjsua gives this call's slot to the next INVITE at once, while pjsua2's Call object keeps the slot
        # number: destroying it later hangs up (603) whichever call then holds the slot. So the object moves
        # out of the live calls now and is destroyed (by _bury, every second) only once no live call uses
        # its slot, and a second after its audio stopped: the media clock thread may still be on its way
        # into this call's audio port, whose Python object must not be gone by then.
        if self._calls.get(call.getId()) is call:
            del self._calls[call.getId()]
        self._rejected = [c for c in self._rejected if c is not call]
        call.ended_at = time.monotonic()
        self._ended.append(call)

    def _bury(self, now: float | None = None) -> None:
        """Destroy the ended calls that ended over a second ago and whose slot no live or rejected call holds."""
        now = time.monotonic() if now is None else now
        busy = set(self._calls) | {c.getId() for c in self._rejected}
        self._ended = [c for c in self._ended if c.getId() in busy or now - c.ended_at < 1]

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
            while not self._commands.empty():
                self._commands.get()()
            if not self._calls:
                break
        for line in [c.line for c in self._calls.values()]:  # no loop variable may keep a call alive
            line.hangup()
        for _ in range(30):  # let the media clock finish with the ports of the calls just ended
            endpoint.libHandleEvents(10)
        while not self._commands.empty():  # queued commands hold references to calls: drop them all
            self._commands.get()
        self._calls.clear()
        self._rejected.clear()
        self._ended.clear()
        self._account.shutdown()
        del self._account
        gc.collect()  # any pjsua2 object alive after libDestroy() aborts the process at exit
        self._guard.remove()
        endpoint.libDestroy()


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
