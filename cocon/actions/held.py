"""Held messages: a moderator releases one, or keeps it withheld.

Who may decide is settled by :func:`cocon.actions.moderation.do_sanction`, the one decision
path (roles, the conflict rule, a second moderator's confirmation); it hands the decision to
:func:`decide`. A release appends the message through the appender like any message, at
release time, so its recipients get it live and in history with the next seq; keeping it
withheld is a sanction of its own, with a statement of reasons and an appeal, and an
overturned appeal releases it (:func:`release_after_appeal`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from cocon.access import parse_stream
from cocon.actions import messages as message_actions
from cocon.actions import safety
from cocon.actions.common import brief, notify, publish_entry, text_request
from cocon.actions.dm_facts import dm_facts
from cocon.errors import BadRequest, ClientError, Conflict, NotAllowed, NotFound
from cocon.moderation.audit import AuditLog, audit_log_for
from cocon.moderation.policy import statement
from cocon.moderation.staff import Staff
from cocon.protocol.events import Message
from cocon.runtime import Runtime
from cocon.store import held as held_store
from cocon.store import moderation as mod_store
from cocon.store import rooms as room_store
from cocon.store.held import HELD, RELEASED, WITHHELD, HeldRow
from cocon.store.streams import Appended

log = logging.getLogger(__name__)

_GONE = "Ce message ne peut plus être remis : "
_STATUS_TEXT = {RELEASED: "remis", WITHHELD: "maintenu retenu"}
_DEFAULT_FACTS = "Message retenu à l'envoi par la détection automatique."


@dataclass(frozen=True, slots=True)
class Decision:
    kind: str  # release | withhold
    rule: str
    reason: str
    facts: str


def _already(row: HeldRow | None) -> Conflict:
    state = "" if row is None else f" ({_STATUS_TEXT.get(row.status, row.status)})"
    return Conflict(f"Ce message retenu a déjà fait l'objet d'une décision{state}.")


async def to_decide(rt: Runtime, held_id: int, kind: str, user: int) -> HeldRow:
    """The held message ``user`` sent, still open to a ``kind`` decision (else a clear error)."""
    async with rt.engine.connect() as db:
        row = await held_store.get(db, held_id)
    if row is None:
        raise NotFound("Message retenu inconnu.", field="held")
    if row.sender_id != user:
        raise BadRequest("Ce message n'est pas de cette personne.", field="held")
    interrupted = row.status == RELEASED and row.seq is None  # see _release
    if row.status != HELD and not (kind == "release" and interrupted):
        raise _already(row)
    return row


async def decide(
    rt: Runtime, staff: Staff, decision: Decision, row: HeldRow, confirmed_by: Staff | None
) -> dict[str, Any]:
    """Apply a decision ``do_sanction`` allowed."""
    extra: dict[str, Any] = {} if confirmed_by is None else {"confirmed_by": confirmed_by.id}
    if decision.kind == "release":
        done = await _release(rt, staff, row, decision.reason.strip(), HELD, extra)
        return {"released": row.id, "stream": row.stream, "seq": done.seq}
    return await _withhold(rt, staff, decision, row, extra)


async def _withhold(
    rt: Runtime, staff: Staff, decision: Decision, row: HeldRow, extra: dict[str, Any]
) -> dict[str, Any]:
    t = time.time()
    kind, ident = parse_stream(row.stream)
    room = ident if kind == "room" else None
    rule, reason = decision.rule.strip(), decision.reason.strip()
    facts = decision.facts.strip() or _DEFAULT_FACTS
    async with rt.engine.begin() as db:
        sanction_id = await mod_store.add_sanction(
            db,
            user_id=row.sender_id,
            kind="withhold",
            room_id=room,
            rule=rule,
            reason=reason,
            facts=facts,
            starts_at=t,
            ends_at=None,
            staff_id=staff.id,
            case_id=row.case_id,
            revoked=False,
        )
        if not await held_store.claim(db, row.id, HELD, WITHHELD, staff.id, t, sanction_id):
            raise _already(await held_store.get(db, row.id))  # rolls the sanction back
    data = {"sanction": sanction_id, "held": row.id, "stream": row.stream, "case": row.case_id}
    await _audit(rt).append(
        staff.actor, "sanction_withhold", f"user:{row.sender_id}", reason, data | extra
    )
    notice = statement("withhold", rule, facts, reason, t, None, room, sanction_id)
    notice["held"] = row.id
    notice["stream"] = row.stream
    await notify(rt, row.sender_id, "sanction", notice)
    return {"sanction": sanction_id, "held": row.id, "status": WITHHELD}


async def release_after_appeal(
    rt: Runtime, staff: Staff, sanction_id: int, appeal_id: int, reason: str
) -> None:
    """Overturning "keep withheld" delivers the message after all."""
    async with rt.engine.connect() as db:
        row = await held_store.of_sanction(db, sanction_id)
    if row is None or row.status != WITHHELD:
        return
    try:
        await _release(rt, staff, row, reason, WITHHELD, {"appeal": appeal_id})
    except ClientError as exc:  # e.g. the conversation was refused since: it stays withheld
        log.info("held message %s not released after appeal %s: %s", row.id, appeal_id, exc)


async def _release(
    rt: Runtime, staff: Staff, row: HeldRow, reason: str, before: str, extra: dict[str, Any]
) -> Appended:
    """The decision (``before`` → released) first, then the append.

    A crash between the two leaves it released without a seq; releasing it again finishes
    the delivery. The append is idempotent on the row's cid, so it is delivered once.
    """
    await check_deliverable(rt, row)
    async with rt.engine.begin() as db:
        claimed = await held_store.claim(db, row.id, before, RELEASED, staff.id, time.time())
        if not claimed:
            now = await held_store.get(db, row.id)
            if now is None or now.status != RELEASED or now.seq is not None:
                raise _already(now)
    done = await deliver(rt, row)
    if done.duplicate and not claimed:
        raise _already(row)
    data = {"held": row.id, "stream": row.stream, "seq": done.seq, "case": row.case_id}
    await _audit(rt).append(
        staff.actor, "held_release", f"user:{row.sender_id}", reason, data | extra
    )
    notice: dict[str, object] = {
        "held": row.id,
        "stream": row.stream,
        "seq": done.seq,
        "cid": row.cid,
        "sent_at": row.created_at,
        "reason": reason,
    }
    await notify(rt, row.sender_id, "held_released", notice)
    return done


def _audit(rt: Runtime) -> AuditLog:
    return audit_log_for(rt.engine, rt.settings.data_dir, rt.settings.audit_head_every)


async def check_deliverable(rt: Runtime, row: HeldRow) -> None:
    """Refuse a release the sender could not send today (conversation refused or blocked,
    a minor's protection, room gone): the moderator keeps it withheld instead."""
    kind, ident = parse_stream(row.stream)
    if await brief(rt, row.sender_id) is None:
        raise NotFound(_GONE + "son auteur n'existe plus.", code="not_deliverable")
    if kind == "room":
        async with rt.engine.connect() as db:
            if await room_store.get(db, ident) is None:
                raise NotFound(_GONE + "le salon n'existe plus.", code="not_deliverable")
        return
    try:
        facts = await dm_facts(rt, row.sender_id, ident)
    except ClientError as exc:
        raise NotFound(_GONE + "la conversation n'existe plus.", code="not_deliverable") from exc
    if facts.conv.state == "declined" or facts.blocked:
        raise NotAllowed(
            _GONE + "la conversation a été refusée ou bloquée.", code="not_deliverable"
        )
    try:
        await safety.check_private_allowed(rt, row.sender_id, facts.conv.peer_of(row.sender_id))
    except ClientError as exc:
        raise NotAllowed(_GONE + "protection des mineurs.", code="not_deliverable") from exc


async def deliver(rt: Runtime, row: HeldRow) -> Appended:
    """Append the message to its stream and publish it (once: the append is idempotent on
    the held message's own cid, and only a fresh append is published)."""
    sender = await brief(rt, row.sender_id)
    if sender is None:
        raise NotFound(_GONE + "son auteur n'existe plus.", code="not_deliverable")
    # As if sent now: its mentions in a room; the request notice if it opens a private one.
    kind, ident = parse_stream(row.stream)
    mentions: list[int] = []
    request_to: int | None = None
    if kind == "room":
        mentions = await message_actions.mentions_in(rt, ident, row.text)
    else:
        facts = await dm_facts(rt, row.sender_id, ident)
        if facts.conv.state == "pending" and facts.sent_while_pending == 0:
            request_to = facts.conv.peer_of(row.sender_id)
    done = await rt.appender.append(
        text_request(row.stream, row.sender_id, row.release_cid, row.text, mentions)
    )
    if not done.duplicate:
        event = Message(
            stream=row.stream,
            seq=done.seq,
            sender=sender,
            text=row.text,
            ts=done.ts,
            mentions=mentions,
            cid=row.release_cid,
        )
        # Nothing awaited between the commit and the publication: fan-out stays in seq order.
        await publish_entry(rt, done, event, sender=row.sender_id)
        if request_to is not None:
            await message_actions.send_request_notice(rt, request_to, ident, row.text)
    async with rt.engine.begin() as db:
        await held_store.delivered(db, row.id, done.seq)
    return done
