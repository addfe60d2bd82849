"""Muting in voice rooms: a moderator mutes anyone in any voice room (staff API, audited, a
sanction with a statement of reasons); the mute holds in Janus even against a browser that
unmutes itself, and across leaving and joining again, until a moderator lifts it. The owner
of a private room mutes and unmutes in its own voice room, from the chat."""

from __future__ import annotations

from typing import Any

from cocon.store import moderation as mod_store
from cocon.store.engine import make_engine
from tests.calls.voice.helpers import (
    JanusClient,
    eventually,
    first_room,
    guest,
    participants,
    seated_pair,
    take_seat,
)
from tests.calls.voice.net import JanusProc
from tests.moderation.helpers import StaffClient, database_url
from tests.servers import ServerProcess


async def muted_in_janus(janus: JanusProc, room: int, participant: int) -> bool | None:
    found = (await participants(janus, room)).get(participant)
    return None if found is None else bool(found["muted"])


async def audit_about(server: ServerProcess, user_id: int) -> list[Any]:
    engine = make_engine(database_url(server))
    try:
        async with engine.connect() as db:
            return await mod_store.audit_about(db, f"user:{user_id}")
    finally:
        await engine.dispose()


def states_of(jc: JanusClient, participant: int) -> list[bool]:
    """The mute states of ``participant`` that another participant was told, in order."""
    return [
        bool(p["muted"])
        for e in jc.events
        for p in e.get("participants") or []
        if p.get("id") == participant
    ]


async def test_a_moderator_mute_holds_until_a_moderator_lifts_it(
    voice_server: ServerProcess, janus: JanusProc, closing: list[Any]
) -> None:
    mod = await StaffClient(voice_server).login()
    closing.append(mod)
    a, _b, room, ev_a, _ev_b, jc_a, jc_b = await seated_pair(voice_server, closing)
    assert await muted_in_janus(janus, room, ev_a["id"]) is False

    done = await mod.post(
        "/voice/mute", {"room": room, "user": a.id, "rule": "Règle 4", "reason": "Cris répétés"}
    )
    assert done["muted"] is True and done["sanction"], done
    told = await a.wait("voice_muted", room=room)
    assert told["muted"] is True and told["by"] == "moderation", told
    assert await muted_in_janus(janus, room, ev_a["id"]) is True  # enforced in Janus
    # The statement of reasons, and the audit chain.
    statement = next(n for n in a.notices if n["kind"] == "sanction")
    assert statement["data"]["what"] == "voice_mute" and statement["data"]["room"] == room
    assert statement["data"]["sanction"] == done["sanction"]
    entry = (await audit_about(voice_server, a.id))[-1]
    assert (entry.actor, entry.action, entry.reason) == (
        f"staff:{mod.id}",
        "voice_mute",
        "Cris répétés",
    )
    assert f'"room":{room}' in entry.data and f'"sanction":{done["sanction"]}' in entry.data
    seen = await mod.get(f"/voice/{room}")
    mine = next(p for p in seen["participants"] if p["user"] == a.id)
    assert mine["muted"] and mine["moderated"] and mine["display"] == a.user["pseudo"], seen

    # A tampered browser unmutes itself: Janus lets it, the server mutes it again at once.
    before = len(states_of(jc_b, ev_a["id"]))
    answer = await jc_a.message({"request": "configure", "muted": False})
    assert answer.get("result") == "ok", answer

    async def muted_again() -> list[bool]:
        later = states_of(jc_b, ev_a["id"])[before:]
        return later if later[-2:] == [False, True] else []

    await eventually(muted_again, "the self-unmute was not undone")
    assert await muted_in_janus(janus, room, ev_a["id"]) is True

    # Leaving and joining again: still muted, from the start.
    assert (await a.request("voice_leave", room=room))["type"] == "ok"
    ev_again, jc_again = await take_seat(a, room)
    closing.append(jc_again)
    assert ev_again["muted"] is True, ev_again
    assert await muted_in_janus(janus, room, ev_again["id"]) is True

    # A moderator lifts it; now unmuting sticks.
    lifted = await mod.post(
        "/voice/mute", {"room": room, "user": a.id, "muted": False, "reason": "Calmé"}
    )
    assert lifted["muted"] is False, lifted
    told = await a.wait("voice_muted", room=room)
    assert told["muted"] is False and told["by"] == "moderation", told
    assert await muted_in_janus(janus, room, ev_again["id"]) is False
    assert (await audit_about(voice_server, a.id))[-1].action == "voice_unmute"
    admin = await StaffClient(voice_server, role="admin").login()
    closing.append(admin)
    assert (await admin.get("/audit/verify"))["problems"] == []  # the chain holds
    seen = await mod.get(f"/voice/{room}")
    assert not next(p for p in seen["participants"] if p["user"] == a.id)["moderated"]


async def test_voice_mute_checks_who_and_what(
    voice_server: ServerProcess, janus: JanusProc, closing: list[Any]
) -> None:
    mod = await StaffClient(voice_server).login()
    closing.append(mod)
    a, b = await guest(voice_server, closing), await guest(voice_server, closing)
    room = first_room(a)
    await a.join(room)
    _ev_a, jc_a = await take_seat(a, room)
    closing.append(jc_a)
    ok = {"room": room, "user": a.id, "rule": "Règle 4", "reason": "Cris"}
    # Not staff.
    async with b.http.post(voice_server.url + "/staff/api/voice/mute", json=ok) as resp:
        assert resp.status == 401, await resp.text()
    # Bad input: a clear error each time.
    for bad, field in (
        ({"room": "1"}, "room"),
        ({"user": True}, "user"),
        ({"user": 2**40}, "user"),
        ({"muted": "yes"}, "muted"),
        ({"reason": ""}, "reason"),
        ({"rule": ""}, "rule"),
        ({"reason": 3}, "reason"),
        ({"rule": None}, "rule"),
    ):
        refused = await mod.post("/voice/mute", ok | bad, status=400)
        assert refused["error"]["field"] == field, (bad, refused)
    refused = await mod.post("/voice/mute", ok | {"user": b.id}, status=400)
    assert refused["error"]["code"] == "not_found", refused  # B is not in the voice room
    refused = await mod.post("/voice/mute", ok | {"room": 999_999}, status=400)
    assert refused["error"]["code"] == "not_found", refused
    async with mod.http.post(voice_server.url + "/staff/api/voice/mute", data="{") as resp:
        assert resp.status == 400 and (await resp.json())["error"]["code"] == "bad_json"
    await mod.get("/voice/999999", status=400)
    # A moderator the person reported is conflicted: another one must do it.
    reported = await a.request(
        "report", target="staff", staff=mod.id, category="harassment", comment="abus"
    )
    assert reported["type"] == "reported", reported
    refused = await mod.post("/voice/mute", ok, status=403)
    assert refused["error"]["code"] == "forbidden", refused
    assert await muted_in_janus(janus, room, _ev_a["id"]) is False


async def test_the_owner_mutes_in_a_private_voice_room(
    voice_server: ServerProcess, janus: JanusProc, closing: list[Any]
) -> None:
    owner, b = await guest(voice_server, closing), await guest(voice_server, closing)
    made = await owner.request("create_room", name="Salon de test", topic="")
    assert made["type"] == "joined", made
    room = made["room"]["id"]
    assert (await owner.request("invite", room=room, user=b.id))["type"] == "ok"
    await b.join(room)
    ev_o, jc_o = await take_seat(owner, room)
    ev_b, jc_b = await take_seat(b, room)
    closing += [jc_o, jc_b]
    assert ev_o["owner"] is True and not ev_b.get("owner")
    refused = await b.request("voice_mute", room=room, user=owner.id)
    assert refused["type"] == "error" and refused["code"] == "forbidden", refused
    assert (await owner.request("voice_mute", room=room, user=b.id))["type"] == "ok"
    told = await b.wait("voice_muted", room=room)
    assert told["muted"] is True and told["by"] == "owner", told
    assert await muted_in_janus(janus, room, ev_b["id"]) is True
    again = await owner.request("voice_mute", room=room, user=b.id, muted=False)
    assert again["type"] == "ok", again
    assert (await b.wait("voice_muted", room=room))["muted"] is False
    assert await muted_in_janus(janus, room, ev_b["id"]) is False
    # A moderator's mute in the same room: the owner cannot lift it.
    mod = await StaffClient(voice_server).login()
    closing.append(mod)
    await mod.post("/voice/mute", {"room": room, "user": b.id, "rule": "R1", "reason": "Abus"})
    assert (await b.wait("voice_muted", room=room))["by"] == "moderation"
    refused = await owner.request("voice_mute", room=room, user=b.id, muted=False)
    assert refused["type"] == "error" and refused["code"] == "forbidden", refused
    assert await muted_in_janus(janus, room, ev_b["id"]) is True
