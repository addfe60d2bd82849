"""Voice-room fixtures: a network namespace of the test's own with Janus inside, a coturn that
relays to it, and Cocon nodes that use both (see ``net.py`` for the picture).

Without root (namespaces), janus or coturn the tests skip, saying why, except under CI
(``CI=true``) where that is a failure.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import pytest

from tests.calls.conftest import Turn, need_tool, start_coturn
from tests.calls.voice.net import JANUS, LIB, JanusProc, Netns, NetnsUnavailable, start_janus
from tests.servers import ServerProcess


def _unavailable(message: str) -> NoReturn:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def voice_net() -> Iterator[Netns]:
    try:
        net = Netns.create()
    except NetnsUnavailable as exc:
        _unavailable(f"voice tests need a network namespace of their own: {exc}")
    try:
        yield net
    finally:
        net.destroy()


@dataclass
class VoiceTurn(Turn):
    relay_ip: str = ""


def _ready(turn: Turn, timeout: float = 10.0) -> bool:
    """coturn set up all its listeners (it opens its database last) on its own port."""
    deadline = time.monotonic() + timeout
    while "DB connection success" not in turn.log():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    here = re.compile(rf":{turn.port}(?!\d)")
    return not any(
        ("errno=98" in line or "Cannot bind" in line) and here.search(line)
        for line in turn.log().splitlines()
    )


@pytest.fixture
def voice_turn(tmp_path: Path, voice_net: Netns) -> Iterator[VoiceTurn]:
    """coturn: browsers on loopback, relaying from the host's end of the veth to Janus only."""
    turn: Turn | None = None
    for attempt in range(3):  # free_port() races with other processes: try another port
        where = tmp_path / f"turn{attempt}"
        where.mkdir()
        turn = start_coturn(where, relay_ip=voice_net.host_ip, peers=(voice_net.ns_ip,))
        if _ready(turn):
            break
        turn.stop()
    else:
        raise AssertionError("coturn found no free port:\n" + (turn.log()[-2000:] if turn else ""))
    assert turn is not None
    try:
        yield VoiceTurn(
            turn.port, turn.secret, turn.proc, turn.log_path, turn.log_file, voice_net.host_ip
        )
    finally:
        turn.stop()


@pytest.fixture
def janus(tmp_path: Path, voice_net: Netns) -> Iterator[JanusProc]:
    need_tool(JANUS, "janus")
    need_tool(str(LIB / "plugins" / "libjanus_audiobridge.so"), "janus")
    proc = start_janus(tmp_path, voice_net)
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def voice_server(
    voice_turn: VoiceTurn, janus: JanusProc, make_server: Callable[..., ServerProcess]
) -> ServerProcess:
    return make_server(**voice_turn.env(**janus.env()))


@pytest.fixture
async def closing() -> AsyncIterator[list[Any]]:
    """Things with an async close() (clients, Janus clients, staff) to close at the end."""
    things: list[Any] = []
    yield things
    for thing in reversed(things):
        await thing.close()
