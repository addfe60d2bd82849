"""Redis dies for 3 s, then for 30 s, under a steady 200 messages/s across two nodes.

No node exits, every send is acknowledged (the store is PostgreSQL), every member has every
message, gap-free, within 10 s of Redis coming back, and the nodes' memory stays bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from tests.client import Client
from tests.scaleout.conftest import Cluster, RedisServer
from tests.servers import ServerProcess

ROOM = 1
CLIENTS = 10
RATE = 200.0  # messages per second, all clients together
CONVERGE_S = 10.0


class Load:
    """Each client sends at RATE / CLIENTS per second without waiting for acks."""

    def __init__(self, clients: list[Client], stream: str) -> None:
        self.clients = clients
        self.stream = stream
        self.sent: dict[str, Client] = {}
        self.sent_at: dict[str, float] = {}
        self.worst_lag = (0.0, 0.0)  # (seconds from send to ack, when)
        self.acked: dict[str, int] = {}
        self.errors: list[dict[str, Any]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._running = False

    def start(self) -> None:
        self._running = True
        for c in self.clients:
            self._tasks.append(asyncio.create_task(self._collect(c)))
            self._tasks.append(asyncio.create_task(self._send(c)))

    async def _collect(self, c: Client) -> None:
        while True:
            event = await c.events.get()
            if event.get("type") == "ack":
                self.acked[event["cid"]] = event["seq"]
                lag = time.monotonic() - self.sent_at.get(event["cid"], time.monotonic())
                if lag > self.worst_lag[0]:
                    self.worst_lag = (lag, time.monotonic())
            elif event.get("type") == "error":
                self.errors.append(event)

    async def _send(self, c: Client) -> None:
        period = CLIENTS / RATE
        n = 0
        next_at = time.monotonic()
        while self._running:
            cid = f"{c.id}-{n}"
            n += 1
            self.sent[cid] = c
            self.sent_at[cid] = time.monotonic()
            try:
                await c.send({"type": "send", "stream": self.stream, "cid": cid, "text": cid})
            except Exception as exc:
                self.errors.append({"type": "client", "error": repr(exc)})
                return
            next_at += period
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))

    async def stop(self) -> None:
        self._running = False
        await asyncio.sleep(0.2)
        deadline = time.monotonic() + 15
        while len(self.acked) < len(self.sent) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def _store_last_seq(c: Client, stream: str) -> int:
    page = await c.request("history", stream=stream, limit=1)
    return int(page["messages"][-1]["seq"]) if page["messages"] else 0


async def _converge(clients: list[Client], stream: str, target: int) -> float:
    """Seconds until every client has every seq up to ``target`` (or CONVERGE_S + 5)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < CONVERGE_S + 5:
        if all(c.positions.get(stream, (0, 0))[1] >= target for c in clients):
            break
        await asyncio.sleep(0.05)
    return time.monotonic() - t0


async def test_redis_outages_of_3s_and_30s_under_steady_load(
    make_cluster: Callable[[str], Cluster],
    redis_server: RedisServer,
    new_client: Callable[[ServerProcess], Client],
) -> None:
    cluster = make_cluster(redis_server.url)
    nodes = [cluster.node("n1"), cluster.node("n2")]
    stream = f"room:{ROOM}"
    clients = [new_client(nodes[i % 2]) for i in range(CLIENTS)]
    for c in clients:
        await c.enter()
        await c.connect()
        await c.join(ROOM)
    probe = new_client(nodes[0])
    await probe.enter()
    await probe.connect()
    await probe.join(ROOM)
    load = Load(clients, stream)
    load.start()
    try:
        await _outages(nodes, clients, probe, load, redis_server, stream)
    finally:
        await load.stop()


async def _outages(
    nodes: list[ServerProcess],
    clients: list[Client],
    probe: Client,
    load: Load,
    redis_server: RedisServer,
    stream: str,
) -> None:
    await asyncio.sleep(2.0)
    rss_before = [n.rss_kib() for n in nodes]
    report = []
    for outage in (3.0, 30.0):
        redis_server.kill()
        t_kill = time.monotonic()
        sent_before = len(load.sent)
        await asyncio.sleep(outage)
        acked_during = sum(1 for cid in list(load.sent)[sent_before:] if cid in load.acked)
        assert all(n.proc is not None and n.proc.poll() is None for n in nodes)
        redis_server.start()
        target = await _store_last_seq(probe, stream)  # all that was committed meanwhile
        took = await _converge(clients, stream, target)
        lag, lag_at = load.worst_lag
        load.worst_lag = (0.0, 0.0)
        report.append(
            f"Redis down {outage:.0f} s: {len(load.sent) - sent_before} sends meanwhile "
            f"({acked_during} acked while it was down), members converged {took:.2f} s "
            f"after it came back; slowest ack {lag:.2f} s ({lag_at - t_kill:+.1f} s from the kill)"
        )
        assert took <= CONVERGE_S, report[-1]
        await asyncio.sleep(3.0)
    rss_after = [n.rss_kib() for n in nodes]
    await load.stop()

    for n in nodes:
        assert n.proc is not None and n.proc.poll() is None, n.log()[-2000:]
        assert n.health()["status"] == "ok"
    assert not load.errors, load.errors[:5]
    unacked = [cid for cid in load.sent if cid not in load.acked]
    assert not unacked, f"{len(unacked)} sends never acknowledged: {unacked[:3]}..{unacked[-3:]}"
    last = await _store_last_seq(probe, stream)
    assert sorted(load.acked.values()) == list(range(1, last + 1))  # once each, none lost
    await _converge(clients, stream, last)
    for c in clients:
        got = [m["seq"] for m in c.messages[stream]]
        assert got == list(range(got[0], last + 1)), (c.id, c.gaps[:5])
        assert not c.gaps, c.gaps[:5]
    growth = [(b - a) / 1024 for a, b in zip(rss_before, rss_after, strict=True)]
    print("\n" + "\n".join(report))
    print(
        "node RSS before/after the outages: "
        + ", ".join(
            f"{n.env['COCON_NODE_ID']} {a / 1024:.0f} -> {b / 1024:.0f} MiB"
            for n, a, b in zip(nodes, rss_before, rss_after, strict=True)
        )
        + f"; {len(load.sent)} messages in all"
    )
    assert max(growth) < 100, growth
