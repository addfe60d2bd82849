"""The flusher: what each connection receives, and in which order, over real sockets."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from cocon.gateway.outbox import Flusher, Outbox

LIMIT = 1 << 20


class _Peer:
    """One server-side transport (an ``Outbox`` on it) and the client socket it writes to."""

    def __init__(self, box: Outbox, client: socket.socket) -> None:
        self.box = box
        self.client = client

    def received(self) -> bytes:
        chunks = []
        while True:
            try:
                chunk = self.client.recv(65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


@pytest.fixture
async def peers() -> AsyncIterator[list[_Peer]]:
    loop = asyncio.get_running_loop()
    out: list[_Peer] = []
    for _ in range(4):
        ours, theirs = socket.socketpair()
        transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
        theirs.setblocking(False)
        out.append(_Peer(Outbox(transport, LIMIT), theirs))  # type: ignore[arg-type]
    yield out
    for p in out:
        p.box.transport.close()
        p.client.close()


async def _tick() -> None:
    for _ in range(3):  # the flush runs at the end of the tick; the bytes cross the socket
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)


async def test_one_broadcast_reaches_every_outbox(peers: list[_Peer]) -> None:
    flusher = Flusher()
    flusher.broadcast(tuple(p.box for p in peers), b"m1")
    await _tick()
    assert [p.received() for p in peers] == [b"m1"] * 4
    assert all(not p.box.frames for p in peers)


async def test_frames_queued_before_a_broadcast_come_first(peers: list[_Peer]) -> None:
    a, b, c, _ = peers
    flusher = Flusher()
    flusher.put(a.box, b"ack;")
    flusher.put(c.box, b"other;")
    flusher.broadcast((a.box, b.box), b"m1")
    await _tick()
    assert (a.received(), b.received(), c.received()) == (b"ack;m1", b"m1", b"other;")


async def test_frames_queued_after_a_broadcast_come_after(peers: list[_Peer]) -> None:
    a, b, _, _ = peers
    flusher = Flusher()
    flusher.broadcast((a.box, b.box), b"m1;")
    flusher.put(a.box, b"typing")
    await _tick()
    assert (a.received(), b.received()) == (b"m1;typing", b"m1;")


async def test_a_burst_and_interleaved_rooms_keep_each_outbox_in_order(
    peers: list[_Peer],
) -> None:
    a, b, c, d = peers
    room1, room2 = (a.box, b.box), (b.box, c.box)
    flusher = Flusher()
    for i in range(3):
        flusher.broadcast(room1, b"r1-%d;" % i)
    flusher.broadcast(room2, b"r2-0;")
    flusher.broadcast(room1, b"r1-3;")
    flusher.put(d.box, b"dm;")
    flusher.broadcast(room2, b"r2-1;")
    await _tick()
    assert a.received() == b"r1-0;r1-1;r1-2;r1-3;"
    assert b.received() == b"r1-0;r1-1;r1-2;r2-0;r1-3;r2-1;"
    assert c.received() == b"r2-0;r2-1;"
    assert d.received() == b"dm;"
    # The next tick starts clean.
    flusher.broadcast(room2, b"next")
    await _tick()
    assert (a.received(), b.received(), c.received()) == (b"", b"next", b"next")


async def test_take_includes_a_pending_broadcast(peers: list[_Peer]) -> None:
    a, b, _, _ = peers
    flusher = Flusher()
    flusher.put(a.box, b"x;")
    flusher.broadcast((a.box, b.box), b"m1")
    assert flusher.take(a.box) == [b"x;", b"m1"]  # a closing connection writes them itself
    a.box.closed = True
    flusher.put(a.box, b"lost")
    await _tick()
    assert (a.received(), b.received()) == (b"", b"m1")


async def test_closed_outboxes_are_skipped(peers: list[_Peer]) -> None:
    a, b, c, _ = peers
    flusher = Flusher()
    flusher.put(c.box, b"c;")
    flusher.broadcast((a.box, b.box, c.box), b"m1")
    b.box.closed = True
    c.box.transport.close()
    await _tick()
    assert (a.received(), b.received(), c.received()) == (b"m1", b"", b"")
    assert c.box.closed
