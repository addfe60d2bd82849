"""``kill -9`` of one node in the middle of a burst: nothing acknowledged is lost, nothing is
duplicated, and every receiver's copy of the room is gap-free once it is on the survivor."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from tests.client import Client
from tests.scaleout.conftest import Cluster
from tests.servers import ServerProcess

ROOM = 1
CLIENTS = 20
PER_CLIENT = 250  # 5000 messages in all
WINDOW = 8  # sends in flight per client


class Sender:
    """Sends its cids with a window of unacknowledged ones; retries what was not acked."""

    def __init__(self, client: Client, stream: str, cids: list[str]) -> None:
        self.client = client
        self.stream = stream
        self.cids = cids
        self.acked: dict[str, int] = {}
        self.duplicates = 0
        self.errors: list[dict[str, Any]] = []
        self._progress = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    def listen(self) -> None:
        """Collect acks from the client's (current) event queue."""
        if self._pump is not None:
            self._pump.cancel()
        self._pump = asyncio.create_task(self._collect(self.client.events))

    async def _collect(self, events: asyncio.Queue[dict[str, Any]]) -> None:
        while True:
            event = await events.get()
            if event.get("type") == "ack":
                self.acked[event["cid"]] = event["seq"]
                self.duplicates += bool(event.get("duplicate"))
                self._progress.set()
            elif event.get("type") == "error":
                self.errors.append(event)
                self._progress.set()

    @property
    def alive(self) -> bool:
        reader = self.client._reader
        return self.client.ws is not None and reader is not None and not reader.done()

    async def run(self) -> None:
        base = len(self.acked)
        for sent, cid in enumerate([c for c in self.cids if c not in self.acked]):
            while sent - (len(self.acked) - base) >= WINDOW and self.alive:
                self._progress.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._progress.wait(), 0.5)
            if not self.alive:
                return
            try:
                await self.client.send(
                    {"type": "send", "stream": self.stream, "cid": cid, "text": cid}
                )
            except Exception:
                return

    async def settle(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while len(self.acked) < len(self.cids) and time.monotonic() < deadline and self.alive:
            await asyncio.sleep(0.05)

    def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()


async def test_kill_9_during_a_5000_message_burst(
    cluster: Cluster, new_client: Callable[[ServerProcess], Client]
) -> None:
    # Clients may be away for more than the default 1000 entries of a burst.
    survivor = cluster.node("n1", COCON_REPLAY_LIMIT="10000")
    doomed = cluster.node("n2", COCON_REPLAY_LIMIT="10000")
    stream = f"room:{ROOM}"
    clients = [new_client(survivor if i % 2 == 0 else doomed) for i in range(CLIENTS)]
    for c in clients:
        await c.enter()
        await c.connect()
        await c.join(ROOM)
    senders = [Sender(c, stream, [f"{c.id}-{i}" for i in range(PER_CLIENT)]) for c in clients]
    for s in senders:
        s.listen()

    async def burst(s: Sender) -> None:
        await s.run()
        if s.client.base == doomed.url:
            # Its node died: back on the survivor, resume, retry what was not acked.
            with contextlib.suppress(Exception):
                await s.client.drop()
            s.client.ws = None
            s.client.base = survivor.url
            await s.client.connect()
            s.listen()
            await s.run()
        await s.settle(30)

    t0 = time.monotonic()
    tasks = [asyncio.create_task(burst(s)) for s in senders]
    while sum(len(s.acked) for s in senders) < 1500:
        await asyncio.sleep(0.01)
    doomed.kill()
    acked_at_kill = sum(len(s.acked) for s in senders)
    kill_s = time.monotonic() - t0
    await asyncio.gather(*tasks)
    for s in senders:
        s.stop()
    burst_s = time.monotonic() - t0
    assert all(not s.errors for s in senders), [s.errors[:3] for s in senders if s.errors]
    assert all(len(s.acked) == PER_CLIENT for s in senders)
    total = CLIENTS * PER_CLIENT

    # The store: every cid exactly once, at the seq it was acknowledged with.
    reader = clients[0]
    history: list[dict[str, Any]] = []
    before = None
    while True:
        page = await reader.request("history", stream=stream, before=before, limit=100)
        history = page["messages"] + history
        if not page["has_more"]:
            break
        before = page["messages"][0]["seq"]
    texts = [m["text"] for m in history]
    assert len(texts) == total and len(set(texts)) == total  # nothing lost, no duplicate
    assert [m["seq"] for m in history] == list(range(1, total + 1))
    seq_of = {m["text"]: m["seq"] for m in history}
    for s in senders:
        for cid, seq in s.acked.items():
            assert seq_of[cid] == seq

    # Every receiver: the whole room, in order, gap-free.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if all(c.positions.get(stream, (0, 0))[1] >= total for c in clients):
            break
        await asyncio.sleep(0.1)
    converged_s = time.monotonic() - t0 - burst_s
    for c in clients:
        got = [m["seq"] for m in c.messages[stream]]
        assert got == list(range(got[0], total + 1)), (c.id, c.gaps[:5])
        assert not c.gaps, c.gaps[:5]
    dups = sum(s.duplicates for s in senders)
    print(
        f"\nkill -9 burst: {total} messages from {CLIENTS} clients in {burst_s:.1f} s, "
        f"{acked_at_kill} acked before the kill at {kill_s:.1f} s, "
        f"{dups} retried sends answered as duplicates, "
        f"receivers complete {converged_s:.1f} s after the last ack"
    )
