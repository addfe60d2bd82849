"""Private conversations (request, accept, decline), blocking and friends."""

from __future__ import annotations

from collections.abc import Callable

from tests.client import Client


async def _pair(clients: Callable[..., Client]) -> tuple[Client, Client]:
    a, b = clients(), clients()
    for c in (a, b):
        await c.enter()
        await c.connect()
    return a, b


async def test_request_accept_then_chat(clients: Callable[..., Client]) -> None:
    a, b = await _pair(clients)
    opened = await a.request("open_pm", user=b.id)
    conv = opened["conversation"]
    assert conv["state"] == "pending" and conv["requested_by"] == a.id
    stream = conv["stream"]
    assert (await a.say(stream, "Salut, on discute ?"))["type"] == "ack"
    notice = await b.wait("notice", kind="pm_request")
    assert notice["data"]["preview"] == "Salut, on discute ?"
    assert notice["data"]["conversation"]["peer"]["id"] == a.id
    # b does not receive the messages of a pending request.
    refused = await b.say(stream, "hop")
    assert refused["type"] == "error"
    accepted = await b.request("answer_pm", conversation=conv["id"], accept=True)
    assert accepted["conversation"]["state"] == "accepted"
    await a.wait("conversation", timeout=5)
    history = await b.request("history", stream=stream)
    assert [m["text"] for m in history["messages"]] == ["Salut, on discute ?"]
    ack = await b.say(stream, "Oui, avec plaisir")
    got = await a.wait("msg", stream=stream, seq=ack["seq"])
    assert got["text"] == "Oui, avec plaisir"


async def test_the_welcome_gives_each_conversation_its_position(
    clients: Callable[..., Client],
) -> None:
    a, b = await _pair(clients)
    first = (await a.request("open_pm", user=b.id))["conversation"]
    assert first["last_seq"] == 0
    last = {}
    for _ in range(3):
        last = await a.say(first["stream"], "coucou")
    c = clients()
    await c.enter()
    await c.connect()
    second = (await a.request("open_pm", user=c.id))["conversation"]
    await a.drop()
    welcome = await a.connect(resume=False)
    shown = {conv["id"]: conv for conv in welcome["conversations"]}
    assert set(shown) == {first["id"], second["id"]}
    assert shown[first["id"]]["epoch"] == first["epoch"] != 0
    assert shown[first["id"]]["last_seq"] == last["seq"] == 3
    assert shown[second["id"]]["epoch"] == second["epoch"] != 0
    assert shown[second["id"]]["last_seq"] == 0


async def test_pending_limit_and_decline(clients: Callable[..., Client]) -> None:
    a, b = await _pair(clients)
    conv = (await a.request("open_pm", user=b.id))["conversation"]
    for i in range(5):
        assert (await a.say(conv["stream"], f"coucou {i}"))["type"] == "ack"
    capped = await a.say(conv["stream"], "coucou encore")
    assert capped["code"] == "pending_limit"
    declined = await b.request("answer_pm", conversation=conv["id"], accept=False)
    assert declined["conversation"]["state"] == "declined"
    refused = await a.say(conv["stream"], "allez")
    assert refused["type"] == "error" and refused["code"] == "declined"


async def test_block_hides_everything(clients: Callable[..., Client]) -> None:
    a, b = await _pair(clients)
    c = clients()
    await c.enter()
    await c.connect()
    room = (await a.request("create_room", name="Salon des bloqueurs"))["room"]["id"]
    for other in (b, c):
        await a.request("invite", room=room, user=other.id)
        await other.join(room)
    stream = f"room:{room}"
    blocked = await a.request("block", user=b.id)
    assert blocked["users"] == [b.id]
    ack_b = await b.say(stream, "tu me vois ?")
    ack_c = await c.say(stream, "moi tu me vois")
    hidden = await a.wait("hidden", stream=stream, seq=ack_b["seq"])
    assert "text" not in hidden
    shown = await a.wait("msg", stream=stream, seq=ack_c["seq"])
    assert shown["text"] == "moi tu me vois"
    page = await a.request("history", stream=stream)
    assert "tu me vois ?" not in [m["text"] for m in page["messages"]]
    # Requests from b are refused too.
    refused = await b.request("open_pm", user=a.id)
    assert refused["type"] == "error" and refused["code"] == "blocked"
    friend = await b.request("friend_request", user=a.id)
    assert friend["type"] == "error" and friend["code"] == "blocked"
    # Unblock restores.
    assert (await a.request("unblock", user=b.id))["users"] == []
    ack = await b.say(stream, "et maintenant ?")
    assert (await a.wait("msg", stream=stream, seq=ack["seq"]))["text"] == "et maintenant ?"


async def test_a_block_reaches_the_blockers_other_tab_at_once(
    clients: Callable[..., Client],
) -> None:
    """The fan-out keeps each room's recipients ready-made: a block made in one tab must
    change what the user's other tab gets from the very next message, both ways."""
    a, b = await _pair(clients)
    room = (await a.request("create_room", name="Salon des deux onglets"))["room"]["id"]
    await a.request("invite", room=room, user=b.id)
    await b.join(room)
    tab = clients(session=a.http)
    tab.token, tab.user = a.token, a.user
    await tab.connect()
    await tab.join(room)
    stream = f"room:{room}"
    before = await b.say(stream, "avant")  # the room's recipients are built here
    assert (await tab.wait("msg", stream=stream, seq=before["seq"]))["text"] == "avant"
    await a.request("block", user=b.id)
    await tab.wait("blocked")
    during = await b.say(stream, "pendant")
    hidden = await tab.wait("hidden", stream=stream, seq=during["seq"])
    assert "text" not in hidden
    await a.request("unblock", user=b.id)
    await tab.wait("blocked")
    after = await b.say(stream, "après")
    assert (await tab.wait("msg", stream=stream, seq=after["seq"]))["text"] == "après"
    seen = [m.get("text") for m in tab.messages.get(stream, [])]
    assert "pendant" not in seen


async def test_a_block_stops_the_next_private_message_and_only_that_pairs(
    clients: Callable[..., Client],
) -> None:
    """The node keeps each accepted conversation's facts; a block drops that pair's."""
    a, b = await _pair(clients)
    c = clients()
    await c.enter()
    await c.connect()
    streams = {}
    for other in (b, c):
        conv = (await other.request("open_pm", user=a.id))["conversation"]
        await other.say(conv["stream"], "salut")
        await a.request("answer_pm", conversation=conv["id"], accept=True)
        streams[other.id] = conv["stream"]
    for other in (b, c):  # both conversations' facts are now kept by the node
        assert (await other.say(streams[other.id], "ça va ?"))["type"] == "ack"
        assert (await a.say(streams[other.id], "oui"))["type"] == "ack"
    await a.request("block", user=b.id)
    refused = await b.say(streams[b.id], "et là ?")
    assert refused["type"] == "error" and refused["code"] == "blocked"
    assert (await c.say(streams[c.id], "toujours là"))["type"] == "ack"
    await a.request("unblock", user=b.id)
    assert (await b.say(streams[b.id], "de nouveau"))["type"] == "ack"


async def test_friends_request_accept_status_remove(clients: Callable[..., Client]) -> None:
    a, b = await _pair(clients)
    sent = await a.request("friend_request", user=b.id)
    assert sent["friend"]["state"] == "requested"
    notice = await b.wait("notice", kind="friend_request")
    assert notice["data"]["from"]["id"] == a.id
    accepted = await b.request("friend_answer", user=a.id, accept=True)
    assert accepted["friend"]["state"] == "friends" and accepted["friend"]["online"] is True
    listed = await a.request("friends")
    assert [(f["user"]["id"], f["state"]) for f in listed["friends"]] == [(b.id, "friends")]
    profile = await a.request("profile", user=b.id)
    assert profile["friend"] == "friends" and profile["online"] is True
    removed = await a.request("friend_remove", user=b.id)
    assert removed["friend"] is None
    assert (await a.request("friends"))["friends"] == []


async def test_guest_keeps_friends_and_blocks_on_the_same_device(
    clients: Callable[..., Client],
) -> None:
    a, b, c = clients(), clients(), clients()
    for x in (a, b, c):
        await x.enter()
        await x.connect()
    await a.request("friend_request", user=b.id)
    await b.request("friend_answer", user=a.id, accept=True)
    await c.request("block", user=a.id)
    assert a.ws is not None
    await a.ws.close()
    # Same device (same cookie jar), new pseudo: friends and blocks follow.
    again = clients(session=a.http)
    await again.enter()
    await again.connect()
    friends = (await again.request("friends"))["friends"]
    assert [(f["user"]["id"], f["state"]) for f in friends] == [(b.id, "friends")]
    refused = await again.request("open_pm", user=c.id)
    assert refused["type"] == "error" and refused["code"] == "blocked"
