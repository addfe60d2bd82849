"""Cocon benchmarks: each scenario runs Cocon and a reference server (ngIRCd) side by side.

Run ``python -m bench <scenario> [--json]``; see ``docs/benchmarks.md``.
The load client (``python -m bench.loadclient``) always runs as a separate process.
"""

from __future__ import annotations

SCENARIOS = ("s1", "s2", "s3", "s4", "s5", "s6")
