"""The orchestrator's side of the load client: spawn it, send commands, read answers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.servers import child_env, child_setup


class LoadClientError(RuntimeError):
    pass


class LoadClient:
    """``python -m bench.loadclient`` as a child process (its own process group)."""

    def __init__(
        self,
        proto: str,
        port: int,
        concurrency: int | None = None,
        hard_timeout_s: float = 900.0,
        cpus: frozenset[int] | None = None,
    ) -> None:
        self.cpus = cpus
        self.config = {
            "proto": proto,
            "port": port,
            "concurrency": concurrency,
            "hard_timeout_s": hard_timeout_s,
        }
        self.proc: asyncio.subprocess.Process | None = None
        fd, name = tempfile.mkstemp(prefix="cocon-bench-client-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, wait_s: float = 30.0) -> dict[str, Any]:
        log = self.log_path.open("wb")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bench.loadclient",
                json.dumps(self.config),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                env=child_env(),
                start_new_session=True,
                preexec_fn=child_setup(self.cpus),
                limit=1 << 20,
            )
        finally:
            log.close()
        return await self._read(wait_s)

    async def _read(self, wait_s: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), wait_s)
        except TimeoutError as exc:
            raise LoadClientError(f"load client silent for {wait_s:.0f} s") from exc
        if not line:
            raise LoadClientError(f"load client exited:\n{self.log_tail()}")
        reply: dict[str, Any] = json.loads(line)
        if not reply.get("ok"):
            raise LoadClientError(str(reply.get("error")))
        return reply

    async def call(self, cmd: dict[str, Any], wait_s: float) -> dict[str, Any]:
        """Send one command; its answer must come within ``wait_s`` (+30 s of slack)."""
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps({**cmd, "timeout_s": wait_s}) + "\n").encode())
        await self.proc.stdin.drain()
        return await self._read(wait_s + 30.0)

    def log_tail(self, n: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    async def stop(self) -> None:
        proc = self.proc
        if proc is not None and proc.returncode is None:
            with contextlib.suppress(OSError, ConnectionError):
                assert proc.stdin is not None
                proc.stdin.write(b'{"cmd": "quit"}\n')
                await proc.stdin.drain()
            try:
                await asyncio.wait_for(proc.wait(), 15.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        with contextlib.suppress(OSError):
            self.log_path.unlink()
