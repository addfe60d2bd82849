"""``store.engine.Transactions`` on a real SQLite file: each unit is one transaction, the
message commits on the node's store thread, the other units in the store process (which
never holds a commit up); failures reach their caller; a store process that dies is
replaced."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.errors import ClientError
from cocon.moderation.gate import Banned
from cocon.store.engine import WRITER_CHECKPOINT_PAGES, Transactions


def _hold(db: Connection, started: str, release: str) -> str:
    """Keep the store process busy until the file ``release`` exists."""
    Path(started).touch()
    deadline = time.monotonic() + 10
    while not os.path.exists(release):
        assert time.monotonic() < deadline, "never released"
        time.sleep(0.005)
    return "held"


def _make_scratch(db: Connection) -> None:
    db.execute(text("CREATE TABLE scratch (id INTEGER PRIMARY KEY, name TEXT)"))


def _note(db: Connection, name: str) -> str:
    """Write ``name`` down: the table's row ids give the order the units ran in."""
    db.execute(text("INSERT INTO scratch (name) VALUES (:name)"), {"name": name})
    return name


def _fail(db: Connection) -> None:
    db.execute(text("INSERT INTO scratch (name) VALUES ('one')"))
    db.execute(text("INSERT INTO scratch (name) VALUES ('two')"))
    raise ValueError("refused")


def _scratch(db: Connection) -> list[str]:
    return [str(r.name) for r in db.execute(text("SELECT name FROM scratch ORDER BY id"))]


def _pid(db: Connection) -> int:
    return os.getpid()


def _ban(db: Connection) -> None:
    raise Banned("Accès refusé.", {"id": 7, "rule": "R1"})


@pytest.fixture
async def transactions(engine: AsyncEngine) -> AsyncIterator[Transactions]:
    """The store process over the test's own SQLite store, with a scratch table."""
    unit = Transactions(engine)
    await unit.run(_make_scratch)
    yield unit
    await unit.close()


async def _occupy(transactions: Transactions, tmp_path: Path) -> tuple[asyncio.Future[str], Path]:
    """Keep the store process busy with one unit until the returned file is made."""
    started, release = tmp_path / "started", tmp_path / "release"
    busy = asyncio.ensure_future(transactions.run(_hold, str(started), str(release)))
    async with asyncio.timeout(5):
        while not started.exists():
            await asyncio.sleep(0.005)
    return busy, release


async def test_commits_run_here_and_the_other_units_in_a_process_of_their_own(
    transactions: Transactions,
) -> None:
    assert await transactions.run(_pid, urgent=True) == os.getpid()
    assert await transactions.run(_pid) not in (os.getpid(), 0)


async def test_a_commit_does_not_wait_for_the_units_queued(
    transactions: Transactions, tmp_path: Path
) -> None:
    busy, release = await _occupy(transactions, tmp_path)
    # Queued while the store process is busy: two connect-like units, then a commit.
    first = asyncio.ensure_future(transactions.run(_note, "hello"))
    second = asyncio.ensure_future(transactions.run(_note, "welcome"))
    await asyncio.sleep(0.01)
    assert await asyncio.wait_for(transactions.run(_note, "commit", urgent=True), 5) == "commit"
    assert not first.done()
    release.touch()
    results = await asyncio.wait_for(asyncio.gather(busy, first, second), 5)
    assert list(results) == ["held", "hello", "welcome"]
    assert await transactions.run(_scratch) == ["commit", "hello", "welcome"]


async def test_a_failed_unit_rolls_back_and_the_next_ones_run(transactions: Transactions) -> None:
    with pytest.raises(ValueError, match="refused"):
        await transactions.run(_fail)
    assert await transactions.run(_scratch) == []  # both inserts were rolled back
    assert await transactions.run(_note, "after") == "after"


async def test_a_client_error_comes_back_whole(transactions: Transactions) -> None:
    """Errors cross the pipe whatever their __init__ takes (a ban carries its sanction)."""
    with pytest.raises(Banned) as caught:
        await transactions.run(_ban)
    assert isinstance(caught.value, ClientError)
    assert (caught.value.message, caught.value.code) == ("Accès refusé.", "banned")
    assert caught.value.sanction == {"id": 7, "rule": "R1"}


async def test_a_cancelled_caller_leaves_the_process_serving(
    transactions: Transactions, tmp_path: Path
) -> None:
    busy, release = await _occupy(transactions, tmp_path)
    gone = asyncio.ensure_future(transactions.run(_note, "gone"))
    await asyncio.sleep(0.01)
    gone.cancel()
    release.touch()
    assert await asyncio.wait_for(busy, 5) == "held"
    assert await asyncio.wait_for(transactions.run(_note, "next"), 5) == "next"
    assert await transactions.run(_scratch) == ["gone", "next"]  # it ran; its answer dropped


async def test_a_store_process_that_dies_is_replaced(
    transactions: Transactions, tmp_path: Path
) -> None:
    """Killed under a unit: the units it held fail with a clear error, the next unit gets a
    new store process, and what was committed before is still there."""
    await transactions.run(_note, "before")
    pid = await transactions.run(_pid)
    busy, _release = await _occupy(transactions, tmp_path)
    queued = asyncio.ensure_future(transactions.run(_note, "queued"))
    await asyncio.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    for held in (busy, queued):
        with pytest.raises(ConnectionError, match="store process ended"):
            await asyncio.wait_for(held, 10)
    assert await transactions.run(_pid) not in (pid, os.getpid())
    assert await transactions.run(_scratch) == ["before"]


async def test_a_closed_store_refuses_units(engine: AsyncEngine) -> None:
    unit = Transactions(engine)
    await unit.start()
    pid = await unit.run(_pid)
    await unit.close()
    for urgent in (False, True):
        with pytest.raises(ConnectionError, match="shut down"):
            await unit.run(_pid, urgent=urgent)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # ended and reaped


def _autocheckpoint(db: Connection) -> int:
    return int(db.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def _fill(db: Connection, rows: int) -> None:
    db.execute(
        text("INSERT INTO scratch (name) VALUES (:name)"),
        [{"name": f"{i:06d}" + "x" * 2000} for i in range(rows)],
    )


async def test_the_store_process_checkpoints_for_the_commits(
    transactions: Transactions, tmp_path: Path
) -> None:
    """A message commit carries no checkpoint (the database file's writes and fsync) before
    the WAL reaches WRITER_CHECKPOINT_PAGES; the store process's checkpointer copies the
    WAL into the file within seconds."""
    assert await transactions.run(_autocheckpoint, urgent=True) == WRITER_CHECKPOINT_PAGES
    assert await transactions.run(_autocheckpoint) == 1000  # SQLite's default
    db_file = tmp_path / "store.db"
    before = db_file.stat().st_size
    for _ in range(4):  # ~1,200 pages of WAL: past SQLite's own threshold of 1,000
        await transactions.run(_fill, 600, urgent=True)
    async with asyncio.timeout(10):
        while db_file.stat().st_size < before + 4 * 600 * 2000:
            await asyncio.sleep(0.1)
    assert len(await transactions.run(_scratch)) == 2400
