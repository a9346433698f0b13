"""Kamailio's configuration for the dispatcher in front of the workers (``appliance kamailio-config``).

Kamailio takes ``[sip] port`` and hands each new call to one worker, round robin; a worker that answers
486 (its lines are full), 5xx or nothing at all passes the call to the next. It sends every worker an
OPTIONS each ``[scale] probe_s`` seconds and gives no call to one that missed one, until it answers again.
It record-routes, so the rest of a dialog goes through it too, but it never touches the SDP: media flows
straight between the caller and the worker.

It also holds the perimeter the workers held alone: the ``[sip] allow`` networks (and the registrar's
addresses), scanner User-Agents dropped without an answer, and new requests per source and second
limited by ``pike`` (the workers see only kamailio's address, so they cannot).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from ..config import ApplianceConfig
from ..errors import ConfigError
from ..security import SCANNERS, parse_networks, uri_host

_WILDCARDS = ("", "0.0.0.0", "::")


@dataclass(frozen=True)
class Worker:
    """One daemon behind the dispatcher: its index, its SIP address as kamailio reaches it, its web port."""

    index: int
    sip_host: str
    sip_port: int
    web_host: str
    web_port: int

    @property
    def uri(self) -> str:
        return f"sip:{self.sip_host}:{self.sip_port}"

    @property
    def health_url(self) -> str:
        return f"http://{self.web_host}:{self.web_port}/healthz"


def modules_dir() -> Path:
    """Where Debian's kamailio keeps its modules (the path names the architecture)."""
    found = sorted(Path("/usr/lib").glob("*/kamailio/modules"))
    return found[0] if found else Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")


def front_address(config: ApplianceConfig) -> str:
    """The address kamailio sends to the workers from (and the workers' own, for kamailio)."""
    host = config.sip.host
    return "127.0.0.1" if host in _WILDCARDS else host


def workers(config: ApplianceConfig) -> list[Worker]:
    """The workers ``[scale]`` describes."""
    s = config.scale
    host = front_address(config)
    web0 = "127.0.0.1" if config.web.host in _WILDCARDS else config.web.host
    return [
        Worker(k, host, s.worker_port + k, web0 if k == 0 else "127.0.0.1", config.web.port + k)
        for k in range(s.workers)
    ]


def peers(config: ApplianceConfig) -> list[str]:
    """The other appliances of ``[scale] peers``, as SIP URIs. Raises ConfigError for one that is not."""
    found = [p.strip() for p in config.scale.peers.split(",") if p.strip()]
    for peer in found:
        if not re.fullmatch(r"sip:[A-Za-z0-9.\-]+:\d+", peer):
            raise ConfigError(f"[scale] peers: {peer!r} is not a SIP URI with a port, e.g. sip:192.0.2.11:5060")
    return found


def fronted(config: ApplianceConfig) -> bool:
    """Whether kamailio runs in front: more than one worker, or other appliances to share the calls with."""
    return config.scale.workers > 1 or bool(peers(config))


def check(config: ApplianceConfig) -> None:
    """Raises ConfigError when ``[scale]`` cannot work with the rest of the configuration."""
    s, sip = config.scale, config.sip
    if s.workers < 1:
        raise ConfigError(f"[scale] workers = {s.workers}: use 1 (one daemon) or more")
    if not fronted(config):
        return
    if ":" in front_address(config):
        raise ConfigError(f"[sip] host = {sip.host!r}: the workers need an IPv4 address (or a wildcard)")
    ports = range(s.worker_port, s.worker_port + s.workers)
    if sip.port in ports or (sip.tls_port and sip.tls_port in ports):
        raise ConfigError(
            f"[scale] worker_port = {s.worker_port} with {s.workers} workers takes ports {ports.start}-"
            f"{ports.stop - 1}, which holds [sip] port {sip.port}; move [scale] worker_port"
        )
    if s.worker_port + s.workers > 65536:
        raise ConfigError(f"[scale] worker_port = {s.worker_port}: the workers' ports run past 65535")
    if sip.tls_port:
        raise ConfigError(
            "[sip] tls_port with [scale] workers > 1: kamailio in front does not carry TLS yet; use one worker"
        )
    if s.probe_s < 1:
        raise ConfigError(f"[scale] probe_s = {s.probe_s}: kamailio probes at most once a second; use 1 or more")


def _registrar_addresses(registrar: str) -> list[str]:
    host = uri_host(registrar)
    if not host:
        return []
    try:
        return sorted({str(info[4][0]) for info in socket.getaddrinfo(host, None)})
    except OSError:
        return []


def render(config: ApplianceConfig, runtime_dir: Path) -> tuple[str, str]:
    """Kamailio's configuration and its dispatcher list, for the workers of ``config``."""
    check(config)
    sip, s = config.sip, config.scale
    listen_host = "0.0.0.0" if sip.host in _WILDCARDS else sip.host
    transports = [t.strip() for t in sip.transports.split(",") if t.strip()]
    listens = "\n".join(f"listen={t}:{listen_host}:{sip.port}" for t in transports)
    networks = parse_networks(sip.allow, "[sip] allow")
    networks += [ipaddress.ip_network(a) for a in _registrar_addresses(sip.registrar)]
    allowed = " || ".join(f'is_in_subnet("$si", "{n}")' for n in networks) or "0"
    # pike counts new requests per source over units of 10 s: [sip] max_requests_per_minute spread over
    # them (a PBX sends all its calls from one address, so a burst of a dozen must pass)
    density = max(5, round(sip.max_requests_per_minute / 6))
    dispatcher_list = "".join(f"1 {uri}\n" for uri in [*(w.uri for w in workers(config)), *peers(config)])
    text = f"""#!KAMAILIO
# Generated by `appliance kamailio-config`: VocalIA Edge's dispatcher in front of {s.workers} workers
# and {len(peers(config))} other appliances.
debug=1
log_stderror=yes
log_prefix="{{kamailio}} "
children=4
{"disable_tcp=yes" if "tcp" not in transports else "tcp_children=2"}
{listens}
mpath="{modules_dir()}/"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "tmx.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "ipops.so"
loadmodule "pike.so"
loadmodule "dispatcher.so"

# a worker that sends nothing back within 2 s (killed, not yet probed) passes the call to the next one
modparam("tm", "fr_timer", 2000)
modparam("tm", "fr_inv_timer", 60000)
modparam("pike", "sampling_time_unit", 10)
modparam("pike", "reqs_density_per_unit", {density})
modparam("pike", "remove_latency", 20)
modparam("dispatcher", "list_file", "{runtime_dir / "dispatcher.list"}")
modparam("dispatcher", "flags", 2)
modparam("dispatcher", "ds_ping_method", "OPTIONS")
modparam("dispatcher", "ds_ping_from", "sip:dispatcher@{front_address(config)}")
modparam("dispatcher", "ds_ping_interval", {s.probe_s})
modparam("dispatcher", "ds_probing_mode", 1)
modparam("dispatcher", "ds_probing_threshold", 1)
modparam("dispatcher", "ds_inactive_threshold", 1)
modparam("dispatcher", "ds_ping_reply_codes", "class=2")

request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (ds_is_from_list("1")) {{ route(FROM_WORKER); exit; }}
    if (!({allowed})) {{
        xlog("L_WARN", "SECURITY event=sip_source_refused src=$si detail='$rm dropped: source not in [sip] allow'\\n");
        drop;
    }}
    if ($ua =~ "{SCANNERS.pattern}") {{
        xlog("L_WARN", "SECURITY event=sip_scanner src=$si detail='$rm dropped: scanner User-Agent'\\n");
        drop;
    }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here"); exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    if (!pike_check_req()) {{
        xlog("L_WARN", "SECURITY event=sip_rate_limited src=$si detail='$rm dropped: over {density} in 10 s'\\n");
        drop;
    }}
    if (is_method("OPTIONS")) {{ sl_send_reply("200", "OK"); exit; }}
    if (is_method("REGISTER")) {{ sl_send_reply("405", "Method Not Allowed"); exit; }}
    if (!is_method("INVITE")) {{ sl_send_reply("405", "Method Not Allowed"); exit; }}
    record_route();
    if (!ds_select_dst("1", "4")) {{
        xlog("L_ERR", "no worker answers its probes: INVITE from $si refused with 503\\n");
        sl_send_reply("503", "No worker available"); exit;
    }}
    t_on_failure("NEXT_WORKER");
    t_relay();
}}

# the workers' own requests: a BYE or REFER inside a call, a call they place
route[FROM_WORKER] {{
    if (has_totag() && loose_route()) {{ t_relay(); exit; }}
    if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    if (is_method("OPTIONS") && uri == myself) {{ sl_send_reply("200", "OK"); exit; }}
    t_relay();
}}

failure_route[NEXT_WORKER] {{
    if (t_is_canceled()) {{ exit; }}
    if (t_branch_timeout() && !t_branch_replied()) {{
        xlog("L_WARN", "worker $du sent nothing back; marked down until it answers a probe\\n");
        ds_mark_dst("ip");
    }}
    if (t_branch_timeout() || t_check_status("486|5[0-9][0-9]")) {{
        if (ds_next_dst()) {{ t_on_failure("NEXT_WORKER"); t_relay(); exit; }}
    }}
}}
"""
    return text, dispatcher_list
