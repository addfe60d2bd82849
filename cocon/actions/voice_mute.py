"""Muting in voice rooms: the owner of a private room from the chat (``voice_mute``), and
moderators from the staff API, through the one :func:`do_mute`.

The owner's mute is Janus's ``mute`` alone: the person may unmute themselves. A moderator's
is a sanction (kind ``voice_mute``, scoped to the room, audited, with a statement of reasons,
appealable) that holds until a moderator lifts it: Janus mutes the person, they join muted
again later, and the nodes' watchers mute them again whenever they unmute themselves
(:func:`cocon.actions.voice.on_janus_event`).
"""

from __future__ import annotations

import time
from typing import Any

from cocon.access import access_room_as_owner, access_room_as_staff
from cocon.actions.common import notify, publish
from cocon.actions.voice import JANUS_FAILURES, janus_or_off, moderator_muted, unavailable
from cocon.errors import BadRequest, NotAllowed, NotFound
from cocon.gateway.connection import Connection
from cocon.moderation.audit import audit_log_for
from cocon.moderation.policy import statement
from cocon.moderation.roles import Role, may_act
from cocon.moderation.staff import Staff
from cocon.protocol.events import Done, VoiceMuted
from cocon.rtc.janus import user_of
from cocon.runtime import Runtime
from cocon.store import moderation as mod_store
from cocon.store.rooms import RoomRow

REASON_MAX = 2000


async def _muter_room(
    rt: Runtime, actor: Connection | Staff, room_id: int, user_id: int
) -> RoomRow:
    """The room in which ``actor`` may mute ``user_id``: its owner (private room) or staff
    allowed to act on users (not conflicted with that person)."""
    async with rt.engine.connect() as db:
        if isinstance(actor, Connection):
            return await access_room_as_owner(db, actor.user_id, room_id)
        room = await access_room_as_staff(db, room_id)
        conflicted = await mod_store.conflicted(db, actor.id, user_id)
    if not may_act(actor.role, Role.USER, conflicted=conflicted):
        raise NotAllowed(
            "Vous ne pouvez pas agir sur cette personne (rôle, ou conflit : une autre "
            "personne de la modération doit le faire)."
        )
    return room


async def do_mute(
    rt: Runtime,
    actor: Connection | Staff,
    room_id: int,
    user_id: int,
    muted: bool = True,
    rule: str = "",
    reason: str = "",
    ref: str | None = None,
) -> dict[str, Any]:
    """Mute or unmute ``user_id`` in a voice room: ``voice_mute`` (the owner, from the chat)
    and the staff API (moderators) both come here."""
    janus = janus_or_off(rt)
    staff = actor if isinstance(actor, Staff) else None
    if staff is not None:
        rule, reason = rule.strip(), reason.strip()
        if not reason or len(reason) > REASON_MAX:
            raise BadRequest(
                f"reason est obligatoire ({REASON_MAX} caractères au plus).", field="reason"
            )
        if muted and not 0 < len(rule) <= 80:
            raise BadRequest("rule est obligatoire (80 caractères au plus).", field="rule")
    room = await _muter_room(rt, actor, room_id, user_id)
    held = await moderator_muted(rt, user_id, room.id)
    if staff is None and held and not muted:
        raise NotAllowed("La modération a coupé ce micro : elle seule peut le rallumer.")
    try:
        ids = [p["id"] for p in await janus.participants(room.id) if user_of(p["id"]) == user_id]
    except JANUS_FAILURES as exc:
        raise unavailable(exc) from exc
    if not ids and (muted or not held or staff is None):
        raise NotFound("Cette personne n'est pas dans le salon vocal.", field="user")
    sanction: int | None = None
    if staff is not None:  # recorded first: from now on the watchers mute them again
        sanction = await _record(rt, staff, room.id, user_id, muted, rule, reason, held)
    try:
        for participant in ids:
            await janus.mute(room.id, participant, muted)
    except JANUS_FAILURES as exc:
        raise unavailable(exc) from exc
    await publish(
        rt,
        f"user:{user_id}",
        VoiceMuted(room=room.id, muted=muted, by="owner" if staff is None else "moderation"),
    )
    if isinstance(actor, Connection):
        actor.send(Done(ref=ref))
    return {"room": room.id, "user": user_id, "muted": muted, "sanction": sanction}


async def _record(
    rt: Runtime,
    staff: Staff,
    room_id: int,
    user_id: int,
    muted: bool,
    rule: str,
    reason: str,
    held: list[int],
) -> int | None:
    """A moderator's mute is a sanction (audited, with a statement of reasons, appealable);
    unmuting lifts the ones in force."""
    t = time.time()
    audit = audit_log_for(rt.engine, rt.settings.data_dir, rt.settings.audit_head_every)
    if not muted:
        async with rt.engine.begin() as db:
            for sanction_id in held:
                await mod_store.revoke(db, sanction_id)
        await audit.append(
            staff.actor,
            "voice_unmute",
            f"user:{user_id}",
            reason,
            {"room": room_id, "lifted": held},
        )
        return None
    if held:  # already held silent: Janus was told again, nothing new to record
        return held[0]
    async with rt.engine.begin() as db:
        sanction_id = await mod_store.add_sanction(
            db,
            user_id=user_id,
            kind="voice_mute",
            room_id=room_id,
            rule=rule,
            reason=reason,
            facts="",
            starts_at=t,
            ends_at=None,
            staff_id=staff.id,
            case_id=None,
            revoked=False,
        )
    await audit.append(
        staff.actor,
        "voice_mute",
        f"user:{user_id}",
        reason,
        {"room": room_id, "sanction": sanction_id, "rule": rule},
    )
    await notify(
        rt,
        user_id,
        "sanction",
        statement("voice_mute", rule, "", reason, t, None, room_id, sanction_id),
    )
    return sanction_id


async def voice_room(rt: Runtime, staff: Staff, room_id: int) -> dict[str, Any]:
    """Who is in a voice room, for moderators."""
    janus = janus_or_off(rt)
    if staff.role < Role.MODERATOR:
        raise NotAllowed("Réservé à la modération.")
    async with rt.engine.connect() as db:
        room = await access_room_as_staff(db, room_id)
    try:
        found = await janus.participants(room.id)
    except JANUS_FAILURES as exc:
        raise unavailable(exc) from exc
    people = []
    for p in found:
        user_id = user_of(p["id"])
        if user_id:
            held = await moderator_muted(rt, user_id, room.id)
            people.append(
                {
                    "user": user_id,
                    "display": p.get("display"),
                    "muted": bool(p.get("muted")),
                    "moderated": bool(held),
                }
            )
    return {"room": room.id, "participants": people}


async def do_mute_command(
    rt: Runtime, conn: Connection, room_id: int, user_id: int, muted: bool, ref: str | None
) -> None:
    """``voice_mute`` from the chat (a private room's owner)."""
    await do_mute(rt, conn, room_id, user_id, muted, ref=ref)
