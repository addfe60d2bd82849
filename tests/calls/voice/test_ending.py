"""A voice connection ends with the chat-room presence it came from: leaving the room, being
kicked (by the owner or by moderation) or banned takes the person out of the AudioBridge room,
and everyone still there sees them go."""

from __future__ import annotations

from typing import Any

from tests.calls.voice.helpers import (
    JanusClient,
    eventually,
    guest,
    participants,
    seated_pair,
    take_seat,
)
from tests.calls.voice.net import JanusProc
from tests.moderation.helpers import StaffClient
from tests.servers import ServerProcess


async def out_of_voice(
    janus: JanusProc, room: int, ev: dict[str, Any], witness: JanusClient
) -> None:
    """The participant was kicked (the others were told) and is gone from the room."""
    await witness.wait_event(lambda e: e.get("kicked") == ev["id"])

    async def gone() -> bool:
        return ev["id"] not in await participants(janus, room)

    await eventually(gone, "still in the AudioBridge room")


async def test_leaving_the_chat_room_ends_voice(
    voice_server: ServerProcess, janus: JanusProc, closing: list[Any]
) -> None:
    a, _b, room, ev_a, _ev_b, _jc_a, witness = await seated_pair(voice_server, closing)
    await a.send({"type": "leave", "room": room})
    ended = await a.wait("voice_ended", room=room)  # then the "left" answer
    assert ended["reason"] == "left", ended
    await a.wait("left", room=room)
    await out_of_voice(janus, room, ev_a, witness)
    # And voice_join there is refused until A comes back into the chat room.
    refused = await a.request("voice_join", room=room)
    assert refused["type"] == "error" and refused["code"] == "not_member", refused


async def test_kicked_by_the_owner_ends_voice(
    voice_server: ServerProcess, janus: JanusProc, closing: list[Any]
) -> None:
    owner, b = await guest(voice_server, closing), await guest(voice_server, closing)
    made = await owner.request("create_room", name="Salon privé", topic="")
    room = made["room"]["id"]
    assert (await owner.request("invite", room=room, user=b.id))["type"] == "ok"
    await b.join(room)
    _ev_o, jc_o = await take_seat(owner, room)
    ev_b, jc_b = await take_seat(b, room)
    closing += [jc_o, jc_b]
    assert (await owner.request("kick", room=room, user=b.id))["type"] == "ok"
    assert (await b.wait("voice_ended", room=room))["reason"] == "left"
    await out_of_voice(janus, room, ev_b, jc_o)


async def test_kicked_or_banned_by_moderation_ends_voice(
    voice_server: ServerProcess, janus: JanusProc, closing: list[Any]
) -> None:
    mod = await StaffClient(voice_server).login()
    closing.append(mod)
    a, b, room, ev_a, ev_b, _jc_a, witness = await seated_pair(voice_server, closing)
    kick = {"kind": "kick", "user": a.id, "room": room, "rule": "R2", "reason": "Insultes"}
    assert (await mod.post("/sanctions", kick))["sanction"]
    assert (await a.wait("voice_ended", room=room))["reason"] == "left"
    await out_of_voice(janus, room, ev_a, witness)
    # A ban closes every connection of the person: their voice goes with it.
    c = await guest(voice_server, closing)
    await c.join(room)
    _ev_c, jc_c = await take_seat(c, room)
    closing.append(jc_c)
    ban = {"kind": "ban", "user": b.id, "rule": "R1", "reason": "Menaces", "duration_s": 3600}
    assert (await mod.post("/sanctions", ban))["sanction"]
    await out_of_voice(janus, room, ev_b, jc_c)


async def test_restricted_as_a_minor_ends_voice(
    voice_server: ServerProcess, janus: JanusProc, closing: list[Any]
) -> None:
    a, _b, room, ev_a, _ev_b, _jc_a, witness = await seated_pair(voice_server, closing)
    revealed = await a.say(f"room:{room}", "en vrai j'ai 14 ans je suis en 4eme")
    assert revealed["type"] == "screened" and revealed["action"] == "restrict_minor", revealed
    assert (await a.wait("voice_ended", room=room))["reason"] == "restricted"
    await out_of_voice(janus, room, ev_a, witness)
    refused = await a.request("voice_join", room=room)
    assert refused["type"] == "error" and refused["code"] == "restricted", refused
