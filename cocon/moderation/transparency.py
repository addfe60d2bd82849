"""Transparency figures for a period: what was reported, what was done, how fast, appeals."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.store import moderation as store


def summarize(rows: dict[str, list[Any]], start: float, end: float) -> dict[str, Any]:
    """Pure: the figures from the raw rows of the period."""
    actions = Counter(r.kind for r in rows["sanctions"])
    delays = [
        float(r.closed_at) - float(r.opened_at)
        for r in rows["cases"]
        if r.closed_at is not None and r.outcome in ("warn", "delete", "mute", "kick", "ban")
    ]
    return {
        "from": start,
        "to": end,
        "reports_by_category": dict(Counter(r.category for r in rows["reports"])),
        "actions_by_type": dict(actions),
        "cases_closed": len(rows["cases"]),
        "median_time_to_action_s": statistics.median(delays) if delays else None,
        "appeals": len(rows["appeals"]),
        "appeal_outcomes": dict(Counter(r.status for r in rows["appeals"])),
        "automated_actions": sum(1 for r in rows["sanctions"] if r.staff_id is None),
        "human_actions": sum(1 for r in rows["sanctions"] if r.staff_id is not None),
    }


async def report(engine: AsyncEngine, start: float, end: float) -> dict[str, Any]:
    async with engine.connect() as db:
        rows = await store.period_rows(db, start, end)
    return summarize(rows, start, end)
