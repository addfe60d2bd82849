"""The send path's view of mutes and restrictions: read ahead, never on a sender's way."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.moderation.standing import Standing
from cocon.store.engine import make_engine
from tests.moderation.helpers import add_sanction

MAX_AGE_S = 0.4


async def _mute(engine: AsyncEngine, user_id: int) -> None:
    await add_sanction(engine, user_id, "mute", time.time())


async def test_the_view_is_read_ahead_in_the_background(engine: AsyncEngine) -> None:
    standing = Standing()
    view = await standing.current(engine, MAX_AGE_S)  # the first check reads inline
    assert view.mutes_of(7) == []
    first = standing.fetched
    await _mute(engine, 7)  # as decided on another node: this one learns it by reading

    await asyncio.sleep(MAX_AGE_S * 0.6)  # past half its age, still fresh
    view = await standing.current(engine, MAX_AGE_S)
    assert view.mutes_of(7) == []  # answered at once from the view it had...
    assert standing._ahead is not None  # ...with a read started behind it
    await asyncio.wait_for(asyncio.shield(standing._ahead), 5)

    assert [scope for scope, _ in standing.mutes_of(7)] == [None]
    assert standing.fetched > first
    await standing.close()


async def test_an_invalidated_view_is_read_before_answering(engine: AsyncEngine) -> None:
    standing = Standing()
    await standing.current(engine, MAX_AGE_S)
    await _mute(engine, 8)
    standing.invalidate()  # a sanction decided on this node
    view = await standing.current(engine, MAX_AGE_S)
    assert view.mutes_of(8) != []
    assert standing._ahead is None


async def test_a_failed_read_ahead_keeps_the_view(engine: AsyncEngine) -> None:
    standing = Standing()
    await _mute(engine, 9)
    await standing.current(engine, MAX_AGE_S)
    await engine.dispose()
    broken = make_engine("sqlite+aiosqlite:////nonexistent/dir/standing.db")
    await asyncio.sleep(MAX_AGE_S * 0.6)
    await standing.current(broken, MAX_AGE_S)
    assert standing._ahead is not None
    await asyncio.gather(standing._ahead, return_exceptions=True)
    await asyncio.sleep(0)  # the done callback runs
    assert standing._ahead is None
    assert standing.mutes_of(9) != []  # the view it had, until it is too old
    await asyncio.sleep(MAX_AGE_S)
    with pytest.raises(OperationalError):  # then the next check reads inline, and says so
        await standing.current(broken, MAX_AGE_S)
    await broken.dispose()
