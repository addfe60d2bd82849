"""The calls this node knows about, in memory (nothing about a call is ever stored).

A call is created on the caller's node by ``call_invite``. Every change of state is also
published as a ``call`` control to both participants' inboxes, so every node that serves one
of them keeps the same record (:meth:`CallBook.sync`): the callee's node can then check its
answer and its signalling. Each participant's own connection (the tab that invited or
answered) is remembered on the node that serves it; signalling from other tabs is refused.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

RINGING, ACTIVE, ENDED = "ringing", "active", "ended"
KEEP_ENDED_S = 600.0  # an ended call is remembered a while (late signals, reports)


@dataclass(slots=True)
class Call:
    id: str
    caller: int
    callee: int
    conversation: int
    video: bool
    state: str = RINGING
    created: float = field(default_factory=time.monotonic)
    ended_at: float | None = None
    # The connection of each participant, on the node that serves it (None elsewhere).
    caller_conn: Any = None
    callee_conn: Any = None
    timer: asyncio.TimerHandle | None = None

    def role_of(self, user_id: int) -> str | None:
        if user_id == self.caller:
            return "caller"
        if user_id == self.callee:
            return "callee"
        return None

    def peer_of(self, user_id: int) -> int:
        return self.callee if user_id == self.caller else self.caller

    def conn_of(self, user_id: int) -> Any:
        return self.caller_conn if user_id == self.caller else self.callee_conn

    @property
    def live(self) -> bool:
        return self.state != ENDED

    def control(self) -> str:
        """The control argument that carries this record to other nodes."""
        video = 1 if self.video else 0
        return f"{self.id} {self.state} {self.caller} {self.callee} {self.conversation} {video}"


def new_call_id() -> str:
    return secrets.token_urlsafe(12)


class CallBook:
    def __init__(self) -> None:
        self.calls: dict[str, Call] = {}
        self._by_user: dict[int, set[str]] = {}

    def get(self, call_id: str) -> Call | None:
        return self.calls.get(call_id)

    def add(self, call: Call) -> None:
        self._prune()
        self.calls[call.id] = call
        for user in (call.caller, call.callee):
            self._by_user.setdefault(user, set()).add(call.id)

    def of_user(self, user_id: int) -> list[Call]:
        return [self.calls[i] for i in self._by_user.get(user_id, ()) if i in self.calls]

    def busy(self, user_id: int) -> bool:
        return any(c.live for c in self.of_user(user_id))

    def end(self, call: Call) -> None:
        call.state = ENDED
        call.ended_at = time.monotonic()
        call.caller_conn = call.callee_conn = None
        if call.timer is not None:
            call.timer.cancel()
            call.timer = None

    def sync(self, arg: str) -> None:
        """Apply a ``call`` control published by the node where the change happened."""
        parts = arg.split()
        if len(parts) != 6 or not all(p.isdigit() for p in parts[2:]):
            return
        call_id, state = parts[0], parts[1]
        call = self.calls.get(call_id)
        if call is None:
            if state == ENDED:
                return
            call = Call(
                id=call_id,
                caller=int(parts[2]),
                callee=int(parts[3]),
                conversation=int(parts[4]),
                video=parts[5] == "1",
                state=state,
            )
            self.add(call)
        elif state == ENDED and call.live:
            self.end(call)
        elif state == ACTIVE and call.state == RINGING:
            call.state = ACTIVE

    def recently_called(self, a: int, b: int) -> Call | None:
        """The latest call between two users that this node remembers."""
        found = [c for c in self.of_user(a) if c.peer_of(a) == b]
        return max(found, key=lambda c: c.created) if found else None

    def _prune(self) -> None:
        now = time.monotonic()
        for call in list(self.calls.values()):
            if call.ended_at is not None and now - call.ended_at > KEEP_ENDED_S:
                del self.calls[call.id]
                for user in (call.caller, call.callee):
                    ids = self._by_user.get(user)
                    if ids is not None:
                        ids.discard(call.id)
                        if not ids:
                            del self._by_user[user]


_books: dict[int, tuple[object, CallBook]] = {}


def book_for(rt: object) -> CallBook:
    """The call book of a node (one per Runtime; the Runtime is kept alongside its id)."""
    found = _books.get(id(rt))
    if found is None or found[0] is not rt:
        found = _books[id(rt)] = (rt, CallBook())
    return found[1]
