"""Two nodes behind nginx (Debian's package), configured as docs/operations.md says."""

from __future__ import annotations

import asyncio
import getpass
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.client import Client
from tests.scaleout.conftest import Cluster, unavailable
from tests.servers import ServerProcess, free_port

ROOM = 1

CONFIG = """
worker_processes 1;
{user}
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    upstream cocon {{
        server 127.0.0.1:{port1} max_fails=1 fail_timeout=10s;
        server 127.0.0.1:{port2} max_fails=1 fail_timeout=10s;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 64k;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_next_upstream error timeout http_502 http_503;

        location /ws {{
            proxy_pass http://cocon;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 75s;
            proxy_send_timeout 75s;
            proxy_buffering off;
        }}
        location / {{
            proxy_pass http://cocon;
        }}
    }}
}}
"""


def _nginx_binary() -> str:
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
    )
    if found is None and os.geteuid() == 0:
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "nginx-light"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            capture_output=True,
            timeout=300,
        )
        found = shutil.which("nginx") or (
            "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None
        )
    if found is None:
        unavailable("nginx is missing: apt-get install nginx-light")
    return found


class Nginx:
    def __init__(self, workdir: Path, upstreams: tuple[int, int]) -> None:
        self.binary = _nginx_binary()
        self.dir = workdir
        self.port = free_port()
        self.dir.mkdir(parents=True, exist_ok=True)
        user = f"user {getpass.getuser()};" if os.geteuid() == 0 else ""
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(
            CONFIG.format(
                user=user, dir=self.dir, port=self.port, port1=upstreams[0], port2=upstreams[1]
            )
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "-c",
                str(self.conf),
                "-p",
                str(self.dir),
                "-e",
                str(self.dir / "error.log"),
                "-g",
                "daemon off;",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError((self.dir / "error.log").read_text()[-2000:])
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("nginx did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture
def behind_nginx(cluster: Cluster, tmp_path: Path) -> Iterator[tuple[Nginx, list[ServerProcess]]]:
    nodes = [cluster.node(name, COCON_TRUST_FORWARDED_FOR="true") for name in ("n1", "n2")]
    proxy = Nginx(tmp_path / "nginx", (nodes[0].port, nodes[1].port))
    proxy.start()
    yield proxy, nodes
    proxy.stop()


def _health_via(proxy: Nginx) -> str:
    import json

    with urllib.request.urlopen(proxy.url + "/healthz", timeout=5) as resp:
        node: str = json.loads(resp.read())["node"]
        return node


async def test_two_nodes_behind_nginx(
    behind_nginx: tuple[Nginx, list[ServerProcess]],
    new_client: Callable[[ServerProcess], Client],
) -> None:
    proxy, nodes = behind_nginx
    assert {_health_via(proxy) for _ in range(6)} == {"n1", "n2"}  # both in rotation

    a, b = Client(proxy.url), Client(proxy.url)
    try:
        for c in (a, b):
            await c.enter()
            await c.connect()
            await c.join(ROOM)
        stream = f"room:{ROOM}"
        ack = await a.say(stream, "par le proxy")
        assert (await b.wait("msg", seq=ack["seq"]))["text"] == "par le proxy"
        served = {n.health()["node"]: n.health()["connections"] for n in nodes}
        assert sum(served.values()) == 2

        # One node dies: nginx sends the reconnecting clients to the other one.
        nodes[1].kill()
        for c in (a, b):
            await c.drop()
            await c.connect()
        ack = await b.say(stream, "toujours là")
        assert (await a.wait("msg", seq=ack["seq"]))["text"] == "toujours là"
        assert not a.gaps and not b.gaps
        assert {_health_via(proxy) for _ in range(4)} == {"n1"}
        await asyncio.sleep(0)
    finally:
        await a.close()
        await b.close()
