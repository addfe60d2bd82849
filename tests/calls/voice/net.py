"""A network namespace of the test's own, with Janus inside, for the voice-room tests.

Janus gathers no ICE candidate on ``lo``, and the tests may only send traffic over loopback
or inside network namespaces they made themselves. So each test gets a namespace joined to
the host by a veth pair on a private /30 of 10.213.0.0/16 (chosen free, under a lock, so
parallel runs do not clash): Janus runs inside (``ip netns exec``), with its HTTP API,
WebSocket transport and ICE on the namespace's end of the pair only; coturn runs on the host,
listens on loopback for the browsers and relays from the host's end of the pair, to Janus's
address alone. Browsers and the Cocon server stay on the host's loopback::

    Chromium ──TURN (127.0.0.1)──▶ coturn ──relay 10.213.a.b+1 ─veth─▶ 10.213.a.b+2 Janus
    Cocon ──HTTP API────────────────────────────────────────────────────▶ (same address)
    Chromium ──WebSocket────────────────────────────────────────────────▶ (same address)

Everything is undone by :meth:`Netns.destroy` (called from fixture finalizers), and a later
run removes what a killed run left behind (names carry the creating process id).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

IP = shutil.which("ip") or "/usr/sbin/ip"
PREFIX = "cocon-vt"  # + "<pid>-<hex>": a run's namespaces, removable once that run is gone
POOL = ipaddress.ip_network("10.213.0.0/16")  # private; far from the usual 10.0/10.1 LANs
LOCK = Path("/tmp/cocon-netns.lock")


class NetnsUnavailable(Exception):
    """Namespaces cannot be made here (not root, no iproute2, no CAP_NET_ADMIN)."""


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IP, *args], capture_output=True, text=True, check=check, timeout=20)


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    with LOCK.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale() -> None:
    """Remove the namespaces (and what runs in them) of test runs that no longer exist."""
    listed = _ip("netns", "list", check=False).stdout
    for name in re.findall(rf"^({PREFIX}(\d+)-[0-9a-f]+)", listed, re.MULTILINE):
        ns, pid = name[0], int(name[1])
        if _alive(pid):
            continue
        for p in _ip("netns", "pids", ns, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(p), signal.SIGKILL)
        _ip("netns", "del", ns, check=False)


def _used_networks() -> list[ipaddress.IPv4Network]:
    used = []
    for line in _ip("-4", "-o", "addr", "show").stdout.splitlines():
        m = re.search(r"inet (\S+)", line)
        if m:
            used.append(ipaddress.ip_interface(m.group(1)).network)
    for line in _ip("-4", "route", "show", "table", "all").stdout.splitlines():
        dest = line.split()[0] if line.split() else ""
        with contextlib.suppress(ValueError):
            used.append(ipaddress.ip_network(dest, strict=False))
    return [n for n in used if isinstance(n, ipaddress.IPv4Network) and n.prefixlen > 0]


@dataclass
class Netns:
    name: str
    host_if: str
    ns_if: str
    host_ip: str
    ns_ip: str

    @classmethod
    def create(cls) -> Netns:
        """A fresh namespace and veth pair on a free /30; NetnsUnavailable if not allowed."""
        if not os.path.exists(IP):
            raise NetnsUnavailable(f"{IP} is missing (apt-get install iproute2)")
        if os.geteuid() != 0:
            raise NetnsUnavailable("network namespaces need root (CAP_NET_ADMIN)")
        tag = secrets.token_hex(4)
        name = f"{PREFIX}{os.getpid()}-{tag}"
        net = cls(name, f"cv{tag}h", f"cv{tag}n", "", "")
        with _locked():
            sweep_stale()
            used = _used_networks()
            for _ in range(100):
                subnet = ipaddress.ip_network(
                    (int(POOL.network_address) + 4 * secrets.randbelow(POOL.num_addresses // 4), 30)
                )
                if not any(subnet.overlaps(u) for u in used):
                    break
            else:
                raise NetnsUnavailable(f"no free /30 left in {POOL}")
            net.host_ip, net.ns_ip = str(subnet[1]), str(subnet[2])
            made = _ip("netns", "add", name, check=False)
            if made.returncode != 0:
                raise NetnsUnavailable(f"ip netns add failed: {made.stderr.strip()}")
            try:
                steps = [
                    ("link", "add", net.host_if, "type", "veth", "peer", "name", net.ns_if),
                    ("link", "set", net.ns_if, "netns", name),
                    ("addr", "add", f"{net.host_ip}/30", "dev", net.host_if),
                    ("link", "set", net.host_if, "up"),
                    ("-n", name, "addr", "add", f"{net.ns_ip}/30", "dev", net.ns_if),
                    ("-n", name, "link", "set", net.ns_if, "up"),
                    ("-n", name, "link", "set", "lo", "up"),
                ]
                for step in steps:
                    done = _ip(*step, check=False)
                    if done.returncode != 0:
                        raise NetnsUnavailable(f"ip {' '.join(step)}: {done.stderr.strip()}")
            except BaseException:
                net.destroy()
                raise
        return net

    def exec_args(self, *argv: str) -> list[str]:
        return [IP, "netns", "exec", self.name, *argv]

    def destroy(self) -> None:
        """Kill what still runs inside, remove the veth pair and the namespace."""
        for p in _ip("netns", "pids", self.name, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(p), signal.SIGKILL)
        _ip("link", "del", self.host_if, check=False)  # takes its peer with it, synchronously
        _ip("netns", "del", self.name, check=False)


def wait_tcp(host: str, port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port}")


# -- Janus ------------------------------------------------------------------------------------

JANUS = "/usr/bin/janus"
LIB = Path("/usr/lib/x86_64-linux-gnu/janus")
OTHER_PLUGINS = (
    "duktape echotest lua nosip recordplay sip streaming textroom videocall videoroom voicemail"
)
OTHER_TRANSPORTS = "mqtt nanomsg pfunix rabbitmq"
HTTP_PORT, WS_PORT = 8088, 8188  # inside the namespace: nothing else listens there


def _libs(names: str) -> str:
    return ",".join(f"libjanus_{n}.so" for n in names.split())


@dataclass
class JanusProc:
    net: Netns
    secret: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes]

    @property
    def http_url(self) -> str:
        return f"http://{self.net.ns_ip}:{HTTP_PORT}/janus"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.net.ns_ip}:{WS_PORT}/"

    def env(self) -> dict[str, str]:
        return {
            "COCON_JANUS_URL": self.http_url,
            "COCON_JANUS_WS_URL": self.ws_url,
            "COCON_JANUS_SECRET": self.secret,
        }

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.log_file.close()


def write_janus_config(conf: Path, net: Netns, secret: str, debug: int) -> None:
    plugins = LIB / "plugins"
    (conf / "janus.jcfg").write_text(
        f"""general: {{
    configs_folder = "{conf}"
    plugins_folder = "{plugins}"
    transports_folder = "{LIB / "transports"}"
    events_folder = "{LIB / "events"}"
    loggers_folder = "{LIB / "loggers"}"
    debug_level = {debug}
    server_name = "cocon-test"
    session_timeout = 60
}}
certificates: {{}}
media: {{ rtp_port_range = "20000-20999" }}
nat: {{
    full_trickle = true
    ignore_mdns = true
    ice_enforce_list = "{net.ns_if}"
}}
plugins: {{ disable = "{_libs(OTHER_PLUGINS)}" }}
transports: {{ disable = "{_libs(OTHER_TRANSPORTS)}" }}
events: {{ broadcast = false }}
loggers: {{ disable = "libjanus_jsonlog.so" }}
"""
    )
    (conf / "janus.plugin.audiobridge.jcfg").write_text(
        f'general: {{\n    admin_key = "{secret}"\n    lock_rtp_forward = true\n}}\n'
    )
    (conf / "janus.transport.http.jcfg").write_text(
        f"""general: {{
    json = "compact"
    base_path = "/janus"
    http = true
    port = {HTTP_PORT}
    ip = "{net.ns_ip}"
    https = false
}}
admin: {{ admin_http = false }}
cors: {{}}
"""
    )
    (conf / "janus.transport.websockets.jcfg").write_text(
        f"""general: {{
    json = "compact"
    ws = true
    ws_port = {WS_PORT}
    ws_ip = "{net.ns_ip}"
    wss = false
}}
admin: {{ admin_ws = false }}
"""
    )


def start_janus(tmp: Path, net: Netns, debug: int = 4) -> JanusProc:
    """Janus inside ``net``: HTTP API, WebSocket and ICE on the namespace's veth only."""
    conf = tmp / "janus"
    conf.mkdir()
    secret = secrets.token_hex(16)
    write_janus_config(conf, net, secret, debug)
    log_path = tmp / "janus.log"
    fh = log_path.open("wb")
    proc = subprocess.Popen(
        net.exec_args(JANUS, "-F", str(conf), "-C", str(conf / "janus.jcfg"), "-o"),
        stdout=fh,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_tcp(net.ns_ip, HTTP_PORT)
        wait_tcp(net.ns_ip, WS_PORT)
    except TimeoutError:
        proc.kill()
        proc.wait(5)
        fh.close()
        raise AssertionError("janus did not start:\n" + log_path.read_text()) from None
    return JanusProc(net, secret, proc, log_path, fh)
