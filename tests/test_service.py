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

from .conftest import ROOT, run_appliance, start_daemon

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


def test_install_and_uninstall_are_idempotent_and_keep_edits(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin:/usr/sbin:/sbin", "VOCALIA_ROOT": str(tmp_path)}
    for _ in range(2):
        result = subprocess.run([str(ROOT / "scripts" / "install-service")], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    config = tmp_path / "etc" / "vocalia" / "appliance.toml"
    assert (tmp_path / "etc" / "systemd" / "system" / "vocalia-appliance.service").read_text() == UNIT.read_text()
    assert (tmp_path / "opt" / "vocalia" / "appliance" / "daemon.py").is_file()
    assert oct((tmp_path / "etc" / "vocalia" / "credentials.env").stat().st_mode & 0o777) == "0o600"
    key = tmp_path / "etc" / "vocalia" / "db.key"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    assert re.fullmatch(r"[0-9a-f]{64}\n", key.read_text()), "32 random bytes as 64 hex characters"
    assert "LoadCredential=db.key:/etc/vocalia/db.key" in UNIT.read_text()
    first_key = key.read_text()
    config.write_text('[business]\nprofile = "/etc/vocalia/clinic.toml"\n')
    again = subprocess.run([str(ROOT / "scripts" / "install-service")], env=env, capture_output=True, text=True)
    assert "keeping your" in again.stdout and config.read_text().startswith("[business]")
    assert key.read_text() == first_key, "the database key is never replaced: the data would be lost with it"
    for _ in range(2):
        result = subprocess.run([str(ROOT / "scripts" / "uninstall-service")], env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
    assert not (tmp_path / "etc" / "systemd" / "system" / "vocalia-appliance.service").exists()
    assert config.exists(), "the config is kept without --purge"
    assert key.read_text() == first_key, "so is the database key"
    purge = subprocess.run(
        [str(ROOT / "scripts" / "uninstall-service"), "--purge"], env=env, capture_output=True, text=True
    )
    assert (
        purge.returncode == 0
        and not (tmp_path / "etc" / "vocalia").exists()
        and not (tmp_path / "opt" / "vocalia").exists()
    )


def test_doctor_passes_on_the_defaults_and_names_each_fix(env: dict[str, str], tmp_path: Path) -> None:
    ok = run_appliance(["--log-level", "WARNING", "doctor"], env)
    assert ok.returncode == 0, ok.stdout
    assert all(line.startswith(("✔", " ")) for line in ok.stdout.splitlines()), ok.stdout
    assert "model stt" in ok.stdout and "whisper-base loads in" in ok.stdout
    broken = tmp_path / "integrations.toml"
    broken.write_text(
        '[[connector]]\nname = "crm"\nkind = "webhook"\ntools = ["take_message"]\nurl = "https://x.test"\nsecret_env = "VOCALIA_SECRET_CRM"\n'
    )
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy.bind(("127.0.0.1", int(env["VOCALIA_SIP_PORT"])))
    try:
        bad = run_appliance(["--log-level", "WARNING", "doctor"], {**env, "VOCALIA_INTEGRATIONS_FILE": str(broken)})
    finally:
        busy.close()
    assert bad.returncode == 1
    assert re.search(r"✘ SIP port\s+udp 127.0.0.1:\d+: Address already in use", bad.stdout), bad.stdout
    assert "✘ connectors" in bad.stdout and "VOCALIA_SECRET_CRM" in bad.stdout
    assert "fix: stop what holds the port" in bad.stdout
