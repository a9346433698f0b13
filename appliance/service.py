"""Living under systemd: readiness and watchdog notifications, and secrets from credentials.

``Type=notify`` units get ``READY=1`` once the models are loaded and SIP listens, and ``WATCHDOG=1``
from the event loop at half the ``WatchdogSec`` interval while the daemon is healthy: a stuck loop or
a dead SIP stack stops the pings and systemd restarts the service. Outside systemd (no
``NOTIFY_SOCKET``) every call is a no-op.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path

_LOGGER = logging.getLogger(__name__)
CREDENTIAL = "vocalia.env"


class Notifier:
    """Sends sd_notify datagrams to ``$NOTIFY_SOCKET``."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        address = env.get("NOTIFY_SOCKET", "")
        self.address = "\0" + address[1:] if address.startswith("@") else address
        usec = env.get("WATCHDOG_USEC", "")
        self.watchdog_s = int(usec) / 1e6 if usec.isdigit() else None

    def notify(self, message: str) -> None:
        """Send one message (``READY=1``, ``WATCHDOG=1``, ``STATUS=...``, ``STOPPING=1``)."""
        if not self.address:
            return
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            try:
                sock.sendto(message.encode(), self.address)
            except OSError as err:
                _LOGGER.warning("cannot notify systemd (%s): %s", message.split("=")[0], err)

    async def watchdog(self, healthy: Callable[[], bool]) -> None:
        """Ping the watchdog at half its interval while ``healthy()`` holds; runs until cancelled."""
        if not self.address or self.watchdog_s is None:
            return
        fed = True
        while True:
            await asyncio.sleep(self.watchdog_s / 2)
            ok = healthy()
            if ok:
                self.notify("WATCHDOG=1")
            elif fed:
                _LOGGER.error("unhealthy: the watchdog is no longer fed; systemd will restart the service")
            fed = ok


def load_credentials(env: MutableMapping[str, str]) -> int:
    """Copy ``VAR=value`` lines of the ``vocalia.env`` credential (``LoadCredential=``) into ``env``,
    without overriding what is already set. Returns how many were read."""
    directory = env.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return 0
    path = Path(directory) / CREDENTIAL
    if not path.is_file():
        return 0
    count = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        name, sep, value = line.strip().partition("=")
        if sep and name and not name.startswith("#"):
            env.setdefault(name.strip(), value.strip())
            count += 1
    return count
