"""Text safety on the send path: analyze, weigh the conversation, decide, then act.

The analyzer and the policy are pure (``cocon/safety``); this module gathers the context
they need (room or private conversation, restrictions, the conversation's risk) and applies
the decision: a nudge asks the sender to confirm, a hold or a block keeps the message from
anyone and opens a case, a minor who reveals their age is restricted at once, cards and
warnings are shown to the people concerned. Nobody is shadow-banned: the sender is always
told what happened and why.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass

from cocon.actions.common import brief, briefs, notify
from cocon.actions.dm_facts import DmFacts, dm_facts
from cocon.errors import ClientError, NotAllowed
from cocon.gateway.connection import Connection
from cocon.moderation.policy import SYSTEM_REPORTER, priority, statement
from cocon.protocol.events import SafetyCard, Screened
from cocon.runtime import Runtime
from cocon.safety import analyze
from cocon.safety.desk import TrackedRisk
from cocon.safety.policy import Action, Decision, PolicyContext, decide
from cocon.safety.risk import ConversationRisk
from cocon.store import held as held_store
from cocon.store import moderation as mod_store
from cocon.store import rooms as room_store
from cocon.store import social as social_store
from cocon.store import streams as stream_store

RECENT_S = 3 * 86400.0  # "met recently": a conversation younger than this, between non-friends
MAX_TRACKED = 10_000

# Which report category a safety rule files its case under.
_CATEGORY = {
    "minor_revealed": "minor_in_danger",
    "grooming": "minor_in_danger",
    "scam": "fraud",
    "public_illegal": "other",
}
_PRIORITY = {"urgent": 0, "high": 0, "normal": 5, "none": 9}


@dataclass(frozen=True, slots=True)
class Screening:
    decision: Decision
    peer: int | None  # the other participant of a private conversation
    conversation: int | None

    @property
    def flag(self) -> str | None:
        """What a delivered message is hidden behind on the recipient's side."""
        if self.decision.action != Action.BLUR:
            return None
        return "harassment" if "harassment" in self.decision.rules else "sexual"


async def is_restricted(rt: Runtime, user_id: int) -> bool:
    """Has this user an active protective restriction (a revealed minor)?"""
    standing = await rt.standing.current(rt.engine, rt.settings.mute_cache_s)
    return standing.is_restricted(user_id)


_PLAIN = Screening(Decision(), None, None)  # a room message nothing was found in (most)

_NOT_WITH_MINORS = "Pour protéger les mineurs, cette conversation privée n'est pas possible."


async def check_private_allowed(rt: Runtime, a: int, b: int) -> None:
    """A restricted minor and an adult cannot start a private conversation, whoever asks."""
    if await is_restricted(rt, a) != await is_restricted(rt, b):
        raise NotAllowed(_NOT_WITH_MINORS, code="restricted")


async def check_sender_not_restricted(rt: Runtime, sender: int, peer: int) -> None:
    """A restricted minor cannot write privately to an adult. (The other way round goes
    through :func:`screen`: an adult's message to a minor is refused, or held if it shows
    grooming signals, so that moderators see it.)"""
    if await is_restricted(rt, sender) and not await is_restricted(rt, peer):
        raise NotAllowed(_NOT_WITH_MINORS, code="restricted")


async def _room_is_private(rt: Runtime, room_id: int) -> bool:
    known = rt.safety.private_rooms.get(room_id)
    if known is None:
        async with rt.engine.connect() as db:
            room = await room_store.get(db, room_id)
        known = bool(room and room.private)
        rt.safety.private_rooms[room_id] = known
    return known


async def _risk(rt: Runtime, conv_id: int, stream: str) -> TrackedRisk:
    """The conversation's risk, brought up to date with what the store holds.

    The store is read only when the hub fanned out an entry the risk has not seen (or
    knows no position yet): a message screened and stored here is counted as it is sent
    (:func:`seen`), so a conversation held on one node is never read back."""
    desk = rt.safety
    tracked = desk.risks.get(conv_id)
    if tracked is None:
        tracked = desk.risks[conv_id] = TrackedRisk(ConversationRisk(), 0)
        if len(desk.risks) > MAX_TRACKED:
            desk.risks.popitem(last=False)
    desk.risks.move_to_end(conv_id)
    latest = rt.hub.last_seq(stream)
    if latest is not None and tracked.last_seq >= latest:
        return tracked  # it saw every entry this node fanned out: no read of the store
    entries = await rt.transactions.run(stream_store.read_after, stream, tracked.last_seq, 200)
    ages = await briefs(rt, {e.sender_id for e in entries if e.sender_id is not None})
    for e in entries:
        if e.kind == "text" and e.sender_id is not None and e.sender_id in ages:
            labels = analyze(e.body).labels
            tracked.risk.observe(str(e.sender_id), ages[e.sender_id].age, labels, e.ts)
        tracked.last_seq = e.seq
    return tracked


async def screen(
    rt: Runtime,
    conn: Connection,
    kind: str,
    ident: int,
    text: str,
    facts: DmFacts | None = None,
) -> Screening:
    """The policy's decision for this message in this context (no side effect).

    ``facts``: for a private message, what the send path already knows of the conversation.
    """
    labels = analyze(text).labels if text else frozenset[str]()
    restricted = await is_restricted(rt, conn.user_id)
    if kind == "room":
        if not labels:
            return _PLAIN
        ctx = PolicyContext(
            private=await _room_is_private(rt, ident),
            sender_restricted=restricted,
            sender_declared_age=conn.user.age,
        )
        return Screening(decide(labels, ctx, rt.safety.config), None, None)
    if facts is None:
        facts = await dm_facts(rt, conn.user_id, ident)
    peer = facts.conv.peer_of(conn.user_id)
    tracked = await _risk(rt, ident, social_store.conversation_stream(ident))
    me = str(conn.user_id)
    tracked.risk.observe(me, conn.user.age, labels, time.time())
    assessed = tracked.risk.assess(me)
    ctx = PolicyContext(
        private=True,
        sender_is_minor="minor" in labels,
        sender_restricted=restricted,
        sender_declared_age=conn.user.age,
        recipient_is_minor=await is_restricted(rt, peer),
        recipient_suspected_minor=tracked.risk.recipient_is_minor(me),
        met_recently=not facts.friends and time.time() - facts.conv.created_at < RECENT_S,
        risk_level=assessed.level,
        risk_score=assessed.score,
    )
    decision = decide(labels, ctx, rt.safety.config)
    if ctx.recipient_is_minor and not restricted and decision.deliver:
        raise NotAllowed(_NOT_WITH_MINORS, code="restricted")
    return Screening(decision, peer, ident)


def seen(rt: Runtime, screening: Screening, seq: int) -> None:
    """The screened message was stored at ``seq``: the risk already counted it."""
    if screening.conversation is None:
        return
    tracked = rt.safety.risks.get(screening.conversation)
    if tracked is not None and seq == tracked.last_seq + 1:
        tracked.last_seq = seq


def confirm_needed(screening: Screening) -> ClientError:
    return ClientError(screening.decision.explanation, code="confirm_needed", field="text")


async def _open_case(
    rt: Runtime, conn: Connection, stream: str, cid: str, text: str, decision: Decision
) -> int:
    """A case filed by Cocon itself, with the withheld message as evidence.

    A message *held* for review is also kept, in the same transaction, as a held message that
    a moderator may release (``cocon/store/held.py``); a blocked one or a minor's reveal is
    only evidence."""
    rule = decision.rules[0] if decision.rules else "safety"
    category = _CATEGORY.get(rule, "other")
    room_id = int(stream[5:]) if stream.startswith("room:") else None
    evidence = [
        {
            "stream": stream,
            "seq": None,
            "sender": conn.user_id,
            "text": text,
            "ts": time.time(),
            "withheld": True,
        }
    ]
    t = time.time()
    rank = min(_PRIORITY.get(decision.case_priority, 5), priority(category))
    key = f"user:{conn.user_id}"
    async with rt.engine.begin() as db:
        case = await mod_store.open_case(db, key)
        if case is None:
            case_id = await mod_store.create_case(db, key, conn.user_id, room_id, rank, t)
        else:
            case_id = int(case["id"])
            await mod_store.raise_priority(db, case_id, rank)
        report_id = await mod_store.add_report(
            db,
            case_id=case_id,
            reporter_id=SYSTEM_REPORTER,
            category=category,
            comment="Détection automatique : " + " ".join(decision.reasons),
            target_kind="message",
            target_id=conn.user_id,
            stream=stream,
            seq=None,
            evidence=json.dumps(evidence, ensure_ascii=False),
            created_at=t,
        )
        if decision.action == Action.HOLD:
            await held_store.add(
                db,
                case_id=case_id,
                report_id=report_id,
                stream=stream,
                sender_id=conn.user_id,
                cid=cid,
                release_cid="held:" + secrets.token_hex(16),  # not guessable: see the table
                text=text,
                rules=" ".join(decision.rules)[:200],
                created_at=t,
            )
    return case_id


async def _restrict(rt: Runtime, conn: Connection, decision: Decision, case_id: int) -> None:
    """Protective restriction of a user who said they are a minor (automated, appealable)."""
    t = time.time()
    rule = "Protection des mineurs (Cocon est réservé aux adultes)"
    async with rt.engine.begin() as db:
        sanction_id = await mod_store.add_sanction(
            db,
            user_id=conn.user_id,
            kind="restrict",
            room_id=None,
            rule=rule,
            reason=decision.explanation,
            facts=" ".join(decision.reasons),
            starts_at=t,
            ends_at=None,
            staff_id=None,
            case_id=case_id,
            revoked=False,
        )
    rt.standing.invalidate()
    notice = statement(
        "restrict",
        rule,
        " ".join(decision.reasons),
        decision.explanation,
        t,
        None,
        None,
        sanction_id,
    )
    notice["automated"] = True
    notice["resources"] = list(decision.resources)
    await notify(rt, conn.user_id, "sanction", notice)


async def withhold(
    rt: Runtime,
    conn: Connection,
    stream: str,
    cid: str,
    text: str,
    screening: Screening,
    ref: str | None,
) -> None:
    """The message reaches nobody: tell the sender why, open a case, warn the recipient."""
    decision = screening.decision
    case_id = None
    if decision.open_case:
        case_id = await _open_case(rt, conn, stream, cid, text, decision)
    if decision.action == Action.RESTRICT_MINOR and case_id is not None:
        await _restrict(rt, conn, decision, case_id)
    conn.send(
        Screened(
            stream=stream,
            cid=cid,
            action=str(decision.action),
            message=decision.explanation,
            reasons=list(decision.reasons),
            card=decision.sender_card,
            resources=list(decision.resources),
            ref=ref,
        )
    )
    await _card_for_peer(rt, stream, screening)


async def after_delivery(rt: Runtime, conn: Connection, stream: str, screening: Screening) -> None:
    """Cards for a delivered message (e.g. safe-meeting advice to both people)."""
    decision = screening.decision
    if decision.sender_card is not None:
        conn.send(
            SafetyCard(stream=stream, card=decision.sender_card, message=decision.explanation)
        )
    await _card_for_peer(rt, stream, screening)


async def _card_for_peer(rt: Runtime, stream: str, screening: Screening) -> None:
    """The recipient's card, as an inbox notice (``kind: "safety"``): durable, so someone
    offline when it was sent finds it when they come back."""
    decision = screening.decision
    if screening.peer is None or decision.recipient_card is None:
        return
    if await brief(rt, screening.peer) is None:
        return
    card = {
        "stream": stream,
        "card": decision.recipient_card,
        "message": decision.recipient_notice or decision.explanation,
        "resources": list(decision.resources),
        "suggest_report": decision.suggest_report,
    }
    await notify(rt, screening.peer, "safety", card)
