"""The text-safety protections end to end, with real clients against a real server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.client import Client
from tests.moderation.helpers import StaffClient
from tests.servers import ServerProcess


@pytest.fixture
async def node(make_server: Callable[..., ServerProcess]) -> AsyncIterator[ServerProcess]:
    # Own node: restrictions and cases must not leak into the other tests' shared server.
    yield make_server()


async def _people(node: ServerProcess, n: int) -> list[Client]:
    out = []
    for _ in range(n):
        c = Client(node.url)
        await c.enter()
        await c.connect()
        out.append(c)
    return out


async def _talking(a: Client, b: Client) -> str:
    conv = (await a.request("open_pm", user=b.id))["conversation"]
    assert (await a.say(conv["stream"], "Salut !"))["type"] == "ack"
    await b.wait("notice", kind="pm_request")
    await b.request("answer_pm", conversation=conv["id"], accept=True)
    return str(conv["stream"])


async def _close(*people: Client) -> None:
    for p in people:
        await p.close()


async def _queue(node: ServerProcess) -> list[dict[str, Any]]:
    staff = await StaffClient(node).login()
    try:
        cases: list[dict[str, Any]] = (await staff.get("/queue"))["cases"]
        return cases
    finally:
        await staff.close()


async def test_self_declared_minor_is_restricted_and_grooming_is_held(
    node: ServerProcess,
) -> None:
    adult, minor, other = await _people(node, 3)
    try:
        stream = await _talking(adult, minor)
        revealed = await minor.say(stream, "en vrai j'ai 14 ans je suis en 4eme")
        assert revealed["type"] == "screened" and revealed["action"] == "restrict_minor"
        assert revealed["card"] == "minor_help"
        assert any("3018" in r for r in revealed["resources"])
        statement = next(n for n in minor.notices if n["kind"] == "sanction")
        assert statement["data"]["what"] == "restrict" and statement["data"]["automated"]
        # The adult never saw the reveal and can no longer write to them privately...
        plain = await adult.say(stream, "tu fais quoi ce soir")
        assert plain["type"] == "error" and plain["code"] == "restricted"
        # ...and a grooming attempt is held for the moderators, the minor gets a card.
        held = await adult.say(stream, "envoie moi une photo de toi, c'est notre secret")
        assert held["type"] == "screened" and held["action"] == "hold"
        card = (await minor.wait("notice", kind="safety"))["data"]
        assert card["stream"] == stream
        assert card["card"] == "safety" and card["suggest_report"] is True
        history = await adult.request("history", stream=stream)
        assert [m["text"] for m in history["messages"]] == ["Salut !"]
        # No new private conversation with adults, no media.
        refused = await minor.request("open_pm", user=other.id)
        assert refused["type"] == "error" and refused["code"] == "restricted"
        async with minor.http.post(
            node.url + "/api/media",
            data=b"\xff\xd8\xff\xe0",
            headers={"Authorization": f"Bearer {minor.token}"},
        ) as resp:
            assert resp.status == 403
        cases = await _queue(node)
        about = {c["accused_id"]: c for c in cases}
        assert adult.id in about and minor.id in about
        assert about[adult.id]["priority"] == 0  # minor in danger: first in the queue
    finally:
        await _close(adult, minor, other)


async def test_nudge_card_scam_and_harassment(node: ServerProcess) -> None:
    a, b = await _people(node, 2)
    try:
        stream = await _talking(a, b)
        nudged = await a.say(stream, "mon num c'est le 06 12 34 56 78")
        assert nudged["type"] == "error" and nudged["code"] == "confirm_needed"
        assert "sûr" in nudged["message"]
        confirmed = await a.request(
            "send", stream=stream, cid="pii-1", text="mon num c'est le 06 12 34 56 78", confirm=True
        )
        assert confirmed["type"] == "ack"
        meet = await a.say(stream, "on se voit demain au café en bas de chez toi ?")
        assert meet["type"] == "ack"
        assert (await a.wait("safety", stream=stream))["card"] == "safe_meeting"  # live, own
        card = (await b.wait("notice", kind="safety"))["data"]  # the recipient's: durable
        assert card["card"] == "safe_meeting" and card["stream"] == stream
        scam = await a.say(stream, "achète moi une recharge PCS de 50€ et envoie moi le code")
        assert scam["type"] == "screened" and scam["action"] == "hold"
        warning = (await b.wait("notice", kind="safety"))["data"]
        assert warning["card"] == "scam_warning"
        insult = await a.say(stream, "t'es vraiment qu'une grosse conne")
        assert insult["type"] == "ack"
        shown = await b.wait("msg", stream=stream, seq=insult["seq"])
        assert shown["flag"] == "harassment"
    finally:
        await _close(a, b)


async def test_drugs_in_a_public_room_are_blocked_with_reasons(node: ServerProcess) -> None:
    a, b = await _people(node, 2)
    try:
        room = next(r["id"] for r in a.welcome["rooms"] if r["name"] == "Accueil")
        await a.join(room)
        await b.join(room)
        blocked = await a.say(f"room:{room}", "je vends de la beuh 10e le g, dm moi")
        assert blocked["type"] == "screened" and blocked["action"] == "block"
        assert blocked["reasons"]
        ok = await a.say(f"room:{room}", "bonne soirée à tous")
        got = await b.wait("msg", stream=f"room:{room}", seq=ok["seq"])
        assert got["text"] == "bonne soirée à tous"
        assert ok["seq"] == 1  # the blocked message took no place in the room
    finally:
        await _close(a, b)


async def test_names_that_sell_or_target_minors_are_refused(node: ServerProcess) -> None:
    (a,) = await _people(node, 1)
    try:
        refused = await a.request("create_room", name="Vends beuh 75")
        assert refused["type"] == "error" and refused["code"] == "name_refused"
        fine = await a.request("create_room", name="Les amis du jeudi")
        assert fine["type"] == "joined"
        c = Client(node.url)
        try:
            with pytest.raises(AssertionError, match="pseudo_refused"):
                await c.enter(pseudo="escort_paris")
        finally:
            await c.close()
    finally:
        await a.close()


async def test_a_card_sent_while_the_recipient_was_away_waits_for_them(
    node: ServerProcess,
) -> None:
    a, b = await _people(node, 2)
    try:
        stream = await _talking(a, b)
        await b.drop()
        meet = await a.say(stream, "on se voit demain au café en bas de chez toi ?")
        assert meet["type"] == "ack"
        await b.connect()  # what was missed is replayed before the welcome: its inbox too
        (card,) = [n["data"] for n in b.notices if n["kind"] == "safety"]
        assert card["card"] == "safe_meeting" and card["stream"] == stream
        assert [m["seq"] for m in b.messages[stream]][-1] == meet["seq"]
    finally:
        await _close(a, b)
