"""Helpers of the voice tests: what a browser does on Janus's WebSocket, without media (a
session, an AudioBridge handle, requests and the events that come back), used as an honest or
a tampered client; the tests' own view of Janus's HTTP API; guests of the chat."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from cocon.rtc.janus import Janus
from tests.calls.voice.net import JanusProc
from tests.client import Client
from tests.servers import ServerProcess

PLUGIN = "janus.plugin.audiobridge"


class JanusClient:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http: aiohttp.ClientSession | None = None
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.session = 0
        self.handle = 0
        self.events: list[dict[str, Any]] = []  # plugin data of every event, in order
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> JanusClient:
        self.http = aiohttp.ClientSession()
        self.ws = await self.http.ws_connect(self.url, protocols=["janus-protocol"])
        self._reader = asyncio.create_task(self._read())
        self.session = (await self.call({"janus": "create"}))["data"]["id"]
        self.handle = await self.attach()
        return self

    async def attach(self) -> int:
        reply = await self.call({"janus": "attach", "plugin": PLUGIN, "session_id": self.session})
        return int(reply["data"]["id"])

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            m = json.loads(msg.data)
            waiting = self._replies.get(m.get("transaction", ""))
            data = (m.get("plugindata") or {}).get("data")
            if waiting is not None and m["janus"] in ("success", "error", "event"):
                if not waiting.done():
                    waiting.set_result(m)
            elif data is not None:
                self.events.append(data)
            elif m.get("janus") == "hangup":
                self.events.append({"hangup": True})

    async def call(self, body: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """A request and its answer (for a plugin message: its event, not the ack)."""
        assert self.ws is not None
        tx = secrets.token_hex(6)
        fut = self._replies[tx] = asyncio.get_running_loop().create_future()
        await self.ws.send_str(json.dumps({**body, "transaction": tx}))
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._replies.pop(tx, None)

    async def message(self, body: dict[str, Any], handle: int | None = None) -> dict[str, Any]:
        """An AudioBridge request on our handle: the plugin's data (``error_code`` on refusal)."""
        reply = await self.call(
            {
                "janus": "message",
                "session_id": self.session,
                "handle_id": handle or self.handle,
                "body": body,
            }
        )
        if reply["janus"] == "error":
            return {"error_code": reply["error"]["code"], "error": reply["error"]["reason"]}
        return dict(reply["plugindata"]["data"])

    async def wait_event(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 10.0
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events:
                if match(e):
                    return e
            await asyncio.sleep(0.05)
        raise AssertionError(f"no such event; got {self.events}")

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
        if self.http is not None:
            await self.http.close()


def admin(janus: JanusProc) -> Janus:
    """The tests' own view of Janus's HTTP API (they know the secret)."""
    return Janus(janus.http_url, janus.secret)


async def participants(janus: JanusProc, room: int) -> dict[int, dict[str, Any]]:
    api = admin(janus)
    try:
        return {p["id"]: p for p in await api.participants(room)}
    finally:
        await api.close()


async def eventually(check: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Poll an async ``check`` until it returns something true (the server acts on Janus's
    events as they come, but asynchronously)."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: still {last!r}")


async def take_seat(client: Client, room: int) -> tuple[dict[str, Any], JanusClient]:
    """``voice_join``, then a Janus session and handle of our own that the server makes join
    (``voice_attach``), as the web client does. Returns the ``voice`` event and the client."""
    ev = await client.request("voice_join", room=room)
    assert ev["type"] == "voice", ev
    jc = await JanusClient(ev["janus"]).open()
    try:
        done = await client.request("voice_attach", room=room, session=jc.session, handle=jc.handle)
        assert done["type"] == "ok", done
        await jc.wait_event(lambda e: e.get("audiobridge") == "joined" and e.get("id") == ev["id"])
    except BaseException:
        await jc.close()
        raise
    return ev, jc


def first_room(client: Client) -> int:
    return int(min(r["id"] for r in client.welcome["rooms"] if not r["private"]))


async def guest(server: ServerProcess, closing: list[Any]) -> Client:
    """A connected guest (closed at the end of the test with ``closing``)."""
    c = Client(server.url)
    closing.append(c)
    await c.enter()
    await c.connect()
    return c


async def seated_pair(
    server: ServerProcess, closing: list[Any]
) -> tuple[Client, Client, int, dict[str, Any], dict[str, Any], JanusClient, JanusClient]:
    """A and B in the first public room's voice room: A, B, the room, their ``voice``
    events and their Janus clients (B's is a witness of what happens to A)."""
    a, b = await guest(server, closing), await guest(server, closing)
    room = first_room(a)
    for c in (a, b):
        await c.join(room)
    ev_a, jc_a = await take_seat(a, room)
    ev_b, jc_b = await take_seat(b, room)
    closing += [jc_a, jc_b]
    return a, b, room, ev_a, ev_b, jc_a, jc_b
