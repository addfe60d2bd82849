"""Media over HTTP and the protocol: upload, attach to a message, serve, refuse, block."""

from __future__ import annotations

import asyncio
import io
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import piexif  # type: ignore[import-untyped]
from PIL import Image, ImageDraw

from cocon.media.metadata import find_metadata
from cocon.media.pdq import pdq_hash
from tests.client import Client
from tests.moderation.helpers import StaffClient
from tests.servers import TEST_DB_ENV, ServerProcess

SECRET = "CoconSecret"


def picture(seed: int = 7, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A busy picture (random shapes), so that PDQ has something to hold on to."""
    rnd = random.Random(seed)
    im = Image.new("RGB", size, (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    draw = ImageDraw.Draw(im)
    for _ in range(40):
        x, y = rnd.randrange(size[0]), rnd.randrange(size[1])
        w, h = rnd.randrange(20, 200), rnd.randrange(20, 200)
        colour = (rnd.randrange(256), rnd.randrange(256), rnd.randrange(256))
        (draw.ellipse if rnd.random() < 0.5 else draw.rectangle)((x, y, x + w, y + h), colour)
    return im


def jpeg(im: Image.Image, **params: Any) -> bytes:
    out = io.BytesIO()
    im.save(out, "JPEG", **params)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    exif = piexif.dump(
        {
            "0th": {piexif.ImageIFD.Make: SECRET.encode()},
            "Exif": {},
            "GPS": {
                piexif.GPSIFD.GPSLatitudeRef: b"N",
                piexif.GPSIFD.GPSLatitude: ((48, 1), (51, 1), (2400, 100)),
                piexif.GPSIFD.GPSLongitudeRef: b"E",
                piexif.GPSIFD.GPSLongitude: ((2, 1), (17, 1), (4000, 100)),
            },
            "1st": {},
            "thumbnail": None,
        }
    )
    data = jpeg(picture(), exif=exif)
    assert b"GPS" in data or SECRET.encode() in data
    return data


async def upload(
    client: Client, body: bytes, *, bearer: bool = False, multipart: str | None = None
) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {client.token}"} if bearer else {}
    data: Any = body
    if multipart is not None:
        form = aiohttp.FormData()
        form.add_field("file", body, filename=multipart, content_type="image/png")
        data = form
    http = aiohttp.ClientSession() if bearer else client.http
    try:
        async with http.post(client.base + "/api/media", data=data, headers=headers) as resp:
            return resp.status, await resp.json()
    finally:
        if bearer:
            await http.close()


async def fetch(client: Client, url: str) -> tuple[int, bytes, Any]:
    async with client.http.get(client.base + url) as resp:
        return resp.status, await resp.read(), resp.headers


async def send_media(client: Client, stream: str, media: int, text: str = "") -> dict[str, Any]:
    return await client.request("send", stream=stream, cid=uuid.uuid4().hex, text=text, media=media)


def stored(server: ServerProcess, url: str) -> bytes:
    key = url.rsplit("/", 1)[1]
    return (server.data_dir / "media" / key[:2] / key).read_bytes()


async def test_photo_is_cleaned_shared_in_a_private_room_and_served_to_members_only(
    server: ServerProcess, clients: Callable[..., Client]
) -> None:
    alice, bob, eve = clients(), clients(), clients()
    for c in (alice, bob, eve):
        await c.enter()
        await c.connect()
    created = await alice.request("create_room", name=f"Photos {uuid.uuid4().hex[:6]}")
    room = created["room"]["id"]
    stream = f"room:{room}"
    assert (await alice.request("invite", room=room, user=bob.id))["type"] == "ok"
    await bob.join(room)

    status, body = await upload(alice, jpeg_with_gps(), bearer=True)  # Authorization: Bearer
    assert status == 200, body
    media = body["media"]
    assert media["kind"] == "image" and media["mime"] == "image/jpeg"
    assert (media["width"], media["height"]) == (640, 480) and media["duration"] is None
    clean = stored(server, media["url"])
    assert find_metadata(clean) == [] and SECRET.encode() not in clean
    assert "GPS" not in piexif.load(clean) or not piexif.load(clean)["GPS"]

    # Not visible to anyone but the uploader before it is sent.
    assert (await fetch(alice, media["url"]))[0] == 200
    assert (await fetch(bob, media["url"]))[0] == 404
    # Someone else's upload cannot be attached.
    reply = await send_media(bob, stream, media["id"])
    assert reply["type"] == "error" and reply["code"] == "not_found", reply

    ack = await send_media(alice, stream, media["id"])
    assert ack["type"] == "ack", ack
    msg = await bob.wait("msg", stream=stream, seq=ack["seq"])
    info = msg["media"]
    assert msg["text"] == ""
    assert {k: info[k] for k in ("id", "kind", "mime", "width", "height", "duration")} == {
        k: media[k] for k in ("id", "kind", "mime", "width", "height", "duration")
    }
    assert info["url"] == media["url"] and info["url"].startswith("/media/")
    assert info["preview_url"].startswith("/media/") and info["preview_url"] != info["url"]

    status, data, headers = await fetch(bob, info["url"])
    assert status == 200 and data == clean
    assert headers["Content-Type"] == "image/jpeg"
    assert "sandbox" in headers["Content-Security-Policy"]
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"] == 'inline; filename="cocon-image.jpg"'
    ranged = {"Range": "bytes=0-9"}  # what a browser's <video> asks for
    async with bob.http.get(bob.base + info["url"], headers=ranged) as resp:
        assert resp.status == 206 and await resp.read() == clean[:10]
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
    status, data, headers = await fetch(bob, info["preview_url"])
    assert status == 200 and data.startswith(b"\xff\xd8")
    assert headers["Content-Type"] == "image/jpeg"

    # A non-member of the private room, a stranger without session, a made-up key: 404.
    assert (await fetch(eve, info["url"]))[0] == 404
    assert (await fetch(eve, info["preview_url"]))[0] == 404
    async with (
        aiohttp.ClientSession() as anonymous,
        anonymous.get(server.url + info["url"]) as resp,
    ):
        assert resp.status == 404
    assert (await fetch(bob, "/media/" + "A" * 43 + ".jpg"))[0] == 404
    assert (await fetch(bob, "/media/..%2Fcocon.db"))[0] == 404

    # Attached once only.
    reply = await send_media(alice, stream, media["id"])
    assert reply["type"] == "error" and reply["code"] == "not_found", reply

    # History carries the same media.
    page = await bob.request("history", stream=stream)
    assert page["messages"][-1]["media"] == info


async def test_public_room_media_reaches_any_signed_in_user_and_dm_only_its_pair(
    server: ServerProcess, clients: Callable[..., Client]
) -> None:
    alice, bob, carol = clients(), clients(), clients()
    for c in (alice, bob, carol):
        await c.enter()
        await c.connect()
    await alice.join(1)
    status, body = await upload(alice, jpeg(picture(11)), multipart="photo.jpg")
    assert status == 200, body
    ack = await send_media(alice, "room:1", body["media"]["id"], text="Regardez !")
    assert ack["type"] == "ack", ack
    assert (await fetch(carol, body["media"]["url"]))[0] == 200  # public room: signed in

    conv = (await alice.request("open_pm", user=bob.id))["conversation"]
    status, body = await upload(alice, jpeg(picture(12)))
    assert status == 200, body
    ack = await send_media(alice, conv["stream"], body["media"]["id"])
    assert ack["type"] == "ack", ack
    url = body["media"]["url"]
    assert (await fetch(bob, url))[0] == 404  # a pending request: not before accepting
    accepted = await bob.request("answer_pm", conversation=conv["id"], accept=True)
    assert accepted["type"] == "conversation", accepted
    assert (await fetch(bob, url))[0] == 200
    assert (await fetch(carol, url))[0] == 404


async def test_html_named_png_is_refused_and_too_big_is_refused_unread(
    server: ServerProcess, clients: Callable[..., Client]
) -> None:
    alice = clients()
    await alice.enter()
    html = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"
    status, body = await upload(alice, html, multipart="innocent.png")
    assert status == 415, body
    assert body["error"]["code"] == "media_unsupported_type" and body["error"]["message"]

    # A declared 1 GB body: refused on the headers, before any byte of it is read.
    assert alice.token is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    started = time.monotonic()
    writer.write(
        (
            "POST /api/media HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {alice.token}\r\n"
            "Content-Type: image/jpeg\r\nContent-Length: 1000000000\r\n\r\n"
        ).encode()
        + b"\xff\xd8\xff" * 1000
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 5)
    assert status_line.split()[1] == b"413", status_line
    assert time.monotonic() - started < 2
    writer.close()


async def test_streamed_body_over_the_limit_and_upload_rate(
    make_server: Callable[..., ServerProcess],
) -> None:
    server = make_server(
        COCON_MEDIA_MAX_IMAGE_BYTES="200000",
        COCON_MEDIA_MAX_AV_BYTES="200000",
        COCON_MEDIA_UPLOAD_BURST="3",
        COCON_MEDIA_UPLOADS_PER_MINUTE="0.01",
    )
    alice = Client(server.url)
    try:
        await alice.enter()
        assert (await upload(alice, jpeg(picture(3))))[0] == 200

        async def chunks() -> Any:
            for _ in range(50):  # 50 x 10 KB, chunked: no Content-Length to refuse early
                yield b"\xff" * 10_000

        async with alice.http.post(server.url + "/api/media", data=chunks()) as resp:
            assert resp.status == 413
            assert (await resp.json())["error"]["code"] == "media_too_big"
        assert (await upload(alice, jpeg(picture(4))))[0] == 200
        status, body = await upload(alice, jpeg(picture(5)))
        assert status == 429 and body["error"]["code"] == "rate_limited", body
    finally:
        await alice.close()


def _cli(*args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COCON_")}
    if os.environ.get(TEST_DB_ENV):
        env["COCON_DATABASE_URL"] = os.environ[TEST_DB_ENV]
    done = subprocess.run(
        [sys.executable, "-m", "cocon", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


async def test_listed_image_is_blocked_kept_as_evidence_and_the_uploader_suspended(
    make_server: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    data_dir = tmp_path / "listed"
    listed = picture(99)
    hex_hash, quality = pdq_hash(listed)
    assert quality >= 50
    (tmp_path / "list.txt").write_text(f"# test list\n{hex_hash}\n")
    out = _cli(
        "hashlist",
        "import",
        str(tmp_path / "list.txt"),
        "--name",
        "test-list",
        "--data-dir",
        str(data_dir),
    )
    assert "1 hash" in out
    server = make_server(data_dir=data_dir)

    uploader = Client(server.url)
    mod = await StaffClient(server).login()
    try:
        await uploader.enter()
        await uploader.connect()
        await uploader.join(1)
        # A re-encoded, slightly resized copy still matches.
        copy = jpeg(listed.resize((600, 450)), quality=60)
        status, body = await upload(uploader, copy)
        assert status == 400 and body["error"]["code"] == "media_blocked", body
        notice = await uploader.wait("notice", kind="sanction")
        assert notice["data"]["what"] == "ban" and notice["data"]["automated"] is True
        await asyncio.wait_for(uploader._reader, 10)  # type: ignore[arg-type]  # hung up

        # Shown to nobody: nothing in the media folder; the original sits in quarantine.
        media_dir = data_dir / "media"
        assert not media_dir.exists() or not any(p.is_file() for p in media_dir.rglob("*"))
        kept = sorted((data_dir / "media-quarantine").glob("*.bin"))
        assert len(kept) == 1 and kept[0].read_bytes() == copy
        sidecar = json.loads(kept[0].with_suffix(".json").read_text())
        assert sidecar["list"] == "test-list" and sidecar["user"] == uploader.id
        assert sidecar["sha256"] and sidecar["distance"] <= 31

        # Suspended: no more uploads.
        status, body = await upload(uploader, jpeg(picture(1)))
        assert status == 403 and body["error"]["code"] == "banned", body

        # A top-priority case for the moderators, with the automated ban in it.
        queue = (await mod.get("/queue"))["cases"]
        case = next(c for c in queue if c["target"] == f"user:{uploader.id}")
        assert case["priority"] == 1  # illegal_image, just after minor_in_danger
        detail = await mod.get(f"/cases/{case['id']}")
        assert detail["reports"][0]["category"] == "illegal_image"
        bans = [s for s in detail["sanctions"] if s["kind"] == "ban"]
        assert len(bans) == 1 and bans[0]["staff_id"] is None and bans[0]["ends_at"] is None
    finally:
        await uploader.close()
        await mod.close()


async def test_s3_storage_end_to_end(
    make_server: Callable[..., ServerProcess], moto_url: str
) -> None:
    import boto3

    s3 = boto3.client(
        "s3",
        endpoint_url=moto_url,
        region_name="eu-west-3",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    s3.create_bucket(
        Bucket="cocon-test", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"}
    )
    server = make_server(
        COCON_MEDIA_STORAGE="s3",
        COCON_MEDIA_S3_BUCKET="cocon-test",
        COCON_MEDIA_S3_ENDPOINT_URL=moto_url,
        COCON_MEDIA_S3_REGION="eu-west-3",
        COCON_MEDIA_S3_ACCESS_KEY="test",
        COCON_MEDIA_S3_SECRET_KEY="test",
        AWS_EC2_METADATA_DISABLED="true",
    )
    alice, bob = Client(server.url), Client(server.url)
    try:
        for c in (alice, bob):
            await c.enter()
            await c.connect()
        await alice.join(1)
        status, body = await upload(alice, jpeg_with_gps())
        assert status == 200, body
        key = body["media"]["url"].rsplit("/", 1)[1]
        in_bucket = s3.get_object(Bucket="cocon-test", Key="media/" + key)["Body"].read()
        assert find_metadata(in_bucket) == [] and SECRET.encode() not in in_bucket
        ack = await send_media(alice, "room:1", body["media"]["id"])
        assert ack["type"] == "ack", ack
        status, data, headers = await fetch(bob, body["media"]["url"])
        assert status == 200 and data == in_bucket
        assert headers["Content-Disposition"] == 'inline; filename="cocon-image.jpg"'
    finally:
        await alice.close()
        await bob.close()
