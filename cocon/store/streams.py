"""Streams and their entries: gap-free sequence numbers assigned inside the commit.

All appends of a node go through one :class:`Appender`, which commits whatever is queued in
one transaction (group commit). That amortizes the fsync over the batch and makes a node's
commits, and so its publications, leave in sequence order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Connection,
    Row,
    bindparam,
    insert,
    select,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.dml import UpdateBase

from cocon.errors import NotFound
from cocon.store.engine import Transactions
from cocon.store.tables import entries, streams

log = logging.getLogger(__name__)

MAX_BATCH = 512


@dataclass(frozen=True, slots=True)
class AppendRequest:
    stream: str
    kind: str  # "text" | "notice"
    sender_id: int | None
    cid: str | None
    body: str
    data: str | None
    ts: float


@dataclass(frozen=True, slots=True)
class Appended:
    stream: str
    seq: int
    epoch: int
    ts: float
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Entry:
    stream: str
    seq: int
    kind: str
    sender_id: int | None
    cid: str | None
    body: str
    data: str | None
    ts: float


def new_epoch() -> int:
    return secrets.randbits(52)  # exact in JSON numbers and JavaScript


def create_stream(conn: Connection, stream_id: str) -> int:
    """Create a stream inside the caller's transaction; returns its epoch."""
    epoch = new_epoch()
    conn.execute(_INSERT_STREAM, {"id": stream_id, "epoch": epoch, "last_seq": 0})
    return epoch


def position(conn: Connection, stream_id: str) -> tuple[int, int] | None:
    """``(epoch, last_seq)`` of a stream, or None if it does not exist."""
    row = conn.execute(_POSITION, {"stream_id": stream_id}).one_or_none()
    return None if row is None else (int(row.epoch), int(row.last_seq))


def _entry(row: Row[tuple[object, ...]]) -> Entry:
    m = row._mapping
    return Entry(
        stream=m["stream"],
        seq=int(m["seq"]),
        kind=m["kind"],
        sender_id=m["sender_id"],
        cid=m["cid"],
        body=m["body"],
        data=m["data"],
        ts=float(m["ts"]),
    )


# Statements of the hot paths (every hello, every private message's risk check), built once:
# building a statement per call cost more CPU than running it (docs/benchmarks.md, s4).
_INSERT_STREAM = insert(streams)
_POSITION = select(streams.c.epoch, streams.c.last_seq).where(
    streams.c.id == bindparam("stream_id")
)
_READ_AFTER = (
    select(entries)
    .where(entries.c.stream == bindparam("stream_id"), entries.c.seq > bindparam("after"))
    .order_by(entries.c.seq)
    .limit(bindparam("limit"))
)


def read_after(conn: Connection, stream_id: str, after: int, limit: int) -> list[Entry]:
    """Entries with ``seq > after``, oldest first, at most ``limit``."""
    rows = conn.execute(_READ_AFTER, {"stream_id": stream_id, "after": after, "limit": limit})
    return [_entry(r) for r in rows]


def entries_before(conn: Connection, stream_id: str, before: int | None, limit: int) -> list[Entry]:
    """The ``limit`` entries just before ``before`` (or the latest), oldest first."""
    query = select(entries).where(entries.c.stream == stream_id)
    if before is not None:
        query = query.where(entries.c.seq < before)
    rows = conn.execute(query.order_by(entries.c.seq.desc()).limit(limit))
    return [_entry(r) for r in reversed(rows.all())]


async def read_before(
    conn: AsyncConnection, stream_id: str, before: int | None, limit: int
) -> list[Entry]:
    return await conn.run_sync(entries_before, stream_id, before, limit)


def tail(
    conn: Connection, stream_id: str, limit: int
) -> tuple[tuple[int, int] | None, list[Entry]]:
    """The position of a stream (None if it does not exist) and its last ``limit`` entries,
    read in one unit of work."""
    pos = position(conn, stream_id)
    return pos, [] if pos is None else entries_before(conn, stream_id, pos[1] + 1, limit)


class Appender:
    """Group commit of stream appends; ``append`` returns once the entry is durable."""

    def __init__(self, transactions: Transactions) -> None:
        self._transactions = transactions
        self._queue: list[tuple[AppendRequest, asyncio.Future[Appended]]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.appended = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="appender")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for _, fut in self._queue:
            if not fut.done():
                fut.set_exception(ConnectionError("store is shutting down"))
        self._queue.clear()

    def submit(self, request: AppendRequest) -> asyncio.Future[Appended]:
        """Queue an append now; the future resolves once it is durable (in queue order)."""
        fut: asyncio.Future[Appended] = asyncio.get_running_loop().create_future()
        self._queue.append((request, fut))
        self._wakeup.set()
        return fut

    async def append(self, request: AppendRequest) -> Appended:
        return await self.submit(request)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch, self._queue = self._queue[:MAX_BATCH], self._queue[MAX_BATCH:]
                await self._commit_batch(batch)

    async def _commit_batch(
        self, batch: list[tuple[AppendRequest, asyncio.Future[Appended]]]
    ) -> None:
        requests = [req for req, _ in batch]
        try:
            try:
                results = await self._write(requests, look_up=False)
            except IntegrityError:
                # A retry of a stored message: run the batch again, looking retries up.
                results = await self._write(requests, look_up=True)
        except IntegrityError:
            # A concurrent writer (another node) committed one of these cids meanwhile:
            # redo one by one so each gets its own, correct, answer.
            results = []
            for req in requests:
                try:
                    results.extend(await self._write([req], look_up=True))
                except Exception as exc:
                    results.append(exc)
        except Exception as exc:
            log.warning("append batch of %d failed: %s", len(batch), exc)
            results = [exc] * len(batch)
        self.batches += 1
        for (_, fut), result in zip(batch, results, strict=True):
            if fut.done():
                continue
            if isinstance(result, BaseException):
                fut.set_exception(result)
            else:
                self.appended += 1
                fut.set_result(result)

    async def _write(
        self, requests: Sequence[AppendRequest], look_up: bool
    ) -> list[Appended | Exception]:
        return await self._transactions.run(write_batch, requests, look_up, urgent=True)


# Statements of the append path, compiled once per dialect and run on the driver's cursor:
# SQLAlchemy's per-execution work (cache key, execution context, result object) was half of
# a one-message commit (157 µs against 77, warm, SQLite, the commit's fsync included).
_compiled: dict[tuple[str, str], tuple[str, tuple[str, ...] | None]] = {}


def _driver_sql(
    conn: Connection, name: str, statement: Callable[[], UpdateBase], rows: list[dict[str, Any]]
) -> list[tuple[Any, ...]]:
    """Run ``statement()`` (built and compiled once per dialect) for ``rows`` of named
    parameters on the DB-API cursor of ``conn``'s transaction: one row executes, several
    execute many. Returns the rows it returns; a unique-index violation is raised as
    SQLAlchemy's ``IntegrityError``, like any other statement's."""
    key = (conn.dialect.name, name)
    if key not in _compiled:
        compiled = statement().compile(dialect=conn.dialect, column_keys=list(rows[0]))
        order = tuple(compiled.positiontup or ()) if compiled.positional else None
        _compiled[key] = (compiled.string, order)
    sql, order = _compiled[key]
    params: list[Any] = rows if order is None else [tuple(r[k] for k in order) for r in rows]
    driver = conn.connection.dbapi_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        if len(params) == 1:
            cursor.execute(sql, params[0])
        else:
            cursor.executemany(sql, params)
        return list(cursor.fetchall()) if cursor.description else []
    except conn.dialect.loaded_dbapi.IntegrityError as exc:
        raise IntegrityError(sql, params, exc) from exc
    finally:
        cursor.close()


def _bump_stream() -> UpdateBase:
    return (
        update(streams)
        .where(streams.c.id == bindparam("sid"))
        .values(last_seq=streams.c.last_seq + bindparam("n"))
        .returning(streams.c.last_seq, streams.c.epoch)
    )


def write_batch(
    conn: Connection, requests: Sequence[AppendRequest], look_up: bool = True
) -> list[Appended | Exception]:
    """Assign seqs and insert, inside the caller's transaction; idempotent per (sender, cid).

    ``look_up=False`` skips the search for requests already stored (retries): the unique
    index on (sender, cid) then refuses a retry with IntegrityError, and the caller runs
    the batch again with the search (the appender does; retries are rare).

    Synchronous on purpose: the appender runs it as one unit of work
    (:class:`cocon.store.engine.Transactions`): with SQLite a whole batch costs one hop to
    the store's thread instead of one per statement.
    """
    keys = {(r.sender_id, r.cid) for r in requests if r.cid is not None and r.sender_id is not None}
    known: dict[tuple[int | None, str | None], tuple[str, int, float]] = {}
    if keys and look_up:
        rows = conn.execute(
            select(
                entries.c.sender_id, entries.c.cid, entries.c.stream, entries.c.seq, entries.c.ts
            ).where(tuple_(entries.c.sender_id, entries.c.cid).in_(list(keys)))
        )
        for row in rows:
            known[(row.sender_id, row.cid)] = (row.stream, int(row.seq), float(row.ts))
    fresh: dict[str, list[int]] = {}
    first_of: dict[tuple[int | None, str | None], int] = {}
    for i, r in enumerate(requests):
        key = (r.sender_id, r.cid)
        if r.cid is not None and (key in known or key in first_of):
            continue
        if r.cid is not None:
            first_of[key] = i
        fresh.setdefault(r.stream, []).append(i)
    results: list[Appended | Exception | None] = [None] * len(requests)
    epochs: dict[str, int] = {}
    rows_to_insert = []
    for stream_id in sorted(fresh):  # one lock order for every writer: no deadlocks
        idxs = fresh[stream_id]
        updated = _driver_sql(conn, "bump", _bump_stream, [{"sid": stream_id, "n": len(idxs)}])
        if not updated:
            for i in idxs:
                results[i] = NotFound("Ce fil n'existe pas.", code="not_found")
            continue
        last, epoch = int(updated[0][0]), int(updated[0][1])  # RETURNING last_seq, epoch
        epochs[stream_id] = epoch
        for offset, i in enumerate(idxs):
            r = requests[i]
            seq = last - len(idxs) + 1 + offset
            rows_to_insert.append(
                {
                    "stream": stream_id,
                    "seq": seq,
                    "kind": r.kind,
                    "sender_id": r.sender_id,
                    "cid": r.cid,
                    "body": r.body,
                    "data": r.data,
                    "ts": r.ts,
                }
            )
            results[i] = Appended(stream_id, seq, epoch, r.ts, duplicate=False)
    if rows_to_insert:
        _driver_sql(conn, "insert", lambda: insert(entries), rows_to_insert)
    for i, r in enumerate(requests):
        if results[i] is not None:
            continue
        key = (r.sender_id, r.cid)
        if key in known:
            stream_id, seq, ts = known[key]
        else:
            first = results[first_of[key]]
            if not isinstance(first, Appended):
                results[i] = first
                continue
            stream_id, seq, ts = first.stream, first.seq, first.ts
        if stream_id not in epochs:
            epoch_row = conn.execute(
                select(streams.c.epoch).where(streams.c.id == stream_id)
            ).one_or_none()
            epochs[stream_id] = int(epoch_row.epoch) if epoch_row is not None else 0
        results[i] = Appended(stream_id, seq, epochs[stream_id], ts, duplicate=True)
    return [r for r in results if r is not None]
