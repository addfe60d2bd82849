"""Bad input and abuse: clear errors, closes with the right codes, nothing half-written."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import aiohttp

from tests.client import Client
from tests.servers import ServerProcess


async def _ws(
    url: str, **kw: object
) -> tuple[aiohttp.ClientSession, aiohttp.ClientWebSocketResponse]:
    session = aiohttp.ClientSession()
    ws = await session.ws_connect(url, **kw)  # type: ignore[arg-type]
    return session, ws


async def test_connection_without_hello_is_closed_after_5s(server: ServerProcess) -> None:
    session, ws = await _ws(server.ws_url)
    try:
        start = asyncio.get_running_loop().time()
        msg = await ws.receive(timeout=10)
        while msg.type == aiohttp.WSMsgType.TEXT:
            assert json.loads(msg.data)["code"] == "unauthorized"
            msg = await ws.receive(timeout=10)
        elapsed = asyncio.get_running_loop().time() - start
        assert 4.0 <= elapsed <= 8.0
        assert ws.close_code == 1008
    finally:
        await session.close()


async def test_bad_token_is_refused(server: ServerProcess) -> None:
    session, ws = await _ws(server.ws_url)
    try:
        await ws.send_str(json.dumps({"type": "hello", "token": "nope"}))
        err = json.loads((await ws.receive(timeout=5)).data)
        assert err["code"] == "unauthorized"
        await ws.receive(timeout=5)
        assert ws.close_code == 1008
    finally:
        await session.close()


async def test_foreign_origin_is_refused(server: ServerProcess) -> None:
    async with aiohttp.ClientSession() as s:
        try:
            await s.ws_connect(server.ws_url, origin="https://evil.example")
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 403
        else:
            raise AssertionError("a foreign origin was accepted")
        ws = await s.ws_connect(server.ws_url, origin=server.url)
        await ws.close()


async def test_malformed_commands_get_errors_and_the_session_lives(
    clients: Callable[..., Client],
) -> None:
    a = clients()
    await a.enter()
    await a.connect()
    await a.send_raw("{pas du json")
    assert (await a.wait("error"))["code"] == "bad_json"
    await a.send({"type": "teleport", "ref": "x"})
    err = await a.wait("error")
    assert err["code"] == "bad_request" and err["ref"] == "x"
    await a.send({"type": "join", "room": "un", "ref": "y"})
    assert (await a.wait("error"))["code"] == "bad_request"
    await a.send({"type": "send", "stream": "room:99999", "cid": "c", "text": "x", "ref": "z"})
    assert (await a.wait("error"))["code"] == "not_member"
    await a.send({"type": "send", "stream": "../etc", "cid": "c", "text": "x"})
    assert (await a.wait("error"))["code"] == "not_found"
    too_long = await a.request("send", stream="room:1", cid="c", text="x" * 501)
    assert too_long["type"] == "error"
    pong = await a.request("ping")
    assert pong["type"] == "pong"


async def test_frame_over_16k_closes_1009(clients: Callable[..., Client]) -> None:
    a = clients()
    await a.enter()
    await a.connect()
    assert a.ws is not None
    await a.send_raw("x" * (17 * 1024))
    assert a._reader is not None
    await asyncio.wait_for(a._reader, 5)
    assert a.ws.closed
    assert a.ws.close_code == 1009


async def test_invalid_utf8_closes_1007(
    server: ServerProcess, clients: Callable[..., Client]
) -> None:
    a = clients()
    await a.enter()
    await a.connect()
    assert a.ws is not None
    transport = a.ws._response.connection.transport  # type: ignore[union-attr]
    # A masked text frame whose payload is not UTF-8 (aiohttp would refuse to send one).
    payload = b"\xff\xfe\xfd"
    mask = b"\x01\x02\x03\x04"
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    transport.write(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
    assert a._reader is not None
    await asyncio.wait_for(a._reader, 5)
    assert a.ws.closed
    assert a.ws.close_code == 1007


async def test_rate_limit_says_when_to_retry(make_server: Callable[..., ServerProcess]) -> None:
    node = make_server(COCON_RATE_BURST="5", COCON_RATE_PER_S="1")
    a = Client(node.url)
    try:
        await a.enter()
        await a.connect()
        room = next(r["id"] for r in a.welcome["rooms"] if r["name"] == "Accueil")
        await a.join(room)
        replies = [await a.say(f"room:{room}", f"vite {i}") for i in range(7)]
        assert [r["type"] for r in replies[:5]] == ["ack"] * 5
        limited = replies[5]
        assert limited["code"] == "rate_limited" and 0 < limited["retry_after"] <= 1.0
        await asyncio.sleep(limited["retry_after"] + 0.05)
        assert (await a.say(f"room:{room}", "encore"))["type"] == "ack"
    finally:
        await a.close()


async def test_connections_per_ip_are_capped(make_server: Callable[..., ServerProcess]) -> None:
    node = make_server(COCON_MAX_CONNECTIONS_PER_IP="2")
    async with aiohttp.ClientSession() as s:
        first = await s.ws_connect(node.ws_url)
        second = await s.ws_connect(node.ws_url)
        try:
            await s.ws_connect(node.ws_url)
        except aiohttp.WSServerHandshakeError as exc:
            assert exc.status == 429
        else:
            raise AssertionError("third connection accepted")
        await first.close()
        await second.close()


async def test_server_survives_garbage(server: ServerProcess) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n\x00\x01garbage")
    await writer.drain()
    await reader.read(1000)
    writer.close()
    async with aiohttp.ClientSession() as s, s.get(server.url + "/healthz") as resp:
        assert resp.status == 200
