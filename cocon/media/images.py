"""Image sanitizing: bounded decode, EXIF orientation, metadata-free re-encode, blurred preview.

Decisions (see docs/media.md):

- Dimensions are read from the header (``Image.open`` is lazy) and checked against
  :class:`~cocon.media.limits.Limits` before any pixel is decoded: pixel floods and
  decompression bombs are refused in microseconds, memory stays bounded.
- Output formats: JPEG and HEIC become JPEG (quality 85); PNG stays PNG; WebP stays WebP
  (quality 85); any of them with real transparency becomes PNG (WebP keeps its alpha).
  An animated GIF is re-encoded frame by frame as a GIF; a still GIF becomes a PNG. An
  animated PNG or WebP keeps its first frame only.
- Pixels are copied into a brand-new image (no ``info``, no EXIF, no palette comments),
  colour profiles are converted to sRGB then dropped, so nothing of the original file but
  its pixels reaches the output. :func:`find_metadata` re-reads the output to prove it.
"""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageCms, ImageFilter, ImageOps

from cocon.media import pdq
from cocon.media.limits import Limits
from cocon.media.metadata import find_metadata
from cocon.media.sniff import MediaRefused, Sniffed, corrupt

_PIL_FORMATS: Final = {"jpeg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP",
                       "heic": "HEIF"}
_GIF_HASHED_FRAMES: Final = 4


@dataclass(frozen=True, slots=True)
class CleanImage:
    data: bytes
    mime: str
    width: int
    height: int
    frames: int
    preview: bytes  # JPEG, strongly blurred
    pdq: tuple[tuple[str, int], ...]  # (hex, quality) of the image, or of sampled GIF frames


def too_large_image(width: int, height: int) -> MediaRefused:
    return MediaRefused(
        "media_image_too_large",
        f"Cette image est trop grande ({width} × {height} pixels). "
        "Réduisez-la avant de l'envoyer.",
    )


def _register_heif() -> None:
    try:
        import pillow_heif
    except ImportError as exc:  # pragma: no cover - pillow-heif is a dependency
        raise MediaRefused(
            "media_heic_unsupported",
            "Les photos HEIC ne sont pas acceptées sur ce serveur : "
            "envoyez-la en JPEG (réglage « Le plus compatible » de l'appareil photo).",
        ) from exc
    pillow_heif.register_heif_opener()


def check_dimensions(width: int, height: int, limits: Limits) -> None:
    """Refuse from header values alone: no decode has happened yet."""
    if width <= 0 or height <= 0:
        raise corrupt()
    if (width > limits.max_image_side or height > limits.max_image_side
            or width * height > limits.max_image_pixels):
        raise too_large_image(width, height)


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    if not icc:
        return im
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        dst = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
        converted = ImageCms.profileToProfile(im, src, dst, outputMode=im.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return im  # a broken or mismatched profile: keep the pixels, drop the profile
    return converted if converted is not None else im


def _has_alpha(im: Image.Image) -> bool:
    if im.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in im.info:
        alpha = im.convert("RGBA").getchannel("A")
        return alpha.getextrema() != (255, 255)
    return False


def _normalise(im: Image.Image) -> tuple[Image.Image, bool]:
    """Oriented, sRGB, RGB or RGBA pixels in a fresh image without any ``info``."""
    icc = im.info.get("icc_profile")
    with contextlib.suppress(ValueError, TypeError, KeyError, SyntaxError):
        im = ImageOps.exif_transpose(im)  # unreadable EXIF: keep the stored orientation
    alpha = _has_alpha(im)
    mode = "RGBA" if alpha else "RGB"
    if im.mode != mode:
        im = im.convert(mode)
    im = _to_srgb(im, icc if isinstance(icc, bytes) else None)
    return Image.frombytes(mode, im.size, im.tobytes()), alpha


def _fit(im: Image.Image, side: int) -> Image.Image:
    if max(im.size) <= side:
        return im
    out = im.copy()
    out.thumbnail((side, side), Image.Resampling.LANCZOS)
    return out


def blurred_preview(im: Image.Image, side: int) -> bytes:
    """A small, strongly blurred JPEG: shapes and colours, no recognisable detail."""
    if im.mode == "RGBA":
        base = Image.new("RGB", im.size, (128, 128, 128))
        base.paste(im, mask=im.getchannel("A"))
        im = base
    tiny = im.convert("RGB")
    tiny.thumbnail((max(8, side // 12), max(8, side // 12)), Image.Resampling.BOX)
    w, h = tiny.size
    scale = side / max(w, h)
    big = tiny.resize((max(1, round(w * scale)), max(1, round(h * scale))),
                      Image.Resampling.BILINEAR)
    big = big.filter(ImageFilter.GaussianBlur(radius=max(4, side // 24)))
    out = io.BytesIO()
    big.save(out, "JPEG", quality=60)
    return out.getvalue()


def _encode(im: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        im.save(out, "JPEG", quality=85, optimize=True)
    elif fmt == "WEBP":
        im.save(out, "WEBP", quality=85, method=4)
    else:
        im.save(out, "PNG", optimize=False, compress_level=6)
    return out.getvalue()


def _output_format(sniffed: Sniffed, alpha: bool) -> tuple[str, str]:
    if sniffed.format == "webp":
        return "WEBP", "image/webp"
    if alpha or sniffed.format in ("png", "gif"):
        return "PNG", "image/png"
    return "JPEG", "image/jpeg"


def _sanitize_gif(im: Image.Image, limits: Limits) -> CleanImage:
    n = int(getattr(im, "n_frames", 1))
    w, h = im.size
    if n > limits.max_gif_frames or n * w * h > limits.max_gif_total_pixels:
        raise MediaRefused(
            "media_gif_too_large",
            f"Ce GIF animé est trop lourd ({n} images de {w} × {h} pixels).",
        )
    frames: list[Image.Image] = []
    durations: list[int] = []
    for i in range(n):
        im.seek(i)
        check_dimensions(*im.size, limits)
        rgba = im.convert("RGBA")
        frames.append(Image.frombytes("RGBA", rgba.size, rgba.tobytes()))
        durations.append(max(20, int(im.info.get("duration", 100) or 100)))
    step = max(1, n // _GIF_HASHED_FRAMES)
    hashes = tuple(dict.fromkeys(pdq.pdq_hash(frames[i]) for i in range(0, n, step)))
    side = limits.max_output_side
    frames = [_fit(f, side) for f in frames]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=durations,
                   loop=0, disposal=2, optimize=False)
    return CleanImage(out.getvalue(), "image/gif", frames[0].width, frames[0].height, n,
                      blurred_preview(frames[0], limits.preview_side), hashes)


def sanitize_image(data: bytes, sniffed: Sniffed, limits: Limits) -> CleanImage:
    """Decode (bounded), orient, re-encode without metadata, hash and preview an image.

    Raises :class:`MediaRefused` for anything that is not a decodable image of the sniffed
    format within the limits.
    """
    if sniffed.format == "heic":
        _register_heif()
    try:
        with Image.open(io.BytesIO(data), formats=[_PIL_FORMATS[sniffed.format]]) as im:
            check_dimensions(*im.size, limits)
            if sniffed.format == "gif" and int(getattr(im, "n_frames", 1)) > 1:
                clean = _sanitize_gif(im, limits)
            else:
                if sniffed.format == "jpeg":
                    # DCT scaling: decode big photos at a reduced size, quickly.
                    im.draft("RGB", (limits.max_output_side, limits.max_output_side))
                im.load()
                check_dimensions(*im.size, limits)
                pixels, alpha = _normalise(im)
                fmt, mime = _output_format(sniffed, alpha)
                hashes = (pdq.pdq_hash(pixels),)
                pixels = _fit(pixels, limits.max_output_side)
                clean = CleanImage(_encode(pixels, fmt), mime, pixels.width, pixels.height, 1,
                                   blurred_preview(pixels, limits.preview_side), hashes)
    except MediaRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        # Pillow's own guard (Image.MAX_IMAGE_PIXELS) fired while reading the header.
        raise MediaRefused("media_image_too_large",
                           "Cette image est trop grande. Réduisez-la avant de l'envoyer.") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError,
            MemoryError) as exc:
        # Pillow reports undecodable, truncated or malformed data with these.
        raise corrupt() from exc
    leftovers = find_metadata(clean.data)
    if leftovers:  # never expected: the output is built from pixels only
        raise RuntimeError(f"metadata left in re-encoded image: {leftovers}")
    return clean
