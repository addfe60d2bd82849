"""``python -m bench <scenario> [--json]``: run Cocon and the reference, print both and ratios."""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import platform
import signal
import statistics
import sys
from collections.abc import Callable
from typing import Any

from bench import SCENARIOS
from bench.backing import BackingError
from bench.control import LoadClientError
from bench.procstat import raise_nofile
from bench.scenarios import DEFAULTS, DESCRIPTIONS, PER_MESSAGE, RUNNERS, Figures, Params
from bench.servers import Placement, ServerError

FIGURES = (
    "cpu_us_per_delivery",
    "client_cpu_us_per_delivery",
    "total_cpu_us_per_delivery",
    "deliveries_per_s",
    "accepted_msgs_per_s",
    "cpu_us_per_msg",
    "latency_p50_ms",
    "latency_p99_ms",
    *PER_MESSAGE,
    "rss_kib_per_conn",
    "cpu_us_per_connect",
    "steady_cpu_us_per_delivery",
    "steady_total_cpu_us_per_delivery",
    "steady_deliveries_per_s",
)
# s6 only: PostgreSQL (this run's database's backends) and Redis (whole server) CPU.
S6_FIGURES = (
    "pg_cpu_us_per_delivery",
    "redis_cpu_us_per_delivery",
    "steady_pg_cpu_us_per_delivery",
    "steady_redis_cpu_us_per_delivery",
)
# The share (%) of the CPUs that the hypervisor took during each measured phase: not a
# figure of either server, but of how comparable a run is (the sides run one after the other).
STEAL = ("steal_pct", "steady_steal_pct", "half_steal_pct")
STEAL_WARN_PCT = 5.0
# The load client's share of a CPU during the phase whose latencies a scenario reports: at
# or above CLIENT_WARN_UTIL the client is the bottleneck, and its own queueing is in them.
LATENCY_CLIENT_UTIL = {
    "s2": "client_cpu_util",
    "s3": "half_client_cpu_util",
    "s5": "steady_client_cpu_util",
    "s6": "steady_client_cpu_util",
}
CLIENT_WARN_UTIL = 0.9
S6_RATIO = "reference / cocon: two nodes / one node (> 1: two nodes cost more, or are slower)"


def machine() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def ratios(cocon: Figures, reference: Figures, keys: tuple[str, ...] = FIGURES) -> dict[str, float]:
    """Cocon / reference for every shared figure (cost: > 1 means Cocon spends more).

    s6 calls it the other way round (two nodes / one node)."""
    out: dict[str, float] = {}
    for key in keys:
        a, b = cocon.get(key), reference.get(key)
        if isinstance(a, int | float) and isinstance(b, int | float) and b and not math.isnan(b):
            out[key] = a / b
    return out


def median_figures(runs: list[Figures]) -> Figures:
    """Medians of the numeric figures over runs; other keys from the last run."""
    if len(runs) == 1:
        return runs[0]
    out: Figures = dict(runs[-1])
    for key, value in runs[-1].items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        values = [r[key] for r in runs if isinstance(r.get(key), int | float)]
        out[key] = statistics.median(values)
    out["runs"] = len(runs)
    keys = FIGURES + S6_FIGURES + STEAL
    out["per_run"] = {k: [r.get(k) for r in runs] for k in keys if k in out}
    out["complete"] = all(bool(r.get("complete", True)) for r in runs)
    return out


def build_params(args: argparse.Namespace) -> Params:
    p = Params(**DEFAULTS.get(args.scenario, {}))
    p.scenario = args.scenario
    p.profile_dir = args.profile
    p.pin = args.pin
    for name in (
        "receivers",
        "messages",
        "rate",
        "duration_s",
        "connections",
        "users",
        "rooms",
        "storm",
        "nodes",
        "concurrency",
        "senders",
        "timeout_s",
    ):
        value = getattr(args, name, None)
        if value is not None:
            setattr(p, name, value)
    return p


async def run_scenario(args: argparse.Namespace) -> dict[str, Any]:
    p = build_params(args)
    runner = RUNNERS[args.scenario]
    sides = ["reference", "cocon"] if args.only == "both" else [args.only]
    runs: dict[str, list[Figures]] = {s: [] for s in sides}
    for _ in range(args.repeat):
        for side in sides:
            kind = "cocon" if side == "cocon" else "ngircd"
            figures = await asyncio.wait_for(runner(kind, p), p.timeout_s)
            runs[side].append(figures)
            if not args.json:
                print(f"  {side}: done ({_short(figures)})", file=sys.stderr)
    cocon = median_figures(runs["cocon"]) if runs.get("cocon") else None
    reference = median_figures(runs["reference"]) if runs.get("reference") else None
    out: dict[str, Any] = {
        "scenario": args.scenario,
        "description": DESCRIPTIONS[args.scenario],
        "params": {k: v for k, v in vars(p).items() if k not in ("extra", "profile_dir")},
        "cocon": cocon,
        "reference": reference,
        "ratios": ratios(cocon, reference) if cocon and reference else {},
        "machine": machine(),
    }
    if args.scenario == "s6":
        # The reference is Cocon on two nodes: ratios are two nodes / one node.
        if cocon and reference:
            out["ratios"] = ratios(reference, cocon, FIGURES + S6_FIGURES)
        out["ratio_direction"] = S6_RATIO
    return out


def _finite(value: Any) -> Any:
    """NaN/inf (a figure that could not be computed) become null: the output is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _short(f: Figures) -> str:
    keys = [k for k in FIGURES if isinstance(f.get(k), int | float)]
    return ", ".join(f"{k}={_fmt(f[k])}" for k in keys[:4])


def _fmt(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "n/a"
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}" if abs(v) < 10 else f"{v:.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def steal_warning(result: dict[str, Any]) -> str | None:
    """A warning when the hypervisor took a sizeable share of the CPUs in a measured phase
    (of any run): such figures say as much about the neighbours as about the servers."""
    worst = 0.0
    for side in ("cocon", "reference"):
        figures = result.get(side) or {}
        runs = figures.get("per_run", {})
        for key in STEAL:
            values = runs.get(key) or [figures.get(key)]
            worst = max([worst, *(v for v in values if isinstance(v, int | float))])
    if worst < STEAL_WARN_PCT:
        return None
    return (
        f"warning: the hypervisor took up to {worst:.0f} % of the CPUs during a measured phase "
        "(steal_pct); compare ratios of the same run only, and prefer a quieter moment"
    )


def client_warning(result: dict[str, Any]) -> str | None:
    """A warning when the load client was saturated while it timed the latencies (of
    either side, at the median of the runs): they then measure the client as much as the
    servers."""
    key = LATENCY_CLIENT_UTIL.get(result["scenario"])
    if key is None:
        return None
    worst = max(
        (
            v
            for side in ("cocon", "reference")
            if isinstance(v := (result.get(side) or {}).get(key), int | float)
        ),
        default=0.0,
    )
    if worst < CLIENT_WARN_UTIL:
        return None
    return (
        f"warning: the load client used {worst:.0%} of a CPU while it timed the latencies "
        f"({key}); they include its own queueing (try a lower --rate)"
    )


def caveats(result: dict[str, Any]) -> list[str]:
    """What a reader of the figures must know about how comparable they are."""
    return [w for w in (steal_warning(result), client_warning(result)) if w is not None]


def render(result: dict[str, Any]) -> str:
    cocon: Figures = result["cocon"] or {}
    ref: Figures = result["reference"] or {}
    lines = [f"{result['scenario']}: {result['description']}"]
    lines.append("params: " + ", ".join(f"{k}={v}" for k, v in result["params"].items()))
    ref_name = ref.get("server", "-")
    lines.append(f"{'figure':34} {'cocon':>14} {ref_name:>14} {'ratio':>8}")
    keys = [k for k in FIGURES + S6_FIGURES if k in cocon or k in ref]
    keys += ["deliveries", "expected", "complete", "server_cpu_util", "client_cpu_util", *STEAL]
    for key in keys:
        if key not in cocon and key not in ref:
            continue
        ratio = result["ratios"].get(key)
        lines.append(
            f"{key:34} {_fmt(cocon.get(key, '-')):>14} {_fmt(ref.get(key, '-')):>14} "
            f"{(f'{ratio:.2f}x' if ratio is not None else ''):>8}"
        )
    if result["scenario"] == "s6":
        for side, figures in (("cocon", cocon), ("reference", ref)):
            for row in figures.get("steady", {}).get("per_node", []):
                lines.append(
                    f"{side} node {row.get('node')}: {row.get('receivers')} receivers, steady "
                    f"p50 {_fmt(row.get('latency_p50_ms'))} ms, "
                    f"p99 {_fmt(row.get('latency_p99_ms'))} ms"
                )
    if ref.get("note"):
        lines.append(f"reference: {ref['note']}")
    lines.extend(caveats(result))
    if "ratio_direction" in result:
        lines.append(f"ratio = {result['ratio_direction']}")
    else:
        lines.append("ratio = cocon / reference (costs: > 1 means Cocon spends more)")
    return "\n".join(lines)


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    """An argparse type: a number of ``kind`` above zero, else a usage error."""

    def read(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be above zero: {text!r}")
        return value

    read.__name__ = kind.__name__
    return read


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("scenario", choices=SCENARIOS)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--only", choices=("both", "cocon", "reference"), default="both")
    ap.add_argument(
        "--repeat", type=_positive(int), default=1, help="runs per side; figures are medians"
    )
    ap.add_argument("--receivers", type=_positive(int))
    ap.add_argument("--messages", type=_positive(int))
    ap.add_argument(
        "--rate",
        type=_positive(float),
        help="messages/s of the steady phase (s3: of the open-loop phases, storm included;"
        " default: half of the side's saturation)",
    )
    ap.add_argument(
        "--duration", dest="duration_s", type=_positive(float), help="seconds of a timed phase"
    )
    ap.add_argument("--connections", type=_positive(int))
    ap.add_argument("--users", type=_positive(int))
    ap.add_argument("--rooms", type=_positive(int))
    ap.add_argument(
        "--storm",
        type=_positive(float),
        help="s3: guests arriving per second during a third phase at half rate (default: none)",
    )
    ap.add_argument(
        "--nodes",
        type=_positive(int),
        help="s3: Cocon as N nodes sharing a fresh PostgreSQL database and Redis prefix"
        " (default: one node on its embedded SQLite)",
    )
    ap.add_argument(
        "--senders", type=_positive(int), help="sender connections (default: 1 or as needed)"
    )
    ap.add_argument("--concurrency", type=_positive(int), help="parallel connects/enters")
    ap.add_argument(
        "--profile", metavar="DIR", help="py-spy the Cocon server during measured phases"
    )
    ap.add_argument(
        "--pin",
        action="store_true",
        help="the load client on the last CPU, the servers on the others (default: the"
        " kernel places them)",
    )
    ap.add_argument(
        "--timeout", dest="timeout_s", type=_positive(float), help="hard timeout per side (s)"
    )
    return ap


def main(argv: list[str] | None = None) -> int:
    ap = parser()
    args = ap.parse_args(argv)
    if args.nodes is not None and args.scenario != "s3":
        ap.error("--nodes is an option of s3 (s6 compares one node with two)")
    if args.pin:
        try:
            Placement.pinned()
        except ServerError as exc:
            ap.error(str(exc))  # a usage error (exit status 2), before any server starts
    raise_nofile()
    # SIGTERM unwinds like Ctrl-C, so that each side's servers and client are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        result = asyncio.run(run_scenario(args))
    except (ServerError, BackingError, LoadClientError) as exc:
        # A server that would not start, PostgreSQL or Redis missing, a load command the
        # server refused: said in one line; every side's processes are already stopped.
        print(f"bench: {exc}", file=sys.stderr)
        return 3
    if args.json:
        print(json.dumps(_finite(result), allow_nan=False))
        for warning in caveats(result):
            print(warning, file=sys.stderr)
    else:
        print(render(result))
    sides = [s for s in (result["cocon"], result["reference"]) if s]
    return 0 if all(s.get("complete", True) for s in sides) else 1
