"""Engine creation; the only place that knows SQLite from PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import pickle
import signal
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, Engine, Table, create_engine, event
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert

T = TypeVar("T")

log = logging.getLogger(__name__)


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
    # Twenty connections, opened as needed and then kept: no overflow, whose connections
    # are closed as soon as they are given back, so that a load around the pool's size
    # made PostgreSQL start and end a backend dozens of times a second (s3 on two nodes:
    # ~900 in 17 s; docs/benchmarks.md, seventeenth round).
    return create_async_engine(normalize_url(url), pool_size=20, max_overflow=0, pool_pre_ping=True)


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


class Transactions:
    """Runs a synchronous store function inside one transaction, as one unit of work.

    With SQLite there are two places to run one, both on a plain (pysqlite) engine of the
    same file, each keeping its one connection open (a checkout and a check-in, with its
    reset, per unit were a third of a one-message commit):

    - ``urgent`` units (the appender's message commits) run on the node's store thread,
      one after the other: a whole batch costs one hand-off. There a commit is slow under
      load (each statement gives the GIL back and waits for the busy event loop), and that
      slowness is the group commit's window: batches of hundreds of messages
      (docs/benchmarks.md, ninth and tenth rounds).
    - the others (enters, hellos, welcomes, joins, pseudo holds, and the chat's reads:
      friendships, live cams, briefs, a conversation's facts and unseen entries) run in
      the store process, a spawned child of the node that takes nothing from its GIL; the
      event loop writes their function and arguments to its socket and reads the result
      back, so all three pickle (the function is module-level). On the store thread beside
      a chat, an enter ran 14 ms instead of 4 and waited seconds behind the commits (tenth
      round); through the async engine, each read cost hand-offs to an aiosqlite thread
      (fifteenth round).

    Checkpoints (copying the WAL back into the database file) are the store process's
    too: a thread of its own runs one every ``CHECKPOINT_EVERY_S``, and the store
    thread's connection only past ``WRITER_CHECKPOINT_PAGES``.

    The two meet only at SQLite's write lock (``busy_timeout``). With PostgreSQL, every
    unit runs through the async engine's ``run_sync`` (each statement is a round trip to
    the server either way). A unit whose caller was cancelled still runs; only its answer
    is dropped. If the store process dies, the units it held fail and the next unit
    starts a new one.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._url: str | None = None
        self._sync: Engine | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._conn: Connection | None = None  # the store thread's own
        url = engine.url
        if url.get_backend_name() == "sqlite":
            self._url = url.set(drivername="sqlite+pysqlite").render_as_string(False)
            self._sync = _sqlite_engine(self._url, writer=True, check_same_thread=False)
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="cocon-store")
        self._link: _StoreLink | None = None
        self._starting: asyncio.Future[_StoreLink] | None = None
        self._closed = False

    async def run(self, fn: Callable[..., T], *args: Any, urgent: bool = False) -> T:
        if self._url is None:
            async with self._engine.begin() as conn:
                return await conn.run_sync(fn, *args)
        if self._closed:
            raise ConnectionError("store is shut down")
        if urgent:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._thread, self._in_thread, fn, args)
        link = await self._store()
        result: T = await link.run(fn, args)
        return result

    def _in_thread(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        assert self._sync is not None
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._conn = self._sync.connect()
        with conn.begin():
            return fn(conn, *args)

    async def start(self) -> None:
        """With SQLite, start the store process now (otherwise the first unit does)."""
        if self._url is not None:
            await self._store()

    async def _store(self) -> _StoreLink:
        assert self._url is not None  # SQLite only
        if self._closed:
            raise ConnectionError("store is shut down")
        if self._link is not None:
            return self._link
        if self._starting is None:
            self._starting = asyncio.ensure_future(_StoreLink.open(self._url, self._lost))
        try:
            self._link = await asyncio.shield(self._starting)
        finally:
            self._starting = None
        return self._link

    def _lost(self, link: _StoreLink) -> None:
        if self._link is link:
            self._link = None

    async def close(self) -> None:
        """Stop the store process and the store thread once their units are done."""
        self._closed = True
        if self._link is not None:
            await self._link.close()
            self._link = None
        if self._thread is not None:
            await asyncio.wrap_future(self._thread.submit(self._close_conn))
            self._thread.shutdown(wait=False)
        if self._sync is not None:
            self._sync.dispose()

    def _close_conn(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# SQLite's default checkpoint runs inside the commit that takes the WAL past 1,000 pages:
# a message batch on the store thread, whose fan-out then waits for the database file's
# writes and fsync. The store process checkpoints instead (PASSIVE: it never blocks the
# writer). The writer keeps a checkpoint of its own past WRITER_CHECKPOINT_PAGES because
# a background checkpoint never catches up with a sustained writer, and SQLite starts the
# WAL over only after the writer's own. Figures: docs/architecture.md, "Checkpoints in the
# store process".
CHECKPOINT_EVERY_S = 1.0
WRITER_CHECKPOINT_PAGES = 10_000  # 40 MB of WAL with 4 KiB pages


def _sqlite_engine(url: str, *, writer: bool = False, **connect_args: Any) -> Engine:
    """A plain (pysqlite) engine of one connection on the node's SQLite file; ``writer``:
    the store thread's, which leaves checkpoints to the store process."""
    engine = create_engine(url, pool_size=1, max_overflow=0, connect_args=connect_args)
    event.listen(engine, "connect", _sqlite_pragmas)
    if writer:
        event.listen(engine, "connect", _writer_pragmas)
    return engine


def _writer_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA wal_autocheckpoint={WRITER_CHECKPOINT_PAGES}")
    cur.close()


def _checkpoints(url: str, stop: threading.Event) -> None:
    """The store process's checkpointer: a PASSIVE checkpoint every ``CHECKPOINT_EVERY_S``,
    on a connection of its own, until ``stop`` is set."""
    engine = _sqlite_engine(url)
    while not stop.wait(CHECKPOINT_EVERY_S):
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except Exception as exc:  # the next one may succeed; the WAL only grows meanwhile
            log.warning("WAL checkpoint failed: %s", exc)
    engine.dispose()


# -- the store process and the node's side of its socket ---------------------------------

# A frame is its header then a pickle: to the store process (length, unused flag, unit
# id, pickled (function, arguments)); back (length, ok, unit id, pickled result or error).
_HEADER = struct.Struct("!I?Q")


def _frames(buffer: bytearray) -> Iterator[tuple[bool, int, bytes]]:
    """Take the whole frames off the front of ``buffer``: (flag, unit id, body) each."""
    size = _HEADER.size
    while len(buffer) >= size:
        length, flag, unit_id = _HEADER.unpack_from(buffer)
        if len(buffer) < size + length:
            return
        body = bytes(buffer[size : size + length])
        del buffer[: size + length]
        yield flag, unit_id, body


class _StoreLink(asyncio.Protocol):
    """The node's end of the store process's socket: units out, results in."""

    def __init__(self, process: BaseProcess, lost: Callable[[_StoreLink], None]) -> None:
        self._process = process
        self._lost = lost
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._units: dict[int, asyncio.Future[Any]] = {}
        self._next_id = 0
        self._ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @classmethod
    async def open(cls, url: str, lost: Callable[[_StoreLink], None]) -> _StoreLink:
        ours, theirs = socket.socketpair()
        # Spawned, not forked: SQLite's state of a process with the file open must not be
        # carried into another (https://www.sqlite.org/howtocorrupt.html, 2.6).
        process = multiprocessing.get_context("spawn").Process(
            target=_store_main, args=(theirs, url), name="cocon-store", daemon=True
        )
        await asyncio.to_thread(process.start)
        theirs.close()
        loop = asyncio.get_running_loop()
        _, link = await loop.create_connection(lambda: cls(process, lost), sock=ours)
        return link

    async def run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        if self._transport is None or self._transport.is_closing():
            raise ConnectionError("the store process is gone")
        body = pickle.dumps((fn, args), pickle.HIGHEST_PROTOCOL)
        self._next_id += 1
        unit_id = self._next_id
        future = asyncio.get_running_loop().create_future()
        self._units[unit_id] = future
        self._transport.write(_HEADER.pack(len(body), False, unit_id) + body)
        try:
            return await future
        finally:
            self._units.pop(unit_id, None)

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        for ok, unit_id, body in _frames(self._buffer):
            future = self._units.get(unit_id)
            if future is None or future.done():
                continue  # its caller was cancelled
            try:
                value = pickle.loads(body)
            except Exception as exc:  # a result this process cannot rebuild
                future.set_exception(exc)
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost(self)
        for future in self._units.values():
            if not future.done():
                future.set_exception(ConnectionError("the store process ended"))
        self._units.clear()
        self._process.join(0)  # reaped if it is gone already
        if not self._ended.done():
            self._ended.set_result(None)

    async def close(self) -> None:
        while self._units:  # let the units under way finish
            await asyncio.wait(list(self._units.values()))
        if self._transport is not None:
            self._transport.close()  # the store process ends at the end of its socket
        await self._ended
        await asyncio.to_thread(self._process.join, 10)
        if self._process.is_alive():
            self._process.kill()


def _store_main(sock: socket.socket, url: str) -> None:
    """The store process: run the units received, in order, until the node closes its end
    of the socket (or is gone), and checkpoint the WAL meanwhile."""
    # A Ctrl-C to the terminal's group is the node's to handle: it ends this process once
    # its units are done.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock.setblocking(True)
    stop = threading.Event()
    checkpointer = threading.Thread(
        target=_checkpoints, args=(url, stop), name="cocon-checkpoints", daemon=True
    )
    checkpointer.start()
    try:
        _serve_units(sock, url)
    finally:
        stop.set()
        checkpointer.join()


def _serve_units(sock: socket.socket, url: str) -> None:
    """Run each unit received on ``sock``, in order, and send back its result."""
    engine = _sqlite_engine(url)
    conn: Connection | None = None
    buffer = bytearray()
    while True:
        for _, unit_id, body in _frames(buffer):  # every whole frame received, in order
            if conn is None or conn.closed or conn.invalidated:
                conn = engine.connect()
            ok, value = _run_unit(conn, body)
            try:
                reply = pickle.dumps(value, pickle.HIGHEST_PROTOCOL)
            except Exception as exc:
                error = TypeError(f"a store result did not pickle: {exc!r}")
                ok, reply = False, pickle.dumps(error)
            sock.sendall(_HEADER.pack(len(reply), ok, unit_id) + reply)
        data = sock.recv(1 << 20)
        if not data:
            return
        buffer += data


def _run_unit(conn: Connection, body: bytes) -> tuple[bool, Any]:
    """One unit: ``fn(conn, *args)`` in one transaction; (True, result) or (False, error)."""
    try:
        fn, args = pickle.loads(body)
        with conn.begin():
            return True, fn(conn, *args)
    except Exception as exc:
        return False, exc
