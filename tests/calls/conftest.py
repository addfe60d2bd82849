"""Call fixtures: a real coturn on a free loopback port and Cocon nodes that use it.

coturn (Debian package ``coturn``) and Janus (``janus``) are installed by ``scripts/test``
(``ensure_rtc_tools``). Without them the tests that need them skip, except under CI
(``CI=true``) where a missing tool is a failure.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from tests.client import Client
from tests.servers import ServerProcess, free_port

TURNSERVER = "/usr/bin/turnserver"


def need_tool(path: str, package: str) -> None:
    if os.path.exists(path) or shutil.which(os.path.basename(path)):
        return
    message = f"{path} is missing: apt-get install {package} (scripts/test does it)"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


def wait_port(port: int, proto: int = socket.SOCK_STREAM, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


@dataclass
class Turn:
    port: int
    secret: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log_file.close()

    @property
    def urls(self) -> str:
        return f"turn:127.0.0.1:{self.port}?transport=udp,turn:127.0.0.1:{self.port}?transport=tcp"

    def env(self, **more: str) -> dict[str, str]:
        return {
            "COCON_TURN_URLS": self.urls,
            "COCON_TURN_SECRET": self.secret,
            "COCON_TURN_TTL_S": "600",
        } | more

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_coturn(tmp: Path, relay_ip: str = "127.0.0.1", peers: tuple[str, ...] = ()) -> Turn:
    """coturn on loopback; loopback peers are allowed here only (tests).

    ``relay_ip``: another local address to relay from (and listen on), for peers that are
    not on loopback (Janus in the test's network namespace). ``peers``: relay to these
    addresses only.
    """
    need_tool(TURNSERVER, "coturn")
    port = free_port()
    secret = secrets.token_hex(16)
    log_path = tmp / "turnserver.log"
    low = 40000 + (port % 200) * 100
    args = [
        TURNSERVER,
        "-n",
        "--use-auth-secret",
        f"--static-auth-secret={secret}",
        "--realm=cocon",
        "--listening-ip=127.0.0.1",
        f"--relay-ip={relay_ip}",
        *([f"--listening-ip={relay_ip}"] if relay_ip != "127.0.0.1" else []),
        f"--listening-port={port}",
        f"--min-port={low}",
        f"--max-port={low + 99}",
        "--allow-loopback-peers",
        *(["--denied-peer-ip=0.0.0.0-255.255.255.255"] if peers else []),
        *[f"--allowed-peer-ip={p}" for p in peers],
        "--no-cli",
        "--no-tls",
        "--no-dtls",
        "--no-rfc5780",  # else it also binds port + 1, and retries forever if that is taken
        "--log-file=stdout",
        "--simple-log",
        f"--pidfile={tmp / 'turnserver.pid'}",
        f"--userdb={tmp / 'turndb.sqlite'}",
    ]
    fh = log_path.open("wb")
    proc = subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT)
    try:
        wait_port(port)
    except TimeoutError:
        proc.kill()
        proc.wait(5)
        fh.close()
        raise AssertionError("coturn did not start:\n" + log_path.read_text()) from None
    return Turn(port, secret, proc, log_path, fh)


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[Turn]:
    turn = start_coturn(tmp_path)
    yield turn
    turn.stop()


@pytest.fixture
def turn_server(coturn: Turn, make_server: Callable[..., ServerProcess]) -> ServerProcess:
    """A Cocon node whose calls go through the test's coturn."""
    return make_server(**coturn.env(COCON_CALL_RING_TIMEOUT_S="3"))


@pytest.fixture
async def turn_clients(turn_server: ServerProcess) -> AsyncIterator[Callable[..., Client]]:
    made: list[Client] = []

    def make() -> Client:
        client = Client(turn_server.url)
        made.append(client)
        return client

    yield make
    for client in made:
        await client.close()


async def pair(make: Callable[..., Client]) -> tuple[Client, Client, dict[str, object]]:
    """Two connected guests with an accepted private conversation."""
    a, b = make(), make()
    for c in (a, b):
        await c.enter()
        await c.connect()
    opened = await a.request("open_pm", user=b.id)
    conv = opened["conversation"]
    accepted = await b.request("answer_pm", conversation=conv["id"], accept=True)
    assert accepted["type"] == "conversation", accepted
    return a, b, conv
