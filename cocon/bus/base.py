"""The bus and presence interfaces every implementation follows."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol

import msgspec


class BusMessage(msgspec.Struct, array_like=True, frozen=True):
    """One publication. ``payload`` is the client event, JSON-encoded once by the publisher.

    ``seq`` > 0 marks a stream entry (receivers keep per-stream order and detect gaps);
    ``sender`` lets receivers skip users who blocked the sender; ``control`` asks the nodes
    to change the subscriptions of a user's connections (``"sub dm:3"``, ``"unsub room:4"``,
    ``"block 7"``, ``"unblock 7"``) before the payload is delivered; a control with an empty
    payload delivers nothing.
    """

    topic: str
    payload: bytes
    seq: int = 0
    sender: int = 0
    control: str = ""


Deliver = Callable[[BusMessage], None]


class Bus(Protocol):
    """At-most-once pub/sub; receivers backfill stream gaps from the store."""

    async def start(self, deliver: Deliver) -> None:
        """Begin delivering publications on subscribed topics to ``deliver``."""

    async def publish(self, message: BusMessage) -> None:
        """Send to every node subscribed to ``message.topic`` (this one included)."""

    async def subscribe(self, topic: str) -> None: ...

    async def unsubscribe(self, topic: str) -> None: ...

    async def close(self) -> None: ...


class Presence(Protocol):
    """Who is in which room, and who is online, across every node."""

    async def enter_room(self, room_id: int, user_id: int) -> bool:
        """Mark present; True if the user was not present before (announce a join)."""

    async def leave_room(self, room_id: int, user_id: int) -> bool:
        """Mark absent; True if the user was present (announce a leave)."""

    async def members(self, room_id: int) -> list[int]: ...

    async def counts(self, room_ids: Iterable[int]) -> dict[int, int]: ...

    async def set_online(self, user_id: int, online: bool) -> None: ...

    async def online(self, user_ids: Iterable[int]) -> set[int]: ...

    async def close(self) -> None: ...
