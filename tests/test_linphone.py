"""A second real SIP client: Linphone 5.1 (Debian ``linphone-cli``) on a dual-stack host (issue #12).

The host is a private network namespace with loopback and one interface holding an IPv4 and an IPv6
address, each with a default route, as on a dual-stack office LAN; nothing leaves it. Linphone offers its
media on that interface's address, IPv6 first unless told to prefer IPv4.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import WhisperModel

from appliance.audio.files import write_wav
from appliance.sip.endpoint import IPV6
from appliance.testing import linphone_call, private_network
from tests.conftest import ROOT, Daemon, daemon_store, start_daemon, transcribe
from tests.sip_torture import DaemonLog

pytestmark = pytest.mark.slow

GREETING = "thankyouforcallingdemoclinic"
LAN = [
    "ip link add vocalia0 type veth peer name vocalia1",  # a cable to nowhere: the LAN interface
    "ip link set vocalia0 up",
    "ip link set vocalia1 up",
    "ip addr add 10.77.0.1/24 dev vocalia0",
    "ip -6 addr add fd77::1/64 dev vocalia0 nodad",
    "ip route add default dev vocalia0",
    "ip -6 route add default dev vocalia0",
]


@dataclass
class Host:
    daemon: Daemon
    log: DaemonLog
    caller: Path  # what the caller plays: silence, then it listens


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    work = tmp_path_factory.mktemp("linphone")
    caller = work / "silence.wav"
    write_wav(caller, np.zeros(40 * 8000, np.int16), 8000)
    env = {**os.environ, "VOCALIA_STATE_DIR": str(work / "state"), "PYTHONPATH": str(ROOT)}
    with private_network():
        for command in LAN:
            subprocess.run(command.split(), check=True)
        for daemon in start_daemon(env, VOCALIA_SIP_HOST="::"):
            yield Host(daemon, DaemonLog(daemon.proc.stderr), caller)


def heard_text(model: WhisperModel, wav: Path) -> str:
    return transcribe(model, wav).replace(" ", "")


def offered_family(output: Path) -> str:
    """The address family of the media Linphone offered (from its own log of the INVITE it sent)."""
    found = re.search(r"^c=IN (IP[46]) ", output.read_text(errors="replace"), re.MULTILINE)
    return found.group(1) if found else ""


def test_linphone_preferring_ipv4_media_hears_the_greeting(host: Host, listener: WhisperModel, tmp_path: Path) -> None:
    target = f"sip:reception@127.0.0.1:{host.daemon.sip_port}"
    call = linphone_call(tmp_path, target, host.caller, seconds=6)
    assert call.heard is not None, call.output[-2000:]
    assert offered_family(tmp_path / "linphone.log") == "IP4"
    assert GREETING in heard_text(listener, call.heard), heard_text(listener, call.heard)
    time.sleep(0.5)  # the daemon records the call's end after the BYE
    calls = [c for c in daemon_store(host.daemon.state).db.table("calls").rows if c["source"].startswith("sip:")]
    assert calls and calls[-1]["end_reason"] == "caller_hangup"


def test_linphone_offering_ipv6_media_is_served_or_told_why_not(
    host: Host, listener: WhisperModel, tmp_path: Path
) -> None:
    target = f"sip:reception@127.0.0.1:{host.daemon.sip_port}"
    call = linphone_call(tmp_path, target, host.caller, seconds=6, ipv6=True)
    assert offered_family(tmp_path / "linphone.log") == "IP6"  # as Linphone does on a dual-stack LAN
    if IPV6:
        assert call.heard is not None and GREETING in heard_text(listener, call.heard), call.output[-2000:]
    else:
        # This pjsua2 build cannot carry IPv6 media: the call is refused with 488 and the log says what to do.
        assert call.heard is None, call.output[-2000:]
        time.sleep(0.5)
        lines = [x for x in host.log.lines if "offered IPv6 media" in x]
        assert lines and "IPv4 media" in lines[-1], host.log.lines[-20:]
        assert host.daemon.health()["sip"]["ipv6_offers_refused"] >= 1
    assert host.daemon.health()["status"] == "ok"


@pytest.mark.skipif(not IPV6, reason="this pjsua2 build is compiled without IPv6 (PJ_HAS_IPV6=0): no SIP over IPv6")
def test_an_ipv6_only_call_is_answered(host: Host, listener: WhisperModel, tmp_path: Path) -> None:
    call = linphone_call(tmp_path, f"sip:reception@[::1]:{host.daemon.sip_port}", host.caller, seconds=6, ipv6=True)
    assert call.heard is not None and GREETING in heard_text(listener, call.heard), call.output[-2000:]
