"""Voice rooms over the chat protocol, against a real Janus in the test's network namespace:
who may join, what the server answers, and bad input."""

from __future__ import annotations

from collections.abc import Callable

from cocon.rtc.janus import user_of
from tests.calls.conftest import Turn, pair
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


async def test_voice_join_members_only(voice_server: ServerProcess, janus: JanusProc) -> None:
    a, stranger = Client(voice_server.url), Client(voice_server.url)
    try:
        for c in (a, stranger):
            await c.enter()
            await c.connect()
        room = first_room(a)
        refused = await stranger.request("voice_join", room=room)
        assert refused["type"] == "error" and refused["code"] == "not_member", refused
        await a.join(room)
        joined = await a.request("voice_join", room=room)
        assert joined["type"] == "voice", joined
        assert joined["janus"] == janus.ws_url and joined["janus_room"] == room
        assert user_of(joined["id"]) == a.id and joined["display"] == a.user["pseudo"]
        assert "token" not in joined  # the browser never holds a join token
        assert not joined.get("muted") and not joined.get("owner")
        assert joined["ice_servers"] and joined["ice_servers"][0]["username"]
        # Public room: nobody owns it, so nobody mutes through the chat.
        refused = await a.request("voice_mute", room=room, user=stranger.id)
        assert refused["type"] == "error" and refused["code"] == "forbidden", refused
        left = await a.request("voice_leave", room=room)
        assert left["type"] == "ok", left
    finally:
        await a.close()
        await stranger.close()


async def test_no_voice_for_a_restricted_minor(voice_server: ServerProcess) -> None:
    made: list[Client] = []

    def make() -> Client:
        made.append(Client(voice_server.url))
        return made[-1]

    try:
        _adult, minor, conv = await pair(make)
        revealed = await minor.say(str(conv["stream"]), "en vrai j'ai 14 ans je suis en 4eme")
        assert revealed["type"] == "screened" and revealed["action"] == "restrict_minor"
        room = first_room(minor)
        await minor.join(room)
        refused = await minor.request("voice_join", room=room)
        assert refused["type"] == "error" and refused["code"] == "restricted", refused
    finally:
        for c in made:
            await c.close()


async def test_voice_off_without_janus(
    make_server: Callable[..., ServerProcess], coturn: Turn
) -> None:
    server = make_server(**coturn.env())
    a = Client(server.url)
    try:
        await a.enter()
        await a.connect()
        room = first_room(a)
        await a.join(room)
        refused = await a.request("voice_join", room=room)
        assert refused["type"] == "error" and refused["code"] == "voice_off", refused
        refused = await a.request("voice_attach", room=room, session=1, handle=2)
        assert refused["type"] == "error" and refused["code"] == "voice_off", refused
    finally:
        await a.close()


async def test_voice_attach_bad_input(voice_server: ServerProcess, janus: JanusProc) -> None:
    a = Client(voice_server.url)
    jc = JanusClient(janus.ws_url)
    try:
        await a.enter()
        await a.connect()
        room = first_room(a)
        await a.join(room)
        await jc.open()
        ids = {"session": jc.session, "handle": jc.handle}
        # Before voice_join: nothing to attach.
        refused = await a.request("voice_attach", room=room, **ids)
        assert refused["type"] == "error" and refused["code"] == "not_found", refused
        assert (await a.request("voice_join", room=room))["type"] == "voice"
        for bad in ({"session": 0}, {"handle": -1}, {"session": 2**53}):
            refused = await a.request("voice_attach", room=room, **(ids | bad))
            assert refused["type"] == "error" and refused["code"] == "bad_request", refused
            assert refused.get("field") in bad, refused
        for bad_type in ({"session": "x"}, {"handle": 1.5}, {"extra": 1}):
            refused = await a.request("voice_attach", room=room, **(ids | bad_type))
            assert refused["type"] == "error" and refused["code"] == "bad_request", refused
        # Janus knows no such session / handle.
        refused = await a.request("voice_attach", room=room, session=123, handle=456)
        assert refused["type"] == "error" and refused["code"] == "not_found", refused
        refused = await a.request("voice_attach", room=room, session=jc.session, handle=456)
        assert refused["type"] == "error" and refused["code"] == "not_found", refused
        # The real one works, once.
        assert (await a.request("voice_attach", room=room, **ids))["type"] == "ok"
        refused = await a.request("voice_attach", room=room, **ids)
        assert refused["type"] == "error" and refused["code"] == "conflict", refused
        found = await participants(janus, room)
        assert [user_of(p) for p in found if user_of(p)] == [a.id], found
        assert (await a.request("voice_leave", room=room))["type"] == "ok"
    finally:
        await jc.close()
        await a.close()


async def test_voice_leave_kicks_the_participant(
    voice_server: ServerProcess, janus: JanusProc
) -> None:
    a, b = Client(voice_server.url), Client(voice_server.url)
    seats: list[JanusClient] = []
    try:
        for c in (a, b):
            await c.enter()
            await c.connect()
            await c.join(first_room(a))
        room = first_room(a)
        ev_a, jc_a = await take_seat(a, room)
        seats.append(jc_a)
        _ev_b, jc_b = await take_seat(b, room)
        seats.append(jc_b)
        assert (await a.request("voice_leave", room=room))["type"] == "ok"
        await jc_b.wait_event(lambda e: e.get("kicked") == ev_a["id"])

        async def gone() -> bool:
            return ev_a["id"] not in await participants(janus, room)

        await eventually(gone, "A is still in the AudioBridge room")
    finally:
        for jc in seats:
            await jc.close()
        await a.close()
        await b.close()
