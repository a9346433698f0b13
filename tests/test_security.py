"""The SIP policy (who may send what) and the security-event log, as pure logic."""

from __future__ import annotations

import logging

import pytest

from appliance.config import load_config
from appliance.security import SecurityEvents, SipPolicy


def default_policy(invites: int = 2, requests: int = 5) -> SipPolicy:
    return SipPolicy(load_config(None, env={}).sip.allow, invites, requests)


def test_only_allowed_networks_get_an_answer() -> None:
    policy = default_policy()
    assert policy.refusal("192.168.1.20", "INVITE", now=0.0) is None
    refusal = policy.refusal("203.0.113.9", "OPTIONS", now=0.0)
    assert refusal is not None and refusal.reason == "source" and refusal.status == 0  # dropped, no answer
    assert refusal.detail == "OPTIONS dropped: source not in [sip] allow"
    assert policy.refusal("not-an-address", "INVITE") is not None
    policy.allow_addresses(["203.0.113.9"])  # e.g. the registrar, resolved at start
    assert policy.refusal("203.0.113.9", "OPTIONS", now=0.0) is None


def test_scanners_are_dropped_even_from_the_lan() -> None:
    refusal = default_policy().refusal("10.1.2.3", "OPTIONS", user_agent="friendly-scanner")
    assert refusal is not None and (refusal.reason, refusal.status) == ("scanner", 0)


def test_new_calls_and_other_requests_are_limited_per_source_but_a_call_in_progress_is_not() -> None:
    policy = default_policy(invites=2, requests=5)
    assert [policy.refusal("10.0.0.5", "INVITE", now=t) is None for t in (0.0, 1.0, 2.0)] == [True, True, False]
    assert policy.refusal("10.0.0.6", "INVITE", now=2.0) is None, "another source has its own budget"
    for t in (3.0, 4.0):
        assert policy.refusal("10.0.0.5", "OPTIONS", now=t) is None
    refusal = policy.refusal("10.0.0.5", "OPTIONS", now=5.0)
    assert refusal is not None and refusal.reason == "rate"
    # BYE inside the call, ACK and CANCEL are never rate limited: a caller can always hang up.
    assert policy.refusal("10.0.0.5", "BYE", in_dialog=True, now=6.0) is None
    assert policy.refusal("10.0.0.5", "ACK", now=6.0) is None and policy.refusal("10.0.0.5", "CANCEL", now=6.0) is None
    assert policy.refusal("10.0.0.5", "INVITE", now=70.0) is None, "the window slides"


def test_register_is_answered_405_without_a_challenge() -> None:
    refusal = default_policy().refusal("192.168.1.9", "REGISTER", now=0.0)
    assert refusal is not None and (refusal.reason, refusal.status) == ("register", 405)


def test_spoofed_sources_cannot_grow_the_rate_table() -> None:
    policy = default_policy()
    for n in range(3 * SipPolicy.MAX_SOURCES):
        policy.refusal(f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}", "OPTIONS", now=float(n))
    assert len(policy._windows) <= SipPolicy.MAX_SOURCES


def test_a_flood_logs_a_burst_then_one_summary_line(caplog: pytest.LogCaptureFixture) -> None:
    events = SecurityEvents(burst=5, window_s=60.0)
    refusal = default_policy().refusal("203.0.113.9", "INVITE")
    assert refusal is not None
    with caplog.at_level(logging.WARNING, "appliance.security"):
        for n in range(1000):
            events.refused("203.0.113.9", refusal, now=n * 0.01)
        events.flush(now=30.0)
        assert len(caplog.records) == 5, "nothing more while the minute lasts"
        events.flush(now=61.0)
    lines = [r.getMessage() for r in caplog.records]
    assert (
        lines[0]
        == 'SECURITY event=sip_source_refused src=203.0.113.9 detail="INVITE dropped: source not in [sip] allow"'
    )
    assert lines[-1] == 'SECURITY event=sip_flood src=203.0.113.9 detail="995 more requests refused within 60 s"'
    assert events.counts["source"] == 1000


def test_what_a_peer_sent_cannot_forge_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    agent = 'x\r\nSECURITY event=web_login_failed src=10.9.9.9 detail="\x1b[2J'
    refusal = default_policy().refusal("10.0.0.1", "INVITE", user_agent="sipvicious " + agent)
    assert refusal is not None
    with caplog.at_level(logging.WARNING, "appliance.security"):
        SecurityEvents().refused("10.0.0.1", refusal)
    (line,) = [r.getMessage() for r in caplog.records]
    assert "\n" not in line and "\r" not in line and "\x1b" not in line
    assert line.count("src=") == 1 and line.count("event=") == 1, "no forged field for fail2ban to read"
    assert line.endswith("detail?'?[2J\"")


def test_an_offer_with_too_many_streams_is_refused_488() -> None:
    policy = default_policy()
    refusal = policy.refusal("10.0.0.1", "INVITE", streams=16, now=0.0)
    assert refusal is not None and (refusal.reason, refusal.status) == ("offer", 488)
    assert policy.refusal("10.0.0.1", "INVITE", in_dialog=True, streams=16) is not None, "a re-INVITE too"
    assert policy.refusal("10.0.0.1", "INVITE", streams=2, now=1.0) is None, "audio and video, or SRTP best effort"


def test_new_calls_from_all_sources_are_admitted_at_a_sustainable_rate() -> None:
    """pjlib reuses a call's sockets only seconds after it ends: new calls are admitted at 2 media streams
    a second with a burst of 8, beyond that they get 503 (a hunt group moves on), and a retransmitted
    INVITE passes as its first copy did."""
    policy = default_policy(invites=100, requests=100)
    answers = [policy.refusal(f"10.0.0.{n}", "INVITE", streams=2, call_id=f"c{n}", now=0.0) for n in range(6)]
    assert [a.status if a else 200 for a in answers] == [200, 200, 200, 200, 503, 503]
    assert policy.refusal("10.0.0.1", "INVITE", streams=2, call_id="c1", now=0.5) is None, "a retransmission"
    assert policy.refusal("10.0.0.9", "INVITE", streams=2, call_id="c9", now=1.0) is None, "one more a second"
    assert policy.refusal("10.0.0.9", "INVITE", streams=2, call_id="c10", now=1.6) is not None
    assert policy.refusal("10.0.0.9", "INVITE", streams=1, call_id="c11", now=1.6) is None, "one stream: twice as many"


def test_a_caller_shows_in_logs_and_the_status_page_without_name_or_full_number() -> None:
    from appliance.sip.endpoint import _mask

    assert _mask('"Zo\u00eb Roe" <sip:+33612345678@pbx.lan>;tag=x') == "sip:+3361234****@pbx.lan"
    assert _mask("sip:+14155550142@pbx.lan") == "sip:+1415555****@pbx.lan"
