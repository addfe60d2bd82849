"""Where sanitized media live: a local folder (default) or an S3-compatible bucket.

Keys are chosen by the server, never by the client: 32 random bytes in URL-safe base64
(256 bits, unguessable) plus the extension of the *sanitized* format, e.g.
``Xq3...Zw.jpg``. :func:`check_key` validates a key before any use, so a key taken from a
URL can never name another file (no ``/``, ``..``, NUL, CR/LF or quotes can pass).

Writes are atomic: the local backend writes a temporary file in the same folder, fsyncs
it and renames it into place; S3 ``PutObject`` is atomic by nature.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_KEY_RE: Final = re.compile(r"[A-Za-z0-9_-]{43}\.(?:jpg|png|gif|webp|mp4|webm|mp3|ogg|m4a)")


class MediaNotFound(LookupError):
    """No object under this key."""


def new_key(extension: str) -> str:
    """A fresh unguessable object name with the given (server-chosen) extension."""
    key = f"{secrets.token_urlsafe(32)}.{extension}"
    return check_key(key)


def check_key(key: str) -> str:
    """Return ``key`` if it is a well-formed storage key, else raise ``ValueError``."""
    if not _KEY_RE.fullmatch(key):
        raise ValueError("invalid media key")
    return key


class MediaStorage(Protocol):
    """What the HTTP layer needs from a storage backend (all methods are coroutines)."""

    async def put(self, data: bytes, *, extension: str, content_type: str) -> str:
        """Store ``data`` under a new random key and return the key."""
        ...

    async def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; raises :class:`MediaNotFound`."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key`` (no error if it is already gone)."""
        ...

    async def exists(self, key: str) -> bool: ...


class LocalStorage:
    """Files under ``root/<first two characters of the key>/<key>``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path_for(self, key: str) -> Path:
        check_key(key)
        return self.root / key[:2] / key

    def _write(self, key: str, data: bytes) -> None:
        target = self.path_for(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o640)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _read(self, key: str) -> bytes:
        try:
            return self.path_for(key).read_bytes()
        except FileNotFoundError as exc:
            raise MediaNotFound(key) from exc

    async def put(self, data: bytes, *, extension: str, content_type: str) -> str:
        key = new_key(extension)
        await asyncio.to_thread(self._write, key, data)
        return key

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._read, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path_for(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_for(key).is_file)


class S3Storage:
    """Objects in an S3-compatible bucket (AWS, MinIO, Garage, Scaleway...), via boto3.

    boto3 is blocking, so every call runs in a worker thread. ``prefix`` lets several
    deployments share a bucket. Objects are written private (no ACL) with the sanitized
    Content-Type; serving goes through Cocon, which adds the safe headers.
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        prefix: str = "media/",
        client: S3Client | None = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client(
                "s3",
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id=access_key,
                aws_secret_access_key=secret_key,
                config=Config(retries={"max_attempts": 3, "mode": "standard"},
                              connect_timeout=5, read_timeout=30),
            )
        self.client = client

    def _name(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _get(self, key: str) -> bytes:
        try:
            reply = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise MediaNotFound(key) from exc
        return reply["Body"].read()

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    async def put(self, data: bytes, *, extension: str, content_type: str) -> str:
        key = new_key(extension)
        await asyncio.to_thread(
            self.client.put_object, Bucket=self.bucket, Key=self._name(key), Body=data,
            ContentType=content_type,
        )
        return key

    async def get(self, key: str) -> bytes:
        return await asyncio.to_thread(self._get, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket,
                                Key=self._name(key))

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._exists, key)
