"""The load client: a process of its own, driven by JSON lines on stdin.

``python -m bench.loadclient '<config json>'`` where the config is
``{"proto": "cocon" | "irc", "port": P, "hard_timeout_s": T, "concurrency": C}``, plus
``"ports": [P1, P2, ...]`` for several Cocon nodes of one deployment (s6, s3 --nodes):
receivers (s3: users) are then spread round-robin over the nodes, fan-out senders stay on the
first one, and fan-out deliveries and latencies are also reported per node.
It then reads one command per line on stdin and answers one JSON line on stdout per command:

- ``{"cmd": "fanout_setup", "receivers": N, "senders": K}``: N receivers and K senders (1
  unless the server caps commands per connection) in one room.
- ``{"cmd": "burst", "messages": M, "timeout_s": T}``: the senders send M messages at once;
  the answer comes when the receivers got all N*M (or at the timeout).
- ``{"cmd": "steady", "rate": R, "duration_s": D, "timeout_s": T}``: R messages/s for D s;
  each receiver computes now - the timestamp the sender put in the text; the answer also
  gives each message's first and last delivery (when its fan-out began and ended arriving).
- ``{"cmd": "idle", "count": N, "timeout_s": T}``: N more connections, authenticated, idle.
- ``{"cmd": "chat_setup", "users": U, "rooms": K}``: U users spread over K rooms, paired in
  private conversations (IRC: channels, and private messages to the partner's nick).
- ``{"cmd": "chat_closed", "duration_s": D}``: everyone sends, one message in flight each.
  A message is accepted when Cocon acknowledges it (after its commit); an IRC server does
  not acknowledge, so every IRC message is followed by a ``PING`` and the ``PONG`` that
  answers it (the server handles a client's lines in order) stands for the ack.
- ``{"cmd": "chat_open", "rate": R, "duration_s": D}``: R messages/s spread over everyone;
  with ``"connects_per_s": C``, new guests also enter, connect, join a room and leave at C a
  second meanwhile (a connect storm beside the chat: their connect times are reported).
- ``{"cmd": "quit"}``.

Only 127.0.0.1 is ever contacted. Cocon connections use picows (a C WebSocket client), IRC
ones raw asyncio protocols; deliveries are counted by scanning bytes, not by decoding JSON.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import sys
import time
from array import array
from collections.abc import Awaitable, Callable
from typing import Any, cast

import msgspec
from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

from bench.procstat import raise_nofile

HOST = "127.0.0.1"
MARK = b" T="  # the sender's timestamp in the text: "... T=<unix time>#"
MSG_PREFIX = b'{"type":"msg"'
IRC_REFUSALS = frozenset({b"401", b"403", b"404"})  # no such nick / channel, cannot send
SKIP_PREFIXES = (b'{"type":"presence"', b'{"type":"counts"', b'{"type":"typing"')


class BenchError(RuntimeError):
    pass


# A Cocon arrival's steps, each timed to its end: its turn among the connects under way
# (the client's own limit), the HTTP enter, the WebSocket upgrade, hello to welcome, join
# to joined.
CONNECT_STEPS = ("queue", "enter", "upgrade", "hello", "join")


def _ignore(_: float) -> None:
    pass


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, round(q / 100.0 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


class Counter:
    """Deliveries seen by the counting connections; optional latency samples (ms)."""

    def __init__(self) -> None:
        self.deliveries = 0
        self.target = 0
        self.done: asyncio.Future[float] | None = None
        self.latencies: array[float] | None = None
        # When armed per message: beside each latency sample, the send time of its message.
        self.sent: array[float] | None = None
        self.disconnects = 0
        self.errors = 0
        self.error_codes: dict[str, int] = {}
        self.acks = 0
        # Per node (index into the load client's ports): deliveries and latency samples.
        self.node_deliveries: list[int] = []
        self.node_latencies: list[array[float]] | None = None

    def arm(self, target: int, latency: bool, per_message: bool = False) -> asyncio.Future[float]:
        self.deliveries = 0
        self.target = target
        self.latencies = array("d") if latency else None
        self.sent = array("d") if latency and per_message else None
        self.node_deliveries = [0] * len(self.node_deliveries)
        several = latency and len(self.node_deliveries) > 1
        self.node_latencies = [array("d") for _ in self.node_deliveries] if several else None
        self.done = asyncio.get_running_loop().create_future()
        return self.done

    def add(self, n: int) -> None:
        self.deliveries += n
        if self.deliveries >= self.target > 0 and self.done is not None and not self.done.done():
            self.done.set_result(time.monotonic())

    def error(self, code: str) -> None:
        self.errors += 1
        self.error_codes[code] = self.error_codes.get(code, 0) + 1

    def latency_summary(self) -> dict[str, float]:
        out = summarize(self.latencies)
        if self.sent and self.latencies is not None:
            out.update(per_message(self.sent, self.latencies))
        return out

    def per_node(self, receivers: list[int]) -> list[dict[str, float]]:
        """Deliveries (and latencies, if armed so) per node, when there are several."""
        if len(self.node_deliveries) < 2:
            return []
        out: list[dict[str, float]] = []
        for i, n in enumerate(self.node_deliveries):
            row: dict[str, float] = {"node": i + 1, "receivers": receivers[i], "deliveries": n}
            if self.node_latencies is not None:
                row.update(summarize(self.node_latencies[i]))
            out.append(row)
        return out


def summarize(latencies: array[float] | None) -> dict[str, float]:
    if latencies is None or not latencies:
        return {}
    values = sorted(latencies)
    return {
        "latency_samples": float(len(values)),
        "latency_p50_ms": percentile(values, 50),
        "latency_p90_ms": percentile(values, 90),
        "latency_p99_ms": percentile(values, 99),
        "latency_max_ms": values[-1],
    }


def per_message(sent: array[float], latencies: array[float]) -> dict[str, float]:
    """Each message's first and last delivery (ms after it was sent), told apart by their
    send times: how soon its fan-out began to arrive, and when all of it had."""
    first: dict[float, float] = {}
    last: dict[float, float] = {}
    for t, ms in zip(sent, latencies, strict=True):
        if ms < first.get(t, math.inf):
            first[t] = ms
        if ms > last.get(t, -math.inf):
            last[t] = ms
    firsts, lasts = sorted(first.values()), sorted(last.values())
    return {
        "latency_first_p50_ms": percentile(firsts, 50),
        "latency_first_p99_ms": percentile(firsts, 99),
        "latency_last_p50_ms": percentile(lasts, 50),
        "latency_last_p99_ms": percentile(lasts, 99),
    }


def record_latencies(block: bytes, lat: array[float], sent: array[float] | None = None) -> None:
    """A latency sample (ms) per timestamp in ``block``; its send time too into ``sent``."""
    now = time.time()
    i = block.find(MARK)
    while i >= 0:
        j = block.find(b"#", i)
        if j < 0:
            break
        with contextlib.suppress(ValueError):
            t = float(block[i + 3 : j])
            lat.append((now - t) * 1000.0)
            if sent is not None:
                sent.append(t)
        i = block.find(MARK, j)


# ---------------------------------------------------------------- Cocon (picows) ---


class CoconConn(WSListener):
    """One Cocon WebSocket. Counts ``msg`` frames when ``counting``; other frames go to waiters."""

    def __init__(self, counter: Counter) -> None:
        self.counter = counter
        self.counting = False
        self.transport: WSTransport | None = None
        self.waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.type_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.closed = False
        self.on_ack: Callable[[CoconConn], None] | None = None
        self.user_id = 0
        self.next_ref = 0
        self.node = 0  # index of the node (load client port) this connection is on

    # picows callbacks
    def on_ws_connected(self, transport: WSTransport) -> None:
        self.transport = transport

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        # The payload is looked at before the frame type: reading ``msg_type`` builds an enum
        # member (~0.2 µs, a fifth of this method in a burst). Cocon sends its events as text
        # frames only, and neither a close nor a pong payload starts with MSG_PREFIX.
        data = frame.get_payload_as_bytes()
        if data.startswith(MSG_PREFIX):
            self._msg(data)
            return
        msg_type = frame.msg_type
        if msg_type is not WSMsgType.TEXT:
            if msg_type is WSMsgType.CLOSE:
                transport.disconnect()
            return
        if data.startswith(SKIP_PREFIXES):
            return
        try:
            event = msgspec.json.decode(data)
        except msgspec.DecodeError:
            return
        if not isinstance(event, dict):
            return
        kind = event.get("type")
        if kind == "msg":
            self._msg(data)
            return
        if kind == "ack":
            self.counter.acks += 1
            if self.on_ack is not None:
                self.on_ack(self)
        ref = event.get("ref")
        fut = self.waiters.pop(ref, None) if isinstance(ref, str) else None
        if fut is None and isinstance(kind, str):
            fut = self.type_waiters.pop(kind, None)
        if kind == "error":
            self.counter.error(str(event.get("code")))
            if fut is not None and not fut.done():
                fut.set_exception(BenchError(f"error {event.get('code')}: {event.get('message')}"))
            elif self.on_ack is not None:
                self.on_ack(self)  # a refused send: go on with the next one
            return
        if fut is not None and not fut.done():
            fut.set_result(event)

    def _msg(self, data: bytes) -> None:
        if not self.counting:
            return
        c = self.counter
        if c.latencies is not None:
            record_latencies(data, c.latencies, c.sent)
            if c.node_latencies is not None:
                record_latencies(data, c.node_latencies[self.node])
        if c.node_deliveries:
            c.node_deliveries[self.node] += 1
        c.add(1)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self.closed = True
        self.counter.disconnects += 1
        for fut in [*self.waiters.values(), *self.type_waiters.values()]:
            if not fut.done():
                fut.set_exception(BenchError("disconnected"))
        self.waiters.clear()
        self.type_waiters.clear()

    # commands
    def send_raw(self, payload: bytes) -> None:
        assert self.transport is not None
        self.transport.send(WSMsgType.TEXT, payload)

    async def request(
        self, command: dict[str, Any], wait_s: float, reply_type: str | None = None
    ) -> dict[str, Any]:
        self.next_ref += 1
        ref = f"r{self.next_ref}"
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[dict[str, Any]] = loop.create_future()
        self.waiters[ref] = fut
        if reply_type is not None:
            self.type_waiters[reply_type] = fut
        self.send_raw(msgspec.json.encode({**command, "ref": ref}))
        try:
            return await asyncio.wait_for(fut, wait_s)
        finally:
            self.waiters.pop(ref, None)
            if reply_type is not None and self.type_waiters.get(reply_type) is fut:
                del self.type_waiters[reply_type]


class CoconClient:
    """Enters guests over HTTP and opens their WebSockets."""

    def __init__(
        self,
        port: int,
        concurrency: int,
        counter: Counter,
        node: int = 0,
        sem: asyncio.Semaphore | None = None,
    ) -> None:
        self.port = port
        self.node = node
        self.base = f"http://{HOST}:{port}"
        self.url = f"ws://{HOST}:{port}/ws"
        self.sem = sem or asyncio.Semaphore(concurrency)
        self.counter = counter
        self.session: Any = None
        self.rooms: list[int] = []

    async def open(self) -> None:
        import aiohttp

        conn = aiohttp.TCPConnector(limit=0, force_close=False)
        self.session = aiohttp.ClientSession(connector=conn, cookie_jar=aiohttp.DummyCookieJar())

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def enter(self, pseudo: str) -> tuple[int, str]:
        body = {"pseudo": pseudo, "gender": "autre", "age": 30, "postal_code": "75011"}
        async with self.session.post(f"{self.base}/api/enter", json=body) as resp:
            data = await resp.json(content_type=None)
            if resp.status != 200:
                raise BenchError(f"enter {pseudo}: HTTP {resp.status} {data}")
        return int(data["user"]["id"]), str(data["token"])

    async def connect(
        self,
        pseudo: str,
        room: int | None,
        wait_s: float = 60.0,
        marks: list[float] | None = None,
    ) -> CoconConn:
        """A guest entered, connected, welcomed and (if ``room``) joined. ``marks``: the
        monotonic time at the end of each of :data:`CONNECT_STEPS` is appended to it."""
        mark = marks.append if marks is not None else _ignore
        async with self.sem:
            mark(time.monotonic())
            user_id, token = await self.enter(pseudo)
            mark(time.monotonic())
            _, listener = await ws_connect(
                lambda: CoconConn(self.counter),
                self.url,
                websocket_handshake_timeout=wait_s,
                use_aiofastnet=False,  # uvloop's own TCP transport, as the IRC connections
            )
            assert isinstance(listener, CoconConn)
            conn = listener
            conn.user_id = user_id
            conn.node = self.node
            mark(time.monotonic())
            welcome = await conn.request({"type": "hello", "token": token}, wait_s, "welcome")
            mark(time.monotonic())
            if not self.rooms:
                self.rooms = [int(r["id"]) for r in welcome.get("rooms", [])]
            if room is not None:
                await conn.request({"type": "join", "room": room}, wait_s, "joined")
            mark(time.monotonic())
            return conn

    async def room_id(self, index: int = 0) -> int:
        if not self.rooms:
            conn = await self.connect("bench_probe", None)
            assert conn.transport is not None
            conn.transport.disconnect()
        if not self.rooms:
            raise BenchError("welcome listed no room")
        return self.rooms[index % len(self.rooms)]

    @staticmethod
    def send_frame(stream: str, seq: int, prefix: str = "c") -> bytes:
        text = f"bench {seq} T={time.time():.6f}#"
        return b'{"type":"send","stream":"%s","cid":"%s%d","text":"%s"}' % (
            stream.encode(),
            prefix.encode(),
            seq,
            text.encode(),
        )


# ---------------------------------------------------------------- IRC (asyncio) ---


class IrcConn(asyncio.Protocol):
    """One IRC client. Counts PRIVMSG lines when ``counting``; waits on numerics otherwise."""

    def __init__(self, nick: str, counter: Counter) -> None:
        self.nick = nick
        self.nick_b = nick.encode()
        self.counter = counter
        self.counting = False
        self.partial = b""
        self.transport: asyncio.Transport | None = None
        self.waiting: bytes | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.on_ack: Callable[[IrcConn], None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        tr = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        self.transport = tr
        tr.write(b"NICK %s\r\nUSER %s 0 * :bench\r\n" % (self.nick_b, self.nick_b))

    def data_received(self, data: bytes) -> None:
        if self.partial:
            data = self.partial + data
        end = data.rfind(b"\n") + 1
        if end == 0:
            self.partial = data
            return
        if end < len(data):
            self.partial = data[end:]
            block = data[:end]
        else:
            self.partial = b""
            block = data
        if b"PING " in block:
            self._pings(block)
        if b" PONG " in block:  # the answers to the PING after each chat message
            self._pongs(block.count(b" PONG "))
        if b" 40" in block:
            self._refusals(block)
        if self.counting:
            n = block.count(b" PRIVMSG ")
            if n:
                c = self.counter
                if c.latencies is not None:
                    record_latencies(block, c.latencies, c.sent)
                c.add(n)
        if self.waiting is not None and self.waiter is not None:
            if self.waiting in block:
                self.waiting = None
                if not self.waiter.done():
                    self.waiter.set_result(None)
            elif (b" 433 " in block or b"ERROR " in block) and not self.waiter.done():
                self.waiter.set_exception(BenchError(block[-300:].decode(errors="replace")))

    def _pongs(self, n: int) -> None:
        self.counter.acks += n
        if self.on_ack is not None:
            for _ in range(n):
                self.on_ack(self)

    def _refusals(self, block: bytes) -> None:
        """Count the server's refusals of a message (no such nick or channel, cannot send)."""
        for line in block.split(b"\r\n"):
            parts = line.split(b" ", 2)
            if len(parts) > 1 and parts[1] in IRC_REFUSALS:
                self.counter.error(parts[1].decode())

    def _pings(self, block: bytes) -> None:
        assert self.transport is not None
        for line in block.split(b"\r\n"):
            if line.startswith(b"PING "):
                self.transport.write(b"PONG " + line[5:] + b"\r\n")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.counter.disconnects += 1
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(BenchError("disconnected"))

    async def wait_for(self, token: bytes, wait_s: float) -> None:
        self.waiter = asyncio.get_running_loop().create_future()
        self.waiting = token
        await asyncio.wait_for(self.waiter, wait_s)

    def write(self, data: bytes) -> None:
        assert self.transport is not None
        self.transport.write(data)


class IrcClient:
    def __init__(self, port: int, concurrency: int, counter: Counter) -> None:
        self.port = port
        self.sem = asyncio.Semaphore(concurrency)
        self.counter = counter

    async def connect(self, nick: str, channel: str | None, wait_s: float = 60.0) -> IrcConn:
        """Register (and join); retried: ngIRCd's small listen backlog resets some connects."""
        async with self.sem:
            for attempt in range(5):
                try:
                    return await self._connect(nick, channel, wait_s)
                except (OSError, BenchError):
                    if attempt == 4:
                        raise
                    await asyncio.sleep(0.2 * (attempt + 1))
        raise BenchError("unreachable")

    async def _connect(self, nick: str, channel: str | None, wait_s: float) -> IrcConn:
        loop = asyncio.get_running_loop()
        conn = IrcConn(nick, self.counter)
        # The welcome burst ends with 376 (end of MOTD; ngIRCd has a MotdPhrase here).
        conn.waiter = loop.create_future()
        conn.waiting = b" 376 " + conn.nick_b + b" "
        await loop.create_connection(lambda: conn, HOST, self.port)
        try:
            await asyncio.wait_for(conn.waiter, wait_s)
            if channel is not None:
                conn.write(b"JOIN %s\r\n" % channel.encode())
                await conn.wait_for(b" 366 " + conn.nick_b + b" ", wait_s)
        except BaseException:
            if conn.transport is not None:
                conn.transport.close()
            raise
        return conn

    @staticmethod
    def send_line(channel: str, seq: int) -> bytes:
        return b"PRIVMSG %s :bench %d T=%.6f#\r\n" % (channel.encode(), seq, time.time())

    @staticmethod
    def chat_line(target: str, seq: int) -> bytes:
        """A chat message to a channel or a nick, then the PING whose PONG acknowledges it."""
        return IrcClient.send_line(target, seq) + b"PING :a\r\n"


# ---------------------------------------------------------------- the driver ---

Conn = CoconConn | IrcConn


async def _finished(done: asyncio.Future[float], timeout_s: float) -> tuple[float, bool]:
    """When the last expected delivery arrived, and whether it did before ``timeout_s``."""
    try:
        return await asyncio.wait_for(asyncio.shield(done), timeout_s), True
    except TimeoutError:
        return time.monotonic(), False


class Driver:
    def __init__(self, config: dict[str, Any]) -> None:
        self.proto = str(config["proto"])
        self.port = int(config["port"])
        # ngIRCd listens with a small backlog: few parallel connects there.
        default = 64 if self.proto == "cocon" else 8
        self.concurrency = int(config.get("concurrency") or default)
        self.counter = Counter()
        self.cocon = CoconClient(self.port, self.concurrency, self.counter)
        # Several nodes of one Cocon deployment (s6): one client per node, one connect budget.
        ports = [int(p) for p in config.get("ports") or [self.port]]
        self.cocons = [self.cocon] + [
            CoconClient(p, self.concurrency, self.counter, node=i + 1, sem=self.cocon.sem)
            for i, p in enumerate(ports[1:])
        ]
        if len(self.cocons) > 1:
            self.counter.node_deliveries = [0] * len(self.cocons)
        self.receivers_per_node = [0] * len(self.cocons)
        self.irc = IrcClient(self.port, self.concurrency, self.counter)
        self.receivers: list[Conn] = []
        self.senders: list[Conn] = []
        self.idle: list[Conn] = []
        self.stream = ""  # Cocon stream or IRC channel of the fan-out room
        self.users: list[Conn] = []
        self.user_streams: list[list[str]] = []  # Cocon streams, or IRC channel and nick
        self.chat_rooms: list[str] = []  # IRC channels of the chat mix
        self.seq = 0

    async def start(self) -> None:
        if self.proto == "cocon":
            for client in self.cocons:
                await client.open()

    async def stop(self) -> None:
        for conn in [*self.receivers, *self.idle, *self.users]:
            self._close(conn)
        for conn in self.senders:
            self._close(conn)
        for client in self.cocons:
            await client.close()

    @staticmethod
    def _close(conn: Conn) -> None:
        if isinstance(conn, CoconConn):
            if conn.transport is not None and not conn.closed:
                conn.transport.disconnect()
        elif conn.transport is not None:
            conn.transport.close()

    async def _gather(self, coros: list[Awaitable[Conn]], wait_s: float) -> list[Conn]:
        tasks = [asyncio.ensure_future(c) for c in coros]
        try:
            return list(await asyncio.wait_for(asyncio.gather(*tasks), wait_s))
        except BaseException:
            for t in tasks:
                t.cancel()
            raise

    # -- fan-out (s1, s2, s5)
    async def fanout_setup(
        self, receivers: int, senders: int, timeout_s: float = 300.0
    ) -> dict[str, Any]:
        """Receivers then senders join one room; only the receivers count deliveries.

        With several nodes, receiver i is on node i mod nodes; the senders on the first node.
        """
        t0 = time.monotonic()
        if self.proto == "cocon":
            room = await self.cocon.room_id(0)
            self.stream = f"room:{room}"
            nodes = self.cocons
            conns = await self._gather(
                [nodes[i % len(nodes)].connect(f"rcv{i}", room) for i in range(receivers)],
                timeout_s,
            )
            for i in range(receivers):
                self.receivers_per_node[i % len(nodes)] += 1
            self.senders = await self._gather(
                [self.cocon.connect(f"snd{i}", room) for i in range(senders)], timeout_s
            )
        else:
            self.stream = "#bench"
            conns = await self._gather(
                [self.irc.connect(f"r{i}", self.stream) for i in range(receivers)], timeout_s
            )
            self.senders = await self._gather(
                [self.irc.connect(f"s{i}", self.stream) for i in range(senders)], timeout_s
            )
        self.receivers = conns
        for conn in conns:
            conn.counting = True
        await asyncio.sleep(0.5)  # let the last presence/JOIN notices drain
        out: dict[str, Any] = {
            "receivers": len(conns),
            "senders": len(self.senders),
            "setup_s": time.monotonic() - t0,
        }
        if len(self.cocons) > 1:
            out["receivers_per_node"] = list(self.receivers_per_node)
        return out

    def _send_one(self) -> None:
        self.seq += 1
        sender = self.senders[self.seq % len(self.senders)]
        if isinstance(sender, CoconConn):
            sender.send_raw(CoconClient.send_frame(self.stream, self.seq))
        else:
            sender.write(IrcClient.send_line(self.stream, self.seq))

    def _live_receivers(self) -> int:
        return sum(1 for c in self.receivers if not c.closed)

    async def burst(self, messages: int, timeout_s: float) -> dict[str, Any]:
        expected = len(self.receivers) * messages
        done = self.counter.arm(expected, latency=False)
        acks0 = self.counter.acks
        disc0 = self.counter.disconnects
        t0 = time.monotonic()
        for _ in range(messages):
            self._send_one()
        t_sent = time.monotonic()
        t_end, complete = await _finished(done, timeout_s)
        elapsed = t_end - t0
        return {
            "messages": messages,
            "expected": expected,
            "deliveries": self.counter.deliveries,
            "complete": complete,
            "elapsed_s": elapsed,
            "send_s": t_sent - t0,
            "deliveries_per_s": self.counter.deliveries / elapsed if elapsed > 0 else 0.0,
            "acks": self.counter.acks - acks0,
            "disconnects": self.counter.disconnects - disc0,
            "errors": dict(self.counter.error_codes),
            **self._per_node(),
        }

    def _per_node(self) -> dict[str, Any]:
        rows = self.counter.per_node(self.receivers_per_node)
        return {"per_node": rows} if rows else {}

    async def steady(self, rate: float, duration_s: float, timeout_s: float) -> dict[str, Any]:
        total = max(1, round(rate * duration_s))
        expected = len(self.receivers) * total
        done = self.counter.arm(expected, latency=True, per_message=True)
        disc0 = self.counter.disconnects
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        w0 = time.monotonic()
        interval = 1.0 / rate
        for k in range(total):
            delay = t0 + k * interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._send_one()
        send_s = time.monotonic() - w0
        t_end, complete = await _finished(done, timeout_s)
        elapsed = t_end - w0
        return {
            "messages": total,
            "rate": rate,
            "send_s": send_s,
            "expected": expected,
            "deliveries": self.counter.deliveries,
            "complete": complete,
            "elapsed_s": elapsed,
            "deliveries_per_s": self.counter.deliveries / elapsed if elapsed > 0 else 0.0,
            "disconnects": self.counter.disconnects - disc0,
            "errors": dict(self.counter.error_codes),
            **self.counter.latency_summary(),
            **self._per_node(),
        }

    # -- idle connections (s4)
    async def idle_connect(self, count: int, timeout_s: float) -> dict[str, Any]:
        t0 = time.monotonic()
        start = len(self.idle)
        if self.proto == "cocon":
            coros: list[Awaitable[Conn]] = [
                self.cocon.connect(f"idl{start + i}", None) for i in range(count)
            ]
        else:
            coros = [self.irc.connect(f"i{start + i}", None) for i in range(count)]
        conns = await self._gather(coros, timeout_s)
        self.idle.extend(conns)
        return {"connected": len(conns), "total": len(self.idle), "setup_s": time.monotonic() - t0}

    # -- chat mix (s3)
    async def chat_setup(self, users: int, rooms: int, timeout_s: float) -> dict[str, Any]:
        """User i joins room i mod K; users 2j and 2j+1 talk in private too. With several
        nodes, user i is on node i mod N (so each private pair spans two nodes)."""
        if self.proto != "cocon":
            return await self._irc_chat_setup(users, rooms, timeout_s)
        t0 = time.monotonic()
        await self.cocon.room_id(0)
        room_ids = self.cocon.rooms[:rooms]
        nodes = self.cocons
        conns = await self._gather(
            [
                nodes[i % len(nodes)].connect(f"usr{i}", room_ids[i % len(room_ids)])
                for i in range(users)
            ],
            timeout_s,
        )
        self.users = conns
        self.user_streams = [[f"room:{room_ids[i % len(room_ids)]}"] for i in range(users)]

        async def pair(a: int, b: int) -> None:
            ca, cb = self.users[a], self.users[b]
            assert isinstance(ca, CoconConn) and isinstance(cb, CoconConn)
            reply = await ca.request({"type": "open_pm", "user": cb.user_id}, 60.0)
            conv = reply["conversation"]
            await asyncio.sleep(0)
            await cb.request(
                {"type": "answer_pm", "conversation": int(conv["id"]), "accept": True}, 60.0
            )
            self.user_streams[a].append(str(conv["stream"]))
            self.user_streams[b].append(str(conv["stream"]))

        sem = asyncio.Semaphore(self.concurrency)

        async def bounded(a: int, b: int) -> None:
            async with sem:
                await pair(a, b)

        await asyncio.wait_for(
            asyncio.gather(*(bounded(i, i + 1) for i in range(0, len(self.users) - 1, 2))),
            timeout_s,
        )
        for conn in self.users:
            conn.counting = True
        await asyncio.sleep(0.5)
        out: dict[str, Any] = {
            "users": len(self.users),
            "rooms": len(room_ids),
            "setup_s": time.monotonic() - t0,
        }
        if len(nodes) > 1:
            out["users_per_node"] = [len(range(i, users, len(nodes))) for i in range(len(nodes))]
        return out

    async def _irc_chat_setup(self, users: int, rooms: int, timeout_s: float) -> dict[str, Any]:
        """The same mix on IRC: a channel per room; a private conversation needs no set-up
        there, its messages go to the partner's nick."""
        t0 = time.monotonic()
        self.chat_rooms = [f"#c{k}" for k in range(rooms)]
        self.users = await self._gather(
            [self.irc.connect(f"u{i}", self.chat_rooms[i % rooms]) for i in range(users)],
            timeout_s,
        )
        self.user_streams = [
            [self.chat_rooms[i % rooms], *([f"u{i ^ 1}"] if i ^ 1 < users else [])]
            for i in range(users)
        ]
        for conn in self.users:
            conn.counting = True
        await asyncio.sleep(0.5)
        return {"users": len(self.users), "rooms": rooms, "setup_s": time.monotonic() - t0}

    def _chat_send(self, index: int, conn: Conn, rng: random.Random) -> None:
        streams = self.user_streams[index]
        stream = streams[1] if len(streams) > 1 and rng.random() < 0.2 else streams[0]
        self.seq += 1
        if isinstance(conn, CoconConn):
            conn.send_raw(CoconClient.send_frame(stream, self.seq, prefix=f"u{index}-"))
        else:
            conn.write(IrcClient.chat_line(stream, self.seq))

    async def chat_closed(self, duration_s: float) -> dict[str, Any]:
        """Saturation: every user keeps exactly one message in flight."""
        rng = random.Random(1)
        running = True
        index_of = {id(c): i for i, c in enumerate(self.users)}
        self.counter.arm(0, latency=False)
        acks0, errs0 = self.counter.acks, self.counter.errors

        def next_send(conn: Conn) -> None:
            if running and not conn.closed:
                self._chat_send(index_of[id(conn)], conn, rng)

        for i, conn in enumerate(self.users):
            conn.on_ack = next_send
            self._chat_send(i, conn, rng)
        t0 = time.monotonic()
        await asyncio.sleep(duration_s)
        running = False
        elapsed = time.monotonic() - t0
        acks = self.counter.acks - acks0
        deliveries = self.counter.deliveries
        for conn in self.users:
            conn.on_ack = None
        await asyncio.sleep(2.0)  # let the in-flight messages land
        return {
            "accepted": acks,
            "elapsed_s": elapsed,
            "accepted_msgs_per_s": acks / elapsed,
            "deliveries": deliveries,
            "deliveries_per_s": deliveries / elapsed,
            "errors": self.counter.errors - errs0,
            "error_codes": dict(self.counter.error_codes),
            "disconnects": self.counter.disconnects,
        }

    async def chat_open(
        self, rate: float, duration_s: float, connects_per_s: float = 0.0
    ) -> dict[str, Any]:
        """Open loop: ``rate`` messages/s, round-robin over shuffled users; latency of all.
        With ``connects_per_s``, guests arrive meanwhile (:meth:`arrivals`)."""
        rng = random.Random(2)
        order = list(range(len(self.users)))
        rng.shuffle(order)
        self.counter.arm(0, latency=True)
        acks0 = self.counter.acks
        loop = asyncio.get_running_loop()
        total = max(1, round(rate * duration_s))
        t0 = loop.time()
        w0 = time.monotonic()
        storm = (
            asyncio.ensure_future(self.arrivals(connects_per_s, t0 + duration_s))
            if connects_per_s > 0
            else None
        )
        for k in range(total):
            delay = t0 + k / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            i = order[k % len(order)]
            conn = self.users[i]
            if not conn.closed:
                self._chat_send(i, conn, rng)
        arrived = await storm if storm is not None else {}
        await asyncio.sleep(3.0)
        elapsed = time.monotonic() - w0
        return {
            "sent": total,
            "rate": rate,
            "accepted": self.counter.acks - acks0,
            "deliveries": self.counter.deliveries,
            "elapsed_s": elapsed,
            "disconnects": self.counter.disconnects,
            **self.counter.latency_summary(),
            **arrived,
        }

    async def arrivals(self, per_s: float, until: float) -> dict[str, Any]:
        """New guests enter, connect, say hello and join a room, ``per_s`` a second until
        ``until`` (loop time), then leave. Each one's time from its enter request to
        ``joined`` is recorded, counted from when it was due: at most ``concurrency`` are under
        way at once, the others wait their turn (the wait is part of what they see)."""
        loop = asyncio.get_running_loop()
        # Their own client and counter: the chat's deliveries and disconnects stay apart.
        client = CoconClient(self.port, self.concurrency, Counter())
        irc = IrcClient(self.port, self.concurrency, Counter())
        cocon = self.proto == "cocon"
        if cocon:
            await client.open()
        rooms = (self.cocon.rooms or [await self.cocon.room_id(0)]) if cocon else []
        took: list[float] = []
        steps: dict[str, list[float]] = {step: [] for step in CONNECT_STEPS}
        errors = 0

        async def arrive(n: int) -> None:
            nonlocal errors
            started = time.monotonic()
            marks = [started]
            conn: Conn
            try:
                if cocon:
                    conn = await client.connect(f"arr{n}", rooms[n % len(rooms)], marks=marks)
                else:  # registered (end of MOTD) and joined (end of NAMES)
                    conn = await irc.connect(f"a{n}", self.chat_rooms[n % len(self.chat_rooms)])
            except (BenchError, OSError, TimeoutError):
                errors += 1
                return
            took.append((time.monotonic() - started) * 1000.0)
            if len(marks) == len(CONNECT_STEPS) + 1:
                for step, begun, ended in zip(CONNECT_STEPS, marks, marks[1:], strict=True):
                    steps[step].append((ended - begun) * 1000.0)
            self._close(conn)

        tasks: set[asyncio.Task[None]] = set()
        start = loop.time()
        n = 0
        try:
            while (now := loop.time()) < until:
                due = start + n / per_s
                if due > now:
                    await asyncio.sleep(min(due, until) - now)
                    continue
                task = asyncio.ensure_future(arrive(n))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
                n += 1
            if tasks:
                await asyncio.wait(tasks, timeout=60.0)
        finally:
            for task in tasks:
                task.cancel()
            await client.close()
        took.sort()
        by_step: dict[str, float] = {}
        for step, values in steps.items():
            if values:  # Cocon's arrivals only: an IRC registration is one exchange
                values.sort()
                by_step[f"{step}_p50_ms"] = percentile(values, 50)
                by_step[f"{step}_p99_ms"] = percentile(values, 99)
        return {
            "connects": len(took),
            "connects_per_s": len(took) / max(1e-9, loop.time() - start),
            "connect_errors": errors,
            "connect_p50_ms": percentile(took, 50),
            "connect_p99_ms": percentile(took, 99),
            **by_step,
        }

    async def handle(self, cmd: dict[str, Any]) -> dict[str, Any]:
        name = cmd.get("cmd")
        wait_s = float(cmd.get("timeout_s", 300.0))
        if name == "fanout_setup":
            return await self.fanout_setup(int(cmd["receivers"]), int(cmd["senders"]), wait_s)
        if name == "burst":
            return await self.burst(int(cmd["messages"]), wait_s)
        if name == "steady":
            return await self.steady(float(cmd["rate"]), float(cmd["duration_s"]), wait_s)
        if name == "idle":
            return await self.idle_connect(int(cmd["count"]), wait_s)
        if name == "chat_setup":
            return await self.chat_setup(int(cmd["users"]), int(cmd["rooms"]), wait_s)
        if name == "chat_closed":
            return await self.chat_closed(float(cmd["duration_s"]))
        if name == "chat_open":
            return await self.chat_open(
                float(cmd["rate"]), float(cmd["duration_s"]), float(cmd.get("connects_per_s", 0))
            )
        raise BenchError(f"unknown command {name!r}")


def _reply(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


async def serve(config: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    hard = float(config.get("hard_timeout_s", 900.0))

    def abort() -> None:
        _reply({"ok": False, "error": f"load client hard timeout ({hard:.0f} s)"})
        os._exit(3)

    loop.call_later(hard, abort)
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    driver = Driver(config)
    await driver.start()
    _reply({"ok": True, "ready": True, "pid": os.getpid(), "nofile": raise_nofile()})
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = json.loads(line)
        if cmd.get("cmd") == "quit":
            break
        try:
            result = await driver.handle(cmd)
            _reply({"ok": True, **result})
        except (BenchError, OSError, TimeoutError, KeyError, ValueError) as exc:
            _reply({"ok": False, "error": f"{cmd.get('cmd')}: {type(exc).__name__}: {exc}"})
    await driver.stop()
    _reply({"ok": True, "bye": True})


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    config = json.loads(args[0])
    raise_nofile()
    factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        pass
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(serve(config))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
