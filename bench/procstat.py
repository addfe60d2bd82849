"""Server CPU and memory from /proc: user+system time and VmRSS of a process tree, and the
share of the machine's CPU time that its hypervisor took (steal)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import time
from dataclasses import dataclass

CLK_TCK = os.sysconf("SC_CLK_TCK")


def raise_nofile() -> int:
    """Raise RLIMIT_NOFILE's soft limit to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            return soft
    return hard


def _read_stat(pid: int, reaped: bool = False) -> tuple[int, int] | None:
    """(ppid, utime+stime in ticks) for a pid, or None if it is gone; with ``reaped``, plus
    the time of its children that have exited and been waited for (cutime+cstime)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            raw = fh.read()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: split after the last ')'.
    fields = raw[raw.rindex(b")") + 2 :].split()
    # fields[0] is state (field 3); ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
    ppid = int(fields[1])
    ticks = int(fields[11]) + int(fields[12])
    if reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ppid, ticks


def parent_of(pid: int) -> int | None:
    st = _read_stat(pid)
    return None if st is None else st[0]


def cpus_of(pids: list[int]) -> list[int]:
    """The CPUs that any of ``pids`` may run on (each one's affinity, as the kernel has it)."""
    cpus: set[int] = set()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            cpus |= os.sched_getaffinity(pid)
    return sorted(cpus)


def process_tree(root: int) -> list[int]:
    """The root pid and all its live descendants."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = _read_stat(int(name))
        if st is not None:
            children.setdefault(st[0], []).append(int(name))
    out: list[int] = []
    todo = [root]
    while todo:
        pid = todo.pop()
        if os.path.exists(f"/proc/{pid}"):
            out.append(pid)
            todo.extend(children.get(pid, []))
    return out


def server_cpu_seconds(root: int) -> float:
    """CPU seconds of a forking server so far: its root process with the children it has
    reaped, and its live descendants (PostgreSQL: the postmaster, every backend and
    auxiliary process, and the backends that have ended). A child that ends between two
    readings is counted whole in the second, its time before the first included: a small
    excess for a server whose children live long (a kept pool), none for short ones."""
    root_st = _read_stat(root, reaped=True)
    if root_st is None:
        return float("nan")
    others = [pid for pid in process_tree(root) if pid != root]
    return root_st[1] / CLK_TCK + cpu_seconds(others)


def cpu_seconds(pids: list[int]) -> float:
    """user+system CPU seconds consumed so far by these processes (all their threads)."""
    total = 0
    for pid in pids:
        st = _read_stat(pid)
        if st is not None:
            total += st[1]
    return total / CLK_TCK


def rss_kib(pids: list[int]) -> int:
    """Sum of VmRSS (KiB) over these processes."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status", "rb") as fh:
                for line in fh:
                    if line.startswith(b"VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
    return total


def machine_ticks() -> tuple[int, int]:
    """(steal, total) ticks of all CPUs since boot, from the ``cpu`` line of /proc/stat.

    Steal is time a virtual CPU was ready to run but the hypervisor ran something else:
    every process here ran slower by that much, whatever it was doing.
    """
    with open("/proc/stat", "rb") as fh:
        fields = [int(v) for v in fh.readline().split()[1:9]]
    # user nice system idle iowait irq softirq steal (guest time is already in user).
    return fields[7], sum(fields)


def steal_pct(start: tuple[int, int], end: tuple[int, int]) -> float:
    """The share (%) of CPU time stolen by the hypervisor between two readings."""
    total = end[1] - start[1]
    return 100.0 * (end[0] - start[0]) / total if total > 0 else 0.0


@dataclass
class CpuMark:
    """A CPU reading of a server process tree at a wall-clock instant."""

    wall: float
    cpu_s: float


def mark(root: int | list[int]) -> CpuMark:
    """CPU of the tree of ``root`` (or of several roots' trees, summed: s6's nodes)."""
    roots = [root] if isinstance(root, int) else root
    return CpuMark(time.monotonic(), sum(cpu_seconds(process_tree(r)) for r in roots))


async def wait_quiet(
    root: int | list[int], threshold: float = 0.03, interval: float = 0.5, limit: float = 30.0
) -> float:
    """Wait until the tree uses less than ``threshold`` of a core over ``interval``.

    Returns the seconds waited (at most ``limit``). Used so that setup work (joins, presence
    broadcasts) finishing late is not billed to the measured phase.
    """
    start = time.monotonic()
    prev = mark(root)
    while time.monotonic() - start < limit:
        await asyncio.sleep(interval)
        cur = mark(root)
        used = (cur.cpu_s - prev.cpu_s) / max(cur.wall - prev.wall, 1e-6)
        prev = cur
        if used < threshold:
            break
    return time.monotonic() - start
