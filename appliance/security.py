"""Security events: one fixed, single-line format that fail2ban (``fail2ban/``) and a SIEM can match.

``SECURITY event=<name> src=<address> detail="<text>"`` at WARNING on the ``appliance.security`` logger.
The detail never holds PHI: no caller number, no transcript.
"""

from __future__ import annotations

import ipaddress
import logging
import re
import time
from collections import deque

from .errors import ConfigError

_LOGGER = logging.getLogger("appliance.security")
# User-Agents of SIP scanners seen on the Internet (SIPVicious and its look-alikes).
SCANNERS = re.compile(r"friendly-scanner|sipvicious|sipcli|sip-scan|vaxsipuseragent|sundayddr|iwar|pplsip|smap", re.I)


def security_event(event: str, src: str, detail: str = "") -> None:
    """Log one security event (``src``: the peer's IP address, without port)."""
    clean = detail.replace('"', "'").replace("\n", " ")[:200]
    _LOGGER.warning('SECURITY event=%s src=%s detail="%s"', event, src or "-", clean)


def scanner(user_agent: str) -> bool:
    """Whether a SIP User-Agent is a known scanner's."""
    return bool(SCANNERS.search(user_agent))


class SourcePolicy:
    """Allow-list of networks and a per-source rate limit for INVITEs (called on the SIP thread)."""

    def __init__(self, allow: str, per_minute: int) -> None:
        try:
            self.networks = [ipaddress.ip_network(n.strip(), strict=False) for n in allow.split(",") if n.strip()]
        except ValueError as err:
            raise ConfigError(f"[sip] allow = {allow!r}: {err}; write networks as CIDR, e.g. 192.0.2.0/24") from None
        self.per_minute = per_minute
        self._seen: dict[str, deque[float]] = {}

    def refusal(self, source: str, now: float | None = None) -> str | None:
        """Why a request from ``source`` (an IP address) is refused, or None to accept it."""
        try:
            address = ipaddress.ip_address(source)
        except ValueError:
            return "unparsable source address"
        if not any(address in network for network in self.networks):
            return "source not in [sip] allow"
        now = time.monotonic() if now is None else now
        seen = self._seen.setdefault(source, deque())
        while seen and now - seen[0] > 60:
            seen.popleft()
        seen.append(now)
        if len(seen) > self.per_minute:
            return f"more than {self.per_minute} INVITEs in a minute"
        return None
