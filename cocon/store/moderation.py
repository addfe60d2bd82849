"""Moderation storage: the audit chain (insert and read only), staff, networks, cases,
reports, sanctions and their ban marks, evasions, appeals and pending actions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Connection, and_, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cocon.moderation.audit import AuditEntry
from cocon.store.engine import upsert
from cocon.store.tables import (
    appeals,
    audit_count,
    audit_log,
    ban_marks,
    cases,
    entries,
    evasions,
    pending_actions,
    reports,
    sanctions,
    sessions,
    staff,
    staff_sessions,
    user_networks,
    users,
)


def _m(row: Any) -> dict[str, Any]:
    return dict(row._mapping)


# -- audit chain: there is deliberately no update or delete here --------------------------


def _audit(row: Any) -> AuditEntry:
    m = row._mapping
    return AuditEntry(
        seq=int(m["seq"]),
        ts_us=int(m["ts_us"]),
        actor=m["actor"],
        action=m["action"],
        target=m["target"],
        reason=m["reason"],
        data=m["data"],
        prev=m["prev"],
        hash=m["hash"],
    )


async def audit_last(db: AsyncConnection) -> AuditEntry | None:
    row = (
        await db.execute(select(audit_log).order_by(audit_log.c.seq.desc()).limit(1))
    ).one_or_none()
    return None if row is None else _audit(row)


async def audit_insert(db: AsyncConnection, e: AuditEntry) -> None:
    await db.execute(
        insert(audit_log).values(
            seq=e.seq,
            ts_us=e.ts_us,
            actor=e.actor,
            action=e.action,
            target=e.target,
            reason=e.reason,
            data=e.data,
            prev=e.prev,
            hash=e.hash,
        )
    )
    done = await db.execute(update(audit_count).where(audit_count.c.id == 1).values(count=e.seq))
    if done.rowcount == 0:
        await db.execute(insert(audit_count).values(id=1, count=e.seq))


async def audit_entries(db: AsyncConnection) -> list[AuditEntry]:
    rows = await db.execute(select(audit_log).order_by(audit_log.c.seq))
    return [_audit(r) for r in rows]


async def audit_stored_count(db: AsyncConnection) -> int:
    row = (await db.execute(select(audit_count.c.count).where(audit_count.c.id == 1))).one_or_none()
    return 0 if row is None else int(row[0])


async def audit_about(db: AsyncConnection, target: str) -> list[AuditEntry]:
    rows = await db.execute(
        select(audit_log).where(audit_log.c.target == target).order_by(audit_log.c.seq)
    )
    return [_audit(r) for r in rows]


# -- staff ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StaffRow:
    id: int
    pseudo: str
    role: str
    password_hash: str
    totp_secret: str
    totp_last_step: int
    disabled: bool


def _staff(row: Any) -> StaffRow:
    m = row._mapping
    return StaffRow(
        id=int(m["id"]),
        pseudo=m["pseudo"],
        role=m["role"],
        password_hash=m["password_hash"],
        totp_secret=m["totp_secret"],
        totp_last_step=int(m["totp_last_step"]),
        disabled=bool(m["disabled"]),
    )


async def create_staff(
    db: AsyncConnection,
    pseudo: str,
    key: str,
    role: str,
    password_hash: str,
    secret: str,
    now: float,
) -> int:
    result = await db.execute(
        insert(staff)
        .values(
            pseudo=pseudo,
            pseudo_key=key,
            role=role,
            password_hash=password_hash,
            totp_secret=secret,
            totp_last_step=0,
            disabled=False,
            created_at=now,
        )
        .returning(staff.c.id)
    )
    return int(result.scalar_one())


async def staff_by_key(db: AsyncConnection, key: str) -> StaffRow | None:
    row = (await db.execute(select(staff).where(staff.c.pseudo_key == key))).one_or_none()
    return None if row is None else _staff(row)


async def staff_by_id(db: AsyncConnection, staff_id: int) -> StaffRow | None:
    row = (await db.execute(select(staff).where(staff.c.id == staff_id))).one_or_none()
    return None if row is None else _staff(row)


async def active_staff(db: AsyncConnection) -> list[StaffRow]:
    rows = await db.execute(select(staff).where(staff.c.disabled.is_(False)).order_by(staff.c.id))
    return [_staff(r) for r in rows]


async def use_totp_step(db: AsyncConnection, staff_id: int, step: int) -> bool:
    """Record a used TOTP step; False if it (or a later one) was already used: no replay."""
    done = await db.execute(
        update(staff)
        .where(staff.c.id == staff_id, staff.c.totp_last_step < step)
        .values(totp_last_step=step)
    )
    return bool(done.rowcount)


async def create_staff_session(
    db: AsyncConnection, session_id: str, staff_id: int, now: float, expires_at: float
) -> None:
    await db.execute(
        insert(staff_sessions).values(
            id=session_id, staff_id=staff_id, created_at=now, expires_at=expires_at
        )
    )


async def staff_for_session(db: AsyncConnection, session_id: str, now: float) -> StaffRow | None:
    row = (
        await db.execute(
            select(staff)
            .select_from(staff_sessions.join(staff, staff.c.id == staff_sessions.c.staff_id))
            .where(
                staff_sessions.c.id == session_id,
                staff_sessions.c.expires_at > now,
                staff.c.disabled.is_(False),
            )
        )
    ).one_or_none()
    return None if row is None else _staff(row)


async def end_staff_session(db: AsyncConnection, session_id: str, now: float) -> None:
    await db.execute(
        update(staff_sessions).where(staff_sessions.c.id == session_id).values(expires_at=now)
    )


# -- where users come from -----------------------------------------------------------------


def touch_network(db: Connection, user_id: int, net: str, now: float) -> None:
    """Record (or refresh) that ``user_id`` connects from ``net``: one upsert, so that two
    connections of the same user recording it at once both succeed."""
    db.execute(
        upsert(db.dialect.name, user_networks, ("last_seen",)),
        {"user_id": user_id, "net": net, "last_seen": now},
    )


async def networks_of(db: AsyncConnection, user_id: int) -> list[str]:
    rows = await db.execute(select(user_networks.c.net).where(user_networks.c.user_id == user_id))
    return [r.net for r in rows]


async def devices_of(db: AsyncConnection, user_id: int) -> list[str]:
    found: set[str] = set()
    row = (await db.execute(select(users.c.device_id).where(users.c.id == user_id))).one_or_none()
    if row is not None and row.device_id:
        found.add(row.device_id)
    rows = await db.execute(
        select(sessions.c.device_id).where(
            sessions.c.user_id == user_id, sessions.c.device_id.is_not(None)
        )
    )
    found.update(r.device_id for r in rows)
    return sorted(found)


def user_created_at(db: Connection, user_id: int) -> float | None:
    row = db.execute(select(users.c.created_at).where(users.c.id == user_id)).one_or_none()
    return None if row is None else float(row.created_at)


# -- cases and reports ---------------------------------------------------------------------


async def open_case(db: AsyncConnection, target: str) -> dict[str, Any] | None:
    row = (
        await db.execute(select(cases).where(cases.c.target == target, cases.c.status == "open"))
    ).first()
    return None if row is None else _m(row)


async def create_case(
    db: AsyncConnection,
    target: str,
    accused_id: int | None,
    room_id: int | None,
    priority: int,
    now: float,
) -> int:
    result = await db.execute(
        insert(cases)
        .values(
            target=target,
            accused_id=accused_id,
            room_id=room_id,
            priority=priority,
            status="open",
            opened_at=now,
        )
        .returning(cases.c.id)
    )
    return int(result.scalar_one())


async def raise_priority(db: AsyncConnection, case_id: int, priority: int) -> None:
    await db.execute(
        update(cases)
        .where(cases.c.id == case_id, cases.c.priority > priority)
        .values(priority=priority)
    )


async def add_report(db: AsyncConnection, **values: Any) -> int:
    result = await db.execute(insert(reports).values(**values).returning(reports.c.id))
    return int(result.scalar_one())


async def queue(db: AsyncConnection, limit: int = 100) -> list[dict[str, Any]]:
    """Open cases, most urgent first, then oldest first."""
    count = func.count(reports.c.id).label("reports")
    rows = await db.execute(
        select(cases, count)
        .select_from(cases.join(reports, reports.c.case_id == cases.c.id))
        .where(cases.c.status == "open")
        .group_by(*cases.c)
        .order_by(cases.c.priority, cases.c.opened_at, cases.c.id)
        .limit(limit)
    )
    return [_m(r) for r in rows]


async def case(db: AsyncConnection, case_id: int) -> dict[str, Any] | None:
    row = (await db.execute(select(cases).where(cases.c.id == case_id))).one_or_none()
    return None if row is None else _m(row)


async def reports_of_case(db: AsyncConnection, case_id: int) -> list[dict[str, Any]]:
    rows = await db.execute(
        select(reports).where(reports.c.case_id == case_id).order_by(reports.c.id)
    )
    return [_m(r) for r in rows]


async def report(db: AsyncConnection, report_id: int) -> dict[str, Any] | None:
    row = (await db.execute(select(reports).where(reports.c.id == report_id))).one_or_none()
    return None if row is None else _m(row)


async def close_case(
    db: AsyncConnection, case_id: int, outcome: str, staff_id: int | None, now: float
) -> bool:
    done = await db.execute(
        update(cases)
        .where(cases.c.id == case_id, cases.c.status == "open")
        .values(status="closed", outcome=outcome, closed_by=staff_id, closed_at=now)
    )
    return bool(done.rowcount)


# -- sanctions and bans --------------------------------------------------------------------


async def add_sanction(db: AsyncConnection, **values: Any) -> int:
    result = await db.execute(insert(sanctions).values(**values).returning(sanctions.c.id))
    return int(result.scalar_one())


async def add_ban_marks(
    db: AsyncConnection, sanction_id: int, marks: Sequence[tuple[str, str, float | None]]
) -> None:
    if marks:
        await db.execute(
            insert(ban_marks),
            [{"sanction_id": sanction_id, "kind": k, "value": v, "until": u} for k, v, u in marks],
        )


async def sanction(db: AsyncConnection, sanction_id: int) -> dict[str, Any] | None:
    row = (await db.execute(select(sanctions).where(sanctions.c.id == sanction_id))).one_or_none()
    return None if row is None else _m(row)


async def revoke(db: AsyncConnection, sanction_id: int) -> None:
    await db.execute(update(sanctions).where(sanctions.c.id == sanction_id).values(revoked=True))


async def earlier_bans(db: AsyncConnection, user_id: int) -> int:
    result = await db.execute(
        select(func.count())
        .select_from(sanctions)
        .where(sanctions.c.user_id == user_id, sanctions.c.kind == "ban")
    )
    return int(result.scalar_one())


def _active(now: float | BindParameter[Any]) -> Any:
    return and_(
        sanctions.c.revoked.is_(False),
        or_(sanctions.c.ends_at.is_(None), sanctions.c.ends_at > now),
    )


# Every active ban of a user, a device or a network, in one statement built once: it runs at
# every entry and every hello, where building it per call (three statements then) was a
# fifth of the server's CPU per connect (docs/benchmarks.md, s4).
_ACTIVE_BANS = (
    select(sanctions, ban_marks.c.kind.label("mark"))
    .select_from(
        sanctions.outerjoin(
            ban_marks,
            and_(  # a live mark of the ban on one of the devices or networks asked about
                ban_marks.c.sanction_id == sanctions.c.id,
                or_(ban_marks.c.until.is_(None), ban_marks.c.until > bindparam("now")),
                or_(
                    and_(
                        ban_marks.c.kind == "device",
                        ban_marks.c.value.in_(bindparam("devices", expanding=True)),
                    ),
                    and_(
                        ban_marks.c.kind == "net",
                        ban_marks.c.value.in_(bindparam("nets", expanding=True)),
                    ),
                ),
            ),
        )
    )
    .where(
        sanctions.c.kind == "ban",
        _active(bindparam("now")),
        or_(sanctions.c.user_id == bindparam("user_id"), ban_marks.c.kind.is_not(None)),
    )
    .order_by(sanctions.c.starts_at)
)
_SANCTION_COLUMNS = tuple(c.name for c in sanctions.c)


def active_ban(
    db: Connection,
    user_id: int | None,
    devices: Sequence[str],
    nets: Sequence[str],
    now: float,
) -> tuple[dict[str, Any], str] | None:
    """The ban that applies, and what matched: ``user``, ``device`` or ``net`` (in that
    order of precedence; the oldest ban first within each)."""
    rows = (
        db.execute(
            _ACTIVE_BANS,
            {"user_id": user_id, "devices": list(devices), "nets": list(nets), "now": now},
        )
    ).all()
    # What each row (oldest first) matched: the user's own ban, else the mark it joined by.
    found = [("user" if r.user_id == user_id else str(r.mark), r._mapping) for r in rows]
    for wanted in ("user", "device", "net"):
        for matched, m in found:
            if matched == wanted:
                return {k: m[k] for k in _SANCTION_COLUMNS}, matched
    return None


async def active_restraints(
    db: AsyncConnection, now: float
) -> list[tuple[int, str, int | None, float | None]]:
    """Every active mute and restriction: (user, kind, room or None, end or None)."""
    rows = await db.execute(
        select(
            sanctions.c.user_id, sanctions.c.kind, sanctions.c.room_id, sanctions.c.ends_at
        ).where(sanctions.c.kind.in_(("mute", "restrict")), _active(now))
    )
    return [(int(r.user_id), str(r.kind), r.room_id, r.ends_at) for r in rows]


async def active_voice_mutes(
    db: AsyncConnection, user_id: int, room_id: int, now: float
) -> list[int]:
    """The ids of the moderators' mutes that hold ``user_id`` silent in a voice room."""
    rows = await db.execute(
        select(sanctions.c.id).where(
            sanctions.c.user_id == user_id,
            sanctions.c.kind == "voice_mute",
            sanctions.c.room_id == room_id,
            _active(now),
        )
    )
    return [int(r.id) for r in rows]


async def sanctions_of(db: AsyncConnection, user_id: int) -> list[dict[str, Any]]:
    rows = await db.execute(
        select(sanctions).where(sanctions.c.user_id == user_id).order_by(sanctions.c.id)
    )
    return [_m(r) for r in rows]


def add_evasion(
    db: Connection, sanction_id: int, user_id: int | None, via: str, matched: str, now: float
) -> None:
    db.execute(
        insert(evasions).values(
            sanction_id=sanction_id, user_id=user_id, via=via, matched=matched, ts=now
        )
    )


async def recent_evasions(db: AsyncConnection, limit: int = 100) -> list[dict[str, Any]]:
    rows = await db.execute(select(evasions).order_by(evasions.c.id.desc()).limit(limit))
    return [_m(r) for r in rows]


async def redact_entry(db: AsyncConnection, stream: str, seq: int, body: str) -> str | None:
    """Replace a text entry's body (the seq stays: no gap); returns the former text."""
    row = (
        await db.execute(
            select(entries.c.body).where(
                entries.c.stream == stream, entries.c.seq == seq, entries.c.kind == "text"
            )
        )
    ).one_or_none()
    if row is None:
        return None
    await db.execute(
        update(entries)
        .where(entries.c.stream == stream, entries.c.seq == seq)
        .values(body=body, data=None)
    )
    return str(row.body)


async def entry_sender(db: AsyncConnection, stream: str, seq: int) -> int | None:
    row = (
        await db.execute(
            select(entries.c.sender_id).where(entries.c.stream == stream, entries.c.seq == seq)
        )
    ).one_or_none()
    return None if row is None or row.sender_id is None else int(row.sender_id)


# -- appeals, conflicts, pending actions ---------------------------------------------------


async def add_appeal(db: AsyncConnection, **values: Any) -> int:
    result = await db.execute(insert(appeals).values(**values).returning(appeals.c.id))
    return int(result.scalar_one())


async def appeal(db: AsyncConnection, appeal_id: int) -> dict[str, Any] | None:
    row = (await db.execute(select(appeals).where(appeals.c.id == appeal_id))).one_or_none()
    return None if row is None else _m(row)


async def open_appeal_for(db: AsyncConnection, sanction_id: int) -> dict[str, Any] | None:
    row = (
        await db.execute(
            select(appeals).where(appeals.c.sanction_id == sanction_id, appeals.c.status == "open")
        )
    ).first()
    return None if row is None else _m(row)


async def open_appeal_load(db: AsyncConnection) -> dict[int, int]:
    rows = await db.execute(
        select(appeals.c.assigned_to, func.count())
        .where(appeals.c.status == "open", appeals.c.assigned_to.is_not(None))
        .group_by(appeals.c.assigned_to)
    )
    return {int(r[0]): int(r[1]) for r in rows}


async def appeals_for(db: AsyncConnection, staff_id: int) -> list[dict[str, Any]]:
    """Open appeals assigned to a moderator, each with the sanction it contests."""
    rows = await db.execute(
        select(appeals)
        .where(appeals.c.assigned_to == staff_id, appeals.c.status == "open")
        .order_by(appeals.c.id)
    )
    out = []
    for row in rows.all():
        appeal = _m(row)
        appeal["sanction"] = await sanction(db, int(appeal["sanction_id"]))
        out.append(appeal)
    return out


async def decide_appeal(
    db: AsyncConnection, appeal_id: int, status: str, staff_id: int, now: float
) -> bool:
    done = await db.execute(
        update(appeals)
        .where(appeals.c.id == appeal_id, appeals.c.status == "open")
        .values(status=status, decided_by=staff_id, decided_at=now)
    )
    return bool(done.rowcount)


async def conflicted(db: AsyncConnection, staff_id: int, user_id: int) -> bool:
    """Has this user reported this member of staff, or appealed against their decision?"""
    appealed = (
        await db.execute(
            select(appeals.c.id)
            .select_from(appeals.join(sanctions, sanctions.c.id == appeals.c.sanction_id))
            .where(appeals.c.user_id == user_id, sanctions.c.staff_id == staff_id)
            .limit(1)
        )
    ).first()
    if appealed is not None:
        return True
    reported = (
        await db.execute(
            select(reports.c.id)
            .where(
                reports.c.reporter_id == user_id,
                reports.c.target_kind == "staff",
                reports.c.target_id == staff_id,
            )
            .limit(1)
        )
    ).first()
    return reported is not None


async def add_pending(db: AsyncConnection, staff_id: int, payload: str, now: float) -> int:
    result = await db.execute(
        insert(pending_actions)
        .values(requested_by=staff_id, payload=payload, status="waiting", created_at=now)
        .returning(pending_actions.c.id)
    )
    return int(result.scalar_one())


async def pending(db: AsyncConnection, pending_id: int) -> dict[str, Any] | None:
    row = (
        await db.execute(select(pending_actions).where(pending_actions.c.id == pending_id))
    ).one_or_none()
    return None if row is None else _m(row)


async def finish_pending(db: AsyncConnection, pending_id: int, staff_id: int) -> bool:
    done = await db.execute(
        update(pending_actions)
        .where(pending_actions.c.id == pending_id, pending_actions.c.status == "waiting")
        .values(status="done", confirmed_by=staff_id)
    )
    return bool(done.rowcount)


# -- transparency --------------------------------------------------------------------------


async def period_rows(db: AsyncConnection, start: float, end: float) -> dict[str, list[Any]]:
    """The raw rows a transparency report counts, for ``start <= t < end``."""
    out: dict[str, list[Any]] = {}
    out["reports"] = list(
        await db.execute(
            select(reports.c.category).where(
                reports.c.created_at >= start, reports.c.created_at < end
            )
        )
    )
    out["sanctions"] = list(
        await db.execute(
            select(sanctions.c.kind, sanctions.c.staff_id).where(
                sanctions.c.starts_at >= start, sanctions.c.starts_at < end
            )
        )
    )
    out["cases"] = list(
        await db.execute(
            select(cases.c.opened_at, cases.c.closed_at, cases.c.outcome).where(
                cases.c.closed_at >= start, cases.c.closed_at < end
            )
        )
    )
    out["appeals"] = list(
        await db.execute(
            select(appeals.c.status).where(
                appeals.c.created_at >= start, appeals.c.created_at < end
            )
        )
    )
    return out


async def waiting_pending(db: AsyncConnection) -> list[dict[str, Any]]:
    """Sanctions waiting for a second moderator's confirmation, oldest first."""
    rows = await db.execute(
        select(pending_actions)
        .where(pending_actions.c.status == "waiting")
        .order_by(pending_actions.c.id)
    )
    return [_m(r) for r in rows]


async def user_history(db: AsyncConnection, user_id: int) -> dict[str, Any]:
    """A user's sanctions, the cases about them and the reports they filed (no content)."""
    about = await db.execute(
        select(cases).where(cases.c.accused_id == user_id).order_by(cases.c.id.desc()).limit(50)
    )
    filed = await db.execute(
        select(
            reports.c.id,
            reports.c.case_id,
            reports.c.category,
            reports.c.target_kind,
            reports.c.created_at,
        )
        .where(reports.c.reporter_id == user_id)
        .order_by(reports.c.id.desc())
        .limit(50)
    )
    return {
        "sanctions": await sanctions_of(db, user_id),
        "cases": [_m(r) for r in about],
        "reports_filed": [_m(r) for r in filed],
    }
