"""The PostgreSQL pool of a node (``store.engine.make_engine``) against the real server."""

from __future__ import annotations

import asyncio

from sqlalchemy import event, text

from cocon.store.engine import make_engine


async def test_the_pool_keeps_its_connections_under_load(pg_admin: str) -> None:
    """Waves of more units at once than the pool holds: each wave waits for the pool's
    twenty connections, and none is closed and opened again. With ten and ten more on
    overflow, each wave opened ten connections and closed them as they came back."""
    engine = make_engine(pg_admin)
    opened = 0

    def count(*_: object) -> None:
        nonlocal opened
        opened += 1

    event.listen(engine.sync_engine, "connect", count)

    async def unit() -> None:
        async with engine.connect() as db:
            await db.execute(text("SELECT pg_sleep(0.02)"))

    try:
        for _ in range(5):
            await asyncio.gather(*(unit() for _ in range(30)))
    finally:
        await engine.dispose()
    assert opened == 20
