"""A small client of Janus's HTTP API, for the AudioBridge plugin (voice rooms).

Only the server talks to this API (on a private address). It creates the AudioBridge room of
a chat room on demand, with a ``secret`` and a join token derived from ``COCON_JANUS_SECRET``
(so every node computes the same ones); the token is the room's only ``allowed`` entry and
never leaves the server. Browsers open their own Janus session and AudioBridge handle over the
WebSocket transport, and Cocon makes that handle join (``join`` sent on the browser's handle
through the HTTP API, which Janus allows for any session): the participant id and display
are Cocon's, and a browser cannot join any room by itself. Media and the rest of the Janus
traffic go between the browser and Janus.

A participant's id is ``user id × 2**20 + n`` (``n`` random, one per voice connection): any
node can tell whose it is (:func:`user_of`) and end exactly that connection. Ids under
``2**20`` belong to the nodes' watchers (:class:`Watcher`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

PLUGIN = "janus.plugin.audiobridge"
NO_SUCH_ROOM = 485  # JANUS_AUDIOBRIDGE_ERROR_NO_SUCH_ROOM (Janus restarted: rooms are gone)
ROOM_EXISTS = 486  # JANUS_AUDIOBRIDGE_ERROR_ROOM_EXISTS
NO_SUCH_USER = 492  # JANUS_AUDIOBRIDGE_ERROR_NO_SUCH_USER (Janus 1.x)
SESSION_GONE = (458, 459)  # no such session / handle: they time out when idle
USER_BITS = 20
LONG_POLL_S = 40.0  # Janus answers a long poll within 30 s (a keepalive when idle)

EventHandler = Callable[[int, dict[str, Any]], Awaitable[None]]


class JanusError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"janus error {code}: {reason}")
        self.code = code
        self.reason = reason


def _derive(secret: str, what: str) -> str:
    return hmac.new(secret.encode(), what.encode(), hashlib.sha256).hexdigest()


def room_secret(secret: str, room: int) -> str:
    """The AudioBridge ``secret`` of a chat room's voice room (the same on every node)."""
    return _derive(secret, f"voice-room:{room}")


def room_token(secret: str, room: int) -> str:
    """The one join token of a voice room: only Cocon joins participants, with this."""
    return _derive(secret, f"voice-join:{room}")


def participant_id(user_id: int) -> int:
    """A fresh AudioBridge id for one voice connection of ``user_id``."""
    return user_id << USER_BITS | (secrets.randbelow(2**USER_BITS - 1) + 1)


def user_of(participant: int) -> int:
    """The user behind a participant id (0: a node's watcher)."""
    return participant >> USER_BITS


class Janus:
    """One Janus session and AudioBridge handle, made again when Janus forgot them."""

    def __init__(self, url: str, secret: str, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self.secret = secret
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._http: aiohttp.ClientSession | None = None
        self._handle: tuple[int, int] | None = None
        self._lock = asyncio.Lock()
        self._created: set[int] = set()
        self.watcher: Watcher | None = None

    async def close(self) -> None:
        if self.watcher is not None:
            await self.watcher.close()
        if self._http is not None:
            await self._http.close()
            self._http = None

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self.timeout)
        return self._http

    async def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": secrets.token_hex(8)}
        async with self._session().post(self.url + path, json=body) as resp:
            reply: dict[str, Any] = await resp.json(content_type=None)
        _raise_for(reply)
        return reply

    async def poll(self, session: int) -> list[dict[str, Any]]:
        """The events of ``session`` (a long poll: empty after about 30 s of quiet)."""
        timeout = aiohttp.ClientTimeout(total=LONG_POLL_S)
        url = f"{self.url}/{session}?maxev=50"
        async with self._session().get(url, timeout=timeout) as resp:
            reply: Any = await resp.json(content_type=None)
        if isinstance(reply, dict):
            _raise_for(reply)
            reply = [reply]
        return [e for e in reply if isinstance(e, dict) and e.get("janus") == "event"]

    async def create_session(self) -> int:
        return int((await self.post("", {"janus": "create"}))["data"]["id"])

    async def attach(self, session: int) -> int:
        reply = await self.post(f"/{session}", {"janus": "attach", "plugin": PLUGIN})
        return int(reply["data"]["id"])

    async def _attach(self) -> tuple[int, int]:
        async with self._lock:
            if self._handle is None:
                session = await self.create_session()
                self._handle = (session, await self.attach(session))
            return self._handle

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous AudioBridge request; its ``data`` (or JanusError)."""
        for attempt in (1, 2):
            session, handle = await self._attach()
            try:
                reply = await self.post(f"/{session}/{handle}", {"janus": "message", "body": body})
            except JanusError as exc:
                if exc.code in SESSION_GONE and attempt == 1:
                    self._handle = None
                    continue
                raise
            data: dict[str, Any] = reply.get("plugindata", {}).get("data", {})
            if "error_code" in data:
                raise JanusError(int(data["error_code"]), str(data.get("error", "")))
            return data
        raise AssertionError("unreachable")

    async def ensure_room(self, room: int) -> None:
        """Create the voice room of a chat room unless this node already did (or Janus has it)."""
        if room in self._created:
            return
        token = room_token(self.secret, room)
        try:
            await self.request(
                {
                    "request": "create",
                    "room": room,
                    "admin_key": self.secret,
                    "secret": room_secret(self.secret, room),
                    "description": f"cocon {room}",
                    "is_private": True,
                    "allowed": [token],  # only Cocon joins participants
                    "permanent": False,
                    "sampling_rate": 16000,
                    "audiolevel_event": True,  # talking / stopped-talking events
                    "audio_active_packets": 25,  # 0.5 s of 20 ms packets
                    "audio_level_average": 50,  # dBov: 0 loudest .. 127 silent
                }
            )
        except JanusError as exc:
            if exc.code != ROOM_EXISTS:
                raise
            await self._raw_room_request(
                room, {"request": "allowed", "action": "add", "allowed": [token]}
            )
        self._created.add(room)

    async def _raw_room_request(self, room: int, body: dict[str, Any]) -> dict[str, Any]:
        return await self.request({**body, "room": room, "secret": room_secret(self.secret, room)})

    async def _room_request(self, room: int, body: dict[str, Any]) -> dict[str, Any]:
        await self.ensure_room(room)
        try:
            return await self._raw_room_request(room, body)
        except JanusError as exc:
            if exc.code != NO_SUCH_ROOM:
                raise
        self._created.discard(room)  # Janus restarted since: make the room again
        await self.ensure_room(room)
        return await self._raw_room_request(room, body)

    async def join(
        self, room: int, session: int, handle: int, participant: int, display: str, muted: bool
    ) -> None:
        """Make a browser's AudioBridge handle join ``room`` as ``participant``.

        Janus answers the browser (``joined``, or an error) on its own WebSocket; this only
        fails when the session or handle does not exist (458, 459).
        """
        await self.ensure_room(room)
        body = {
            "request": "join",
            "room": room,
            "id": participant,
            "display": display,
            "token": room_token(self.secret, room),
            "muted": muted,
        }
        await self.post(f"/{session}/{handle}", {"janus": "message", "body": body})

    async def participants(self, room: int) -> list[dict[str, Any]]:
        try:
            data = await self._room_request(room, {"request": "listparticipants"})
        except JanusError as exc:
            if exc.code == NO_SUCH_ROOM:
                return []
            raise
        found = data.get("participants") or []
        return [p for p in found if isinstance(p, dict) and isinstance(p.get("id"), int)]

    async def mute(self, room: int, participant: int, muted: bool = True) -> bool:
        """False if that participant is not in the room."""
        try:
            await self._room_request(
                room, {"request": "mute" if muted else "unmute", "id": participant}
            )
        except JanusError as exc:
            if exc.code == NO_SUCH_USER:
                return False
            raise
        return True

    async def kick(self, room: int, participant: int) -> bool:
        try:
            await self._room_request(room, {"request": "kick", "id": participant})
        except JanusError as exc:
            if exc.code == NO_SUCH_USER:
                return False
            raise
        return True


def _raise_for(reply: dict[str, Any]) -> None:
    if reply.get("janus") == "error":
        err = reply.get("error") or {}
        raise JanusError(int(err.get("code", 0)), str(err.get("reason", "")))


class Watcher:
    """A silent participant of this node in each voice room it has people in.

    AudioBridge tells every participant of a room when someone joins, changes their display
    or mute state, leaves or is kicked. A participant of our own, without media, hears all of
    it; one long poll per node brings it here as it happens, so the node can hold people to
    what the server decided (their display, a moderator's mute) whatever their browser sends.
    """

    def __init__(self, janus: Janus, on_event: EventHandler) -> None:
        self._janus = janus
        self._on_event = on_event
        self.id = secrets.randbelow(2**USER_BITS - 1) + 1
        self._session: int | None = None
        self._rooms: dict[int, int] = {}  # room -> our handle in it
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def watch(self, room: int) -> None:
        async with self._lock:
            if room in self._rooms:
                return
            for attempt in (1, 2):
                try:
                    await self._sit(room)
                    break
                except JanusError as exc:
                    if exc.code not in SESSION_GONE or attempt == 2:
                        raise
                    self._session = None
            if self._task is None or self._task.done():
                self._task = asyncio.get_running_loop().create_task(self._poll())

    async def _sit(self, room: int) -> None:
        if self._session is None:
            self._session = await self._janus.create_session()
        handle = await self._janus.attach(self._session)
        await self._janus.ensure_room(room)
        body = {
            "request": "join",
            "room": room,
            "id": self.id,
            "token": room_token(self._janus.secret, room),
            "muted": True,
        }
        await self._janus.post(f"/{self._session}/{handle}", {"janus": "message", "body": body})
        self._rooms[room] = handle

    async def unwatch(self, room: int) -> None:
        """Leave a room (detaching the handle leaves it). The session stays: the poll ends
        with the last room and Janus drops the session after its ``session_timeout``."""
        async with self._lock:
            handle = self._rooms.pop(room, None)
            if handle is None or self._session is None:
                return
            try:
                await self._janus.post(f"/{self._session}/{handle}", {"janus": "detach"})
            except (JanusError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.info("janus: could not leave voice room %s: %s", room, exc)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        session, self._session, self._rooms = self._session, None, {}
        if session is not None:
            with contextlib.suppress(JanusError, aiohttp.ClientError, OSError, TimeoutError):
                await self._janus.post(f"/{session}", {"janus": "destroy"})

    async def _renew(self) -> None:
        """Janus forgot our session (it restarted, or we could not poll for a minute)."""
        async with self._lock:
            rooms, self._rooms, self._session = list(self._rooms), {}, None
            for room in rooms:
                try:
                    await self._sit(room)
                except (JanusError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                    log.warning("janus: could not watch voice room %s again: %s", room, exc)
                    self._rooms.pop(room, None)

    async def _poll(self) -> None:
        failures = 0
        while self._rooms and (session := self._session) is not None:
            try:
                events = await self._janus.poll(session)
                failures = 0
            except JanusError as exc:
                if exc.code in SESSION_GONE:
                    if self._session == session:  # not one we let go ourselves
                        await self._renew()
                    continue
                events, failures = [], failures + 1
            except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as exc:
                events, failures = [], failures + 1
                log.warning("janus: long poll failed (%d): %s", failures, exc)
            if failures:
                await asyncio.sleep(min(0.25 * 2**failures, 10.0))
                continue
            for event in events:
                data = (event.get("plugindata") or {}).get("data")
                if not isinstance(data, dict) or data.get("room") not in self._rooms:
                    continue
                room = int(data["room"])
                try:
                    await self._on_event(room, data)
                except Exception:
                    log.exception("voice room %s: could not handle %r", room, data)


_clients: dict[int, tuple[object, Janus]] = {}


def janus_for(rt: Any) -> Janus | None:
    """The Janus client of a node (one per Runtime), or None if voice rooms are off."""
    s = rt.settings
    if not (s.janus_url and s.janus_secret):
        return None
    found = _clients.get(id(rt))
    if found is None or found[0] is not rt:
        found = _clients[id(rt)] = (rt, Janus(s.janus_url, s.janus_secret))
    return found[1]


async def close_for(rt: Any) -> None:
    found = _clients.pop(id(rt), None)
    if found is not None:
        await found[1].close()
