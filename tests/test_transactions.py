"""The store thread (``store.engine.Transactions``) on a real SQLite file: each unit is one
transaction, message commits go ahead of the units waiting, failures reach their caller."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.store.engine import Transactions


def _hold(db: Connection, started: threading.Event, release: threading.Event) -> str:
    started.set()
    assert release.wait(10)
    return "held"


def _note(db: Connection, order: list[str], name: str) -> str:
    db.execute(text("SELECT 1"))
    order.append(name)
    return name


def _make_scratch(db: Connection) -> None:
    db.execute(text("CREATE TABLE scratch (id INTEGER PRIMARY KEY)"))


def _fail(db: Connection) -> None:
    db.execute(text("INSERT INTO scratch (id) VALUES (1)"))
    db.execute(text("INSERT INTO scratch (id) VALUES (2)"))
    raise ValueError("refused")


def _scratch(db: Connection) -> list[int]:
    return [int(r.id) for r in db.execute(text("SELECT id FROM scratch"))]


@pytest.fixture
async def transactions(engine: AsyncEngine) -> AsyncIterator[Transactions]:
    """The store thread over the test's own SQLite store, closed after the test."""
    unit = Transactions(engine)
    yield unit
    unit.close()


async def _occupy(transactions: Transactions) -> tuple[asyncio.Future[str], threading.Event]:
    """Keep the store thread busy with one unit until the returned event is set."""
    started, release = threading.Event(), threading.Event()
    busy = asyncio.ensure_future(transactions.run(_hold, started, release))
    async with asyncio.timeout(5):
        while not started.is_set():
            await asyncio.sleep(0.005)
    return busy, release


async def test_commits_go_ahead_of_waiting_units(transactions: Transactions) -> None:
    busy, release = await _occupy(transactions)
    order: list[str] = []
    # Queued while the thread is busy: two connect-like units, then a commit.
    first = asyncio.ensure_future(transactions.run(_note, order, "hello"))
    second = asyncio.ensure_future(transactions.run(_note, order, "welcome"))
    await asyncio.sleep(0.01)
    commit = asyncio.ensure_future(transactions.run(_note, order, "commit", urgent=True))
    await asyncio.sleep(0.01)
    release.set()
    results = await asyncio.wait_for(asyncio.gather(busy, first, second, commit), 5)
    assert list(results) == ["held", "hello", "welcome", "commit"]
    assert order == ["commit", "hello", "welcome"]


async def test_a_failed_unit_rolls_back_and_the_next_ones_run(transactions: Transactions) -> None:
    await transactions.run(_make_scratch)
    with pytest.raises(ValueError, match="refused"):
        await transactions.run(_fail)
    assert await transactions.run(_scratch) == []  # both inserts were rolled back
    assert await transactions.run(_note, [], "after") == "after"


async def test_a_cancelled_caller_leaves_the_thread_serving(transactions: Transactions) -> None:
    busy, release = await _occupy(transactions)
    order: list[str] = []
    gone = asyncio.ensure_future(transactions.run(_note, order, "gone"))
    await asyncio.sleep(0.01)
    gone.cancel()
    release.set()
    assert await asyncio.wait_for(busy, 5) == "held"
    assert await asyncio.wait_for(transactions.run(_note, order, "next"), 5) == "next"
    assert order == ["gone", "next"]  # the unit ran; only its answer was dropped
