"""Mail to the office carries names and numbers: it goes over verified STARTTLS unless the server is on
this box, against a real SMTP server (aiosmtpd) with a certificate of its own."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from appliance.dialog.tools import Action
from appliance.errors import ConfigError
from appliance.integrations.connectors import load_connectors
from appliance.testing import free_port

from .test_outbox import _Mailbox, deliver, integrations, setup


def smtp(host: str, port: int, extra: str = "") -> str:
    return (
        f'[[connector]]\nname = "office"\nkind = "smtp"\ntools = ["take_message"]\nhost = "{host}"\nport = {port}\n'
        f'sender = "reception@clinic.test"\nto = "office@clinic.test"\n{extra}'
    )


def certificate(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "mail.crt", tmp_path / "mail.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert)]
        + ["-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_mail_to_another_host_must_be_encrypted(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="would carry names and numbers unencrypted; set starttls = true"):
        load_connectors(integrations(tmp_path, smtp("mail.example.lan", 25)), {})
    assert load_connectors(integrations(tmp_path, smtp("mail.example.lan", 587, "starttls = true\n")), {})
    assert load_connectors(integrations(tmp_path, smtp("relay.lan", 25, "allow_plaintext = true\n")), {})


async def test_starttls_verifies_the_server_and_delivers(tmp_path: Path) -> None:
    cert, key = certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = _Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True)
    controller.start()
    message = {"caller_name": "Karen White", "phone": "+14155550142", "message": "Call me about my results"}
    (tmp_path / "untrusted").mkdir()
    (tmp_path / "trusted").mkdir()
    try:
        # A certificate nobody vouches for: the delivery fails (and is retried), nothing is sent in clear.
        store, outbox, connectors = setup(tmp_path / "untrusted", smtp("127.0.0.1", port, "starttls = true\n"))
        outbox.record("call-1", Action("take_message", message))
        await deliver(outbox, connectors, until=1.5)
        (row,) = outbox.rows()
        # Waiting for its retry, or stopped mid-retry (its lease then runs out and it is tried again).
        assert row.state in ("pending", "in_flight") and row.attempts >= 1, row
        assert "CERTIFICATE_VERIFY_FAILED" in (row.last_error or ""), row
        assert mailbox.messages == []
        store.close()
        # With the private CA named, the same mail goes through encrypted.
        extra = f'starttls = true\ncafile = "{cert}"\n'
        store, outbox, connectors = setup(tmp_path / "trusted", smtp("127.0.0.1", port, extra))
        outbox.record("call-1", Action("take_message", message))
        await deliver(outbox, connectors)
        assert [r.state for r in outbox.rows()] == ["delivered"]
        (raw,) = mailbox.messages
        assert b"message: Call me about my results" in raw
        store.close()
    finally:
        controller.stop()
