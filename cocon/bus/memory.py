"""In-process bus and presence: the embedded default of a single node."""

from __future__ import annotations

from collections.abc import Iterable

from cocon.bus.base import BusMessage, Deliver


class MemoryBus:
    """Delivers synchronously to the local node: nothing is lost, order is kept."""

    def __init__(self) -> None:
        self._deliver: Deliver | None = None
        self._topics: set[str] = set()

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def publish(self, message: BusMessage) -> None:
        if self._deliver is not None and message.topic in self._topics:
            self._deliver(message)

    async def subscribe(self, topic: str) -> None:
        self._topics.add(topic)

    async def unsubscribe(self, topic: str) -> None:
        self._topics.discard(topic)

    async def close(self) -> None:
        self._deliver = None
        self._topics.clear()


class MemoryPresence:
    def __init__(self) -> None:
        self._rooms: dict[int, set[int]] = {}
        self._online: set[int] = set()

    async def enter_room(self, room_id: int, user_id: int) -> bool:
        members = self._rooms.setdefault(room_id, set())
        if user_id in members:
            return False
        members.add(user_id)
        return True

    async def leave_room(self, room_id: int, user_id: int) -> bool:
        members = self._rooms.get(room_id)
        if not members or user_id not in members:
            return False
        members.discard(user_id)
        if not members:
            del self._rooms[room_id]
        return True

    async def members(self, room_id: int) -> list[int]:
        return sorted(self._rooms.get(room_id, ()))

    async def counts(self, room_ids: Iterable[int]) -> dict[int, int]:
        return {rid: len(self._rooms.get(rid, ())) for rid in room_ids}

    async def set_online(self, user_id: int, online: bool) -> None:
        if online:
            self._online.add(user_id)
        else:
            self._online.discard(user_id)

    async def online(self, user_ids: Iterable[int]) -> set[int]:
        return {u for u in user_ids if u in self._online}

    async def close(self) -> None:
        self._rooms.clear()
        self._online.clear()
