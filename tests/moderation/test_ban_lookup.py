"""The one-statement ban check: which ban applies to a user, a device or a network."""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.store import moderation as store
from cocon.store.tables import sanctions
from tests.moderation.helpers import add_sanction

NOW = time.time()


async def _ban(
    engine: AsyncEngine,
    user_id: int,
    marks: list[tuple[str, str, float | None]],
    starts_at: float,
    ends_at: float | None = None,
    revoked: bool = False,
) -> int:
    return await add_sanction(engine, user_id, "ban", starts_at, ends_at, revoked, marks)


async def _check(
    engine: AsyncEngine, user_id: int | None, devices: list[str], nets: list[str]
) -> tuple[int, str] | None:
    async with engine.connect() as db:
        found = await db.run_sync(store.active_ban, user_id, devices, nets, NOW)
    return None if found is None else (int(found[0]["id"]), found[1])


async def test_the_user_comes_first_then_devices_then_networks(engine: AsyncEngine) -> None:
    by_net = await _ban(engine, 1, [("net", "n1", None)], NOW - 300)
    by_device = await _ban(engine, 2, [("device", "d1", None)], NOW - 200)
    of_user = await _ban(engine, 3, [], NOW - 100)

    assert await _check(engine, 3, ["d1"], ["n1"]) == (of_user, "user")
    assert await _check(engine, 4, ["d1"], ["n1"]) == (by_device, "device")
    assert await _check(engine, 4, ["d9"], ["n1"]) == (by_net, "net")
    assert await _check(engine, None, ["d1"], ["n1"]) == (by_device, "device")
    assert await _check(engine, 4, ["d9"], ["n9"]) is None
    assert await _check(engine, None, [], []) is None


async def test_the_oldest_ban_wins_and_the_ban_row_is_returned_whole(
    engine: AsyncEngine,
) -> None:
    newer = await _ban(engine, 5, [("device", "d2", None)], NOW - 10)
    older = await _ban(engine, 6, [("device", "d2", None), ("net", "n2", None)], NOW - 20)
    assert await _check(engine, None, ["d2", "d3"], ["n2"]) == (older, "device")
    async with engine.connect() as db:
        found = await db.run_sync(store.active_ban, None, ["d2"], [], NOW)
    assert found is not None
    assert set(found[0]) == {c.name for c in sanctions.c}  # no column of the join leaks
    assert newer != older


async def test_ended_revoked_or_expired_marks_do_not_apply(engine: AsyncEngine) -> None:
    await _ban(engine, 7, [("device", "d4", None)], NOW - 100, ends_at=NOW - 1)
    await _ban(engine, 8, [("device", "d5", None)], NOW - 100, revoked=True)
    await _ban(engine, 9, [("net", "n6", NOW - 1)], NOW - 100)  # the mark has lapsed
    assert await _check(engine, 7, ["d4", "d5"], ["n6"]) is None
    assert await _check(engine, 8, [], []) is None
    lasting = await _ban(engine, 9, [("net", "n7", NOW + 60)], NOW - 50)
    assert await _check(engine, None, [], ["n6", "n7"]) == (lasting, "net")
