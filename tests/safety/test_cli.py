"""``classify_stream`` round trip (the subprocess entry point is wired by the lead)."""

from __future__ import annotations

import argparse
import io
import json

from cocon.safety.cli import add_parser, classify_stream


def test_round_trip_in_order_with_errors() -> None:
    lines = [
        json.dumps({"text": "ta kel age ?"}),
        "pas du json",
        json.dumps({"txt": "oups"}),
        json.dumps(["text"]),
        "",
        json.dumps({"text": "salut ça va"}),
        json.dumps({"text": "ajoute moi sur $nap", "id": 7}),
    ]
    out = io.StringIO()
    errors = classify_stream(io.StringIO("\n".join(lines) + "\n"), out)
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(rows) == len(lines)
    assert errors == 4
    assert rows[0]["labels"] == ["age_probe"] and rows[0]["scores"]["age_probe"] > 0.5
    assert all("error" in rows[i] for i in (1, 2, 3, 4))
    assert rows[5] == {"labels": [], "scores": {}}
    assert rows[6]["labels"] == ["off_platform"]


def test_parser_registration() -> None:
    parser = argparse.ArgumentParser()
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["safety", "classify"])
    assert args.command == "safety" and args.safety_command == "classify"
    assert callable(args.safety_handler)
