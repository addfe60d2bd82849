"""Guest entry over HTTP: validation, under-18 refusal remembered, pseudo uniqueness."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.actions.entry import HOLD_AFTER_ENTRY_S, ONLINE_HOLD_S
from cocon.store.engine import make_engine
from cocon.store.tables import pseudo_holds
from tests.client import Client, new_pseudo
from tests.moderation.helpers import database_url
from tests.servers import ServerProcess


def _session() -> aiohttp.ClientSession:
    # Cookies from an IP address host are refused by aiohttp's default jar.
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


async def _enter(
    session: aiohttp.ClientSession, url: str, **body: Any
) -> tuple[int, dict[str, Any]]:
    fields = {"pseudo": new_pseudo(), "gender": "homme", "age": 40, "postal_code": "13001"} | body
    async with session.post(url + "/api/enter", json=fields) as resp:
        return resp.status, await resp.json()


async def test_enter_keeps_only_the_departement(server: ServerProcess) -> None:
    async with _session() as s:
        status, data = await _enter(s, server.url, postal_code="20090")
        assert status == 200, data
        assert data["user"]["dep"] == "2A"
        assert "postal_code" not in data["user"]
        cookies = {c.key: c for c in s.cookie_jar}
        assert cookies["cocon_session"]["httponly"]
        assert cookies["cocon_session"]["samesite"] == "Lax"
        assert cookies["cocon_device"]["httponly"]
        async with s.get(server.url + "/api/me") as resp:
            assert resp.status == 200
            assert (await resp.json())["user"]["id"] == data["user"]["id"]


async def test_field_errors_name_the_field(server: ServerProcess) -> None:
    async with _session() as s:
        cases = [
            ({"pseudo": "ab"}, "pseudo", "pseudo_length"),
            ({"pseudo": "a b c"}, "pseudo", "pseudo_chars"),
            ({"pseudo": "4dmin"}, "pseudo", "pseudo_reserved"),
            ({"pseudo": "Modérateur"}, "pseudo", "pseudo_reserved"),
            ({"gender": "robot"}, "gender", "gender"),
            ({"age": "trente"}, "age", "age"),
            ({"age": 120}, "age", "age"),
            ({"postal_code": "7501"}, "postal_code", "postal_code"),
            ({"postal_code": "99999"}, "postal_code", "postal_code"),
        ]
        for body, field, code in cases:
            status, data = await _enter(s, server.url, **body)
            assert status == 400, (body, data)
            assert data["error"]["field"] == field, (body, data)
            assert data["error"]["code"] == code, (body, data)
            assert data["error"]["message"]


async def test_bad_json_is_a_clear_error(server: ServerProcess) -> None:
    async with _session() as s:
        async with s.post(server.url + "/api/enter", data=b"{not json") as resp:
            assert resp.status == 400
            assert (await resp.json())["error"]["code"] == "bad_json"
        async with s.post(server.url + "/api/enter", json=[1, 2]) as resp:
            assert resp.status == 400


async def test_underage_is_refused_and_remembered_for_the_device(server: ServerProcess) -> None:
    async with _session() as s:
        status, data = await _enter(s, server.url, age=15)
        assert status == 403
        assert data["error"]["code"] == "underage"
        assert "3018" in data["error"]["message"]
        # Same device, now claiming to be an adult: still refused.
        status, data = await _enter(s, server.url, age=25)
        assert status == 403 and data["error"]["code"] == "underage"
    async with _session() as other_device:
        status, _ = await _enter(other_device, server.url, age=25)
        assert status == 200


async def test_pseudo_is_unique_case_and_accent_insensitively(server: ServerProcess) -> None:
    name = new_pseudo("Zoé")
    async with _session() as a, _session() as b:
        assert (await _enter(a, server.url, pseudo=name))[0] == 200
        status, data = await _enter(b, server.url, pseudo=name.upper().replace("É", "E"))
        assert status == 409 and data["error"]["code"] == "pseudo_taken"


async def test_register_then_login_elsewhere(server: ServerProcess) -> None:
    name = new_pseudo("Reg")
    async with _session() as a:
        assert (await _enter(a, server.url, pseudo=name))[0] == 200
        async with a.post(server.url + "/api/register", json={"password": "court"}) as resp:
            assert resp.status == 400
        async with a.post(
            server.url + "/api/register", json={"password": "un mot de passe"}
        ) as resp:
            assert resp.status == 200
            assert (await resp.json())["user"]["registered"] is True
    async with _session() as b:
        status, _data = await _enter(b, server.url, pseudo=name)
        assert status == 409
        body = {"pseudo": name, "password": "mauvais mot"}
        async with b.post(server.url + "/api/login", json=body) as resp:
            assert resp.status == 403
        body["password"] = "un mot de passe"
        async with b.post(server.url + "/api/login", json=body) as resp:
            assert resp.status == 200
            assert (await resp.json())["user"]["pseudo"] == name


async def test_health_and_entry_page(server: ServerProcess) -> None:
    async with _session() as s:
        async with s.get(server.url + "/healthz") as resp:
            assert resp.status == 200
            assert (await resp.json())["status"] == "ok"
        async with s.get(server.url + "/") as resp:
            assert resp.status == 200
            csp = resp.headers["Content-Security-Policy"]
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert resp.headers["X-Content-Type-Options"] == "nosniff"


async def _hold_until(engine: AsyncEngine, user_id: int) -> float:
    async with engine.connect() as db:
        row = (
            await db.execute(select(pseudo_holds.c.until).where(pseudo_holds.c.user_id == user_id))
        ).one()
    return float(row.until)


async def test_a_guest_holds_the_pseudo_while_online_and_a_while_after(
    make_server: Callable[..., ServerProcess],
) -> None:
    """Every hello holds a guest's pseudo for a day; the last connection to leave shortens
    that to HOLD_AFTER_ENTRY_S; once the hold has run out, the pseudo is someone else's and
    the old guest's sessions end with it. A member's pseudo is never free."""
    node = make_server()
    engine = make_engine(database_url(node))
    name, member = new_pseudo("Tenu"), new_pseudo("Membre")
    first, other = Client(node.url), Client(node.url)
    try:
        await first.enter(name)
        t = time.time()
        assert t < await _hold_until(engine, first.id) <= t + HOLD_AFTER_ENTRY_S + 5
        await first.connect()
        assert await _hold_until(engine, first.id) >= t + ONLINE_HOLD_S - 5
        async with _session() as jar:
            status, data = await _enter(jar, node.url, pseudo=name)
        assert status == 409 and data["error"]["message"] == "Ce pseudo est déjà pris."

        assert first.ws is not None
        await first.ws.close()
        for _ in range(100):  # the teardown runs after the close
            if await _hold_until(engine, first.id) <= time.time() + HOLD_AFTER_ENTRY_S + 5:
                break
            await asyncio.sleep(0.05)
        assert await _hold_until(engine, first.id) <= time.time() + HOLD_AFTER_ENTRY_S + 5

        async with engine.begin() as db:  # fifteen minutes later
            await db.execute(
                update(pseudo_holds).where(pseudo_holds.c.user_id == first.id).values(until=t - 1)
            )
        taken = await other.enter(name.upper())
        assert taken["user"]["id"] != first.id
        assert await _hold_until(engine, other.id) > time.time()
        async with first.http.ws_connect(node.ws_url) as ws:  # its old guest's session ended
            await ws.send_json({"type": "hello", "token": first.token, "streams": {}})
            refused = await ws.receive_json(timeout=10)
        assert refused["type"] == "error" and refused["code"] == "unauthorized"

        async with _session() as reg:
            assert (await _enter(reg, node.url, pseudo=member))[0] == 200
            password = {"password": "un mot de passe"}
            async with reg.post(node.url + "/api/register", json=password) as resp:
                assert resp.status == 200
            async with engine.begin() as db:  # even a member's expired hold is not free
                await db.execute(update(pseudo_holds).values(until=t - 1))
        async with _session() as late:
            status, data = await _enter(late, node.url, pseudo=member)
        assert status == 409 and data["error"]["message"] == "Ce pseudo est réservé par un membre."
    finally:
        await first.close()
        await other.close()
        await engine.dispose()


async def test_a_guest_back_from_the_same_device_keeps_friends_and_blocks(
    clients: Callable[..., Client],
) -> None:
    """Re-entering under a new pseudo from the same device (same cookies) carries the
    friendships and the blocks over, both ways: a block follows the person."""
    back, friend, pest, wary = clients(), clients(), clients(), clients()
    for c in (back, friend, pest, wary):
        await c.enter()
        await c.connect()
    await friend.request("friend_request", user=back.id)
    await back.request("friend_answer", user=friend.id, accept=True)
    await back.request("block", user=pest.id)
    await wary.request("block", user=back.id)
    old = back.id
    assert back.ws is not None
    await back.ws.close()

    await back.enter()  # the same HTTP session: the same device cookie
    assert back.id != old
    welcome = await back.connect()
    assert welcome["blocked"] == [pest.id]
    friends = (await back.request("friends"))["friends"]
    assert [(f["user"]["id"], f["state"]) for f in friends] == [(friend.id, "friends")]
    mine = (await friend.request("friends"))["friends"]
    assert [f["user"]["id"] for f in mine] == [back.id]  # the old pseudo's friendship moved
    assert wary.ws is not None
    await wary.ws.close()
    assert (await wary.connect())["blocked"] == [old, back.id]
