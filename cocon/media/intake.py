"""The whole upload pipeline: size check, sniff, sanitize, hash, match, and serving headers.

``await intake(data_or_path, limits)`` never raises for a bad file: it returns an
:class:`IntakeResult` whose ``refusal`` carries a machine code and a French message. The
CPU-heavy work (decode, re-encode, hashing, ffmpeg) runs in a worker (a bounded thread
pool by default, or any ``concurrent.futures.Executor`` the caller passes, e.g. a process
pool) under ``Limits.timeout_s``.

Nothing from the client is kept but pixels and audio/video streams: the stored name is a
random key (:mod:`cocon.media.storage`), the type is sniffed, the metadata are gone.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from cocon.media.av import sanitize_av
from cocon.media.hashlist import HashIndex, Match
from cocon.media.images import sanitize_image
from cocon.media.limits import Limits
from cocon.media.pdq import MIN_QUALITY
from cocon.media.sniff import SNIFF_BYTES, Kind, MediaRefused, extension_for, sniff
from cocon.media.storage import MediaStorage

log = logging.getLogger(__name__)

_DEFAULT_WORKERS: Final = max(1, min(4, os.cpu_count() or 1))
_executor: ThreadPoolExecutor | None = None


def _default_executor() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(_DEFAULT_WORKERS, thread_name_prefix="cocon-media")
    return _executor


@dataclass(frozen=True, slots=True)
class Refusal:
    code: str
    message: str  # French, for the user


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """An accepted, sanitized file (``refusal is None``) or a refusal."""

    kind: Kind | None = None
    mime: str | None = None
    extension: str | None = None
    data: bytes = b""  # sanitized bytes, to store
    preview: bytes | None = None  # blurred JPEG for images; None for audio/video
    pdq: tuple[tuple[str, int], ...] = ()  # (hex, quality) per image or sampled frame
    width: int | None = None
    height: int | None = None
    duration: float | None = None
    frames: int = 1
    refusal: Refusal | None = None
    match: Match | None = field(default=None)  # set when refused by a hash list

    @property
    def ok(self) -> bool:
        return self.refusal is None


def refused(code: str, message: str, match: Match | None = None) -> IntakeResult:
    return IntakeResult(refusal=Refusal(code, message), match=match)


def _too_big(limit: int) -> IntakeResult:
    return refused("media_too_big",
                   f"Ce fichier est trop lourd ({limit // (1024 * 1024)} Mo au plus).")


def process(data: bytes, limits: Limits) -> IntakeResult:
    """Blocking pipeline on bytes (picklable: can run in a process pool)."""
    try:
        sniffed = sniff(data[:SNIFF_BYTES])
        if len(data) > limits.max_bytes_for(sniffed.kind):
            return _too_big(limits.max_bytes_for(sniffed.kind))
        if sniffed.kind == "image":
            img = sanitize_image(data, sniffed, limits)
            return IntakeResult("image", img.mime, extension_for(img.mime), img.data,
                                img.preview, img.pdq, img.width, img.height, None, img.frames)
        av = sanitize_av(data, sniffed, limits)
        return IntakeResult(av.kind, av.mime, extension_for(av.mime), av.data, None, av.pdq,
                            av.width, av.height, av.duration)
    except MediaRefused as exc:
        return refused(exc.code, exc.message)


def _read_path(path: Path, limits: Limits) -> bytes | IntakeResult:
    """Read at most the allowed size for the sniffed kind; refuse larger files unread."""
    with path.open("rb") as src:
        head = src.read(SNIFF_BYTES)
        try:
            limit = limits.max_bytes_for(sniff(head).kind)
        except MediaRefused as exc:
            return refused(exc.code, exc.message)
        if os.fstat(src.fileno()).st_size > limit:
            return _too_big(limit)
        rest = src.read(limit + 1 - len(head))
    data = head + rest
    return _too_big(limit) if len(data) > limit else data


async def intake(
    source: bytes | str | Path,
    limits: Limits | None = None,
    *,
    blocklist: HashIndex | None = None,
    executor: Executor | None = None,
) -> IntakeResult:
    """Sniff, sanitize and hash an upload; refuse it if it matches ``blocklist``.

    ``source`` is the uploaded bytes or the path of a spooled upload. Never raises for a bad
    file; an unexpected error is logged and returned as ``media_failed``.
    """
    limits = limits or Limits()
    loop = asyncio.get_running_loop()
    pool = executor or _default_executor()
    try:
        if isinstance(source, bytes):
            data: bytes | IntakeResult = source
            if len(source) > limits.max_upload_bytes:
                return _too_big(limits.max_upload_bytes)
        else:
            data = await loop.run_in_executor(pool, _read_path, Path(source), limits)
        if isinstance(data, IntakeResult):
            return data
        result = await asyncio.wait_for(loop.run_in_executor(pool, process, data, limits),
                                        timeout=limits.timeout_s)
    except TimeoutError:
        return refused("media_timeout", "Ce fichier a pris trop de temps à vérifier.")
    except Exception:
        log.exception("media intake failed")
        return refused("media_failed", "Ce fichier n'a pas pu être traité.")
    if result.ok and blocklist is not None:
        match = blocklist.match_any([h for h, _quality in result.pdq])
        if match is not None:
            log.warning("media blocked by hash list %s (distance %d)", match.list_name,
                        match.distance)
            return refused("media_blocked", "Ce fichier ne peut pas être partagé ici.", match)
    return result


def usable_hashes(result: IntakeResult) -> list[str]:
    """Hashes of good enough quality to be *added* to a list (upstream: quality > 49)."""
    return [h for h, quality in result.pdq if quality > MIN_QUALITY]


@dataclass(frozen=True, slots=True)
class StoredMedia:
    key: str
    preview_key: str | None


async def store(storage: MediaStorage, result: IntakeResult) -> StoredMedia:
    """Put an accepted result (and its preview) in ``storage`` under fresh random keys."""
    if not result.ok or result.mime is None or result.extension is None:
        raise ValueError("only accepted media can be stored")
    key = await storage.put(result.data, extension=result.extension, content_type=result.mime)
    preview_key = None
    if result.preview is not None:
        preview_key = await storage.put(result.preview, extension="jpg",
                                        content_type="image/jpeg")
    return StoredMedia(key, preview_key)


_DOWNLOAD_NAMES: Final = {"image": "image", "video": "video", "audio": "son"}


def serving_headers(kind: str, mime: str, *, download: bool = False) -> dict[str, str]:
    """Headers for serving a stored file. The name is chosen here, never by the client.

    The file is shown inline (images, video, audio) inside a sandbox with no right to run
    anything; browsers must not guess another type; other sites may not embed it.
    """
    if kind not in _DOWNLOAD_NAMES:
        raise ValueError(f"unknown media kind {kind!r}")
    name = f"cocon-{_DOWNLOAD_NAMES[kind]}.{extension_for(mime)}"
    return {
        "Content-Type": mime,
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": f'{"attachment" if download else "inline"}; filename="{name}"',
        "Cross-Origin-Resource-Policy": "same-origin",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, max-age=86400, no-transform",
    }
