"""Messages held by the safety policy, and the moderators' decision on them: release (the
message reaches its conversation at release time) or keep withheld (a statement of reasons,
appealable; an overturned appeal releases it). Real clients, real server, real staff logins."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest

from cocon.store import moderation as mod_store
from cocon.store.engine import make_engine
from tests.client import Client
from tests.moderation.helpers import StaffClient, cli_audit_verify, database_url
from tests.servers import ServerProcess

SCAM = "achète moi une recharge PCS de 50€ et envoie moi le code"


@pytest.fixture
async def node(make_server: Callable[..., ServerProcess]) -> AsyncIterator[ServerProcess]:
    yield make_server()  # own node: its cases and audit chain are this test's alone


@pytest.fixture
async def closing() -> AsyncIterator[list[Any]]:
    things: list[Any] = []
    yield things
    for thing in things:
        await thing.close()


async def _person(node: ServerProcess, closing: list[Any]) -> Client:
    c = Client(node.url)
    closing.append(c)
    await c.enter()
    await c.connect()
    return c


async def _staff(node: ServerProcess, closing: list[Any], role: str = "moderator") -> StaffClient:
    s = StaffClient(node, role)
    closing.append(s)
    return await s.login()


async def _talking(a: Client, b: Client) -> str:
    conv = (await a.request("open_pm", user=b.id))["conversation"]
    assert (await a.say(conv["stream"], "Salut !"))["type"] == "ack"
    await b.wait("notice", kind="pm_request")
    await b.request("answer_pm", conversation=conv["id"], accept=True)
    assert (await a.say(conv["stream"], "ça va ?"))["type"] == "ack"
    await b.wait("msg", stream=conv["stream"], seq=2)
    return str(conv["stream"])


async def _hold(a: Client, b: Client, stream: str, cid: str) -> None:
    held = await a.say(stream, SCAM, cid=cid)
    assert held["type"] == "screened" and held["action"] == "hold", held
    warning = (await b.wait("notice", kind="safety"))["data"]
    assert warning["card"] == "scam_warning" and warning["stream"] == stream


async def _held_in_case(mod: StaffClient, accused: int) -> tuple[int, dict[str, Any]]:
    """(case id, its one undecided held message) for the person's open case."""
    case = next(c for c in (await mod.get("/queue"))["cases"] if c["accused_id"] == accused)
    detail = await mod.get(f"/cases/{case['id']}")
    held = [h for h in detail["held"] if h["status"] == "held"]
    assert len(held) == 1, detail["held"]
    assert "text" not in held[0]  # the text only through the audited evidence
    return int(case["id"]), held[0]


async def _marker(a: Client, b: Client, stream: str) -> int:
    """A plain message after a decision; once it arrived, anything published before it has."""
    ack = await a.say(stream, "on en reparle ?")
    assert ack["type"] == "ack", ack
    await b.wait("msg", stream=stream, seq=ack["seq"])
    return int(ack["seq"])


def _gaps(c: Client) -> list[tuple[str, int, int]]:
    """Holes in what ``c`` received, after the request's first message (seen as a preview)."""
    return [g for g in c.gaps if g[2] > 2]


def _texts(c: Client, stream: str) -> list[str]:
    return [m["text"] for m in c.messages.get(stream, [])]


async def _audit_actions(node: ServerProcess, user_id: int) -> list[str]:
    engine = make_engine(database_url(node))
    try:
        async with engine.connect() as db:
            return [e.action for e in await mod_store.audit_about(db, f"user:{user_id}")]
    finally:
        await engine.dispose()


async def test_release_delivers_once_live_and_in_history(
    node: ServerProcess, closing: list[Any]
) -> None:
    a, b = await _person(node, closing), await _person(node, closing)
    stream = await _talking(a, b)
    await _hold(a, b, stream, cid="scam-1")
    mod = await _staff(node, closing)
    admin = await _staff(node, closing, "admin")

    # Held: nobody got it, it takes no seq, it is in no history.
    case_id, held = await _held_in_case(mod, a.id)
    assert held["stream"] == stream and held["sender_id"] == a.id and held["seq"] is None
    assert SCAM not in _texts(b, stream)
    history = await b.request("history", stream=stream)
    assert SCAM not in [m["text"] for m in history["messages"]]
    # The moderator reads it in the case's evidence (audited), with its decision state.
    evidence = (await mod.get(f"/reports/{held['report_id']}/evidence"))["report"]["evidence"]
    (item,) = [e for e in evidence if e.get("withheld")]
    assert item["text"] == SCAM
    assert item["held"] == {"id": held["id"], "status": "held", "seq": None}

    released = await mod.post(
        f"/held/{held['id']}/decide",
        {"decision": "release", "reason": "Faux positif : une plaisanterie entre amis."},
    )
    assert released == {"released": held["id"], "stream": stream, "seq": 3}
    got = await b.wait("msg", stream=stream, seq=3)
    assert got["text"] == SCAM and got["sender"]["id"] == a.id and got.get("flag") is None
    notice = await a.wait("notice", kind="held_released")
    assert notice["data"]["held"] == held["id"] and notice["data"]["seq"] == 3
    assert notice["data"]["cid"] == "scam-1" and "plaisanterie" in notice["data"]["reason"]
    history = await b.request("history", stream=stream)
    assert [(m["seq"], m["text"]) for m in history["messages"]][-1] == (3, SCAM)

    # Deciding again: a clear error, and no second delivery.
    again = await mod.post(
        f"/held/{held['id']}/decide", {"decision": "release", "reason": "encore"}, status=409
    )
    assert again["error"]["code"] == "conflict" and "déjà" in again["error"]["message"]
    other = await admin.post(
        f"/held/{held['id']}/decide",
        {"decision": "withhold", "rule": "Charte §7", "reason": "Arnaque"},
        status=409,
    )
    assert other["error"]["code"] == "conflict"
    assert await _marker(a, b, stream) == 4  # the next seq: nothing was appended in between
    assert _texts(b, stream).count(SCAM) == 1 and _gaps(b) == []

    detail = await mod.get(f"/cases/{case_id}")
    assert [(h["status"], h["seq"], h["decided_by"]) for h in detail["held"]] == [
        ("released", 3, mod.id)
    ]
    assert "held_release" in await _audit_actions(node, a.id)
    check = await admin.get("/audit/verify")
    assert check["problems"] == []
    assert cli_audit_verify(node).strip().endswith("INTACT")


async def test_keep_withheld_then_overturned_appeal_releases(
    node: ServerProcess, closing: list[Any]
) -> None:
    a, b = await _person(node, closing), await _person(node, closing)
    stream = await _talking(a, b)
    await _hold(a, b, stream, cid="scam-2")
    judge = await _staff(node, closing)
    reviewer = await _staff(node, closing)
    _, held = await _held_in_case(judge, a.id)

    kept = await judge.post(
        f"/held/{held['id']}/decide",
        {"decision": "withhold", "rule": "Charte §7 — Arnaques", "reason": "Demande de coupon."},
    )
    assert kept["status"] == "withheld" and kept["held"] == held["id"]
    statement = await a.wait("notice", kind="sanction")
    data = statement["data"]
    assert data["what"] == "withhold" and data["sanction"] == kept["sanction"]
    assert data["rule"] == "Charte §7 — Arnaques" and data["reason"] == "Demande de coupon."
    assert data["held"] == held["id"] and "contester" in data["appeal"]
    assert await _marker(a, b, stream) == 3  # nothing delivered
    assert SCAM not in _texts(b, stream)
    refused = await judge.post(
        f"/held/{held['id']}/decide", {"decision": "release", "reason": "Oups"}, status=409
    )
    assert "maintenu retenu" in refused["error"]["message"]
    assert "sanction_withhold" in await _audit_actions(node, a.id)

    # The sender appeals; another moderator overturns: the message is delivered after all.
    appealed = await a.request("appeal", sanction=kept["sanction"], text="C'était une blague.")
    assert appealed["type"] == "appealed", appealed
    assigned = (await reviewer.get("/appeals"))["appeals"]
    assert [x["id"] for x in assigned] == [appealed["appeal"]]
    await reviewer.post(
        f"/appeals/{appealed['appeal']}/decide", {"uphold": False, "reason": "Plaisanterie."}
    )
    got = await b.wait("msg", stream=stream, seq=4)
    assert got["text"] == SCAM and got["sender"]["id"] == a.id
    assert (await a.wait("notice", kind="held_released"))["data"]["seq"] == 4
    assert _gaps(b) == []
    assert cli_audit_verify(node).strip().endswith("INTACT")


async def test_conflicted_moderator_needs_a_second_one_and_bad_input_is_refused(
    node: ServerProcess, closing: list[Any]
) -> None:
    a, b = await _person(node, closing), await _person(node, closing)
    stream = await _talking(a, b)
    await _hold(a, b, stream, cid="scam-3")
    mod = await _staff(node, closing)
    second = await _staff(node, closing)
    _, held = await _held_in_case(mod, a.id)
    path = f"/held/{held['id']}/decide"

    # Not staff: no staff session (none, or a chat user's cookies) gets in.
    for http in (aiohttp.ClientSession(), a.http):
        async with http.post(
            node.url + "/staff/api" + path, json={"decision": "release", "reason": "x"}
        ) as resp:
            assert resp.status == 401, await resp.text()
        if http is not a.http:
            await http.close()

    # Bad input: clear errors, nothing decided.
    bad: list[tuple[dict[str, Any], str]] = [
        ({"decision": "publish", "reason": "x"}, "decision"),
        ({"decision": "release"}, "reason"),
        ({"decision": "release", "reason": "   "}, "reason"),
        ({"decision": "withhold", "reason": "Arnaque"}, "rule"),
        ({"decision": "release", "reason": 12}, "reason"),
    ]
    for body, field in bad:
        answer = await mod.post(path, body, status=400)
        assert answer["error"]["field"] == field, (body, answer)
    unknown = await mod.post("/held/999999/decide", {"decision": "release", "reason": "x"}, 400)
    assert unknown["error"]["code"] == "not_found"
    async with mod.http.post(node.url + "/staff/api" + path, data=b"{nope") as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_json"
    no_held = await mod.post("/sanctions", {"kind": "release", "user": a.id, "reason": "x"}, 400)
    assert no_held["error"]["field"] == "held"
    wrong_user = await mod.post(
        "/sanctions", {"kind": "release", "user": b.id, "held": held["id"], "reason": "x"}, 400
    )
    assert wrong_user["error"]["field"] == "held"

    # The sender reports the moderator: that moderator is now conflicted and cannot act alone.
    reported = await a.request("report", target="staff", staff=mod.id, category="other")
    assert reported["type"] == "reported", reported
    pending = await mod.post(path, {"decision": "release", "reason": "Faux positif."})
    assert pending["needs_confirmation"] is True
    assert await _marker(a, b, stream) == 3 and SCAM not in _texts(b, stream)
    assert (await _held_in_case(second, a.id))[1]["status"] == "held"
    await mod.post(f"/pending/{pending['pending']}/confirm", {}, status=403)  # not oneself
    done = await second.post(f"/pending/{pending['pending']}/confirm", {})
    assert done["released"] == held["id"] and done["seq"] == 4
    got = await b.wait("msg", stream=stream, seq=4)
    assert got["text"] == SCAM
    await second.post(f"/pending/{pending['pending']}/confirm", {}, status=400)  # used up
    assert await _marker(a, b, stream) == 5 and _texts(b, stream).count(SCAM) == 1


async def test_a_held_request_reaches_its_recipient_as_a_request_once_released(
    node: ServerProcess, closing: list[Any]
) -> None:
    a, b = await _person(node, closing), await _person(node, closing)
    conv = (await a.request("open_pm", user=b.id))["conversation"]
    held = await a.say(conv["stream"], SCAM, cid="first")
    assert held["type"] == "screened" and held["action"] == "hold", held
    mod = await _staff(node, closing)
    _, row = await _held_in_case(mod, a.id)
    released = await mod.post(
        f"/held/{row['id']}/decide", {"decision": "release", "reason": "Faux positif."}
    )
    assert released["seq"] == 1
    # The request b never saw arrives now, with the released message as its preview.
    request = await b.wait("notice", kind="pm_request")
    assert request["data"]["conversation"]["id"] == conv["id"]
    assert request["data"]["preview"] == SCAM
    assert [n["kind"] for n in b.notices].count("pm_request") == 1
    await b.request("answer_pm", conversation=conv["id"], accept=True)
    history = await b.request("history", stream=conv["stream"])
    assert [m["text"] for m in history["messages"]] == [SCAM]
