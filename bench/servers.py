"""Start and stop the servers under test: Cocon and the reference, ngIRCd.

Each server runs in its own temporary folder, on a free port of 127.0.0.1, in its own
process group, with its output in a log file there. ``stop()`` ends only that group.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

BENCH_COCON_ENV = {
    # Lift the abuse limits that would otherwise throttle a single-IP load client.
    # Only the settings this version of Cocon knows are passed (it refuses unknown ones).
    "COCON_MAX_CONNECTIONS_PER_IP": "100000",
    "COCON_RATE_BURST": "1000000",
    "COCON_RATE_PER_S": "1000000",
    "COCON_ENTRIES_PER_MINUTE": "100000000",
    "COCON_COMMAND_RATE_PER_S": "1000000",
    "COCON_COMMAND_BURST": "1000000",
}


def _import_cocon() -> None:
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def cocon_settings_fields() -> set[str]:
    """The setting names this Cocon accepts (empty if it cannot be imported)."""
    _import_cocon()
    try:
        from cocon.config import Settings
    except ImportError:
        return set()
    return set(Settings.__struct_fields__)


def cocon_bench_env() -> dict[str, str]:
    known = cocon_settings_fields()
    return {k: v for k, v in BENCH_COCON_ENV.items() if k[len("COCON_") :].lower() in known}


def cocon_command_budget() -> tuple[float, int] | None:
    """Per-WebSocket command budget (per second, burst) that no setting lifts, if any.

    Cocon's gateway limits every connection to a fixed number of commands; while that is not
    a setting, the bench spreads a sender's messages over several sender connections.
    """
    known = cocon_settings_fields()
    if {"command_rate_per_s", "command_burst"} <= known:
        return None  # lifted by BENCH_COCON_ENV
    try:
        from cocon.gateway import session
    except ImportError:
        return None
    per_s = getattr(session, "COMMANDS_PER_S", None)
    burst = getattr(session, "COMMAND_BURST", None)
    if per_s is None or burst is None:
        return None
    return float(per_s), int(burst)


class ServerError(RuntimeError):
    """A server could not be started (the message carries the end of its log)."""


def die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM if the bench process dies (Linux), so that a killed
    run leaves no server or load client behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def child_setup(cpus: frozenset[int] | None) -> Callable[[], None]:
    """A preexec_fn: the child dies with the bench process and, given ``cpus``, runs on
    those CPUs only (its own children inherit them)."""

    def setup() -> None:
        die_with_parent()
        if cpus:
            os.sched_setaffinity(0, cpus)

    return setup


@dataclass(frozen=True)
class Placement:
    """The CPUs of the bench's children. By default none is set: the kernel places them.
    Pinned (``--pin``): the load client on the last CPU the bench may use, the servers
    under test (their process trees) on the others."""

    servers: frozenset[int] | None = None
    client: frozenset[int] | None = None

    @classmethod
    def pinned(cls) -> Placement:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            raise ServerError(f"--pin needs two CPUs or more; this process may use {cpus}")
        return cls(servers=frozenset(cpus[:-1]), client=frozenset(cpus[-1:]))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ngircd_path() -> str | None:
    return shutil.which("ngircd") or next(
        (p for p in ("/usr/sbin/ngircd", "/usr/local/sbin/ngircd") if os.path.exists(p)), None
    )


def ngircd_version(exe: str) -> str:
    """ "ngIRCd 26.1" from ``ngircd --version``."""
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "ngircd"
    first = out.stdout.decode(errors="replace").splitlines()
    return first[0].split("-")[0].strip() if first else "ngircd"


def cocon_available() -> bool:
    return (REPO_ROOT / "cocon" / "cli.py").exists() or (
        REPO_ROOT / "cocon" / "__main__.py"
    ).exists()


def _tail(path: Path, n: int = 30) -> str:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join(lines[-n:])


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a child: this repo importable first, no inherited ``COCON_*``
    setting (runs are reproducible), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COCON_")}
    paths = [str(REPO_ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.update(extra or {})
    return env


class Server:
    """A server process in its own temp folder and process group."""

    kind = "server"

    def __init__(self) -> None:
        self.port = free_port()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"cocon-bench-{self.kind}-"))
        self.log_path = self.tmp / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.label = self.kind
        self.cpus: frozenset[int] | None = None  # set before start() to pin the process tree

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _spawn(self, argv: list[str], env: dict[str, str]) -> None:
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.tmp,
                env=env,
                start_new_session=True,
                preexec_fn=child_setup(self.cpus),
            )

    async def _wait_ready(self, wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise ServerError(
                    f"{self.kind} exited with code {self.proc.returncode}:\n{_tail(self.log_path)}"
                )
            if await self._probe():
                return
            await asyncio.sleep(0.1)
        raise ServerError(f"{self.kind} not ready after {wait_s:.0f} s:\n{_tail(self.log_path)}")

    async def _probe(self) -> bool:
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", self.port), 1.0)
        except (OSError, TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    async def start(self, wait_s: float = 30.0) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        """End this server's own process group (SIGTERM, then SIGKILL after 5 s)."""
        proc = self.proc
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        if not os.environ.get("BENCH_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def log_tail(self) -> str:
        return _tail(self.log_path)


class CoconServer(Server):
    """``cocon serve`` on a fresh data folder (SQLite), bench limits lifted."""

    kind = "cocon"

    def __init__(self, extra_env: dict[str, str] | None = None) -> None:
        super().__init__()
        self.extra_env = dict(extra_env or {})
        self.label = "cocon"

    def argv(self) -> list[str]:
        args = ["serve", "--host", "127.0.0.1", "--port", str(self.port)]
        args += ["--data-dir", str(self.tmp / "data")]
        if (REPO_ROOT / "cocon" / "__main__.py").exists():
            return [sys.executable, "-m", "cocon", *args]
        code = "import sys; from cocon.cli import main; sys.exit(main())"
        return [sys.executable, "-c", code, *args]

    async def start(self, wait_s: float = 60.0) -> None:
        if not cocon_available():
            raise ServerError("the Cocon server is not there yet (no cocon/cli.py)")
        env = {**cocon_bench_env(), **self.extra_env}
        self._spawn(self.argv(), child_env(env))
        await self._wait_ready(wait_s)

    async def _probe(self) -> bool:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", self.port), 1.0
            )
        except (OSError, TimeoutError):
            return False
        try:
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            head = await asyncio.wait_for(reader.readline(), 2.0)
            return b" 200 " in head
        except (OSError, TimeoutError):
            return False
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


NGIRCD_CONF = """\
# Written by Cocon's bench: a loopback-only ngIRCd with flood limits lifted.
[Global]
Name = bench.cocon.invalid
Info = Cocon bench reference
Listen = 127.0.0.1
Ports = {port}
MotdPhrase = bench
PidFile = {tmp}/ngircd.pid

[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxNickLength = 20
MaxPenaltyTime = 0
PingTimeout = 600
PongTimeout = 300
# Safety net: exit if left without any client for 5 minutes (e.g. the bench was killed).
IdleTimeout = 300

[Options]
DNS = no
Ident = no
PAM = no
"""


class NgircdServer(Server):
    """ngIRCd in the foreground (``-n``) with its own config file."""

    kind = "ngircd"

    def __init__(self) -> None:
        super().__init__()
        self.label = "ngircd"

    async def start(self, wait_s: float = 30.0) -> None:
        exe = ngircd_path()
        if exe is None:
            raise ServerError("ngircd is not installed (Debian: apt-get install ngircd)")
        self.label = ngircd_version(exe)
        conf = self.tmp / "ngircd.conf"
        conf.write_text(NGIRCD_CONF.format(port=self.port, tmp=self.tmp), encoding="utf-8")
        self._spawn([exe, "-n", "-f", str(conf)], child_env())
        await self._wait_ready(wait_s)
