"""Security events: one fixed, single-line format that fail2ban (``fail2ban/``) and a SIEM can match.

``SECURITY event=<name> src=<address> detail="<text>"`` at WARNING on the ``appliance.security`` logger.
The detail never holds PHI: no caller number, no transcript.
"""

from __future__ import annotations

import logging
import re

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
