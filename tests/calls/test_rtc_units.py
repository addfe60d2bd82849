"""Pure parts: candidate parsing and SDP screening, TURN REST credentials, settings."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from cocon.config import load_settings
from cocon.errors import ConfigError
from cocon.rtc.sdp import candidate_type, screen_candidate, screen_sdp
from cocon.rtc.turn import MAX_TTL_S, check_credential, turn_credential
from tests.calls.test_signalling import HOST, OFFER, RELAY, SRFLX


def test_candidate_types() -> None:
    assert candidate_type(HOST) == "host"
    assert candidate_type("a=" + SRFLX) == "srflx"
    assert candidate_type(RELAY) == "relay"
    assert candidate_type("candidate:1 1 udp 1 x.local 5 typ relay") == "relay"
    for bad in ("", "typ relay", "candidate:1 1 udp x 1.2.3.4 5 typ relay", "a=mid:0",
                "candidate:1 1 udp 1 1.2.3.4 5 type relay", "candidate:1 1 udp 1 1.2.3.4 5 typ x"):
        assert candidate_type(bad) is None, bad
    assert screen_candidate(HOST) is None
    assert screen_candidate("candidate:1 1 udp 1 1.2.3.4 5 typ x relay") is None
    kept = screen_candidate(RELAY)
    assert kept is not None and "raddr 0.0.0.0 rport 0" in kept and "203.0.113.7" not in kept


def test_sdp_screening() -> None:
    sdp, dropped = screen_sdp(OFFER)
    assert dropped == 2
    assert "192.168.1.23" not in sdp and "typ relay" in sdp
    assert "c=IN IP4 0.0.0.0" in sdp and "a=rtcp:9 IN IP4 0.0.0.0" in sdp
    assert sdp.endswith("\r\n")


def test_turn_rest_credentials() -> None:
    cred = turn_credential("s3cret", "abc-ca", 600, now=1_000_000)
    assert cred.username == "1000600:abc-ca"
    expected = base64.b64encode(
        hmac.new(b"s3cret", b"1000600:abc-ca", hashlib.sha1).digest()
    ).decode()
    assert cred.password == expected
    assert check_credential("s3cret", cred.username, cred.password, now=1_000_000)
    assert not check_credential("s3cret", cred.username, cred.password, now=1_000_601)
    assert not check_credential("other", cred.username, cred.password, now=1_000_000)
    # Never more than an hour, whatever is asked.
    assert turn_credential("s", "x", 10**6, now=0).expires_at == MAX_TTL_S


def test_turn_settings() -> None:
    s = load_settings(environ={"COCON_TURN_URLS": "turn:a:3478,turns:b:5349",
                               "COCON_TURN_SECRET": "x", "COCON_TURN_TTL_S": "900"})
    assert s.turn_urls == ["turn:a:3478", "turns:b:5349"] and s.turn_ttl_s == 900
    with pytest.raises(ConfigError):
        load_settings(environ={"COCON_TURN_URLS": "turn:a", "COCON_TURN_TTL_S": "7200"})
    with pytest.raises(ConfigError):
        load_settings(environ={"COCON_TURN_SECRET": "x"})
