"""Per-connection send queues, flushed once per event-loop tick.

Senders never wait: a frame is appended to the connection's queue (a broadcast's frame only
when more follows it in the tick) and every connection touched during the tick gets one
``transport.write`` at its end (coalescing). A connection whose kernel buffer is over the
limit is cut; its client resumes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import filterfalse, repeat
from operator import attrgetter

log = logging.getLogger(__name__)


class Outbox:
    __slots__ = ("closed", "frames", "limit", "transport")

    def __init__(self, transport: asyncio.Transport, limit: int) -> None:
        self.transport = transport
        self.frames: list[bytes] = []
        self.limit = limit
        self.closed = False


_frames_of = attrgetter("frames")


def _drained(boxes: list[Outbox]) -> Iterator[tuple[Outbox, bytes]]:
    """Each outbox of ``boxes`` that holds frames, with its frames joined (and cleared)."""
    for box in boxes:
        frames = box.frames
        if frames:  # empty if listed twice and already drained
            data = frames[0] if len(frames) == 1 else b"".join(frames)
            frames.clear()
            yield box, data


class Flusher:
    """Collects the outboxes written during a tick and flushes them all at its end.

    Invariants: an outbox holding frames is in ``dirty`` (possibly more than once: a
    broadcast lists all its recipients without looking at each). ``_last``, a broadcast
    not queued to its outboxes yet, is the newest frame of each of them: whatever is
    queued after it queues it first (``_settle``), and the flush writes it after ``dirty``.
    """

    def __init__(self) -> None:
        self.dirty: list[Outbox] = []  # outboxes with frames, flushed at the end of the tick
        self._listed: tuple[Outbox, ...] | None = None  # the last broadcast's, this tick
        self._last: tuple[tuple[Outbox, ...], bytes] | None = None
        self._scheduled = False
        self._loop = asyncio.get_running_loop()
        self.overflows = 0

    def put(self, box: Outbox, frame: bytes) -> None:
        if box.closed:
            return
        if self._last is not None:
            self._settle()
        if not box.frames:
            self.dirty.append(box)
        box.frames.append(frame)
        self.schedule()

    def broadcast(self, boxes: tuple[Outbox, ...], frame: bytes) -> None:
        """Send ``frame`` to every outbox of ``boxes`` at the end of the tick; closed
        outboxes are skipped at the flush.

        A tick's only broadcast (a message fanned out at a steady pace) touches no queue:
        the flush writes its frame to each transport directly. When more follows in the
        same tick (a burst), the frame is queued to every outbox in C loops, so that each
        recipient's frames leave in one write."""
        if not boxes:
            return
        if self._last is not None:
            self._settle()
        self._last = (boxes, frame)
        self.schedule()

    def take(self, box: Outbox) -> list[bytes]:
        """Remove and return the frames queued to ``box`` (a connection closing writes
        them before its close frame)."""
        if self._last is not None:
            self._settle()
        frames, box.frames = box.frames, []
        return frames

    def _settle(self) -> None:
        """Queue the pending broadcast to each of its outboxes."""
        assert self._last is not None
        boxes, frame = self._last
        self._last = None
        deque(map(list.append, map(_frames_of, boxes), repeat(frame)), maxlen=0)
        if boxes is not self._listed:  # a burst to the same recipients is listed once
            self._listed = boxes
            self.dirty.extend(boxes)

    def schedule(self) -> None:
        """Make sure the outboxes touched in this tick are flushed at its end."""
        if not self._scheduled and (self.dirty or self._last is not None):
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        if self._last is not None and self._last[0] is self._listed:
            self._settle()  # a burst to the same outboxes: all its frames in one write each
        self._listed = None
        last, self._last = self._last, None
        dirty, self.dirty = self.dirty, []
        if last is None:
            self._write(_drained(dirty))
            return
        boxes: Iterable[Outbox] = last[0]
        frame = last[1]
        if dirty:  # outboxes with frames queued before the broadcast get it in the same write
            both = set(dirty).intersection(boxes)
            for box in both:
                box.frames.append(frame)
            if both:
                boxes = filterfalse(both.__contains__, boxes)
            self._write(_drained(dirty))
        self._write(zip(boxes, repeat(frame)))

    def _write(self, writes: Iterable[tuple[Outbox, bytes]]) -> None:
        for box, data in writes:
            if box.closed:
                continue
            transport = box.transport
            if transport.is_closing():
                box.closed = True
                continue
            transport.write(data)
            if transport.get_write_buffer_size() > box.limit:
                # A slow reader: cut it rather than buffer without bound; it will resume.
                box.closed = True
                self.overflows += 1
                log.info("send buffer overflow: disconnecting a slow client")
                transport.abort()
