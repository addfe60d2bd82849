"""One Cocon node: wires the store, bus, presence, hub and gateway into an aiohttp app."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import secrets
from collections.abc import AsyncIterator

from aiohttp import web

from cocon.actions import cams as cam_actions
from cocon.actions import messages as message_actions
from cocon.actions import rooms as room_actions
from cocon.actions import social as social_actions
from cocon.actions.common import now
from cocon.bus.base import Bus, Presence
from cocon.bus.memory import MemoryBus, MemoryPresence
from cocon.config import Settings, ensure_secret
from cocon.errors import ConfigError
from cocon.gateway.hub import Hub
from cocon.gateway.session import Gateway, NodeHandle
from cocon.gateway.tracker import Tracker
from cocon.http import pages
from cocon.http.api import Api
from cocon.http.media import MediaApi
from cocon.http.staff import StaffApi
from cocon.protocol.events import Counts
from cocon.rtc.calls import book_for
from cocon.rtc.cams import book_for as cam_book
from cocon.rtc.janus import close_for as close_janus
from cocon.runtime import Runtime
from cocon.store import rooms as room_store
from cocon.store.engine import Transactions, make_engine
from cocon.store.media import open_backends
from cocon.store.migrate import upgrade_async
from cocon.store.streams import Appender

log = logging.getLogger(__name__)

COUNTS_EVERY_S = 2.0
# The collector's thresholds once the node runs (CPython's default: 700, 10, 10). Under
# chat load the default promoted the objects of messages waiting for their commit (a few
# tens of ms) into the old generation, which then filled fast enough for a full
# collection about once a second, each ~100 ms on a node of 2,000 connections. Fewer
# young collections let those objects die first, and a full collection waits for 100
# middle ones (docs/benchmarks.md, eleventh round).
GC_THRESHOLDS = (5_000, 10, 100)


async def make_bus(settings: Settings, node_id: str) -> tuple[Bus, Presence]:
    if not settings.redis_url:
        return MemoryBus(), MemoryPresence()
    try:
        redis_bus = importlib.import_module("cocon.bus.redis")
    except ImportError as exc:  # pragma: no cover - packaging error
        raise ConfigError(f"the Redis bus is unavailable: {exc}") from exc
    connected: tuple[Bus, Presence] = await redis_bus.connect(settings, node_id)
    return connected


async def apply_control(rt: Runtime, tracker: Tracker, user_id: int, verb: str, arg: str) -> None:
    """What a ``control`` publication asks of this node's connections of ``user_id``."""
    peer = int(arg) if verb in ("block", "unblock") and arg.isdigit() else None
    if peer is not None:
        rt.dm_facts.forget(user_id, peer)  # the node's, once
    for conn in list(rt.hub.connections_of(user_id)):
        if verb == "sub":
            await rt.hub.subscribe(conn, arg)
        elif verb == "unsub" and arg.startswith("room:") and arg[5:].isdigit():
            await room_actions.leave_room(rt, tracker, conn, int(arg[5:]))
        elif verb == "unsub":
            await rt.hub.unsubscribe(conn, arg)
        elif peer is not None:
            other = {peer}
            conn.blocked = conn.blocked | other if verb == "block" else conn.blocked - other
        elif verb == "close":  # kicked or banned by moderation: flush, then hang up
            conn.link.close(1008, "moderation")


async def _counts_loop(rt: Runtime) -> None:
    """Push the public rooms' member counts that changed, at most every 2 s."""
    last: dict[int, int] = {}
    while True:
        await asyncio.sleep(COUNTS_EVERY_S)
        try:
            async with rt.engine.connect() as db:
                ids = [r.id for r in await room_store.public(db)]
            counts = await rt.presence.counts(ids)
        except Exception:
            log.warning("could not read room counts", exc_info=True)
            continue
        changed = {str(k): v for k, v in counts.items() if last.get(k) != v}
        last = counts
        if changed:
            rt.hub.send_all(Counts(counts=changed))


def build_app(settings: Settings) -> web.Application:
    """The aiohttp application of one node; resources open and close with it."""
    app = web.Application(middlewares=[pages.security_headers], client_max_size=64 * 1024)
    app[pages.CSP_KEY] = pages.csp(settings.janus_ws_url)
    node = NodeHandle()
    api = Api(node)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        url = settings.effective_database_url
        auto = settings.auto_migrate if settings.auto_migrate is not None else settings.is_sqlite
        if auto:
            await upgrade_async(url)
        engine = make_engine(url)
        async with engine.begin() as db:
            await room_store.ensure_public_rooms(db, settings.public_rooms, now())
        node_id = settings.node_id or secrets.token_hex(4)
        bus, presence = await make_bus(settings, node_id)
        hub = Hub(bus)
        media = await asyncio.to_thread(open_backends, settings)  # hash lists, storage
        log.info("media: %s storage, %d listed hashes", settings.media_storage, len(media.index))
        transactions = Transactions(engine)
        await transactions.start()
        appender = Appender(transactions)
        appender.start()
        rt = Runtime(
            settings=settings,
            engine=engine,
            appender=appender,
            bus=bus,
            presence=presence,
            hub=hub,
            secret=ensure_secret(settings),
            node_id=node_id,
            transactions=transactions,
            media=media,
        )
        await cam_actions.node_started(rt)
        attach = getattr(presence, "attach_runtime", None)
        if attach is not None:  # the Redis presence announces dead nodes' leaves itself
            attach(rt)

        async def announce(room_id: int, user_id: int, joined: bool) -> None:
            await room_actions.announce(rt, room_id, user_id, joined)

        async def online(user_id: int, is_online: bool) -> None:
            await social_actions.online_changed(rt, user_id, is_online)

        tracker = Tracker(rt, announce, online)

        async def control(user_id: int, verb: str, arg: str) -> None:
            if verb == "call":  # a call's state, kept by every node serving a participant
                book_for(rt).sync(arg)
                return
            if verb in ("cam", "camend"):  # room cams: a view's state, or end a cam held here
                await cam_actions.on_control(rt, cam_book(rt), user_id, verb, arg)
                return
            if verb == "restricted":  # restricted as a minor: their live media end here too
                rt.standing.invalidate()
                await message_actions.end_live_media(rt, user_id)
                return
            await apply_control(rt, tracker, user_id, verb, arg)
            if verb == "block" and arg.isdigit():  # their views of each other's cams end
                await cam_actions.blocked(rt, cam_book(rt), user_id, int(arg))

        hub.control_handler = control
        await bus.start(hub.deliver)
        node.set(rt, Gateway(rt, tracker))
        counts = asyncio.get_running_loop().create_task(_counts_loop(rt))
        # What start-up built (modules, tables, the safety lexicons: ~100k objects) lives as
        # long as the node: out of the collector's sight, collections no longer scan it
        # (benchmark s2: 14 % less CPU per delivery).
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            yield
        finally:
            counts.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await counts
            await rt.standing.close()
            with contextlib.suppress(Exception):
                await tracker.flush()
            await close_janus(rt)
            await appender.stop()
            await bus.close()
            await presence.close()
            await transactions.close()
            await engine.dispose()

    async def health(request: web.Request) -> web.Response:
        if not node.started:
            return web.json_response({"status": "starting"}, status=503)
        rt = node.runtime
        return web.json_response(
            {"status": "ok", "node": rt.node_id, "connections": rt.hub.connection_count}
        )

    async def websocket(request: web.Request) -> web.StreamResponse:
        return await node.gateway.handle(request)

    async def close_connections(app: web.Application) -> None:
        if node.started:  # before the store and the bus close (cleanup comes after)
            await node.gateway.shutdown()

    app.cleanup_ctx.append(lifecycle)
    app.on_shutdown.append(close_connections)
    app.router.add_get("/healthz", health)
    app.router.add_get("/ws", websocket)
    app.router.add_routes(api.routes())
    app.router.add_routes(StaffApi(node).routes())
    app.router.add_routes(MediaApi(node).routes())
    app.router.add_routes(pages.routes())
    return app
