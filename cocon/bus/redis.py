"""Redis bus and presence: what makes a node one of many.

Pub/sub
    One channel per topic (``<prefix>:t:<topic>``), publications encoded with msgpack. The
    subscriptions live on a connection of our own (a few lines of RESP) so that
    ``subscribe()`` returns only once Redis has confirmed it, and so that after a lost
    connection the node reconnects, subscribes again to everything and tells the hub that
    publications may have been lost: the hub then compares every stream it follows with the
    store and backfills (see :class:`cocon.gateway.hub.StreamSource`). Redis pub/sub is
    at-most-once anyway: holes are repaired from the store, never from Redis.

    Publishing never raises into the send path: while Redis is unreachable a publication is
    logged, delivered to this node's own subscribers and dropped for the others (their hub
    backfills when it sees the next seq, or when the bus comes back).

Presence
    Per node, the set of ``room:user`` it holds (``<prefix>:nr:<node>``) and of users online
    through it (``<prefix>:no:<node>``); per room a hash ``user -> number of nodes``
    (``<prefix>:room:<id>``), and ``<prefix>:online`` the same for online users. Lua scripts
    keep them consistent, so ``enter_room`` is True only on the first node and
    ``leave_room`` only on the last. Each node refreshes ``<prefix>:node:<id>`` (a key with a
    TTL) every 2 s; every node sweeps the nodes whose key expired: their entries are removed
    in one script (one sweeper wins) and the leaves are announced to the rooms, the offline
    status to friends. A node keeps its own entries in memory too, answers from them while
    Redis is unreachable, and writes them back when Redis returns (or after being swept).

``<prefix>`` is ``cocon`` unless the URL says otherwise (``redis://host:6379/0?prefix=chat2``):
two Cocon deployments sharing one Redis need distinct prefixes (pub/sub ignores the database
number). Needs a single Redis server (or a Sentinel-managed primary), not Redis Cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import msgspec
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.bus.base import BusMessage, Deliver
from cocon.config import Settings
from cocon.errors import ConfigError
from cocon.protocol.events import UserBrief, encode
from cocon.store.engine import make_engine
from cocon.store.streams import read_after
from cocon.store.tables import streams

if TYPE_CHECKING:
    from cocon.runtime import Runtime

log = logging.getLogger(__name__)

HEARTBEAT_S = 2.0
NODE_TTL_S = 8.0  # a node silent for this long is dead: its users leave within ~10 s
SWEEP_S = 2.0
PING_S = 5.0  # subscriber keepalive
SILENT_S = 12.0  # no byte from Redis for this long: the subscriber connection is dead
CONFIRM_S = 5.0
COMMAND_TIMEOUT_S = 2.0
RETRY_AFTER_FAILURE_S = 1.0  # after a failed command, answer locally for this long
SUBSCRIBE_CHUNK = 500

REDIS_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


def split_url(url: str) -> tuple[str, str]:
    """``(redis url without our own parameters, key and channel prefix)``."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = next((v for k, v in query if k == "prefix"), "") or "cocon"
    rest = urlencode([(k, v) for k, v in query if k != "prefix"])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, rest, parts.fragment)), prefix


class _Health:
    """Shared by the bus and presence: skip Redis for a moment after a failure."""

    def __init__(self) -> None:
        self._retry_at = 0.0
        self._last_log = 0.0
        self.failures = 0

    def ok(self) -> bool:
        return time.monotonic() >= self._retry_at

    def failed(self, what: str, exc: BaseException) -> None:
        self.failures += 1
        now = time.monotonic()
        self._retry_at = now + RETRY_AFTER_FAILURE_S
        if now - self._last_log >= 5.0:
            self._last_log = now
            reason = str(exc) or type(exc).__name__
            log.warning("Redis unreachable (%s: %s); answering locally", what, reason)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# -- the parts of a Runtime that backfill and announcements read -------------------------
@dataclass
class _NodeView:
    """What ``entry_events``, ``announce`` and ``online_changed`` read of a Runtime: the
    store, a brief cache and the bus. The bus is built before the node's Runtime, so it
    keeps its own (cast to Runtime where those functions want one)."""

    engine: AsyncEngine
    bus: RedisBus
    briefs: dict[int, UserBrief] = field(default_factory=dict)
    runtime: Runtime | None = None  # the node's own, once it exists (see attach_runtime)

    def as_runtime(self) -> Runtime:
        if self.runtime is not None:
            return self.runtime
        if len(self.briefs) > 50_000:
            self.briefs.clear()
        return cast("Runtime", self)


class _StoreSource:
    """The hub's :class:`~cocon.gateway.hub.StreamSource`: the store, read for holes."""

    def __init__(self, view: _NodeView) -> None:
        self._view = view
        self._callbacks: list[Callable[[], None]] = []

    async def positions(self, topics: list[str]) -> dict[str, int]:
        if not topics:
            return {}
        async with self._view.engine.connect() as db:
            rows = await db.execute(
                select(streams.c.id, streams.c.last_seq).where(streams.c.id.in_(topics))
            )
            return {str(r.id): int(r.last_seq) for r in rows}

    async def entries_after(self, topic: str, after: int, limit: int) -> list[BusMessage]:
        from cocon.actions.common import entry_events

        async with self._view.engine.connect() as db:
            entries = await db.run_sync(read_after, topic, after, limit)
        # Rendered for nobody in particular: the hub frames ``hidden`` for blockers itself.
        events = await entry_events(self._view.as_runtime(), entries, set())
        return [
            BusMessage(topic, encode(event), seq=entry.seq, sender=entry.sender_id or 0)
            for entry, event in zip(entries, events, strict=True)
        ]

    def on_loss(self, callback: Callable[[], None]) -> None:
        self._callbacks.append(callback)

    def lost(self) -> None:
        for callback in self._callbacks:
            try:
                callback()
            except Exception:
                log.exception("loss callback failed")


# -- a subscriber connection, in plain RESP ------------------------------------------------
class _RespError(Exception):
    pass


def _command(*args: bytes | str) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


async def _read_reply(reader: asyncio.StreamReader) -> Any:
    line = await reader.readuntil(b"\r\n")
    kind, body = line[:1], line[1:-2]
    if kind == b"+":
        return body
    if kind == b"-":
        return _RespError(body.decode(errors="replace"))
    if kind == b":":
        return int(body)
    if kind == b"$":
        size = int(body)
        return None if size < 0 else (await reader.readexactly(size + 2))[:-2]
    if kind == b"*":
        size = int(body)
        return None if size < 0 else [await _read_reply(reader) for _ in range(size)]
    raise ConnectionError(f"unexpected reply from Redis: {line[:40]!r}")


class _Subscriber:
    """Holds the subscriptions; reconnects and resubscribes until closed."""

    def __init__(self, url: str, channel_prefix: str, on_message: Callable[[bytes], None]):
        parts = urlsplit(url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 6379
        self._username = unquote(parts.username) if parts.username else None
        self._password = unquote(parts.password) if parts.password else None
        self._ssl = parts.scheme == "rediss"
        self._channel_prefix = channel_prefix.encode()
        self._on_message = on_message
        self.channels: set[bytes] = set()
        self._waiting: dict[bytes, list[asyncio.Future[None]]] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._last_rx = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.up = False
        self.became_up = asyncio.Event()
        self.connects = 0
        self.on_reconnect: Callable[[], None] = lambda: None

    def channel(self, topic: str) -> bytes:
        return self._channel_prefix + topic.encode()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="redis-subscriber")

    async def subscribe(self, topic: str) -> None:
        channel = self.channel(topic)
        self.channels.add(channel)
        if not self.up or self._writer is None:
            return  # subscribed on reconnect, followed by a loss check
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(channel, []).append(waiter)
        try:
            self._writer.write(_command("SUBSCRIBE", channel))
            await asyncio.wait_for(asyncio.shield(waiter), CONFIRM_S)
        except REDIS_ERRORS as exc:
            log.warning("subscription to %s not confirmed: %s", topic, str(exc) or repr(exc))

    async def unsubscribe(self, topic: str) -> None:
        channel = self.channel(topic)
        self.channels.discard(channel)
        if self.up and self._writer is not None:
            with contextlib.suppress(*REDIS_ERRORS):
                self._writer.write(_command("UNSUBSCRIBE", channel))

    async def close(self) -> None:
        self._closing = True
        if self._writer is not None:
            self._writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task

    async def _run(self) -> None:
        backoff = 0.1
        last_log = 0.0
        while not self._closing:
            try:
                await self._session()
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if time.monotonic() - last_log > 5.0:
                    last_log = time.monotonic()
                    log.warning("Redis subscriber connection lost (%s); reconnecting", exc)
            finally:
                self.up = False
                self._fail_waiters()
            if not self._closing:
                await asyncio.sleep(backoff * (1 + random.random() / 2))
                backoff = min(backoff * 2, 1.0)

    async def _session(self) -> None:
        context = ssl.create_default_context() if self._ssl else None
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self._host, self._port, ssl=context), COMMAND_TIMEOUT_S
        )
        self._writer = writer
        reading: asyncio.Task[None] | None = None
        pinging: asyncio.Task[None] | None = None
        try:
            if self._password is not None:
                auth = [self._username, self._password] if self._username else [self._password]
                writer.write(_command("AUTH", *auth))
                reply = await asyncio.wait_for(_read_reply(reader), COMMAND_TIMEOUT_S)
                if isinstance(reply, _RespError):
                    raise ConnectionError(f"Redis AUTH failed: {reply}")
            self._last_rx = time.monotonic()
            reading = asyncio.get_running_loop().create_task(self._read(reader))
            pinging = asyncio.get_running_loop().create_task(self._ping(writer))
            waiters = []
            channels = sorted(self.channels)
            for i in range(0, len(channels), SUBSCRIBE_CHUNK):
                chunk = channels[i : i + SUBSCRIBE_CHUNK]
                for channel in chunk:
                    waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                    self._waiting.setdefault(channel, []).append(waiter)
                    waiters.append(waiter)
                writer.write(_command("SUBSCRIBE", *chunk))
            if waiters:
                done: asyncio.Future[list[None]] = asyncio.gather(*waiters)
                watch: list[asyncio.Future[Any]] = [done, reading]
                await asyncio.wait(
                    watch, timeout=CONFIRM_S * 2, return_when=asyncio.FIRST_COMPLETED
                )
                if not done.done():
                    done.cancel()
                    raise ConnectionError("resubscription not confirmed")
            self.up = True
            self.became_up.set()
            self.connects += 1
            if self.connects > 1:
                log.info("Redis subscriber back: %d topics resubscribed", len(channels))
                self.on_reconnect()
            await reading
        finally:
            self.up = False
            self._writer = None
            for task in (reading, pinging):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            writer.close()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            reply = await _read_reply(reader)
            self._last_rx = time.monotonic()
            if not isinstance(reply, list) or not reply:
                if isinstance(reply, _RespError):
                    log.warning("Redis subscriber error: %s", reply)
                continue
            kind = reply[0]
            if kind == b"message" and len(reply) == 3:
                try:
                    self._on_message(reply[2])
                except Exception:
                    log.exception("could not deliver a publication")
            elif kind == b"subscribe":
                waiters = self._waiting.get(reply[1])
                if waiters:
                    waiter = waiters.pop(0)
                    if not waiters:
                        del self._waiting[reply[1]]
                    if not waiter.done():
                        waiter.set_result(None)
        # unsubscribe confirmations and pongs only refresh _last_rx

    async def _ping(self, writer: asyncio.StreamWriter) -> None:
        while True:
            await asyncio.sleep(PING_S)
            if time.monotonic() - self._last_rx > SILENT_S:
                log.warning("Redis subscriber silent for %.0f s: reconnecting", SILENT_S)
                writer.close()
                return
            writer.write(_command("PING"))

    def _fail_waiters(self) -> None:
        waiting, self._waiting = self._waiting, {}
        for waiters in waiting.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(ConnectionError("Redis connection lost"))
                    waiter.exception()  # retrieved: no "never retrieved" warning


# -- the bus --------------------------------------------------------------------------------
class RedisBus:
    """At-most-once pub/sub across nodes; holes are the hub's to fill from the store."""

    def __init__(self, client: aioredis.Redis, url: str, prefix: str, health: _Health):
        self._redis = client
        self._health = health
        self._prefix = prefix
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(BusMessage)
        self._deliver: Deliver | None = None
        self._sub = _Subscriber(url, f"{prefix}:t:", self._received)
        self._sub.on_reconnect = self._reconnected
        self.stream_source: _StoreSource | None = None
        self.published = 0
        self.dropped = 0

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._sub.start()
        # The node accepts connections only once subscriptions can be confirmed.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._sub.became_up.wait(), CONFIRM_S)

    def _received(self, data: bytes) -> None:
        try:
            message = self._decoder.decode(data)
        except msgspec.DecodeError:
            log.warning("undecodable publication (%d bytes) ignored", len(data))
            return
        if self._deliver is not None:
            self._deliver(message)

    def _reconnected(self) -> None:
        if self.stream_source is not None:
            self.stream_source.lost()

    async def publish(self, message: BusMessage) -> None:
        channel = self._sub.channel(message.topic)
        sent = False
        if self._health.ok():
            started = time.monotonic()
            try:
                data = self._encoder.encode(message)
                await asyncio.wait_for(self._redis.publish(channel, data), COMMAND_TIMEOUT_S)
                sent = True
                self.published += 1
            except REDIS_ERRORS as exc:
                self._health.failed("publish", exc)
            took = time.monotonic() - started
            if took > 0.5:
                log.warning("slow Redis publish: %.2f s (%s)", took, "sent" if sent else "dropped")
        if not sent:
            self.dropped += 1
        # While our own subscription is down, this node's subscribers get it from here
        # (seqs are deduplicated by the hub; a repeated typing or presence hint is harmless).
        local = not sent or not self._sub.up
        if local and self._deliver is not None and channel in self._sub.channels:
            self._deliver(message)

    async def subscribe(self, topic: str) -> None:
        await self._sub.subscribe(topic)

    async def unsubscribe(self, topic: str) -> None:
        await self._sub.unsubscribe(topic)

    async def close(self) -> None:
        await self._sub.close()
        self._deliver = None


# -- presence -------------------------------------------------------------------------------
_ADD = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  if redis.call('HINCRBY', KEYS[2], ARGV[2], 1) == 1 then return 1 end
end
return 0
"""

_REMOVE = """
if redis.call('SREM', KEYS[1], ARGV[1]) == 1 then
  if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then
    redis.call('HDEL', KEYS[2], ARGV[2])
    return 1
  end
end
return 0
"""

# KEYS: node key, nodes set, swept marker; ARGV: ttl ms, node id.
# 0: alive; 1: the key was gone (first beat, or Redis lost its data); 2: we had been swept.
_HEARTBEAT = """
local existed = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
if existed == 1 then return 0 end
if redis.call('DEL', KEYS[3]) == 1 then return 2 end
return 1
"""

# KEYS: node key, nodes set, node's rooms, node's online users, swept marker, online hash
# ARGV: prefix, node id, mark swept ("1"/"0"). Returns {left "room:user"..., offline users...}
_SWEEP = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {{}, {}} end
local left, offline = {}, {}
for _, m in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local sep = string.find(m, ':', 1, true)
  local h = ARGV[1] .. ':room:' .. string.sub(m, 1, sep - 1)
  local user = string.sub(m, sep + 1)
  if redis.call('HINCRBY', h, user, -1) <= 0 then
    redis.call('HDEL', h, user)
    table.insert(left, m)
  end
end
for _, u in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  if redis.call('HINCRBY', KEYS[6], u, -1) <= 0 then
    redis.call('HDEL', KEYS[6], u)
    table.insert(offline, u)
  end
end
redis.call('DEL', KEYS[3], KEYS[4])
redis.call('SREM', KEYS[2], ARGV[2])
if ARGV[3] == '1' then redis.call('SET', KEYS[5], '1', 'EX', 3600) end
return {left, offline}
"""


class RedisPresence:
    """Room membership and online status across nodes, with node liveness."""

    def __init__(
        self,
        client: aioredis.Redis,
        prefix: str,
        node_id: str,
        health: _Health,
        view: _NodeView,
    ) -> None:
        self._redis = client
        self._p = prefix
        self._node = node_id
        self._health = health
        self._view = view
        self._add = client.register_script(_ADD)
        self._remove = client.register_script(_REMOVE)
        self._beat = client.register_script(_HEARTBEAT)
        self._sweep = client.register_script(_SWEEP)
        self._rooms: dict[int, set[int]] = {}  # this node's own entries (the truth for it)
        self._online: set[int] = set()
        self._lock = asyncio.Lock()  # one writer of this node's entries at a time
        self._tasks: list[asyncio.Task[None]] = []
        self._spawned: set[asyncio.Task[None]] = set()
        self.swept_nodes = 0

    # keys

    def attach_runtime(self, runtime: Runtime) -> None:
        """Announcements and backfills made by Redis (dead-node sweeps, resyncs) then use the
        node's own Runtime: its settings, presence and caches, not a partial stand-in."""
        self._view.runtime = runtime

    def _k_node(self, node: str) -> str:
        return f"{self._p}:node:{node}"

    def _k_rooms_of(self, node: str) -> str:
        return f"{self._p}:nr:{node}"

    def _k_online_of(self, node: str) -> str:
        return f"{self._p}:no:{node}"

    def _k_room(self, room_id: int | str) -> str:
        return f"{self._p}:room:{room_id}"

    @property
    def _k_nodes(self) -> str:
        return f"{self._p}:nodes"

    @property
    def _k_online(self) -> str:
        return f"{self._p}:online"

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._heartbeat_loop(), name="presence-heartbeat"),
            loop.create_task(self._sweep_loop(), name="presence-sweep"),
        ]

    async def _try(self, what: str, call: Awaitable[Any]) -> tuple[bool, Any]:
        if not self._health.ok():
            if asyncio.iscoroutine(call):
                call.close()
            return False, None
        try:
            return True, await asyncio.wait_for(call, COMMAND_TIMEOUT_S)
        except REDIS_ERRORS as exc:
            self._health.failed(what, exc)
            return False, None

    # -- the Presence protocol -----------------------------------------------------------
    async def enter_room(self, room_id: int, user_id: int) -> bool:
        async with self._lock:
            here = self._rooms.setdefault(room_id, set())
            first_here = user_id not in here
            here.add(user_id)
            ok, result = await self._try(
                "enter",
                self._add(
                    keys=[self._k_rooms_of(self._node), self._k_room(room_id)],
                    args=[f"{room_id}:{user_id}", user_id],
                ),
            )
        return bool(result) if ok else first_here

    async def leave_room(self, room_id: int, user_id: int) -> bool:
        async with self._lock:
            here = self._rooms.get(room_id, set())
            was_here = user_id in here
            here.discard(user_id)
            if not here:
                self._rooms.pop(room_id, None)
            ok, result = await self._try(
                "leave",
                self._remove(
                    keys=[self._k_rooms_of(self._node), self._k_room(room_id)],
                    args=[f"{room_id}:{user_id}", user_id],
                ),
            )
        return bool(result) if ok else was_here

    async def members(self, room_id: int) -> list[int]:
        ok, result = await self._try("members", self._redis.hkeys(self._k_room(room_id)))
        if ok:
            return sorted(int(u) for u in result)
        return sorted(self._rooms.get(room_id, ()))

    async def counts(self, room_ids: Iterable[int]) -> dict[int, int]:
        ids = list(room_ids)
        if not ids:
            return {}

        async def read() -> list[Any]:
            async with self._redis.pipeline(transaction=False) as pipe:
                for rid in ids:
                    pipe.hlen(self._k_room(rid))
                result: list[Any] = await pipe.execute()
                return result

        ok, result = await self._try("counts", read())
        if ok:
            return {rid: int(n) for rid, n in zip(ids, result, strict=True)}
        return {rid: len(self._rooms.get(rid, ())) for rid in ids}

    async def set_online(self, user_id: int, online: bool) -> None:
        async with self._lock:
            (self._online.add if online else self._online.discard)(user_id)
            script = self._add if online else self._remove
            await self._try(
                "online",
                script(
                    keys=[self._k_online_of(self._node), self._k_online],
                    args=[user_id, user_id],
                ),
            )

    async def online(self, user_ids: Iterable[int]) -> set[int]:
        ids = list(user_ids)
        if not ids:
            return set()
        ok, result = await self._try("online", self._redis.hmget(self._k_online, ids))
        if ok:
            return {uid for uid, n in zip(ids, result, strict=True) if n is not None}
        return {u for u in ids if u in self._online}

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        # Leave cleanly: our entries go now rather than when our key expires.
        with contextlib.suppress(*REDIS_ERRORS):
            await asyncio.wait_for(self._redis.delete(self._k_node(self._node)), 1.0)
            await asyncio.wait_for(self._sweep_node(self._node, mark=False), 2.0)
        self._rooms.clear()
        self._online.clear()
        # The node closes the bus first, then this: release what both used.
        await self._view.engine.dispose()
        await self._redis.aclose()

    # -- liveness ------------------------------------------------------------------------
    async def _heartbeat_loop(self) -> None:
        try:
            await self._forget_previous_life()
        except Exception as exc:
            log.warning("could not clear this node's previous entries: %s", exc)
        while True:
            try:
                state = await asyncio.wait_for(
                    self._beat(
                        keys=[
                            self._k_node(self._node),
                            self._k_nodes,
                            f"{self._p}:swept:{self._node}",
                        ],
                        args=[int(NODE_TTL_S * 1000), self._node],
                    ),
                    COMMAND_TIMEOUT_S,
                )
                if state:
                    await self._resync(announce_joins=state == 2)
            except REDIS_ERRORS as exc:
                self._health.failed("heartbeat", exc)
            except Exception:
                log.exception("presence heartbeat failed")
            await asyncio.sleep(HEARTBEAT_S)

    async def _forget_previous_life(self) -> None:
        """A node restarted under the same id: what its previous process held is stale."""
        await self._redis.delete(self._k_node(self._node))
        left, offline = await self._sweep_node(self._node, mark=False)
        for room, user in left:
            await self._announce(room, user, False)
        for user in offline:
            await self._offline(user)

    async def _resync(self, announce_joins: bool) -> None:
        """Write this node's entries back (Redis lost them, or we were swept)."""
        async with self._lock:
            mine = {f"{r}:{u}" for r, users in self._rooms.items() for u in users}
            stored = {_text(m) for m in await self._redis.smembers(self._k_rooms_of(self._node))}
            joined: list[tuple[int, int]] = []
            left: list[tuple[int, int]] = []
            for member in sorted(mine - stored):
                room, user = (int(x) for x in member.split(":"))
                keys = [self._k_rooms_of(self._node), self._k_room(room)]
                if await self._add(keys=keys, args=[member, user]):
                    joined.append((room, user))
            for member in sorted(stored - mine):
                room, user = (int(x) for x in member.split(":"))
                keys = [self._k_rooms_of(self._node), self._k_room(room)]
                if await self._remove(keys=keys, args=[member, user]):
                    left.append((room, user))
            online_keys = [self._k_online_of(self._node), self._k_online]
            stored_online = {int(u) for u in await self._redis.smembers(online_keys[0])}
            for user in self._online - stored_online:
                await self._add(keys=online_keys, args=[user, user])
            for user in stored_online - self._online:
                await self._remove(keys=online_keys, args=[user, user])
        log.info(
            "presence written back to Redis: %d entries, %d online", len(mine), len(self._online)
        )
        if announce_joins:
            for room, user in joined:
                await self._announce(room, user, True)
        for room, user in left:
            await self._announce(room, user, False)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_S * (0.75 + random.random() / 2))
            if not self._health.ok():
                continue
            try:
                await self._sweep_dead()
            except REDIS_ERRORS as exc:
                self._health.failed("sweep", exc)
            except Exception:
                log.exception("presence sweep failed")

    async def _sweep_dead(self) -> None:
        nodes = [_text(n) for n in await self._redis.smembers(self._k_nodes)]
        others = [n for n in nodes if n != self._node]
        if not others:
            return
        alive = await self._redis.exists(*[self._k_node(n) for n in others])
        if alive == len(others):
            return
        for node in others:
            if await self._redis.exists(self._k_node(node)):
                continue
            left, offline = await self._sweep_node(node, mark=True)
            self.swept_nodes += 1
            log.warning(
                "node %s is gone: %d room presences and %d online users removed",
                node,
                len(left),
                len(offline),
            )
            for room, user in left:
                await self._announce(room, user, False)
            for user in offline:
                await self._offline(user)
            # It may have committed entries it never published.
            if self._view.bus.stream_source is not None:
                self._view.bus.stream_source.lost()

    async def _sweep_node(self, node: str, mark: bool) -> tuple[list[tuple[int, int]], list[int]]:
        result = await self._sweep(
            keys=[
                self._k_node(node),
                self._k_nodes,
                self._k_rooms_of(node),
                self._k_online_of(node),
                f"{self._p}:swept:{node}",
                self._k_online,
            ],
            args=[self._p, node, "1" if mark else "0"],
        )
        left_raw, offline_raw = result
        left = []
        for member in left_raw:
            room, user = (int(x) for x in _text(member).split(":"))
            left.append((room, user))
        return left, [int(u) for u in offline_raw]

    async def _announce(self, room_id: int, user_id: int, joined: bool) -> None:
        from cocon.actions.rooms import announce

        try:
            await announce(self._view.as_runtime(), room_id, user_id, joined)
        except Exception:
            log.warning("could not announce %s in room %s", user_id, room_id, exc_info=True)

    async def _offline(self, user_id: int) -> None:
        from cocon.actions.social import online_changed

        if user_id in self._online:
            return  # back through this node meanwhile
        try:
            await online_changed(self._view.as_runtime(), user_id, False)
        except Exception:
            log.warning("could not tell the friends of %s", user_id, exc_info=True)


async def connect(settings: Settings, node_id: str) -> tuple[RedisBus, RedisPresence]:
    """The bus and presence of node ``node_id`` on ``settings.redis_url``."""
    url, prefix = split_url(settings.redis_url)
    health = _Health()
    try:
        client = aioredis.Redis.from_url(
            url,
            socket_timeout=COMMAND_TIMEOUT_S,
            socket_connect_timeout=COMMAND_TIMEOUT_S,
            retry=Retry(NoBackoff(), 1),
            health_check_interval=0,
        )
    except ValueError as exc:
        raise ConfigError(f"invalid COCON_REDIS_URL: {exc}") from exc
    deadline = time.monotonic() + 10.0
    while True:
        try:
            await client.ping()
            break
        except REDIS_ERRORS as exc:
            if time.monotonic() > deadline:
                await client.aclose()
                raise ConfigError(f"cannot reach Redis at {urlsplit(url).netloc}: {exc}") from exc
            await asyncio.sleep(0.5)
    bus = RedisBus(client, url, prefix, health)
    view = _NodeView(engine=make_engine(settings.effective_database_url), bus=bus)
    bus.stream_source = _StoreSource(view)
    presence = RedisPresence(client, prefix, node_id, health, view)
    presence.start()
    log.info("node %s joined the Redis bus %s (prefix %r)", node_id, urlsplit(url).netloc, prefix)
    return bus, presence
