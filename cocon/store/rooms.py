"""Rooms and private-room membership."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cocon.store import streams as stream_store
from cocon.store.tables import room_members, rooms


@dataclass(frozen=True, slots=True)
class RoomRow:
    id: int
    name: str
    topic: str
    private: bool
    owner_id: int | None
    password_hash: str | None
    closed: bool
    cams: bool = False  # webcams allowed (room cams)

    @property
    def stream(self) -> str:
        return f"room:{self.id}"


def _room(row: object) -> RoomRow:
    m = row._mapping  # type: ignore[attr-defined]
    return RoomRow(
        id=int(m["id"]),
        name=m["name"],
        topic=m["topic"],
        private=bool(m["private"]),
        owner_id=m["owner_id"],
        password_hash=m["password_hash"],
        closed=bool(m["closed"]),
        cams=bool(m["cams"]),
    )


async def ensure_public_rooms(conn: AsyncConnection, names: list[str], now: float) -> None:
    """Create the configured public rooms that do not exist yet (first start, new config)."""
    existing = set(
        (await conn.execute(select(rooms.c.name).where(rooms.c.private.is_(False)))).scalars()
    )
    for name in names:
        if name in existing:
            continue
        result = await conn.execute(
            insert(rooms)
            .values(name=name, topic="", private=False, created_at=now, closed=False)
            .returning(rooms.c.id)
        )
        await conn.run_sync(stream_store.create_stream, f"room:{result.scalar_one()}")


async def create_private(
    conn: AsyncConnection,
    *,
    name: str,
    topic: str,
    owner_id: int,
    password_hash: str | None,
    now: float,
) -> RoomRow:
    result = await conn.execute(
        insert(rooms)
        .values(
            name=name,
            topic=topic,
            private=True,
            owner_id=owner_id,
            password_hash=password_hash,
            created_at=now,
            closed=False,
        )
        .returning(rooms)
    )
    room = _room(result.one())
    await conn.run_sync(stream_store.create_stream, room.stream)
    await set_member_state(conn, room.id, owner_id, "member")
    return room


def room_row(conn: Connection, room_id: int) -> RoomRow | None:
    row = conn.execute(select(rooms).where(rooms.c.id == room_id)).one_or_none()
    return None if row is None else _room(row)


async def get(conn: AsyncConnection, room_id: int) -> RoomRow | None:
    return await conn.run_sync(room_row, room_id)


# Read at every hello: built once (building a statement cost more CPU than running it).
_LISTED_FOR = (
    select(rooms)
    .where(
        rooms.c.closed.is_(False),
        or_(
            rooms.c.private.is_(False),
            rooms.c.id.in_(
                select(room_members.c.room_id).where(
                    room_members.c.user_id == bindparam("user_id"),
                    room_members.c.state.in_(("member", "invited")),
                )
            ),
        ),
    )
    .order_by(rooms.c.private, rooms.c.id)
)


def listed_for(conn: Connection, user_id: int) -> list[RoomRow]:
    """Public rooms, and the private rooms the user belongs to or is invited to."""
    rows = conn.execute(_LISTED_FOR, {"user_id": user_id})
    return [_room(r) for r in rows]


async def public(conn: AsyncConnection) -> list[RoomRow]:
    rows = await conn.execute(
        select(rooms).where(rooms.c.private.is_(False), rooms.c.closed.is_(False))
    )
    return [_room(r) for r in rows]


def membership(conn: Connection, room_id: int, user_id: int) -> str | None:
    row = conn.execute(
        select(room_members.c.state).where(
            room_members.c.room_id == room_id, room_members.c.user_id == user_id
        )
    ).one_or_none()
    return None if row is None else str(row.state)


async def member_state(conn: AsyncConnection, room_id: int, user_id: int) -> str | None:
    return await conn.run_sync(membership, room_id, user_id)


def set_membership(conn: Connection, room_id: int, user_id: int, state: str) -> None:
    conn.execute(
        delete(room_members).where(
            room_members.c.room_id == room_id, room_members.c.user_id == user_id
        )
    )
    conn.execute(insert(room_members).values(room_id=room_id, user_id=user_id, state=state))


async def set_member_state(conn: AsyncConnection, room_id: int, user_id: int, state: str) -> None:
    await conn.run_sync(set_membership, room_id, user_id, state)


def join_view(conn: Connection, room_id: int, user_id: int) -> tuple[RoomRow | None, str | None]:
    """What a join is decided on, in one unit of work: the room, and the user's membership
    if it is private."""
    found = room_row(conn, room_id)
    private = found is not None and found.private
    return found, membership(conn, room_id, user_id) if private else None


def become_member(conn: Connection, room_id: int, user_id: int) -> bool:
    """Make the user a member of a private room they were let into, unless they were
    excluded meanwhile (False then)."""
    state = membership(conn, room_id, user_id)
    if state == "kicked":
        return False
    if state != "member":
        set_membership(conn, room_id, user_id, "member")
    return True


async def update_room(conn: AsyncConnection, room_id: int, **values: object) -> RoomRow:
    result = await conn.execute(
        update(rooms).where(rooms.c.id == room_id).values(**values).returning(rooms)
    )
    return _room(result.one())
