"""A small client of Janus's HTTP API, for the AudioBridge plugin (voice rooms).

Only the server talks to this API (on a private address): it creates the AudioBridge room of
a chat room on demand, with a ``secret`` derived from ``COCON_JANUS_SECRET`` (so every node
computes the same one), adds and removes per-join tokens (the room's ``allowed`` list), mutes
and kicks participants. Browsers reach Janus's WebSocket transport themselves with the token
they were handed; Cocon carries no media and no Janus traffic.

A participant's Janus id is their Cocon user id: one voice connection per user and room, and
any node can mute or kick them without shared state.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from typing import Any

import aiohttp

PLUGIN = "janus.plugin.audiobridge"
ROOM_EXISTS = 486  # JANUS_AUDIOBRIDGE_ERROR_ROOM_EXISTS
NO_SUCH_USER = 492  # JANUS_AUDIOBRIDGE_ERROR_NO_SUCH_USER (Janus 1.x)
SESSION_GONE = (458, 459)  # no such session / handle: they time out when idle


class JanusError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"janus error {code}: {reason}")
        self.code = code
        self.reason = reason


def room_secret(secret: str, room: int) -> str:
    """The AudioBridge ``secret`` of a chat room's voice room (the same on every node)."""
    return hmac.new(secret.encode(), f"voice-room:{room}".encode(), hashlib.sha256).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(24)


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

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=self.timeout)
        body = {**body, "transaction": secrets.token_hex(8)}
        async with self._http.post(self.url + path, json=body) as resp:
            reply: dict[str, Any] = await resp.json(content_type=None)
        if reply.get("janus") == "error":
            err = reply.get("error") or {}
            raise JanusError(int(err.get("code", 0)), str(err.get("reason", "")))
        return reply

    async def _attach(self) -> tuple[int, int]:
        async with self._lock:
            if self._handle is None:
                session = (await self._post("", {"janus": "create"}))["data"]["id"]
                handle = (await self._post(f"/{session}", {"janus": "attach", "plugin": PLUGIN}))[
                    "data"
                ]["id"]
                self._handle = (int(session), int(handle))
            return self._handle

    async def request(self, body: dict[str, Any]) -> dict[str, Any]:
        """A synchronous AudioBridge request; its ``data`` (or JanusError)."""
        for attempt in (1, 2):
            session, handle = await self._attach()
            try:
                reply = await self._post(f"/{session}/{handle}", {"janus": "message", "body": body})
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
        try:
            await self.request(
                {
                    "request": "create",
                    "room": room,
                    "admin_key": self.secret,
                    "secret": room_secret(self.secret, room),
                    "description": f"cocon {room}",
                    "is_private": True,
                    "allowed": [],  # join only with a token the server added
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
        self._created.add(room)

    async def _room_request(self, room: int, body: dict[str, Any]) -> dict[str, Any]:
        await self.ensure_room(room)
        return await self.request({**body, "room": room, "secret": room_secret(self.secret, room)})

    async def allow(self, room: int, token: str) -> None:
        await self._room_request(room, {"request": "allowed", "action": "add", "allowed": [token]})

    async def disallow(self, room: int, token: str) -> None:
        await self._room_request(
            room, {"request": "allowed", "action": "remove", "allowed": [token]}
        )

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
