"""The scenarios: each runs one side (Cocon or the reference) and returns its figures.

Figures use the shared names: ``cpu_us_per_delivery``, ``deliveries_per_s``,
``accepted_msgs_per_s``, ``cpu_us_per_msg``, ``latency_p50_ms``, ``latency_p99_ms``,
``rss_kib_per_conn`` (plus ``cpu_us_per_connect`` for s4). Server CPU is user+system time of
every process of the server's tree, read from /proc around the measured phase only.
"""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import signal
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.control import LoadClient
from bench.procstat import mark, process_tree, rss_kib, wait_quiet
from bench.servers import CoconServer, NgircdServer, Server, cocon_command_budget

Figures = dict[str, Any]


@dataclass
class Params:
    receivers: int = 1000
    messages: int = 500
    rate: float = 50.0
    duration_s: float = 20.0
    connections: int = 10_000
    users: int = 2000
    rooms: int = 50
    senders: int | None = None  # default: 1, or what Cocon's per-connection budget needs
    concurrency: int | None = None  # default: 64 for Cocon, 8 for ngIRCd
    timeout_s: float = 600.0
    scenario: str = ""
    profile_dir: str | None = None  # py-spy the Cocon server during measured phases
    extra: dict[str, Any] = field(default_factory=dict)


DEFAULTS: dict[str, dict[str, Any]] = {
    "s1": {"receivers": 1000, "messages": 500},
    "s2": {"receivers": 1000, "rate": 50.0, "duration_s": 20.0},
    "s3": {"users": 2000, "rooms": 50, "duration_s": 15.0},
    "s4": {"connections": 10_000, "timeout_s": 900.0},
    "s5": {
        "receivers": 5000,
        "messages": 100,
        "rate": 10.0,
        "duration_s": 15.0,
        "timeout_s": 1200.0,
    },
}

DESCRIPTIONS = {
    "s1": "burst fan-out: one room, N receivers, one sender sends M messages at once",
    "s2": "steady fan-out: N receivers, R messages/s, latency sender -> receivers",
    "s3": "chat mix: U guests in K rooms plus private conversations (Cocon only)",
    "s4": "memory: N idle authenticated connections",
    "s5": "big room: N receivers, a burst then a steady phase",
    "s6": "scale-out: two nodes with Redis against one node",
}


class Side:
    """One server plus one load client, both ended on exit."""

    def __init__(self, server: Server, proto: str, params: Params) -> None:
        self.server = server
        self.proto = proto
        self.params = params
        self.client = LoadClient(proto, server.port, params.concurrency, params.timeout_s + 60)

    async def __aenter__(self) -> Side:
        try:
            await self.server.start()
            await self.client.start()
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.client.stop()
        finally:
            self.server.stop()

    async def measured(self, cmd: dict[str, Any], wait_s: float) -> tuple[dict[str, Any], Figures]:
        """Run one load command; return its answer and the server/client CPU used meanwhile."""
        await wait_quiet(self.server.pid)
        profiler = await self._start_profiler(str(cmd["cmd"]))
        s0, c0 = mark(self.server.pid), mark(self.client.pid)
        try:
            reply = await self.client.call(cmd, wait_s)
        finally:
            s1, c1 = mark(self.server.pid), mark(self.client.pid)
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(profiler.wait(), 60)
                except TimeoutError:
                    profiler.kill()
        wall = s1.wall - s0.wall
        cpu = s1.cpu_s - s0.cpu_s
        return reply, {
            "server_cpu_s": cpu,
            "wall_s": wall,
            "server_cpu_util": cpu / wall if wall > 0 else 0.0,
            "client_cpu_util": (c1.cpu_s - c0.cpu_s) / wall if wall > 0 else 0.0,
        }

    async def _start_profiler(self, phase: str) -> asyncio.subprocess.Process | None:
        """py-spy on the Cocon server for one phase (collapsed stacks in profile_dir)."""
        out_dir = self.params.profile_dir
        if not out_dir or self.server.kind != "cocon":
            return None
        exe = _py_spy()
        if exe is None:
            return None
        out = _profile_path(out_dir, f"{self.params.scenario}-{phase}-cocon.txt")
        # BENCH_PYSPY_ARGS, e.g. "--native" (then py-spy pauses the server to sample).
        extra = os.environ.get("BENCH_PYSPY_ARGS", "--nonblocking").split()
        argv = [exe, "record", "--pid", str(self.server.pid), "--rate", "250", *extra]
        argv += ["--format", "raw", "--output", str(out)]
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        await asyncio.sleep(1.0)  # let py-spy attach before the phase starts
        return proc


def _py_spy() -> str | None:
    exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    return exe if os.path.exists(exe) else None


def _profile_path(out_dir: str, name: str) -> Path:
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return Path(out_dir) / name


def _per(cpu_s: float, count: float) -> float:
    return cpu_s * 1e6 / count if count > 0 else float("nan")


def make_server(kind: str, extra_env: dict[str, str] | None = None) -> tuple[Server, str]:
    if kind == "cocon":
        return CoconServer(extra_env), "cocon"
    return NgircdServer(), "irc"


async def _burst(side: Side, receivers: int, messages: int) -> Figures:
    p = side.params
    reply, cpu = await side.measured({"cmd": "burst", "messages": messages}, p.timeout_s / 2)
    return {
        "cpu_us_per_delivery": _per(cpu["server_cpu_s"], reply["deliveries"]),
        "deliveries_per_s": reply["deliveries_per_s"],
        "deliveries": reply["deliveries"],
        "expected": reply["expected"],
        "complete": reply["complete"],
        "acks": reply["acks"],
        "disconnects": reply["disconnects"],
        "errors": reply["errors"],
        "burst_s": reply["elapsed_s"],
        **cpu,
    }


async def _steady(side: Side) -> Figures:
    p = side.params
    reply, cpu = await side.measured(
        {"cmd": "steady", "rate": p.rate, "duration_s": p.duration_s},
        p.duration_s + 60,
    )
    return {
        "latency_p50_ms": reply.get("latency_p50_ms", float("nan")),
        "latency_p99_ms": reply.get("latency_p99_ms", float("nan")),
        "latency_p90_ms": reply.get("latency_p90_ms", float("nan")),
        "latency_max_ms": reply.get("latency_max_ms", float("nan")),
        "cpu_us_per_delivery": _per(cpu["server_cpu_s"], reply["deliveries"]),
        "deliveries_per_s": reply["deliveries_per_s"],
        "deliveries": reply["deliveries"],
        "expected": reply["expected"],
        "complete": reply["complete"],
        "disconnects": reply["disconnects"],
        "errors": reply["errors"],
        **cpu,
    }


def senders_needed(p: Params, burst: bool, steady: bool) -> int:
    """1 sender, unless Cocon caps commands per connection without a setting to lift it:
    then enough senders that none exceeds 80 % of that budget (the same on both sides)."""
    if p.senders:
        return p.senders
    budget = cocon_command_budget()
    if budget is None:
        return 1
    per_s, burst_cap = budget
    k = 1
    if burst:
        k = max(k, math.ceil(p.messages / (burst_cap * 0.8)))
    if steady:
        k = max(k, math.ceil(p.rate / (per_s * 0.8)))
    return k


async def _fanout_setup(side: Side, senders: int) -> Figures:
    p = side.params
    reply = await side.client.call(
        {"cmd": "fanout_setup", "receivers": p.receivers, "senders": senders}, p.timeout_s
    )
    return {
        "receivers": reply["receivers"],
        "senders": reply["senders"],
        "setup_s": reply["setup_s"],
    }


async def s1(kind: str, p: Params) -> Figures:
    server, proto = make_server(kind)
    async with Side(server, proto, p) as side:
        setup = await _fanout_setup(side, senders_needed(p, burst=True, steady=False))
        figures = await _burst(side, p.receivers, p.messages)
        return {"server": server.label, **setup, "messages": p.messages, **figures}


async def s2(kind: str, p: Params) -> Figures:
    server, proto = make_server(kind)
    async with Side(server, proto, p) as side:
        setup = await _fanout_setup(side, senders_needed(p, burst=False, steady=True))
        figures = await _steady(side)
        return {"server": server.label, **setup, "rate": p.rate, **figures}


async def s5(kind: str, p: Params) -> Figures:
    server, proto = make_server(kind)
    async with Side(server, proto, p) as side:
        setup = await _fanout_setup(side, senders_needed(p, burst=True, steady=True))
        burst = await _burst(side, p.receivers, p.messages)
        steady = await _steady(side)
        out: Figures = {"server": server.label, **setup, "messages": p.messages, **burst}
        out["burst_complete"] = burst["complete"]
        for key in ("latency_p50_ms", "latency_p99_ms", "latency_p90_ms", "latency_max_ms"):
            out[key] = steady[key]
        out["steady_cpu_us_per_delivery"] = steady["cpu_us_per_delivery"]
        out["steady_deliveries_per_s"] = steady["deliveries_per_s"]
        out["steady_complete"] = steady["complete"]
        out["steady_rate"] = p.rate
        out["complete"] = burst["complete"] and steady["complete"]
        return out


async def s4(kind: str, p: Params) -> Figures:
    server, proto = make_server(kind)
    async with Side(server, proto, p) as side:
        # Warm up (lazy imports, pools, first-connection costs) before the "before" reading.
        await side.client.call({"cmd": "idle", "count": 20}, 120)
        await wait_quiet(server.pid)
        await asyncio.sleep(1.0)
        rss0 = rss_kib(process_tree(server.pid))
        reply, cpu = await side.measured({"cmd": "idle", "count": p.connections}, p.timeout_s)
        await wait_quiet(server.pid)
        await asyncio.sleep(2.0)
        rss1 = rss_kib(process_tree(server.pid))
        n = reply["connected"]
        return {
            "server": server.label,
            "connections": n,
            "rss_kib_per_conn": (rss1 - rss0) / n if n else float("nan"),
            "cpu_us_per_connect": _per(cpu["server_cpu_s"], n),
            "connects_per_s": n / cpu["wall_s"] if cpu["wall_s"] > 0 else 0.0,
            "rss_before_kib": rss0,
            "rss_after_kib": rss1,
            "complete": n == p.connections,
            **cpu,
        }


S3_NO_REFERENCE = (
    "no IRC reference for s3: an IRC server neither stores messages nor acknowledges them "
    "after a commit, so 'accepted messages/s' has no like-for-like meaning there"
)


async def s3(kind: str, p: Params) -> Figures:
    if kind != "cocon":
        return {"server": "none", "note": S3_NO_REFERENCE}
    names = ",".join(f"Salon {i + 1}" for i in range(p.rooms))
    server = CoconServer({"COCON_PUBLIC_ROOMS": names})
    async with Side(server, "cocon", p) as side:
        setup = await side.client.call(
            {"cmd": "chat_setup", "users": p.users, "rooms": p.rooms}, p.timeout_s
        )
        closed, cpu = await side.measured(
            {"cmd": "chat_closed", "duration_s": p.duration_s}, p.duration_s + 60
        )
        sat = closed["accepted_msgs_per_s"]
        half = max(1.0, sat / 2)
        opened, cpu_open = await side.measured(
            {"cmd": "chat_open", "rate": half, "duration_s": p.duration_s}, p.duration_s + 60
        )
        return {
            "server": server.label,
            "users": setup["users"],
            "rooms": setup["rooms"],
            "setup_s": setup["setup_s"],
            "accepted_msgs_per_s": sat,
            "cpu_us_per_msg": _per(cpu["server_cpu_s"], closed["accepted"]),
            "deliveries_per_s": closed["deliveries_per_s"],
            "cpu_us_per_delivery": _per(cpu["server_cpu_s"], closed["deliveries"]),
            "half_rate": half,
            "latency_p50_ms": opened.get("latency_p50_ms", float("nan")),
            "latency_p99_ms": opened.get("latency_p99_ms", float("nan")),
            "half_accepted": opened["accepted"],
            "half_sent": opened["sent"],
            "errors": closed["errors"],
            "error_codes": closed["error_codes"],
            "complete": closed["accepted"] > 0 and opened["accepted"] >= opened["sent"] * 0.99,
            **cpu,
            "half_server_cpu_util": cpu_open["server_cpu_util"],
        }


RUNNERS: dict[str, Callable[[str, Params], Awaitable[Figures]]] = {
    "s1": s1,
    "s2": s2,
    "s3": s3,
    "s4": s4,
    "s5": s5,
}
