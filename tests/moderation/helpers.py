"""Staff accounts made with the real CLI, staff/API sessions, and sanctions in the store."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Sequence
from typing import Any

import aiohttp
import pyotp
from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.store import moderation as mod_store
from tests.client import Client
from tests.servers import TEST_DB_ENV, ServerProcess, is_postgres


def add_staff(server: ServerProcess, role: str = "moderator") -> tuple[str, str, str]:
    """(pseudo, password, TOTP secret) of a new staff account, via ``moderator add``."""
    pseudo = f"Veille{uuid.uuid4().hex[:8]}"
    password = "mot de passe solide"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COCON_")}
    if server.env.get("COCON_DATABASE_URL"):  # a cluster sharing one database
        env["COCON_DATABASE_URL"] = server.env["COCON_DATABASE_URL"]
    elif server.own_database is not None:  # the server's own PostgreSQL database
        env["COCON_DATABASE_URL"] = server.own_database
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cocon.moderation.cli",
            "moderator",
            "add",
            pseudo,
            "--role",
            role,
            "--password-stdin",
            "--data-dir",
            str(server.data_dir),
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    uri = next(line for line in out.splitlines() if line.startswith("otpauth://"))
    secret = urllib.parse.parse_qs(urllib.parse.urlparse(uri).query)["secret"][0]
    return pseudo, password, secret


def jar_session(ip: str | None = None) -> aiohttp.ClientSession:
    """A session that keeps cookies for 127.0.0.1, optionally seen as coming from ``ip``."""
    headers = {"X-Forwarded-For": ip} if ip else None
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), headers=headers)


class StaffClient:
    def __init__(self, server: ServerProcess, role: str = "moderator") -> None:
        self.base = server.url
        self.pseudo, self.password, self.secret = add_staff(server, role)
        self.http = jar_session()
        self.id = 0

    async def login(self) -> StaffClient:
        body = {
            "pseudo": self.pseudo,
            "password": self.password,
            "totp": pyotp.TOTP(self.secret).now(),
        }
        async with self.http.post(self.base + "/staff/api/login", json=body) as resp:
            data = await resp.json()
            assert resp.status == 200, data
        self.id = data["staff"]["id"]
        return self

    async def get(self, path: str, status: int = 200) -> Any:
        async with self.http.get(self.base + "/staff/api" + path) as resp:
            data = await resp.json()
            assert resp.status == status, data
            return data

    async def post(self, path: str, body: dict[str, Any], status: int = 200) -> Any:
        async with self.http.post(self.base + "/staff/api" + path, json=body) as resp:
            data = await resp.json()
            assert resp.status == status, data
            return data

    async def close(self) -> None:
        await self.http.close()


async def connected(base: str, ip: str | None = None) -> Client:
    client = Client(base, jar_session(ip))
    await client.enter()
    await client.connect()
    return client


def database_url(server: ServerProcess) -> str:
    """The URL of the store ``server`` runs on, to read it directly in a test."""
    if server.env.get("COCON_DATABASE_URL"):
        return server.env["COCON_DATABASE_URL"]
    if server.own_database is not None:
        return server.own_database
    test_url = os.environ.get(TEST_DB_ENV, "")
    if test_url and not is_postgres(test_url):
        return test_url
    return f"sqlite+aiosqlite:///{server.data_dir.resolve() / 'cocon.db'}"


def cli_audit_verify(server: ServerProcess) -> str:
    """``cocon audit verify`` on the server's data folder and store; asserts success and
    returns what it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COCON_")}
    url = database_url(server)
    if not url.startswith("sqlite"):
        env["COCON_DATABASE_URL"] = url
    result = subprocess.run(
        [sys.executable, "-m", "cocon", "audit", "verify", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


async def add_sanction(
    engine: AsyncEngine,
    user_id: int,
    kind: str,
    starts_at: float,
    ends_at: float | None = None,
    revoked: bool = False,
    marks: Sequence[tuple[str, str, float | None]] = (),
) -> int:
    """A sanction written straight to the store (what a decision on another node leaves)."""
    async with engine.begin() as db:
        sanction_id = await mod_store.add_sanction(
            db,
            user_id=user_id,
            kind=kind,
            room_id=None,
            rule="spam",
            reason="test",
            facts="{}",
            starts_at=starts_at,
            ends_at=ends_at,
            revoked=revoked,
        )
        await mod_store.add_ban_marks(db, sanction_id, marks)
    return sanction_id
