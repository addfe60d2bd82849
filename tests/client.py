"""A small protocol client for the tests, written from docs/protocol.md."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import uuid
from typing import Any

import aiohttp

_pseudo_counter = itertools.count(1)


def new_pseudo(prefix: str = "Test") -> str:
    # Digits only after the prefix: random letters can spell a reserved word ("b07" = "bot").
    return f"{prefix}{next(_pseudo_counter)}_{uuid.uuid4().int % 100_000:05d}"[:20]


class Client:
    """One guest: enters over HTTP, then talks over a WebSocket and tracks positions."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession | None = None) -> None:
        self.base = base_url
        # unsafe=True: keep cookies set by an IP-address host (127.0.0.1), like a browser.
        self.http = session or aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.token: str | None = None
        self.user: dict[str, Any] = {}
        self.ws: aiohttp.ClientWebSocketResponse | None = None
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.positions: dict[str, tuple[int, int]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.welcome: dict[str, Any] = {}
        self._reader: asyncio.Task[None] | None = None
        self._refs = itertools.count(1)
        self.gaps: list[tuple[str, int, int]] = []
        self.resumed: dict[str, dict[str, Any]] = {}
        self.notices: list[dict[str, Any]] = []  # every inbox notice, even those skipped

    @property
    def id(self) -> int:
        return int(self.user["id"])

    async def enter(self, pseudo: str | None = None, **fields: Any) -> dict[str, Any]:
        body = {
            "pseudo": pseudo or new_pseudo(),
            "gender": "femme",
            "age": 30,
            "postal_code": "75011",
        } | fields
        async with self.http.post(self.base + "/api/enter", json=body) as resp:
            data: dict[str, Any] = await resp.json()
            if resp.status != 200:
                raise AssertionError(f"enter failed {resp.status}: {data}")
        self.token = data["token"]
        self.user = data["user"]
        return data

    async def connect(self, resume: bool = True) -> dict[str, Any]:
        ws_url = self.base.replace("http", "ws", 1) + "/ws"
        self.ws = await self.http.ws_connect(ws_url, autoping=True)
        self.events = asyncio.Queue()
        streams = {k: list(v) for k, v in self.positions.items()} if resume else {}
        await self.ws.send_str(
            json.dumps({"type": "hello", "token": self.token, "streams": streams})
        )
        self._reader = asyncio.create_task(self._read())
        self.welcome = await self.wait("welcome")
        return self.welcome

    async def _read(self) -> None:
        assert self.ws is not None
        async for msg in self.ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                continue
            event = json.loads(msg.data)
            self._track(event)
            await self.events.put(event)

    def _track(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "joined":
            self.positions[event["stream"]] = (event["epoch"], event["last_seq"])
            self.messages.setdefault(event["stream"], [])
            for m in event["history"]:
                self._apply(m)
        elif kind in ("msg", "notice", "hidden"):
            self._apply(event)
        elif kind == "resumed":
            self.resumed[event["stream"]] = event
            if event["recovered"]:
                self.positions[event["stream"]] = (event["epoch"], event["last_seq"])
            else:
                self.positions.pop(event["stream"], None)
        elif kind == "conversation":
            conv = event["conversation"]
            if conv["stream"] not in self.positions:
                self.positions[conv["stream"]] = (conv["epoch"], 0)
        elif kind == "welcome":
            self.positions.setdefault(event["inbox"], (event["inbox_epoch"], 0))

    def _apply(self, m: dict[str, Any]) -> None:
        stream = m["stream"]
        epoch, last = self.positions.get(stream, (0, 0))
        if m["seq"] <= last:
            return
        if m["seq"] != last + 1 and stream in self.positions:
            self.gaps.append((stream, last, m["seq"]))
        self.positions[stream] = (epoch, m["seq"])
        if m.get("type") == "msg":
            self.messages.setdefault(stream, []).append(m)
        elif m.get("type") == "notice":
            self.notices.append(m)

    async def send_raw(self, text: str) -> None:
        assert self.ws is not None
        await self.ws.send_str(text)

    async def send(self, payload: dict[str, Any]) -> None:
        assert self.ws is not None
        await self.ws.send_str(json.dumps(payload))

    async def wait(self, event_type: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        """Next event of that type (and fields), skipping others."""

        async def find() -> dict[str, Any]:
            while True:
                event = await self.events.get()
                if event.get("type") == event_type and all(
                    event.get(k) == v for k, v in match.items()
                ):
                    return event

        return await asyncio.wait_for(find(), timeout)

    async def request(self, kind: str, timeout: float = 10.0, **fields: Any) -> dict[str, Any]:
        """Send a command with a ref and return its reply (or its error)."""
        ref = f"r{next(self._refs)}"
        await self.send({"type": kind, "ref": ref, **fields})

        async def find() -> dict[str, Any]:
            while True:
                event = await self.events.get()
                if event.get("ref") == ref:
                    return event

        return await asyncio.wait_for(find(), timeout)

    async def join(self, room: int, **fields: Any) -> dict[str, Any]:
        reply = await self.request("join", room=room, **fields)
        assert reply["type"] == "joined", reply
        return reply

    async def say(self, stream: str, text: str, cid: str | None = None) -> dict[str, Any]:
        reply = await self.request("send", stream=stream, cid=cid or uuid.uuid4().hex, text=text)
        return reply

    async def drop(self) -> None:
        """Cut the connection abruptly (no close handshake)."""
        if self.ws is not None:
            self.ws._response.connection.transport.abort()  # type: ignore[union-attr]
            if self._reader:
                with contextlib.suppress(asyncio.TimeoutError, Exception):
                    await asyncio.wait_for(self._reader, 5)
            self.ws = None

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader:
            self._reader.cancel()
        await self.http.close()
