"""Who is muted or restricted right now, as the send path needs to know it.

The send path must not query the store per message. A node reads every active mute and
restriction in one query and keeps that view for ``mute_cache_s`` seconds: active ones are
few (they are sanctions), so one read serves every sender. A sanction decided on this node
drops the view at once; one decided on another node takes effect here within that delay.

The read is made ahead, in the background, once the view is half that age: a sender never
waits for it unless the view was dropped or nobody sent for a whole ``mute_cache_s``. (Read
inline, it put a few milliseconds on one message every five seconds, the tail of s2's
latency in docs/benchmarks.md.)
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.store import moderation as store

log = logging.getLogger(__name__)

REFRESH_AHEAD = 0.5  # read again in the background once the view is this share of its age

# A mute's scope (a room id, or None for everywhere) and its end (None: until revoked).
Scope = tuple[int | None, float | None]


@dataclass
class Standing:
    fetched: float = float("-inf")  # time.monotonic() of the last read
    mutes: dict[int, list[Scope]] = field(default_factory=dict)
    restricted: dict[int, float | None] = field(default_factory=dict)  # user -> end
    generation: int = 0  # bumped by every invalidation
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _ahead: asyncio.Task[None] | None = None  # the read made ahead, while it runs

    def invalidate(self) -> None:
        """Forget the view: the next check reads the store again."""
        self.fetched = float("-inf")
        self.generation += 1

    async def current(self, engine: AsyncEngine, max_age_s: float) -> Standing:
        age = time.monotonic() - self.fetched
        if age > max_age_s:
            await self._read(engine, max_age_s)
        elif age > max_age_s * REFRESH_AHEAD and self._ahead is None:
            self._ahead = asyncio.get_running_loop().create_task(
                self._read(engine, max_age_s * REFRESH_AHEAD)
            )
            self._ahead.add_done_callback(self._ahead_done)
        return self

    async def _read(self, engine: AsyncEngine, max_age_s: float) -> None:
        """Read the store unless a read made meanwhile left a view younger than this."""
        async with self._lock:  # concurrent senders share one read
            if time.monotonic() - self.fetched <= max_age_s:
                return
            started, generation = time.monotonic(), self.generation
            async with engine.connect() as db:
                rows = await store.active_restraints(db, time.time())
            mutes: dict[int, list[Scope]] = {}
            restricted: dict[int, float | None] = {}
            for user_id, kind, room_id, ends_at in rows:
                if kind == "mute":
                    mutes.setdefault(user_id, []).append((room_id, ends_at))
                else:
                    restricted[user_id] = ends_at
            self.mutes, self.restricted = mutes, restricted
            # An invalidation during the read leaves the view stale: it may predate it.
            if generation == self.generation:
                self.fetched = started

    async def close(self) -> None:
        """Stop a read made ahead (the node is stopping)."""
        if self._ahead is not None:
            self._ahead.cancel()
            await asyncio.gather(self._ahead, return_exceptions=True)

    def _ahead_done(self, task: asyncio.Task[None]) -> None:
        self._ahead = None
        if not task.cancelled() and task.exception() is not None:
            # The view stays as it was; once too old, the next sender reads it inline.
            log.warning("could not read mutes and restrictions", exc_info=task.exception())

    def mutes_of(self, user_id: int) -> list[Scope]:
        return self.mutes.get(user_id, [])

    def is_restricted(self, user_id: int) -> bool:
        if user_id not in self.restricted:
            return False
        ends_at = self.restricted[user_id]
        return ends_at is None or ends_at > time.time()
