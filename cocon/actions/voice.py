"""Voice rooms: the voice channel of a chat room, mixed by Janus's AudioBridge plugin.

``voice_join`` checks that the connection is in the chat room (``join`` first) and that the
user is not a restricted minor, and answers with what the browser needs: the Janus WebSocket
URL, its participant id (chosen here, see :func:`cocon.rtc.janus.participant_id`), its
display (the pseudo) and TURN credentials. The browser opens its own Janus session and
AudioBridge handle and hands their ids over with ``voice_attach``; the server then makes that
handle join, with the room's token, which no browser ever sees. Media go between the browser
and Janus, through TURN only (``iceTransportPolicy: 'relay'``). Nothing is recorded.

While a node has people in a voice room, its watcher sits in the room too (silent, no
media) and hears every join, rename and mute change: a participant whose browser changes the
display Cocon gave it is put out (``renamed``), and one muted by a moderator who unmutes
themselves is muted again at once. A voice connection ends on ``voice_leave``, when the tab
goes away, when the connection leaves the chat room (leave, kick), or is replaced by another
tab of the same person; the participant is kicked from the AudioBridge room, so everyone
there sees them go.

Muting is :mod:`cocon.actions.voice_mute`; a moderator's mute is held here (the watcher).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from cocon.access import access_room
from cocon.actions import safety
from cocon.actions.calls import calls_mode, ice_servers
from cocon.actions.common import brief
from cocon.errors import BadRequest, ClientError, Conflict, NotAllowed, NotFound
from cocon.gateway.connection import Connection
from cocon.gateway.ratelimit import TokenBucket
from cocon.protocol.events import Done, VoiceEnded, VoiceEvent
from cocon.rtc.janus import Janus, JanusError, Watcher, janus_for, participant_id, user_of
from cocon.runtime import Runtime
from cocon.store import moderation as mod_store
from cocon.store.rooms import RoomRow

log = logging.getLogger(__name__)

VOICE_OFF = (
    "Les salons vocaux sont désactivés sur ce serveur (pas de serveur audio ou pas de relais "
    "TURN pour cacher l'adresse de chacun)."
)
JANUS_ID_MAX = 2**53  # Janus ids fit in a JavaScript number
JANUS_FAILURES = (JanusError, aiohttp.ClientError, OSError, TimeoutError)


@dataclass(eq=False)
class Seat:
    """One connection's place in one voice room."""

    conn: Connection
    room: int
    participant: int  # its AudioBridge id
    display: str
    attached: bool = False  # its handle was made to join


class VoiceBook:
    """The seats of this node, by connection, by room and by AudioBridge id."""

    def __init__(self) -> None:
        self.by_conn: dict[Connection, dict[int, Seat]] = {}
        self.by_room: dict[int, dict[int, Seat]] = {}  # room -> participant -> seat
        self.by_participant: dict[int, Seat] = {}

    def get(self, conn: Connection, room: int) -> Seat | None:
        return self.by_conn.get(conn, {}).get(room)

    def add(self, seat: Seat) -> None:
        """Add a seat (it replaces the connection's older seat in that room, if any)."""
        old = self.get(seat.conn, seat.room)
        if old is not None:
            self.remove(old)
        self.by_conn.setdefault(seat.conn, {})[seat.room] = seat
        self.by_room.setdefault(seat.room, {})[seat.participant] = seat
        self.by_participant[seat.participant] = seat

    def remove(self, seat: Seat) -> bool:
        """False if it was already gone."""
        mine = self.by_conn.get(seat.conn, {})
        if mine.get(seat.room) is not seat:
            return False
        del mine[seat.room]
        if not mine:
            del self.by_conn[seat.conn]
        here = self.by_room[seat.room]
        del here[seat.participant]
        if not here:
            del self.by_room[seat.room]
        del self.by_participant[seat.participant]
        return True

    def of(self, conn: Connection) -> list[Seat]:
        return list(self.by_conn.get(conn, {}).values())

    def in_room(self, room: int) -> list[Seat]:
        return list(self.by_room.get(room, {}).values())


_books: dict[int, tuple[Runtime, VoiceBook]] = {}


def book_for(rt: Runtime) -> VoiceBook:
    found = _books.get(id(rt))
    if found is None or found[0] is not rt:
        found = _books[id(rt)] = (rt, VoiceBook())
    return found[1]


def janus_or_off(rt: Runtime) -> Janus:
    janus = janus_for(rt)
    if janus is None or calls_mode(rt) != "relay":
        raise ClientError(VOICE_OFF, code="voice_off")
    if janus.watcher is None:
        janus.watcher = Watcher(janus, lambda room, data: on_janus_event(rt, room, data))
    return janus


def _bucket(conn: Connection) -> None:
    bucket = conn.buckets.get("voice")
    if bucket is None:
        bucket = conn.buckets["voice"] = TokenBucket(1 / 6, 10)
    if bucket.take():
        raise NotAllowed("Trop de demandes d'un coup ; réessayez plus tard.", code="rate_limited")


def unavailable(exc: Exception) -> ClientError:
    log.warning("janus: %s", exc)
    return ClientError("Le serveur audio ne répond pas ; réessayez plus tard.", code="voice_down")


async def _room(rt: Runtime, user_id: int, room_id: int) -> RoomRow:
    async with rt.engine.connect() as db:
        return await access_room(db, user_id, room_id)  # NotFound if hidden from them


async def moderator_muted(rt: Runtime, user_id: int, room_id: int) -> list[int]:
    """The moderators' mutes (sanction ids) that hold this person silent in this room."""
    async with rt.engine.connect() as db:
        return await mod_store.active_voice_mutes(db, user_id, room_id, time.time())


# -- joining and leaving -------------------------------------------------------------------


async def do_join(rt: Runtime, conn: Connection, room_id: int, ref: str | None) -> None:
    janus_or_off(rt)
    room = await _room(rt, conn.user_id, room_id)
    if room.id not in conn.rooms:
        raise NotAllowed("Entrez d'abord dans ce salon.", code="not_member", field="room")
    if await safety.is_restricted(rt, conn.user_id):
        raise NotAllowed(
            "Les salons vocaux ne sont pas possibles pour protéger les mineurs.", code="restricted"
        )
    _bucket(conn)
    me = await brief(rt, conn.user_id)
    assert me is not None
    book = book_for(rt)
    old = book.get(conn, room.id)
    if old is not None:
        await end_seat(rt, old, None)
    seat = Seat(conn, room.id, participant_id(conn.user_id), me.pseudo)
    book.add(seat)
    conn.send(
        VoiceEvent(
            room=room.id,
            janus=rt.settings.janus_ws_url,
            janus_room=room.id,
            id=seat.participant,
            display=seat.display,
            ice_servers=ice_servers(rt, f"v{room.id}-{seat.participant:x}", "voice"),
            owner=room.private and room.owner_id == conn.user_id,
            muted=bool(await moderator_muted(rt, conn.user_id, room.id)),
            ref=ref,
        )
    )


def _janus_id(value: int, field: str) -> int:
    if not 0 < value < JANUS_ID_MAX:
        raise BadRequest("Identifiant Janus invalide.", field=field)
    return value


async def do_attach(
    rt: Runtime, conn: Connection, room_id: int, session: int, handle: int, ref: str | None
) -> None:
    """Make the browser's AudioBridge handle join the voice room, as the server decided."""
    janus = janus_or_off(rt)
    _janus_id(session, "session")
    _janus_id(handle, "handle")
    book = book_for(rt)
    seat = book.get(conn, room_id)
    if seat is None:
        raise NotFound("Demandez d'abord à rejoindre le salon vocal.", field="room")
    if seat.attached:
        raise Conflict("Vous êtes déjà dans ce salon vocal.", field="room")
    assert janus.watcher is not None
    try:
        await janus.watcher.watch(seat.room)
        # One voice connection per person and room: the others (other tabs, other nodes) go.
        for other in book.in_room(seat.room):
            if other is not seat and other.conn.user_id == conn.user_id:
                await end_seat(rt, other, "replaced")
        for p in await janus.participants(seat.room):
            if p["id"] != seat.participant and user_of(p["id"]) == conn.user_id:
                await janus.kick(seat.room, p["id"])
        muted = bool(await moderator_muted(rt, conn.user_id, seat.room))
        await janus.join(seat.room, session, handle, seat.participant, seat.display, muted)
    except JanusError as exc:
        if exc.code in (458, 459):
            raise NotFound("Session ou poignée Janus inconnue.", field="session") from exc
        raise unavailable(exc) from exc
    except JANUS_FAILURES as exc:
        raise unavailable(exc) from exc
    if book.get(conn, room_id) is not seat:  # ended meanwhile (left, tab closed): undo
        await _let_go(janus, book, seat.room, seat.participant)
        raise NotFound("Vous n'êtes plus dans ce salon vocal.", field="room")
    seat.attached = True
    conn.send(Done(ref=ref))


async def end_seat(rt: Runtime, seat: Seat, reason: str | None, kick: bool = True) -> None:
    """End one voice connection: out of the AudioBridge room (everyone there sees it) and,
    with a ``reason``, the connection is told."""
    book = book_for(rt)
    if not book.remove(seat):
        return
    janus = janus_for(rt)
    if janus is None:
        return
    if reason is not None and not seat.conn.closed:
        seat.conn.send(VoiceEnded(room=seat.room, reason=reason))
    await _let_go(janus, book, seat.room, seat.participant if kick and seat.attached else None)


async def _let_go(janus: Janus, book: VoiceBook, room: int, participant: int | None) -> None:
    """Kick ``participant`` (if any), and stop watching the room once no seat is left here."""
    try:
        if participant is not None:
            await janus.kick(room, participant)
        if not book.in_room(room) and janus.watcher is not None:
            await janus.watcher.unwatch(room)
    except JANUS_FAILURES as exc:
        log.warning("janus: could not let %s go in voice room %s: %s", participant, room, exc)


async def do_leave(rt: Runtime, conn: Connection, room_id: int, ref: str | None) -> None:
    janus_or_off(rt)
    seat = book_for(rt).get(conn, room_id)
    if seat is not None:
        await end_seat(rt, seat, None)
    conn.send(Done(ref=ref))


async def left_room(rt: Runtime, conn: Connection, room_id: int) -> None:
    """The connection left the chat room (leave, kicked): its voice there ends."""
    seat = book_for(rt).get(conn, room_id)
    if seat is not None:
        await end_seat(rt, seat, "left")


async def connection_closed(rt: Runtime, conn: Connection) -> None:
    """A tab went away (or was closed by moderation): its voice rooms end."""
    for seat in book_for(rt).of(conn):
        await end_seat(rt, seat, None)


# -- what the watcher hears ----------------------------------------------------------------


async def on_janus_event(rt: Runtime, room: int, data: dict[str, Any]) -> None:
    """An AudioBridge event of a room this node watches: hold our participants to what the
    server decided."""
    book = book_for(rt)
    janus = janus_for(rt)
    if janus is None:
        return
    for gone in (data.get("leaving"), data.get("kicked")):
        seat = book.by_participant.get(gone) if isinstance(gone, int) else None
        if seat is not None and seat.attached:  # not by us: Janus lost them, or a new tab
            await end_seat(rt, seat, "gone", kick=False)
    found = data.get("participants")
    for p in found if isinstance(found, list) else []:
        ident = p.get("id") if isinstance(p, dict) else None
        seat = book.by_participant.get(ident) if isinstance(ident, int) else None
        if seat is None or not seat.attached:
            continue
        if p.get("display") != seat.display:
            await end_seat(rt, seat, "renamed")
        elif not p.get("muted") and await moderator_muted(rt, seat.conn.user_id, room):
            await janus.mute(room, seat.participant)
