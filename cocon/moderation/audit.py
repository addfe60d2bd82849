"""The audit log: a hash chain that shows any change, deletion, reordering or cut tail.

Each entry hashes the canonical JSON of its fields and of the previous entry's hash, so
changing one byte breaks every link after it. A cut tail leaves a valid chain, so two
witnesses are kept outside the chain: the stored entry count, and the head (seq, hash)
exported every ``audit_head_every`` entries to an append-only file in the data folder
(``audit-heads.jsonl``), which an operator can copy elsewhere.

There is no function to edit or delete an entry; the database refuses it too (triggers).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

GENESIS = "0" * 64
HEADS_FILE = "audit-heads.jsonl"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    seq: int
    ts_us: int
    actor: str  # "staff:3", "user:12", "system", "cli"
    action: str
    target: str
    reason: str
    data: str  # canonical JSON object
    prev: str
    hash: str


@dataclass(frozen=True, slots=True)
class Head:
    seq: int
    hash: str


def canonical(value: object) -> str:
    """One JSON text per value: sorted keys, no spaces, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    seq: int, ts_us: int, actor: str, action: str, target: str, reason: str, data: str, prev: str
) -> str:
    body = canonical([seq, ts_us, actor, action, target, reason, data, prev])
    return hashlib.sha256(body.encode()).hexdigest()


def make_entry(
    prev: AuditEntry | None,
    actor: str,
    action: str,
    target: str,
    reason: str,
    data: dict[str, object] | None = None,
    ts_us: int | None = None,
) -> AuditEntry:
    """The entry that follows ``prev`` (None: the first)."""
    seq = 1 if prev is None else prev.seq + 1
    prev_hash = GENESIS if prev is None else prev.hash
    ts = time.time_ns() // 1000 if ts_us is None else ts_us
    text = canonical(data or {})
    digest = entry_hash(seq, ts, actor, action, target, reason, text, prev_hash)
    return AuditEntry(seq, ts, actor, action, target, reason, text, prev_hash, digest)


def verify(
    entries: Sequence[AuditEntry], heads: Iterable[Head] = (), count: int | None = None
) -> list[str]:
    """Every problem found in the chain as read (oldest first); empty means intact.

    ``heads``: exported heads; ``count``: the stored number of entries.
    """
    problems: list[str] = []
    prev_hash = GENESIS
    for i, e in enumerate(entries):
        if e.seq != i + 1:
            problems.append(f"position {i + 1}: seq {e.seq} (deleted or reordered entry)")
        if e.prev != prev_hash:
            problems.append(f"seq {e.seq}: previous hash does not match (chain broken)")
        digest = entry_hash(e.seq, e.ts_us, e.actor, e.action, e.target, e.reason, e.data, e.prev)
        if digest != e.hash:
            problems.append(f"seq {e.seq}: content does not match its hash (altered)")
        prev_hash = e.hash
    by_seq = {e.seq: e for e in entries}
    for head in heads:
        found = by_seq.get(head.seq)
        if found is None:
            problems.append(f"exported head {head.seq} is missing (truncated log)")
        elif found.hash != head.hash:
            problems.append(f"exported head {head.seq} does not match (rewritten log)")
    if count is not None and count != len(entries):
        problems.append(f"stored count is {count} but {len(entries)} entries remain (truncated)")
    return problems


def read_heads(data_dir: str) -> list[Head]:
    path = Path(data_dir) / HEADS_FILE
    if not path.exists():
        return []
    heads = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            heads.append(Head(int(item["seq"]), str(item["hash"])))
    return heads


def _export_head(data_dir: str, entry: AuditEntry) -> None:
    path = Path(data_dir) / HEADS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    line = canonical({"seq": entry.seq, "hash": entry.hash, "ts_us": entry.ts_us}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    try:
        os.write(fd, line.encode())
        os.fsync(fd)
    finally:
        os.close(fd)


class AuditLog:
    """Appends to the chain; one writer at a time per node, retried across nodes."""

    def __init__(self, engine: AsyncEngine, data_dir: str, head_every: int) -> None:
        self._engine = engine
        self._data_dir = data_dir
        self._head_every = head_every
        self._lock = asyncio.Lock()

    async def append(
        self,
        actor: str,
        action: str,
        target: str,
        reason: str = "",
        data: dict[str, object] | None = None,
    ) -> AuditEntry:
        from cocon.store import moderation as store

        async with self._lock:
            for attempt in range(5):
                try:
                    async with self._engine.begin() as db:
                        last = await store.audit_last(db)
                        entry = make_entry(last, actor, action, target, reason, data)
                        await store.audit_insert(db, entry)
                    break
                except IntegrityError:
                    # Another node took this seq: read the new head and chain after it.
                    if attempt == 4:
                        raise
            if self._head_every and entry.seq % self._head_every == 0:
                await asyncio.to_thread(_export_head, self._data_dir, entry)
        return entry


_logs: dict[int, AuditLog] = {}


def audit_log_for(engine: AsyncEngine, data_dir: str, head_every: int) -> AuditLog:
    """The node's one AuditLog for this engine (so that its lock is shared)."""
    log = _logs.get(id(engine))
    if log is None:
        log = _logs[id(engine)] = AuditLog(engine, data_dir, head_every)
    return log
