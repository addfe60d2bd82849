"""Prove that a re-encoded image holds no metadata, by walking its container structure.

:func:`find_metadata` lists every piece of metadata (or unexpected data) found in a JPEG,
PNG, GIF or WebP file: EXIF (and its GPS block and thumbnails), XMP, IPTC/Photoshop, ICC,
comments, text chunks, and bytes after the end of the image. An empty list means clean.
It is used after every re-encode (a non-empty list there is a bug) and by the tests.
"""

from __future__ import annotations

from typing import Final

# Long markers that cannot occur by chance in compressed pixel data.
_BYTE_MARKERS: Final = (
    (b"Exif\x00\x00", "EXIF"),
    (b"http://ns.adobe.com/xap/1.0/", "XMP"),
    (b"<x:xmpmeta", "XMP"),
    (b"Photoshop 3.0\x00", "IPTC/Photoshop"),
    (b"ICC_PROFILE\x00", "ICC"),
)
_PNG_ALLOWED: Final = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND", b"sRGB",
                                 b"gAMA", b"pHYs"})
_JPEG_IN_SCAN: Final = frozenset({0x00, 0xFF, *range(0xD0, 0xD8)})  # stuffing, fill, RSTn
_WEBP_ALLOWED: Final = frozenset({b"VP8 ", b"VP8L", b"VP8X", b"ALPH", b"ANIM", b"ANMF"})


def _jpeg(data: bytes) -> list[str]:
    found: list[str] = []
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return [*found, "JPEG: structure invalide"]
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0xD9:
            break
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        body = data[pos + 4 : pos + 2 + length]
        if marker == 0xE0:
            if body.startswith(b"JFIF\x00") and len(body) >= 14:
                if body[12] or body[13]:
                    found.append("JPEG: vignette JFIF")
            else:
                found.append("JPEG: APP0 " + repr(body[:5]))
        elif 0xE1 <= marker <= 0xEF:
            found.append(f"JPEG: APP{marker - 0xE0} {body[:12]!r}")
        elif marker == 0xFE:
            found.append("JPEG: commentaire")
        if marker == 0xDA:  # start of scan: skip entropy-coded data to the next marker
            pos += 2 + length
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= len(data):
                    return [*found, "JPEG: fin d'image absente"]
                if data[pos + 1] not in _JPEG_IN_SCAN:
                    break
                pos += 1
            continue
        pos += 2 + length
    end = data.rfind(b"\xff\xd9")
    if end < 0:
        found.append("JPEG: fin d'image absente")
    elif data[end + 2 :].strip(b"\x00"):
        found.append("JPEG: données après la fin de l'image")
    return found


def _png(data: bytes) -> list[str]:
    found: list[str] = []
    pos = 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind not in _PNG_ALLOWED:
            found.append(f"PNG: bloc {kind.decode('latin-1')}")
        pos += 12 + length
        if kind == b"IEND":
            if data[pos:]:
                found.append("PNG: données après IEND")
            return found
    return [*found, "PNG: IEND absent"]


def _gif_skip_subblocks(data: bytes, pos: int) -> int:
    while pos < len(data):
        size = data[pos]
        pos += 1 + size
        if size == 0:
            break
    return pos


def _gif(data: bytes) -> list[str]:
    found: list[str] = []
    flags = data[10]
    pos = 13 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
    while pos < len(data):
        block = data[pos]
        if block == 0x3B:  # trailer
            if data[pos + 1 :]:
                found.append("GIF: données après la fin")
            return found
        if block == 0x21:
            label = data[pos + 1]
            if label == 0xFE:
                found.append("GIF: commentaire")
            elif label == 0x01:
                found.append("GIF: texte")
            elif label == 0xFF and data[pos + 3 : pos + 14] != b"NETSCAPE2.0":
                found.append(f"GIF: extension {data[pos + 3 : pos + 14]!r}")
            pos = _gif_skip_subblocks(data, pos + 2)
        elif block == 0x2C:
            flags = data[pos + 9]
            pos += 10 + (3 * 2 ** ((flags & 7) + 1) if flags & 0x80 else 0)
            pos = _gif_skip_subblocks(data, pos + 1)  # LZW minimum code size, then data
        else:
            return [*found, "GIF: structure invalide"]
    return [*found, "GIF: fin absente"]


def _webp(data: bytes) -> list[str]:
    found: list[str] = []
    pos = 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        if kind not in _WEBP_ALLOWED:
            found.append(f"WebP: bloc {kind.decode('latin-1')}")
        pos += 8 + size + (size & 1)
    riff_end = 8 + int.from_bytes(data[4:8], "little")
    if len(data) > riff_end:
        found.append("WebP: données après la fin")
    return found


def find_metadata(data: bytes) -> list[str]:
    """Every piece of metadata or trailing data found in an image file (empty: clean)."""
    if data.startswith(b"\xff\xd8"):
        found = _jpeg(data)
    elif data.startswith(b"\x89PNG\r\n\x1a\n"):
        found = _png(data)
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        found = _gif(data)
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        found = _webp(data)
    else:
        return ["format inconnu"]
    for marker, name in _BYTE_MARKERS:
        if marker in data:
            found.append(f"{name} (octets)")
    return found
