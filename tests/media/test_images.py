"""Image sanitizing: orientation, output formats, GIF frames, HEIC, the blurred preview."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cocon.media import Limits, intake
from cocon.media.images import sanitize_image
from cocon.media.sniff import sniff
from tests.media.corpus import encode, gps_exif, photo
from tests.media.test_hostile import assert_clean_image


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


@pytest.mark.parametrize(("fmt", "mode", "mime"), [
    ("JPEG", "RGB", "image/jpeg"), ("PNG", "RGB", "image/png"), ("WEBP", "RGB", "image/webp"),
    ("PNG", "RGBA", "image/png"), ("WEBP", "RGBA", "image/webp"), ("GIF", "P", "image/png"),
    ("JPEG", "CMYK", "image/jpeg"), ("PNG", "L", "image/png"), ("JPEG", "L", "image/jpeg"),
])
async def test_output_formats(fmt: str, mode: str, mime: str) -> None:
    im = photo()
    if mode == "RGBA":
        im = im.convert("RGBA")
        im.putalpha(Image.linear_gradient("L").resize(im.size))
    else:
        im = im.convert(mode)
    result = await intake(encode(im, fmt))
    assert result.ok, result.refusal
    assert result.mime == mime and (result.width, result.height) == (320, 240)
    assert_clean_image(result.data)
    assert _open(result.data).mode in ("RGB", "RGBA", "P", "L")


async def test_exif_orientation_applied_then_dropped() -> None:
    upright = photo((300, 200))
    # Stored rotated, with orientation 6 ("rotate 90 CW to display").
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    result = await intake(encode(stored, "JPEG", exif=exif.tobytes()))
    assert result.ok and (result.width, result.height) == (300, 200)
    out = np.asarray(_open(result.data).convert("L"), dtype=np.int16)
    want = np.asarray(upright.convert("L"), dtype=np.int16)
    assert np.abs(out - want).mean() < 8
    assert len(_open(result.data).getexif()) == 0


async def test_reference_exif_rotations_come_out_upright(pdq_dir: Path) -> None:
    for n in (1, 3, 6, 8):
        data = (pdq_dir / f"reg-test-input/exif-rotn/exif-rotn-{n}.jpg").read_bytes()
        result = await intake(data, Limits(max_output_side=1000))  # JPEG draft: fast
        assert result.ok and result.width is not None and result.height is not None
        with Image.open(io.BytesIO(data)) as original:
            w, h = original.size
            if original.getexif().get(0x0112) in (5, 6, 7, 8):
                w, h = h, w
        assert (result.width > result.height) == (w > h), n
        assert max(result.width, result.height) <= 1000
        assert_clean_image(result.data)


async def test_animated_gif_keeps_its_frames() -> None:
    frames = [photo((100, 80)).rotate(a) for a in (0, 45, 90, 135)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80,
                  loop=0, comment=b"CoconSecret")
    result = await intake(data)
    assert result.ok and result.mime == "image/gif" and result.frames == 4
    out = Image.open(io.BytesIO(result.data))
    assert getattr(out, "n_frames", 1) == 4
    assert len(result.pdq) >= 2  # several frames hashed
    assert_clean_image(result.data)


async def test_gif_frame_budget() -> None:
    frames = [photo((200, 200)).rotate(a) for a in range(0, 360, 30)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    result = await intake(data, Limits(max_gif_total_pixels=200 * 200 * 5))
    assert result.refusal is not None and result.refusal.code == "media_gif_too_large"


async def test_heic_with_gps_becomes_clean_jpeg() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    data = encode(photo(), "HEIF", exif=gps_exif(), quality=80)
    assert sniff(data[:4096]).format == "heic"
    result = await intake(data)
    assert result.ok, result.refusal
    assert result.mime == "image/jpeg" and (result.width, result.height) == (320, 240)
    assert_clean_image(result.data)


async def test_large_photo_is_scaled_down() -> None:
    big = photo((3000, 2000))
    result = await intake(encode(big, "JPEG"), Limits(max_output_side=1000))
    assert result.ok and (result.width, result.height) == (1000, 667)


def test_preview_is_small_and_blurred() -> None:
    checker = Image.fromarray(((np.indices((256, 256)).sum(axis=0) // 8) % 2 * 255)
                              .astype(np.uint8)).convert("RGB")
    data = encode(checker, "PNG")
    clean = sanitize_image(data, sniff(data[:4096]), Limits())
    preview = _open(clean.preview)
    assert preview.format == "JPEG" and max(preview.size) <= Limits().preview_side
    pixels = np.asarray(preview.convert("L"), dtype=np.float64)
    assert pixels.std() < 10  # the checkerboard (std 127) is gone
    assert len(clean.preview) < 20_000
