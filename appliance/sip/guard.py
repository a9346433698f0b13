"""The SIP perimeter: a pjsip module that sees every request before pjsua2 does.

pjsua2 offers no hook below its call layer. By the time ``onIncomingCall`` runs, an INVITE holds one of
the wheel's four call slots and has media ports, and OPTIONS or REGISTER never reach Python at all. So
this registers a plain pjsip module, through ctypes on the library pjsua2 has already loaded, just above
the transaction layer: a refused request is dropped before any transaction, dialog or call exists.

The module reads pjsip's receive buffer (``pjsip_rx_data``) with the layout of pjsip 2.15.1, the
version inside the pinned ``pjsua2-python`` wheel. :meth:`SipGuard.self_check` proves that layout at
every start by sending the endpoint one marked request from a known address and port: a build with
another layout fails to start with a clear error instead of running without its perimeter.
"""

from __future__ import annotations

import ctypes
import logging
import re
import secrets
import socket
import time
from collections import deque
from collections.abc import Callable

from pjsua2 import _pjsua2

from ..errors import ConfigError
from ..security import SecurityEvents, SipPolicy

_LOGGER = logging.getLogger(__name__)

_PTR = ctypes.c_void_p
_ON_RX = ctypes.CFUNCTYPE(ctypes.c_int, _PTR)
_MODULE_PRIORITY = 9  # PJSIP_MOD_PRIORITY_TRANSPORT_LAYER + 1: after the message is parsed, before transactions
_MAX_PKT_LEN = 4000  # PJSIP_MAX_PKT_LEN of the wheel's build (the default)
_HEADERS_END = re.compile(rb"\r?\n\r?\n")
_TO_TAG = re.compile(r"^(?:to|t)[ \t]*:[^\r\n]*;[ \t]*tag[ \t]*=", re.IGNORECASE | re.MULTILINE)
_USER_AGENT = re.compile(r"^user-agent[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE | re.MULTILINE)
_MEDIA_LINE = re.compile(rb"^m=", re.MULTILINE)
_IPV6_MEDIA = re.compile(rb"^c=IN IP6 ", re.MULTILINE)
_CALL_ID = re.compile(r"^(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*)", re.IGNORECASE | re.MULTILINE)


def pjsip_library() -> ctypes.CDLL:
    """pjsip's C functions, in the library pjsua2 has already loaded (the same pjsip instance)."""
    return ctypes.CDLL(_pjsua2.__file__)


class _PjStr(ctypes.Structure):
    _fields_ = [("ptr", ctypes.c_char_p), ("slen", ctypes.c_ssize_t)]


class _Module(ctypes.Structure):
    """``pjsip_module``."""

    _fields_ = [
        ("prev", _PTR),
        ("next", _PTR),
        ("name", _PjStr),
        ("id", ctypes.c_int),
        ("priority", ctypes.c_int),
        ("load", _PTR),
        ("start", _PTR),
        ("stop", _PTR),
        ("unload", _PTR),
        ("on_rx_request", _ON_RX),
        ("on_rx_response", _PTR),
        ("on_tx_request", _PTR),
        ("on_tx_response", _PTR),
        ("on_tsx_state", _PTR),
    ]


class _PacketInfo(ctypes.Structure):
    """``pjsip_rx_data.pkt_info``."""

    _fields_ = [
        ("timestamp", ctypes.c_long * 2),
        ("packet", ctypes.c_char * _MAX_PKT_LEN),
        ("zero", ctypes.c_uint32),
        ("len", ctypes.c_ssize_t),
        ("src_addr", ctypes.c_ubyte * 28),
        ("src_addr_len", ctypes.c_int),
        ("src_name", ctypes.c_char * 46),
        ("src_port", ctypes.c_int),
    ]


class _MessageInfo(ctypes.Structure):
    """The start of ``pjsip_rx_data.msg_info``: where this message lies in the packet."""

    _fields_ = [("msg_buf", _PTR), ("len", ctypes.c_int)]


class _RxData(ctypes.Structure):
    """The start of ``pjsip_rx_data``: ``tp_info`` (pool, transport, tp_data, a 34-pointer op key and
    its rdata pointer), then ``pkt_info`` and ``msg_info``."""

    _fields_ = [("tp_info", _PTR * 38), ("pkt_info", _PacketInfo), ("msg_info", _MessageInfo)]


class SipGuard:
    """Applies a :class:`SipPolicy` to every SIP request, below pjsua2. Runs on the SIP thread."""

    def __init__(
        self,
        policy: SipPolicy,
        events: SecurityEvents,
        on_accept: Callable[[], None] | None = None,
        note_ipv6_offers: bool = False,
    ) -> None:
        self.policy = policy
        self.events = events
        self._on_accept = on_accept  # runs before pjsua sees each request that passes
        self._note_ipv6 = note_ipv6_offers
        self.ipv6_offers: deque[str] = deque(maxlen=64)  # Call-IDs of recent INVITEs offering IPv6 media
        self._lib = pjsip_library()
        self._lib.pjsua_get_pjsip_endpt.restype = _PTR
        self._lib.pjsip_endpt_register_module.argtypes = [_PTR, _PTR]
        self._lib.pjsip_endpt_unregister_module.argtypes = [_PTR, _PTR]
        self._lib.pjsip_endpt_respond_stateless.argtypes = [_PTR, _PTR, ctypes.c_int, _PTR, _PTR, _PTR]
        self._callback = _ON_RX(self._on_rx_request)  # kept alive as long as pjsip may call it
        self._name = ctypes.create_string_buffer(b"mod-vocalia-guard")
        self._module = _Module(
            name=_PjStr(ctypes.cast(self._name, ctypes.c_char_p), 17),
            id=-1,
            priority=_MODULE_PRIORITY,
            on_rx_request=self._callback,
        )
        self._endpt: int | None = None
        self._probe: tuple[str, str, int] | None = None  # (call-id, address, port) of the self-check
        self.checked = False

    def install(self) -> None:
        """Register the module with pjsip (after ``libInit``)."""
        self._endpt = self._lib.pjsua_get_pjsip_endpt()
        status = self._lib.pjsip_endpt_register_module(self._endpt, ctypes.byref(self._module))
        if status != 0:
            raise ConfigError(f"SIP perimeter cannot be installed (pjsip status {status})")

    def remove(self) -> None:
        """Unregister the module (before ``libDestroy``)."""
        if self._endpt is not None:
            self._lib.pjsip_endpt_unregister_module(self._endpt, ctypes.byref(self._module))
            self._endpt = None

    def self_check(self, pump: object, host: str, port: int, transport: str) -> None:
        """Send one marked OPTIONS from a known address and port and check the module read both.

        ``pump`` runs pjsip's events for 10 ms (``Endpoint.libHandleEvents``).

        Raises:
            ConfigError: the module did not read the request as sent (another pjsip build's layout).
        """
        address = "127.0.0.1" if host in ("0.0.0.0", "") else ("::1" if host == "::" else host)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        with socket.socket(family, kind) as probe:
            probe.bind((address, 0))
            probe.setblocking(False)
            source_port = probe.getsockname()[1]
            call_id = f"vocalia-selfcheck-{secrets.token_hex(8)}"
            self._probe = (call_id, address, source_port)
            where = f"[{address}]" if ":" in address else address
            message = (
                f"OPTIONS sip:selfcheck@{where}:{port} SIP/2.0\r\n"
                f"Via: SIP/2.0/{transport.upper()} {where}:{source_port};branch=z9hG4bK{call_id[-16:]}\r\n"
                f"From: <sip:selfcheck@{where}>;tag=1\r\nTo: <sip:selfcheck@{where}>\r\n"
                f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
            ).encode()
            try:
                if kind == socket.SOCK_DGRAM:
                    probe.sendto(message, (address, port))
                else:
                    probe.setblocking(True)
                    probe.settimeout(1)
                    probe.connect((address, port))
                    probe.sendall(message)
            except OSError as err:
                raise ConfigError(f"SIP perimeter self-check could not reach {address}:{port} ({err})") from None
            deadline = time.monotonic() + 2
            while not self.checked and time.monotonic() < deadline:
                pump(10)  # type: ignore[operator]
        self._probe = None
        if not self.checked:
            raise ConfigError(
                "SIP perimeter self-check failed: this pjsua2 build's receive buffer is not laid out as "
                "pjsip 2.15.1's; install the pinned pjsua2-python (scripts/setup) and start again"
            )

    # ---- called by pjsip for every request, on the SIP thread ------------------------------------
    def _on_rx_request(self, rdata: int) -> int:
        try:
            return self._judge(rdata)
        except Exception:  # an exception must not cross into C; refuse what cannot be judged
            _LOGGER.exception("SIP perimeter failed on a request; dropped it")
            return 1

    def _judge(self, rdata: int) -> int:
        rx = _RxData.from_address(rdata)
        source = rx.pkt_info.src_name.decode("ascii", "replace")
        start = rx.msg_info.msg_buf
        length = rx.msg_info.len
        packet = rdata + _RxData.pkt_info.offset + _PacketInfo.packet.offset
        if not (start and packet <= start and length > 0 and start + length <= packet + _MAX_PKT_LEN):
            _LOGGER.error("SIP perimeter cannot read a request from %s; dropped it", source)
            return 1
        parts = _HEADERS_END.split(ctypes.string_at(start, length), maxsplit=1)
        head, body = parts[0].decode("latin-1"), parts[1] if len(parts) > 1 else b""
        found = _CALL_ID.search(head)
        call_id = found.group(1).strip() if found else ""
        if self._probe is not None and call_id == self._probe[0]:
            self.checked = (source, rx.pkt_info.src_port) == self._probe[1:]
            return 1
        method = head.split(" ", 1)[0]
        agent = _USER_AGENT.search(head)
        refusal = self.policy.refusal(
            source,
            method,
            in_dialog=bool(_TO_TAG.search(head)),
            user_agent=agent.group(1) if agent else "",
            streams=len(_MEDIA_LINE.findall(body)),
            call_id=call_id,
        )
        if refusal is None:
            if self._note_ipv6 and method == "INVITE" and _IPV6_MEDIA.search(body):
                self.ipv6_offers.append(call_id)
            if self._on_accept is not None:
                self._on_accept()
            return 0
        self.events.refused(source, refusal)
        if refusal.status:
            self._lib.pjsip_endpt_respond_stateless(self._endpt, rdata, refusal.status, None, None, None)
        return 1
