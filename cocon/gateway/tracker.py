"""Room membership and online status of this node's users, with a grace period.

A user stays in a room while one of their connections on this node is in it, and for
``presence_grace_s`` after the last one goes (so a reconnect that resumes is not seen as a
leave and a join). Then the shared presence is updated and a leave is announced.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from cocon.runtime import Runtime

log = logging.getLogger(__name__)

Announce = Callable[[int, int, bool], Awaitable[None]]  # (room, user, joined)
OnlineChanged = Callable[[int, bool], Awaitable[None]]  # (user, online)


class Tracker:
    def __init__(self, rt: Runtime, announce: Announce, online_changed: OnlineChanged) -> None:
        self._rt = rt
        self._announce = announce
        self._online_changed = online_changed
        self._in_room: dict[tuple[int, int], int] = {}
        self._online: dict[int, int] = {}
        self._timers: dict[tuple[int, int], asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- rooms ---------------------------------------------------------------------------
    async def enter(self, room_id: int, user_id: int) -> None:
        key = (room_id, user_id)
        count = self._in_room.get(key, 0)
        self._in_room[key] = count + 1
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
            return  # came back within the grace period: nobody saw them leave
        if count == 0 and await self._rt.presence.enter_room(room_id, user_id):
            await self._announce(room_id, user_id, True)

    async def exit(self, room_id: int, user_id: int, grace: bool) -> None:
        key = (room_id, user_id)
        count = self._in_room.get(key, 0) - 1
        if count > 0:
            self._in_room[key] = count
            return
        self._in_room.pop(key, None)
        delay = self._rt.settings.presence_grace_s if grace else 0.0
        if delay <= 0:
            await self._leave(room_id, user_id)
            return
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(delay, lambda: self._spawn(self._expire(key)))

    async def _expire(self, key: tuple[int, int]) -> None:
        if self._timers.pop(key, None) is None or key in self._in_room:
            return
        await self._leave(*key)

    async def _leave(self, room_id: int, user_id: int) -> None:
        if await self._rt.presence.leave_room(room_id, user_id):
            await self._announce(room_id, user_id, False)

    # -- online status -------------------------------------------------------------------
    async def connected(self, user_id: int) -> None:
        count = self._online.get(user_id, 0)
        self._online[user_id] = count + 1
        timer = self._timers.pop((0, -user_id), None)
        if timer is not None:
            timer.cancel()
            return
        if count == 0:
            await self._rt.presence.set_online(user_id, True)
            await self._online_changed(user_id, True)

    async def disconnected(self, user_id: int) -> None:
        count = self._online.get(user_id, 0) - 1
        if count > 0:
            self._online[user_id] = count
            return
        self._online.pop(user_id, None)
        key = (0, -user_id)
        loop = asyncio.get_running_loop()
        self._timers[key] = loop.call_later(
            self._rt.settings.presence_grace_s,
            lambda: self._spawn(self._offline(key, user_id)),
        )

    async def _offline(self, key: tuple[int, int], user_id: int) -> None:
        if self._timers.pop(key, None) is None or user_id in self._online:
            return
        await self._rt.presence.set_online(user_id, False)
        await self._online_changed(user_id, False)

    # -- plumbing ------------------------------------------------------------------------
    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("presence update failed", exc_info=task.exception())

    async def flush(self) -> None:
        """Shutdown: apply every pending leave now."""
        timers, self._timers = self._timers, {}
        for (room_id, uid), timer in timers.items():
            timer.cancel()
            if room_id == 0:
                await self._rt.presence.set_online(-uid, False)
            else:
                await self._leave(room_id, uid)
