"""Throughput of the analyzer: ``python -m cocon.safety.speed [file.jsonl] [--runs N]``.

Analyzes every message of the dev set (``tests/safety/devset.jsonl`` by default) on one
core, ``runs`` times (5 by default), and prints the median messages/second.  The lead can
call :func:`measure` directly.  Nothing is cached between messages: every call normalizes
and runs the detectors from scratch.

Rates are messages per second of *CPU time of this process* (``time.process_time``), so
that other work on a shared machine does not distort them; the wall-clock rate is
printed too.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cocon.safety.analyzer import analyze

DEFAULT_SET = Path(__file__).resolve().parents[2] / "tests" / "safety" / "devset.jsonl"


@dataclass(frozen=True, slots=True)
class SpeedResult:
    messages: int
    runs: tuple[float, ...]  # messages per CPU second, each run
    wall: tuple[float, ...] = ()  # messages per wall-clock second, each run

    @property
    def median(self) -> float:
        return statistics.median(self.runs)


def load_texts(path: str | Path = DEFAULT_SET) -> list[str]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [str(json.loads(line)["text"]) for line in lines if line.strip()]


def measure(
    texts: Sequence[str] | None = None, *, runs: int = 5, min_seconds: float = 0.2
) -> SpeedResult:
    """Messages/second of :func:`analyze` over ``texts`` (the dev set by default)."""
    texts = list(texts) if texts is not None else load_texts()
    if not texts:
        raise ValueError("no messages to analyze")
    for text in texts:  # warm-up: compiles nothing new, fills the translate caches
        analyze(text)
    rates: list[float] = []
    walls: list[float] = []
    for _ in range(runs):
        done = 0
        start, wall_start = time.process_time(), time.perf_counter()
        while True:
            for text in texts:
                analyze(text)
            done += len(texts)
            elapsed = time.process_time() - start
            if elapsed >= min_seconds:
                break
        rates.append(done / elapsed)
        walls.append(done / (time.perf_counter() - wall_start))
    return SpeedResult(len(texts), tuple(rates), tuple(walls))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cocon.safety.speed")
    parser.add_argument("path", nargs="?", default=str(DEFAULT_SET))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    result = measure(load_texts(args.path), runs=args.runs)
    runs = ", ".join(f"{r:,.0f}" for r in result.runs)
    wall = statistics.median(result.wall)
    print(f"{result.median:,.0f} messages/s of CPU time (median of {len(result.runs)} runs: "
          f"{runs}; wall clock {wall:,.0f}/s; {result.messages} messages, "
          f"{Path(args.path).name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
