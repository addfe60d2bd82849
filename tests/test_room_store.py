"""The join's units of work on a real (migrated SQLite) store, run as the node runs them:
through ``Transactions``, in the store process."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.actions.common import text_request
from cocon.store import rooms as room_store
from cocon.store import streams as stream_store
from cocon.store.engine import Transactions
from cocon.store.rooms import RoomRow
from cocon.store.streams import write_batch
from tests.store_users import store_user


@pytest.fixture
async def units(engine: AsyncEngine) -> AsyncIterator[Transactions]:
    transactions = Transactions(engine)
    yield transactions
    await transactions.close()


async def _private_room(engine: AsyncEngine, owner: int) -> RoomRow:
    async with engine.begin() as db:
        return await room_store.create_private(
            db, name="Club", topic="", owner_id=owner, password_hash=None, now=time.time()
        )


async def test_join_view_reads_the_room_and_a_private_membership(
    engine: AsyncEngine, units: Transactions
) -> None:
    owner, guest = await store_user(engine, "Proprio"), await store_user(engine, "Invite")
    room = await _private_room(engine, owner)
    assert await units.run(room_store.join_view, room.id, guest) == (room, None)
    async with engine.begin() as db:
        await room_store.set_member_state(db, room.id, guest, "invited")
    assert await units.run(room_store.join_view, room.id, guest) == (room, "invited")
    assert await units.run(room_store.join_view, 999_999, guest) == (None, None)
    async with engine.begin() as db:
        await room_store.ensure_public_rooms(db, ["Accueil"], time.time())
        [public] = [r for r in await room_store.public(db) if r.name == "Accueil"]
        await room_store.set_member_state(db, public.id, guest, "kicked")
    # A public room's membership is not read: nobody is kept out of one this way.
    assert await units.run(room_store.join_view, public.id, guest) == (public, None)


async def test_become_member_refuses_whoever_was_excluded_meanwhile(
    engine: AsyncEngine, units: Transactions
) -> None:
    owner = await store_user(engine, "Hote")
    invited, kicked = await store_user(engine, "Ami"), await store_user(engine, "Exclu")
    room = await _private_room(engine, owner)
    async with engine.begin() as db:
        await room_store.set_member_state(db, room.id, invited, "invited")
        await room_store.set_member_state(db, room.id, kicked, "kicked")
    assert await units.run(room_store.become_member, room.id, invited) is True
    assert await units.run(room_store.become_member, room.id, kicked) is False
    async with engine.connect() as db:
        assert await room_store.member_state(db, room.id, invited) == "member"
        assert await room_store.member_state(db, room.id, kicked) == "kicked"
    assert await units.run(room_store.become_member, room.id, invited) is True  # already


async def test_tail_is_the_position_and_the_last_entries(
    engine: AsyncEngine, units: Transactions
) -> None:
    author = await store_user(engine, "Auteur")
    assert await units.run(stream_store.tail, "room:424242", 10) == (None, [])
    stream = (await _private_room(engine, author)).stream
    pos, entries = await units.run(stream_store.tail, stream, 10)
    assert pos is not None and pos[1] == 0 and entries == []
    requests = [text_request(stream, author, f"c{i}", f"message {i}", []) for i in range(5)]
    await units.run(write_batch, requests, False, urgent=True)
    pos, entries = await units.run(stream_store.tail, stream, 3)
    assert pos is not None and pos[1] == 5
    assert [e.body for e in entries] == ["message 2", "message 3", "message 4"]
    assert [e.seq for e in entries] == [3, 4, 5]
