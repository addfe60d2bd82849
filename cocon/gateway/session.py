"""The WebSocket endpoint: handshake checks, hello, the command loop, and cleanup."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

import msgspec
from aiohttp import WSMsgType, web

from cocon.actions import calls as call_actions
from cocon.actions import cams as cam_actions
from cocon.actions import entry, messages, private, rooms, social, voice_mute
from cocon.actions import moderation as moderation_actions
from cocon.actions import voice as voice_actions
from cocon.actions.common import brief_of
from cocon.errors import ClientError, RateLimited
from cocon.gateway.connection import Connection
from cocon.gateway.outbox import Outbox
from cocon.gateway.ratelimit import TokenBucket
from cocon.gateway.tracker import Tracker
from cocon.moderation import gate
from cocon.protocol import commands as c
from cocon.protocol.events import Error, Pong, Rooms, Welcome, encode
from cocon.rtc.calls import book_for
from cocon.rtc.cams import book_for as cam_book
from cocon.runtime import Runtime
from cocon.store import social as social_store
from cocon.store import streams as stream_store

log = logging.getLogger(__name__)

SESSION_COOKIE = "cocon_session"


# A command handler; a non-None result is the command's tail, run concurrently (pipelining).
Handler = Callable[[Connection, Any], Awaitable[Coroutine[Any, Any, None] | None]]
MAX_IN_FLIGHT = 64


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
    """Owns this node's WebSocket connections."""

    def __init__(self, rt: Runtime, tracker: Tracker) -> None:
        self.rt = rt
        self.tracker = tracker
        self.per_ip: dict[str, int] = {}
        self._handlers = self._build_handlers()

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
        s = self.rt.settings
        if not self.origin_allowed(request):
            return web.json_response(
                {"error": {"code": "forbidden", "message": "Origine refusée."}}, status=403
            )
        ip = self.client_ip(request)
        if self.per_ip.get(ip, 0) >= s.max_connections_per_ip:
            return web.json_response(
                {"error": {"code": "too_many_connections", "message": "Trop de connexions."}},
                status=429,
            )
        ws = web.WebSocketResponse(
            heartbeat=s.heartbeat_s, max_msg_size=s.max_frame_bytes, compress=False
        )
        await ws.prepare(request)
        self.per_ip[ip] = self.per_ip.get(ip, 0) + 1
        try:
            await self._run(request, ws, ip)
        finally:
            left = self.per_ip[ip] - 1
            if left:
                self.per_ip[ip] = left
            else:
                del self.per_ip[ip]
        return ws

    async def _close(self, ws: web.WebSocketResponse, code: int, error: Error) -> None:
        if not ws.closed:
            await ws.send_str(encode(error).decode())
            await ws.close(code=code, message=error.code.encode())

    async def _run(self, request: web.Request, ws: web.WebSocketResponse, ip: str) -> None:
        s = self.rt.settings
        try:
            first = await asyncio.wait_for(ws.receive(), timeout=s.auth_timeout_s)
        except TimeoutError:
            await self._close(ws, 1008, Error(code="unauthorized", message="Pas de hello."))
            return
        if first.type != WSMsgType.TEXT:
            await ws.close(code=1008 if first.type == WSMsgType.BINARY else 1000)
            return
        try:
            hello = c.decoder.decode(first.data)
        except msgspec.DecodeError:
            hello = None
        if not isinstance(hello, c.Hello):
            await self._close(
                ws, 1008, Error(code="unauthorized", message="Le premier message doit être hello.")
            )
            return
        token = hello.token or request.cookies.get(SESSION_COOKIE)
        user = await entry.session_user(self.rt, token)
        if user is None or token is None:
            await self._close(
                ws, 1008, Error(code="unauthorized", message="Session inconnue ou expirée.")
            )
            return
        banned = await gate.check_hello(self.rt, user, ip)
        if banned is not None:
            await self._close(
                ws,
                1008,
                Error(code=banned.code, message=banned.message, sanction=banned.sanction),
            )
            return
        transport = request.transport
        assert transport is not None
        conn = Connection(self.rt.hub, Outbox(transport, s.send_buffer_bytes), user, ip)
        await self._serve(ws, conn, hello, token)

    async def _serve(
        self, ws: web.WebSocketResponse, conn: Connection, hello: c.Hello, token: str
    ) -> None:
        rt = self.rt
        first_here = rt.hub.add_user_connection(conn)
        try:
            async with rt.engine.connect() as db:
                conn.blocked = set(await social_store.blocked_by(db, conn.user_id))
            await self.tracker.connected(conn.user_id)
            if first_here:
                await entry.hold_pseudo(rt, conn.user, True)
            inbox = f"user:{conn.user_id}"
            positions = dict(hello.streams)
            await messages.resume_streams(rt, self.tracker, conn, positions)
            if inbox not in conn.topics:
                await rt.hub.subscribe(conn, inbox)
            convs = await private.conversations_for(rt, conn.user_id, conn.blocked)
            for info in convs:
                if info.stream not in conn.topics and (
                    info.state == "accepted" or info.requested_by == conn.user_id
                ):
                    await rt.hub.subscribe(conn, info.stream)
            async with rt.engine.connect() as db:
                pos = await stream_store.position(db, inbox)
            epoch, seq = pos if pos else (0, 0)
            conn.send(
                Welcome(
                    ref=hello.ref,
                    me=brief_of(conn.user),
                    token=token,
                    inbox=inbox,
                    inbox_epoch=epoch,
                    inbox_seq=seq,
                    rooms=await rooms.rooms_for(rt, conn.user_id),
                    conversations=convs,
                    blocked=sorted(conn.blocked),
                )
            )
            await self._loop(ws, conn)
        finally:
            conn.closed = True
            conn.outbox.closed = True
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
                    await entry.hold_pseudo(rt, conn.user, False)
                except Exception:
                    log.warning("could not release the pseudo hold of %s", conn.user_id)

    async def _loop(self, ws: web.WebSocketResponse, conn: Connection) -> None:
        bucket = TokenBucket(self.rt.settings.command_rate_per_s, self.rt.settings.command_burst)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await self._command(conn, msg.data, bucket)
            elif msg.type == WSMsgType.BINARY:
                conn.send(Error(code="bad_request", message="Les trames binaires sont refusées."))
            elif msg.type == WSMsgType.ERROR:
                break
            if conn.outbox.closed:
                break

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
        conn.send(
            Error(
                code="internal",
                message="Un problème est survenu de notre côté ; réessayez.",
                ref=ref,
            )
        )

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


class _RefOnly(msgspec.Struct):
    ref: str | None = None


_ref_decoder = msgspec.json.Decoder(_RefOnly)


def _salvage_ref(data: str) -> str | None:
    """The ``ref`` of an invalid command, so the client can match the error to it."""
    try:
        return _ref_decoder.decode(data).ref
    except msgspec.MsgspecError:
        return None
