"""Voice rooms: the voice channel of a chat room, mixed by Janus's AudioBridge plugin.

``voice_join`` checks that the connection is in the chat room (``join`` first) and that the
user is not a restricted minor, creates the AudioBridge room on demand, adds a fresh token
to its ``allowed`` list and answers with what the browser needs: the Janus WebSocket URL,
the room, the token, its participant id (the user id), TURN credentials. Media go between
the browser and Janus, through TURN only (``iceTransportPolicy: 'relay'``). ``voice_leave``
and the connection's end remove the token and kick the participant; the room's owner can
mute someone (``voice_mute``). Nothing is recorded.
"""

from __future__ import annotations

import logging

from cocon.actions import safety
from cocon.actions.calls import calls_mode, ice_servers
from cocon.actions.common import brief
from cocon.actions.rooms import room_for
from cocon.errors import ClientError, NotAllowed
from cocon.gateway.connection import Connection
from cocon.gateway.ratelimit import TokenBucket
from cocon.protocol.events import Done, VoiceEvent
from cocon.rtc.janus import Janus, JanusError, janus_for, new_token
from cocon.runtime import Runtime

log = logging.getLogger(__name__)

VOICE_OFF = (
    "Les salons vocaux sont désactivés sur ce serveur (pas de serveur audio ou pas de relais "
    "TURN pour cacher l'adresse de chacun)."
)

# The tokens this node handed out, per connection and chat room (removed on leave/close).
_tokens: dict[Connection, dict[int, str]] = {}


def _janus(rt: Runtime) -> Janus:
    janus = janus_for(rt)
    if janus is None or calls_mode(rt) != "relay":
        raise ClientError(VOICE_OFF, code="voice_off")
    return janus


def _bucket(conn: Connection) -> None:
    bucket = conn.buckets.get("voice")
    if bucket is None:
        bucket = conn.buckets["voice"] = TokenBucket(1 / 6, 10)
    if bucket.take():
        raise NotAllowed("Trop de demandes d'un coup ; réessayez plus tard.", code="rate_limited")


def _unavailable(exc: Exception) -> ClientError:
    log.warning("janus: %s", exc)
    return ClientError("Le serveur audio ne répond pas ; réessayez plus tard.", code="voice_down")


async def do_join(rt: Runtime, conn: Connection, room_id: int, ref: str | None) -> None:
    janus = _janus(rt)
    room = await room_for(rt, conn.user_id, room_id)  # NotFound if it is hidden from them
    if room.id not in conn.rooms:
        raise NotAllowed("Entrez d'abord dans ce salon.", code="not_member", field="room")
    if await safety.is_restricted(rt, conn.user_id):
        raise NotAllowed(
            "Les salons vocaux ne sont pas possibles pour protéger les mineurs.", code="restricted"
        )
    _bucket(conn)
    me = await brief(rt, conn.user_id)
    assert me is not None
    token = new_token()
    mine = _tokens.setdefault(conn, {})
    try:
        old = mine.pop(room.id, None)
        if old is not None:
            await janus.disallow(room.id, old)
        await janus.kick(room.id, conn.user_id)  # one voice connection per user and room
        await janus.allow(room.id, token)
    except (JanusError, OSError, TimeoutError) as exc:
        raise _unavailable(exc) from exc
    mine[room.id] = token
    conn.send(
        VoiceEvent(
            room=room.id,
            janus=rt.settings.janus_ws_url,
            janus_room=room.id,
            token=token,
            id=conn.user_id,
            display=me.pseudo,
            ice_servers=ice_servers(rt, f"v{room.id}-{token[:8]}", "voice"),
            owner=room.private and room.owner_id == conn.user_id,
            ref=ref,
        )
    )


async def _leave(janus: Janus, conn: Connection, room_id: int) -> bool:
    mine = _tokens.get(conn, {})
    token = mine.pop(room_id, None)
    if not mine:
        _tokens.pop(conn, None)
    if token is None:
        return False
    try:
        await janus.disallow(room_id, token)
        await janus.kick(room_id, conn.user_id)
    except (JanusError, OSError, TimeoutError) as exc:
        log.warning("janus: could not end %s's voice in room %s: %s", conn.user_id, room_id, exc)
    return True


async def do_leave(rt: Runtime, conn: Connection, room_id: int, ref: str | None) -> None:
    await _leave(_janus(rt), conn, room_id)
    conn.send(Done(ref=ref))


async def do_mute(
    rt: Runtime, conn: Connection, room_id: int, user_id: int, ref: str | None
) -> None:
    janus = _janus(rt)
    room = await room_for(rt, conn.user_id, room_id)
    if not (room.private and room.owner_id == conn.user_id):
        raise NotAllowed("Seul le propriétaire du salon peut couper un micro.", field="room")
    try:
        found = await janus.mute(room.id, user_id)
    except (JanusError, OSError, TimeoutError) as exc:
        raise _unavailable(exc) from exc
    if not found:
        raise ClientError("Cette personne n'est pas dans le salon vocal.", code="not_found")
    conn.send(Done(ref=ref))


async def connection_closed(rt: Runtime, conn: Connection) -> None:
    """A tab went away: its voice rooms end (token removed, participant kicked)."""
    janus = janus_for(rt)
    rooms = list(_tokens.get(conn, {}))
    if janus is None:
        _tokens.pop(conn, None)
        return
    for room_id in rooms:
        await _leave(janus, conn, room_id)
