"""Rooms over real WebSockets: list, join, presence, chat, history, private rooms."""

from __future__ import annotations

from collections.abc import Callable

from tests.client import Client


async def _two(clients: Callable[..., Client]) -> tuple[Client, Client]:
    a, b = clients(), clients()
    for c in (a, b):
        await c.enter()
        await c.connect()
    return a, b


async def _room_id(client: Client, name: str = "Accueil") -> int:
    return next(r["id"] for r in client.welcome["rooms"] if r["name"] == name)


async def test_default_public_rooms_exist(clients: Callable[..., Client]) -> None:
    a = clients()
    await a.enter()
    welcome = await a.connect()
    names = {r["name"] for r in welcome["rooms"]}
    assert {"Accueil", "18-25 ans", "Musique", "Sport"} <= names
    assert all(not r["private"] for r in welcome["rooms"])


async def test_join_chat_presence_and_mentions(clients: Callable[..., Client]) -> None:
    a, b = await _two(clients)
    room = await _room_id(a, "Musique")
    await a.join(room)
    joined = await b.join(room)
    assert a.id in {m["id"] for m in joined["members"]}
    presence = await a.wait("presence", room=room, joined=True)
    assert presence["user"]["id"] == b.id
    stream = f"room:{room}"
    ack = await b.say(stream, f"Salut @{a.user['pseudo']} <b>ça va</b> ?")
    assert ack["type"] == "ack" and ack["seq"] >= 1
    msg = await a.wait("msg", stream=stream, seq=ack["seq"])
    assert msg["text"] == f"Salut @{a.user['pseudo']} <b>ça va</b> ?"  # text, never HTML
    assert msg["mentions"] == [a.id]
    assert msg["sender"]["pseudo"] == b.user["pseudo"]
    await b.send({"type": "typing", "stream": stream})
    typing = await a.wait("typing", stream=stream)
    assert typing["user"]["id"] == b.id
    left = await b.request("leave", room=room)
    assert left["type"] == "left"
    gone = await a.wait("presence", room=room, joined=False)
    assert gone["user"]["id"] == b.id


async def test_history_on_join_and_scroll_back(clients: Callable[..., Client]) -> None:
    a, b = await _two(clients)
    created = await a.request("create_room", name="Archives du test")
    room = created["room"]["id"]
    stream = f"room:{room}"
    for i in range(120):
        await a.say(stream, f"message {i}")
    await a.request("invite", room=room, user=b.id)
    joined = await b.join(room)
    texts = [m["text"] for m in joined["history"]]
    assert texts == [f"message {i}" for i in range(70, 120)]
    page = await b.request("history", stream=stream, before=joined["history"][0]["seq"], limit=50)
    assert [m["text"] for m in page["messages"]] == [f"message {i}" for i in range(20, 70)]
    assert page["has_more"] is True
    last = await b.request("history", stream=stream, before=page["messages"][0]["seq"], limit=50)
    assert [m["text"] for m in last["messages"]] == [f"message {i}" for i in range(20)]
    assert last["has_more"] is False


async def test_private_room_password_invite_kick_transfer(clients: Callable[..., Client]) -> None:
    a, b = await _two(clients)
    c = clients()
    await c.enter()
    await c.connect()
    created = await a.request("create_room", name="Club du jeudi", password="tarte")
    room = created["room"]
    assert created["type"] == "joined" and room["private"] and room["owner"] == a.id
    # Unlisted: the others do not see it.
    rooms = await b.request("rooms")
    assert room["id"] not in {r["id"] for r in rooms["rooms"]}
    wrong = await b.request("join", room=room["id"], password="pomme")
    assert wrong["type"] == "error" and wrong["code"] == "wrong_password"
    assert (await b.request("join", room=room["id"], password="tarte"))["type"] == "joined"
    # Invitation: no password needed, and a notice in the inbox.
    assert (await a.request("invite", room=room["id"], user=c.id))["type"] == "ok"
    notice = await c.wait("notice", kind="invite")
    assert notice["data"]["room"]["id"] == room["id"]
    assert (await c.join(room["id"]))["type"] == "joined"
    # Only the owner sets the topic.
    denied = await b.request("set_room", room=room["id"], topic="pirate")
    assert denied["type"] == "error" and denied["code"] == "forbidden"
    updated = await a.request("set_room", room=room["id"], topic="Ce soir : quiz")
    assert updated["room"]["topic"] == "Ce soir : quiz"
    assert (await b.wait("room"))["room"]["topic"] == "Ce soir : quiz"
    # Kick: b is out and cannot come back, even with the password.
    assert (await a.request("kick", room=room["id"], user=b.id))["type"] == "ok"
    kicked = await b.wait("left", room=room["id"])
    assert kicked["reason"] == "kicked"
    again = await b.request("join", room=room["id"], password="tarte")
    assert again["type"] == "error" and again["code"] == "forbidden"
    refused = await b.say(f"room:{room['id']}", "je suis encore là ?")
    assert refused["type"] == "error" and refused["code"] == "not_member"
    # Hand over ownership.
    moved = await a.request("transfer", room=room["id"], user=c.id)
    assert moved["room"]["owner"] == c.id
    assert (await c.request("set_room", room=room["id"], password=""))["room"][
        "has_password"
    ] is False


async def test_member_counts_are_pushed(clients: Callable[..., Client]) -> None:
    a, b = await _two(clients)
    room = await _room_id(a, "Sport")
    await b.join(room)
    counts = await a.wait("counts", timeout=6)
    while str(room) not in counts["counts"]:
        counts = await a.wait("counts", timeout=6)
    assert counts["counts"][str(room)] >= 1
