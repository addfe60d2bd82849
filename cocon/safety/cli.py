"""``cocon safety classify``: JSON lines in, one JSON line of labels out per input line.

Input lines are ``{"text": "..."}``; output lines are ``{"labels": [...], "scores":
{...}}`` in the same order.  A bad line (not JSON, not an object, no string ``text``)
gets ``{"error": "..."}`` and processing continues; blank lines get an error too, so
that output line *n* always answers input line *n*.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from cocon.safety.analyzer import analyze


def _classify_line(line: str) -> dict[str, Any]:
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        return {"error": f"not JSON: {exc.__class__.__name__}"}
    if not isinstance(row, dict):
        return {"error": "expected a JSON object with a \"text\" field"}
    text = row.get("text")
    if not isinstance(text, str):
        return {"error": "missing or non-string \"text\" field"}
    return analyze(text).to_json()


def classify_stream(inp: TextIO, out: TextIO) -> int:
    """Classify every line of ``inp`` into ``out``; returns the number of bad lines."""
    errors = 0
    for line in inp:
        result = _classify_line(line)
        errors += "error" in result
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    out.flush()
    return errors


def _run(args: argparse.Namespace) -> int:
    classify_stream(sys.stdin, sys.stdout)
    return 0


def add_parser(subparsers: Any) -> None:
    """Register ``safety classify`` on an ``argparse`` sub-parsers object.

    The handler is stored as ``args.safety_handler(args) -> int``.
    """
    safety = subparsers.add_parser("safety", help="trust and safety tools")
    sub = safety.add_subparsers(dest="safety_command", required=True)
    classify = sub.add_parser(
        "classify", help="label JSON lines {\"text\": ...} read on stdin (see docs/safety.md)")
    classify.set_defaults(safety_handler=_run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cocon.safety.cli")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.safety_handler(args))


if __name__ == "__main__":
    sys.exit(main())
