"""Reports, sanctions, appeals: every moderation change goes through here.

Each ``do_*`` validates, writes, appends to the audit chain, then publishes (statements of
reasons to the sanctioned user, outcomes to reporters, effects to connections).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from typing import Any

from cocon.access import access_conversation, access_room, access_stream_to_read, parse_stream
from cocon.actions import calls as call_actions
from cocon.actions import held as held_actions
from cocon.actions.common import brief, notify, publish, to_builtins
from cocon.errors import BadRequest, Conflict, NotAllowed, NotFound
from cocon.gateway.connection import Connection
from cocon.gateway.ratelimit import TokenBucket
from cocon.moderation.audit import AuditLog, audit_log_for
from cocon.moderation.policy import (
    CATEGORIES,
    EVIDENCE_BEFORE,
    HELD_DECISIONS,
    SANCTION_KINDS,
    SYSTEM_REPORTER,
    escalate,
    priority,
    statement,
)
from cocon.moderation.roles import Role, may_act
from cocon.moderation.staff import Staff
from cocon.protocol.commands import Report
from cocon.protocol.events import Appealed, Deleted, Left, Reported
from cocon.runtime import Runtime
from cocon.store import held as held_store
from cocon.store import moderation as store
from cocon.store import streams as stream_store

COMMENT_MAX = 1000
TEXT_MAX = 2000
REDACTED = "[message supprimé par la modération]"
REPORT_TARGETS = ("message", "user", "room", "staff")


def audit(rt: Runtime) -> AuditLog:
    return audit_log_for(rt.engine, rt.settings.data_dir, rt.settings.audit_head_every)


def _text(value: str, field: str, high: int, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise BadRequest(f"{field} est obligatoire.", field=field)
    if len(value) > high:
        raise BadRequest(f"{field} : {high} caractères au plus.", field=field)
    return value


# -- reports -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportRequest:
    target: str
    category: str
    comment: str = ""
    stream: str | None = None
    seq: int | None = None
    user: int | None = None
    room: int | None = None
    staff: int | None = None
    media: int | None = None  # target "user": a still frame of a call (the reporter's upload)


async def _evidence(
    rt: Runtime, conn: Connection, stream: str, seq: int
) -> tuple[int, list[dict[str, Any]]]:
    """(sender of the reported entry, the entries up to it as the reporter saw them).

    Read from the store, never taken from the client.
    """
    kind, ident = parse_stream(stream)
    async with rt.engine.connect() as db:
        if kind == "dm":
            await access_conversation(db, conn.user_id, ident)
        elif kind == "room":
            await access_stream_to_read(db, conn.user_id, stream, conn.rooms)
        else:
            raise BadRequest("On ne signale que les messages d'un salon ou d'une conversation.")
        found = await stream_store.read_before(db, stream, seq + 1, EVIDENCE_BEFORE + 1)
    if not found or found[-1].seq != seq or found[-1].kind != "text":
        raise NotFound("Ce message n'existe pas.", field="seq")
    sender = found[-1].sender_id
    if sender is None:
        raise NotFound("Ce message n'existe pas.", field="seq")
    shown = [
        e for e in found if e.kind == "text" and (e.seq == seq or e.sender_id not in conn.blocked)
    ]
    evidence = [
        {"stream": e.stream, "seq": e.seq, "sender": e.sender_id, "text": e.body, "ts": e.ts}
        for e in shown
    ]
    return sender, evidence


def _report_bucket(conn: Connection) -> None:
    bucket = conn.buckets.get("report")
    if bucket is None:
        bucket = conn.buckets["report"] = TokenBucket(1 / 30, 10)
    if bucket.take():
        raise NotAllowed(
            "Trop de signalements d'un coup ; réessayez plus tard.", code="rate_limited"
        )


async def do_report(
    rt: Runtime, conn: Connection, req: ReportRequest, ref: str | None = None
) -> None:
    if req.category not in CATEGORIES:
        raise BadRequest("Catégorie inconnue.", field="category")
    if req.target not in REPORT_TARGETS:
        raise BadRequest("Cible inconnue.", field="target")
    comment = _text(req.comment, "comment", COMMENT_MAX, required=False)
    _report_bucket(conn)
    evidence: list[dict[str, Any]] | None = None
    room_id: int | None = None
    accused: int | None = None
    target_id: int | None = None
    if req.target == "message":
        if req.stream is None or req.seq is None:
            raise BadRequest("stream et seq sont obligatoires.", field="stream")
        accused, evidence = await _evidence(rt, conn, req.stream, req.seq)
        if req.stream.startswith("room:"):
            room_id = int(req.stream[5:])
        key = f"user:{accused}"
    elif req.target == "user":
        if req.user is None or await brief(rt, req.user) is None:
            raise NotFound("Cette personne n'existe pas.", field="user")
        accused = target_id = req.user
        key = f"user:{accused}"
        if req.media is not None and accused != conn.user_id:  # a still frame of a call
            evidence = await call_actions.frame_evidence(rt, conn.user_id, accused, req.media)
    elif req.target == "room":
        if req.room is None:
            raise BadRequest("room est obligatoire.", field="room")
        async with rt.engine.connect() as db:
            await access_room(db, conn.user_id, req.room)
        room_id = target_id = req.room
        key = f"room:{room_id}"
    else:
        if req.staff is None:
            raise BadRequest("staff est obligatoire.", field="staff")
        async with rt.engine.connect() as db:
            if await store.staff_by_id(db, req.staff) is None:
                raise NotFound("Inconnu.", field="staff")
        target_id = req.staff
        key = f"staff:{target_id}"
    if accused == conn.user_id:
        raise BadRequest("Vous ne pouvez pas vous signaler vous-même.")
    t = time.time()
    rank = priority(req.category)
    async with rt.engine.begin() as db:
        case = await store.open_case(db, key)
        if case is None:
            case_id = await store.create_case(db, key, accused, room_id, rank, t)
        else:
            case_id = int(case["id"])
            await store.raise_priority(db, case_id, rank)
        report_id = await store.add_report(
            db,
            case_id=case_id,
            reporter_id=conn.user_id,
            category=req.category,
            comment=comment,
            target_kind=req.target,
            target_id=target_id if req.target != "message" else accused,
            stream=req.stream if req.target == "message" else None,
            seq=req.seq if req.target == "message" else None,
            evidence=json.dumps(evidence, ensure_ascii=False) if evidence is not None else None,
            created_at=t,
        )
    await audit(rt).append(
        f"user:{conn.user_id}",
        "report",
        f"case:{case_id}",
        "",
        {"report": report_id, "category": req.category, "target": key},
    )
    conn.send(Reported(report=report_id, case=case_id, ref=ref))


# -- staff reading -------------------------------------------------------------------------


async def view_evidence(rt: Runtime, staff: Staff, report_id: int) -> dict[str, Any]:
    """A report with its evidence. The view is in the audit chain before the content leaves."""
    async with rt.engine.connect() as db:
        report = await store.report(db, report_id)
    if report is None:
        raise NotFound("Signalement inconnu.")
    await audit(rt).append(staff.actor, "view_evidence", f"report:{report_id}")
    evidence = json.loads(report["evidence"]) if report["evidence"] else []
    async with rt.engine.connect() as db:
        held = await held_store.of_report(db, report_id)
    withheld = [e for e in evidence if e.get("withheld")]
    for item, row in zip(withheld, held, strict=False):  # in the order they were held
        item["held"] = {"id": row.id, "status": row.status, "seq": row.seq}
    return {**report, "evidence": evidence}


async def user_history(rt: Runtime, staff: Staff, user_id: int) -> dict[str, Any]:
    """A user's record for staff: who they are, sanctions, cases, reports filed (audited)."""
    who = await brief(rt, user_id)
    if who is None:
        raise NotFound("Cette personne n'existe pas.")
    async with rt.engine.connect() as db:
        history = await store.user_history(db, user_id)
    await audit(rt).append(staff.actor, "view_history", f"user:{user_id}", "", {})
    return {"user": to_builtins(who), **history}


async def case_detail(rt: Runtime, staff: Staff, case_id: int) -> dict[str, Any]:
    """A case and its reports, without evidence (see :func:`view_evidence`)."""
    async with rt.engine.connect() as db:
        case = await store.case(db, case_id)
        if case is None:
            raise NotFound("Dossier inconnu.")
        reports = await store.reports_of_case(db, case_id)
        history = await store.sanctions_of(db, case["accused_id"]) if case["accused_id"] else []
        held = await held_store.of_case(db, case_id)
    del staff
    for r in reports:
        r["has_evidence"] = r.pop("evidence") is not None
    return {
        "case": case,
        "reports": reports,
        "sanctions": history,
        "held": [h.summary() for h in held],  # no text: it is in the audited evidence
    }


# -- sanctions -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SanctionRequest:
    kind: str
    user: int
    rule: str
    reason: str
    facts: str = ""
    duration_s: float | None = None
    room: int | None = None
    case: int | None = None
    stream: str | None = None
    seq: int | None = None
    held: int | None = None  # release / withhold: the held message decided on


def _check_request(req: SanctionRequest) -> SanctionRequest:
    if req.kind not in SANCTION_KINDS and req.kind not in HELD_DECISIONS:
        raise BadRequest("Sanction inconnue.", field="kind")
    if req.kind in HELD_DECISIONS and req.held is None:
        raise BadRequest("held est obligatoire.", field="held")
    _text(req.rule, "rule", 80, required=req.kind != "release")
    _text(req.reason, "reason", TEXT_MAX)
    _text(req.facts, "facts", TEXT_MAX, required=False)
    if req.duration_s is not None and req.duration_s <= 0:
        raise BadRequest("La durée doit être positive.", field="duration_s")
    if req.kind == "mute" and req.duration_s is None:
        raise BadRequest("Une interdiction d'écrire a une durée.", field="duration_s")
    if req.kind == "delete" and (req.stream is None or req.seq is None):
        raise BadRequest("stream et seq sont obligatoires.", field="stream")
    return req


async def _reporters_of(rt: Runtime, case_id: int) -> set[int]:
    """The people who reported (Cocon's own automated reports have nobody to tell)."""
    async with rt.engine.connect() as db:
        reports = await store.reports_of_case(db, case_id)
    return {int(r["reporter_id"]) for r in reports} - {SYSTEM_REPORTER}


async def do_sanction(
    rt: Runtime, staff: Staff, req: SanctionRequest, confirmed_by: Staff | None = None
) -> dict[str, Any]:
    """Apply a sanction; a conflicted moderator gets ``{"pending": id}`` instead."""
    req = _check_request(req)
    if await brief(rt, req.user) is None:
        raise NotFound("Cette personne n'existe pas.", field="user")
    held = None
    if req.kind in HELD_DECISIONS:
        assert req.held is not None  # _check_request
        held = await held_actions.to_decide(rt, req.held, req.kind, req.user)
    async with rt.engine.connect() as db:
        conflicted = await store.conflicted(db, staff.id, req.user)
        if confirmed_by is not None and await store.conflicted(db, confirmed_by.id, req.user):
            raise NotAllowed("Vous êtes aussi en conflit avec cette personne.")
    if staff.role < Role.MODERATOR:
        raise NotAllowed("Réservé à la modération.")
    if not may_act(
        staff.role,
        Role.USER,
        conflicted=conflicted,
        confirmed_by=None if confirmed_by is None else confirmed_by.role,
    ):
        return await _ask_confirmation(rt, staff, req)
    if held is not None:
        decision = held_actions.Decision(req.kind, req.rule, req.reason, req.facts)
        return await held_actions.decide(rt, staff, decision, held, confirmed_by)
    t = time.time()
    async with rt.engine.begin() as db:
        ends_at: float | None = None
        original: str | None = None
        if req.kind == "ban":
            earlier = await store.earlier_bans(db, req.user)
            length = escalate(req.duration_s, earlier, rt.settings.ban_permanent_after)
            ends_at = None if length is None else t + length
        elif req.duration_s is not None and req.kind == "mute":
            ends_at = t + req.duration_s
        if req.kind == "delete":
            assert req.stream is not None and req.seq is not None
            if await store.entry_sender(db, req.stream, req.seq) != req.user:
                raise BadRequest("Ce message n'est pas de cette personne.", field="seq")
            original = await store.redact_entry(db, req.stream, req.seq, REDACTED)
        sanction_id = await store.add_sanction(
            db,
            user_id=req.user,
            kind=req.kind,
            room_id=req.room,
            rule=req.rule.strip(),
            reason=req.reason.strip(),
            facts=req.facts.strip(),
            starts_at=t,
            ends_at=ends_at,
            staff_id=staff.id,
            case_id=req.case,
            revoked=False,
        )
        if req.kind == "ban":
            net_until = t + rt.settings.ban_network_days * 86400
            if ends_at is not None:
                net_until = min(net_until, ends_at)
            marks: list[tuple[str, str, float | None]] = [
                ("device", d, ends_at) for d in await store.devices_of(db, req.user)
            ]
            marks += [("net", n, net_until) for n in await store.networks_of(db, req.user)]
            await store.add_ban_marks(db, sanction_id, marks)
        closed = req.case is not None and await store.close_case(
            db, req.case, req.kind, staff.id, t
        )
    data: dict[str, Any] = {
        "sanction": sanction_id,
        "kind": req.kind,
        "rule": req.rule,
        "ends_at": ends_at,
        "room": req.room,
        "case": req.case,
    }
    if confirmed_by is not None:
        data["confirmed_by"] = confirmed_by.id
    if req.kind == "delete":
        data["message"] = f"{req.stream}:{req.seq}"
        data["original_sha256"] = _sha(original or "")
    await audit(rt).append(
        staff.actor, f"sanction_{req.kind}", f"user:{req.user}", req.reason, data
    )
    await _apply(rt, req, sanction_id, t, ends_at)
    if closed and req.case is not None:
        for reporter in await _reporters_of(rt, req.case):
            await notify(rt, reporter, "report_outcome", {"case": req.case, "outcome": req.kind})
    return {"sanction": sanction_id, "ends_at": ends_at}


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()


async def _apply(
    rt: Runtime, req: SanctionRequest, sanction_id: int, t: float, ends_at: float | None
) -> None:
    """Tell the user why (statement of reasons), then make it bite on every node."""
    facts = req.facts.strip()
    await notify(
        rt,
        req.user,
        "sanction",
        statement(req.kind, req.rule, facts, req.reason, t, ends_at, req.room, sanction_id),
    )
    inbox = f"user:{req.user}"
    if req.kind == "delete" and req.stream is not None and req.seq is not None:
        await publish(rt, req.stream, Deleted(stream=req.stream, seq=req.seq))
    elif req.kind in ("mute", "restrict"):
        rt.standing.invalidate()  # the send path reads mutes again
    elif req.kind == "kick" and req.room is not None:
        await publish(
            rt, inbox, Left(room=req.room, reason="kicked"), control=f"unsub room:{req.room}"
        )
    elif req.kind in ("kick", "ban"):
        await publish(rt, inbox, Left(room=0, reason=req.kind), control="close")


async def _ask_confirmation(rt: Runtime, staff: Staff, req: SanctionRequest) -> dict[str, Any]:
    t = time.time()
    async with rt.engine.begin() as db:
        pending_id = await store.add_pending(db, staff.id, json.dumps(asdict(req)), t)
    await audit(rt).append(
        staff.actor, "needs_confirmation", f"user:{req.user}", req.reason, {"pending": pending_id}
    )
    return {"pending": pending_id, "needs_confirmation": True}


async def do_confirm(rt: Runtime, staff: Staff, pending_id: int) -> dict[str, Any]:
    """A second moderator confirms an action a conflicted one asked for."""
    async with rt.engine.connect() as db:
        row = await store.pending(db, pending_id)
        requester = None if row is None else await store.staff_by_id(db, row["requested_by"])
    if row is None or requester is None or row["status"] != "waiting":
        raise NotFound("Action inconnue ou déjà traitée.")
    if requester.id == staff.id:
        raise NotAllowed("Une autre personne doit confirmer.")
    req = SanctionRequest(**json.loads(row["payload"]))
    async with rt.engine.connect() as db:
        # Refuse before using the action up: it stays waiting for someone who may confirm.
        if await store.conflicted(db, staff.id, req.user):
            raise NotAllowed("Vous êtes aussi en conflit avec cette personne.")
    async with rt.engine.begin() as db:
        if not await store.finish_pending(db, pending_id, staff.id):
            raise Conflict("Déjà traitée.")
    await audit(rt).append(staff.actor, "confirm", f"pending:{pending_id}", "")
    first = Staff(requester.id, requester.pseudo, Role.parse(requester.role))
    return await do_sanction(rt, first, req, confirmed_by=staff)


async def do_close_case(rt: Runtime, staff: Staff, case_id: int, outcome: str, reason: str) -> None:
    """Close a case without sanction (``no_action``) and tell the reporters."""
    if outcome not in ("no_action", "duplicate", "forwarded"):
        raise BadRequest("Issue inconnue.", field="outcome")
    reason = _text(reason, "reason", TEXT_MAX)
    async with rt.engine.begin() as db:
        if not await store.close_case(db, case_id, outcome, staff.id, time.time()):
            raise NotFound("Dossier inconnu ou déjà clos.")
    await audit(rt).append(
        staff.actor, "close_case", f"case:{case_id}", reason, {"outcome": outcome}
    )
    for reporter in await _reporters_of(rt, case_id):
        await notify(rt, reporter, "report_outcome", {"case": case_id, "outcome": outcome})


# -- appeals -------------------------------------------------------------------------------


async def do_appeal(rt: Runtime, user_id: int, sanction_id: int, text: str) -> int:
    """File an appeal; it goes to a moderator other than the one who decided."""
    text = _text(text, "text", TEXT_MAX)
    t = time.time()
    async with rt.engine.begin() as db:
        sanction = await store.sanction(db, sanction_id)
        if sanction is None or sanction["user_id"] != user_id:
            raise NotFound("Sanction inconnue.", field="sanction")
        if await store.open_appeal_for(db, sanction_id) is not None:
            raise Conflict("Une contestation est déjà en cours.")
        load = await store.open_appeal_load(db)
        others = [
            s
            for s in await store.active_staff(db)
            if s.id != sanction["staff_id"] and Role.parse(s.role) >= Role.MODERATOR
        ]
        others.sort(key=lambda s: (load.get(s.id, 0), s.id))
        assigned = others[0].id if others else None
        appeal_id = await store.add_appeal(
            db,
            sanction_id=sanction_id,
            user_id=user_id,
            text=text,
            assigned_to=assigned,
            status="open",
            created_at=t,
        )
    await audit(rt).append(
        f"user:{user_id}",
        "appeal",
        f"sanction:{sanction_id}",
        "",
        {"appeal": appeal_id, "assigned_to": assigned},
    )
    return appeal_id


async def do_appeal_command(
    rt: Runtime, conn: Connection, sanction_id: int, text: str, ref: str | None = None
) -> None:
    appeal_id = await do_appeal(rt, conn.user_id, sanction_id, text)
    conn.send(Appealed(appeal=appeal_id, ref=ref))


async def do_decide_appeal(
    rt: Runtime, staff: Staff, appeal_id: int, uphold: bool, reason: str
) -> None:
    reason = _text(reason, "reason", TEXT_MAX)
    async with rt.engine.connect() as db:
        appeal = await store.appeal(db, appeal_id)
        sanction = None if appeal is None else await store.sanction(db, appeal["sanction_id"])
    if appeal is None or sanction is None or appeal["status"] != "open":
        raise NotFound("Contestation inconnue ou déjà tranchée.")
    if sanction["staff_id"] == staff.id:
        raise NotAllowed("Une autre personne doit examiner la contestation de votre décision.")
    if appeal["assigned_to"] not in (None, staff.id) and staff.role < Role.ADMIN:
        raise NotAllowed("Cette contestation est confiée à une autre personne.")
    status = "upheld" if uphold else "overturned"
    async with rt.engine.begin() as db:
        if not await store.decide_appeal(db, appeal_id, status, staff.id, time.time()):
            raise Conflict("Déjà tranchée.")
        if not uphold:
            await store.revoke(db, sanction["id"])
    await audit(rt).append(
        staff.actor, f"appeal_{status}", f"sanction:{sanction['id']}", reason, {"appeal": appeal_id}
    )
    if not uphold:
        rt.standing.invalidate()
    if not uphold and sanction["kind"] == "withhold":
        await held_actions.release_after_appeal(
            rt, staff, int(sanction["id"]), appeal_id, reason
        )
    await notify(
        rt,
        int(sanction["user_id"]),
        "appeal_outcome",
        {"appeal": appeal_id, "sanction": sanction["id"], "outcome": status, "reason": reason},
    )


def report_request(cmd: Report) -> ReportRequest:
    return ReportRequest(
        target=cmd.target,
        category=cmd.category,
        comment=cmd.comment,
        stream=cmd.stream,
        seq=cmd.seq,
        user=cmd.user,
        room=cmd.room,
        staff=cmd.staff,
        media=cmd.media,
    )
