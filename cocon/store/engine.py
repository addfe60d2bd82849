"""Engine creation; the only place that knows SQLite from PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert

T = TypeVar("T")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets readers run beside the writer; FULL makes a commit survive power loss,
    # not just a crash of the process (the promise: an ack means it is on disk).
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str) -> AsyncEngine:
    """An async engine tuned for the database behind ``url``."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, pool_size=4, max_overflow=4)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
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


@cache
def upsert(dialect: str, table: Table, update: tuple[str, ...]) -> Insert:
    """``INSERT ... ON CONFLICT (primary key) DO UPDATE SET <update>`` for ``table``, built
    once per dialect (SQLite and PostgreSQL spell it alike); values are bound at execution.
    One statement where an UPDATE, then a SAVEPOINT'd INSERT, were up to four."""
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(table)
    return ins.on_conflict_do_update(
        index_elements=list(table.primary_key.columns),
        set_={name: ins.excluded[name] for name in update},
    )


@dataclass(frozen=True, slots=True)
class _Unit:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # its caller was cancelled meanwhile
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class Transactions:
    """Runs a synchronous store function inside one transaction, as one unit of work.

    With SQLite, the function runs on a plain (pysqlite) engine of the same file in one
    worker thread: a whole batch costs one hand-off to that thread, where through aiosqlite
    every statement is a hand-off of its own (and a wake-up of the event loop). With
    PostgreSQL, it runs through the async engine's ``run_sync`` (each statement is a round
    trip to the server either way). The store thread keeps its one connection open: a
    checkout and a check-in (with its reset) per unit were a third of a one-message commit.

    ``urgent`` units (the message commits) go ahead of the units waiting for the thread
    (enters, hellos, welcomes): during a wave of connects a commit waits for at most the
    unit under way, not for the whole queue (see docs/benchmarks.md, s3 ``--storm``). Each
    unit submits one job to the thread, and each job runs the most urgent unit waiting.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sync: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._conn: Connection | None = None  # the store thread's own
        url = engine.url
        if url.get_backend_name() == "sqlite":
            self._sync = create_engine(
                url.set(drivername="sqlite+pysqlite"),
                pool_size=1,
                max_overflow=0,
                connect_args={"check_same_thread": False},
            )
            event.listen(self._sync, "connect", _sqlite_pragmas)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="cocon-store")
        self._urgent: deque[_Unit] = deque()
        self._waiting: deque[_Unit] = deque()

    async def run(self, fn: Callable[..., T], *args: Any, urgent: bool = False) -> T:
        if self._sync is None or self._thread is None:
            async with self._engine.begin() as conn:
                return await conn.run_sync(fn, *args)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        (self._urgent if urgent else self._waiting).append(_Unit(fn, args, future, loop))
        self._thread.submit(self._next)
        return await future

    def _next(self) -> None:
        """One job of the store thread: there are as many jobs as units, and a job starts
        after its own unit was queued, so a unit is always waiting here."""
        unit = self._urgent.popleft() if self._urgent else self._waiting.popleft()
        try:
            result = self._in_thread(unit.fn, unit.args)
        except BaseException as exc:  # handed to the caller, as run_in_executor would
            unit.loop.call_soon_threadsafe(_settle, unit.future, None, exc)
        else:
            unit.loop.call_soon_threadsafe(_settle, unit.future, result, None)

    def _in_thread(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        assert self._sync is not None
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._conn = self._sync.connect()
        with conn.begin():
            return fn(conn, *args)

    def _close_conn(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        if self._thread is not None:
            self._thread.submit(self._close_conn).result()
            self._thread.shutdown(wait=True)
        if self._sync is not None:
            self._sync.dispose()
