"""Reports, evidence, sanctions, bans that stick, appeals: real clients, real servers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.client import Client, new_pseudo
from tests.moderation.helpers import StaffClient, connected, jar_session
from tests.servers import ServerProcess


@pytest.fixture
async def people() -> AsyncIterator[list[Any]]:
    made: list[Any] = []
    yield made
    for thing in made:
        await thing.close()


async def _pm(a: Client, b: Client, texts: list[str]) -> str:
    reply = await a.request("open_pm", user=b.id)
    conv = reply["conversation"]
    stream = conv["stream"]
    await a.say(stream, texts[0])
    await b.wait("notice", kind="pm_request")
    answer = await b.request("answer_pm", conversation=conv["id"], accept=True)
    assert answer["type"] == "conversation"
    for text in texts[1:]:
        ack = await a.say(stream, text)
        assert ack["type"] == "ack", ack
    return stream


async def test_report_pm_makes_a_case_with_evidence(
    server: ServerProcess, people: list[Any]
) -> None:
    a = await connected(server.url)
    b = await connected(server.url)
    mod = await StaffClient(server).login()
    admin = await StaffClient(server, "admin").login()
    people += [a, b, mod, admin]
    texts = [f"message {i}" for i in range(14)]
    stream = await _pm(a, b, texts)
    # The client cannot choose the evidence: only stream and seq are sent.
    r1 = await b.request(
        "report",
        target="message",
        stream=stream,
        seq=14,
        category="harassment",
        comment="Il insiste.",
    )
    assert r1["type"] == "reported", r1
    r2 = await b.request("report", target="user", user=a.id, category="sexual_harassment")
    assert r2["case"] == r1["case"]  # same person: one case
    other = await connected(server.url)
    people.append(other)
    urgent = await b.request("report", target="user", user=other.id, category="minor_in_danger")
    assert urgent["case"] != r1["case"]

    queue = (await mod.get("/queue"))["cases"]
    ids = [c["id"] for c in queue]
    assert ids.index(urgent["case"]) < ids.index(r1["case"])  # priority before age
    detail = await mod.get(f"/cases/{r1['case']}")
    assert [r["id"] for r in detail["reports"]] == [r1["report"], r2["report"]]
    assert "evidence" not in detail["reports"][0]  # no browsing private messages
    assert detail["reports"][0]["has_evidence"] is True

    evidence = (await mod.get(f"/reports/{r1['report']}/evidence"))["report"]["evidence"]
    assert [e["text"] for e in evidence] == texts[3:]  # the message and the 10 before
    assert [e["seq"] for e in evidence] == list(range(4, 15))
    assert {e["sender"] for e in evidence} == {a.id}

    a_client_report = await a.request(
        "report", target="message", stream=stream, seq=99, category="spam"
    )
    assert a_client_report["type"] == "error" and a_client_report["code"] == "not_found"
    outsider = await b.request(
        "report", target="message", stream="dm:999999", seq=1, category="spam"
    )
    assert outsider["type"] == "error"

    check = await admin.get("/audit/verify")
    assert check["problems"] == []
    assert check["entries"] >= 4
    await mod.get("/audit/verify", status=403)  # admins only


async def test_mute_statement_and_reporter_outcome(
    server: ServerProcess, people: list[Any]
) -> None:
    a = await connected(server.url)
    b = await connected(server.url)
    mod = await StaffClient(server).login()
    people += [a, b, mod]
    await a.join(1)
    reply = await b.request("report", target="user", user=a.id, category="hate")
    result = await mod.post(
        "/sanctions",
        {
            "kind": "mute",
            "user": a.id,
            "rule": "Charte §2 (haine)",
            "reason": "Propos haineux",
            "facts": "Messages du 12/03 dans Accueil",
            "duration_s": 600,
            "case": reply["case"],
        },
    )
    notice = await a.wait("notice", kind="sanction")
    assert notice["data"]["sanction"] == result["sanction"]
    assert notice["data"]["rule"] == "Charte §2 (haine)"
    assert "appeal" in notice["data"] and notice["data"]["ends_at"]
    sent = await a.say("room:1", "je peux encore parler ?")
    assert sent["type"] == "error" and sent["code"] == "muted"
    outcome = await b.wait("notice", kind="report_outcome")
    assert outcome["data"] == {"case": reply["case"], "outcome": "mute"}


async def test_ban_sticks_to_device_and_network_then_appeal(
    make_server: Callable[..., ServerProcess], people: list[Any]
) -> None:
    server = make_server(COCON_TRUST_FORWARDED_FOR="1")
    judge = await StaffClient(server).login()
    reviewer = await StaffClient(server).login()
    people += [judge, reviewer]
    banned = await connected(server.url, ip="198.51.100.7")
    people.append(banned)
    await banned.join(1)
    result = await judge.post(
        "/sanctions",
        {
            "kind": "ban",
            "user": banned.id,
            "rule": "Charte §5",
            "reason": "Menaces",
            "duration_s": 3600,
        },
    )
    sanction = result["sanction"]
    await asyncio.wait_for(banned._reader, 10)  # type: ignore[arg-type]  # hung up

    async def enter(session_ip: str | None, http: Any = None) -> tuple[int, dict[str, Any]]:
        http = http or jar_session(session_ip)
        if http is not banned.http:
            people.append(http)
        body = {"pseudo": new_pseudo("Evade"), "gender": "homme", "age": 40, "postal_code": "13001"}
        async with http.post(server.url + "/api/enter", json=body) as resp:
            return resp.status, await resp.json()

    # Same device (cookies kept), new pseudo: refused.
    status, data = await enter(None, banned.http)
    assert status == 403 and data["error"]["code"] == "banned", data
    assert data["error"]["sanction"]["id"] == sanction
    # Cookies cleared, same network: refused.
    status, data = await enter("198.51.100.99")
    assert status == 403 and data["error"]["code"] == "banned"
    # Another network: welcome.
    status, data = await enter("203.0.113.5")
    assert status == 200, data
    # The old session cannot come back either.
    again = Client(server.url, jar_session("198.51.100.7"))
    people.append(again)
    again.token = banned.token
    with pytest.raises((asyncio.TimeoutError, TimeoutError)):
        await asyncio.wait_for(again.connect(), 3)

    evasions = (await judge.get("/evasions"))["evasions"]
    assert {e["matched"] for e in evasions} >= {"device", "net"}

    # Appeal without being able to connect: the device cookie identifies the person.
    async with banned.http.post(
        server.url + "/api/appeal", json={"sanction": sanction, "text": "Je conteste."}
    ) as resp:
        assert resp.status == 200, await resp.text()
        appeal = (await resp.json())["appeal"]
    assert (await judge.get("/appeals"))["appeals"] == []
    assigned = (await reviewer.get("/appeals"))["appeals"]
    assert [x["id"] for x in assigned] == [appeal]
    assert assigned[0]["sanction"]["kind"] == "ban"  # the decider sees what is contested
    refused = await judge.post(
        f"/appeals/{appeal}/decide", {"uphold": False, "reason": "moi"}, status=403
    )
    assert refused["error"]["code"] == "forbidden"

    # The judge is now conflicted: a new sanction on that person needs a second moderator.
    pending = await judge.post(
        "/sanctions", {"kind": "warn", "user": banned.id, "rule": "Charte §1", "reason": "Rappel"}
    )
    assert pending["needs_confirmation"] is True
    waiting = (await reviewer.get("/pending"))["pending"]
    assert pending["pending"] in [p["id"] for p in waiting]
    record = await reviewer.get(f"/users/{banned.id}")
    assert [x["kind"] for x in record["sanctions"]] == ["ban"]
    assert record["user"]["id"] == banned.id
    await judge.post(f"/pending/{pending['pending']}/confirm", {}, status=403)
    done = await reviewer.post(f"/pending/{pending['pending']}/confirm", {})
    assert done["sanction"] > sanction

    await reviewer.post(f"/appeals/{appeal}/decide", {"uphold": False, "reason": "Doute."})
    status, data = await enter(None, banned.http)
    assert status == 200, data  # ban overturned: the device may come back
    figures = await reviewer.get("/transparency")
    assert figures["actions_by_type"] == {"ban": 1, "warn": 1}
    assert figures["appeal_outcomes"] == {"overturned": 1}
    assert figures["human_actions"] == 2
