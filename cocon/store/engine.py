"""Engine creation; the only place that knows SQLite from PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def make_engine(url: str) -> AsyncEngine:
    """An async engine tuned for the database behind ``url``."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, pool_size=4, max_overflow=4)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers run beside the writer; FULL makes a commit survive power loss,
            # not just a crash of the process (the promise: an ack means it is on disk).
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    return create_async_engine(
        normalize_url(url), pool_size=10, max_overflow=10, pool_pre_ping=True
    )


def normalize_url(url: str) -> str:
    """Accept plain ``postgresql://`` URLs and route them to asyncpg."""
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url[len("postgres://") :]
    return url
