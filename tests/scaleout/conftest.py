"""Scale-out fixtures: several ``cocon serve`` nodes on one PostgreSQL database and Redis.

PostgreSQL: ``COCON_TEST_DATABASE_URL`` when it is a PostgreSQL URL, else
``COCON_SCALEOUT_DATABASE_URL``, else ``postgresql://postgres@127.0.0.1:5432/test``; each
test gets a database of its own (created there, ``cocon migrate``, dropped after).
Redis: ``COCON_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``), with a key prefix of
its own per test; tests that kill Redis run their own ``redis-server`` on a spare port.

Missing PostgreSQL or Redis: skipped with the reason, except with ``CI=true``, where the
tests fail instead (CI must never pass by skipping them).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tests.client import Client
from tests.servers import (
    ServerProcess,
    create_database,
    drop_database,
    free_port,
    is_postgres,
    run_pg_admin,
)

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
ON_CI = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")

pytestmark = pytest.mark.scaleout


def unavailable(reason: str) -> NoReturn:
    if ON_CI:
        pytest.fail(f"{reason} (CI=true: scale-out tests must run, not skip)", pytrace=False)
    pytest.skip(reason)


def pg_admin_url() -> str:
    test_url = os.environ.get("COCON_TEST_DATABASE_URL", "")
    if is_postgres(test_url):
        return test_url
    return os.environ.get("COCON_SCALEOUT_DATABASE_URL") or DEFAULT_PG


@pytest.fixture(scope="session")
def pg_admin() -> str:
    url = pg_admin_url()
    try:
        run_pg_admin(url, "SELECT 1")
    except Exception as exc:
        unavailable(f"scale-out tests need PostgreSQL: {url} unreachable ({exc})")
    return url


@pytest.fixture(scope="session")
def shared_redis() -> str:
    import redis

    url = os.environ.get("COCON_TEST_REDIS_URL") or DEFAULT_REDIS
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
        client.close()
    except Exception as exc:
        unavailable(f"scale-out tests need Redis: {url} unreachable ({exc})")
    return url


def with_prefix(redis_url: str, prefix: str) -> str:
    return f"{redis_url}{'&' if '?' in redis_url else '?'}prefix={prefix}"


class RedisServer:
    """A redis-server of the test's own, on a spare port, to kill and bring back."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("scale-out tests need redis-server (apt-get install redis-server)")
        self.binary = binary
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 - handed to the child
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        import redis

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                client = redis.Redis(port=self.port, socket_connect_timeout=0.5)
                client.ping()
                client.close()
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    yield server
    server.kill()


class Cluster:
    """One database, one Redis prefix, as many nodes as the test starts."""

    def __init__(self, admin_url: str, redis_url: str, workdir: Path) -> None:
        self.admin_url = admin_url
        self.workdir = workdir
        self.db_url = create_database(admin_url, prefix="cocon_so_")
        self.redis_url = with_prefix(redis_url, "t" + secrets.token_hex(4))
        self.secret = secrets.token_hex(16)
        self.nodes: list[ServerProcess] = []
        env = {k: v for k, v in os.environ.items() if not k.startswith("COCON_")}
        env["COCON_DATABASE_URL"] = self.db_url
        subprocess.run(
            [sys.executable, "-m", "cocon", "migrate", "--data-dir", str(workdir / "migrate")],
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )

    def node(self, name: str, **env: str) -> ServerProcess:
        proc = ServerProcess(
            self.workdir / name,
            {
                "COCON_DATABASE_URL": self.db_url,
                "COCON_REDIS_URL": self.redis_url,
                "COCON_NODE_ID": name,
                "COCON_SECRET_KEY": self.secret,
                **env,
            },
        )
        proc.start()
        self.nodes.append(proc)
        return proc

    def close(self) -> None:
        for proc in self.nodes:
            proc.stop()
        try:
            drop_database(self.admin_url, self.db_url)
        except Exception as exc:
            print(f"could not drop {self.db_url}: {exc}", file=sys.stderr)


@pytest.fixture
def make_cluster(pg_admin: str, tmp_path: Path) -> Iterator[Callable[[str], Cluster]]:
    made: list[Cluster] = []

    def make(redis_url: str) -> Cluster:
        cluster = Cluster(pg_admin, redis_url, tmp_path / f"cluster{len(made)}")
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.close()


@pytest.fixture
def cluster(make_cluster: Callable[[str], Cluster], shared_redis: str) -> Cluster:
    """A cluster on the shared Redis (nodes started by the test: ``cluster.node("a")``)."""
    return make_cluster(shared_redis)


@pytest.fixture
async def new_client() -> AsyncIterator[Callable[[ServerProcess], Client]]:
    made: list[Client] = []

    def make(node: ServerProcess) -> Client:
        client = Client(node.url)
        made.append(client)
        return client

    yield make
    for client in made:
        with contextlib.suppress(Exception):
            await client.close()
