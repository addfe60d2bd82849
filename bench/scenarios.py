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

from bench.backing import Backing
from bench.control import LoadClient
from bench.procstat import (
    cpus_of,
    machine_ticks,
    mark,
    process_tree,
    rss_kib,
    steal_pct,
    wait_quiet,
)
from bench.servers import CoconServer, NgircdServer, Placement, Server, cocon_command_budget

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
    storm: float = 0.0  # s3: guests arriving per second during a third, half-rate phase
    senders: int | None = None  # default: 1, or what Cocon's per-connection budget needs
    concurrency: int | None = None  # default: 64 for Cocon, 8 for ngIRCd
    timeout_s: float = 600.0
    scenario: str = ""
    profile_dir: str | None = None  # py-spy the Cocon server during measured phases
    pin: bool = False  # the load client on a CPU of its own, the servers on the others
    nodes: int = 0  # s3: Cocon as this many nodes on PostgreSQL + Redis (0: one, embedded)
    extra: dict[str, Any] = field(default_factory=dict)


DEFAULTS: dict[str, dict[str, Any]] = {
    "s1": {"receivers": 1000, "messages": 500},
    "s2": {"receivers": 1000, "rate": 50.0, "duration_s": 20.0},
    "s3": {"users": 2000, "rooms": 50, "duration_s": 15.0, "rate": 0.0},
    "s4": {"connections": 10_000, "timeout_s": 900.0},
    "s5": {
        "receivers": 5000,
        "messages": 100,
        "rate": 10.0,
        "duration_s": 15.0,
        "timeout_s": 1200.0,
    },
    "s6": {
        "receivers": 500,
        "messages": 200,
        "rate": 20.0,
        "duration_s": 10.0,
        "timeout_s": 300.0,
    },
}

DESCRIPTIONS = {
    "s1": "burst fan-out: one room, N receivers, one sender sends M messages at once",
    "s2": "steady fan-out: N receivers, R messages/s, latency sender -> receivers",
    "s3": "chat mix: U guests in K rooms plus private conversations",
    "s4": "memory: N idle authenticated connections",
    "s5": "big room: N receivers, a burst then a steady phase",
    "s6": (
        "scale-out: one room, N receivers, one sender (a burst of M messages, then R/s for D s);"
        " 'cocon' is one node, 'reference' two nodes (receivers half/half, sender on node 1),"
        " both on PostgreSQL + Redis; ratios are two nodes / one node"
    ),
}


class Side:
    """One server plus one load client, both ended on exit."""

    def __init__(self, server: Server, proto: str, params: Params) -> None:
        self.server = server
        self.proto = proto
        self.params = params
        self.placement = Placement.pinned() if params.pin else Placement()
        server.cpus = self.placement.servers
        self.client = LoadClient(
            proto, server.port, params.concurrency, params.timeout_s + 60, self.placement.client
        )

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
        roots = self.server_pids()
        await wait_quiet(roots)
        profiler = await self._start_profiler(str(cmd["cmd"]))
        extra0 = await self._extra_start()
        s0, c0, m0 = mark(roots), mark(self.client.pid), machine_ticks()
        nodes0 = [mark(r) for r in roots]
        try:
            reply = await self.client.call(cmd, wait_s)
        finally:
            s1, c1, m1 = mark(roots), mark(self.client.pid), machine_ticks()
            nodes1 = [mark(r) for r in roots]
            extra = await self._extra_end(extra0)
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                try:
                    await asyncio.wait_for(profiler.wait(), 60)
                except TimeoutError:
                    profiler.kill()
        wall = s1.wall - s0.wall
        cpu = s1.cpu_s - s0.cpu_s
        client = c1.cpu_s - c0.cpu_s
        out: Figures = {
            "server_cpu_s": cpu,
            "wall_s": wall,
            "server_cpu_util": cpu / wall if wall > 0 else 0.0,
            "client_cpu_s": client,
            "client_cpu_util": client / wall if wall > 0 else 0.0,
            "steal_pct": steal_pct(m0, m1),
        }
        if len(roots) > 1:
            out["node_cpu_s"] = [b.cpu_s - a.cpu_s for a, b in zip(nodes0, nodes1, strict=True)]
        if self.params.pin:  # what the kernel applied, read back
            out["server_cpus"] = cpus_of([p for r in roots for p in process_tree(r)])
            out["client_cpus"] = cpus_of([self.client.pid])
        return reply, {**out, **extra}

    def server_pids(self) -> list[int]:
        """The root pids whose process trees make up the server under test."""
        return [self.server.pid]

    async def _extra_start(self) -> Any:
        return None

    async def _extra_end(self, start: Any) -> Figures:
        """Further CPU readings of a measured phase (s6: PostgreSQL and Redis)."""
        return {}

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


def _delivery_costs(cpu: Figures, deliveries: float) -> Figures:
    """CPU per delivery: the server's (the goal's figure), the load client's, and both.

    The kernel charges part of a delivery's TCP work to whichever process runs it: a
    server that holds small writes back until the reader's ACK (Nagle's algorithm, which
    ngIRCd leaves on) has them sent, and received, in the load client's system calls. The
    total counts that work wherever it was billed; it also counts what reading the
    protocol costs the client (more for a WebSocket frame than for an IRC line), so it is
    an upper bound for Cocon (docs/benchmarks.md, fourteenth round)."""
    server, client = cpu["server_cpu_s"], cpu["client_cpu_s"]
    return {
        "cpu_us_per_delivery": _per(server, deliveries),
        "client_cpu_us_per_delivery": _per(client, deliveries),
        "total_cpu_us_per_delivery": _per(server + client, deliveries),
    }


def _per_node(reply: dict[str, Any]) -> Figures:
    """Deliveries (and latencies) per node, when the load client spans several (s6)."""
    return {"per_node": reply["per_node"]} if "per_node" in reply else {}


def make_server(kind: str, extra_env: dict[str, str] | None = None) -> tuple[Server, str]:
    if kind == "cocon":
        return CoconServer(extra_env), "cocon"
    return NgircdServer(), "irc"


async def _burst(side: Side, receivers: int, messages: int) -> Figures:
    p = side.params
    reply, cpu = await side.measured({"cmd": "burst", "messages": messages}, p.timeout_s / 2)
    return {
        **_delivery_costs(cpu, reply["deliveries"]),
        "deliveries_per_s": reply["deliveries_per_s"],
        "deliveries": reply["deliveries"],
        "expected": reply["expected"],
        "complete": reply["complete"],
        "acks": reply["acks"],
        "disconnects": reply["disconnects"],
        "errors": reply["errors"],
        "burst_s": reply["elapsed_s"],
        **cpu,
        **_per_node(reply),
    }


# A steady phase's messages, each by its first and its last delivery (ms after sending).
PER_MESSAGE = (
    "latency_first_p50_ms",
    "latency_first_p99_ms",
    "latency_last_p50_ms",
    "latency_last_p99_ms",
)
# What s5 and s6 report of their steady phase's latency.
STEADY_LATENCY = (
    "latency_p50_ms",
    "latency_p99_ms",
    "latency_p90_ms",
    "latency_max_ms",
    *PER_MESSAGE,
)


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
        **{k: reply.get(k, float("nan")) for k in PER_MESSAGE},
        **_delivery_costs(cpu, reply["deliveries"]),
        "deliveries_per_s": reply["deliveries_per_s"],
        "deliveries": reply["deliveries"],
        "expected": reply["expected"],
        "complete": reply["complete"],
        "disconnects": reply["disconnects"],
        "errors": reply["errors"],
        **cpu,
        **_per_node(reply),
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
    out: Figures = {
        "receivers": reply["receivers"],
        "senders": reply["senders"],
        "setup_s": reply["setup_s"],
    }
    if "receivers_per_node" in reply:
        out["receivers_per_node"] = reply["receivers_per_node"]
    return out


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


def _steady_summary(steady: Figures, rate: float) -> Figures:
    """What s5 and s6 report of their steady phase (after a burst): its latencies, and
    its other figures under ``steady_`` names."""
    return {
        **{key: steady[key] for key in STEADY_LATENCY},
        "steady_cpu_us_per_delivery": steady["cpu_us_per_delivery"],
        "steady_total_cpu_us_per_delivery": steady["total_cpu_us_per_delivery"],
        "steady_client_cpu_util": steady["client_cpu_util"],
        "steady_deliveries_per_s": steady["deliveries_per_s"],
        "steady_steal_pct": steady["steal_pct"],
        "steady_complete": steady["complete"],
        "steady_rate": rate,
    }


async def s5(kind: str, p: Params) -> Figures:
    server, proto = make_server(kind)
    async with Side(server, proto, p) as side:
        setup = await _fanout_setup(side, senders_needed(p, burst=True, steady=True))
        burst = await _burst(side, p.receivers, p.messages)
        steady = await _steady(side)
        out: Figures = {"server": server.label, **setup, "messages": p.messages, **burst}
        out["burst_complete"] = burst["complete"]
        out.update(_steady_summary(steady, p.rate))
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


S3_REFERENCE_NOTE = (
    "ngIRCd stores nothing and acknowledges nothing: its 'accepted' message is the PONG "
    "answering a PING sent after each PRIVMSG (the line was relayed), Cocon's ack follows "
    "a durable commit; ngIRCd does not echo a message to its sender (Cocon does)"
)


# What the load client answers about a storm phase, reported as ``storm_<name>``.
STORM_FIGURES = (
    "connects_per_s",
    "connect_errors",
    "connect_p50_ms",
    "connect_p99_ms",
    "latency_p50_ms",
    "latency_p99_ms",
    "accepted",
    "sent",
)


async def s3(kind: str, p: Params) -> Figures:
    """The chat mix; each side at its own saturation, then at half of it (and the storm).

    With ``nodes``, Cocon's side is that many nodes of one deployment on a fresh PostgreSQL
    database and Redis prefix (user i on node i mod N); the reference side is unchanged."""
    rooms = {"COCON_PUBLIC_ROOMS": ",".join(f"Salon {i + 1}" for i in range(p.rooms))}
    if kind != "cocon" or not p.nodes:
        server, proto = make_server(kind, rooms)
        async with Side(server, proto, p) as side:
            return await _chat_mix(side, kind, p)
    async with Backing() as backing:
        servers = [CoconServer({**backing.node_env(i + 1), **rooms}) for i in range(p.nodes)]
        servers[0].label = f"cocon x{p.nodes} (PostgreSQL, Redis)"
        async with ClusterSide(servers, backing, p) as cluster:
            figures = await _chat_mix(cluster, kind, p)
    return {**figures, "nodes": p.nodes}


async def _chat_mix(side: Side, kind: str, p: Params) -> Figures:
    server = side.server
    setup = await side.client.call(
        {"cmd": "chat_setup", "users": p.users, "rooms": p.rooms}, p.timeout_s
    )
    closed, cpu = await side.measured(
        {"cmd": "chat_closed", "duration_s": p.duration_s}, p.duration_s + 60
    )
    sat = closed["accepted_msgs_per_s"]
    # The open-loop phase: half of this side's saturation, or the rate asked for
    # (--rate: the same offered load for every side and every version compared).
    half = p.rate or max(1.0, sat / 2)
    opened, cpu_open = await side.measured(
        {"cmd": "chat_open", "rate": half, "duration_s": p.duration_s}, p.duration_s + 60
    )
    storm: Figures = {}
    if p.storm > 0:
        stormed, cpu_storm = await side.measured(
            {
                "cmd": "chat_open",
                "rate": half,
                "duration_s": p.duration_s,
                "connects_per_s": p.storm,
            },
            p.duration_s + 90,
        )
        storm = {f"storm_{k}": stormed.get(k, float("nan")) for k in STORM_FIGURES}
        storm.update(  # where a Cocon arrival's time went, step by step
            (f"storm_{k}", v)
            for k, v in stormed.items()
            if k.endswith(("_p50_ms", "_p99_ms")) and k not in STORM_FIGURES
        )
        storm["storm_server_cpu_util"] = cpu_storm["server_cpu_util"]
        storm["storm_steal_pct"] = cpu_storm["steal_pct"]
    return {
        "server": server.label,
        "users": setup["users"],
        "rooms": setup["rooms"],
        "setup_s": setup["setup_s"],
        **({"users_per_node": setup["users_per_node"]} if "users_per_node" in setup else {}),
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
        "complete": closed["accepted"] > 0
        and opened["accepted"] >= opened["sent"] * 0.99
        and (not storm or storm["storm_accepted"] >= storm["storm_sent"] * 0.99),
        **cpu,
        **{  # PostgreSQL's and Redis's (the whole server's) CPU, with --nodes
            f"{name}_cpu_us_per_msg": _per(cpu[f"{name}_cpu_s"], closed["accepted"])
            for name in ("pg", "redis")
            if f"{name}_cpu_s" in cpu
        },
        "half_server_cpu_util": cpu_open["server_cpu_util"],
        "half_client_cpu_util": cpu_open["client_cpu_util"],
        "half_steal_pct": cpu_open["steal_pct"],
        **storm,
        **({} if kind == "cocon" else {"note": S3_REFERENCE_NOTE}),
    }


class ClusterSide(Side):
    """Cocon nodes of one deployment (PostgreSQL + Redis) and one load client spread over
    them; CPU is summed over every node's process tree. ``backing`` is read for PostgreSQL's
    and Redis's CPU during measured phases."""

    def __init__(self, servers: list[CoconServer], backing: Backing, params: Params) -> None:
        super().__init__(servers[0], "cocon", params)
        self.servers = servers
        for srv in servers:
            srv.cpus = self.placement.servers
        self.backing = backing
        self.client.config["ports"] = [srv.port for srv in servers]

    async def __aenter__(self) -> ClusterSide:
        try:
            for srv in self.servers:  # one after the other: node 1 creates the public rooms
                await srv.start()
            await self.client.start()
        except BaseException:
            await self.__aexit__()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        try:
            await self.client.stop()
        finally:
            for srv in self.servers:
                srv.stop()

    def server_pids(self) -> list[int]:
        return [srv.pid for srv in self.servers]

    async def _extra_start(self) -> Any:
        return await self.backing.mark()

    async def _extra_end(self, start: Any) -> Figures:
        return await self.backing.used(start)


S6_ONE, S6_TWO = "cocon x1 (Redis)", "cocon x2 (Redis)"
S6_NOTE = (
    "s6's reference is Cocon itself on two nodes sharing PostgreSQL and Redis; "
    "ratios are two nodes / one node (> 1: the two-node deployment spends more per delivery)"
)


def _s6_phase(fig: Figures, deliveries: float) -> Figures:
    """PostgreSQL / Redis CPU of one phase per delivery (Redis: the whole server)."""
    return {
        "pg_cpu_us_per_delivery": _per(fig.get("pg_cpu_s", float("nan")), deliveries),
        "redis_cpu_us_per_delivery": _per(fig.get("redis_cpu_s", float("nan")), deliveries),
    }


async def s6(kind: str, p: Params) -> Figures:
    """Scale-out. ``cocon``: one node; the reference side: two nodes. Both sides use a fresh
    PostgreSQL database and Redis prefix of their own, the same load client and load."""
    nodes = 1 if kind == "cocon" else 2
    async with Backing() as backing:
        servers = [CoconServer(backing.node_env(i + 1)) for i in range(nodes)]
        async with ClusterSide(servers, backing, p) as side:
            setup = await _fanout_setup(side, senders_needed(p, burst=True, steady=True))
            burst = await _burst(side, p.receivers, p.messages)
            steady = await _steady(side)
        out: Figures = {"server": S6_ONE if nodes == 1 else S6_TWO, "nodes": nodes, **setup}
        out["messages"] = p.messages
        out["cpu_us_per_delivery"] = burst["cpu_us_per_delivery"]
        out["client_cpu_us_per_delivery"] = burst["client_cpu_us_per_delivery"]
        out["total_cpu_us_per_delivery"] = burst["total_cpu_us_per_delivery"]
        out["deliveries_per_s"] = burst["deliveries_per_s"]
        out["steal_pct"] = burst["steal_pct"]
        out.update(_steady_summary(steady, p.rate))
        out.update(_s6_phase(burst, burst["deliveries"]))
        steady_extra = _s6_phase(steady, steady["deliveries"])
        out.update({f"steady_{k}": v for k, v in steady_extra.items()})
        out["deliveries"] = burst["deliveries"] + steady["deliveries"]
        out["expected"] = burst["expected"] + steady["expected"]
        out["burst_complete"] = burst["complete"]
        out["complete"] = burst["complete"] and steady["complete"]
        out["burst"] = burst
        out["steady"] = steady
        if nodes > 1:
            out["note"] = S6_NOTE
        return out


RUNNERS: dict[str, Callable[[str, Params], Awaitable[Figures]]] = {
    "s1": s1,
    "s2": s2,
    "s3": s3,
    "s4": s4,
    "s5": s5,
    "s6": s6,
}
