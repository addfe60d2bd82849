"""PostgreSQL and Redis for the scale-out runs (s6, s3 --nodes): a database and a key prefix
of its own.

Each such side gets a fresh database ``cocon_bench_<random>`` on the PostgreSQL server of
``BENCH_DATABASE_URL`` (default ``postgresql://postgres@127.0.0.1:5432/test``, used only to
create and drop it), migrated once with ``cocon migrate`` before any node starts, and a Redis
key/channel prefix ``cocon_bench_<random>`` on ``BENCH_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``). On exit the database is dropped (``WITH (FORCE)``) and the keys
under that prefix are deleted (``SCAN MATCH`` + ``DEL``; never ``FLUSHALL``). Both URLs must
point at a loopback address.

It also reads the CPU of the whole PostgreSQL server (from /proc: its postmaster, the parent
of this bench's own backend, with every process it started, the ended ones included) and
Redis's own CPU counters (``INFO cpu``: the whole Redis server); other users of the same
servers would be counted too.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bench.procstat import parent_of, server_cpu_seconds
from bench.servers import REPO_ROOT, ServerError, child_env, die_with_parent

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class BackingError(RuntimeError):
    """PostgreSQL or Redis is missing or not on loopback."""


def _loopback(url: str, what: str) -> str:
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK:
        raise BackingError(f"{what} must be on loopback (127.0.0.1), not {host!r}: {url}")
    return url


def _plain_pg(url: str) -> str:
    """``postgresql+asyncpg://`` -> ``postgresql://`` (what asyncpg accepts)."""
    scheme, rest = url.split("://", 1)
    return "postgresql://" + rest if scheme.startswith("postgres") else url


def _with_database(url: str, name: str) -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))


def _with_prefix(url: str, prefix: str) -> str:
    p = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(p.query) if k != "prefix"] + [("prefix", prefix)]
    return urlunsplit((p.scheme, p.netloc, p.path, urlencode(query), p.fragment))


def _asyncpg() -> Any:
    """asyncpg (Cocon's PostgreSQL driver; it ships no type information)."""
    return importlib.import_module("asyncpg")


class Backing:
    """One fresh PostgreSQL database and one Redis prefix, for the nodes of one s6 side."""

    def __init__(self) -> None:
        self.admin_url = _loopback(
            os.environ.get("BENCH_DATABASE_URL") or DEFAULT_DATABASE_URL, "BENCH_DATABASE_URL"
        )
        self.redis_base = _loopback(
            os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL, "BENCH_REDIS_URL"
        )
        token = secrets.token_hex(6)
        self.name = f"cocon_bench_{token}"
        self.database_url = _with_database(self.admin_url, self.name)
        self.prefix = f"cocon_bench_{token}"
        self.redis_url = _with_prefix(self.redis_base, self.prefix)
        self.secret_key = secrets.token_hex(32)
        self.created = False
        self._redis: Any = None
        self._pg: Any = None
        self._postmaster: int | None = None

    def node_env(self, index: int) -> dict[str, str]:
        """The settings of node ``index`` (1-based): shared store, bus and key; own id."""
        return {
            "COCON_DATABASE_URL": self.database_url,
            "COCON_REDIS_URL": self.redis_url,
            "COCON_SECRET_KEY": self.secret_key,
            "COCON_NODE_ID": f"{self.prefix}-n{index}",
            "COCON_AUTO_MIGRATE": "false",
        }

    async def __aenter__(self) -> Backing:
        try:
            await self.create()
            await self.migrate()
        except BaseException:
            await self.cleanup()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.cleanup()

    async def create(self) -> None:
        try:
            asyncpg = _asyncpg()
            import redis.asyncio as aioredis
        except ImportError as exc:
            raise BackingError(f"s6 needs asyncpg and redis (pip install): {exc}") from exc
        try:
            admin = await asyncpg.connect(_plain_pg(self.admin_url), timeout=10)
        except (OSError, asyncpg.PostgresError) as exc:
            raise BackingError(f"PostgreSQL unreachable at {self.admin_url}: {exc}") from exc
        try:
            await admin.execute(f'CREATE DATABASE "{self.name}"')
            self.created = True
        finally:
            await admin.close()
        self._pg = await asyncpg.connect(_plain_pg(self.database_url), timeout=10)
        self._redis = aioredis.Redis.from_url(self.redis_base)
        try:
            await asyncio.wait_for(self._redis.ping(), 10)
        except (OSError, TimeoutError, aioredis.RedisError) as exc:
            raise BackingError(f"Redis unreachable at {self.redis_base}: {exc}") from exc

    async def migrate(self, wait_s: float = 120.0) -> None:
        """``cocon migrate`` once, before any node starts (as docs/operations.md says)."""
        tmp = Path(tempfile.mkdtemp(prefix="cocon-bench-migrate-"))
        try:
            env = child_env({"COCON_DATABASE_URL": self.database_url})
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "cocon",
                "migrate",
                "--data-dir",
                str(tmp / "data"),
                cwd=str(REPO_ROOT),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )
            try:
                out, _ = await asyncio.wait_for(proc.communicate(), wait_s)
            except BaseException:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, 9)
                await proc.wait()
                raise
            if proc.returncode != 0:
                tail = out.decode(errors="replace")[-2000:]
                raise ServerError(f"cocon migrate failed ({proc.returncode}):\n{tail}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    async def cleanup(self) -> None:
        """Drop the database, delete this prefix's Redis keys; never raises."""
        if self._pg is not None:
            with contextlib.suppress(Exception):
                await self._pg.close(timeout=5)
            self._pg = None
        if self.created:
            try:
                asyncpg = _asyncpg()
                admin = await asyncpg.connect(_plain_pg(self.admin_url), timeout=10)
                try:
                    await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
                    self.created = False
                finally:
                    await admin.close()
            except Exception as exc:  # a leftover database must not hide the figures
                print(f"bench: could not drop database {self.name}: {exc}", file=sys.stderr)
        if self._redis is not None:
            try:
                keys = [k async for k in self._redis.scan_iter(match=f"{self.prefix}:*")]
                for i in range(0, len(keys), 500):
                    await self._redis.delete(*keys[i : i + 500])
            except Exception as exc:
                print(f"bench: could not delete Redis keys {self.prefix}:*: {exc}", file=sys.stderr)
            with contextlib.suppress(Exception):
                await self._redis.aclose()
            self._redis = None

    # -- CPU of the shared services

    async def pg_server_cpu_s(self) -> float:
        """The PostgreSQL server's user+system CPU seconds so far (the whole server: its
        postmaster, found as the parent of this bench's backend, every process it started,
        and those that ended; a pool's overflow connections come and go under load)."""
        if self._pg is None:
            return float("nan")
        if self._postmaster is None:
            backend = int(await self._pg.fetchval("SELECT pg_backend_pid()"))
            self._postmaster = parent_of(backend)
            if self._postmaster is None:
                return float("nan")
        return server_cpu_seconds(self._postmaster)

    async def redis_cpu_s(self) -> float:
        """Redis's user+system CPU seconds so far (the whole server)."""
        if self._redis is None:
            return float("nan")
        info = await self._redis.info("cpu")
        return float(info.get("used_cpu_user", 0.0)) + float(info.get("used_cpu_sys", 0.0))

    async def mark(self) -> tuple[float, float]:
        return await self.pg_server_cpu_s(), await self.redis_cpu_s()

    async def used(self, start: tuple[float, float]) -> dict[str, float]:
        """PostgreSQL's and Redis's CPU seconds since ``start`` (each the whole server)."""
        pg0, redis0 = start
        pg1, redis1 = await self.mark()
        return {"pg_cpu_s": pg1 - pg0, "redis_cpu_s": redis1 - redis0}
