"""Smoke tests of the bench harness: s1, s2 (pinned) and s3 with tiny numbers against Cocon
and ngIRCd (JSON shape, complete phases), the IRC side of s3's closed loop, the steal share,
each message's first and last delivery."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.cli import caveats, client_warning, steal_warning
from bench.loadclient import Counter, IrcClient, IrcConn, per_message
from bench.procstat import machine_ticks, server_cpu_seconds, steal_pct
from bench.servers import NgircdServer, Placement

REPO = Path(__file__).resolve().parent.parent
RECEIVERS, MESSAGES = 20, 20


def _ngircd_or_skip() -> None:
    if not (shutil.which("ngircd") or os.path.exists("/usr/sbin/ngircd")):
        if os.environ.get("CI") == "true":
            pytest.fail("ngircd is not installed (apt-get install ngircd): required in CI")
        pytest.skip("ngircd is not installed (apt-get install ngircd)")


def _bench(command: str, wait_s: float) -> dict[str, Any]:
    """``python -m bench <command> --json`` from this checkout, without the caller's
    ``COCON_*`` settings; its JSON once it exited with status 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COCON_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    argv = [sys.executable, "-m", "bench", *command.split(), "--json"]
    out = subprocess.run(
        argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=wait_s, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_s1_smoke_both_sides() -> None:
    _ngircd_or_skip()
    result = _bench(f"s1 --receivers {RECEIVERS} --messages {MESSAGES} --timeout 45", 55)
    assert result["scenario"] == "s1"
    assert set(result) >= {"scenario", "cocon", "reference", "ratios"}
    assert result["reference"]["server"].lower().startswith("ngircd")
    for side in ("cocon", "reference"):
        figures = result[side]
        assert figures["deliveries"] == RECEIVERS * MESSAGES, (side, figures)
        assert figures["expected"] == RECEIVERS * MESSAGES
        assert figures["complete"] is True
        assert figures["deliveries_per_s"] > 0
        assert figures["cpu_us_per_delivery"] >= 0
        assert 0.0 <= figures["steal_pct"] <= 100.0
        # The load client's CPU is read from /proc like the server's (in clock ticks: so
        # few deliveries may take less than one), and the total is the sum of the two.
        assert figures["client_cpu_s"] >= 0, figures
        server, client = figures["server_cpu_s"], figures["client_cpu_s"]
        per = 1e6 / figures["deliveries"]
        assert figures["client_cpu_us_per_delivery"] == pytest.approx(client * per)
        assert figures["total_cpu_us_per_delivery"] == pytest.approx((server + client) * per)
    assert result["cocon"]["acks"] == MESSAGES
    # ngIRCd may use less than one clock tick for so few deliveries: its CPU can read 0,
    # and a ratio over 0 is left out.
    assert "deliveries_per_s" in result["ratios"]


def test_s2_pinned_smoke_both_sides() -> None:
    """s2 with ``--pin``: the kernel holds each side's server tree (Cocon's store process
    included) and load client on the CPUs given; each message's first and last delivery."""
    _ngircd_or_skip()
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("--pin needs two CPUs")
    placement = Placement.pinned()
    result = _bench(f"s2 --receivers {RECEIVERS} --rate 20 --duration 1 --pin --timeout 45", 90)
    for side in ("cocon", "reference"):
        figures = result[side]
        assert figures["complete"] is True and figures["deliveries"] == RECEIVERS * 20, side
        assert figures["server_cpus"] == sorted(placement.servers or ()), figures
        assert figures["client_cpus"] == sorted(placement.client or ()), figures
        assert not set(figures["server_cpus"]) & set(figures["client_cpus"])
        first50, last50 = figures["latency_first_p50_ms"], figures["latency_last_p50_ms"]
        first99, last99 = figures["latency_first_p99_ms"], figures["latency_last_p99_ms"]
        assert 0 < first50 <= last50 and first99 <= last99 <= figures["latency_max_ms"], figures
    assert {"latency_first_p50_ms", "latency_last_p99_ms"} <= set(result["ratios"])


def _refusal(
    args: str,
    status: int = 2,
    preexec_fn: Callable[[], None] | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """``python -m bench <args>``, which must stop without a result: its stderr, once it
    exited with ``status`` (2: a usage error) and no traceback."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("COCON_")}
    out = subprocess.run(
        [sys.executable, "-m", "bench", *args.split()],
        cwd=REPO,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=preexec_fn,
    )
    assert out.returncode == status, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    return out.stderr


def test_pin_on_one_cpu_is_a_usage_error() -> None:
    """``--pin`` where the bench may use one CPU only: exit status 2 and a plain message,
    before any server starts."""
    stderr = _refusal(
        "s2 --pin --only cocon",
        preexec_fn=lambda: os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}),
    )
    assert "--pin needs two CPUs" in stderr


def test_nodes_outside_s3_is_a_usage_error() -> None:
    """``--nodes`` belongs to s3: elsewhere exit status 2 and a plain message."""
    assert "--nodes is an option of s3" in _refusal("s1 --nodes 2 --only cocon")


def test_nodes_without_postgresql_says_so() -> None:
    """s3 --nodes where PostgreSQL does not answer: exit status 3 and one plain line."""
    with socket.socket() as sock:  # a loopback port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        url = f"postgresql://postgres@127.0.0.1:{sock.getsockname()[1]}/test"
    stderr = _refusal("s3 --only cocon --nodes 2", 3, env={"BENCH_DATABASE_URL": url})
    assert (
        stderr.startswith(f"bench: PostgreSQL unreachable at {url}: ") and stderr.count("\n") == 1
    )


async def test_first_and_last_delivery_of_each_message() -> None:
    # Three messages (told apart by their send time), deliveries in arrival order.
    sent = array("d", [10.0, 10.0, 20.0, 10.0, 20.0, 30.0])
    latencies = array("d", [2.0, 5.0, 1.0, 9.0, 4.0, 7.0])
    figures = per_message(sent, latencies)
    # firsts: 2 (10.0), 1 (20.0), 7 (30.0); lasts: 9, 4, 7
    assert figures["latency_first_p50_ms"] == 2.0 and figures["latency_first_p99_ms"] == 7.0
    assert figures["latency_last_p50_ms"] == 7.0 and figures["latency_last_p99_ms"] == 9.0
    counter = Counter()
    counter.arm(6, latency=True, per_message=True)
    assert counter.latencies is not None and counter.sent is not None
    counter.latencies.extend(latencies)
    counter.sent.extend(sent)
    assert counter.latency_summary()["latency_last_p99_ms"] == 9.0
    counter.arm(6, latency=True)  # a closed loop (s3) keeps no send times
    assert counter.sent is None and "latency_first_p50_ms" not in counter.latency_summary()


def test_s3_smoke_both_sides_with_a_connect_storm() -> None:
    """The chat mix on a tiny scale against Cocon and ngIRCd, with its third phase: guests
    arriving while it runs."""
    _ngircd_or_skip()
    result = _bench("s3 --users 20 --rooms 2 --duration 2 --storm 5 --rate 7 --timeout 80", 170)
    assert result["reference"]["server"].lower().startswith("ngircd")
    for side in ("cocon", "reference"):
        figures = result[side]
        assert figures["users"] == 20 and figures["complete"] is True, (side, figures)
        assert figures["accepted_msgs_per_s"] > 0 and figures["errors"] == 0
        assert figures["half_rate"] == 7  # --rate: the open-loop phase's offered load
        # Every user is in a room of ten with a private partner: each message reaches
        # someone (Cocon also echoes it to its sender).
        assert figures["deliveries_per_s"] >= figures["accepted_msgs_per_s"]
        # Five a second for two seconds: every arrival entered, connected and joined.
        assert figures["storm_connect_errors"] == 0
        assert figures["storm_connects_per_s"] > 0
        assert 0 < figures["storm_connect_p50_ms"] <= figures["storm_connect_p99_ms"]
        assert figures["storm_accepted"] == figures["storm_sent"] > 0
        assert figures["storm_latency_p99_ms"] >= figures["storm_latency_p50_ms"] > 0
    # Where a Cocon arrival's time went, step by step; no step took longer than the whole.
    cocon = result["cocon"]
    for step in ("queue", "enter", "upgrade", "hello", "join"):
        p50, p99 = cocon[f"storm_{step}_p50_ms"], cocon[f"storm_{step}_p99_ms"]
        assert 0 <= p50 <= p99 <= cocon["storm_connect_p99_ms"], (step, cocon)
    assert cocon["storm_enter_p50_ms"] > 0 and cocon["storm_join_p50_ms"] > 0
    assert "storm_enter_p50_ms" not in result["reference"]  # one IRC exchange, not steps
    assert {"accepted_msgs_per_s", "cpu_us_per_msg", "latency_p99_ms"} <= set(result["ratios"])


def test_steal_share_and_warning() -> None:
    start = machine_ticks()
    assert 0 <= start[0] <= start[1]
    assert steal_pct((10, 1000), (40, 2000)) == 3.0
    assert steal_pct(start, start) == 0.0
    quiet = {"cocon": {"steal_pct": 1.0}, "reference": {"steal_pct": 4.9}}
    assert steal_warning(quiet) is None
    # One disturbed run among repeats is enough to warn; a steady phase counts too.
    noisy = {
        "cocon": {"steal_pct": 2.0, "per_run": {"steal_pct": [2.0, 1.0, 23.0]}},
        "reference": {"steal_pct": 1.0, "steady_steal_pct": 0.0},
    }
    warning = steal_warning(noisy)
    assert warning is not None and "23 %" in warning
    assert steal_warning({"cocon": None, "reference": {"steady_steal_pct": 7.5}}) is not None


def test_saturated_client_warning() -> None:
    """The warning names the phase whose latencies the client timed; a burst (s1) where
    the client runs flat out is not one, nor is a client below the threshold."""
    idle = {"scenario": "s2", "cocon": {"client_cpu_util": 0.5}, "reference": None}
    assert client_warning(idle) is None and caveats(idle) == []
    busy = {
        "scenario": "s2",
        "cocon": {"client_cpu_util": 0.5},
        "reference": {"client_cpu_util": 0.95},
    }
    warning = client_warning(busy)
    assert warning is not None and "95%" in warning and "client_cpu_util" in warning
    assert caveats(busy) == [warning]
    s5 = {"scenario": "s5", "cocon": {"client_cpu_util": 0.99, "steady_client_cpu_util": 0.92}}
    assert "steady_client_cpu_util" in (client_warning(s5) or "")
    assert client_warning({"scenario": "s1", "cocon": {"client_cpu_util": 0.99}}) is None


async def test_irc_chat_line_is_acknowledged_and_a_refusal_counted() -> None:
    """s3's IRC side against the real ngIRCd: the PONG after a chat line counts as its ack
    (and calls the closed loop back); a line to a nick nobody holds is counted as refused."""
    _ngircd_or_skip()
    server = NgircdServer()
    await server.start()
    try:
        counter = Counter()
        client = IrcClient(server.port, 2, counter)
        alice = await client.connect("alice", "#c0", wait_s=20)
        bob = await client.connect("bob", "#c0", wait_s=20)
        bob.counting = True
        loop = asyncio.get_running_loop()
        acked: asyncio.Future[IrcConn] = loop.create_future()
        alice.on_ack = acked.set_result
        alice.write(IrcClient.chat_line("#c0", 1))
        assert await asyncio.wait_for(acked, 10) is alice
        again: asyncio.Future[IrcConn] = loop.create_future()
        alice.on_ack = again.set_result
        alice.write(IrcClient.chat_line("nobody", 2))
        await asyncio.wait_for(again, 10)
        assert counter.acks == 2
        for _ in range(50):  # bob's copy travels on his own socket
            if counter.deliveries:
                break
            await asyncio.sleep(0.1)
        assert counter.deliveries == 1  # bob got the channel line; the nick line went nowhere
        assert counter.error_codes == {"401": 1}
        for conn in (alice, bob):
            assert conn.transport is not None
            conn.transport.close()
    finally:
        server.stop()


def test_server_cpu_counts_the_processes_it_started_and_reaped() -> None:
    """A forking server's CPU (PostgreSQL's, in s3 --nodes and s6) includes the backends
    that ended during the phase: here a child that burns 0.3 s and is waited for."""
    before = server_cpu_seconds(os.getpid())
    burn = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass"
    subprocess.run([sys.executable, "-c", burn], check=True, timeout=60)
    assert server_cpu_seconds(os.getpid()) - before >= 0.28
