"""The WebSocket link: aiohttp hands the connection over, wsproto frames it.

These run the real ``accept``/``take_over``/``Link`` against the installed aiohttp (the
hand-over leans on how aiohttp lets go of a connection: if an upgrade of aiohttp changes
that, these fail) and talk to it with wsproto's client side, which can send what aiohttp's
client will not (fragments, silence, a close without an answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp import web
from wsproto import WSConnection
from wsproto.connection import ConnectionType
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Message,
    Ping,
    Pong,
    Request,
    TextMessage,
)

from cocon.gateway import link as link_module
from cocon.gateway.link import HandshakeError, Link, accept, take_over

MAX = 1024


class Echo:
    """A link owner that answers each text message with ``echo:<text>``."""

    def __init__(self) -> None:
        self.links: list[Link] = []
        self.texts: list[str] = []
        self.binaries = 0
        self.lost: asyncio.Event = asyncio.Event()

    def on_text(self, link: Link, text: str) -> None:
        self.texts.append(text)
        link.transport.write(link.ws.send(TextMessage(data="echo:" + text)))

    def on_binary(self, link: Link) -> None:
        self.binaries += 1

    def on_lost(self, link: Link) -> None:
        self.lost.set()


@pytest.fixture
async def echo_server() -> AsyncIterator[tuple[str, Echo, web.AppRunner]]:
    owner = Echo()

    async def ws(request: web.Request) -> web.StreamResponse:
        try:
            answer, conn = accept(request)
        except HandshakeError as exc:
            return web.Response(status=400, text=str(exc))
        assert request.transport is not None
        link = Link(conn, request.transport, owner, MAX, "127.0.0.1", None)
        owner.links.append(link)
        take_over(request, link, answer)
        return web.Response()

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="page")

    app = web.Application()
    app.router.add_get("/ws", ws)
    app.router.add_get("/page", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}", owner, runner
    await runner.cleanup()


class RawClient:
    """A WebSocket client on a plain socket, framed by wsproto."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.ws = WSConnection(ConnectionType.CLIENT)

    @classmethod
    async def connect(cls, base: str) -> RawClient:
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        client = cls(reader, writer)
        writer.write(client.ws.send(Request(host=f"{host}:{port}", target="/ws")))
        events = await client.events()
        assert any(isinstance(e, AcceptConnection) for e in events), events
        return client

    def send(self, event: Message[str] | Ping | CloseConnection) -> None:
        self.writer.write(self.ws.send(event))

    async def events(self, timeout: float = 5.0) -> list[object]:
        data = await asyncio.wait_for(self.reader.read(65536), timeout)
        self.ws.receive_data(data or None)
        return list(self.ws.events())


@pytest.fixture
async def raw(
    echo_server: tuple[str, Echo, web.AppRunner],
) -> AsyncIterator[Callable[[], Awaitable[RawClient]]]:
    made: list[RawClient] = []

    async def connect() -> RawClient:
        made.append(await RawClient.connect(echo_server[0]))
        return made[-1]

    yield connect
    for client in made:
        client.writer.close()
        with contextlib.suppress(OSError):
            await client.writer.wait_closed()


async def test_hand_over_on_a_reused_connection_leaves_nothing_in_aiohttp(
    echo_server: tuple[str, Echo, web.AppRunner],
) -> None:
    base, owner, runner = echo_server
    async with aiohttp.ClientSession() as http:
        async with http.get(base + "/page") as resp:  # the connection the upgrade reuses
            assert await resp.text() == "page"
        ws = await http.ws_connect(base + "/ws")
        await ws.send_str("un")
        assert (await ws.receive(timeout=5)).data == "echo:un"
        await asyncio.sleep(0.1)
        gc.collect()
        assert runner.server is not None and runner.server.connections == []
        kept = [o for o in gc.get_objects() if type(o).__name__ in ("RequestHandler", "Request")]
        assert kept == []
        await ws.send_str("deux")
        assert (await ws.receive(timeout=5)).data == "echo:deux"
        await ws.close()
        await asyncio.wait_for(owner.lost.wait(), 5)
        assert ws.close_code == 1000
        async with http.get(base + "/page") as resp:  # aiohttp still serves others
            assert resp.status == 200


async def test_not_an_upgrade_is_refused_by_aiohttp(
    echo_server: tuple[str, Echo, web.AppRunner],
) -> None:
    base, _, _ = echo_server
    async with aiohttp.ClientSession() as http, http.get(base + "/ws") as resp:
        assert resp.status == 400
        assert "upgrade" in (await resp.text()).lower()


async def test_fragments_are_joined_and_pings_answered(
    echo_server: tuple[str, Echo, web.AppRunner],
    raw: Callable[[], Awaitable[RawClient]],
) -> None:
    owner = echo_server[1]
    client = await raw()
    client.send(TextMessage(data="bon", message_finished=False))
    client.send(Ping(payload=b"p"))  # a control frame between fragments
    client.send(TextMessage(data="jour", message_finished=True))
    got: list[object] = []
    while len(got) < 2:
        got += await client.events()
    assert any(isinstance(e, Pong) and e.payload == b"p" for e in got)
    assert any(isinstance(e, TextMessage) and e.data == "echo:bonjour" for e in got)
    assert owner.texts == ["bonjour"]


async def test_a_message_over_the_limit_closes_1009_even_in_fragments(
    echo_server: tuple[str, Echo, web.AppRunner],
    raw: Callable[[], Awaitable[RawClient]],
) -> None:
    owner = echo_server[1]
    client = await raw()
    for _ in range(3):  # 3 × 400 bytes > 1024, no fragment over the limit alone
        client.send(TextMessage(data="x" * 400, message_finished=False))
    events = await client.events()
    closes = [e for e in events if isinstance(e, CloseConnection)]
    assert closes and closes[0].code == 1009
    assert owner.texts == []
    client.send(closes[0].response())  # answer: the server hangs up
    await asyncio.wait_for(owner.lost.wait(), 5)


async def test_multibyte_text_is_measured_in_bytes(
    echo_server: tuple[str, Echo, web.AppRunner],
    raw: Callable[[], Awaitable[RawClient]],
) -> None:
    owner = echo_server[1]
    client = await raw()
    client.send(TextMessage(data="é" * 500))  # 500 characters, 1000 bytes: allowed
    assert any(
        isinstance(e, TextMessage) and e.data == "echo:" + "é" * 500
        for e in await client.events()
    )
    client.send(TextMessage(data="é" * 600))  # 1200 bytes: refused
    events = await client.events()
    assert [e.code for e in events if isinstance(e, CloseConnection)] == [1009]
    assert owner.texts == ["é" * 500]


async def test_peer_close_is_answered_and_the_connection_ends(
    echo_server: tuple[str, Echo, web.AppRunner],
    raw: Callable[[], Awaitable[RawClient]],
) -> None:
    owner = echo_server[1]
    client = await raw()
    client.send(CloseConnection(code=1000, reason="bye"))
    events = await client.events()
    assert [e.code for e in events if isinstance(e, CloseConnection)] == [1000]
    await asyncio.wait_for(owner.lost.wait(), 5)
    assert await client.reader.read() == b""  # the server closed TCP


async def test_a_close_left_unanswered_is_cut_after_the_deadline(
    echo_server: tuple[str, Echo, web.AppRunner],
    raw: Callable[[], Awaitable[RawClient]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(link_module, "CLOSE_WAIT_S", 0.2)
    owner = echo_server[1]
    client = await raw()
    owner.links[0].close(1001, "stopping")
    events = await client.events()
    assert [e.code for e in events if isinstance(e, CloseConnection)] == [1001]
    await asyncio.wait_for(owner.lost.wait(), 5)  # never answered: aborted


async def test_heartbeat_pings_and_cuts_a_silent_peer(
    echo_server: tuple[str, Echo, web.AppRunner],
    raw: Callable[[], Awaitable[RawClient]],
) -> None:
    owner = echo_server[1]
    client = await raw()
    link = owner.links[0]
    link.heartbeat()
    events = await client.events()
    assert any(isinstance(e, Ping) for e in events)
    client.send(Pong())  # answered: the next sweep keeps it
    await asyncio.sleep(0.1)
    link.heartbeat()
    assert not owner.lost.is_set()
    await client.events()  # the second ping, left unanswered
    link.heartbeat()
    await asyncio.wait_for(owner.lost.wait(), 5)
