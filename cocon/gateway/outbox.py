"""Per-connection send queues, flushed once per event-loop tick.

Senders never wait: a frame is appended to the connection's queue and every queue touched
during the tick leaves in one ``transport.write`` at its end (coalescing). A connection
whose kernel buffer is over the limit is cut; its client resumes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from itertools import repeat
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


class Flusher:
    """Collects the outboxes written during a tick and flushes them all at its end.

    Invariant: an outbox holding frames is in ``dirty`` (possibly more than once: a
    broadcast lists all its recipients without looking at each)."""

    def __init__(self) -> None:
        self.dirty: list[Outbox] = []  # outboxes with frames, flushed at the end of the tick
        self._listed: tuple[Outbox, ...] | None = None  # the last broadcast's, this tick
        self._scheduled = False
        self._loop = asyncio.get_running_loop()
        self.overflows = 0

    def put(self, box: Outbox, frame: bytes) -> None:
        if box.closed:
            return
        if not box.frames:
            self.dirty.append(box)
        box.frames.append(frame)
        self.schedule()

    def broadcast(self, boxes: tuple[Outbox, ...], frame: bytes) -> None:
        """Queue ``frame`` to every outbox of ``boxes``, in C loops: no Python code runs
        per recipient here (closed outboxes are skipped at the flush)."""
        if not boxes:
            return
        deque(map(list.append, map(_frames_of, boxes), repeat(frame)), maxlen=0)
        if boxes is not self._listed:  # a burst to the same recipients is listed once
            self._listed = boxes
            self.dirty.extend(boxes)
        self.schedule()

    def schedule(self) -> None:
        """Make sure the outboxes touched in this tick are flushed at its end."""
        if not self._scheduled and self.dirty:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        self._listed = None
        dirty, self.dirty = self.dirty, []
        for box in dirty:
            frames = box.frames
            if not frames:
                continue  # listed twice, already written
            if box.closed:
                frames.clear()
                continue
            transport = box.transport
            if transport.is_closing():
                box.closed = True
                frames.clear()
                continue
            transport.write(frames[0] if len(frames) == 1 else b"".join(frames))
            frames.clear()
            if transport.get_write_buffer_size() > box.limit:
                # A slow reader: cut it rather than buffer without bound; it will resume.
                box.closed = True
                self.overflows += 1
                log.info("send buffer overflow: disconnecting a slow client")
                transport.abort()
