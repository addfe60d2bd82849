"""Decide what an uploaded file is from its content, never from its name or Content-Type.

The first bytes (magic numbers) choose a *candidate* format; the candidate is then
confirmed by a real decode (Pillow for images in :mod:`cocon.media.images`, ffprobe for
audio and video in :mod:`cocon.media.av`). Anything that is not one of the accepted
formats is refused with a :class:`MediaRefused` carrying a machine code and a French
message meant for the user.

Accepted:

=========  ========================  ==========================================
kind       format                    magic
=========  ========================  ==========================================
image      jpeg, png, gif, webp      ``FF D8 FF``, ``\\x89PNG``, ``GIF8[79]a``, RIFF/WEBP
image      heic                      ISO-BMFF ``ftyp`` with a HEIF brand (decoded by
                                     pillow-heif, offline; refused if it is missing)
video      mp4, webm                 ``ftyp`` (video brands), EBML with DocType webm
audio      mp3, ogg, m4a             ID3 / MPEG frame sync, ``OggS``, ``ftyp`` M4A
=========  ========================  ==========================================

An ISO-BMFF file with a generic brand (``isom``, ``mp42``...) is sniffed as ``mp4``;
ffprobe later decides whether it is a video or an audio-only (m4a) file. A QuickTime
``.mov`` (brand ``qt``, as phones record) is sniffed as ``mp4``: its streams are
copied into an MP4 container. WebM holding
only audio is accepted as audio (Chrome's MediaRecorder records voice notes that way).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from cocon.errors import ClientError

Kind = Literal["image", "video", "audio"]

#: How many leading bytes :func:`sniff` needs to decide.
SNIFF_BYTES: Final = 4096

_HEIF_BRANDS: Final = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1",
                                 b"msf1", b"avif", b"avis"})
_AUDIO_BRANDS: Final = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A "})
_VIDEO_BRANDS: Final = frozenset({
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso8", b"mp41", b"mp42",
    b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"mmp4", b"MSNV", b"qt  ", b"3gp4", b"3gp5",
    b"3gp6", b"3g2a", b"f4v ", b"XAVC",
})


class MediaRefused(ClientError):
    """The file is refused; ``code`` is machine-readable, the message is for the user."""

    code = "media_refused"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code, field="file")


def unsupported(detail: str = "") -> MediaRefused:
    """The generic refusal for a file of a type Cocon does not accept."""
    suffix = f" ({detail})" if detail else ""
    return MediaRefused(
        "media_unsupported_type",
        "Ce type de fichier n'est pas accepté. Envoyez une photo (JPEG, PNG, WebP, GIF, HEIC), "
        f"une vidéo (MP4, WebM) ou un son (MP3, OGG, M4A){suffix}.",
    )


def corrupt() -> MediaRefused:
    return MediaRefused(
        "media_corrupt", "Ce fichier est abîmé ou incomplet : il ne peut pas être lu."
    )


@dataclass(frozen=True, slots=True)
class Sniffed:
    """A candidate format, to be confirmed by decoding."""

    kind: Kind  # for mp4/webm this is provisional: ffprobe may turn "video" into "audio"
    format: str  # jpeg, png, gif, webp, heic, mp4, m4a, webm, mp3, ogg
    mime: str


# Formats we recognise only to refuse them with a precise reason.
_KNOWN_REFUSED: Final[tuple[tuple[bytes, str], ...]] = (
    (b"%PDF", "PDF"),
    (b"PK\x03\x04", "archive ZIP"),
    (b"PK\x05\x06", "archive ZIP"),
    (b"\x1f\x8b", "archive gzip"),
    (b"7z\xbc\xaf\x27\x1c", "archive 7z"),
    (b"Rar!", "archive RAR"),
    (b"BZh", "archive bzip2"),
    (b"\xfd7zXZ\x00", "archive xz"),
    (b"MZ", "programme"),
    (b"\x7fELF", "programme"),
    (b"BM", "image BMP"),
    (b"II*\x00", "image TIFF"),
    (b"MM\x00*", "image TIFF"),
    (b"\x00\x00\x01\x00", "icône"),
    (b"fLaC", "audio FLAC"),
    (b"\xd0\xcf\x11\xe0", "document Office"),
)


def _ftyp(head: bytes) -> Sniffed | None:
    if len(head) < 12 or head[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(head[0:4], "big")
    major = head[8:12]
    end = min(box_size if 16 <= box_size <= 4096 else 16, len(head))
    brands = {major} | {head[i : i + 4] for i in range(16, end - 3, 4)}
    if major in _HEIF_BRANDS or (brands & _HEIF_BRANDS and not brands & _VIDEO_BRANDS):
        if b"avif" in brands or b"avis" in brands:
            raise unsupported("AVIF")
        return Sniffed("image", "heic", "image/heic")
    if major in _AUDIO_BRANDS:
        return Sniffed("audio", "m4a", "audio/mp4")
    if major in _VIDEO_BRANDS or brands & _VIDEO_BRANDS:
        return Sniffed("video", "mp4", "video/mp4")
    raise unsupported(f"conteneur {major.decode('latin-1')!r}")


def _ebml(head: bytes) -> Sniffed | None:
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    # The EBML header holds a DocType element (ID 0x4282) whose value is "webm" or
    # "matroska"; only WebM (VP8/VP9/AV1 + Vorbis/Opus) is accepted.
    at = head.find(b"\x42\x82", 4, 64)
    if at >= 0 and b"webm" in head[at : at + 12]:
        return Sniffed("video", "webm", "video/webm")
    raise unsupported("Matroska/MKV")


def _mp3(head: bytes) -> Sniffed | None:
    if head.startswith(b"ID3") and len(head) >= 10:
        return Sniffed("audio", "mp3", "audio/mpeg")
    if len(head) >= 4 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        version = (head[1] >> 3) & 0x3
        layer = (head[1] >> 1) & 0x3
        bitrate = head[2] >> 4
        rate = (head[2] >> 2) & 0x3
        # MPEG audio layer III, valid version, bitrate and sample-rate indexes.
        if layer == 0x1 and version != 0x1 and bitrate not in (0, 0xF) and rate != 0x3:
            return Sniffed("audio", "mp3", "audio/mpeg")
    return None


def _looks_like_text_markup(head: bytes) -> str | None:
    text = head[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    for marker, name in ((b"<svg", "SVG"), (b"<?xml", "XML/SVG"), (b"<!doctype", "HTML"),
                         (b"<html", "HTML"), (b"<script", "HTML"), (b"<", "HTML/XML")):
        if text.startswith(marker):
            return name
    return None


def sniff(head: bytes) -> Sniffed:
    """Candidate format of a file from its first bytes (at least :data:`SNIFF_BYTES`).

    Raises :class:`MediaRefused` (``media_empty``, ``media_unsupported_type``).
    """
    if not head:
        raise MediaRefused("media_empty", "Le fichier est vide.")
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("image", "jpeg", "image/jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return Sniffed("image", "png", "image/png")
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "gif", "image/gif")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return Sniffed("image", "webp", "image/webp")
    if head[:4] == b"OggS":
        return Sniffed("audio", "ogg", "audio/ogg")
    for probe in (_ftyp, _ebml, _mp3):
        found = probe(head)
        if found is not None:
            return found
    for magic, name in _KNOWN_REFUSED:
        if head.startswith(magic):
            raise unsupported(name)
    markup = _looks_like_text_markup(head)
    if markup is not None:
        raise unsupported(markup)
    raise unsupported()


EXTENSIONS: Final[dict[str, str]] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/webm": "webm",
    "audio/mpeg": "mp3",
    "audio/ogg": "ogg",
    "audio/mp4": "m4a",
    "audio/webm": "webm",
}


def extension_for(mime: str) -> str:
    """The file extension Cocon uses when it stores or serves a sanitized file."""
    return EXTENSIONS[mime]
