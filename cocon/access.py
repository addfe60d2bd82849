"""The only way to obtain a room, a conversation or a stream on behalf of a user.

One condition per line; every refusal is a ClientError with a code the client knows.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.ext.asyncio import AsyncConnection

from cocon.domain.passwords import verify_password
from cocon.errors import BadRequest, NotAllowed, NotFound
from cocon.store import rooms as room_store
from cocon.store import social
from cocon.store.rooms import RoomRow
from cocon.store.social import ConversationRow


def parse_stream(stream: str) -> tuple[str, int]:
    """``"room:12"`` -> ``("room", 12)``; anything else is not found."""
    kind, _, ident = stream.partition(":")
    if kind not in ("room", "dm", "user") or not ident.isdigit() or len(ident) > 12:
        raise NotFound("Ce fil n'existe pas.", field="stream")
    return kind, int(ident)


def _opened(room: RoomRow | None) -> RoomRow:
    if room is None or room.closed:
        raise NotFound("Ce salon n'existe pas.")
    return room


async def _open_room(conn: AsyncConnection, room_id: int) -> RoomRow:
    return _opened(await room_store.get(conn, room_id))


async def access_room(conn: AsyncConnection, user_id: int, room_id: int) -> RoomRow:
    """A room the user may see: public, or private and member/invited."""
    room = await _open_room(conn, room_id)
    if not room.private:
        return room
    state = await room_store.member_state(conn, room_id, user_id)
    if state not in ("member", "invited"):
        raise NotFound("Ce salon n'existe pas.")
    return room


async def access_room_to_join(
    conn: AsyncConnection, user_id: int, room_id: int, password: str | None
) -> RoomRow:
    """A room the user may enter: public; private and member/invited; or the password."""
    room, state = await conn.run_sync(room_store.join_view, room_id, user_id)
    return await admit_to_room(room, state, password)


async def admit_to_room(room: RoomRow | None, state: str | None, password: str | None) -> RoomRow:
    """The rule of :func:`access_room_to_join` on what the store said: the room (None if
    there is none) and, for a private one, the user's membership."""
    room = _opened(room)
    if not room.private:
        return room
    if state == "kicked":
        raise excluded()
    if state in ("member", "invited"):
        return room
    if room.password_hash is None:
        raise NotFound("Ce salon n'existe pas.")  # unlisted: invitation only
    if not password:
        raise BadRequest(
            "Ce salon demande un mot de passe.", code="wrong_password", field="password"
        )
    if not await asyncio.to_thread(verify_password, room.password_hash, password):
        raise BadRequest("Mot de passe incorrect.", code="wrong_password", field="password")
    return room


def excluded() -> NotAllowed:
    """The refusal of someone excluded from a private room."""
    return NotAllowed("Vous avez été exclu de ce salon.")


async def access_room_as_owner(conn: AsyncConnection, user_id: int, room_id: int) -> RoomRow:
    room = await access_room(conn, user_id, room_id)
    if not room.private:
        raise NotAllowed("Les salons publics n'ont pas de propriétaire.")
    if room.owner_id != user_id:
        raise NotAllowed("Seul le propriétaire du salon peut faire cela.")
    return room


async def access_room_as_staff(conn: AsyncConnection, room_id: int) -> RoomRow:
    """Any open room, public or private, for moderation (the caller checked the role)."""
    return await _open_room(conn, room_id)


async def access_conversation(conn: AsyncConnection, user_id: int, conv_id: int) -> ConversationRow:
    """A conversation the user takes part in (pending ones only for the requester)."""
    return participant_of(await social.conversation(conn, conv_id), user_id)


def participant_of(conv: ConversationRow | None, user_id: int) -> ConversationRow:
    """``conv`` if the user takes part in it; else it is not found, for them."""
    if conv is None or not conv.has(user_id):
        raise NotFound("Cette conversation n'existe pas.")
    return conv


async def access_stream_to_read(
    conn: AsyncConnection, user_id: int, stream: str, joined: set[int]
) -> None:
    """May the user read this stream's history? ``joined``: rooms of this connection."""
    kind, ident = parse_stream(stream)
    if kind == "user":
        if ident != user_id:
            raise NotFound("Ce fil n'existe pas.", field="stream")
        return
    if kind == "room":
        if ident not in joined:
            raise NotAllowed("Rejoignez d'abord ce salon.", code="not_member")
        return
    conv = await access_conversation(conn, user_id, ident)
    if conv.state == "accepted":
        return
    if conv.requested_by == user_id:
        return
    raise NotAllowed("Acceptez d'abord cette demande de conversation.", code="not_member")
