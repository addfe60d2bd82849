"""Held messages: what the text-safety policy withheld, and the moderators' decision on it.

A held message lives only here (and as evidence in its case's report) until a moderator
releases it: then it is appended to its stream like any message. The status moves once,
``held`` → ``released`` or ``held`` → ``withheld`` (and ``withheld`` → ``released`` when an
appeal overturns the decision); :func:`claim` is the compare-and-set that makes a decision
happen once even when two moderators click at the same time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cocon.store.tables import held_messages

HELD, RELEASED, WITHHELD = "held", "released", "withheld"


@dataclass(frozen=True, slots=True)
class HeldRow:
    id: int
    case_id: int
    report_id: int
    stream: str
    sender_id: int
    cid: str
    release_cid: str
    text: str
    rules: str
    created_at: float
    status: str
    decided_by: int | None
    decided_at: float | None
    seq: int | None
    sanction_id: int | None

    def summary(self) -> dict[str, Any]:
        """What staff see of it in a case (the text only through the audited evidence)."""
        return {
            "id": self.id,
            "report_id": self.report_id,
            "stream": self.stream,
            "sender_id": self.sender_id,
            "rules": self.rules.split(),
            "created_at": self.created_at,
            "status": self.status,
            "decided_by": self.decided_by,
            "decided_at": self.decided_at,
            "seq": self.seq,
            "sanction_id": self.sanction_id,
        }


def _row(row: Any) -> HeldRow:
    m = row._mapping
    return HeldRow(
        id=int(m["id"]),
        case_id=int(m["case_id"]),
        report_id=int(m["report_id"]),
        stream=m["stream"],
        sender_id=int(m["sender_id"]),
        cid=m["cid"],
        release_cid=m["release_cid"],
        text=m["text"],
        rules=m["rules"],
        created_at=float(m["created_at"]),
        status=m["status"],
        decided_by=m["decided_by"],
        decided_at=m["decided_at"],
        seq=None if m["seq"] is None else int(m["seq"]),
        sanction_id=m["sanction_id"],
    )


async def add(db: AsyncConnection, **values: Any) -> int:
    result = await db.execute(
        insert(held_messages).values(status=HELD, **values).returning(held_messages.c.id)
    )
    return int(result.scalar_one())


async def get(db: AsyncConnection, held_id: int) -> HeldRow | None:
    row = (
        await db.execute(select(held_messages).where(held_messages.c.id == held_id))
    ).one_or_none()
    return None if row is None else _row(row)


async def of_case(db: AsyncConnection, case_id: int) -> list[HeldRow]:
    rows = await db.execute(
        select(held_messages).where(held_messages.c.case_id == case_id).order_by(held_messages.c.id)
    )
    return [_row(r) for r in rows]


async def of_report(db: AsyncConnection, report_id: int) -> list[HeldRow]:
    rows = await db.execute(
        select(held_messages)
        .where(held_messages.c.report_id == report_id)
        .order_by(held_messages.c.id)
    )
    return [_row(r) for r in rows]


async def of_sanction(db: AsyncConnection, sanction_id: int) -> HeldRow | None:
    row = (
        await db.execute(select(held_messages).where(held_messages.c.sanction_id == sanction_id))
    ).first()
    return None if row is None else _row(row)


async def claim(
    db: AsyncConnection,
    held_id: int,
    before: str,
    after: str,
    staff_id: int | None,
    now: float,
    sanction_id: int | None = None,
) -> bool:
    """Move ``before`` → ``after``; False if someone decided first (nothing changed)."""
    values: dict[str, Any] = {"status": after, "decided_by": staff_id, "decided_at": now}
    if sanction_id is not None:
        values["sanction_id"] = sanction_id
    done = await db.execute(
        update(held_messages)
        .where(held_messages.c.id == held_id, held_messages.c.status == before)
        .values(**values)
    )
    return bool(done.rowcount)


async def delivered(db: AsyncConnection, held_id: int, seq: int) -> None:
    await db.execute(update(held_messages).where(held_messages.c.id == held_id).values(seq=seq))
