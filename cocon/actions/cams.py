"""Room cams: publish a webcam in a room, ask to watch it, approve, revoke (signalling only).

Rules (``docs/protocol.md`` §6): a room must allow cams (public rooms: ``cams_public``;
private rooms: their owner's choice). A member publishes (``cam_start``); every member sees
the room's live cams (in ``joined``, then ``cam`` events). Watching is asked
(``cam_ask``) and the publisher approves or declines each viewer, or sets "friends only"
(friends are let in at once, everyone else is refused). Each approved viewer gets their own
peer connection from the publisher, relay-only like a 1:1 call: signalling is refused before
approval (no stream can flow), every non-relayed candidate is dropped and the SDP screened
(:func:`cocon.actions.calls.screen_description`). At most ``cam_viewers_max`` viewers at once.
The publisher can revoke a viewer at any time (``cam_close``); leaving the room or closing the
tab ends a cam and all its views, or a viewer's view. Restricted minors and people who
blocked each other are kept apart exactly as for calls. Nothing is recorded.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Set as AbstractSet

from cocon.access import access_room
from cocon.actions import safety
from cocon.actions.calls import (
    CALLS_OFF,
    calls_mode,
    ice_servers,
    screen_signal,
)
from cocon.actions.common import brief, briefs, publish
from cocon.errors import BadRequest, ClientError, NotAllowed, NotFound, RateLimited
from cocon.gateway.connection import Connection
from cocon.gateway.ratelimit import TokenBucket
from cocon.protocol.events import (
    CamInfo,
    CamList,
    CamSignalEvent,
    CamUpdate,
    CamViewEvent,
    Done,
    IceCandidate,
    SessionDescription,
    UserBrief,
)
from cocon.rtc.cams import ACTIVE, PENDING, Cam, CamBook, View, new_id
from cocon.runtime import Runtime
from cocon.store import cams as cam_store
from cocon.store import social
from cocon.store.cams import CamRow
from cocon.store.rooms import RoomRow

log = logging.getLogger(__name__)

REASK_WAIT_S = 60.0  # after a decline or a revoke, the same cam can be asked again after this
CAMS_NOT_HERE = "Les cams ne sont pas autorisées dans ce salon."
FOR_MINORS = "Les cams ne sont pas possibles pour protéger les mineurs."


# -- checks ------------------------------------------------------------------------------


def _calls_on(rt: Runtime) -> None:
    if calls_mode(rt) == "off":
        raise ClientError(CALLS_OFF, code="calls_off")


def _bucket(conn: Connection) -> None:
    bucket = conn.buckets.get("cam")
    if bucket is None:
        bucket = conn.buckets["cam"] = TokenBucket(1 / 6, 10)  # 10 in a row, then 10 a minute
    wait = bucket.take()
    if wait:
        raise RateLimited(wait, "Trop de demandes de cam d'un coup ; réessayez plus tard.")


async def _room_here(rt: Runtime, conn: Connection, room_id: int) -> RoomRow:
    """The room, if this connection is in it and it allows cams."""
    async with rt.engine.connect() as db:
        room = await access_room(db, conn.user_id, room_id)  # NotFound if hidden from them
    if room.id not in conn.rooms:
        raise NotAllowed("Entrez d'abord dans ce salon.", code="not_member", field="room")
    if not room.cams:
        raise NotAllowed(CAMS_NOT_HERE, code="cams_off", field="room")
    return room


async def _check_people(rt: Runtime, publisher: int, viewer: int) -> None:
    """The rules of calls: no restricted minor, nobody blocked either way."""
    if await safety.is_restricted(rt, publisher) or await safety.is_restricted(rt, viewer):
        raise NotAllowed(FOR_MINORS, code="restricted")
    async with rt.engine.connect() as db:
        if await social.is_blocked_either_way(db, publisher, viewer):
            raise NotAllowed("Vous ne pouvez pas regarder cette cam.", code="blocked")


async def _friends(rt: Runtime, a: int, b: int) -> bool:
    async with rt.engine.connect() as db:
        found = await db.run_sync(social.friendship, a, b)
    return found is not None and found.state == "friends"


# -- the room's list ---------------------------------------------------------------------


def _info(user: UserBrief, row: CamRow) -> CamInfo:
    return CamInfo(user=user, friends_only=row.friends_only, since=row.started_at)


async def room_cams(rt: Runtime, room_id: int, blocked: AbstractSet[int]) -> list[CamInfo]:
    """The live cams of a room, without those of people the reader blocked. A cam whose
    publisher is no longer in the room (their node died) is not listed."""
    rows = await rt.transactions.run(cam_store.live, room_id)
    if not rows:
        return []
    present = set(await rt.presence.members(room_id))
    rows = [r for r in rows if r.user_id in present and r.user_id not in blocked]
    found = await briefs(rt, [r.user_id for r in rows])
    return [_info(found[r.user_id], r) for r in rows if r.user_id in found]


async def _announce(rt: Runtime, room: int, user: int, info: CamInfo | None) -> None:
    """Tell the room a cam went live, changed or stopped (not those who blocked its owner)."""
    await publish(rt, f"room:{room}", CamUpdate(room=room, user=user, cam=info), sender=user)


async def do_list(rt: Runtime, conn: Connection, room_id: int, ref: str | None) -> None:
    room = await _room_here(rt, conn, room_id)
    cams = await room_cams(rt, room.id, conn.blocked)
    conn.send(CamList(room=room.id, cams=cams, viewers_max=rt.settings.cam_viewers_max, ref=ref))


# -- publishing --------------------------------------------------------------------------


async def do_start(
    rt: Runtime, book: CamBook, conn: Connection, room_id: int, friends_only: bool, ref: str | None
) -> None:
    """Go live in a room; sent again while live, it changes ``friends_only``. A cam already
    live in another tab moves here (one cam per person and room)."""
    _calls_on(rt)
    room = await _room_here(rt, conn, room_id)
    if await safety.is_restricted(rt, conn.user_id):
        raise NotAllowed(FOR_MINORS, code="restricted")
    me = await brief(rt, conn.user_id)
    assert me is not None
    cam = book.cam(room.id, conn.user_id)
    if cam is not None and cam.conn is conn:
        if cam.friends_only != friends_only:
            cam.friends_only = friends_only
            async with rt.engine.begin() as db:
                await cam_store.set_friends_only(db, cam.id, friends_only)
        info = CamInfo(user=me, friends_only=friends_only, since=cam.started)
        conn.send(CamUpdate(room=room.id, user=conn.user_id, cam=info, ref=ref))
        await _announce(rt, room.id, conn.user_id, info)
        return
    _bucket(conn)
    if cam is not None:  # live in another tab on this node: it ends there
        cam.conn.send(CamUpdate(room=room.id, user=conn.user_id, cam=None))
        await _end_cam(rt, book, cam, "ended", forget=False)
    new = Cam(
        id=new_id(), room=room.id, publisher=conn.user_id, friends_only=friends_only, conn=conn
    )
    row = CamRow(room.id, conn.user_id, new.id, rt.node_id, friends_only, new.started)
    async with rt.engine.begin() as db:
        old = await cam_store.get(db, room.id, conn.user_id)
        await cam_store.put(db, row)
    book.add_cam(new)
    info = _info(me, row)
    if old is not None and (cam is None or old.cam_id != cam.id):
        # Live in a tab served by another node (or left over by a node that died): the
        # node that holds it ends it when it reads this.
        await publish(
            rt,
            f"user:{conn.user_id}",
            CamUpdate(room=room.id, user=conn.user_id, cam=info),
            control=f"camend {room.id} {old.cam_id} ended",
        )
    conn.send(CamUpdate(room=room.id, user=conn.user_id, cam=info, ref=ref))
    await _announce(rt, room.id, conn.user_id, info)


async def do_stop(
    rt: Runtime, book: CamBook, conn: Connection, room_id: int, ref: str | None
) -> None:
    cam = book.cam(room_id, conn.user_id)
    if cam is not None:
        await _end_cam(rt, book, cam, "ended", forget=True)
        if cam.conn is not conn:
            cam.conn.send(CamUpdate(room=room_id, user=conn.user_id, cam=None))
        conn.send(Done(ref=ref))
        return
    async with rt.engine.begin() as db:
        row = await cam_store.get(db, room_id, conn.user_id)
        if row is not None:
            await cam_store.remove(db, room_id, conn.user_id, row.cam_id)
    if row is None:
        raise NotFound("Votre cam n'est pas allumée dans ce salon.", field="room")
    # Live in a tab served by another node: that node ends it.
    await publish(
        rt,
        f"user:{conn.user_id}",
        CamUpdate(room=room_id, user=conn.user_id, cam=None),
        control=f"camend {room_id} {row.cam_id} ended",
    )
    await _announce(rt, room_id, conn.user_id, None)
    conn.send(Done(ref=ref))


async def _end_cam(rt: Runtime, book: CamBook, cam: Cam, reason: str, forget: bool) -> None:
    """A cam held here ends: all its views end; ``forget``: off the room's list too."""
    book.remove_cam(cam)
    for view in book.views_of_cam(cam.room, cam.publisher):
        await _end_view(rt, book, view, reason)
    if forget:
        async with rt.engine.begin() as db:
            await cam_store.remove(db, cam.room, cam.publisher, cam.id)
        await _announce(rt, cam.room, cam.publisher, None)


# -- views ---------------------------------------------------------------------------------


async def _event(rt: Runtime, view: View, user_id: int, ref: str | None = None) -> CamViewEvent:
    role = view.role_of(user_id)
    assert role is not None
    peer = await brief(rt, view.peer_of(user_id))
    if peer is None:
        raise NotFound("Cette personne n'existe pas.")
    return CamViewEvent(
        view=view.id,
        state=view.state,
        role=role,
        room=view.room,
        peer=peer,
        friend=await _friends(rt, view.publisher, view.viewer),
        ice_servers=ice_servers(rt, view.id, role) if view.state == ACTIVE else [],
        direct=calls_mode(rt) == "direct",
        reason=view.reason or None,
        ref=ref,
    )


async def _tell(rt: Runtime, view: View, user_id: int) -> None:
    """Publish the view's state to one participant (all their tabs, on every node)."""
    event = await _event(rt, view, user_id)
    await publish(rt, f"user:{user_id}", event, control=f"cam {view.control()}")


async def _end_view(rt: Runtime, book: CamBook, view: View, reason: str) -> None:
    if not view.live:
        return
    book.end(view, reason)
    for user in (view.publisher, view.viewer):
        try:
            await _tell(rt, view, user)
        except Exception:
            log.warning("could not tell %s that view %s ended", user, view.id, exc_info=True)


def _own_view(book: CamBook, conn: Connection, view_id: str) -> View:
    view = book.get(view_id)
    if view is None or view.role_of(conn.user_id) is None:
        raise NotFound("Cette demande de cam n'existe pas.", field="view")
    return view


async def do_ask(
    rt: Runtime, book: CamBook, conn: Connection, room_id: int, publisher: int, ref: str | None
) -> None:
    _calls_on(rt)
    if publisher == conn.user_id:
        raise BadRequest("C'est votre propre cam.", field="user")
    room = await _room_here(rt, conn, room_id)
    async with rt.engine.connect() as db:
        row = await cam_store.get(db, room.id, publisher)
    if row is None or publisher not in await rt.presence.members(room.id):
        raise NotFound("Cette cam n'est pas allumée.", field="user")
    await _check_people(rt, publisher, conn.user_id)
    last = book.between(room.id, publisher, conn.user_id)
    if last is not None and last.live:
        if last.viewer_conn is not conn:
            raise ClientError(
                "Vous regardez déjà cette cam dans un autre onglet.", code="conflict", field="user"
            )
        conn.send(await _event(rt, last, conn.user_id, ref))  # asked twice: where it stands
        return
    if last is not None and last.ended_at is not None and last.reason in ("declined", "revoked"):
        wait = REASK_WAIT_S - (time.monotonic() - last.ended_at)
        if wait > 0:
            raise RateLimited(
                round(wait, 1),
                "Cette personne vient de refuser ou de vous retirer ; patientez un peu.",
            )
    _bucket(conn)
    friend = await _friends(rt, publisher, conn.user_id)
    if row.friends_only and not friend:
        raise NotAllowed(
            "Cette cam est réservée aux amis de la personne.", code="friends_only", field="user"
        )
    view = View(
        id=new_id(),
        room=room.id,
        publisher=publisher,
        viewer=conn.user_id,
        state=ACTIVE if row.friends_only else PENDING,
        viewer_conn=conn,
    )
    book.add(view)
    conn.send(await _event(rt, view, conn.user_id, ref))
    await _tell(rt, view, publisher)


async def do_answer(
    rt: Runtime, book: CamBook, conn: Connection, view_id: str, accept: bool, ref: str | None
) -> None:
    view = _own_view(book, conn, view_id)
    if view.publisher != conn.user_id:
        raise NotAllowed("C'est à la personne qui filme de répondre.", field="view")
    if view.state != PENDING:
        raise ClientError("Cette demande n'attend plus de réponse.", code="conflict", field="view")
    cam = book.cam(view.room, conn.user_id)
    if cam is None or cam.conn is not conn:
        raise NotAllowed("Votre cam est allumée dans un autre onglet.", field="view")
    if not accept:
        await _end_view(rt, book, view, "declined")
        conn.send(Done(ref=ref))
        return
    await _check_people(rt, view.publisher, view.viewer)
    limit = rt.settings.cam_viewers_max
    if book.active_count(view.room, view.publisher) >= limit:
        raise ClientError(
            f"Votre cam a déjà {limit} spectateurs : retirez-en un d'abord.", code="cam_full"
        )
    view.state = ACTIVE
    conn.send(await _event(rt, view, conn.user_id, ref))
    await _tell(rt, view, view.viewer)
    await _tell(rt, view, view.publisher)


async def do_signal(
    rt: Runtime,
    book: CamBook,
    conn: Connection,
    view_id: str,
    desc: SessionDescription | None,
    cand: IceCandidate | None,
) -> None:
    view = _own_view(book, conn, view_id)
    if view.state != ACTIVE:
        raise ClientError("Cette cam n'est pas ouverte pour vous.", code="conflict", field="view")
    if view.conn_of(conn.user_id) is not conn:
        raise NotAllowed("Cette cam est regardée dans un autre onglet.", field="view")
    screened = screen_signal(rt, desc, cand)
    if screened is None:
        return  # dropped: not a relayed candidate (its address would leak)
    event = CamSignalEvent(view=view.id, sdp=screened[0], candidate=screened[1])
    await publish(rt, f"user:{view.peer_of(conn.user_id)}", event)


async def do_close(
    rt: Runtime, book: CamBook, conn: Connection, view_id: str, ref: str | None
) -> None:
    """The publisher revokes a viewer (or drops an ask), or a viewer stops watching."""
    view = _own_view(book, conn, view_id)
    reason = "revoked" if conn.user_id == view.publisher else "stopped"
    await _end_view(rt, book, view, reason)
    conn.send(Done(ref=ref))


# -- what ends cams and views --------------------------------------------------------------


async def left_room(rt: Runtime, book: CamBook, conn: Connection, room_id: int) -> None:
    """A connection left a room: its cam there ends, and so do its views there."""
    for cam in book.cams_of(conn):
        if cam.room == room_id:
            await _end_cam(rt, book, cam, "ended", forget=True)
    for view in book.of_user(conn.user_id):
        if view.live and view.room == room_id and view.viewer_conn is conn:
            await _end_view(rt, book, view, "left")


async def connection_closed(rt: Runtime, book: CamBook, conn: Connection) -> None:
    """A tab went away: its cams and its views end (the other sides are told)."""
    for cam in book.cams_of(conn):
        await _end_cam(rt, book, cam, "ended", forget=True)
    for view in book.of_user(conn.user_id):
        if view.live and view.viewer_conn is conn:
            await _end_view(rt, book, view, "gone")


async def presence_left(rt: Runtime, room_id: int, user_id: int) -> None:
    """Someone is no longer in a room at all (also when their node died): no cam of theirs
    can be live there."""
    async with rt.engine.connect() as db:  # every leave asks: a read, a write only if so
        row = await cam_store.get(db, room_id, user_id)
        if row is None:
            return
        await cam_store.remove(db, room_id, user_id, row.cam_id)
        await db.commit()
    await _announce(rt, room_id, user_id, None)


async def cams_disabled(rt: Runtime, room_id: int) -> None:
    """The owner no longer allows cams in the room: every cam there ends."""
    async with rt.engine.begin() as db:
        rows = await cam_store.remove_room(db, room_id)
    for row in rows:
        await publish(
            rt,
            f"user:{row.user_id}",
            CamUpdate(room=room_id, user=row.user_id, cam=None),
            control=f"camend {room_id} {row.cam_id} cams_off",
        )
        await _announce(rt, room_id, row.user_id, None)


async def blocked(rt: Runtime, book: CamBook, user_id: int, other: int) -> None:
    """``user_id`` blocked ``other``: their views of each other's cams end."""
    for view in book.of_user(user_id):
        if view.live and view.peer_of(user_id) == other and view.conn_of(user_id) is not None:
            await _end_view(rt, book, view, "blocked")


# -- controls from other nodes --------------------------------------------------------------


async def on_control(rt: Runtime, book: CamBook, user_id: int, verb: str, arg: str) -> None:
    """``cam <view record>`` (published to both participants' inboxes) and
    ``camend <room> <cam id> <reason>`` (to the publisher's inbox: end that cam here)."""
    if verb == "camend":
        parts = arg.split()
        if len(parts) == 3 and parts[0].isdigit():
            cam = book.cam(int(parts[0]), user_id)
            if cam is not None and cam.id == parts[1]:
                cam.conn.send(CamUpdate(room=cam.room, user=user_id, cam=None))
                await _end_cam(rt, book, cam, parts[2], forget=False)
        return
    view = book.sync(arg)
    if view is None or user_id != view.publisher or not view.live:
        return
    cam = book.cam(view.room, view.publisher)
    if cam is None:
        return  # held by another node (which checks), or gone (the row goes with presence)
    # A friend let in by "friends only" on the viewer's node: the cap is checked here, where
    # every viewer of the cam is known.
    if view.state == ACTIVE and book.active_count(view.room, view.publisher) > (
        rt.settings.cam_viewers_max
    ):
        await _end_view(rt, book, view, "full")


async def node_started(rt: Runtime) -> None:
    """Public rooms follow ``cams_public``; cams left by this node's previous life go."""
    async with rt.engine.begin() as db:
        await cam_store.set_public_cams(db, rt.settings.cams_public)
        await cam_store.remove_node(db, rt.node_id if rt.settings.redis_url else None)
