"""Room cams: which rooms allow webcams, and the live cams every node can list."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cocon.store.tables import room_cams, rooms


@dataclass(frozen=True, slots=True)
class CamRow:
    room_id: int
    user_id: int
    cam_id: str
    node: str
    friends_only: bool
    started_at: float


def _cam(row: object) -> CamRow:
    m = row._mapping  # type: ignore[attr-defined]
    return CamRow(
        room_id=int(m["room_id"]),
        user_id=int(m["user_id"]),
        cam_id=m["cam_id"],
        node=m["node"],
        friends_only=bool(m["friends_only"]),
        started_at=float(m["started_at"]),
    )


async def set_public_cams(conn: AsyncConnection, allowed: bool) -> None:
    """Public rooms follow the node's setting (``cams_public``), applied at start."""
    await conn.execute(update(rooms).where(rooms.c.private.is_(False)).values(cams=allowed))


def live(conn: Connection, room_id: int) -> list[CamRow]:
    rows = conn.execute(
        select(room_cams).where(room_cams.c.room_id == room_id).order_by(room_cams.c.started_at)
    )
    return [_cam(r) for r in rows]


async def get(conn: AsyncConnection, room_id: int, user_id: int) -> CamRow | None:
    row = (
        await conn.execute(
            select(room_cams).where(room_cams.c.room_id == room_id, room_cams.c.user_id == user_id)
        )
    ).one_or_none()
    return None if row is None else _cam(row)


async def put(conn: AsyncConnection, cam: CamRow) -> None:
    """Record a live cam, replacing the user's previous one in that room."""
    await remove(conn, cam.room_id, cam.user_id)
    await conn.execute(
        insert(room_cams).values(
            room_id=cam.room_id,
            user_id=cam.user_id,
            cam_id=cam.cam_id,
            node=cam.node,
            friends_only=cam.friends_only,
            started_at=cam.started_at,
        )
    )


async def set_friends_only(conn: AsyncConnection, cam_id: str, friends_only: bool) -> None:
    await conn.execute(
        update(room_cams).where(room_cams.c.cam_id == cam_id).values(friends_only=friends_only)
    )


async def remove(
    conn: AsyncConnection, room_id: int, user_id: int, cam_id: str | None = None
) -> None:
    """Forget a user's cam in a room (only that cam if ``cam_id`` is given)."""
    query = delete(room_cams).where(room_cams.c.room_id == room_id, room_cams.c.user_id == user_id)
    if cam_id is not None:
        query = query.where(room_cams.c.cam_id == cam_id)
    await conn.execute(query)


async def remove_room(conn: AsyncConnection, room_id: int) -> list[CamRow]:
    """Forget every cam of a room (cams turned off); returns what was live."""
    found = await conn.run_sync(live, room_id)
    await conn.execute(delete(room_cams).where(room_cams.c.room_id == room_id))
    return found


async def remove_node(conn: AsyncConnection, node: str | None) -> None:
    """At start: forget the cams of this node's previous life (every cam if ``None``: a
    node without Redis is alone)."""
    query = delete(room_cams)
    if node is not None:
        query = query.where(room_cams.c.node == node)
    await conn.execute(query)
