"""Storage backends: local folder and S3 (against moto's S3 server on 127.0.0.1)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cocon.media import LocalStorage, MediaNotFound, S3Storage, intake, serving_headers, store
from cocon.media.storage import check_key, new_key
from tests.media.corpus import encode, photo


def test_keys_are_random_and_checked() -> None:
    keys = {new_key("jpg") for _ in range(1000)}
    assert len(keys) == 1000
    for bad in ("../x.jpg", "a" * 43 + ".html", "a" * 43 + ".jpg\r\n", "/etc/passwd",
                "a" * 42 + ".jpg", 'a"b.jpg', "a" * 43 + ".jpg/.."):
        with pytest.raises(ValueError):
            check_key(bad)


async def test_local_round_trip(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    key = await storage.put(b"hello", extension="png", content_type="image/png")
    assert await storage.get(key) == b"hello" and await storage.exists(key)
    files = [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert [p.name for p in files] == [key]  # no temporary file left behind
    await storage.delete(key)
    assert not await storage.exists(key)
    with pytest.raises(MediaNotFound):
        await storage.get(key)
    with pytest.raises(ValueError):
        await storage.get("../../secret.key")


async def test_s3_round_trip(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    for var in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = boto3.client("s3", endpoint_url=moto_url, region_name="eu-west-3",
                          aws_access_key_id="test", aws_secret_access_key="test")
    client.create_bucket(Bucket="cocon-media",
                         CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})
    storage = S3Storage("cocon-media", endpoint_url=moto_url, region="eu-west-3",
                        access_key="test", secret_key="test")
    result = await intake(encode(photo(), "JPEG"))
    assert result.ok and result.kind and result.mime
    stored = await store(storage, result)
    assert await storage.get(stored.key) == result.data
    assert stored.preview_key and await storage.get(stored.preview_key) == result.preview
    head = client.head_object(Bucket="cocon-media", Key="media/" + stored.key)
    assert head["ContentType"] == "image/jpeg"
    assert await storage.exists(stored.key)
    await storage.delete(stored.key)
    assert not await storage.exists(stored.key)
    with pytest.raises(MediaNotFound):
        await storage.get(stored.key)
    assert os.environ.get("AWS_EC2_METADATA_DISABLED") == "true"


def test_serving_headers() -> None:
    headers = serving_headers("video", "video/webm")
    assert headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Cross-Origin-Resource-Policy"] == "same-origin"
    assert headers["Content-Disposition"] == 'inline; filename="cocon-video.webm"'
    assert headers["Content-Type"] == "video/webm"
    assert serving_headers("audio", "audio/mpeg", download=True)["Content-Disposition"] == (
        'attachment; filename="cocon-son.mp3"')
    with pytest.raises((KeyError, ValueError)):
        serving_headers("image", "text/html")
