"""Our server-side frame encoder, checked against aiohttp's own client parser."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import aiohttp

from cocon.gateway.frames import text_frame

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
SIZES = [0, 1, 125, 126, 127, 65535, 65536, 200_000]


def _payload(n: int) -> bytes:
    return (b'{"t":"' + b"\xc3\xa9" * n)[:n] if n else b""


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    key = next(
        line.split(b":", 1)[1].strip()
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key")
    )
    accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
    writer.write(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )
    # All frames in one write, as the Flusher coalesces them.
    writer.write(
        b"".join(text_frame(_payload(n).decode("utf-8", "ignore").encode()) for n in SIZES)
    )
    await writer.drain()
    await reader.read(100)  # wait for the client's close
    writer.close()


async def test_frames_parse_in_aiohttp_client() -> None:
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with (
            aiohttp.ClientSession() as s,
            s.ws_connect(f"ws://127.0.0.1:{port}/", max_msg_size=0) as ws,
        ):
            for n in SIZES:
                msg = await ws.receive(timeout=5)
                assert msg.type == aiohttp.WSMsgType.TEXT
                assert msg.data == _payload(n).decode("utf-8", "ignore")
    finally:
        server.close()
        await server.wait_closed()
