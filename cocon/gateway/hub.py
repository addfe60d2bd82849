"""Node-local fan-out: topic -> local connections, fed by the bus.

A publication is framed once; the same bytes go to every local subscriber, except those
who blocked the sender. While a connection is being brought up to date on a stream
(join, resume), live entries of that stream are parked and released after the reply, so
the client sees history then live, in order, with no gap.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from cocon.bus.base import Bus, BusMessage
from cocon.gateway.frames import text_frame
from cocon.gateway.outbox import Flusher
from cocon.protocol.events import Hidden, encode

if TYPE_CHECKING:
    from cocon.gateway.connection import Connection

log = logging.getLogger(__name__)

# (user id, control verb, argument) -> applied to that user's connections on this node
ControlHandler = Callable[[int, str, str], Awaitable[None]]


class Hub:
    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._topics: dict[str, set[Connection]] = {}
        self._users: dict[int, set[Connection]] = {}
        self.flusher = Flusher()
        self.deliveries = 0
        self.control_handler: ControlHandler | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- connections -------------------------------------------------------------------
    def add_user_connection(self, conn: Connection) -> bool:
        """Register; True if it is the user's first connection on this node."""
        conns = self._users.setdefault(conn.user_id, set())
        conns.add(conn)
        return len(conns) == 1

    def remove_user_connection(self, conn: Connection) -> bool:
        """Unregister; True if it was the user's last connection on this node."""
        conns = self._users.get(conn.user_id)
        if conns is None:
            return False
        conns.discard(conn)
        if conns:
            return False
        del self._users[conn.user_id]
        return True

    def connections_of(self, user_id: int) -> set[Connection]:
        return self._users.get(user_id, set())

    @property
    def connection_count(self) -> int:
        return sum(len(c) for c in self._users.values())

    def all_connections(self) -> list[Connection]:
        return [c for conns in self._users.values() for c in conns]

    # -- subscriptions -----------------------------------------------------------------
    async def subscribe(self, conn: Connection, topic: str) -> None:
        subs = self._topics.get(topic)
        if subs is None:
            subs = self._topics[topic] = set()
            subs.add(conn)
            conn.topics.add(topic)
            await self._bus.subscribe(topic)
        else:
            subs.add(conn)
            conn.topics.add(topic)

    async def unsubscribe(self, conn: Connection, topic: str) -> None:
        conn.topics.discard(topic)
        subs = self._topics.get(topic)
        if subs is None:
            return
        subs.discard(conn)
        if not subs:
            del self._topics[topic]
            await self._bus.unsubscribe(topic)

    def subscribers(self, topic: str) -> set[Connection]:
        return self._topics.get(topic, set())

    # -- delivery ------------------------------------------------------------------------
    def deliver(self, message: BusMessage) -> None:
        """Bus callback: frame once, queue to each local subscriber (never awaits)."""
        if message.control:
            task = asyncio.get_running_loop().create_task(self._control(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        self._fan_out(message)

    async def _control(self, message: BusMessage) -> None:
        """Change a user's subscriptions on this node, then deliver the payload."""
        kind, _, ident = message.topic.partition(":")
        verb, _, arg = message.control.partition(" ")
        if kind == "user" and ident.isdigit() and self.control_handler is not None:
            try:
                await self.control_handler(int(ident), verb, arg)
            except Exception:
                log.exception("control %r failed", message.control)
        self._fan_out(message)

    def _fan_out(self, message: BusMessage) -> None:
        subs = self._topics.get(message.topic)
        if not subs:
            return
        frame = text_frame(message.payload)
        hidden: bytes | None = None
        put = self.flusher.put
        sender = message.sender
        seq = message.seq
        topic = message.topic
        n = 0
        for conn in subs:
            if sender and sender in conn.blocked:
                if not seq:
                    continue
                # The blocker must still advance past this seq, or it would see a gap.
                if hidden is None:
                    hidden = text_frame(encode(Hidden(stream=topic, seq=seq)))
                frame_for_conn = hidden
            else:
                frame_for_conn = frame
            if seq:
                parked = conn.syncing.get(topic)
                if parked is not None:
                    parked.append((seq, frame_for_conn))
                    continue
            put(conn.outbox, frame_for_conn)
            n += 1
        self.deliveries += n
