"""Guests written straight into a test's own store (the ``engine`` fixture)."""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.store import identities


async def store_user(engine: AsyncEngine, pseudo: str, age: int = 30) -> int:
    """A new guest's id, as an entry would create them (no device, no hold left)."""
    now = time.time()
    async with engine.begin() as db:
        user = await db.run_sync(
            identities.create_user,
            pseudo=pseudo,
            key=pseudo.lower(),
            gender="autre",
            age=age,
            dep="75",
            device_id=None,
            now=now,
            hold_until=now,
            taken_from=None,
        )
    return user.id
