"""The node's WebSocket side as a whole: liveness sweep and a clean stop."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Callable

import aiohttp
from sqlalchemy import text

from cocon.store.engine import make_engine
from tests.client import Client
from tests.moderation.helpers import database_url
from tests.servers import ServerProcess


async def _hello(ws: aiohttp.ClientWebSocketResponse, token: str) -> None:
    """Say hello and wait for the welcome; a heartbeat ping may come first."""
    await ws.send_str(json.dumps({"type": "hello", "token": token, "streams": {}}))
    msg = await ws.receive(timeout=10)
    while msg.type is aiohttp.WSMsgType.PING:
        msg = await ws.receive(timeout=10)
    assert msg.type is aiohttp.WSMsgType.TEXT, msg
    assert json.loads(msg.data)["type"] == "welcome"


async def test_a_silent_peer_is_cut_and_a_live_one_kept(
    make_server: Callable[..., ServerProcess],
) -> None:
    node = make_server(COCON_HEARTBEAT_S="0.4")
    live, silent = Client(node.url), Client(node.url)
    try:
        await live.enter()
        await live.connect()  # aiohttp answers pings
        await silent.enter()
        assert silent.token is not None
        ws = await silent.http.ws_connect(node.ws_url, autoping=False)
        await _hello(ws, silent.token)
        await asyncio.sleep(1.5)  # pings unanswered for more than two sweeps
        kinds = []
        while not ws.closed:
            kinds.append((await ws.receive(timeout=5)).type)
        assert aiohttp.WSMsgType.PING in kinds
        assert (await live.request("ping"))["type"] == "pong"
    finally:
        await live.close()
        await silent.close()


async def test_stopping_the_node_closes_connections_with_1001(
    make_server: Callable[..., ServerProcess],
) -> None:
    node = make_server()
    client = Client(node.url)
    try:
        await client.enter()
        await client.connect()
        assert client.ws is not None
        assert node.proc is not None
        node.proc.send_signal(signal.SIGTERM)
        assert client._reader is not None
        await asyncio.wait_for(client._reader, 10)
        assert client.ws.close_code == 1001
        assert await asyncio.to_thread(node.proc.wait, 10) == 0
    finally:
        await client.close()


async def test_a_flood_of_pipelined_commands_is_answered_in_order(
    clients: Callable[..., Client],
) -> None:
    """500 commands in one go: reading pauses past 64 waiting and resumes; none is lost."""
    a = clients()
    await a.enter()
    await a.connect()
    assert a.ws is not None
    for i in range(500):
        await a.ws.send_str(json.dumps({"type": "ping", "ref": f"f{i}"}))
    refs = []
    while len(refs) < 500:
        event = await asyncio.wait_for(a.events.get(), 10)
        if event["type"] == "pong":
            refs.append(event["ref"])
    assert refs == [f"f{i}" for i in range(500)]
    assert (await a.request("ping"))["type"] == "pong"


async def _rename(node: ServerProcess, old: str, new: str) -> None:
    engine = make_engine(database_url(node))
    try:
        async with engine.begin() as db:
            await db.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
    finally:
        await engine.dispose()


async def test_a_store_failure_during_hello_is_said_and_closes_1011(
    make_server: Callable[..., ServerProcess],
) -> None:
    node = make_server()
    client = Client(node.url)
    try:
        await client.enter()
        assert client.token is not None
        await _rename(node, "sessions", "sessions_away")  # the store fails the session lookup
        ws = await client.http.ws_connect(node.ws_url)
        await ws.send_str(json.dumps({"type": "hello", "token": client.token, "streams": {}}))
        error = json.loads((await ws.receive(timeout=10)).data)
        assert error["type"] == "error" and error["code"] == "internal", error
        await ws.receive(timeout=10)
        assert ws.closed and ws.close_code == 1011
        await _rename(node, "sessions_away", "sessions")
        assert (await client.connect())["type"] == "welcome"  # the node lives on
    finally:
        await client.close()
