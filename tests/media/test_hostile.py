"""Every hostile file is refused with a clear code, or accepted with nothing but its pixels."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from PIL import Image

from cocon.media import Limits, LocalStorage, intake, serving_headers, store
from cocon.media.metadata import find_metadata
from tests.media.corpus import HOSTILE, SECRET

_NEEDLES = (SECRET.encode(), b"<script", b"GPS", b"http://ns.adobe.com", b"Photoshop",
            b"8BIM", b"<x:xmpmeta", b"Exif")


def assert_clean_image(data: bytes) -> None:
    assert find_metadata(data) == []
    for needle in _NEEDLES:
        assert needle not in data, needle
    with Image.open(io.BytesIO(data)) as im:
        assert len(im.getexif()) == 0
        for key in ("exif", "xmp", "XML:com.adobe.xmp", "icc_profile", "comment", "photoshop",
                    "iptc", "Comment"):
            assert key not in im.info, key
        if im.format == "JPEG":
            applist = getattr(im, "applist", [])
            assert [marker for marker, _body in applist] in ([], ["APP0"]), applist


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_hostile_file(name: str) -> None:
    build, expected = HOSTILE[name]
    started = time.monotonic()
    result = await intake(build(), Limits())
    elapsed = time.monotonic() - started
    if expected == "ok":
        assert result.ok, result.refusal
        assert result.kind == "image" and result.mime is not None
        assert_clean_image(result.data)
        assert result.preview is not None
        assert_clean_image(result.preview)
        assert result.pdq and all(len(h) == 64 for h, _q in result.pdq)
    else:
        assert result.refusal is not None and result.refusal.code == expected, result.refusal
        assert result.data == b"" and result.preview is None
        assert result.refusal.message and result.refusal.message[0].isupper()
    assert elapsed < 3, f"{name} took {elapsed:.2f} s"


def test_corpus_is_big_enough() -> None:
    assert len(HOSTILE) >= 20
    assert sum(expected != "ok" for _b, expected in HOSTILE.values()) >= 12


async def test_pixel_flood_refused_from_header_without_decoding() -> None:
    build, _ = HOSTILE["png-50000x50000-flood"]
    data = build()
    import tracemalloc

    tracemalloc.start()
    started = time.monotonic()
    result = await intake(data)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert result.refusal is not None and result.refusal.code == "media_image_too_large"
    assert time.monotonic() - started < 0.5
    assert peak < 20 * 1024 * 1024
    assert "trop grande" in result.refusal.message


async def test_size_limits_apply_before_decoding(tmp_path: Path) -> None:
    data = HOSTILE["jpeg-exif-gps"][0]()
    small = Limits(max_image_bytes=1000)
    result = await intake(data, small)
    assert result.refusal is not None and result.refusal.code == "media_too_big"
    path = tmp_path / "upload"
    path.write_bytes(data + bytes(5000))
    result = await intake(path, small)
    assert result.refusal is not None and result.refusal.code == "media_too_big"


async def test_timeout_refuses(tmp_path: Path) -> None:
    big = Image.effect_noise((1500, 1500), 60).convert("RGB")
    out = io.BytesIO()
    big.save(out, "PNG", compress_level=1)
    result = await intake(out.getvalue(), Limits(timeout_s=0.01, max_image_bytes=64 << 20))
    assert result.refusal is not None and result.refusal.code == "media_timeout"


@pytest.mark.parametrize("client_name", [
    "photo.png\r\nContent-Type: text/html", 'x".html', "\u202egnp.exe", "../../etc/passwd",
    "évènement d'été.jpg",
])
async def test_client_names_never_reach_storage_or_headers(tmp_path: Path,
                                                           client_name: str) -> None:
    upload_dir = tmp_path / "up"
    upload_dir.mkdir()
    path = upload_dir / client_name.replace("/", "_")
    path.write_bytes(HOSTILE["jpeg-exif-gps"][0]())
    result = await intake(path)
    assert result.ok and result.kind == "image" and result.mime
    stored = await store(LocalStorage(tmp_path / "media"), result)
    headers = serving_headers(result.kind, result.mime)
    for text in (stored.key, stored.preview_key or "", *headers.values()):
        assert "\r" not in text and "\n" not in text and "\u202e" not in text
        assert "passwd" not in text and ".exe" not in text and ".html" not in text
    assert headers["Content-Disposition"] == 'inline; filename="cocon-image.jpg"'
