"""Sending, typing, history and resume on streams."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from cocon.access import (
    access_conversation,
    access_room_to_join,
    access_stream_to_read,
    parse_stream,
)
from cocon.actions import calls as call_actions
from cocon.actions import cams as cam_actions
from cocon.actions import media as media_actions
from cocon.actions import rooms, safety
from cocon.actions import voice as voice_actions
from cocon.actions.common import (
    brief,
    briefs,
    entry_events,
    notify,
    publish,
    publish_control,
    publish_entry,
    text_request,
    to_builtins,
)
from cocon.actions.dm_facts import DmFacts, dm_facts
from cocon.actions.private import conversation_info, position
from cocon.domain.pseudo import pseudo_key
from cocon.domain.text import clean_text, mentioned_pseudos
from cocon.errors import BadRequest, ClientError, NotAllowed, RateLimited
from cocon.gateway.connection import Connection
from cocon.gateway.ratelimit import TokenBucket
from cocon.gateway.tracker import Tracker
from cocon.moderation import gate
from cocon.protocol.commands import Position
from cocon.protocol.events import (
    Ack,
    HistoryPage,
    MediaInfo,
    Message,
    Resumed,
    TypingEvent,
    UserBrief,
)
from cocon.rtc.calls import book_for
from cocon.rtc.cams import book_for as cam_book
from cocon.runtime import Runtime
from cocon.safety.policy import Action
from cocon.store import streams as stream_store
from cocon.store.streams import Appended

TYPING_EVERY_S = 3.0
HISTORY_MAX = 100


def _rate_limit(rt: Runtime, conn: Connection, stream: str) -> None:
    bucket = conn.buckets.get(stream)
    if bucket is None:
        s = rt.settings
        bucket = conn.buckets[stream] = TokenBucket(s.rate_per_s, s.rate_burst)
    wait = bucket.take()
    if wait:
        raise RateLimited(wait)


async def _check_dm_writable(rt: Runtime, conn: Connection, conv_id: int) -> DmFacts:
    """The conversation's facts, or a refusal; ``sent_while_pending == 0`` on a pending
    conversation means this is the request's first message."""
    facts = await dm_facts(rt, conn.user_id, conv_id)
    conv = facts.conv
    peer = conv.peer_of(conn.user_id)
    if conv.state == "declined":
        raise NotAllowed("Cette personne a refusé la conversation.", code="declined")
    if facts.blocked:
        raise NotAllowed("Vous ne pouvez pas écrire à cette personne.", code="blocked")
    await safety.check_sender_not_restricted(rt, conn.user_id, peer)
    if conv.state == "accepted":
        return facts
    if conv.requested_by != conn.user_id:
        raise NotAllowed("Acceptez d'abord cette demande.", code="not_member")
    if facts.sent_while_pending >= rt.settings.pending_pm_limit:
        raise NotAllowed("Attendez que cette personne accepte votre demande.", code="pending_limit")
    return facts


async def mentions_in(rt: Runtime, room_id: int, text: str) -> list[int]:
    """The members of the room that ``text`` mentions (``@pseudo``)."""
    names = mentioned_pseudos(text)
    if not names:
        return []
    wanted = {pseudo_key(n) for n in names}
    members = await briefs(rt, await rt.presence.members(room_id))
    return sorted(uid for uid, b in members.items() if pseudo_key(b.pseudo) in wanted)


async def end_live_media(rt: Runtime, user_id: int) -> None:
    """Someone just restricted as a minor: their calls, room cams (published or watched)
    and voice rooms held by this node end at once, as the firewall would have refused them.
    Every node runs it on the ``restricted`` control that the restriction publishes."""
    for tab in list(rt.hub.connections_of(user_id)):
        await call_actions.connection_closed(rt, book_for(rt), tab)
        await cam_actions.connection_closed(rt, cam_book(rt), tab)
        for seat in voice_actions.book_for(rt).of(tab):
            await voice_actions.end_seat(rt, seat, "restricted")


async def do_send(
    rt: Runtime,
    conn: Connection,
    stream: str,
    cid: str,
    text: str,
    ref: str | None = None,
    media: int | None = None,
    confirm: bool = False,
) -> Coroutine[Any, Any, None] | None:
    """Check and queue a message; returns the rest (ack and publish once committed).

    Everything up to the queueing runs in the connection's command order; the rest is left
    to the caller to run concurrently, so that a burst of sends from one connection is
    committed as one batch and fanned out in one write per recipient.
    """
    if not 1 <= len(cid) <= 64:
        raise BadRequest("cid doit faire de 1 à 64 caractères.", field="cid")
    try:
        text = clean_text(text, rt.settings.message_max_chars)
    except BadRequest as exc:
        if media is None or exc.code != "empty":
            raise
        text = ""  # a photo, video or sound needs no caption
    kind, ident = parse_stream(stream)
    mentions: list[int] = []
    first_request_to: int | None = None
    facts: DmFacts | None = None
    if kind == "room":
        if ident not in conn.rooms:
            raise NotAllowed("Rejoignez d'abord ce salon.", code="not_member")
        _rate_limit(rt, conn, stream)
        mentions = await mentions_in(rt, ident, text)
    elif kind == "dm":
        _rate_limit(rt, conn, stream)
        facts = await _check_dm_writable(rt, conn, ident)
        if facts.conv.state == "pending" and facts.sent_while_pending == 0:
            first_request_to = facts.conv.peer_of(conn.user_id)
    else:
        raise NotAllowed("On ne peut pas écrire dans ce fil.")
    await gate.check_send(rt, conn.user_id, ident if kind == "room" else None)
    screening = await safety.screen(rt, conn, kind, ident, text, facts)
    action = screening.decision.action
    if action == Action.NUDGE and not confirm:
        raise safety.confirm_needed(screening)
    if not screening.decision.deliver:
        await safety.withhold(rt, conn, stream, cid, text, screening, ref)
        if action == Action.RESTRICT_MINOR:  # on every node serving them, this one too
            await publish_control(rt, conn.user_id, "restricted")
        return None
    if media is not None and await safety.is_restricted(rt, conn.user_id):
        raise NotAllowed("Les photos, vidéos et sons ne sont pas disponibles.", code="restricted")
    sender = rt.briefs.get(conn.user_id) or await brief(rt, conn.user_id)
    assert sender is not None
    attached: MediaInfo | None = None
    if media is not None:
        row = await media_actions.claim(rt, conn.user_id, media, stream, cid)
        attached = media_actions.media_info(row)
    committed = rt.appender.submit(
        text_request(stream, conn.user_id, cid, text, mentions, media, screening.flag)
    )
    outgoing = _Outgoing(stream, cid, text, mentions, sender, attached, screening, first_request_to)
    return _delivered(rt, conn, committed, outgoing, ref)


@dataclass(frozen=True, slots=True)
class _Outgoing:
    stream: str
    cid: str
    text: str
    mentions: list[int]
    sender: UserBrief
    media: MediaInfo | None
    screening: safety.Screening
    request_to: int | None  # first message of a private request: notify this user


async def _delivered(
    rt: Runtime,
    conn: Connection,
    committed: asyncio.Future[Appended],
    out: _Outgoing,
    ref: str | None,
) -> None:
    """Once committed: ack, publish, then what may wait (cards, media, request notice)."""
    try:
        done = await committed
    except BaseException:
        if out.media is not None:
            await media_actions.release(rt, out.media.id, out.stream, out.cid)
        raise
    # From the commit to the publication nothing may await: the appender wakes its callers
    # in commit order, and publishing before yielding keeps the node's fan-out in seq order.
    conn.send(Ack(cid=out.cid, stream=out.stream, seq=done.seq, ref=ref, duplicate=done.duplicate))
    if done.duplicate:
        return
    event = Message(
        stream=out.stream,
        seq=done.seq,
        sender=out.sender,
        text=out.text,
        ts=done.ts,
        mentions=out.mentions,
        cid=out.cid,
        media=out.media,
        flag=out.screening.flag,
    )
    await publish_entry(rt, done, event, sender=conn.user_id)
    screening = out.screening
    safety.seen(rt, screening, done.seq)
    if screening.decision.sender_card or screening.decision.recipient_card:
        await safety.after_delivery(rt, conn, out.stream, screening)
    if out.media is not None:
        await media_actions.attached(rt, out.media.id, done.seq)
    if out.request_to is not None:
        _, conv_id = parse_stream(out.stream)
        preview = out.text or "(photo, vidéo ou son)"
        await send_request_notice(rt, out.request_to, conv_id, preview)


async def send_request_notice(rt: Runtime, peer: int, conv_id: int, preview: str) -> None:
    """The one inbox notice a private request makes: who asks, and a preview."""
    async with rt.engine.connect() as db:
        conv = await access_conversation(db, peer, conv_id)
        pos = await position(db, conv)
    info = await conversation_info(rt, conv, peer, pos)
    await notify(
        rt, peer, "pm_request", {"conversation": to_builtins(info), "preview": preview[:140]}
    )


async def do_typing(rt: Runtime, conn: Connection, stream: str) -> None:
    kind, ident = parse_stream(stream)
    if kind == "room" and ident not in conn.rooms:
        raise NotAllowed("Rejoignez d'abord ce salon.", code="not_member")
    if kind == "dm" and stream not in conn.topics:
        raise NotAllowed("Cette conversation n'est pas ouverte.", code="not_member")
    if kind == "user":
        raise NotAllowed("On ne peut pas écrire dans ce fil.")
    last = conn.typing_sent.get(stream, 0.0)
    t = time.monotonic()
    if t - last < TYPING_EVERY_S:
        return  # quietly coalesced: typing is a hint, not a message
    conn.typing_sent[stream] = t
    who = await brief(rt, conn.user_id)
    assert who is not None
    await publish(rt, stream, TypingEvent(stream=stream, user=who), sender=conn.user_id)


async def do_history(
    rt: Runtime, conn: Connection, stream: str, before: int | None, limit: int, ref: str | None
) -> None:
    if not 1 <= limit <= HISTORY_MAX:
        raise BadRequest(f"limit doit être entre 1 et {HISTORY_MAX}.", field="limit")
    async with rt.engine.connect() as db:
        await access_stream_to_read(db, conn.user_id, stream, conn.rooms)
        entries = await stream_store.read_before(db, stream, before, limit + 1)
    has_more = len(entries) > limit
    entries = entries[-limit:]
    events = await entry_events(rt, entries, conn.blocked)
    conn.send(
        HistoryPage(
            stream=stream,
            messages=[e for e in events if isinstance(e, Message)],
            has_more=has_more,
            ref=ref,
        )
    )


async def resume_streams(
    rt: Runtime, tracker: Tracker, conn: Connection, positions: dict[str, Position]
) -> None:
    """Replay what the client missed on each stream, or tell it to reload (never partial)."""
    for stream, (epoch, last_seq) in positions.items():
        try:
            await _resume_one(rt, tracker, conn, stream, epoch, last_seq)
        except ClientError as exc:
            conn.send(Resumed(stream=stream, recovered=False, epoch=0, last_seq=0, reason=exc.code))


async def _resume_one(
    rt: Runtime, tracker: Tracker, conn: Connection, stream: str, epoch: int, last_seq: int
) -> None:
    kind, ident = parse_stream(stream)
    async with rt.engine.begin() as db:
        if kind == "room":
            await access_room_to_join(db, conn.user_id, ident, None)
        else:
            await access_stream_to_read(db, conn.user_id, stream, conn.rooms)
    conn.begin_sync(stream)
    try:
        await rt.hub.subscribe(conn, stream)
        if kind == "room" and ident not in conn.rooms:
            conn.rooms.add(ident)
            await tracker.enter(ident, conn.user_id)
        async with rt.engine.connect() as db:
            pos = await db.run_sync(stream_store.position, stream)
            assert pos is not None
            missed = pos[1] - last_seq
            ok = pos[0] == epoch and 0 <= missed <= rt.settings.replay_limit
            entries = (
                await db.run_sync(stream_store.read_after, stream, last_seq, missed)
                if ok and missed
                else []
            )
        if ok:
            for event in await entry_events(rt, entries, conn.blocked, replay=True):
                conn.send(event)
        reason = None if ok else ("epoch" if pos[0] != epoch else "too_far")
        members = None
        if kind == "room":
            _, members = await rooms.member_list(rt, ident)
        conn.send(
            Resumed(
                stream=stream,
                recovered=ok,
                epoch=pos[0],
                last_seq=pos[1],
                reason=reason,
                members=members,
            )
        )
        conn.end_sync(stream, pos[1])
    except BaseException:
        conn.abort_sync(stream)
        raise
