"""Hostile and tricky files, built by the tests themselves (no fixture files on disk)."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable

import piexif  # type: ignore[import-untyped]
from PIL import Image

SECRET = "CoconSecret"  # planted in every piece of metadata; must never survive intake


def photo(size: tuple[int, int] = (320, 240), mode: str = "RGB") -> Image.Image:
    """A small image with structure (gradients and a square), so PDQ has something to see."""
    w, h = size
    im = Image.linear_gradient("L").resize(size)
    rgb = Image.merge("RGB", (im, im.transpose(Image.Transpose.ROTATE_90).resize(size),
                              Image.new("L", size, 90)))
    rgb.paste((250, 30, 30), (w // 4, h // 4, w // 2, h // 2))
    return rgb.convert(mode)


def encode(im: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    im.save(out, fmt, **params)
    return out.getvalue()


def jpeg_insert(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """Insert a segment right after SOI."""
    segment = bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_insert(png: bytes, *chunks: bytes) -> bytes:
    """Insert chunks right after IHDR."""
    at = 8 + 12 + 13
    return png[:at] + b"".join(chunks) + png[at:]


def gps_exif(with_thumbnail: bool = False) -> bytes:
    thumb = encode(photo((64, 48)), "JPEG") if with_thumbnail else None
    data = {
        "0th": {piexif.ImageIFD.Make: SECRET.encode(), piexif.ImageIFD.Orientation: 1},
        "Exif": {piexif.ExifIFD.UserComment: b"ASCII\x00\x00\x00" + SECRET.encode()},
        "GPS": {
            piexif.GPSIFD.GPSLatitudeRef: b"N",
            piexif.GPSIFD.GPSLatitude: ((48, 1), (51, 1), (2400, 100)),
            piexif.GPSIFD.GPSLongitudeRef: b"E",
            piexif.GPSIFD.GPSLongitude: ((2, 1), (17, 1), (4000, 100)),
        },
        "1st": {piexif.ImageIFD.Compression: 6} if thumb else {},
        "thumbnail": thumb,
    }
    dumped: bytes = piexif.dump(data)
    return dumped


XMP = (f'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description '
       f'xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.4N" '
       f'exif:Owner="{SECRET}"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>').encode()


def iptc_app13() -> bytes:
    caption = SECRET.encode() + b" Paris, rue de Rivoli"
    record = b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption
    resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(record)) + record
    return b"Photoshop 3.0\x00" + resource + (b"\x00" if len(record) % 2 else b"")


def png_flood(side: int = 50_000) -> bytes:
    """A PNG header claiming side x side pixels (1 bit, grey) and a small zlib IDAT."""
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    rows = bytes(1 + (side + 7) // 8) * 2000
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr)
            + png_chunk(b"IDAT", zlib.compress(rows, 9)) + png_chunk(b"IEND", b""))


def gif_huge_screen() -> bytes:
    """A 1x1 frame on a 65535 x 65535 logical screen."""
    return (b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0x80, 0, 0) + b"\x00\x00\x00" * 2
            + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00\x3b")


def jpeg_huge_header() -> bytes:
    """A JPEG whose frame header claims 60000 x 60000 pixels, and nothing to decode."""
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, 60000, 60000, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + sof + b"\xff\xd9"


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("bomb.png", bytes(50 * 1024 * 1024))
    return out.getvalue()


def pdf_with_js() -> bytes:
    return (b"%PDF-1.7\n1 0 obj<</Type/Catalog/OpenAction 2 0 R>>endobj\n"
            b"2 0 obj<</S/JavaScript/JS(app.alert('x'))>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF")


def polyglot_jpeg_html() -> bytes:
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"
    return jpeg_insert(encode(photo(), "JPEG"), 0xFE, html) + html


def gif_with_comment_and_frames() -> bytes:
    frames = [photo((120, 90)).rotate(angle) for angle in (0, 90, 180)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=120,
                  loop=0, comment=f"<script>{SECRET}</script>".encode())


def _ztxt_bomb() -> bytes:
    text = zlib.compress(b"A" * (40 * 1024 * 1024), 9)
    return png_insert(encode(photo(), "PNG"), png_chunk(b"zTXt", b"Comment\x00\x00" + text))


#: name -> (builder, expected): expected is a refusal code, or "ok" (accepted and clean).
HOSTILE: dict[str, tuple[Callable[[], bytes], str]] = {
    "html-named-png": (lambda: b"<!DOCTYPE html><html><script>alert(1)</script>",
                       "media_unsupported_type"),
    "svg-with-script": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)'
                        b"</script></svg>", "media_unsupported_type"),
    "xml-svg": (lambda: b'<?xml version="1.0"?><svg onload="alert(1)"/>',
                "media_unsupported_type"),
    "pdf-with-javascript": (pdf_with_js, "media_unsupported_type"),
    "zip-bomb": (zip_bomb, "media_unsupported_type"),
    "elf-binary": (lambda: b"\x7fELF\x02\x01\x01" + bytes(100), "media_unsupported_type"),
    "hls-playlist-as-mp4": (lambda: b"#EXTM3U\n#EXT-X-TARGETDURATION:1\nhttp://169.254.169.254/"
                            b"\n", "media_unsupported_type"),
    "matroska-not-webm": (lambda: b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska"
                          + bytes(64), "media_unsupported_type"),
    "random-bytes": (lambda: bytes(range(256)) * 8, "media_unsupported_type"),
    "empty": (lambda: b"", "media_empty"),
    "png-50000x50000-flood": (png_flood, "media_image_too_large"),
    "gif-huge-logical-screen": (gif_huge_screen, "media_image_too_large"),
    "jpeg-60000x60000-header": (jpeg_huge_header, "media_image_too_large"),
    "truncated-jpeg": (lambda: encode(photo((640, 480)), "JPEG")[:4000], "media_corrupt"),
    "png-garbage-idat": (lambda: b"\x89PNG\r\n\x1a\n" + png_chunk(
        b"IHDR", struct.pack(">IIBBBBB", 100, 100, 8, 2, 0, 0, 0)) + png_chunk(
        b"IDAT", b"not zlib at all" * 10) + png_chunk(b"IEND", b""), "media_corrupt"),
    "jpeg-html-polyglot": (polyglot_jpeg_html, "ok"),
    "png-text-html": (lambda: png_insert(encode(photo(), "PNG"), png_chunk(
        b"tEXt", b"Comment\x00<script>" + SECRET.encode() + b"</script>")), "ok"),
    # Pillow caps decompressed text chunks (PngImagePlugin.MAX_TEXT_CHUNK): refused.
    "png-ztxt-bomb": (_ztxt_bomb, "media_corrupt"),
    "png-exif-and-xmp": (lambda: png_insert(encode(photo(), "PNG"), png_chunk(
        b"eXIf", gps_exif()[6:]),
        png_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + XMP)), "ok"),
    "jpeg-exif-gps": (lambda: encode(photo(), "JPEG", exif=gps_exif()), "ok"),
    "jpeg-exif-thumbnail": (lambda: encode(photo(), "JPEG", exif=gps_exif(True)), "ok"),
    "jpeg-xmp": (lambda: jpeg_insert(encode(photo(), "JPEG"), 0xE1,
                                     b"http://ns.adobe.com/xap/1.0/\x00" + XMP), "ok"),
    "jpeg-iptc": (lambda: jpeg_insert(encode(photo(), "JPEG"), 0xED, iptc_app13()), "ok"),
    "jpeg-icc-and-comment": (lambda: encode(photo(), "JPEG", comment=SECRET.encode(),
                                            icc_profile=_srgb_icc()), "ok"),
    "webp-exif-xmp": (lambda: encode(photo(), "WEBP", exif=gps_exif(), xmp=XMP), "ok"),
    "gif-animated-comment": (gif_with_comment_and_frames, "ok"),
    "png-alpha": (lambda: encode(photo(mode="RGBA").rotate(30), "PNG"), "ok"),
}


def _srgb_icc() -> bytes:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
    data: bytes = profile.tobytes()
    return data
