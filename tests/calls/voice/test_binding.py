"""Who a participant is in Janus is the server's decision: a browser cannot join a voice room
by itself (the rooms' only join token never leaves the server), cannot choose its id or
display, cannot move to another room, and is put out if it renames itself. One voice
connection per person and room."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from cocon.rtc.janus import user_of
from tests.calls.voice.helpers import (
    JanusClient,
    eventually,
    first_room,
    participants,
    take_seat,
)
from tests.calls.voice.net import JanusProc
from tests.client import Client
from tests.servers import ServerProcess

UNAUTHORIZED = 489  # JANUS_AUDIOBRIDGE_ERROR_UNAUTHORIZED ("not in the allowed list")


@pytest.fixture
def people(voice_server: ServerProcess, closing: list[Any]) -> Callable[..., Any]:
    """``await people()``: a connected guest in the first public room (``like=``: another tab
    of that guest); closed at the end, like whatever the test adds to ``closing``."""

    async def make(like: Client | None = None) -> Client:
        c = Client(voice_server.url)
        closing.append(c)
        if like is None:
            await c.enter()
        else:
            c.token, c.user = like.token, like.user
        await c.connect()
        await c.join(first_room(c))
        return c

    return make


def other_room(client: Client) -> int:
    return sorted(int(r["id"]) for r in client.welcome["rooms"] if not r["private"])[1]


async def test_a_browser_cannot_join_a_voice_room_by_itself(
    people: Any, janus: JanusProc, closing: list[Any]
) -> None:
    a, b = await people(), await people()
    room = first_room(a)
    ev_b, jc_b = await take_seat(b, room)
    closing.append(jc_b)
    ev_a = await a.request("voice_join", room=room)
    assert ev_a["type"] == "voice" and user_of(ev_a["id"]) == a.id
    tampered = await JanusClient(janus.ws_url).open()
    closing.append(tampered)
    attempts = [
        {"id": ev_a["id"], "display": a.user["pseudo"]},  # its own seat, without the server
        {"id": ev_a["id"], "display": a.user["pseudo"], "token": "made-up"},
        {"id": b.id, "display": b.user["pseudo"]},  # as B: the old scheme (id = user id)
        {"id": ev_b["id"] + 1, "display": b.user["pseudo"], "token": ""},
        {"display": a.user["pseudo"]},  # any id at all
    ]
    for extra in attempts:
        refused = await tampered.message({"request": "join", "room": room, **extra})
        assert refused.get("error_code") == UNAUTHORIZED, (extra, refused)
    # The chat command does not let it choose either.
    for extra in ({"id": b.id}, {"display": b.user["pseudo"]}, {"token": "x"}):
        ids = {"session": tampered.session, "handle": tampered.handle}
        refused = await a.request("voice_attach", room=room, **ids, **extra)
        assert refused["type"] == "error" and refused["code"] == "bad_request", refused
    found = await participants(janus, room)
    assert {user_of(p) for p in found} == {0, b.id}, found  # B and the server's watcher
    # Through the server: A's handle joins as A, with the id and display it was given.
    done = await a.request(
        "voice_attach", room=room, session=tampered.session, handle=tampered.handle
    )
    assert done["type"] == "ok", done
    joined = await tampered.wait_event(lambda e: e.get("audiobridge") == "joined")
    assert joined["id"] == ev_a["id"], joined
    found = await participants(janus, room)
    assert found[ev_a["id"]]["display"] == a.user["pseudo"], found
    assert found[ev_b["id"]]["display"] == b.user["pseudo"], found


async def test_a_participant_cannot_move_to_another_room(
    people: Any, janus: JanusProc, closing: list[Any]
) -> None:
    a, b = await people(), await people()
    room, elsewhere = first_room(a), other_room(a)
    await b.join(elsewhere)
    _ev_b, jc_b = await take_seat(b, elsewhere)  # the other voice room exists in Janus
    closing.append(jc_b)
    # A is not in that chat room: no voice there for A.
    refused = await a.request("voice_join", room=elsewhere)
    assert refused["type"] == "error" and refused["code"] == "not_member", refused
    refused = await a.request("voice_attach", room=elsewhere, session=1, handle=1)
    assert refused["type"] == "error" and refused["code"] == "not_found", refused
    ev_a, jc_a = await take_seat(a, room)
    closing.append(jc_a)
    moved = await jc_a.message({"request": "changeroom", "room": elsewhere, "display": "A"})
    assert moved.get("error_code") == UNAUTHORIZED, moved
    second = await jc_a.attach()
    joined = await jc_a.message({"request": "join", "room": elsewhere}, handle=second)
    assert joined.get("error_code") == UNAUTHORIZED, joined
    assert ev_a["id"] in await participants(janus, room)
    assert {user_of(p) for p in await participants(janus, elsewhere)} == {0, b.id}


async def test_renaming_yourself_puts_you_out(
    people: Any, janus: JanusProc, closing: list[Any]
) -> None:
    a, b = await people(), await people()
    room = first_room(a)
    ev_a, jc_a = await take_seat(a, room)
    ev_b, jc_b = await take_seat(b, room)
    closing += [jc_a, jc_b]
    answer = await jc_a.message({"request": "configure", "display": b.user["pseudo"]})
    assert answer.get("result") == "ok", answer  # Janus itself lets anyone rename
    ended = await a.wait("voice_ended", room=room)
    assert ended["reason"] == "renamed", ended
    await jc_b.wait_event(lambda e: e.get("kicked") == ev_a["id"])

    async def gone() -> bool:
        return ev_a["id"] not in await participants(janus, room)

    await eventually(gone, "the renamed participant is still in the room")
    assert (await participants(janus, room))[ev_b["id"]]["display"] == b.user["pseudo"]


async def test_another_tab_replaces_the_first(
    people: Any, janus: JanusProc, closing: list[Any]
) -> None:
    a = await people()
    room = first_room(a)
    ev1, jc1 = await take_seat(a, room)
    a2 = await people(like=a)
    ev2, jc2 = await take_seat(a2, room)
    closing += [jc1, jc2]
    assert ev1["id"] != ev2["id"] and user_of(ev1["id"]) == user_of(ev2["id"]) == a.id
    ended = await a.wait("voice_ended", room=room)
    assert ended["reason"] == "replaced", ended

    async def only_the_second() -> bool:
        return {p for p in await participants(janus, room) if user_of(p)} == {ev2["id"]}

    await eventually(only_the_second, "both tabs are in the voice room")
    # The first tab's end does not touch the second.
    await a.close()
    await asyncio.sleep(1)  # the server handles the close meanwhile
    assert ev2["id"] in await participants(janus, room)
