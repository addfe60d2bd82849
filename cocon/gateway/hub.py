"""Node-local fan-out: topic -> local connections, fed by the bus.

A publication is framed once; the same bytes go to every local subscriber, except those
who blocked the sender. While a connection is being brought up to date on a stream
(join, resume), live entries of that stream are parked and released after the reply, so
the client sees history then live, in order, with no gap. The hub keeps each topic's
subscribers split once for this (:class:`_Targets`), rebuilt when they or their blocks or
syncing change (:meth:`Hub.refresh`).

The hub knows, per stream topic, the last seq it fanned out (:meth:`Hub.last_seq`: what a
conversation's risk has to catch up on). A bus that can lose publications (Redis:
at-most-once) offers a :class:`StreamSource` as its ``stream_source`` attribute; the hub then
also puts the stream back in order: an older or repeated seq is dropped, a seq past a hole
is parked, and if the hole is still there after a moment the missing entries are read from
the store and fanned out like live ones (so blockers get their ``hidden`` frames as usual).
Without one (the in-process bus, which loses nothing) entries go out exactly as they arrive.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Protocol

from cocon.bus.base import Bus, BusMessage
from cocon.gateway.frames import text_frame
from cocon.gateway.outbox import Flusher, Outbox
from cocon.protocol.events import Event, Hidden, encode

if TYPE_CHECKING:
    from cocon.gateway.connection import Connection

log = logging.getLogger(__name__)

# (user id, control verb, argument) -> applied to that user's connections on this node
ControlHandler = Callable[[int, str, str], Awaitable[None]]

GAP_WAIT_S = 0.3  # a missing seq is usually just late (another node published it later)
BACKFILL_PAGE = 500
MAX_PARKED = 20_000  # per topic; past it (store unreachable too) the hole is given up


class StreamSource(Protocol):
    """The store, as seen by the hub to fill the holes of a bus that may lose publications."""

    async def positions(self, topics: list[str]) -> dict[str, int]:
        """``last_seq`` of each existing stream among ``topics``."""

    async def entries_after(self, topic: str, after: int, limit: int) -> list[BusMessage]:
        """The entries ``after < seq``, oldest first, as the publications they were."""

    def on_loss(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` whenever publications may have been lost (bus reconnected,
        a node died): the hub then compares every stream it follows with the store."""


class Hub:
    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._topics: dict[str, set[Connection]] = {}
        # topic -> its fan-out targets, built at the first publication after a change
        self._targets: dict[str, _Targets] = {}
        self._users: dict[int, set[Connection]] = {}
        self.flusher = Flusher()
        self.control_handler: ControlHandler | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # stream topic -> last seq fanned out here (with any bus; see last_seq)
        self._last: dict[str, int] = {}
        # Gap repair, only when the bus may lose publications.
        self.source: StreamSource | None = getattr(bus, "stream_source", None)
        self._parked: dict[str, dict[int, BusMessage]] = {}  # seq past a hole, waiting
        self._want: dict[str, int] = {}  # a seq the store has and we have not fanned out
        self._ready: dict[str, asyncio.Future[None]] = {}  # position being read
        self._filling: dict[str, asyncio.Task[None]] = {}
        self.backfilled = 0
        if self.source is not None:
            self.source.on_loss(self._check_all)

    # -- connections -------------------------------------------------------------------
    def add_user_connection(self, conn: Connection) -> None:
        self._users.setdefault(conn.user_id, set()).add(conn)

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

    def send_all(self, event: Event) -> None:
        """One event to every connection of this node, framed once."""
        boxes = tuple(c.outbox for conns in self._users.values() for c in conns)
        self.flusher.broadcast(boxes, text_frame(encode(event)))

    # -- subscriptions -----------------------------------------------------------------
    async def subscribe(self, conn: Connection, topic: str) -> None:
        self._targets.pop(topic, None)
        subs = self._topics.get(topic)
        if subs is None:
            subs = self._topics[topic] = set()
            subs.add(conn)
            conn.topics.add(topic)
            if self.source is None:
                await self._bus.subscribe(topic)
                return
            # Subscribed first, then the position: every later entry comes by the bus or
            # shows up as a hole. Other subscribers wait for it (their own position read
            # must not precede ours, or we would drop entries they have not seen).
            ready = self._ready[topic] = asyncio.get_running_loop().create_future()
            try:
                await self._bus.subscribe(topic)
                await self._read_position(topic)
            finally:
                if self._ready.get(topic) is ready:
                    del self._ready[topic]
                ready.set_result(None)
                self._release(topic)
        else:
            subs.add(conn)
            conn.topics.add(topic)
            pending = self._ready.get(topic)
            if pending is not None:
                await asyncio.shield(pending)

    async def _read_position(self, topic: str) -> None:
        assert self.source is not None
        try:
            last = (await self.source.positions([topic])).get(topic)
        except Exception:
            log.warning("could not read the position of %s", topic, exc_info=True)
            return  # unknown: the next entry to arrive sets it
        if last is not None and topic in self._topics:
            self._last[topic] = max(last, self._last.get(topic, 0))

    async def unsubscribe(self, conn: Connection, topic: str) -> None:
        conn.topics.discard(topic)
        self._targets.pop(topic, None)
        subs = self._topics.get(topic)
        if subs is None:
            return
        subs.discard(conn)
        if not subs:
            del self._topics[topic]
            self._last.pop(topic, None)
            self._parked.pop(topic, None)
            self._want.pop(topic, None)
            await self._bus.unsubscribe(topic)

    def refresh(self, conn: Connection) -> None:
        """``conn``'s blocks or streams being brought up to date changed: the fan-out
        targets of its topics are built again at their next publication."""
        for topic in conn.topics:
            self._targets.pop(topic, None)

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
        if message.payload:
            self._fan_out(message)

    def _fan_out(self, message: BusMessage) -> None:
        if message.seq:
            if self.source is not None:
                self._in_order(message)
                return
            self._last[message.topic] = message.seq  # this bus loses nothing: in order
        self._frame_out(message)

    def last_seq(self, topic: str) -> int | None:
        """The last seq of the stream ``topic`` fanned out on this node; None if none was
        since this node subscribed to it (or it has no subscriber here)."""
        return self._last.get(topic)

    # -- stream order and holes (only with a StreamSource) ------------------------------
    def _in_order(self, message: BusMessage) -> None:
        """Fan out stream entries once each, in seq order, parking those past a hole."""
        topic, seq = message.topic, message.seq
        if topic not in self._topics:
            return
        if topic in self._ready:  # position not known yet
            self._park(message)
            return
        last = self._last.get(topic)
        if last is not None and seq <= last:
            return  # already fanned out (late, repeated, or backfilled)
        if last is not None and seq > last + 1:
            self._park(message)
            self._fill_later(topic)
            return
        self._last[topic] = seq
        self._frame_out(message)
        self._release(topic)

    def _park(self, message: BusMessage) -> None:
        parked = self._parked.setdefault(message.topic, {})
        parked[message.seq] = message
        if len(parked) > MAX_PARKED:
            log.warning("giving up a hole in %s (store unreachable?)", message.topic)
            self._last[message.topic] = min(parked) - 1
            self._release(message.topic)

    def _release(self, topic: str) -> None:
        """Fan out the parked entries that now follow without a hole."""
        parked = self._parked.get(topic)
        if not parked or topic in self._ready:
            return
        last = self._last.get(topic)
        if last is None:
            last = min(parked) - 1
        while (message := parked.pop(last + 1, None)) is not None:
            last += 1
            self._last[topic] = last
            self._frame_out(message)
        for seq in [s for s in parked if s <= last]:
            del parked[seq]
        if not parked:
            del self._parked[topic]
        else:
            self._fill_later(topic)

    def _fill_later(self, topic: str) -> None:
        if topic not in self._filling:
            task = asyncio.get_running_loop().create_task(self._backfill(topic))
            self._filling[topic] = task
            task.add_done_callback(lambda _: self._filling.pop(topic, None))

    def _hole(self, topic: str) -> tuple[int, int] | None:
        """``(last, upto)``: the seqs ``last < seq <= upto`` are missing, or None."""
        last = self._last.get(topic)
        if topic not in self._topics or topic in self._ready or last is None:
            return None
        parked = self._parked.get(topic)
        upto = min(parked) - 1 if parked else self._want.get(topic, 0)
        return (last, upto) if upto > last else None

    async def _backfill(self, topic: str) -> None:
        """Read the entries of a hole that did not fill by itself from the store."""
        assert self.source is not None
        await asyncio.sleep(GAP_WAIT_S)
        failures = 0
        while (hole := self._hole(topic)) is not None:
            last, upto = hole
            try:
                found = await self.source.entries_after(
                    topic, last, min(upto - last, BACKFILL_PAGE)
                )
            except Exception:
                failures += 1
                log.warning("backfill of %s failed (%d)", topic, failures, exc_info=failures == 1)
                await asyncio.sleep(min(0.2 * 2**failures, 5.0))
                continue
            failures = 0
            if self._last.get(topic) != last:
                continue  # the hole changed while we read: look again
            found = [m for m in found if m.seq <= upto]
            if not found or found[0].seq != last + 1:
                # Not in the store (cannot happen for committed seqs): do not wait forever.
                skip_to = found[0].seq - 1 if found else upto
                log.warning("%s: seqs %d..%d missing from the store", topic, last + 1, skip_to)
                self._last[topic] = skip_to
            for message in found:
                self._in_order(message)
            self.backfilled += len(found)
            self._release(topic)
        if self._want.get(topic, 0) <= self._last.get(topic, 0):
            self._want.pop(topic, None)

    def _check_all(self) -> None:
        """Publications may have been lost: compare every followed stream with the store."""
        task = asyncio.get_running_loop().create_task(self._compare_positions())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _compare_positions(self) -> None:
        assert self.source is not None
        topics = [t for t in self._last if t in self._topics]
        for i in range(0, len(topics), 1000):
            try:
                positions = await self.source.positions(topics[i : i + 1000])
            except Exception:
                log.warning("could not compare stream positions with the store", exc_info=True)
                return
            for topic, seq in positions.items():
                if topic in self._topics and seq > self._last.get(topic, seq):
                    self._want[topic] = max(seq, self._want.get(topic, 0))
                    self._fill_later(topic)

    def _frame_out(self, message: BusMessage) -> None:
        topic = message.topic
        targets = self._targets.get(topic)
        if targets is None:
            subs = self._topics.get(topic)
            if not subs:
                return
            targets = self._targets[topic] = _Targets.of(subs)
        frame = text_frame(message.payload)
        # Connections that blocked someone or are being brought up to date on a stream take
        # the careful path, first: queued after the broadcast, their frames would make the
        # flusher queue it to every outbox instead of writing it straight.
        for conn in targets.careful:
            self._careful(conn, message, frame)
        # The hot path: no Python code runs per plain recipient before the write (one Python
        # loop of 1,000 recipients cost ~0.7 ms of a message's latency, benchmark s2).
        self.flusher.broadcast(targets.plain, frame)

    def _careful(self, conn: Connection, message: BusMessage, frame: bytes) -> None:
        """Deliver to one connection with blocks and stream syncing in mind."""
        seq, topic = message.seq, message.topic
        if message.sender and message.sender in conn.blocked:
            if not seq:
                return
            # The blocker must still advance past this seq, or it would see a gap.
            frame = text_frame(encode(Hidden(stream=topic, seq=seq)))
        if seq:
            parked = conn.syncing.get(topic)
            if parked is not None:
                parked.append((seq, frame))
                return
        self.flusher.put(conn.outbox, frame)


class _Targets:
    """A topic's subscribers split for the fan-out: the outboxes of those who get every
    frame as it is, and the connections that need a look (blocks, syncing)."""

    __slots__ = ("careful", "plain")

    def __init__(self, plain: tuple[Outbox, ...], careful: tuple[Connection, ...]) -> None:
        self.plain = plain
        self.careful = careful

    @classmethod
    def of(cls, subs: set[Connection]) -> _Targets:
        plain: list[Outbox] = []
        careful: list[Connection] = []
        for conn in subs:
            if conn.blocked or conn.syncing:
                careful.append(conn)
            else:
                plain.append(conn.outbox)
        return cls(tuple(plain), tuple(careful))
