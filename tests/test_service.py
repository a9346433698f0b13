"""Running under systemd: a hardened unit, READY/WATCHDOG notifications, secrets from credentials."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from appliance.service import load_credentials

from .conftest import ROOT, start_daemon

UNIT = ROOT / "systemd" / "vocalia-appliance.service"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is part of systemd (Debian)")
def test_the_unit_is_hardened() -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", str(UNIT)], capture_output=True, text=True, timeout=60
    )
    score = float(re.search(r"Overall exposure level for \S+: ([\d.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    assert score <= 2.0, result.stdout
    text = UNIT.read_text()
    assert "Type=notify" in text and "WatchdogSec=" in text and "LoadCredential=" in text


@pytest.mark.slow
def test_the_daemon_says_ready_then_feeds_the_watchdog(env: dict[str, str], tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(path)
    listener.settimeout(60)
    try:
        started = time.monotonic()
        for _daemon in start_daemon(env, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000"):
            messages = [listener.recv(4096).decode() for _ in range(3)]
            assert messages[0].startswith("READY=1\nSTATUS=answering on udp:127.0.0.1:")
            assert messages[1:] == ["WATCHDOG=1", "WATCHDOG=1"]
            assert time.monotonic() - started < 60
    finally:
        listener.close()


def test_secrets_come_from_the_credential_file(tmp_path: Path) -> None:
    (tmp_path / "vocalia.env").write_text(
        "# from /etc/vocalia/credentials.env\nVOCALIA_SIP_PASSWORD=s3cret\nHOOK_SECRET = abc\n"
    )
    env = {"CREDENTIALS_DIRECTORY": str(tmp_path), "HOOK_SECRET": "already set"}
    assert load_credentials(env) == 2
    assert env["VOCALIA_SIP_PASSWORD"] == "s3cret" and env["HOOK_SECRET"] == "already set"
    assert load_credentials({}) == 0
