"""Schema migrations with Alembic, driven from code (``cocon migrate``, and at start)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

from cocon.store.engine import normalize_url

_HERE = Path(__file__).parent


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    # Plain ``postgresql://`` URLs must reach asyncpg, the only PostgreSQL driver installed.
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` to ``revision`` (blocking; runs its own event loop)."""
    command.upgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Same as :func:`upgrade`, from inside a running event loop (in a worker thread)."""
    await asyncio.to_thread(upgrade, url, revision)
