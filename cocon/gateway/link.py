"""A WebSocket connection once upgraded: wsproto's frame layer straight on the transport.

aiohttp answers the upgrade request (routing, headers, the Origin and per-address checks);
wsproto checks the handshake and writes the ``101``; then the connection leaves aiohttp for
good (:func:`take_over`). From then on a connection costs this protocol object, wsproto's
frame parser and Cocon's own state, and no aiohttp request, response, reader, writer,
task or timer (~15 KiB per idle connection with aiohttp's ``WebSocketResponse``; see
docs/benchmarks.md, s4).

What wsproto leaves to its user is here: a limit on message size (close ``1009``), answers
to pings, the closing handshake with a deadline, and a liveness check driven by one
loop-wide sweep (:meth:`Link.heartbeat`) rather than a timer per connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, Protocol

from aiohttp import web
from wsproto.connection import Connection as WSConnection
from wsproto.connection import ConnectionState, ConnectionType
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Request,
    TextMessage,
)
from wsproto.handshake import H11Handshake
from wsproto.utilities import ProtocolError

if TYPE_CHECKING:
    from cocon.gateway.connection import Connection

log = logging.getLogger(__name__)

CLOSE_WAIT_S = 2.0  # how long a closing side waits for the peer's close frame
_PING = WSConnection(ConnectionType.SERVER).send(Ping())  # unmasked, empty: the same for all


class LinkOwner(Protocol):
    """What a link reports to (the gateway)."""

    def on_text(self, link: Link, text: str) -> None: ...

    def on_binary(self, link: Link) -> None: ...

    def on_lost(self, link: Link) -> None: ...


class HandshakeError(Exception):
    """The upgrade request is not a valid WebSocket handshake."""


def accept(request: web.Request) -> tuple[bytes, WSConnection]:
    """Check ``request`` as a WebSocket opening handshake (RFC 6455 §4.2.1) and build the
    ``101`` answer; returns its bytes and the connection's frame layer."""
    head = f"{request.method} {request.raw_path} HTTP/1.1\r\n".encode()
    raw = head + b"".join(k + b": " + v + b"\r\n" for k, v in request.raw_headers) + b"\r\n"
    handshake = H11Handshake(ConnectionType.SERVER)
    try:
        handshake.receive_data(raw)
        events = list(handshake.events())
    except ProtocolError as exc:
        raise HandshakeError(str(exc)) from exc
    if not events or not isinstance(events[0], Request):
        raise HandshakeError("not a WebSocket upgrade")
    answer = handshake.send(AcceptConnection())
    ws = handshake.connection
    assert ws is not None
    return answer, ws


def take_over(request: web.Request, protocol: asyncio.Protocol, answer: bytes) -> bool:
    """Move the connection of ``request`` from aiohttp to ``protocol`` and send ``answer``.

    The transport is handed to ``protocol`` (asyncio's ``set_protocol``); aiohttp is then
    told the connection is gone without letting it close the transport (its protocol's
    ``transport`` is cleared first), so it drops the request, its keep-alive timer and its
    count of the connection. The response the handler then returns cannot be written (the
    protocol has no transport) and aiohttp ends that request as a client disconnection.
    ``tests/test_link.py`` checks this against the installed aiohttp. False if the client
    already left."""
    transport = request.transport
    if transport is None or transport.is_closing():
        return False
    old = request.protocol
    transport.set_protocol(protocol)
    transport.write(answer)
    old.transport = None
    old.connection_lost(None)
    return True


class Link(asyncio.Protocol):
    """One WebSocket connection: frames in, messages out to the owner, control frames."""

    __slots__ = (
        "closing",
        "conn",
        "ip",
        "lost",
        "max_message",
        "owner",
        "parts",
        "paused",
        "pending",
        "pinged",
        "seen",
        "size",
        "text",
        "timer",
        "token",
        "transport",
        "worker",
        "ws",
    )

    def __init__(
        self,
        ws: WSConnection,
        transport: asyncio.Transport,
        owner: LinkOwner,
        max_message: int,
        ip: str,
        token: str | None,
    ) -> None:
        self.ws = ws
        self.transport = transport
        self.owner = owner
        self.max_message = max_message
        self.ip = ip
        self.token = token  # the session cookie, until hello
        self.conn: Connection | None = None  # set once hello is accepted
        self.parts: list[str] | None = None  # a message arriving in several frames
        self.text = True  # the kind of that message
        self.size = 0
        self.pending: deque[str] | None = None  # messages waiting for the worker
        self.worker: asyncio.Task[None] | None = None
        self.timer: asyncio.TimerHandle | None = None  # hello deadline, then close deadline
        self.seen = True
        self.pinged = False
        self.paused = False
        self.closing = False
        self.lost = False

    # -- asyncio.Protocol

    def data_received(self, data: bytes) -> None:
        self.seen = True
        ws = self.ws
        if ws.state is ConnectionState.CLOSED:
            return
        ws.receive_data(data)
        for event in ws.events():
            if isinstance(event, TextMessage | BytesMessage):
                if not self.closing:
                    self._message(event)
            elif isinstance(event, CloseConnection):
                self._peer_closed(event)
                return
            elif isinstance(event, Ping) and ws.state is ConnectionState.OPEN:
                self.transport.write(ws.send(event.response()))

    def eof_received(self) -> bool | None:
        return None  # the transport closes itself; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        if self.lost:
            return
        self.lost = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.parts = None
        self.owner.on_lost(self)

    # -- messages

    def _message(self, event: TextMessage | BytesMessage) -> None:
        data = event.data
        size = self.size + len(data)
        if isinstance(data, str) and len(data) * 4 > self.max_message - self.size:
            size = self.size + len(data.encode())  # characters undercount UTF-8 bytes
        if size > self.max_message:
            self.close(1009, "message too big")
            return
        if not event.message_finished:
            if self.parts is None:
                self.parts, self.text = [], isinstance(event, TextMessage)
            if isinstance(data, str):
                self.parts.append(data)
            self.size = size
            return
        parts, self.parts, self.size = self.parts, None, 0
        if parts is not None:
            if not self.text:
                self.owner.on_binary(self)
                return
            parts.append(data if isinstance(data, str) else "")
            data = "".join(parts)
        if isinstance(data, str):
            self.owner.on_text(self, data)
        else:
            self.owner.on_binary(self)

    # -- closing

    def close(self, code: int, reason: str = "", before: bytes = b"") -> None:
        """Start the closing handshake: ``before`` (the last frames), then a close frame;
        the transport closes when the peer answers, or after ``CLOSE_WAIT_S``."""
        if self.closing or self.lost:
            return
        self.closing = True
        if self.paused:  # the peer's close frame must be read
            self.paused = False
            self.transport.resume_reading()
        conn = self.conn
        if conn is not None:  # what was queued for this connection goes first
            frames = conn.hub.flusher.take(conn.outbox)
            conn.outbox.closed = True
            before = b"".join(frames) + before
        if self.ws.state is not ConnectionState.OPEN:
            self.transport.close()
            return
        self.transport.write(before + self.ws.send(CloseConnection(code=code, reason=reason)))
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(CLOSE_WAIT_S, self.transport.abort)

    def _peer_closed(self, event: CloseConnection) -> None:
        ws = self.ws
        if ws.state is ConnectionState.REMOTE_CLOSING:  # the peer starts: answer, hang up
            self.closing = True
            self.transport.write(ws.send(event.response()))
            self.transport.close()
        elif ws.state is ConnectionState.CLOSED:  # the peer answers our close
            self.transport.close()
        else:  # a protocol error found by wsproto (1002, 1007...): close with its code
            self.close(event.code, event.reason or "")

    def heartbeat(self) -> None:
        """Called every heartbeat period: ping, and cut a peer silent since the last one."""
        if self.closing or self.lost:
            return
        if self.pinged and not self.seen:
            log.info("heartbeat lost: disconnecting")
            self.transport.abort()
            return
        self.seen = False
        self.pinged = True
        self.transport.write(_PING)
