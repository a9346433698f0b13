"""The SIP policy and security events.

Security events have one fixed, single-line format that fail2ban (``fail2ban/``) and a SIEM can match:
``SECURITY event=<name> src=<address> detail="<text>"`` at WARNING on the ``appliance.security`` logger.
The detail never holds PHI (no caller number, no transcript), a control character or "=": what a peer
sent (a User-Agent) is quoted with those replaced, so that it can neither break the line nor forge a field.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass

from .errors import ConfigError

_LOGGER = logging.getLogger("appliance.security")
# User-Agents of SIP scanners seen on the Internet (SIPVicious and its look-alikes).
SCANNERS = re.compile(r"friendly-scanner|sipvicious|sipcli|sip-scan|vaxsipuseragent|sundayddr|iwar|pplsip|smap", re.I)
# A detail may quote what a peer sent: without "=" it cannot hold a forged "src=<someone else>" that
# fail2ban would match and ban (a way to make the box ban its own PBX).
_FORGEABLE = re.compile(r"[^\x20-\x7e]|=")
# Media streams (m= lines) an offer may have: each costs an RTP and an RTCP socket at answer time, and
# pjlib's I/O queue (64 sockets in this build) aborts the process when full: 16 streams in two calls did.
MAX_OFFER_STREAMS = 2  # audio and video, or the two audio lines of an "SRTP best effort" phone
# A call's RTP and RTCP sockets are reused only seconds after it ends. The fuzzer's back-to-back calls
# (dozens a second) filled the queue with one-stream calls, 16 calls of 2 streams within 5 s did too, and 20
# such calls a second apart did not. So new calls, from all sources together, are admitted at this many
# media streams a second with this burst (one-stream calls: 2 a second, 8 at once); more get 503 (a hunt
# group moves on). A receptionist with 4 lines never needs more.
NEW_STREAMS_PER_S = 2.0
NEW_STREAMS_BURST = 8.0
RETRANSMISSION_S = 32.0  # how long a retransmitted INVITE (same Call-ID) is recognized: SIP's Timer B
# Requests that belong to a transaction or dialog already under way even without a To tag.
_DIALOG_METHODS = frozenset({"ACK", "CANCEL"})


def security_event(event: str, src: str, detail: str = "") -> None:
    """Log one security event (``src``: the peer's IP address, without port)."""
    clean = _FORGEABLE.sub("?", detail.replace('"', "'"))[:200]
    _LOGGER.warning('SECURITY event=%s src=%s detail="%s"', event, _FORGEABLE.sub("?", src)[:64] or "-", clean)


def uri_host(uri: str, port: bool = False) -> str:
    """The host of a SIP URI ("sip:100@pbx.lan:5080;transport=udp" -> "pbx.lan"; with ``port``,
    "pbx.lan:5080"), or "" when it names none. An IPv6 host loses its brackets unless ``port``."""
    found = re.match(r"sips?:(?:[^@;>]*@)?(\[[^\]]+\]|[^:;>]+)(:\d+)?", uri.strip())
    if not found:
        return ""
    return found.group(1) + (found.group(2) or "") if port else found.group(1).strip("[]")


def scanner(user_agent: str) -> bool:
    """Whether a SIP User-Agent is a known scanner's."""
    return bool(SCANNERS.search(user_agent))


def parse_networks(text: str, key: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated CIDR networks.

    Raises:
        ConfigError: one is not a network; the message names ``key``.
    """
    try:
        return [ipaddress.ip_network(n.strip(), strict=False) for n in text.split(",") if n.strip()]
    except ValueError as err:
        raise ConfigError(f"{key} = {text!r}: {err}; write networks as CIDR, e.g. 192.0.2.0/24") from None


REFUSAL_REASONS = ("source", "scanner", "rate", "register", "offer")


@dataclass(frozen=True)
class Refusal:
    """Why a request is refused: a counter name, a security event, and the answer (0: none at all)."""

    reason: str  # one of REFUSAL_REASONS
    event: str
    detail: str
    status: int = 0


class _Window:
    """Request times of one source over the last minute."""

    def __init__(self) -> None:
        self.all: deque[float] = deque()
        self.invites: deque[float] = deque()


class SipPolicy:
    """Who may send what: the allow-list, scanner User-Agents, per-source rates, REGISTER.

    Requests from outside ``allow`` and scanners get no answer at all: a scan finds nothing to attack.
    Out-of-dialog requests (new calls, OPTIONS, REGISTER...) are limited per source and minute; requests
    inside a call (a To tag, ACK, CANCEL) are not, so a call in progress never loses its BYE.
    """

    MAX_SOURCES = 4096  # rate windows kept; more are pruned (a spoofed-source flood cannot grow memory)

    def __init__(self, allow: str, invites_per_minute: int, requests_per_minute: int, front: str = "") -> None:
        self.networks = parse_networks(allow, "[sip] allow")
        # kamailio's dispatcher in front ([scale] workers > 1): every caller reaches this worker from its
        # address, so it is not limited per source here; kamailio limits each real source (pike)
        self.front = front
        self.invites_per_minute = invites_per_minute
        self.requests_per_minute = requests_per_minute
        self._windows: dict[str, _Window] = {}
        self._tokens = NEW_STREAMS_BURST
        self._filled = 0.0
        self._admitted: dict[str, float] = {}  # Call-ID of INVITEs let through -> when

    def allow_addresses(self, addresses: Iterable[str]) -> None:
        """Allow these addresses too (the registrar's, resolved at start)."""
        self.networks += [ipaddress.ip_network(address) for address in addresses]

    def allowed(self, source: str) -> bool:
        """Whether ``source`` (an IP address) is in the allow-list."""
        try:
            address = ipaddress.ip_address(source)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def refusal(
        self,
        source: str,
        method: str,
        in_dialog: bool = False,
        user_agent: str = "",
        streams: int = 0,
        call_id: str = "",
        now: float | None = None,
    ) -> Refusal | None:
        """Why a request is refused, or None to let pjsua2 handle it (called once per received request).

        ``streams``: the m= lines of its body, when it carries SDP. ``call_id``: its Call-ID, so that a
        retransmitted INVITE passes as its first copy did, without counting again.
        """
        if not self.allowed(source):
            return Refusal("source", "sip_source_refused", f"{method} dropped: source not in [sip] allow")
        if scanner(user_agent):
            return Refusal("scanner", "sip_scanner", f"{method} dropped: scanner User-Agent {user_agent.strip()}")
        if streams > MAX_OFFER_STREAMS and method in ("INVITE", "UPDATE"):
            detail = f"{method} answered 488: {streams} media streams offered, at most {MAX_OFFER_STREAMS} taken"
            return Refusal("offer", "sip_offer_refused", detail, 488)
        if in_dialog or method in _DIALOG_METHODS:
            return None
        now = time.monotonic() if now is None else now
        if source == self.front:
            return self._admit(call_id, now, streams) if method == "INVITE" else None
        if method == "INVITE" and call_id and now - self._admitted.get(call_id, -RETRANSMISSION_S) < RETRANSMISSION_S:
            return None
        window = self._window(source, now)
        window.all.append(now)
        if len(window.all) > self.requests_per_minute:
            return Refusal("rate", "sip_rate_limited", f"{method} dropped: over {self.requests_per_minute} a minute")
        if method == "INVITE":
            window.invites.append(now)
            if len(window.invites) > self.invites_per_minute:
                return Refusal("rate", "sip_rate_limited", f"INVITE dropped: over {self.invites_per_minute} a minute")
            return self._admit(call_id, now, streams)
        if method == "REGISTER":
            return Refusal(
                "register", "sip_register_probe", "REGISTER answered 405: the appliance is no registrar", 405
            )
        return None

    def _admit(self, call_id: str, now: float, streams: int) -> Refusal | None:
        """A new call of ``streams`` media streams, if the all-sources rate allows it."""
        cost = max(1, streams)
        self._tokens = min(NEW_STREAMS_BURST, self._tokens + (now - self._filled) * NEW_STREAMS_PER_S)
        self._filled = now
        if self._tokens < cost:
            detail = f"INVITE answered 503: new calls over {NEW_STREAMS_PER_S:g} media streams a second"
            return Refusal("rate", "sip_rate_limited", detail, 503)
        self._tokens -= cost
        if len(self._admitted) >= self.MAX_SOURCES:
            self._admitted = {c: t for c, t in self._admitted.items() if now - t < RETRANSMISSION_S}
        if call_id:
            self._admitted[call_id] = now
        return None

    def _window(self, source: str, now: float) -> _Window:
        if source not in self._windows and len(self._windows) >= self.MAX_SOURCES:
            self._windows = {s: w for s, w in self._windows.items() if w.all and now - w.all[-1] <= 60}
            if len(self._windows) >= self.MAX_SOURCES:
                self._windows.clear()
        window = self._windows.setdefault(source, _Window())
        for times in (window.all, window.invites):
            while times and now - times[0] > 60:
                times.popleft()
        return window


class SecurityEvents:
    """Counts refusals and logs them, at most ``burst`` lines per source and minute.

    Past the burst, a source's refusals are counted and summed up in one ``sip_flood`` line when its
    minute is over: a flood cannot fill the journal or starve a call of CPU with log writes.
    """

    def __init__(self, burst: int = 5, window_s: float = 60.0, max_sources: int = 4096) -> None:
        self.counts: Counter[str] = Counter()
        self.burst = burst
        self.window_s = window_s
        self.max_sources = max_sources
        self._sources: dict[str, list[float]] = {}  # source -> [window start, lines logged, refusals not logged]

    def refused(self, source: str, refusal: Refusal, now: float | None = None) -> None:
        """Count one refusal and log it unless its source is past its burst."""
        now = time.monotonic() if now is None else now
        self.counts[refusal.reason] += 1
        entry = self._sources.get(source)
        if entry is None or now - entry[0] >= self.window_s:
            if entry is not None:
                self._summarize(source, entry)
            elif len(self._sources) >= self.max_sources:
                self.flush(now=float("inf"))
            entry = self._sources[source] = [now, 0, 0]
        if entry[1] < self.burst:
            entry[1] += 1
            security_event(refusal.event, source, refusal.detail)
        else:
            entry[2] += 1

    def flush(self, now: float | None = None) -> None:
        """Sum up the sources whose minute is over (the SIP thread calls this every second)."""
        now = time.monotonic() if now is None else now
        for source, entry in list(self._sources.items()):
            if now - entry[0] >= self.window_s:
                self._summarize(source, entry)
                del self._sources[source]

    def _summarize(self, source: str, entry: list[float]) -> None:
        if entry[2]:
            security_event("sip_flood", source, f"{entry[2]:.0f} more requests refused within {self.window_s:g} s")
