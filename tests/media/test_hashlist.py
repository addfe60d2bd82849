"""Hash lists: parsing, all-or-nothing import, persistence, matching, blocking at intake."""

from __future__ import annotations

import argparse
import io
import secrets
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageEnhance

from cocon.media import HashIndex, HashListImportError, HashListStore, intake
from cocon.media import cli as media_cli
from cocon.media.pdq import hamming, hash_file

A, B, C = "a" * 64, "b" * 64, "0123456789abcdef" * 4


def flip_bits(hex_hash: str, n: int) -> str:
    value = int(hex_hash, 16)
    for bit in range(n):
        value ^= 1 << (bit * 7 % 256)
    return f"{value:064x}"


def test_parse_plain_lines_and_csv(tmp_path: Path) -> None:
    store = HashListStore(tmp_path / "hashlists")
    assert store.import_text("plain", f"# comment\n{A}\n\n{B.upper()}\n") == 2
    assert store.import_text("csv", f"path,pdq_hex,source\nx.jpg,{A},ref\ny.jpg,{C},ref\n") == 2
    assert store.import_text("noheader", f"{B},100\n{C},90\n") == 2
    assert store.index.list_names() == ["csv", "noheader", "plain"]
    assert len(store.index) == 6


def test_bad_lines_reported_and_nothing_imported(tmp_path: Path) -> None:
    store = HashListStore(tmp_path / "hashlists")
    store.import_text("keep", f"{A}\n")
    with pytest.raises(HashListImportError) as caught:
        store.import_text("keep", f"{B}\nnot-a-hash\n{C}\n{C[:-1]}\n")
    assert [n for n, _why in caught.value.errors] == [2, 4]
    assert "ligne 2" in str(caught.value)
    with pytest.raises(HashListImportError) as caught:
        store.import_text("other", f"hash,q\n{A},1\nzzz,2\n")
    assert [n for n, _why in caught.value.errors] == [3]
    # Nothing half-imported: the old list is intact, the failed one does not exist.
    assert (tmp_path / "hashlists" / "keep.txt").read_text() == f"{A}\n"
    assert not (tmp_path / "hashlists" / "other.txt").exists()
    assert store.index.list_names() == ["keep"]
    assert store.index.match(B) is None


def test_lists_persist_and_reload(tmp_path: Path) -> None:
    folder = tmp_path / "hashlists"
    HashListStore(folder).import_text("ncmec", f"{A}\n{C}\n")
    index = HashListStore(folder).load()
    found = index.match(flip_bits(C, 31))
    assert found is not None and found.list_name == "ncmec" and found.distance == 31
    assert found.hash_hex == C
    assert index.match(flip_bits(C, 32)) is None
    HashListStore(folder, index).remove("ncmec")
    assert HashListStore(folder).load().match(C) is None
    with pytest.raises(ValueError):
        HashListStore(folder).import_text("../evil", A)


def test_scan_is_fast_for_many_hashes() -> None:
    rng = np.random.default_rng(7)
    hexes = [bytes(row).hex() for row in rng.integers(0, 256, (200_000, 32), dtype=np.uint8)]
    index = HashIndex()
    index.set_list("big", hexes)
    target = hexes[123_456]
    started = time.perf_counter()
    for _ in range(10):
        found = index.match(flip_bits(target, 20))
    per_query = (time.perf_counter() - started) / 10
    assert found is not None and found.hash_hex == target and found.distance == 20
    assert index.match(secrets.token_hex(32)) is None
    assert per_query < 0.03, per_query  # ~4 ms here; ~20 ms for 1M


async def test_imported_list_blocks_a_reencoded_copy(pdq_dir: Path, tmp_path: Path) -> None:
    listed = pdq_dir / "bridge-mods" / "aaa-orig.jpg"
    listfile = tmp_path / "blocked.csv"
    listfile.write_text(f"hash,quality\n{hash_file(listed)[0]},100\n")
    parser = argparse.ArgumentParser(prog="cocon")
    media_cli.add_hashlist_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["hashlist", "import", str(listfile), "--data-dir",
                              str(tmp_path / "data")])
    assert media_cli.run(args) == 0
    index = HashListStore(media_cli.hashlist_folder(tmp_path / "data")).load()
    # A re-encoded, resized, brightened WebP copy of the listed photo.
    with Image.open(listed) as im:
        copy = ImageEnhance.Brightness(im.convert("RGB")).enhance(1.15)
        copy = copy.resize((copy.width * 2 // 3, copy.height * 2 // 3))
    out = io.BytesIO()
    copy.save(out, "WEBP", quality=60)
    result = await intake(out.getvalue(), blocklist=index)
    assert result.refusal is not None and result.refusal.code == "media_blocked"
    assert result.match is not None and result.match.list_name == "blocked"
    assert result.data == b""
    # An unrelated photo passes.
    other = sorted((pdq_dir / "reg-test-input" / "labelme-subset").glob("*.jpg"))[2]
    assert (await intake(other, blocklist=index)).ok


def test_cli_import_reports_bad_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="cocon")
    media_cli.add_hashlist_parser(parser.add_subparsers(dest="command", required=True))
    bad = tmp_path / "bad.txt"
    bad.write_text(f"{A}\nhello\n")
    args = parser.parse_args(["hashlist", "import", str(bad), "--data-dir", str(tmp_path)])
    assert media_cli.run(args) == 1
    assert "ligne 2" in capsys.readouterr().err
    assert not (tmp_path / "hashlists" / "bad.txt").exists()


def test_hamming_agrees_with_index() -> None:
    index = HashIndex()
    index.set_list("x", [A, B, C])
    assert sorted(index.distances(C).tolist()) == sorted(hamming(C, h) for h in (A, B, C))
