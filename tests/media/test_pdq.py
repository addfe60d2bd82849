"""PDQ hashes against the reference implementations' test images (shared/testdata/pdq)."""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import pytest
from PIL import Image

from cocon.media import cli as media_cli
from cocon.media.pdq import MATCH_DISTANCE, hamming, hash_file, is_pdq_hex, pdq_hash

REFERENCE_TOLERANCE = 16  # upstream's cross-implementation tolerance


def _references(pdq_dir: Path) -> list[tuple[Path, str]]:
    with (pdq_dir / "reference-hashes.csv").open() as f:
        return [(pdq_dir / row["path"], row["pdq_hex"]) for row in csv.DictReader(f)]


def test_reference_images_hash_like_the_reference(pdq_dir: Path) -> None:
    refs = _references(pdq_dir)
    assert len(refs) >= 15
    distances = {path.name: hamming(hash_file(path)[0], want) for path, want in refs}
    assert max(distances.values()) <= REFERENCE_TOLERANCE, distances


def test_bridge_mods_match_the_original(pdq_dir: Path) -> None:
    mods = sorted((pdq_dir / "bridge-mods").glob("*.jpg"))
    assert len(mods) >= 10
    original, quality = hash_file(pdq_dir / "bridge-mods" / "aaa-orig.jpg")
    assert quality > 49
    distances = {p.name: hamming(original, hash_file(p)[0]) for p in mods}
    assert max(distances.values()) <= MATCH_DISTANCE, distances


def test_unrelated_images_do_not_match(pdq_dir: Path) -> None:
    original, _ = hash_file(pdq_dir / "bridge-mods" / "aaa-orig.jpg")
    others = sorted((pdq_dir / "reg-test-input" / "labelme-subset").glob("*.jpg"))
    assert others
    distances = {p.name: hamming(original, hash_file(p)[0]) for p in others}
    assert min(distances.values()) > MATCH_DISTANCE, distances
    # ...and they do not match each other either.
    hashes = [hash_file(p) for p in others]
    for i, (a, qa) in enumerate(hashes):
        for b, qb in hashes[i + 1 :]:
            if qa > 49 and qb > 49:
                assert hamming(a, b) > MATCH_DISTANCE


def test_pdq_hash_accepts_images_paths_and_bytes(pdq_dir: Path) -> None:
    path = pdq_dir / "bridge-mods" / "aaa-orig.jpg"
    data = path.read_bytes()
    with Image.open(path) as im:
        from_image = pdq_hash(im)
    assert pdq_hash(path) == pdq_hash(data) == from_image
    assert is_pdq_hex(from_image[0]) and 0 <= from_image[1] <= 100


def test_hamming() -> None:
    zero, ones = "0" * 64, "f" * 64
    assert hamming(zero, ones) == 256 and hamming(ones, ones) == 0
    assert hamming(zero, "0" * 63 + "3") == 2
    with pytest.raises(ValueError):
        hamming("abc", zero)


def test_cli_prints_hex_quality_path(pdq_dir: Path, capsys: pytest.CaptureFixture[str],
                                     tmp_path: Path) -> None:
    parser = argparse.ArgumentParser(prog="cocon")
    sub = parser.add_subparsers(dest="command", required=True)
    media_cli.add_parser(sub)
    media_cli.add_hashlist_parser(sub)
    paths = [pdq_dir / "bridge-mods" / "aaa-orig.jpg", pdq_dir / "bridge-mods" / "blur-a-lot.jpg"]
    args = parser.parse_args(["media", "pdq", *map(str, paths)])
    assert media_cli.run(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    for line, path in zip(lines, paths, strict=True):
        hex_hash, quality, printed = line.split(",", 2)
        assert is_pdq_hex(hex_hash) and 0 <= int(quality) <= 100 and printed == str(path)
    bad = tmp_path / "not-an-image.jpg"
    bad.write_bytes(b"nope")
    assert media_cli.run(parser.parse_args(["media", "pdq", str(bad)])) == 1
    assert "not-an-image" in capsys.readouterr().err


def test_rgba_and_small_images_hash() -> None:
    im = Image.new("RGBA", (40, 30), (10, 200, 30, 128))
    out = io.BytesIO()
    im.save(out, "PNG")
    hex_hash, quality = pdq_hash(out.getvalue())
    assert is_pdq_hex(hex_hash) and quality < 50  # flat image: low quality
