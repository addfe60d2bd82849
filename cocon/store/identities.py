"""Devices, users, sessions and pseudo holds."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cocon.store import streams as stream_store
from cocon.store.tables import devices, pseudo_holds, sessions, users

FAR_FUTURE = 1e15


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    pseudo: str
    pseudo_key: str
    gender: str
    age: int
    dep: str
    device_id: str | None
    registered: bool
    password_hash: str | None


_USER_COLS = (
    users.c.id,
    users.c.pseudo,
    users.c.pseudo_key,
    users.c.gender,
    users.c.age,
    users.c.dep,
    users.c.device_id,
    users.c.registered,
    users.c.password_hash,
)


# The statements of entry and hello, built once: building a statement per call cost more
# CPU than running it (docs/benchmarks.md, s4).
_DEVICE = select(devices.c.underage_until).where(devices.c.id == bindparam("device_id"))
_INSERT_DEVICE = insert(devices)
_PSEUDO_HOLD = (
    select(pseudo_holds.c.user_id, pseudo_holds.c.until, users.c.registered)
    .select_from(pseudo_holds.join(users, users.c.id == pseudo_holds.c.user_id))
    .where(pseudo_holds.c.pseudo_key == bindparam("key"))
)
_INSERT_USER = insert(users).returning(*_USER_COLS)
_INSERT_HOLD = insert(pseudo_holds)
_REGISTERED_BY_KEY = select(*_USER_COLS).where(
    users.c.pseudo_key == bindparam("key"), users.c.registered.is_(True)
)
_INSERT_SESSION = insert(sessions)
_SET_HOLD = (
    update(pseudo_holds)
    .where(pseudo_holds.c.user_id == bindparam("holder"))
    .values(until=bindparam("hold_until"))
)
_SESSION_USER = (
    select(*_USER_COLS)
    .select_from(sessions.join(users, users.c.id == sessions.c.user_id))
    .where(sessions.c.id == bindparam("session_id"), sessions.c.expires_at > bindparam("now"))
)
_PREVIOUS_GUEST = (
    select(users.c.id)
    .where(
        users.c.device_id == bindparam("device_id"),
        users.c.registered.is_(False),
        users.c.id < bindparam("before"),
    )
    .order_by(users.c.id.desc())
    .limit(1)
)


def _user(row: object) -> UserRow:
    m = row._mapping  # type: ignore[attr-defined]
    return UserRow(
        id=int(m["id"]),
        pseudo=m["pseudo"],
        pseudo_key=m["pseudo_key"],
        gender=m["gender"],
        age=int(m["age"]),
        dep=m["dep"],
        device_id=m["device_id"],
        registered=bool(m["registered"]),
        password_hash=m["password_hash"],
    )


@dataclass(frozen=True, slots=True)
class DeviceRow:
    underage_until: float | None


@dataclass(frozen=True, slots=True)
class Hold:
    """Who holds a pseudo, until when, and whether that is a member (registered)."""

    user_id: int
    until: float
    registered: bool


def device(conn: Connection, device_id: str) -> DeviceRow | None:
    row = conn.execute(_DEVICE, {"device_id": device_id}).one_or_none()
    return None if row is None else DeviceRow(row.underage_until)


def add_device(conn: Connection, device_id: str, now: float) -> None:
    conn.execute(_INSERT_DEVICE, {"id": device_id, "created_at": now})


def ensure_device(conn: Connection, device_id: str, now: float) -> None:
    if device(conn, device_id) is None:
        add_device(conn, device_id, now)


def mark_underage(conn: Connection, device_id: str, until: float) -> None:
    """Refuse entries from this (existing) device until ``until``."""
    conn.execute(
        update(devices).where(devices.c.id == device_id).values(underage_until=until)
    )


def pseudo_hold(conn: Connection, key: str) -> Hold | None:
    row = conn.execute(_PSEUDO_HOLD, {"key": key}).one_or_none()
    return None if row is None else Hold(int(row.user_id), float(row.until), bool(row.registered))


def create_user(
    conn: Connection,
    *,
    pseudo: str,
    key: str,
    gender: str,
    age: int,
    dep: str,
    device_id: str | None,
    now: float,
    hold_until: float,
    taken_from: Hold | None,
) -> UserRow:
    """Create a guest, take the pseudo from its expired holder (``taken_from``, read by the
    caller in the same transaction), and open its inbox stream."""
    result = conn.execute(
        _INSERT_USER,
        {
            "pseudo": pseudo,
            "pseudo_key": key,
            "gender": gender,
            "age": age,
            "dep": dep,
            "device_id": device_id,
            "registered": False,
            "created_at": now,
            "last_seen": now,
        },
    )
    user = _user(result.one())
    if taken_from is not None:
        # The old guest's sessions end with the pseudo: they come back under a new one.
        conn.execute(delete(sessions).where(sessions.c.user_id == taken_from.user_id))
        conn.execute(
            update(pseudo_holds)
            .where(pseudo_holds.c.pseudo_key == key)
            .values(user_id=user.id, until=hold_until)
        )
    else:
        conn.execute(
            _INSERT_HOLD, {"pseudo_key": key, "user_id": user.id, "until": hold_until}
        )
    stream_store.create_stream(conn, f"user:{user.id}")
    return user


def set_hold(conn: Connection, user_id: int, until: float) -> None:
    conn.execute(_SET_HOLD, {"holder": user_id, "hold_until": until})


async def register(conn: AsyncConnection, user_id: int, password_hash: str) -> None:
    await conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(registered=True, password_hash=password_hash)
    )
    await conn.run_sync(set_hold, user_id, FAR_FUTURE)


async def user_by_id(conn: AsyncConnection, user_id: int) -> UserRow | None:
    row = (await conn.execute(select(*_USER_COLS).where(users.c.id == user_id))).one_or_none()
    return None if row is None else _user(row)


def users_by_ids(conn: Connection, ids: list[int]) -> list[UserRow]:
    if not ids:
        return []
    rows = conn.execute(select(*_USER_COLS).where(users.c.id.in_(ids)))
    return [_user(r) for r in rows]


async def registered_by_key(conn: AsyncConnection, key: str) -> UserRow | None:
    row = (await conn.execute(_REGISTERED_BY_KEY, {"key": key})).first()
    return None if row is None else _user(row)


def create_session(
    conn: Connection,
    session_id: str,
    user_id: int,
    device_id: str | None,
    now: float,
    expires_at: float,
) -> None:
    conn.execute(
        _INSERT_SESSION,
        {
            "id": session_id,
            "user_id": user_id,
            "device_id": device_id,
            "created_at": now,
            "expires_at": expires_at,
        },
    )


def session_user(conn: Connection, session_id: str, now: float) -> UserRow | None:
    row = conn.execute(_SESSION_USER, {"session_id": session_id, "now": now}).one_or_none()
    return None if row is None else _user(row)


async def delete_session(conn: AsyncConnection, session_id: str) -> None:
    await conn.execute(delete(sessions).where(sessions.c.id == session_id))


def previous_guest(conn: Connection, device_id: str, before: int) -> int | None:
    """The latest guest who entered from this device before user ``before``."""
    row = conn.execute(_PREVIOUS_GUEST, {"device_id": device_id, "before": before}).one_or_none()
    return None if row is None else int(row.id)
