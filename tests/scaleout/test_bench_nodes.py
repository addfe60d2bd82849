"""s3 with ``--nodes 2``: the chat mix against two Cocon nodes sharing a fresh PostgreSQL
database and Redis prefix, on a tiny scale (users spread over both nodes, every private pair
spanning them)."""

from __future__ import annotations

import pytest

from tests.test_bench_smoke import _bench


def test_s3_on_two_nodes(pg_admin: str, shared_redis: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_DATABASE_URL", pg_admin)
    monkeypatch.setenv("BENCH_REDIS_URL", shared_redis)
    result = _bench(
        "s3 --only cocon --nodes 2 --users 20 --rooms 2 --duration 2 --rate 7 --timeout 120", 200
    )
    cocon = result["cocon"]
    assert cocon["server"] == "cocon x2 (PostgreSQL, Redis)" and cocon["nodes"] == 2, cocon
    assert cocon["users_per_node"] == [10, 10], cocon
    assert cocon["users"] == 20 and cocon["complete"] is True and cocon["errors"] == 0, cocon
    assert cocon["half_accepted"] == cocon["half_sent"] > 0
    # Each message reaches its room of ten or its partner on the other node, and its sender.
    assert cocon["deliveries_per_s"] >= 2 * cocon["accepted_msgs_per_s"] > 0
    # Both nodes worked, and so did PostgreSQL (every message is committed there).
    assert len(cocon["node_cpu_s"]) == 2 and min(cocon["node_cpu_s"]) > 0, cocon
    assert cocon["pg_cpu_us_per_msg"] > 0 and cocon["redis_cpu_us_per_msg"] >= 0
