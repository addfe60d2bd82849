"""Fixtures: real server processes, protocol clients, and a migrated store of a test's own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.store.engine import make_engine
from cocon.store.migrate import upgrade_async
from tests.client import Client
from tests.servers import ServerProcess, free_port


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One shared node with the default settings (entry and connection caps lifted)."""
    proc = ServerProcess(tmp_path_factory.mktemp("server")).start()
    yield proc
    proc.stop()


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated SQLite store of the test's own, for tests that talk to the store directly."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'store.db'}"
    await upgrade_async(url)
    engine = make_engine(url)
    yield engine
    await engine.dispose()


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


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """moto's S3 server on 127.0.0.1: a real S3-compatible store for the s3 storage backend."""
    pytest.importorskip("moto.server")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            pytest.fail("moto server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
