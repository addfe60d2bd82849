"""Fixtures: real server processes and protocol clients."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.client import Client
from tests.servers import ServerProcess


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One shared node with the default settings (entry and connection caps lifted)."""
    proc = ServerProcess(tmp_path_factory.mktemp("server")).start()
    yield proc
    proc.stop()


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start dedicated nodes with their own settings: make_server(COCON_RATE_BURST="2")."""
    started: list[ServerProcess] = []

    def make(data_dir: Path | None = None, **env: str) -> ServerProcess:
        proc = ServerProcess(data_dir or tmp_path / f"node{len(started)}", env).start()
        started.append(proc)
        return proc

    yield make
    for proc in started:
        proc.stop()


@pytest.fixture
async def clients(server: ServerProcess) -> AsyncIterator[Callable[..., Client]]:
    made: list[Client] = []

    def make(base: str | None = None, session: aiohttp.ClientSession | None = None) -> Client:
        client = Client(base or server.url, session)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


def pytest_report_header() -> str:
    db = os.environ.get("COCON_TEST_DATABASE_URL") or "SQLite (default)"
    return f"cocon test database: {db}"
