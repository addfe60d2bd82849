"""One authenticated WebSocket connection: who it is, what it follows, its send queue."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TYPE_CHECKING

from cocon.gateway.frames import text_frame
from cocon.gateway.hub import Hub
from cocon.gateway.outbox import Outbox
from cocon.gateway.ratelimit import TokenBucket
from cocon.protocol.events import Event, encode
from cocon.store.identities import UserRow

if TYPE_CHECKING:
    from cocon.gateway.link import Link


class Connection:
    """Per-connection state. All writes go through the hub's flusher (never awaited)."""

    def __init__(
        self, hub: Hub, outbox: Outbox, user: UserRow, ip: str, link: Link, commands: TokenBucket
    ) -> None:
        self.hub = hub
        self.outbox = outbox
        self.link = link
        self.user = user
        self.user_id = user.id
        self.ip = ip
        self.topics: set[str] = set()
        self.rooms: set[int] = set()
        self._blocked: frozenset[int] = frozenset()
        # stream -> live entries parked while the client is brought up to date on it
        self.syncing: dict[str, list[tuple[int, bytes]]] = {}
        self.buckets: dict[str, TokenBucket] = {}
        self.typing_sent: dict[str, float] = {}
        self.commands = commands  # this connection's command rate
        self.closed = False
        self.added = False  # to the hub: what the teardown has to undo
        self.torn_down = False
        self.in_flight: set[asyncio.Task[None]] = set()  # sends waiting for their commit

    @property
    def blocked(self) -> frozenset[int]:
        """The users this connection's user blocked: their messages come as ``hidden``."""
        return self._blocked

    @blocked.setter
    def blocked(self, users: Iterable[int]) -> None:
        self._blocked = frozenset(users)
        self.hub.refresh(self)

    def send(self, event: Event) -> None:
        self.hub.flusher.put(self.outbox, text_frame(encode(event)))

    def begin_sync(self, stream: str) -> None:
        if stream not in self.syncing:
            self.syncing[stream] = []
            self.hub.refresh(self)

    def end_sync(self, stream: str, last_seq: int) -> None:
        """Release parked live entries that the reply did not already contain."""
        parked = self.syncing.pop(stream, None)
        if parked is None:
            return
        self.hub.refresh(self)
        put = self.hub.flusher.put
        for seq, frame in sorted(parked, key=lambda p: p[0]):
            if seq > last_seq:
                put(self.outbox, frame)
                last_seq = seq

    def abort_sync(self, stream: str) -> None:
        if self.syncing.pop(stream, None) is not None:
            self.hub.refresh(self)
