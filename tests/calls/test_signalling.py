"""1:1 call signalling over the WebSocket (no browser): rules, TURN credentials, screening."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from cocon.rtc.turn import check_credential
from tests.calls.conftest import Turn, pair
from tests.client import Client
from tests.servers import ServerProcess

HOST = "candidate:1 1 udp 2122260223 192.168.1.23 54400 typ host generation 0"
SRFLX = (
    "candidate:2 1 udp 1686052607 203.0.113.7 54400 typ srflx raddr 192.168.1.23 rport 54400"
)
RELAY = (
    "candidate:3 1 udp 41885439 127.0.0.1 40012 typ relay raddr 203.0.113.7 rport 54400"
    " generation 0"
)
OFFER = "\r\n".join(
    [
        "v=0",
        "o=- 1 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 192.168.1.23",
        "a=rtcp:9 IN IP4 192.168.1.23",
        "a=" + HOST,
        "a=" + RELAY,
        "a=" + SRFLX,
        "a=mid:0",
        "",
    ]
)


async def _quiet(client: Client, kind: str, seconds: float = 0.5) -> None:
    """Nothing of that type arrives for a moment."""
    with pytest.raises(asyncio.TimeoutError):
        await client.wait(kind, timeout=seconds)


async def _start(a: Client, b: Client) -> str:
    invited = await a.request("call_invite", user=b.id, video=True)
    assert invited["type"] == "call" and invited["state"] == "ringing", invited
    ringing = await b.wait("call", state="ringing")
    assert ringing["call"] == invited["call"] and ringing["role"] == "callee"
    accepted = await b.request("call_answer", call=invited["call"], accept=True)
    assert accepted["type"] == "call" and accepted["state"] == "active", accepted
    await a.wait("call", state="active", call=invited["call"])
    return str(invited["call"])


async def test_call_rings_then_relays_only_relay_candidates(
    turn_clients: Callable[..., Client], coturn: Turn
) -> None:
    a, b, _ = await pair(turn_clients)
    invited = await a.request("call_invite", user=b.id, video=True)
    assert invited["type"] == "call", invited
    call = invited["call"]
    # Each side gets its own short-lived TURN credential, valid for coturn's secret.
    for event in (invited, await b.wait("call", state="ringing")):
        (server,) = event["ice_servers"]
        assert server["urls"] == coturn.urls.split(",")
        assert check_credential(coturn.secret, server["username"], server["credential"])
        expires = int(server["username"].split(":")[0])
        assert time.time() < expires <= time.time() + 3600
        # No identity in it: the part after the expiry is random, not an id or a pseudo.
        tag = server["username"].split(":")[1]
        assert tag not in (str(a.id), str(b.id)) and len(tag) >= 16
        assert b.user["pseudo"] not in server["username"]
        assert not event.get("direct")
    # No signalling before the callee accepts: no media can flow.
    early = await a.request("call_signal", call=call, sdp={"type": "offer", "sdp": OFFER})
    assert early["type"] == "error" and early["code"] == "conflict"
    accepted = await b.request("call_answer", call=call, accept=True)
    assert accepted["state"] == "active"
    await a.wait("call", state="active")
    # A host candidate (and a server-reflexive one) injected into signalling is dropped...
    await a.send({"type": "call_signal", "call": call, "candidate": {"candidate": HOST}})
    await a.send({"type": "call_signal", "call": call, "candidate": {"candidate": SRFLX}})
    await _quiet(b, "call_signal")
    # ...a relayed one goes through, without the public address in raddr.
    await a.send(
        {
            "type": "call_signal",
            "call": call,
            "candidate": {"candidate": RELAY, "sdpMid": "0", "sdpMLineIndex": 0},
        }
    )
    got = await b.wait("call_signal")
    assert got["candidate"]["candidate"].split()[7] == "relay"
    assert "203.0.113.7" not in got["candidate"]["candidate"]
    assert got["candidate"]["sdpMid"] == "0"
    # The SDP loses its non-relayed candidates and its connection addresses.
    await a.send({"type": "call_signal", "call": call, "sdp": {"type": "offer", "sdp": OFFER}})
    offer = (await b.wait("call_signal"))["sdp"]
    assert offer["type"] == "offer"
    assert "typ host" not in offer["sdp"] and "typ srflx" not in offer["sdp"]
    assert "192.168.1.23" not in offer["sdp"] and "203.0.113.7" not in offer["sdp"]
    assert "typ relay" in offer["sdp"]
    # The answer goes the other way; then hang up: both sides are told.
    answer = OFFER.replace("a=" + RELAY + "\r\n", "")
    await b.send({"type": "call_signal", "call": call, "sdp": {"type": "answer", "sdp": answer}})
    back = await a.wait("call_signal")
    assert back["sdp"]["type"] == "answer" and "candidate" not in back["sdp"]["sdp"]
    done = await a.request("call_hangup", call=call)
    assert done["type"] == "ok"
    assert (await b.wait("call", state="ended"))["reason"] == "hangup"
    late = await b.request("call_signal", call=call, candidate={"candidate": RELAY})
    assert late["type"] == "error"


async def test_decline_busy_timeout_and_gone(turn_clients: Callable[..., Client]) -> None:
    a, b, _ = await pair(turn_clients)
    invited = await a.request("call_invite", user=b.id, video=False)
    await b.wait("call", state="ringing")
    declined = await b.request("call_answer", call=invited["call"], accept=False)
    assert declined["type"] == "ok"
    assert (await a.wait("call", state="ended"))["reason"] == "declined"
    # Unanswered: ends after the ring timeout (3 s here) for both.
    invited = await a.request("call_invite", user=b.id, video=False)
    assert (await a.wait("call", state="ended", timeout=8))["reason"] == "timeout"
    assert (await b.wait("call", state="ended", call=invited["call"]))["reason"] == "timeout"
    # Busy: a third person calling someone in a call.
    call = await _start(a, b)
    c = turn_clients()
    await c.enter()
    await c.connect()
    conv = (await c.request("open_pm", user=b.id))["conversation"]
    await b.request("answer_pm", conversation=conv["id"], accept=True)
    busy = await c.request("call_invite", user=b.id)
    assert busy["type"] == "call" and busy["state"] == "ended" and busy["reason"] == "busy"
    # A participant who disconnects ends the call for the other.
    await b.drop()
    ended = await a.wait("call", state="ended", call=call)
    assert ended["reason"] == "gone"


async def test_only_accepted_conversations_and_not_strangers(
    turn_clients: Callable[..., Client],
) -> None:
    a, b, c = turn_clients(), turn_clients(), turn_clients()
    for x in (a, b, c):
        await x.enter()
        await x.connect()
    refused = await a.request("call_invite", user=b.id)
    assert refused["type"] == "error" and refused["code"] == "not_member"
    await a.request("open_pm", user=b.id)  # pending: still no call
    refused = await a.request("call_invite", user=b.id)
    assert refused["type"] == "error" and refused["code"] == "not_member"
    # A third person cannot answer, signal or hang up someone else's call.
    a2, b2, _ = await pair(turn_clients)
    invited = await a2.request("call_invite", user=b2.id)
    for cmd, extra in (
        ("call_answer", {"accept": True}),
        ("call_hangup", {}),
        ("call_signal", {"candidate": {"candidate": RELAY}}),
    ):
        reply = await c.request(cmd, call=invited["call"], **extra)
        assert reply["type"] == "error" and reply["code"] == "not_found", reply
    # The caller cannot answer their own call.
    reply = await a2.request("call_answer", call=invited["call"], accept=True)
    assert reply["type"] == "error" and reply["code"] == "forbidden"


async def test_no_calls_with_a_restricted_minor(turn_clients: Callable[..., Client]) -> None:
    adult, minor, conv = await pair(turn_clients)
    call = await _start(adult, minor)
    revealed = await minor.say(str(conv["stream"]), "en vrai j'ai 14 ans je suis en 4eme")
    assert revealed["type"] == "screened" and revealed["action"] == "restrict_minor"
    # The call under way ends at once, for both.
    assert (await adult.wait("call", state="ended", call=call))["call"] == call
    for caller, callee in ((adult, minor), (minor, adult)):
        refused = await caller.request("call_invite", user=callee.id)
        assert refused["type"] == "error" and refused["code"] == "restricted", refused


async def test_calls_off_without_turn(clients: Callable[..., Client]) -> None:
    a, b = clients(), clients()
    for x in (a, b):
        await x.enter()
        await x.connect()
    conv = (await a.request("open_pm", user=b.id))["conversation"]
    await b.request("answer_pm", conversation=conv["id"], accept=True)
    refused = await a.request("call_invite", user=b.id)
    assert refused["type"] == "error" and refused["code"] == "calls_off"
    assert "TURN" in refused["message"]


async def test_direct_calls_warn_that_addresses_are_visible(
    make_server: Callable[..., ServerProcess],
) -> None:
    node = make_server(COCON_CALLS_DIRECT="true")
    a, b = Client(node.url), Client(node.url)
    try:
        a2, b2, _ = await pair(iter([a, b]).__next__)
        invited = await a2.request("call_invite", user=b2.id)
        assert invited["type"] == "call" and invited["direct"] is True
        assert invited.get("ice_servers", []) == []
        ringing = await b2.wait("call", state="ringing")
        assert ringing["direct"] is True
        await b2.request("call_answer", call=invited["call"], accept=True)
        # Direct mode forwards host candidates: that is what the warning is about.
        host = {"candidate": HOST}
        await a2.send({"type": "call_signal", "call": invited["call"], "candidate": host})
        assert (await b2.wait("call_signal"))["candidate"]["candidate"] == HOST
    finally:
        await a.close()
        await b.close()


async def test_report_a_call_with_a_still_frame(
    turn_clients: Callable[..., Client], turn_server: ServerProcess
) -> None:
    import io

    from PIL import Image

    from tests.moderation.helpers import StaffClient

    a, b, _ = await pair(turn_clients)
    call = await _start(a, b)
    # The reporting browser captured a JPEG of the remote video and uploads it as usual.
    buf = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 40, 40)).save(buf, "JPEG")
    async with a.http.post(turn_server.url + "/api/media", data=buf.getvalue()) as resp:
        media = (await resp.json())["media"]
        assert resp.status == 200
    reported = await a.request(
        "report", target="user", user=b.id, category="sexual_harassment", media=media["id"]
    )
    assert reported["type"] == "reported", reported
    # Staff see the frame in the report's evidence (and its view is audited).
    staff = await StaffClient(turn_server).login()
    try:
        evidence = (await staff.get(f"/reports/{reported['report']}/evidence"))["report"]
        (item,) = evidence["evidence"]
        assert item["kind"] == "call_frame" and item["media"] == media["id"]
        assert item["call"] == call
        listed = await staff.get(f"/reports/{reported['report']}/media")
        assert listed["media"][0]["id"] == media["id"]
        async with staff.http.get(turn_server.url + listed["media"][0]["url"]) as resp:
            assert resp.status == 200 and (await resp.read())[:2] == b"\xff\xd8"
    finally:
        await staff.close()
    # The frame is nobody else's to see, and cannot be attached twice.
    async with b.http.get(turn_server.url + media["url"]) as resp:
        assert resp.status == 404
    again = await a.request("report", target="user", user=b.id, category="spam", media=media["id"])
    assert again["type"] == "error" and again["code"] == "not_found"
