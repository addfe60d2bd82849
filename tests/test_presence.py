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
