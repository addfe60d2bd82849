"""Real ``cocon serve`` processes for the tests (a free port, a fresh data folder).

With ``COCON_TEST_DATABASE_URL`` set to a PostgreSQL URL (e.g.
``postgresql://postgres@127.0.0.1:5432/test``), each server gets a database of its own,
created from that URL's server (``cocon_t_<random>``), migrated at start and dropped by
:meth:`ServerProcess.stop`. A server given ``COCON_DATABASE_URL`` explicitly (scale-out
tests: several nodes, one database) uses that database as it is.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

TEST_DB_ENV = "COCON_TEST_DATABASE_URL"


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql", "postgres:"))


def _plain_pg_url(url: str) -> str:
    """``postgresql+asyncpg://…`` -> ``postgresql://…`` (what asyncpg itself accepts)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def with_database(url: str, name: str) -> str:
    """The same server URL, pointing at database ``name``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def run_pg_admin(url: str, *statements: str) -> None:
    """Run statements on PostgreSQL from any context (even inside a running event loop)."""
    import asyncpg

    async def go() -> None:
        conn = await asyncpg.connect(_plain_pg_url(url), timeout=10)
        try:
            for sql in statements:
                await conn.execute(sql)
        finally:
            await conn.close()

    errors: list[BaseException] = []

    def thread_main() -> None:
        try:
            asyncio.run(go())
        except BaseException as exc:  # re-raised in the caller
            errors.append(exc)

    worker = threading.Thread(target=thread_main, daemon=True)
    worker.start()
    worker.join(60)
    if errors:
        raise errors[0]


def create_database(admin_url: str, prefix: str = "cocon_t_") -> str:
    """Create an empty database next to ``admin_url``'s; returns its URL."""
    name = prefix + secrets.token_hex(6)
    run_pg_admin(admin_url, f'CREATE DATABASE "{name}"')
    return with_database(admin_url, name)


def drop_database(admin_url: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    run_pg_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    def __init__(self, data_dir: Path, env: dict[str, str] | None = None, port: int | None = None):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.env = dict(env or {})
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / f"server-{self.port}.log"
        self._log: IO[bytes] | None = None
        self.own_database: str | None = None  # created for this server, dropped by stop()

    def _database_env(self) -> dict[str, str]:
        """COCON_DATABASE_URL (+ auto-migrate) from COCON_TEST_DATABASE_URL, if any."""
        test_url = os.environ.get(TEST_DB_ENV, "")
        if not test_url or "COCON_DATABASE_URL" in self.env:
            return {}
        if not is_postgres(test_url):
            return {"COCON_DATABASE_URL": test_url}
        if self.own_database is None:  # kept across kill()/start(): same data
            self.own_database = create_database(test_url)
        return {"COCON_DATABASE_URL": self.own_database, "COCON_AUTO_MIGRATE": "true"}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("COCON_")}
        env.update(
            {
                "COCON_ENTRIES_PER_MINUTE": "100000",
                "COCON_MAX_CONNECTIONS_PER_IP": "1000",
                "COCON_RATE_BURST": "100000",
                "COCON_COMMAND_BURST": "100000",
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self._database_env())
        env.update(self.env)
        if self._log is not None:
            self._log.close()
        self._log = log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "cocon",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._close_log()
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not start: {self.log_path.read_text()[-3000:]}")

    def kill(self) -> None:
        """``kill -9``: no clean shutdown at all."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self, keep_database: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._close_log()
        if self.own_database is not None and not keep_database:
            url, self.own_database = self.own_database, None
            try:
                drop_database(os.environ[TEST_DB_ENV], url)
            except Exception as exc:  # a leftover database is not a test failure
                print(f"could not drop {url}: {exc}", file=sys.stderr)

    def rss_kib(self) -> int:
        """Resident memory of the server process (Linux), in KiB."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def health(self, timeout: float = 2.0) -> dict[str, Any]:
        import json

        with urllib.request.urlopen(self.url + "/healthz", timeout=timeout) as resp:
            data: dict[str, Any] = json.loads(resp.read())
            return data

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")
