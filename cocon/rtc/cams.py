"""Room cams and their viewers, in memory (nothing about a view is ever stored).

A **cam** is held by the node that serves its publisher's tab (the connection that started
it); the list of a room's live cams is shared through the store (``store/cams.py``) so that
every node can show it. A **view** is one viewer of one cam, with its own relay-only peer
connection from the publisher: "pending" (asked), "active" (approved), "ended". Like a call
(:mod:`cocon.rtc.calls`), every change of a view is published as a ``cam`` control to both
participants' inboxes, so every node that serves one of them keeps the same record
(:meth:`CamBook.sync`) and can check their signalling. Each participant's own connection is
remembered on the node that serves it; signalling from other tabs is refused.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

PENDING, ACTIVE, ENDED = "pending", "active", "ended"
KEEP_ENDED_S = 600.0  # an ended view is remembered a while (late signals, re-ask cooldown)
_STATES = (PENDING, ACTIVE, ENDED)


@dataclass(slots=True)
class Cam:
    id: str
    room: int
    publisher: int
    friends_only: bool
    conn: Any  # the publishing connection (this node)
    started: float = field(default_factory=time.time)


@dataclass(slots=True)
class View:
    id: str
    room: int
    publisher: int
    viewer: int
    state: str = PENDING
    reason: str = ""  # why it ended
    created: float = field(default_factory=time.monotonic)
    ended_at: float | None = None
    # The connection of each participant, on the node that serves it (None elsewhere).
    publisher_conn: Any = None
    viewer_conn: Any = None

    def role_of(self, user_id: int) -> str | None:
        if user_id == self.publisher:
            return "publisher"
        if user_id == self.viewer:
            return "viewer"
        return None

    def peer_of(self, user_id: int) -> int:
        return self.viewer if user_id == self.publisher else self.publisher

    def conn_of(self, user_id: int) -> Any:
        return self.publisher_conn if user_id == self.publisher else self.viewer_conn

    @property
    def live(self) -> bool:
        return self.state != ENDED

    def control(self) -> str:
        """The control argument that carries this record to other nodes."""
        reason = self.reason or "-"
        return f"{self.id} {self.state} {self.room} {self.publisher} {self.viewer} {reason}"


def new_id() -> str:
    return secrets.token_urlsafe(12)


class CamBook:
    def __init__(self) -> None:
        self.cams: dict[tuple[int, int], Cam] = {}  # (room, publisher) -> cam held here
        self.views: dict[str, View] = {}
        self._by_user: dict[int, set[str]] = {}

    # -- cams ----------------------------------------------------------------------------
    def cam(self, room: int, publisher: int) -> Cam | None:
        return self.cams.get((room, publisher))

    def add_cam(self, cam: Cam) -> None:
        self.cams[(cam.room, cam.publisher)] = cam
        for view in self.views_of_cam(cam.room, cam.publisher):
            view.publisher_conn = cam.conn

    def remove_cam(self, cam: Cam) -> None:
        if self.cams.get((cam.room, cam.publisher)) is cam:
            del self.cams[(cam.room, cam.publisher)]

    def cams_of(self, conn: Any) -> list[Cam]:
        return [c for c in self.cams.values() if c.conn is conn]

    # -- views ---------------------------------------------------------------------------
    def get(self, view_id: str) -> View | None:
        return self.views.get(view_id)

    def add(self, view: View) -> None:
        self._prune()
        self.views[view.id] = view
        for user in (view.publisher, view.viewer):
            self._by_user.setdefault(user, set()).add(view.id)
        cam = self.cam(view.room, view.publisher)
        if cam is not None and view.publisher_conn is None:
            view.publisher_conn = cam.conn

    def of_user(self, user_id: int) -> list[View]:
        return [self.views[i] for i in self._by_user.get(user_id, ()) if i in self.views]

    def views_of_cam(self, room: int, publisher: int) -> list[View]:
        """The live views of a cam."""
        return [
            v
            for v in self.of_user(publisher)
            if v.live and v.room == room and v.publisher == publisher
        ]

    def active_count(self, room: int, publisher: int) -> int:
        return sum(1 for v in self.views_of_cam(room, publisher) if v.state == ACTIVE)

    def between(self, room: int, publisher: int, viewer: int) -> View | None:
        """The latest view of that cam by that viewer that this node remembers."""
        found = [
            v
            for v in self.of_user(viewer)
            if v.room == room and v.publisher == publisher and v.viewer == viewer
        ]
        return max(found, key=lambda v: v.created) if found else None

    def end(self, view: View, reason: str) -> None:
        view.state = ENDED
        view.reason = reason
        view.ended_at = time.monotonic()
        view.publisher_conn = view.viewer_conn = None

    def sync(self, arg: str) -> View | None:
        """Apply a ``cam`` control published by the node where the change happened; the
        view it is about (None if the control is malformed or about a forgotten view)."""
        parts = arg.split()
        if len(parts) != 6 or parts[1] not in _STATES:
            return None
        if not all(p.isdigit() for p in parts[2:5]):
            return None
        view_id, state = parts[0], parts[1]
        reason = "" if parts[5] == "-" else parts[5]
        view = self.views.get(view_id)
        if view is None:
            if state == ENDED:
                return None
            view = View(
                id=view_id,
                room=int(parts[2]),
                publisher=int(parts[3]),
                viewer=int(parts[4]),
                state=state,
            )
            self.add(view)
        elif state == ENDED and view.live:
            self.end(view, reason)
        elif state == ACTIVE and view.state == PENDING:
            view.state = ACTIVE
        return view

    def recently_watched(self, viewer: int, publisher: int) -> View | None:
        """The latest view of ``publisher``'s cams by ``viewer`` (reports)."""
        found = [v for v in self.of_user(viewer) if v.publisher == publisher]
        return max(found, key=lambda v: v.created) if found else None

    def _prune(self) -> None:
        now = time.monotonic()
        for view in list(self.views.values()):
            if view.ended_at is not None and now - view.ended_at > KEEP_ENDED_S:
                del self.views[view.id]
                for user in (view.publisher, view.viewer):
                    ids = self._by_user.get(user)
                    if ids is not None:
                        ids.discard(view.id)
                        if not ids:
                            del self._by_user[user]


_books: dict[int, tuple[object, CamBook]] = {}


def book_for(rt: object) -> CamBook:
    """The cam book of a node (one per Runtime; the Runtime is kept alongside its id)."""
    found = _books.get(id(rt))
    if found is None or found[0] is not rt:
        found = _books[id(rt)] = (rt, CamBook())
    return found[1]
