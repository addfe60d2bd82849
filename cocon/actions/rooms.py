"""Rooms: list, join, leave, private rooms and their owner's powers."""

from __future__ import annotations

import asyncio
import unicodedata

from cocon.access import access_room, access_room_as_owner, admit_to_room, excluded
from cocon.actions import cams as cam_actions
from cocon.actions import voice as voice_actions
from cocon.actions.common import (
    brief,
    briefs,
    entry_events,
    notify,
    now,
    publish,
    to_builtins,
)
from cocon.domain.passwords import hash_password
from cocon.errors import BadRequest, NotAllowed, NotFound
from cocon.gateway.connection import Connection
from cocon.gateway.tracker import Tracker
from cocon.protocol.events import (
    Done,
    Joined,
    Left,
    Message,
    Presence,
    RoomInfo,
    RoomUpdated,
    UserBrief,
)
from cocon.rtc.cams import book_for as cam_book
from cocon.runtime import Runtime
from cocon.safety.policy import Action, check_name
from cocon.store import rooms as room_store
from cocon.store import streams as stream_store
from cocon.store.rooms import RoomRow

NAME_MIN, NAME_MAX, TOPIC_MAX = 3, 40, 200
PASSWORD_MIN, PASSWORD_MAX = 4, 100


def room_info(room: RoomRow, count: int) -> RoomInfo:
    return RoomInfo(
        id=room.id,
        name=room.name,
        topic=room.topic,
        private=room.private,
        has_password=room.password_hash is not None,
        count=count,
        owner=room.owner_id,
        cams=room.cams,
    )


async def rooms_for(rt: Runtime, user_id: int) -> list[RoomInfo]:
    async with rt.engine.connect() as db:
        rows = await db.run_sync(room_store.listed_for, user_id)
    return await room_infos(rt, rows)


async def room_infos(rt: Runtime, rows: list[RoomRow]) -> list[RoomInfo]:
    """The rooms of ``rows`` (from :func:`room_store.listed_for`) with their member counts."""
    counts = await rt.presence.counts([r.id for r in rows])
    return [room_info(r, counts.get(r.id, 0)) for r in rows]


def _clean_line(raw: str, field: str, low: int, high: int) -> str:
    text = " ".join(
        "".join(ch for ch in unicodedata.normalize("NFC", raw) if ch.isprintable()).split()
    )
    if not low <= len(text) <= high:
        raise BadRequest(f"Entre {low} et {high} caractères.", code="bad_request", field=field)
    if text and check_name(text).action == Action.BLOCK:
        raise BadRequest(
            "Ce nom n'est pas accepté : il sexualise ou vise des mineurs, ou vend du sexe "
            "ou de la drogue (règles de Cocon).",
            code="name_refused",
            field=field,
        )
    return text


def _check_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise BadRequest(
            f"Le mot de passe doit faire entre {PASSWORD_MIN} et {PASSWORD_MAX} caractères.",
            field="password",
        )
    return password


async def member_list(rt: Runtime, room_id: int) -> tuple[int, list[UserBrief]]:
    """The room's member count and at most ``member_list_max`` of its members.

    A big room's full list would make every join cost as much as the room is large (and
    the whole room's joins quadratic); the client shows the first ones and the count.
    """
    ids = await rt.presence.members(room_id)
    shown = ids[: rt.settings.member_list_max]
    found = await briefs(rt, shown)
    return len(ids), [found[m] for m in shown if m in found]


async def announce(rt: Runtime, room_id: int, user_id: int, joined: bool) -> None:
    """Tracker callback: tell the room someone came or went (small rooms only: a big
    room's comings and goings would drown it; its member count is pushed instead)."""
    await _announce_presence(rt, room_id, user_id, joined)
    if not joined:  # no cam of theirs is live there any more (even if their node died)
        await cam_actions.presence_left(rt, room_id, user_id)


async def _announce_presence(rt: Runtime, room_id: int, user_id: int, joined: bool) -> None:
    count = (await rt.presence.counts([room_id])).get(room_id, 0)
    if count > rt.settings.presence_events_max:
        return
    who = await brief(rt, user_id)
    if who is not None:
        await publish(
            rt, f"room:{room_id}", Presence(room=room_id, user=who, joined=joined), sender=user_id
        )


async def do_join(
    rt: Runtime,
    tracker: Tracker,
    conn: Connection,
    room_id: int,
    password: str | None,
    ref: str | None = None,
) -> None:
    # Two units of work in the store (its process, with SQLite): what the join is decided
    # on, then, once subscribed, the position and the history. Through the async engine's
    # pool they waited for a connection behind the chat (docs/benchmarks.md, twelfth round).
    found, state = await rt.transactions.run(room_store.join_view, room_id, conn.user_id)
    room = await admit_to_room(found, state, password)
    if (
        room.private
        and state != "member"
        and not await rt.transactions.run(room_store.become_member, room.id, conn.user_id)
    ):
        raise excluded()
    stream = room.stream
    conn.begin_sync(stream)
    try:
        await rt.hub.subscribe(conn, stream)
        if room.id not in conn.rooms:
            conn.rooms.add(room.id)
            await tracker.enter(room.id, conn.user_id)
        pos, entries = await rt.transactions.run(
            stream_store.tail, stream, rt.settings.history_page
        )
        if pos is None:
            raise NotFound("Ce salon n'existe pas.")
        history = await entry_events(rt, entries, conn.blocked)
        count, members = await member_list(rt, room.id)
        cams = await cam_actions.room_cams(rt, room.id, conn.blocked) if room.cams else []
        conn.send(
            Joined(
                room=room_info(room, count),
                stream=stream,
                epoch=pos[0],
                last_seq=pos[1],
                members=members,
                history=[h for h in history if isinstance(h, Message)],
                cams=cams,
                ref=ref,
            )
        )
        conn.end_sync(stream, pos[1])
    except BaseException:
        conn.abort_sync(stream)
        raise


async def leave_room(rt: Runtime, tracker: Tracker, conn: Connection, room_id: int) -> bool:
    """Drop one connection from a room; False if it was not in it."""
    if room_id not in conn.rooms:
        return False
    conn.rooms.discard(room_id)
    await cam_actions.left_room(rt, cam_book(rt), conn, room_id)
    await voice_actions.left_room(rt, conn, room_id)
    await rt.hub.unsubscribe(conn, f"room:{room_id}")
    await tracker.exit(room_id, conn.user_id, grace=False)
    return True


async def do_leave(
    rt: Runtime, tracker: Tracker, conn: Connection, room_id: int, ref: str | None = None
) -> None:
    if not await leave_room(rt, tracker, conn, room_id):
        raise NotAllowed("Vous n'êtes pas dans ce salon.", code="not_member")
    conn.send(Left(room=room_id, reason="leave", ref=ref))


async def do_create_room(
    rt: Runtime,
    tracker: Tracker,
    conn: Connection,
    name: str,
    topic: str,
    password: str | None,
    ref: str | None = None,
) -> None:
    name = _clean_line(name, "name", NAME_MIN, NAME_MAX)
    topic = _clean_line(topic, "topic", 0, TOPIC_MAX)
    pw_hash = None
    if password:
        pw_hash = await asyncio.to_thread(hash_password, _check_password(password))
    async with rt.engine.begin() as db:
        room = await room_store.create_private(
            db, name=name, topic=topic, owner_id=conn.user_id, password_hash=pw_hash, now=now()
        )
    await do_join(rt, tracker, conn, room.id, None, ref)


async def _room_changed(rt: Runtime, room: RoomRow, ref: str | None, conn: Connection) -> None:
    counts = await rt.presence.counts([room.id])
    event = RoomUpdated(room=room_info(room, counts.get(room.id, 0)))
    await publish(rt, room.stream, event)
    conn.send(RoomUpdated(room=event.room, ref=ref))


async def do_set_room(
    rt: Runtime,
    conn: Connection,
    room_id: int,
    topic: str | None,
    password: str | None,
    ref: str | None = None,
    cams: bool | None = None,
) -> None:
    values: dict[str, object] = {}
    if cams is not None:
        values["cams"] = cams
    if topic is not None:
        values["topic"] = _clean_line(topic, "topic", 0, TOPIC_MAX)
    if password is not None:
        values["password_hash"] = (
            await asyncio.to_thread(hash_password, _check_password(password)) if password else None
        )
    async with rt.engine.begin() as db:
        room = await access_room_as_owner(db, conn.user_id, room_id)
        if values:
            room = await room_store.update_room(db, room.id, **values)
    if cams is False:
        await cam_actions.cams_disabled(rt, room.id)
    await _room_changed(rt, room, ref, conn)


async def do_invite(
    rt: Runtime, conn: Connection, room_id: int, user_id: int, ref: str | None = None
) -> None:
    target = await brief(rt, user_id)
    if target is None:
        raise NotFound("Cette personne n'existe pas.", field="user")
    async with rt.engine.begin() as db:
        room = await access_room_as_owner(db, conn.user_id, room_id)
        if await room_store.member_state(db, room.id, user_id) != "member":
            await room_store.set_member_state(db, room.id, user_id, "invited")
    me = await brief(rt, conn.user_id)
    info = room_info(room, 0)
    await notify(rt, user_id, "invite", {"room": to_builtins(info), "by": to_builtins(me)})
    conn.send(Done(ref=ref))


async def do_kick(
    rt: Runtime, conn: Connection, room_id: int, user_id: int, ref: str | None = None
) -> None:
    if user_id == conn.user_id:
        raise BadRequest("Vous ne pouvez pas vous exclure vous-même.", field="user")
    async with rt.engine.begin() as db:
        room = await access_room_as_owner(db, conn.user_id, room_id)
        await room_store.set_member_state(db, room.id, user_id, "kicked")
    await publish(
        rt,
        f"user:{user_id}",
        Left(room=room.id, reason="kicked"),
        control=f"unsub room:{room.id}",
    )
    conn.send(Done(ref=ref))


async def do_transfer(
    rt: Runtime, conn: Connection, room_id: int, user_id: int, ref: str | None = None
) -> None:
    async with rt.engine.begin() as db:
        room = await access_room_as_owner(db, conn.user_id, room_id)
        if await room_store.member_state(db, room.id, user_id) != "member":
            raise BadRequest("Cette personne n'est pas membre du salon.", field="user")
        room = await room_store.update_room(db, room.id, owner_id=user_id)
    await _room_changed(rt, room, ref, conn)


async def room_for(rt: Runtime, user_id: int, room_id: int) -> RoomRow:
    async with rt.engine.connect() as db:
        return await access_room(db, user_id, room_id)
