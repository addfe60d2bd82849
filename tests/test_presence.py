"""Presence after disconnects: no ghosts once the grace period passes; resumes are invisible."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.client import Client
from tests.servers import ServerProcess


async def test_dropped_member_leaves_after_grace_and_friends_see_offline(
    make_server: Callable[..., ServerProcess],
) -> None:
    node = make_server(COCON_PRESENCE_GRACE_S="1", COCON_HEARTBEAT_S="2")
    a, b = Client(node.url), Client(node.url)
    try:
        for c in (a, b):
            await c.enter()
            await c.connect()
        room = next(r["id"] for r in a.welcome["rooms"] if r["name"] == "Accueil")
        await a.join(room)
        await b.join(room)
        await a.request("friend_request", user=b.id)
        await b.request("friend_answer", user=a.id, accept=True)
        # A quick reconnect that resumes is invisible to the others.
        await b.drop()
        await b.connect()
        assert b.resumed[f"room:{room}"]["recovered"] is True
        assert a.id in {m["id"] for m in b.resumed[f"room:{room}"]["members"]}
        await asyncio.sleep(1.5)
        members = (await a.request("join", room=room))["members"]
        assert b.id in {m["id"] for m in members}
        # A real departure: gone from the member list and offline for friends.
        await b.drop()
        left = await a.wait("presence", room=room, joined=False, timeout=10)
        assert left["user"]["id"] == b.id
        offline = await a.wait("friend", user=b.id, timeout=10)
        assert offline["friend"]["online"] is False
        members = (await a.request("join", room=room))["members"]
        assert b.id not in {m["id"] for m in members}
    finally:
        await a.close()
        await b.close()


async def test_typing_in_private_conversation(clients: Callable[..., Client]) -> None:
    a, b = clients(), clients()
    for c in (a, b):
        await c.enter()
        await c.connect()
    conv = (await a.request("open_pm", user=b.id))["conversation"]
    await a.say(conv["stream"], "coucou")
    await b.wait("notice", kind="pm_request")
    await b.request("answer_pm", conversation=conv["id"], accept=True)
    await b.send({"type": "typing", "stream": conv["stream"]})
    typing = await a.wait("typing", stream=conv["stream"])
    assert typing["user"]["id"] == b.id


async def test_big_rooms_send_counts_not_every_coming_and_going(
    make_server: Callable[..., ServerProcess],
) -> None:
    node = make_server(COCON_MEMBER_LIST_MAX="2", COCON_PRESENCE_EVENTS_MAX="2")
    people = [Client(node.url) for _ in range(4)]
    try:
        for p in people:
            await p.enter()
            await p.connect()
        room = next(r["id"] for r in people[0].welcome["rooms"] if r["name"] == "Sport")
        for i, p in enumerate(people):
            joined = await p.join(room)
            assert joined["room"]["count"] == i + 1  # the count is exact
            assert len(joined["members"]) == min(i + 1, 2)  # the list is capped
        first = people[0]
        await first.wait("presence", room=room, joined=True)  # the 2nd came: room still small
        counts = await first.wait("counts", timeout=6)
        while counts["counts"].get(str(room)) != 4:
            counts = await first.wait("counts", timeout=6)
        assert not [e for e in list(first.events._queue) if e.get("type") == "presence"]
    finally:
        for p in people:
            await p.close()
