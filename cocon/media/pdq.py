"""PDQ perceptual hashes (Meta's algorithm, through the ``pdqhash`` package, offline).

A PDQ hash is 256 bits, written as 64 lowercase hex digits; two images "match" when the
Hamming distance between their hashes is at most :data:`MATCH_DISTANCE` (31). The quality
(0-100) says how much structure the image has: upstream recommends ignoring hashes of
quality <= :data:`MIN_QUALITY` (49) when *adding* to a list, because flat images collide.

The hash of an image is taken after its EXIF orientation is applied, on RGB pixels, as the
reference implementations do.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import pdqhash  # type: ignore[import-untyped]
from PIL import Image, ImageOps

MATCH_DISTANCE: Final = 31
MIN_QUALITY: Final = 49
HEX_LEN: Final = 64
_HASH_SIDE: Final = 1024
_HEX_RE: Final = re.compile(r"[0-9a-f]{64}")


def is_pdq_hex(text: str) -> bool:
    """True if ``text`` is a 256-bit hash as 64 hex digits (either case)."""
    return _HEX_RE.fullmatch(text.lower()) is not None


def _open(source: Image.Image | str | Path | bytes) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    if isinstance(source, bytes):
        return Image.open(io.BytesIO(source))
    return Image.open(source)


def pdq_hash(image: Image.Image | str | Path | bytes) -> tuple[str, int]:
    """``(hex, quality)`` of an image given as a Pillow image, a path or encoded bytes."""
    im = _open(image)
    try:
        oriented = ImageOps.exif_transpose(im)
    except (ValueError, TypeError, KeyError, SyntaxError):
        oriented = im
    if oriented.mode == "RGBA":
        flat = Image.new("RGB", oriented.size, (255, 255, 255))
        flat.paste(oriented, mask=oriented.getchannel("A"))
        oriented = flat
    rgb = oriented.convert("RGB")
    if max(rgb.size) > _HASH_SIDE:
        # PDQ resamples to 64 x 64 anyway: hashing a 1024 px box-filtered copy of a big
        # photo is ~8x faster and stays within 10 bits of the reference on its test set.
        rgb.thumbnail((_HASH_SIDE, _HASH_SIDE), Image.Resampling.BOX)
    pixels: npt.NDArray[np.uint8] = np.asarray(rgb, dtype=np.uint8)
    vector, quality = pdqhash.compute(pixels)
    bits = np.asarray(vector, dtype=np.uint8)
    return np.packbits(bits).tobytes().hex(), int(quality)


def hash_file(path: str | Path) -> tuple[str, int]:
    """``pdq_hash`` of an image file (closes the file)."""
    with Image.open(path) as im:
        im.load()
        return pdq_hash(im)


def hamming(a_hex: str, b_hex: str) -> int:
    """Number of differing bits between two 256-bit hex hashes."""
    if len(a_hex) != HEX_LEN or len(b_hex) != HEX_LEN:
        raise ValueError("PDQ hashes are 64 hex digits")
    return (int(a_hex, 16) ^ int(b_hex, 16)).bit_count()


