"""Fixtures of the moderation tests that talk to the store directly."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.store.engine import make_engine
from cocon.store.migrate import upgrade_async


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite store of the test's own."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    await upgrade_async(url)
    engine = make_engine(url)
    yield engine
    await engine.dispose()
