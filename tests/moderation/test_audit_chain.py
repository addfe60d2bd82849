"""The audit chain's verification (pure): any change, deletion, reordering or cut shows."""

from __future__ import annotations

import dataclasses
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from cocon.moderation.audit import AuditEntry, Head, make_entry, verify

N = 10_000
HEAD_EVERY = 100
FIELDS = ("actor", "action", "target", "reason", "data", "prev", "hash")


@cache
def chain() -> tuple[tuple[AuditEntry, ...], tuple[Head, ...]]:
    entries: list[AuditEntry] = []
    prev = None
    for i in range(N):
        prev = make_entry(
            prev,
            f"staff:{i % 7}",
            "sanction_ban" if i % 3 else "view_evidence",
            f"user:{i}",
            "raison é" * (i % 4),
            {"i": i, "note": "données"},
            ts_us=1_700_000_000_000_000 + i,
        )
        entries.append(prev)
    heads = tuple(Head(e.seq, e.hash) for e in entries if e.seq % HEAD_EVERY == 0)
    return tuple(entries), heads


def test_intact_chain_verifies() -> None:
    entries, heads = chain()
    assert verify(entries, heads, N) == []


slow = settings(max_examples=20, deadline=None)


@slow
@given(st.integers(0, N - 1), st.sampled_from(FIELDS), st.integers(0, 10_000), st.integers(1, 127))
def test_flipped_byte_detected(index: int, field: str, pos: int, bit: int) -> None:
    entries, heads = chain()
    e = entries[index]
    value: str = getattr(e, field)
    if not value:
        value, pos = "x", 0  # an empty field gets a byte where there was none
        changed = value
    else:
        pos %= len(value)
        changed = value[:pos] + chr(ord(value[pos]) ^ bit) + value[pos + 1 :]
    tampered = list(entries)
    tampered[index] = dataclasses.replace(e, **{field: changed})
    assert verify(tampered, heads, N)


@slow
@given(st.integers(0, N - 1), st.integers(0, 62))
def test_flipped_bit_in_numbers_detected(index: int, bit: int) -> None:
    entries, heads = chain()
    tampered = list(entries)
    tampered[index] = dataclasses.replace(entries[index], ts_us=entries[index].ts_us ^ (1 << bit))
    assert verify(tampered, heads, N)


@slow
@given(st.integers(0, N - 1))
def test_deleted_entry_detected(index: int) -> None:
    entries, heads = chain()
    tampered = list(entries)
    del tampered[index]
    assert verify(tampered, heads, N)
    # Even if the count is rewritten to match, the chain breaks (or a head goes missing).
    assert verify(tampered, heads, N - 1)


@slow
@given(st.integers(0, N - 1), st.integers(0, N - 1))
def test_reordered_entries_detected(i: int, j: int) -> None:
    if i == j:
        j = (i + 1) % N
    entries, heads = chain()
    tampered = list(entries)
    tampered[i], tampered[j] = tampered[j], tampered[i]
    assert verify(tampered, heads, N)


@slow
@given(st.integers(1, N))
def test_truncated_log_detected(cut: int) -> None:
    entries, heads = chain()
    tampered = entries[: N - cut]
    assert verify(tampered, heads, N)  # the stored count says more
    assert verify(tampered, heads, N - cut)  # count rewritten too: the exported heads say more


def test_rewritten_chain_detected_by_heads() -> None:
    """Whoever rewrites everything from some point (a consistent new chain) still
    contradicts the heads exported before."""
    entries, heads = chain()
    keep = list(entries[:4_321])
    prev = keep[-1]
    for i in range(N - len(keep)):
        prev = make_entry(prev, "staff:1", "nothing", f"user:{i}", "", ts_us=prev.ts_us + 1)
        keep.append(prev)
    problems = verify(keep, heads, N)
    assert any("head" in p for p in problems)
