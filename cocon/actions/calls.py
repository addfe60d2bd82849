"""1:1 calls: invite, answer, signal, hang up (signalling only; media goes through TURN).

Rules: calls happen only inside an accepted private conversation, never with or by a
restricted minor, never between people who blocked each other. No media flows before the
callee accepts: signalling (SDP, ICE) is refused while a call rings. Every candidate that is
not relayed is dropped (:mod:`cocon.rtc.sdp`), so neither side learns the other's address.
Without TURN, calls are off (``calls_off``) unless ``calls_direct`` is set; then both sides
are told that their address is visible to the other (``direct: true``).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import Any

from cocon.actions import media as media_actions
from cocon.actions import safety
from cocon.actions.common import brief, publish
from cocon.errors import BadRequest, ClientError, NotAllowed, NotFound
from cocon.gateway.connection import Connection
from cocon.gateway.ratelimit import TokenBucket
from cocon.protocol.events import (
    CallEvent,
    CallSignalEvent,
    Done,
    IceCandidate,
    IceServer,
    SessionDescription,
)
from cocon.rtc import sdp as sdp_screen
from cocon.rtc.calls import ACTIVE, ENDED, RINGING, Call, CallBook, book_for, new_call_id
from cocon.rtc.cams import book_for as cam_book
from cocon.rtc.turn import turn_credential
from cocon.runtime import Runtime
from cocon.store import social

log = logging.getLogger(__name__)

SDP_MAX = 12_000
CANDIDATE_MAX = 512
CALLS_OFF = (
    "Les appels sont désactivés sur ce serveur : il n'a pas de relais (TURN) pour cacher "
    "l'adresse de chacun."
)


def calls_mode(rt: Runtime) -> str:
    """"relay" (TURN configured), "direct" (operator allowed direct calls) or "off"."""
    s = rt.settings
    if s.turn_urls and s.turn_secret:
        return "relay"
    return "direct" if s.calls_direct else "off"


def ice_servers(rt: Runtime, call_id: str, role: str) -> list[IceServer]:
    """A fresh TURN credential for one participant of one call (no personal data in it)."""
    s = rt.settings
    if not (s.turn_urls and s.turn_secret):
        stun = [u for u in s.turn_urls if u.startswith("stun:")]
        return [IceServer(urls=stun)] if stun else []
    cred = turn_credential(s.turn_secret, f"{call_id}-{role[:2]}", s.turn_ttl_s)
    return [IceServer(urls=list(s.turn_urls), username=cred.username, credential=cred.password)]


def _bucket(conn: Connection) -> None:
    bucket = conn.buckets.get("call")
    if bucket is None:
        bucket = conn.buckets["call"] = TokenBucket(1 / 6, 10)  # 10 in a row, then 10 a minute
    if bucket.take():
        raise NotAllowed("Trop d'appels d'un coup ; réessayez plus tard.", code="rate_limited")


async def _event(
    rt: Runtime, call: Call, user_id: int, reason: str | None = None, ref: str | None = None
) -> CallEvent:
    role = call.role_of(user_id)
    assert role is not None
    peer = await brief(rt, call.peer_of(user_id))
    if peer is None:
        raise NotFound("Cette personne n'existe pas.")
    async with rt.engine.connect() as db:
        friendship = await db.run_sync(social.friendship, call.caller, call.callee)
    with_media = call.state != ENDED
    return CallEvent(
        call=call.id,
        state=call.state,
        role=role,
        peer=peer,
        conversation=call.conversation,
        video=call.video,
        ice_servers=ice_servers(rt, call.id, role) if with_media else [],
        direct=calls_mode(rt) == "direct",
        friend=friendship is not None and friendship.state == "friends",
        reason=reason,
        ref=ref,
    )


async def _tell(rt: Runtime, call: Call, user_id: int, reason: str | None = None) -> None:
    """Publish the call's state to one participant (all their tabs, on every node)."""
    event = await _event(rt, call, user_id, reason)
    await publish(rt, f"user:{user_id}", event, control=f"call {call.control()}")


async def _check_pair(rt: Runtime, caller: int, callee: int) -> int:
    """The accepted conversation between the two, or a ClientError."""
    if await safety.is_restricted(rt, caller) or await safety.is_restricted(rt, callee):
        raise NotAllowed(
            "Les appels ne sont pas possibles pour protéger les mineurs.", code="restricted"
        )
    async with rt.engine.connect() as db:
        if await social.is_blocked_either_way(db, caller, callee):
            raise NotAllowed("Vous ne pouvez pas appeler cette personne.", code="blocked")
        conv = await social.conversation_between(db, caller, callee)
    if conv is None or conv.state != "accepted":
        raise NotAllowed(
            "On n'appelle que dans une conversation privée acceptée.", code="not_member"
        )
    return conv.id


async def do_invite(
    rt: Runtime, book: CallBook, conn: Connection, peer_id: int, video: bool, ref: str | None
) -> None:
    if calls_mode(rt) == "off":
        raise ClientError(CALLS_OFF, code="calls_off")
    if peer_id == conn.user_id:
        raise BadRequest("Vous ne pouvez pas vous appeler vous-même.", field="user")
    if await brief(rt, peer_id) is None:
        raise NotFound("Cette personne n'existe pas.", field="user")
    conv_id = await _check_pair(rt, conn.user_id, peer_id)
    _bucket(conn)
    if book.busy(conn.user_id):
        raise ClientError("Vous êtes déjà en appel.", code="busy")
    call = Call(
        id=new_call_id(),
        caller=conn.user_id,
        callee=peer_id,
        conversation=conv_id,
        video=video,
        caller_conn=conn,
    )
    if book.busy(peer_id):
        conn.send(await _event(rt, _ended(call), conn.user_id, "busy", ref))
        return
    book.add(call)
    loop = asyncio.get_running_loop()
    call.timer = loop.call_later(
        rt.settings.call_ring_timeout_s, lambda: _spawn(_ring_timeout(rt, book, call))
    )
    conn.send(await _event(rt, call, conn.user_id, ref=ref))
    await _tell(rt, call, peer_id)


def _ended(call: Call) -> Call:
    call.state = ENDED
    return call


_tasks: set[asyncio.Task[None]] = set()


def _spawn(coro: Any) -> None:
    task = asyncio.get_running_loop().create_task(coro)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _ring_timeout(rt: Runtime, book: CallBook, call: Call) -> None:
    if call.state == RINGING:
        await end_call(rt, book, call, "timeout")


async def end_call(rt: Runtime, book: CallBook, call: Call, reason: str) -> None:
    if not call.live:
        return
    book.end(call)
    for user in (call.caller, call.callee):
        try:
            await _tell(rt, call, user, reason)
        except Exception:
            log.warning("could not tell %s that call %s ended", user, call.id, exc_info=True)


def _own_call(book: CallBook, conn: Connection, call_id: str) -> Call:
    call = book.get(call_id)
    if call is None or call.role_of(conn.user_id) is None:
        raise NotFound("Cet appel n'existe pas.", field="call")
    return call


async def do_answer(
    rt: Runtime, book: CallBook, conn: Connection, call_id: str, accept: bool, ref: str | None
) -> None:
    call = _own_call(book, conn, call_id)
    if call.callee != conn.user_id:
        raise NotAllowed("C'est à l'autre personne de répondre.")
    if call.state != RINGING:
        raise ClientError("Cet appel n'attend plus de réponse.", code="conflict", field="call")
    if not accept:
        await end_call(rt, book, call, "declined")
        conn.send(Done(ref=ref))
        return
    await _check_pair(rt, call.caller, call.callee)
    call.state = ACTIVE
    call.callee_conn = conn
    if call.timer is not None:
        call.timer.cancel()
        call.timer = None
    conn.send(await _event(rt, call, conn.user_id, ref=ref))
    await _tell(rt, call, call.caller)
    await _tell(rt, call, call.callee)


def screen_description(rt: Runtime, desc: SessionDescription) -> SessionDescription:
    """The SDP to forward (relay candidates only, addresses neutralized), or BadRequest."""
    if desc.type not in ("offer", "answer") or len(desc.sdp) > SDP_MAX:
        raise BadRequest("SDP invalide.", field="sdp")
    if calls_mode(rt) == "direct":
        return desc
    text, dropped = sdp_screen.screen_sdp(desc.sdp)
    if dropped:
        log.info("dropped %d non-relayed candidates from an SDP", dropped)
    return SessionDescription(type=desc.type, sdp=text)


def screen_signal(
    rt: Runtime, desc: SessionDescription | None, cand: IceCandidate | None
) -> tuple[SessionDescription | None, IceCandidate | None] | None:
    """One signalling message (an SDP or a candidate) as it may be forwarded, or None when
    it is dropped (a candidate that is not relayed); BadRequest if malformed."""
    if (desc is None) == (cand is None):
        raise BadRequest("sdp ou candidate, l'un des deux.", field="sdp")
    if desc is not None:
        return screen_description(rt, desc), None
    assert cand is not None
    out = screen_candidate(rt, cand)
    return None if out is None else (None, out)


def screen_candidate(rt: Runtime, cand: IceCandidate) -> IceCandidate | None:
    """The candidate to forward, or None to drop it (not relayed: its address would leak)."""
    if len(cand.candidate) > CANDIDATE_MAX:
        raise BadRequest("Candidat ICE invalide.", field="candidate")
    if calls_mode(rt) == "direct" or cand.candidate == "":  # "" = end of candidates
        return cand
    line = sdp_screen.screen_candidate(cand.candidate)
    if line is None:
        return None
    return IceCandidate(
        candidate=line,
        sdpMid=cand.sdpMid,
        sdpMLineIndex=cand.sdpMLineIndex,
        usernameFragment=cand.usernameFragment,
    )


async def do_signal(
    rt: Runtime,
    book: CallBook,
    conn: Connection,
    call_id: str,
    desc: SessionDescription | None,
    cand: IceCandidate | None,
) -> None:
    call = _own_call(book, conn, call_id)
    if call.state != ACTIVE:
        raise ClientError("Cet appel n'est pas en cours.", code="conflict", field="call")
    own = call.conn_of(conn.user_id)
    if own is not None and own is not conn:
        raise NotAllowed("Cet appel a lieu dans un autre onglet.", field="call")
    screened = screen_signal(rt, desc, cand)
    if screened is None:
        return  # dropped: not a relayed candidate (its address would leak)
    event = CallSignalEvent(call=call.id, sdp=screened[0], candidate=screened[1])
    await publish(rt, f"user:{call.peer_of(conn.user_id)}", event)


async def do_hangup(
    rt: Runtime, book: CallBook, conn: Connection, call_id: str, ref: str | None
) -> None:
    call = _own_call(book, conn, call_id)
    await end_call(rt, book, call, "hangup")
    conn.send(Done(ref=ref))


async def connection_closed(rt: Runtime, book: CallBook, conn: Connection) -> None:
    """A participant's tab went away: its calls end (the other side is told)."""
    for call in book.of_user(conn.user_id):
        if call.live and call.conn_of(conn.user_id) is conn:
            await end_call(rt, book, call, "gone")


# -- reports: a still frame of the remote video, captured by the reporter's browser --------


async def frame_evidence(
    rt: Runtime, reporter: int, accused: int, media_id: int
) -> list[dict[str, Any]]:
    """Attach the reporter's own upload (a JPEG of the call) to a report about ``accused``.

    The frame is bound to a pseudo-stream ``call:<nonce>`` so that staff can open it through
    the usual evidence routes (and nobody else: it belongs to no message).
    """
    stream = f"call:{secrets.token_hex(8)}"
    row = await media_actions.claim(rt, reporter, media_id, stream, "frame")
    if row.kind != "image":
        await media_actions.release(rt, media_id, stream, "frame")
        raise BadRequest("La capture d'un appel doit être une image.", field="media")
    await media_actions.attached(rt, media_id, 1)
    known = book_for(rt).recently_called(reporter, accused)
    # Or the room cam of ``accused`` that the reporter watched (the same kind of frame).
    watched = cam_book(rt).recently_watched(reporter, accused) if known is None else None
    what = "d'une cam de salon" if watched is not None else "d'un appel"
    return [
        {
            "stream": stream,
            "seq": 1,
            "sender": accused,
            "text": f"[image fixe {what}, capturée par la personne qui signale]",
            "ts": time.time(),
            "kind": "call_frame",
            "media": media_id,
            "call": known.id if known is not None else None,
            "cam_view": watched.id if watched is not None else None,
        }
    ]
