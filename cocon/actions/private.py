"""Private conversations: open (as a request), accept or decline."""

from __future__ import annotations

from collections.abc import Set as AbstractSet

from sqlalchemy.ext.asyncio import AsyncConnection

from cocon.access import access_conversation
from cocon.actions import safety
from cocon.actions.common import brief, now, publish
from cocon.errors import BadRequest, NotAllowed, NotFound
from cocon.gateway.connection import Connection
from cocon.protocol.events import ConversationEvent, ConversationInfo
from cocon.runtime import Runtime
from cocon.store import social
from cocon.store import streams as stream_store
from cocon.store.social import ConversationRow


async def position(db: AsyncConnection, conv: ConversationRow) -> tuple[int, int] | None:
    """The conversation stream's epoch and last sequence number, read on ``db``."""
    return await db.run_sync(stream_store.position, conv.stream)


async def conversation_info(
    rt: Runtime, conv: ConversationRow, viewer: int, pos: tuple[int, int] | None
) -> ConversationInfo:
    """What ``viewer`` is shown of ``conv``. Call it holding no connection of the engine:
    the peer's card, when this node has not cached it, is read through the store, which on
    PostgreSQL takes a connection of the same pool, and a pool's worth of callers each
    holding one while waiting for another would starve it (s3 on two nodes did:
    docs/benchmarks.md, seventeenth round)."""
    peer = await brief(rt, conv.peer_of(viewer))
    if peer is None:
        raise NotFound("Cette personne n'existe pas.")
    epoch, last = pos if pos else (0, 0)
    return ConversationInfo(
        id=conv.id,
        stream=conv.stream,
        peer=peer,
        state=conv.state,
        requested_by=conv.requested_by,
        epoch=epoch,
        last_seq=last,
    )


def follows(conv: ConversationRow, user_id: int) -> bool:
    """Does this user receive the conversation's messages live?"""
    return conv.state == "accepted" or conv.requested_by == user_id


async def conversations_for(
    rt: Runtime, found: social.Positioned, user_id: int, blocked: AbstractSet[int]
) -> list[ConversationInfo]:
    """What the user is shown of ``found`` (their conversations, read by
    ``social.conversations_of``)."""
    out = []
    for conv, pos in found:
        if conv.peer_of(user_id) in blocked:
            continue
        if (
            (conv.state == "pending" and conv.requested_by != user_id)
            or conv.state != "declined"
            or conv.requested_by == user_id
        ):
            out.append(await conversation_info(rt, conv, user_id, pos))
    return out


async def _tell(
    rt: Runtime, conv: ConversationRow, pos: tuple[int, int] | None, user_id: int
) -> None:
    info = await conversation_info(rt, conv, user_id, pos)
    control = f"sub {conv.stream}" if follows(conv, user_id) else ""
    await publish(rt, f"user:{user_id}", ConversationEvent(conversation=info), control=control)


async def do_open_pm(rt: Runtime, conn: Connection, peer_id: int, ref: str | None = None) -> None:
    if peer_id == conn.user_id:
        raise BadRequest("Vous ne pouvez pas vous écrire à vous-même.", field="user")
    if await brief(rt, peer_id) is None:
        raise NotFound("Cette personne n'existe pas.", field="user")
    await safety.check_private_allowed(rt, conn.user_id, peer_id)
    async with rt.engine.begin() as db:
        if await social.is_blocked_either_way(db, conn.user_id, peer_id):
            raise NotAllowed("Vous ne pouvez pas écrire à cette personne.", code="blocked")
        conv = await social.conversation_between(db, conn.user_id, peer_id)
        if conv is None:
            conv = await social.create_conversation(db, conn.user_id, peer_id, now())
        elif conv.state == "declined" and conv.requested_by == peer_id:
            # The one who declined may still start a conversation later.
            conv = await social.set_conversation_state(db, conv.id, "accepted")
        pos = await position(db, conv)
    info = await conversation_info(rt, conv, conn.user_id, pos)
    if follows(conv, conn.user_id):
        await rt.hub.subscribe(conn, conv.stream)
    conn.send(ConversationEvent(conversation=info, ref=ref))
    await _tell(rt, conv, pos, conn.user_id)


async def do_answer_pm(
    rt: Runtime, conn: Connection, conv_id: int, accept: bool, ref: str | None = None
) -> None:
    async with rt.engine.begin() as db:
        conv = await access_conversation(db, conn.user_id, conv_id)
        if conv.requested_by == conn.user_id:
            raise NotAllowed("C'est à l'autre personne de répondre.")
        if conv.state != "pending":
            raise BadRequest("Cette demande a déjà reçu une réponse.", code="conflict")
        conv = await social.set_conversation_state(
            db, conv.id, "accepted" if accept else "declined"
        )
        pos = await position(db, conv)
    info = await conversation_info(rt, conv, conn.user_id, pos)
    if accept:
        await rt.hub.subscribe(conn, conv.stream)
    conn.send(ConversationEvent(conversation=info, ref=ref))
    await _tell(rt, conv, pos, conn.user_id)
    await _tell(rt, conv, pos, conv.requested_by)
