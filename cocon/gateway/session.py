"""The WebSocket endpoint: handshake checks, hello, the command loop, and cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import msgspec
from aiohttp import web
from sqlalchemy import Connection as SyncConnection

from cocon.actions import calls as call_actions
from cocon.actions import cams as cam_actions
from cocon.actions import entry, messages, private, rooms, social, voice_mute
from cocon.actions import moderation as moderation_actions
from cocon.actions import voice as voice_actions
from cocon.actions.common import brief_of
from cocon.errors import ClientError, RateLimited
from cocon.gateway.connection import Connection
from cocon.gateway.frames import text_frame
from cocon.gateway.link import CLOSE_WAIT_S, HandshakeError, Link, accept, take_over
from cocon.gateway.outbox import Outbox
from cocon.gateway.ratelimit import TokenBucket
from cocon.gateway.tracker import Tracker
from cocon.moderation import gate
from cocon.protocol import commands as c
from cocon.protocol.events import Error, Pong, Rooms, Welcome, encode
from cocon.rtc.calls import book_for
from cocon.rtc.cams import book_for as cam_book
from cocon.runtime import Runtime
from cocon.store import rooms as room_store
from cocon.store import social as social_store
from cocon.store import streams as stream_store
from cocon.store.rooms import RoomRow

log = logging.getLogger(__name__)

SESSION_COOKIE = "cocon_session"


# A command handler; a non-None result is the command's tail, run concurrently (pipelining).
Handler = Callable[[Connection, Any], Awaitable[Coroutine[Any, Any, None] | None]]
MAX_IN_FLIGHT = 64
MAX_PENDING = 64  # commands read ahead of the one running; past it, reading pauses
SWEEP_SLICES = 20  # the heartbeat sweep pings this share of the links at a time


def _welcome_reads(
    db: SyncConnection, user_id: int, inbox: str
) -> tuple[social_store.Positioned, tuple[int, int] | None, list[RoomRow]]:
    """What a welcome shows from the store, as one unit of work: the user's conversations,
    the inbox's position, the rooms listed for them."""
    return (
        social_store.conversations_of(db, user_id),
        stream_store.position(db, inbox),
        room_store.listed_for(db, user_id),
    )


class NodeHandle:
    """Filled in when the node starts; HTTP routes are registered before that."""

    def __init__(self) -> None:
        self._runtime: Runtime | None = None
        self._gateway: Gateway | None = None

    def set(self, runtime: Runtime, gateway: Gateway) -> None:
        self._runtime, self._gateway = runtime, gateway

    @property
    def runtime(self) -> Runtime:
        assert self._runtime is not None, "node not started"
        return self._runtime

    @property
    def gateway(self) -> Gateway:
        assert self._gateway is not None, "node not started"
        return self._gateway

    @property
    def started(self) -> bool:
        return self._runtime is not None


class Gateway:
    """Owns this node's WebSocket connections: the upgrade, hello, the commands of each
    connection in order, the heartbeat sweep, and what a closed connection leaves."""

    def __init__(self, rt: Runtime, tracker: Tracker) -> None:
        self.rt = rt
        self.tracker = tracker
        self.per_ip: dict[str, int] = {}
        self.links: dict[Link, int] = {}  # each link's slice of the heartbeat sweep
        self._slices: list[set[Link]] = [set() for _ in range(SWEEP_SLICES)]
        self._taken = 0  # links taken over so far: deals them round the slices
        self._tasks: set[asyncio.Task[None]] = set()  # workers and teardowns, for shutdown
        self._handlers = self._build_handlers()
        self._loop = asyncio.get_running_loop()
        self._sweeper = self._loop.create_task(self._sweep())
        self._all_gone: asyncio.Event | None = None  # set at shutdown once no link is left

    def client_ip(self, request: web.Request) -> str:
        if self.rt.settings.trust_forwarded_for:
            forwarded = request.headers.get("X-Forwarded-For", "")
            if forwarded:
                return forwarded.split(",")[-1].strip()
        return request.remote or "?"

    def origin_allowed(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a browser: nothing to forge
        if origin in self.rt.settings.allowed_origins:
            return True
        return origin == f"{request.scheme}://{request.host}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """``GET /ws``: check the upgrade, answer it, and take the connection from aiohttp."""
        s = self.rt.settings
        if not self.origin_allowed(request):
            return _refusal(403, "forbidden", "Origine refusée.")
        ip = self.client_ip(request)
        if self.per_ip.get(ip, 0) >= s.max_connections_per_ip:
            return _refusal(429, "too_many_connections", "Trop de connexions.")
        try:
            answer, ws = accept(request)
        except HandshakeError:
            return _refusal(400, "bad_request", "Ce n'est pas une ouverture de WebSocket valide.")
        transport = request.transport
        if transport is None:  # the client already left
            return web.Response(status=400)
        link = Link(ws, transport, self, s.max_frame_bytes, ip, request.cookies.get(SESSION_COOKIE))
        if take_over(request, link, answer):
            self.per_ip[ip] = self.per_ip.get(ip, 0) + 1
            slot = self._taken % SWEEP_SLICES
            self._taken += 1
            self.links[link] = slot
            self._slices[slot].add(link)
            link.timer = self._loop.call_later(s.auth_timeout_s, self._no_hello, link)
        # Not written: the connection is no longer aiohttp's (see link.take_over).
        return web.Response()

    # -- LinkOwner

    def on_text(self, link: Link, text: str) -> None:
        if link.conn is None and link.timer is not None:  # hello came in time
            link.timer.cancel()
            link.timer = None
        pending = link.pending
        if pending is None:
            pending = link.pending = deque()
        pending.append(text)
        if link.worker is None:
            link.worker = self._spawn(self._work(link))
        elif len(pending) >= MAX_PENDING and not link.paused:
            link.paused = True  # the client outruns its commands: stop reading it
            link.transport.pause_reading()

    def on_binary(self, link: Link) -> None:
        if link.conn is not None:
            link.conn.send(Error(code="bad_request", message="Les trames binaires sont refusées."))
        elif link.worker is None:
            self._refuse(link, "Le premier message doit être hello.")

    def on_lost(self, link: Link) -> None:
        slot = self.links.pop(link, None)
        if slot is not None:
            self._slices[slot].discard(link)
        if not self.links and self._all_gone is not None:
            self._all_gone.set()
        left = self.per_ip.get(link.ip, 1) - 1
        if left > 0:
            self.per_ip[link.ip] = left
        else:
            self.per_ip.pop(link.ip, None)
        if link.pending:
            link.pending.clear()
        conn = link.conn
        if conn is not None:
            conn.closed = True
            conn.outbox.closed = True
            if link.worker is None:  # else the worker ends with the teardown
                self._spawn(self._teardown(conn))

    # -- one connection's work, in order

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("connection task failed", exc_info=task.exception())

    async def _work(self, link: Link) -> None:
        """Run the link's waiting messages one after the other (hello first), then end."""
        try:
            while link.pending and not link.lost and not link.closing:
                text = link.pending.popleft()
                if link.paused and len(link.pending) <= MAX_PENDING // 2:
                    link.paused = False
                    link.transport.resume_reading()
                conn = link.conn
                if conn is None:
                    try:
                        await self._hello(link, text)
                    except Exception:  # the store or the bus failed: say so, hang up
                        log.exception("hello failed")
                        link.close(1011, "internal", text_frame(encode(_INTERNAL)))
                else:
                    await self._command(conn, text, conn.commands)
        finally:
            link.worker = None
            link.pending = None
            if link.lost and link.conn is not None:
                await self._teardown(link.conn)

    def _refuse(self, link: Link, message: str, code: str = "unauthorized", **extra: Any) -> None:
        error = Error(code=code, message=message, **extra)
        link.close(1008, code, text_frame(encode(error)))

    def _no_hello(self, link: Link) -> None:
        link.timer = None
        if link.conn is None and link.worker is None:
            self._refuse(link, "Pas de hello.")

    async def _hello(self, link: Link, text: str) -> None:
        try:
            hello = c.decoder.decode(text)
        except msgspec.DecodeError:
            hello = None
        if not isinstance(hello, c.Hello):
            self._refuse(link, "Le premier message doit être hello.")
            return
        token = hello.token or link.token
        link.token = None
        admitted = await entry.admit(self.rt, token, link.ip)
        if admitted is None or token is None:
            self._refuse(link, "Session inconnue ou expirée.")
            return
        if isinstance(admitted, gate.Banned):
            self._refuse(link, admitted.message, admitted.code, sanction=admitted.sanction)
            return
        if link.lost or link.closing:
            # Gone during the hello: the hold admit renewed for a day is only for a guest
            # who is connected, here or in another tab.
            if not self.rt.hub.connections_of(admitted.user.id):
                await entry.release_pseudo(self.rt, admitted.user)
            return
        s = self.rt.settings
        conn = Connection(
            self.rt.hub,
            Outbox(link.transport, s.send_buffer_bytes),
            admitted.user,
            link.ip,
            link,
            TokenBucket(s.command_rate_per_s, s.command_burst),
        )
        link.conn = conn
        await self._welcome(conn, hello, token, admitted.blocked)

    async def _welcome(
        self, conn: Connection, hello: c.Hello, token: str, blocked: list[int]
    ) -> None:
        rt = self.rt
        rt.hub.add_user_connection(conn)
        conn.added = True
        conn.blocked = set(blocked)
        await self.tracker.connected(conn.user_id)
        inbox = f"user:{conn.user_id}"
        positions = dict(hello.streams)
        await messages.resume_streams(rt, self.tracker, conn, positions)
        if inbox not in conn.topics:
            await rt.hub.subscribe(conn, inbox)
        # Read after subscribing the inbox: nothing published to it from here on is missed.
        found, pos, listed = await rt.transactions.run(_welcome_reads, conn.user_id, inbox)
        convs = await private.conversations_for(rt, found, conn.user_id, conn.blocked)
        for info in convs:
            if info.stream not in conn.topics and (
                info.state == "accepted" or info.requested_by == conn.user_id
            ):
                await rt.hub.subscribe(conn, info.stream)
        epoch, seq = pos if pos else (0, 0)
        conn.send(
            Welcome(
                ref=hello.ref,
                me=brief_of(conn.user),
                token=token,
                inbox=inbox,
                inbox_epoch=epoch,
                inbox_seq=seq,
                rooms=await rooms.room_infos(rt, listed),
                conversations=convs,
                blocked=sorted(conn.blocked),
            )
        )

    async def _teardown(self, conn: Connection) -> None:
        """Undo what the connection held: topics, rooms, presence, calls, cams, voice."""
        if conn.torn_down or not conn.added:
            return
        conn.torn_down = True
        rt = self.rt
        for topic in list(conn.topics):
            await rt.hub.unsubscribe(conn, topic)
        for room_id in list(conn.rooms):
            await self.tracker.exit(room_id, conn.user_id, grace=True)
        conn.rooms.clear()
        last_here = rt.hub.remove_user_connection(conn)
        await self.tracker.disconnected(conn.user_id)
        try:
            await call_actions.connection_closed(rt, book_for(rt), conn)
        except Exception:
            log.warning("could not end the calls of %s", conn.user_id, exc_info=True)
        try:
            await cam_actions.connection_closed(rt, cam_book(rt), conn)
        except Exception:
            log.warning("could not end the cams of %s", conn.user_id, exc_info=True)
        try:
            await voice_actions.connection_closed(rt, conn)
        except Exception:
            log.warning("could not end the voice of %s", conn.user_id, exc_info=True)
        if last_here:
            try:
                await entry.release_pseudo(rt, conn.user)
            except Exception:
                log.warning("could not release the pseudo hold of %s", conn.user_id)

    # -- the node's connections as a whole

    async def _sweep(self) -> None:
        """Ping every connection once per heartbeat period and cut those silent since their
        last ping, one slice of the links at a time: a ping to every link at once, and the
        thousands of pongs that follow, held the loop for tens of milliseconds (benchmark s2's
        worst latencies)."""
        tick = self.rt.settings.heartbeat_s / SWEEP_SLICES
        turn = 0
        while True:
            await asyncio.sleep(tick)
            for link in list(self._slices[turn]):
                link.heartbeat()
            turn = (turn + 1) % SWEEP_SLICES

    async def shutdown(self) -> None:
        """Close every connection (``1001``) and let their teardowns run, within seconds."""
        self._sweeper.cancel()
        for link in list(self.links):
            link.close(1001, "server stopping")
        if self.links:
            self._all_gone = asyncio.Event()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_gone.wait(), CLOSE_WAIT_S + 0.5)
        for link in list(self.links):
            link.transport.abort()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5.0)

    async def _command(self, conn: Connection, data: str, bucket: TokenBucket) -> None:
        ref: str | None = None
        try:
            try:
                cmd = c.decoder.decode(data)
            except msgspec.ValidationError as exc:
                ref = _salvage_ref(data)
                raise ClientError(f"Commande invalide : {exc}", code="bad_request") from exc
            except msgspec.DecodeError as exc:
                raise ClientError("Ce n'est pas du JSON valide.", code="bad_json") from exc
            ref = cmd.ref
            wait = bucket.take()
            if wait:
                raise RateLimited(wait)
            handler = self._handlers.get(type(cmd))
            if handler is None:
                raise ClientError("Commande inattendue.", code="bad_request")
            tail = await handler(conn, cmd)
            if tail is not None:
                await self._pipeline(conn, tail, ref)
        except ClientError as exc:
            self._report(conn, exc, ref)
        except Exception:
            self._fault(conn, ref)

    async def _pipeline(
        self, conn: Connection, tail: Coroutine[Any, Any, None], ref: str | None
    ) -> None:
        """Run the end of a command (a send's commit and publication) beside the next
        commands; at most ``MAX_IN_FLIGHT`` per connection, then the reader waits."""
        while len(conn.in_flight) >= MAX_IN_FLIGHT:
            await asyncio.wait(conn.in_flight, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.get_running_loop().create_task(self._guarded(conn, tail, ref))
        conn.in_flight.add(task)
        task.add_done_callback(conn.in_flight.discard)

    async def _guarded(
        self, conn: Connection, tail: Coroutine[Any, Any, None], ref: str | None
    ) -> None:
        try:
            await tail
        except ClientError as exc:
            self._report(conn, exc, ref)
        except Exception:
            self._fault(conn, ref)

    @staticmethod
    def _report(conn: Connection, exc: ClientError, ref: str | None) -> None:
        conn.send(
            Error(
                code=exc.code,
                message=exc.message,
                ref=ref,
                field=exc.field,
                retry_after=getattr(exc, "retry_after", None),
            )
        )

    @staticmethod
    def _fault(conn: Connection, ref: str | None) -> None:
        log.exception("command failed")
        conn.send(Error(code="internal", message=_INTERNAL_MESSAGE, ref=ref))

    def _build_handlers(self) -> dict[type[Any], Handler]:
        rt, tr = self.rt, self.tracker

        async def ping(conn: Connection, cmd: c.Ping) -> None:
            conn.send(Pong(ref=cmd.ref))

        async def list_rooms(conn: Connection, cmd: c.ListRooms) -> None:
            conn.send(Rooms(rooms=await rooms.rooms_for(rt, conn.user_id), ref=cmd.ref))

        async def resume(conn: Connection, cmd: c.Resume) -> None:
            await messages.resume_streams(rt, tr, conn, cmd.streams)

        async def hello_again(conn: Connection, cmd: c.Hello) -> None:
            raise ClientError("Déjà connecté.", code="bad_request")

        return {
            c.Hello: hello_again,
            c.Ping: ping,
            c.ListRooms: list_rooms,
            c.Resume: resume,
            c.Join: lambda conn, cmd: rooms.do_join(rt, tr, conn, cmd.room, cmd.password, cmd.ref),
            c.Leave: lambda conn, cmd: rooms.do_leave(rt, tr, conn, cmd.room, cmd.ref),
            c.CreateRoom: lambda conn, cmd: rooms.do_create_room(
                rt, tr, conn, cmd.name, cmd.topic, cmd.password, cmd.ref
            ),
            c.SetRoom: lambda conn, cmd: rooms.do_set_room(
                rt, conn, cmd.room, cmd.topic, cmd.password, cmd.ref, cmd.cams
            ),
            c.Invite: lambda conn, cmd: rooms.do_invite(rt, conn, cmd.room, cmd.user, cmd.ref),
            c.Kick: lambda conn, cmd: rooms.do_kick(rt, conn, cmd.room, cmd.user, cmd.ref),
            c.Transfer: lambda conn, cmd: rooms.do_transfer(rt, conn, cmd.room, cmd.user, cmd.ref),
            c.Send: lambda conn, cmd: messages.do_send(
                rt, conn, cmd.stream, cmd.cid, cmd.text, cmd.ref, cmd.media, cmd.confirm
            ),
            c.Typing: lambda conn, cmd: messages.do_typing(rt, conn, cmd.stream),
            c.History: lambda conn, cmd: messages.do_history(
                rt, conn, cmd.stream, cmd.before, cmd.limit, cmd.ref
            ),
            c.Profile: lambda conn, cmd: social.do_profile(rt, conn, cmd.user, cmd.ref),
            c.OpenPm: lambda conn, cmd: private.do_open_pm(rt, conn, cmd.user, cmd.ref),
            c.AnswerPm: lambda conn, cmd: private.do_answer_pm(
                rt, conn, cmd.conversation, cmd.accept, cmd.ref
            ),
            c.Block: lambda conn, cmd: social.do_block(rt, conn, cmd.user, True, cmd.ref),
            c.Unblock: lambda conn, cmd: social.do_block(rt, conn, cmd.user, False, cmd.ref),
            c.FriendRequest: lambda conn, cmd: social.do_friend_request(
                rt, conn, cmd.user, cmd.ref
            ),
            c.FriendAnswer: lambda conn, cmd: social.do_friend_answer(
                rt, conn, cmd.user, cmd.accept, cmd.ref
            ),
            c.FriendRemove: lambda conn, cmd: social.do_friend_remove(rt, conn, cmd.user, cmd.ref),
            c.ListFriends: lambda conn, cmd: social.do_list_friends(rt, conn, cmd.ref),
            c.Report: lambda conn, cmd: moderation_actions.do_report(
                rt, conn, moderation_actions.report_request(cmd), cmd.ref
            ),
            c.Appeal: lambda conn, cmd: moderation_actions.do_appeal_command(
                rt, conn, cmd.sanction, cmd.text, cmd.ref
            ),
            c.CallInvite: lambda conn, cmd: call_actions.do_invite(
                rt, book_for(rt), conn, cmd.user, cmd.video, cmd.ref
            ),
            c.CallAnswer: lambda conn, cmd: call_actions.do_answer(
                rt, book_for(rt), conn, cmd.call, cmd.accept, cmd.ref
            ),
            c.CallSignal: lambda conn, cmd: call_actions.do_signal(
                rt, book_for(rt), conn, cmd.call, cmd.sdp, cmd.candidate
            ),
            c.CallHangup: lambda conn, cmd: call_actions.do_hangup(
                rt, book_for(rt), conn, cmd.call, cmd.ref
            ),
            c.VoiceJoin: lambda conn, cmd: voice_actions.do_join(rt, conn, cmd.room, cmd.ref),
            c.VoiceAttach: lambda conn, cmd: voice_actions.do_attach(
                rt, conn, cmd.room, cmd.session, cmd.handle, cmd.ref
            ),
            c.VoiceLeave: lambda conn, cmd: voice_actions.do_leave(rt, conn, cmd.room, cmd.ref),
            c.VoiceMute: lambda conn, cmd: voice_mute.do_mute_command(
                rt, conn, cmd.room, cmd.user, cmd.muted, cmd.ref
            ),
            c.CamStart: lambda conn, cmd: cam_actions.do_start(
                rt, cam_book(rt), conn, cmd.room, cmd.friends_only, cmd.ref
            ),
            c.CamStop: lambda conn, cmd: cam_actions.do_stop(
                rt, cam_book(rt), conn, cmd.room, cmd.ref
            ),
            c.ListCams: lambda conn, cmd: cam_actions.do_list(rt, conn, cmd.room, cmd.ref),
            c.CamAsk: lambda conn, cmd: cam_actions.do_ask(
                rt, cam_book(rt), conn, cmd.room, cmd.user, cmd.ref
            ),
            c.CamAnswer: lambda conn, cmd: cam_actions.do_answer(
                rt, cam_book(rt), conn, cmd.view, cmd.accept, cmd.ref
            ),
            c.CamSignal: lambda conn, cmd: cam_actions.do_signal(
                rt, cam_book(rt), conn, cmd.view, cmd.sdp, cmd.candidate
            ),
            c.CamClose: lambda conn, cmd: cam_actions.do_close(
                rt, cam_book(rt), conn, cmd.view, cmd.ref
            ),
        }


_INTERNAL_MESSAGE = "Un problème est survenu de notre côté ; réessayez."
_INTERNAL = Error(code="internal", message=_INTERNAL_MESSAGE)


def _refusal(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


class _RefOnly(msgspec.Struct):
    ref: str | None = None


_ref_decoder = msgspec.json.Decoder(_RefOnly)


def _salvage_ref(data: str) -> str | None:
    """The ``ref`` of an invalid command, so the client can match the error to it."""
    try:
        return _ref_decoder.decode(data).ref
    except msgspec.MsgspecError:
        return None
