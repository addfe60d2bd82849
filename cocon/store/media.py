"""Media rows, the evidence quarantine, and the node's media backends.

A ``media`` row is one sanitized upload (see :mod:`cocon.media`): owned by its uploader,
attached at most once to a message (``stream``, ``cid``, then ``seq``). The quarantine
keeps the *original* bytes of uploads refused by a hash list, for the legal report; it is
a folder or a bucket prefix that no route ever serves.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cocon.config import Settings
from cocon.media import HashIndex, HashListStore, Limits, LocalStorage, MediaStorage, S3Storage
from cocon.media.cli import hashlist_folder
from cocon.store.tables import entries, media, media_evidence

MEDIA_FOLDER = "media"
QUARANTINE_FOLDER = "media-quarantine"


@dataclass(frozen=True, slots=True)
class MediaRow:
    id: int
    owner_id: int
    kind: str
    mime: str
    width: int | None
    height: int | None
    duration: float | None
    key: str
    preview_key: str | None
    size: int
    created_at: float
    stream: str | None
    cid: str | None
    seq: int | None


def _row(row: Any) -> MediaRow:
    m = row._mapping
    return MediaRow(
        id=int(m["id"]),
        owner_id=int(m["owner_id"]),
        kind=m["kind"],
        mime=m["mime"],
        width=m["width"],
        height=m["height"],
        duration=m["duration"],
        key=m["key"],
        preview_key=m["preview_key"],
        size=int(m["size"]),
        created_at=float(m["created_at"]),
        stream=m["stream"],
        cid=m["cid"],
        seq=None if m["seq"] is None else int(m["seq"]),
    )


async def add(db: AsyncConnection, **values: Any) -> int:
    result = await db.execute(insert(media).values(**values).returning(media.c.id))
    return int(result.scalar_one())


async def get(db: AsyncConnection, media_id: int) -> MediaRow | None:
    row = (await db.execute(select(media).where(media.c.id == media_id))).one_or_none()
    return None if row is None else _row(row)


async def by_ids(db: AsyncConnection, ids: list[int]) -> dict[int, MediaRow]:
    if not ids:
        return {}
    rows = await db.execute(select(media).where(media.c.id.in_(ids)))
    return {r.id: r for r in map(_row, rows)}


async def by_message(db: AsyncConnection, stream: str, seq: int) -> MediaRow | None:
    row = (
        await db.execute(select(media).where(media.c.stream == stream, media.c.seq == seq))
    ).first()
    return None if row is None else _row(row)


async def by_key(db: AsyncConnection, key: str) -> tuple[MediaRow, bool] | None:
    """The row whose file or preview is ``key``, and whether it is the preview."""
    row = (
        await db.execute(select(media).where(or_(media.c.key == key, media.c.preview_key == key)))
    ).first()
    if row is None:
        return None
    found = _row(row)
    return found, found.key != key


async def claim(db: AsyncConnection, media_id: int, owner_id: int, stream: str, cid: str) -> bool:
    """Reserve an upload for one send. A retry of the same send (same cid) may claim again."""
    done = await db.execute(
        update(media)
        .where(
            media.c.id == media_id,
            media.c.owner_id == owner_id,
            or_(
                media.c.stream.is_(None),
                and_(media.c.stream == stream, media.c.cid == cid),
            ),
        )
        .values(stream=stream, cid=cid)
    )
    return bool(done.rowcount)


async def release(db: AsyncConnection, media_id: int, stream: str, cid: str) -> None:
    """Undo a claim whose message was never written."""
    await db.execute(
        update(media)
        .where(
            media.c.id == media_id,
            media.c.stream == stream,
            media.c.cid == cid,
            media.c.seq.is_(None),
        )
        .values(stream=None, cid=None)
    )


async def attached(db: AsyncConnection, media_id: int, seq: int) -> None:
    await db.execute(update(media).where(media.c.id == media_id).values(seq=seq))


async def uploaded_since(db: AsyncConnection, owner_id: int, since: float) -> tuple[int, int]:
    """(number, bytes) of the uploads kept for ``owner_id`` since ``since``."""
    row = (
        await db.execute(
            select(func.count(media.c.id), func.coalesce(func.sum(media.c.size), 0)).where(
                media.c.owner_id == owner_id, media.c.created_at >= since
            )
        )
    ).one()
    return int(row[0]), int(row[1])


async def entry_seq(db: AsyncConnection, stream: str, sender_id: int, cid: str) -> int | None:
    """The seq of the entry a sender committed with ``cid`` in ``stream``, if any."""
    row = (
        await db.execute(
            select(entries.c.seq).where(
                entries.c.sender_id == sender_id, entries.c.cid == cid, entries.c.stream == stream
            )
        )
    ).one_or_none()
    return None if row is None else int(row.seq)


async def entry_data(db: AsyncConnection, stream: str, seq: int) -> dict[str, Any] | None:
    """The JSON ``data`` of a text entry (None if it is gone, redacted or has none)."""
    row = (
        await db.execute(
            select(entries.c.data).where(
                entries.c.stream == stream, entries.c.seq == seq, entries.c.kind == "text"
            )
        )
    ).one_or_none()
    if row is None or not row.data:
        return None
    data = json.loads(row.data)
    return data if isinstance(data, dict) else None


async def add_evidence(db: AsyncConnection, **values: Any) -> int:
    result = await db.execute(
        insert(media_evidence).values(**values).returning(media_evidence.c.id)
    )
    return int(result.scalar_one())


async def set_evidence_sanction(db: AsyncConnection, evidence_id: int, sanction_id: int) -> None:
    await db.execute(
        update(media_evidence)
        .where(media_evidence.c.id == evidence_id)
        .values(sanction_id=sanction_id)
    )


# -- quarantine ----------------------------------------------------------------------------


class Quarantine(Protocol):
    """Where the original bytes of a blocked upload are kept. Never served."""

    async def keep(self, data: bytes, metadata: dict[str, Any]) -> str:
        """Store the bytes (and a metadata sidecar); return where they are."""
        ...


class LocalQuarantine:
    """``root/<random>.bin`` (mode 0600) beside ``root/<random>.json``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _write(self, name: str, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o600)
            os.replace(tmp, self.root / name)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    async def keep(self, data: bytes, metadata: dict[str, Any]) -> str:
        name = secrets.token_hex(16)
        sidecar = json.dumps(metadata, ensure_ascii=False, sort_keys=True).encode()
        await asyncio.to_thread(self._write, f"{name}.bin", data)
        await asyncio.to_thread(self._write, f"{name}.json", sidecar)
        return str(self.root / f"{name}.bin")


class S3Quarantine:
    """Objects under a prefix of the media bucket that no route serves."""

    def __init__(self, storage: S3Storage, prefix: str) -> None:
        self.storage = storage
        self.prefix = prefix

    async def keep(self, data: bytes, metadata: dict[str, Any]) -> str:
        name = self.prefix + secrets.token_hex(16)
        sidecar = json.dumps(metadata, ensure_ascii=False, sort_keys=True).encode()
        client, bucket = self.storage.client, self.storage.bucket
        await asyncio.to_thread(
            client.put_object,
            Bucket=bucket,
            Key=f"{name}.bin",
            Body=data,
            ContentType="application/octet-stream",
        )
        await asyncio.to_thread(
            client.put_object,
            Bucket=bucket,
            Key=f"{name}.json",
            Body=sidecar,
            ContentType="application/json",
        )
        return f"s3://{bucket}/{name}.bin"


# -- what a node holds ---------------------------------------------------------------------


@dataclass
class MediaBackends:
    storage: MediaStorage
    quarantine: Quarantine
    index: HashIndex
    limits: Limits
    uploads: asyncio.Semaphore


def limits_of(settings: Settings) -> Limits:
    return Limits(
        max_image_bytes=settings.media_max_image_bytes, max_av_bytes=settings.media_max_av_bytes
    )


def open_backends(settings: Settings) -> MediaBackends:
    """Storage (local or S3), quarantine and hash lists of a node (blocking: disk, boto3)."""
    data_dir = Path(settings.data_dir)
    storage: MediaStorage
    quarantine: Quarantine
    if settings.media_storage == "s3":
        s3 = S3Storage(
            settings.media_s3_bucket,
            endpoint_url=settings.media_s3_endpoint_url or None,
            region=settings.media_s3_region or None,
            access_key=settings.media_s3_access_key or None,
            secret_key=settings.media_s3_secret_key or None,
            prefix=settings.media_s3_prefix,
        )
        storage, quarantine = s3, S3Quarantine(s3, settings.media_s3_quarantine_prefix)
    else:
        storage = LocalStorage(data_dir / MEDIA_FOLDER)
        quarantine = LocalQuarantine(data_dir / QUARANTINE_FOLDER)
    index = HashListStore(hashlist_folder(data_dir)).load()
    return MediaBackends(
        storage=storage,
        quarantine=quarantine,
        index=index,
        limits=limits_of(settings),
        uploads=asyncio.Semaphore(settings.media_concurrent_uploads),
    )
