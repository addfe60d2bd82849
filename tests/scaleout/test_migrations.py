"""Alembic migrations on both dialects: up to head, matching the tables, down and up again."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from cocon.store.engine import normalize_url
from cocon.store.migrate import alembic_config
from cocon.store.tables import metadata
from tests.servers import create_database, drop_database


async def _differences(url: str) -> list[object]:
    engine = create_async_engine(normalize_url(url))

    def compare(conn: Connection) -> list[object]:
        context = MigrationContext.configure(conn)
        return list(compare_metadata(context, metadata))

    try:
        async with engine.connect() as conn:
            return await conn.run_sync(compare)
    finally:
        await engine.dispose()


def _round_trip(url: str) -> None:
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "base")
    command.upgrade(cfg, "head")


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
async def test_migrations_match_the_tables(
    dialect: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if dialect == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
        await asyncio.to_thread(_round_trip, url)
        assert await _differences(url) == []
        return
    admin = request.getfixturevalue("pg_admin")
    url = create_database(admin, prefix="cocon_mig_")
    try:
        await asyncio.to_thread(_round_trip, url)
        assert await _differences(url) == []
    finally:
        drop_database(admin, url)
