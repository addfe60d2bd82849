"""The core promise: acknowledged means committed; resume replays exactly what was missed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path

from tests.client import Client
from tests.servers import ServerProcess


async def _pair_in_room(
    clients: Callable[..., Client], base: str | None = None
) -> tuple[Client, Client, str]:
    a, b = clients(base), clients(base)
    for c in (a, b):
        await c.enter()
        await c.connect()
    room = (await a.request("create_room", name="Salle de livraison"))["room"]["id"]
    await a.request("invite", room=room, user=b.id)
    await b.join(room)
    return a, b, f"room:{room}"


async def _send_all(sender: Client, stream: str, texts: list[str]) -> None:
    for text in texts:
        reply = await sender.say(stream, text, cid=f"cid-{text}")
        assert reply["type"] == "ack", reply


async def test_retry_with_same_cid_is_not_duplicated(clients: Callable[..., Client]) -> None:
    a, b, stream = await _pair_in_room(clients)
    cid = uuid.uuid4().hex
    first = await a.say(stream, "une seule fois", cid=cid)
    again = await a.say(stream, "une seule fois", cid=cid)
    assert again["duplicate"] is True and again["seq"] == first["seq"]
    await b.wait("msg", stream=stream, seq=first["seq"])
    page = await b.request("history", stream=stream)
    assert [m["text"] for m in page["messages"]].count("une seule fois") == 1


async def test_receiver_cut_three_times_gets_every_message_once(
    clients: Callable[..., Client],
) -> None:
    a, b, stream = await _pair_in_room(clients)
    texts = [f"m{i}" for i in range(1000)]

    async def cutter() -> None:
        for _ in range(3):
            await asyncio.sleep(0.4)
            await b.drop()
            await asyncio.sleep(0.2)
            welcome = await b.connect()
            assert welcome["type"] == "welcome"

    await asyncio.gather(_send_all(a, stream, texts), cutter())
    deadline = asyncio.get_running_loop().time() + 20
    while (
        b.positions.get(stream, (0, 0))[1] < 1000 and asyncio.get_running_loop().time() < deadline
    ):
        await asyncio.sleep(0.05)
    got = [m["text"] for m in b.messages[stream]]
    assert got == texts
    assert b.gaps == []


async def test_private_messages_survive_cuts_too(clients: Callable[..., Client]) -> None:
    a, b = clients(), clients()
    for c in (a, b):
        await c.enter()
        await c.connect()
    conv = (await a.request("open_pm", user=b.id))["conversation"]
    await a.say(conv["stream"], "p-first", cid="p-first")
    await b.wait("notice", kind="pm_request")
    await b.request("answer_pm", conversation=conv["id"], accept=True)
    b.positions[conv["stream"]] = (conv["epoch"], 1)
    texts = [f"p{i}" for i in range(300)]

    async def cutter() -> None:
        for _ in range(3):
            await asyncio.sleep(0.3)
            await b.drop()
            await asyncio.sleep(0.2)
            await b.connect()

    await asyncio.gather(_send_all(a, conv["stream"], texts), cutter())
    deadline = asyncio.get_running_loop().time() + 20
    while b.positions[conv["stream"]][1] < 301 and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    assert [m["text"] for m in b.messages[conv["stream"]]] == texts


async def test_unknown_epoch_gets_recovered_false(clients: Callable[..., Client]) -> None:
    a, b, stream = await _pair_in_room(clients)
    await a.say(stream, "bonjour")
    epoch, last = b.positions[stream]
    await b.drop()
    b.positions[stream] = (epoch + 1, last)
    await b.connect()
    # The resume result comes before welcome; the client recorded it.
    result = b.resumed[stream]
    assert result["recovered"] is False and result["reason"] == "epoch"
    assert result["epoch"] == epoch and stream not in b.positions  # the client must reload


async def test_kill_9_loses_no_acknowledged_message(
    make_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    node = make_server(tmp_path / "killed")
    senders = [Client(node.url) for _ in range(4)]
    acked: dict[str, int] = {}
    try:
        for s in senders:
            await s.enter()
            await s.connect()
        room = (await senders[0].request("create_room", name="Crash test"))["room"]["id"]
        for s in senders[1:]:
            await senders[0].request("invite", room=room, user=s.id)
            await s.join(room)
        stream = f"room:{room}"
        planned = {s.id: [f"{s.id}-{i}" for i in range(400)] for s in senders}

        async def burst(s: Client) -> None:
            for cid in planned[s.id]:
                try:
                    reply = await s.say(stream, cid, cid=cid)
                except Exception:
                    return  # the server died: stop here, retry later
                if reply.get("type") == "ack":
                    acked[cid] = reply["seq"]

        tasks = [asyncio.create_task(burst(s)) for s in senders]
        await asyncio.sleep(1.0)
        node.kill()
        await asyncio.gather(*tasks, return_exceptions=True)
        assert acked, "nothing was acknowledged before the kill"
        node.start()
        # Clients come back and retry everything they planned, with the same cids.
        for s in senders:
            s.ws = None
            await s.connect()
        for s in senders:
            for cid in planned[s.id]:
                reply = await s.say(stream, cid, cid=cid)
                assert reply["type"] == "ack", reply
                if cid in acked:
                    assert reply["seq"] == acked[cid] and reply["duplicate"] is True
        page_texts: list[str] = []
        before = None
        while True:
            page = await senders[0].request("history", stream=stream, before=before, limit=100)
            page_texts = [m["text"] for m in page["messages"]] + page_texts
            if not page["has_more"]:
                break
            before = page["messages"][0]["seq"]
        expected = {cid for cids in planned.values() for cid in cids}
        assert len(page_texts) == len(expected)  # no duplicates
        assert set(page_texts) == expected  # nothing lost
    finally:
        for s in senders:
            await s.close()
