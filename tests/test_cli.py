"""The ``cocon`` command: wiring of the sub-commands and clear errors for bad settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _cocon(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COCON_")} | (env or {})
    return subprocess.run(
        [sys.executable, "-m", "cocon", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=full_env,
    )


def test_safety_classify_round_trip() -> None:
    lines = [
        {"text": "t'as quel âge ? tu es en quelle classe ?"},
        {"text": "mon fils a 14 ans"},
        {"text": "je suis en 4eme et j'ai 13 ans"},
    ]
    stdin = "\n".join(json.dumps(x) for x in lines) + "\nce n'est pas du json\n"
    done = _cocon("safety", "classify", stdin=stdin)
    assert done.returncode == 0, done.stderr
    out = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(out) == 4
    assert "age_probe" in out[0]["labels"]
    assert out[1]["labels"] == []
    assert "minor" in out[2]["labels"]
    assert "error" in out[3]
    assert "Traceback" not in done.stderr


def test_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    done = _cocon("serve", "--data-dir", str(tmp_path), env={"COCON_PORT": "huit mille"})
    assert done.returncode == 2
    assert "port" in done.stderr and "Traceback" not in done.stderr
    done = _cocon("serve", "--data-dir", str(tmp_path), env={"COCON_NOPE": "1"})
    assert done.returncode == 2 and "COCON_NOPE" in done.stderr


def test_media_pdq_prints_hex_quality_path(tmp_path: Path) -> None:
    from PIL import Image

    path = tmp_path / "damier.png"
    img = Image.new("RGB", (64, 64))
    for x in range(64):
        for y in range(64):
            img.putpixel((x, y), (255, 255, 255) if (x // 8 + y // 8) % 2 else (0, 0, 0))
    img.save(path)
    done = _cocon("media", "pdq", str(path))
    assert done.returncode == 0, done.stderr
    hex_hash, quality, printed = done.stdout.strip().split(",")
    assert len(hex_hash) == 64 and int(quality) >= 0 and printed == str(path)


def test_staff_commands_fail_clearly(tmp_path: Path) -> None:
    done = _cocon(
        "transparency", "--from", "2026-13-01", "--to", "2026-12-01", "--data-dir", str(tmp_path)
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr and "2026-13-01" in done.stderr
    done = _cocon(
        "audit", "verify", env={"COCON_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}
    )
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_scripts_and_test_variables_are_not_settings(tmp_path: Path) -> None:
    from cocon.config import load_settings

    env = {"COCON_VENV": "/x", "COCON_TEST_DATABASE_URL": "sqlite://", "COCON_PORT": "8123"}
    assert load_settings(environ=env).port == 8123
