"""Private conversations, blocks and friendships between two users."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Connection,
    String,
    bindparam,
    cast,
    delete,
    exists,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from cocon.store import streams as stream_store
from cocon.store.tables import blocks, conversations, friendships, streams


def pair(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


DM_PREFIX = "dm:"


def conversation_stream(conv_id: int) -> str:
    """The stream of a private conversation's messages."""
    return f"{DM_PREFIX}{conv_id}"


@dataclass(frozen=True, slots=True)
class ConversationRow:
    id: int
    user_lo: int
    user_hi: int
    requested_by: int
    state: str
    created_at: float = 0.0

    @property
    def stream(self) -> str:
        return conversation_stream(self.id)

    def peer_of(self, user_id: int) -> int:
        return self.user_hi if user_id == self.user_lo else self.user_lo

    def has(self, user_id: int) -> bool:
        return user_id in (self.user_lo, self.user_hi)


def _conv(row: object) -> ConversationRow:
    m = row._mapping  # type: ignore[attr-defined]
    return ConversationRow(
        id=int(m["id"]),
        user_lo=int(m["user_lo"]),
        user_hi=int(m["user_hi"]),
        requested_by=int(m["requested_by"]),
        state=m["state"],
        created_at=float(m["created_at"]),
    )


@dataclass(frozen=True, slots=True)
class ConversationFacts:
    """What a private message's send needs of its conversation, read in one statement."""

    conv: ConversationRow
    blocked: bool  # either way
    friendship: str | None  # the pair's friendship state, if any
    last_seq: int  # of the conversation's stream


def conversation_facts(conn: Connection, conv_id: int) -> ConversationFacts | None:
    params = {"conv_id": conv_id, "stream": conversation_stream(conv_id)}
    row = conn.execute(_FACTS, params).one_or_none()
    if row is None:
        return None
    m = row._mapping
    return ConversationFacts(
        conv=_conv(row),
        blocked=bool(m["blocked"]),
        friendship=m["friendship"],
        last_seq=int(m["last_seq"] or 0),
    )


async def conversation_between(conn: AsyncConnection, a: int, b: int) -> ConversationRow | None:
    lo, hi = pair(a, b)
    row = (
        await conn.execute(
            select(conversations).where(
                conversations.c.user_lo == lo, conversations.c.user_hi == hi
            )
        )
    ).one_or_none()
    return None if row is None else _conv(row)


async def conversation(conn: AsyncConnection, conv_id: int) -> ConversationRow | None:
    row = (await conn.execute(_CONVERSATION, {"conv_id": conv_id})).one_or_none()
    return None if row is None else _conv(row)


async def create_conversation(
    conn: AsyncConnection, requester: int, peer: int, now: float
) -> ConversationRow:
    lo, hi = pair(requester, peer)
    result = await conn.execute(
        insert(conversations)
        .values(user_lo=lo, user_hi=hi, requested_by=requester, state="pending", created_at=now)
        .returning(conversations)
    )
    conv = _conv(result.one())
    await conn.run_sync(stream_store.create_stream, conv.stream)
    return conv


async def set_conversation_state(
    conn: AsyncConnection, conv_id: int, state: str
) -> ConversationRow:
    result = await conn.execute(
        update(conversations)
        .where(conversations.c.id == conv_id)
        .values(state=state)
        .returning(conversations)
    )
    return _conv(result.one())


# Read at every hello, or for a private message's facts (``actions/dm_facts.py``): built
# once, as building a statement cost more CPU than running it (docs/benchmarks.md, s4).
_CONVERSATION = select(conversations).where(conversations.c.id == bindparam("conv_id"))
_BLOCKED_EITHER_WAY = select(blocks.c.user_id).where(
    or_(
        (blocks.c.user_id == bindparam("a")) & (blocks.c.blocked_id == bindparam("b")),
        (blocks.c.user_id == bindparam("b")) & (blocks.c.blocked_id == bindparam("a")),
    )
)
_FRIENDSHIP = select(friendships).where(
    friendships.c.user_lo == bindparam("lo"), friendships.c.user_hi == bindparam("hi")
)
_FRIENDSHIPS_OF = select(friendships).where(
    or_(
        friendships.c.user_lo == bindparam("user_id"),
        friendships.c.user_hi == bindparam("user_id"),
    )
)
_FACTS = select(
    conversations,
    exists()
    .where(
        or_(
            (blocks.c.user_id == conversations.c.user_lo)
            & (blocks.c.blocked_id == conversations.c.user_hi),
            (blocks.c.user_id == conversations.c.user_hi)
            & (blocks.c.blocked_id == conversations.c.user_lo),
        )
    )
    .label("blocked"),
    select(friendships.c.state)
    .where(
        friendships.c.user_lo == conversations.c.user_lo,
        friendships.c.user_hi == conversations.c.user_hi,
    )
    .scalar_subquery()
    .label("friendship"),
    select(streams.c.last_seq)
    .where(streams.c.id == bindparam("stream"))
    .scalar_subquery()
    .label("last_seq"),
).where(conversations.c.id == bindparam("conv_id"))
# A conversation's stream (conversation_stream: ``dm:<id>``) is joined here to read its
# position with the conversation: one statement for a user's whole list.
_CONVERSATIONS_OF = (
    select(conversations, streams.c.epoch, streams.c.last_seq)
    .outerjoin(streams, streams.c.id == literal(DM_PREFIX).concat(cast(conversations.c.id, String)))
    .where(
        or_(
            conversations.c.user_lo == bindparam("user_id"),
            conversations.c.user_hi == bindparam("user_id"),
        )
    )
    .order_by(conversations.c.id)
)
_BLOCKED_BY = select(blocks.c.blocked_id).where(blocks.c.user_id == bindparam("user_id"))


Positioned = list[tuple[ConversationRow, tuple[int, int] | None]]


def conversations_of(conn: Connection, user_id: int) -> Positioned:
    """A user's conversations, each with its stream's ``(epoch, last_seq)`` (None if the
    stream is missing)."""
    rows = conn.execute(_CONVERSATIONS_OF, {"user_id": user_id})
    return [(_conv(r), None if r.epoch is None else (int(r.epoch), int(r.last_seq))) for r in rows]


def blocked_by(conn: Connection, user_id: int) -> list[int]:
    """Users that ``user_id`` has blocked."""
    rows = conn.execute(_BLOCKED_BY, {"user_id": user_id})
    return [int(x) for x in rows.scalars()]


async def is_blocked_either_way(conn: AsyncConnection, a: int, b: int) -> bool:
    row = (await conn.execute(_BLOCKED_EITHER_WAY, {"a": a, "b": b})).first()
    return row is not None


def add_block(conn: Connection, user_id: int, blocked_id: int, now: float) -> None:
    remove_block(conn, user_id, blocked_id)
    conn.execute(insert(blocks).values(user_id=user_id, blocked_id=blocked_id, created_at=now))


def remove_block(conn: Connection, user_id: int, blocked_id: int) -> None:
    conn.execute(
        delete(blocks).where(blocks.c.user_id == user_id, blocks.c.blocked_id == blocked_id)
    )


@dataclass(frozen=True, slots=True)
class FriendshipRow:
    user_lo: int
    user_hi: int
    requested_by: int
    state: str  # pending | friends

    def peer_of(self, user_id: int) -> int:
        return self.user_hi if user_id == self.user_lo else self.user_lo

    def state_for(self, user_id: int) -> str:
        if self.state == "friends":
            return "friends"
        return "requested" if self.requested_by == user_id else "incoming"


def _friendship(row: object) -> FriendshipRow:
    m = row._mapping  # type: ignore[attr-defined]
    return FriendshipRow(
        user_lo=int(m["user_lo"]),
        user_hi=int(m["user_hi"]),
        requested_by=int(m["requested_by"]),
        state=m["state"],
    )


def friendship(conn: Connection, a: int, b: int) -> FriendshipRow | None:
    lo, hi = pair(a, b)
    row = conn.execute(_FRIENDSHIP, {"lo": lo, "hi": hi}).one_or_none()
    return None if row is None else _friendship(row)


def put_friendship(
    conn: Connection, a: int, b: int, requested_by: int, state: str, now: float
) -> FriendshipRow:
    remove_friendship(conn, a, b)
    lo, hi = pair(a, b)
    conn.execute(
        insert(friendships).values(
            user_lo=lo, user_hi=hi, requested_by=requested_by, state=state, created_at=now
        )
    )
    return FriendshipRow(lo, hi, requested_by, state)


def remove_friendship(conn: Connection, a: int, b: int) -> None:
    lo, hi = pair(a, b)
    conn.execute(
        delete(friendships).where(friendships.c.user_lo == lo, friendships.c.user_hi == hi)
    )


def friendships_of(conn: Connection, user_id: int) -> list[FriendshipRow]:
    rows = conn.execute(_FRIENDSHIPS_OF, {"user_id": user_id})
    return [_friendship(r) for r in rows]


def carry_over(conn: Connection, old: int, new: int, now: float) -> None:
    """A guest re-entering from the same device keeps friends and blocks, both ways.

    Blocks follow the person, not the pseudo: someone blocked under one pseudo stays
    blocked under the next one from the same device.
    """
    for row in friendships_of(conn, old):
        peer = row.peer_of(old)
        if peer == new:
            continue
        remove_friendship(conn, old, peer)
        if friendship(conn, new, peer) is None:
            requested_by = new if row.requested_by == old else row.requested_by
            put_friendship(conn, new, peer, requested_by, row.state, now)
    mine = blocked_by(conn, old)
    theirs = conn.execute(select(blocks.c.user_id).where(blocks.c.blocked_id == old)).scalars()
    for blocked in mine:
        add_block(conn, new, blocked, now)
    for blocker in list(theirs):
        add_block(conn, int(blocker), new, now)
