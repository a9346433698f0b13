"""More lines than one daemon holds (issue #17): kamailio's dispatcher in front of three workers.

``appliance run --workers 3`` starts kamailio on the SIP port and three daemons behind it, each with
its four lines. Real callers (baresip) call kamailio's port only; the daemons share one store.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from faster_whisper import WhisperModel

from appliance.audio.files import write_wav
from appliance.config import ApplianceConfig, ScaleConfig, SipConfig
from appliance.errors import ConfigError
from appliance.scale.kamailio import check, render
from appliance.scale.supervisor import worker_config
from appliance.testing import baresip_setup, free_port, free_ports, sip_request
from tests.conftest import APPLIANCE, ROOT, daemon_store, start_daemon, transcribe, wait_for

WORKERS = 3
PROBE_S = 2
TOKEN = "it-token-for-the-scale-test"
# spaces left out: Whisper writes "Demo Clinic" as "democlinic" on some CPUs (AVX2) and not others
GREETING = "thankyouforcallingdemoclinic"


@dataclass
class Cluster:
    sip_port: int
    web_port: int
    proc: subprocess.Popen[str]
    state: Path
    workers: int = WORKERS

    def health(self, index: int) -> dict:  # type: ignore[type-arg]
        return httpx.get(f"http://127.0.0.1:{self.web_port + index}/healthz", timeout=2).json()  # type: ignore[no-any-return]

    def calls(self) -> list[int]:
        """Each worker's calls in progress (-1: it does not answer)."""
        counts = []
        for index in range(self.workers):
            try:
                counts.append(self.health(index)["sip"]["active_calls"])
            except (httpx.HTTPError, KeyError, ValueError):
                counts.append(-1)
        return counts


def run_cluster(env: dict[str, str], tmp_path: Path, workers: int, **extra: str) -> Iterator[Cluster]:
    """``appliance run --workers N`` on loopback until the generator is closed; yields once all answer."""
    sip_port, web_port = free_port(), free_ports(workers)
    env = {
        **env,
        "VOCALIA_SIP_PORT": str(sip_port),
        "VOCALIA_WEB_PORT": str(web_port),
        "VOCALIA_WEB_TOKEN": TOKEN,
        "VOCALIA_SCALE_WORKER_PORT": str(free_ports(workers)),
        "VOCALIA_SCALE_PROBE_S": str(PROBE_S),
        "VOCALIA_SIP_LOG_LEVEL": "0",
        "VOCALIA_BUSINESS_LANGUAGE": "en",  # one voice: the workers load and warm up faster on 2 cores
        **extra,
    }
    log = (tmp_path / "cluster.log").open("w")
    with subprocess.Popen(
        [*APPLIANCE, "run", "--workers", str(workers)], env=env, cwd=ROOT, stderr=log, text=True
    ) as proc:
        cluster = Cluster(sip_port, web_port, proc, Path(env["VOCALIA_STATE_DIR"]), workers)
        try:
            wait_for(lambda: proc.poll() is not None or min(cluster.calls()) == 0, 180, "the workers answering")
            assert proc.poll() is None, (tmp_path / "cluster.log").read_text()[-3000:]
            yield cluster
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=40) == 0, "the supervisor must stop its workers and exit cleanly"
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()


@pytest.fixture
def cluster(env: dict[str, str], tmp_path: Path) -> Iterator[Cluster]:
    yield from run_cluster(env, tmp_path, WORKERS)


def callers(cluster: Cluster, workdir: Path, count: int, seconds: int) -> list[subprocess.Popen[bytes]]:
    """``count`` baresip phones calling kamailio's port at once, silent for ``seconds``, recording."""
    silence = workdir / "silence.wav"
    write_wav(silence, np.zeros(seconds * 8000, np.int16), 8000)
    phones = []
    for n in range(count):
        config = baresip_setup(workdir / f"phone{n}", silence, user=f"+1415555{n:04d}")
        cmd = [
            "baresip",
            "-f",
            str(config),
            "-e",
            f"/dial sip:reception@127.0.0.1:{cluster.sip_port}",
            "-t",
            str(seconds),
        ]
        phones.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    return phones


def heard(listener: WhisperModel, phone_dir: Path) -> str:
    recordings = sorted((phone_dir / "rec").glob("*-dec.wav"))
    return transcribe(listener, recordings[-1]) if recordings else ""


@pytest.mark.slow
def test_twelve_callers_at_once_are_answered_by_three_workers_and_hear_the_greeting(
    cluster: Cluster, tmp_path: Path, listener: WhisperModel
) -> None:
    phones = callers(cluster, tmp_path, 12, 12)
    try:
        wait_for(lambda: sum(max(0, n) for n in cluster.calls()) == 12, 30, "12 calls up")
        assert cluster.calls() == [4, 4, 4], "each worker holds its four lines"
        page = httpx.get(
            f"http://127.0.0.1:{cluster.web_port}/api/status", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
        ).json()
        assert [(w["index"], w["status"], w["active_calls"]) for w in page["workers"]] == [
            (0, "ok", 4),
            (1, "ok", 4),
            (2, "ok", 4),
        ], "worker 0's status page shows every worker"
    finally:
        for phone in phones:
            phone.wait(timeout=40)
    texts = [heard(listener, tmp_path / f"phone{n}") for n in range(12)]
    assert all(GREETING in "".join(t.split()) for t in texts), texts
    # kamailio holds the perimeter now: a scanner gets nothing, a phone's keep-alive its 200
    assert sip_request(cluster.sip_port, "INVITE", "friendly-scanner") == []
    assert sip_request(cluster.sip_port, "OPTIONS", "Yealink SIP-T46S")[-1].startswith("SIP/2.0 200")
    assert "SECURITY event=sip_scanner src=127.0.0.1" in (tmp_path / "cluster.log").read_text()
    store = daemon_store(cluster.state)
    rows = list(store.db.table("calls").rows)
    assert len(rows) == 12 and all(r["ended_at"] for r in rows), "one store: every worker's calls in it"


@pytest.mark.slow
def test_a_worker_killed_mid_call_drops_its_calls_and_the_next_callers_reach_the_others(
    cluster: Cluster, tmp_path: Path, listener: WhisperModel
) -> None:
    first = callers(cluster, tmp_path / "first", 3, 20)
    wait_for(lambda: sum(max(0, n) for n in cluster.calls()) == 3, 30, "3 calls up")
    victim = next(k for k, n in enumerate(cluster.calls()) if k > 0 and n > 0)  # not worker 0: it has the page
    pid, lost = cluster.health(victim)["worker"]["pid"], cluster.calls()[victim]
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    second = callers(cluster, tmp_path / "second", 4, 10)  # before kamailio's next probe finds it dead
    live = [k for k in range(WORKERS) if k != victim]
    wait_for(lambda: sum(cluster.calls()[k] for k in live) == 3 - lost + 4, 20, "the new calls on the live workers")
    print(f"4 new calls up on the live workers {time.monotonic() - killed:.1f} s after the kill")
    for phone in [*first, *second]:
        phone.wait(timeout=40)
    texts = [heard(listener, tmp_path / "second" / f"phone{n}") for n in range(4)]
    assert all(GREETING in "".join(t.split()) for t in texts), texts
    # the supervisor restarts the killed worker; it answers again under a new process
    wait_for(lambda: cluster.calls()[victim] >= 0, 60, "the killed worker back")
    assert cluster.health(victim)["worker"]["pid"] != pid
    store = daemon_store(cluster.state)
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = list(store.db.table("calls").rows)
    assert len(rows) == 3 + 4, "every call answered is in the store, the killed worker's too"
    unfinished = [r for r in rows if not r["ended_at"]]
    assert len(unfinished) == lost, "the killed worker's calls were cut, the others ended normally"


def scale_config(**sip: str | int) -> ApplianceConfig:
    return ApplianceConfig(state_dir="/tmp/x", sip=SipConfig(**sip), scale=ScaleConfig(workers=3))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "sip",
    [
        {"host": "::"},
        {"host": "127.0.0.1", "transports": "udp"},
        {"host": "0.0.0.0", "registrar": "sip:127.0.0.1:5080", "username": "100", "allow": "192.0.2.0/24"},
    ],
)
def test_the_generated_kamailio_configuration_is_one_kamailio_accepts(tmp_path: Path, sip: dict[str, str]) -> None:
    config = scale_config(**sip)
    text, dispatchers = render(config, tmp_path)
    (tmp_path / "kamailio.cfg").write_text(text)
    (tmp_path / "dispatcher.list").write_text(dispatchers)
    checked = subprocess.run(["kamailio", "-c", "-f", str(tmp_path / "kamailio.cfg")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr[-2000:]
    assert dispatchers.splitlines() == ["1 sip:127.0.0.1:5070", "1 sip:127.0.0.1:5071", "1 sip:127.0.0.1:5072"]


def test_each_worker_gets_its_own_ports_and_only_worker_0_registers_with_kamailio_as_contact() -> None:
    config = scale_config(
        host="127.0.0.1", port=5060, registrar="sip:127.0.0.1:5080", username="100", allow="192.0.2.0/24"
    )
    first, second = worker_config(config, 0), worker_config(config, 1)
    assert (first.sip.port, second.sip.port) == (5070, 5071)
    assert (first.web.port, second.web.port, second.web.host) == (8080, 8081, "127.0.0.1")
    assert first.sip.registrar and first.sip.contact == "sip:100@127.0.0.1:5060", "the PBX calls kamailio"
    assert not second.sip.registrar and second.sip.outbound_uri == "sip:{number}@127.0.0.1:5080"
    assert second.sip.allow == "192.0.2.0/24, 127.0.0.1/32", "kamailio's forwarded calls pass the allow-list"
    cores = os.cpu_count() or 2
    assert first.models.stt_threads == max(1, cores // 3), "the cores shared out among the workers"


@pytest.mark.parametrize(
    ("scale", "sip", "fix"),
    [
        ({"workers": 3, "worker_port": 5059}, {"port": 5060}, "move [scale] worker_port"),
        ({"workers": 2}, {"tls_port": 5061}, "use one worker"),
        ({"workers": 0}, {}, "use 1 (one daemon) or more"),
    ],
)
def test_a_scale_that_cannot_work_is_refused_with_the_fix(scale: dict[str, int], sip: dict[str, int], fix: str) -> None:
    config = ApplianceConfig(sip=SipConfig(**sip), scale=ScaleConfig(**scale))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=re.escape(fix)):
        check(config)


@pytest.mark.slow
def test_another_box_behind_the_same_kamailio_takes_its_share_and_its_death_loses_no_caller(
    env: dict[str, str], tmp_path: Path, listener: WhisperModel
) -> None:
    """Two appliances on two addresses (127.0.0.1 with 2 workers and kamailio, 127.0.0.2 a plain daemon
    told that kamailio is in front), each with its own store, as two boxes of one practice would be."""
    other_env = {**env, "VOCALIA_STATE_DIR": str(tmp_path / "other-box"), "VOCALIA_BUSINESS_LANGUAGE": "en"}
    other_box = start_daemon(other_env, VOCALIA_SIP_HOST="127.0.0.2", VOCALIA_SIP_FRONT="127.0.0.1")
    other = next(other_box)
    this_box = run_cluster(env, tmp_path, 2, VOCALIA_SCALE_PEERS=f"sip:127.0.0.2:{other.sip_port}")
    cluster = next(this_box)
    try:
        phones = callers(cluster, tmp_path / "first", 6, 10)
        wait_for(lambda: sum(cluster.calls()) + other.health()["sip"]["active_calls"] == 6, 30, "6 calls up")
        here, there = cluster.calls(), other.health()["sip"]["active_calls"]
        assert min(here) >= 1 and there >= 1, ("every destination took calls", here, there)
        for phone in phones:
            phone.wait(timeout=40)
        texts = [heard(listener, tmp_path / "first" / f"phone{n}") for n in range(6)]
        assert all(GREETING in "".join(t.split()) for t in texts), texts
        other.proc.send_signal(signal.SIGKILL)
        other.proc.wait(timeout=10)
        phones = callers(cluster, tmp_path / "second", 3, 8)
        for phone in phones:
            phone.wait(timeout=40)
        texts = [heard(listener, tmp_path / "second" / f"phone{n}") for n in range(3)]
        assert all(GREETING in "".join(t.split()) for t in texts), ("the box that died was skipped", texts)
        here_rows = list(daemon_store(cluster.state).db.table("calls").rows)
        there_rows = list(daemon_store(other.state).db.table("calls").rows)
        assert len(here_rows) == 6 - there + 3 and len(there_rows) == there, "each box keeps its own calls"
        next(this_box, None)  # its clean stop, checked
    finally:
        this_box.close()
        other_box.close()  # killed above: nothing left to stop


def test_a_supervisor_killed_with_sigkill_takes_its_children_with_it(tmp_path: Path) -> None:
    """Outside systemd nothing else would stop them: an orphaned worker or kamailio keeps the SIP ports,
    and the next start fails on them."""
    script = (
        "import os, sys, time\n"
        "from appliance.scale.supervisor import _Child\n"
        "child = _Child('worker 0', ['sleep', '300'], dict(os.environ))\n"
        "child.start()\n"
        "print(child.proc.pid, flush=True)\n"
        "time.sleep(300)\n"
    )
    with subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True) as supervisor:
        assert supervisor.stdout is not None
        child = int(supervisor.stdout.readline())
        os.kill(child, 0)  # running
        supervisor.kill()
        supervisor.wait(timeout=10)

    def gone() -> bool:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            return True
        return Path(f"/proc/{child}/stat").read_text().split()[2] == "Z"  # ended, not reaped by init here

    wait_for(gone, 10, "the child to stop with its supervisor")
