"""Media over HTTP: ``POST /api/media`` (upload), ``GET /media/{key}`` (serving), and the
staff's view of media held in a report's evidence.

The upload body is read here, chunk by chunk, never beyond the media limits (the app-wide
``client_max_size`` of 64 KiB is for JSON bodies and does not apply to a streamed read).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import BodyPartReader, web

from cocon.actions import entry
from cocon.actions import media as actions
from cocon.actions.moderation import audit
from cocon.errors import ClientError, NotFound, RateLimited
from cocon.gateway.ratelimit import TokenBucket
from cocon.gateway.session import SESSION_COOKIE, NodeHandle
from cocon.http.api import error_response
from cocon.http.staff import STAFF_COOKIE
from cocon.media import LocalStorage, MediaNotFound, serving_headers
from cocon.media.limits import MB
from cocon.media.storage import check_key
from cocon.moderation import staff as staff_accounts
from cocon.runtime import Runtime
from cocon.store import moderation as mod_store
from cocon.store.identities import UserRow

CHUNK = 64 * 1024
#: Room for the multipart boundaries and part headers around the file.
MULTIPART_SLACK = 16 * 1024
#: Other fields of a multipart form are skipped, up to this size each.
FIELD_MAX = 4 * 1024
Reader = Callable[[], Awaitable[bytes]]


def _error(code: str, message: str, status: int) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _too_big(limit: int) -> actions.MediaRefusal:
    return actions.MediaRefusal(
        "media_too_big", f"Ce fichier est trop lourd ({limit // MB} Mo au plus).", 413
    )


async def _read_limited(read: Reader, limit: int) -> bytes:
    """Everything ``read`` yields, or a refusal as soon as it exceeds ``limit`` bytes."""
    buf = bytearray()
    while chunk := await read():
        if len(buf) + len(chunk) > limit:
            raise _too_big(limit)
        buf += chunk
    return bytes(buf)


async def read_upload(request: web.Request, limit: int) -> bytes:
    """The uploaded file: the raw body, or the first file field of a multipart form."""
    declared = request.content_length
    multipart = request.content_type.startswith("multipart/")
    if declared is not None and declared > limit + (MULTIPART_SLACK if multipart else 0):
        raise _too_big(limit)  # refused on the headers alone: nothing is read
    if not multipart:
        return await _read_limited(lambda: request.content.read(CHUNK), limit)
    reader = await request.multipart()
    while True:
        part = await reader.next()
        if part is None:
            raise actions.MediaRefusal("media_empty", "Aucun fichier n'a été reçu.")
        if not isinstance(part, BodyPartReader):
            raise actions.MediaRefusal("bad_request", "Formulaire imbriqué non accepté.")
        if part.filename is not None or part.name == "file":
            return await _read_limited(part.read_chunk, limit)
        await _read_limited(part.read_chunk, FIELD_MAX)  # another field: skipped


class MediaApi:
    """Handlers bound to a node that is filled in at start-up (routes exist before)."""

    def __init__(self, node: NodeHandle) -> None:
        self._node = node
        self._buckets: dict[int, TokenBucket] = {}

    @property
    def rt(self) -> Runtime:
        return self._node.runtime

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/media", self.upload),
            web.get("/media/{key}", self.serve),
            web.get("/staff/api/reports/{id:\\d+}/media", self.staff_list),
            web.get("/staff/api/reports/{id:\\d+}/media/{key}", self.staff_serve),
        ]

    async def _user(self, request: web.Request) -> UserRow | None:
        """The session's user: the cookie, or ``Authorization: Bearer <token>``."""
        token = request.cookies.get(SESSION_COOKIE)
        auth = request.headers.get("Authorization", "")
        if auth[:7].lower() == "bearer ":
            token = auth[7:].strip()
        return await entry.session_user(self.rt, token)

    def _throttle(self, user_id: int) -> None:
        bucket = self._buckets.get(user_id)
        if bucket is None:
            s = self.rt.settings
            if len(self._buckets) > 100_000:
                self._buckets.clear()
            bucket = self._buckets[user_id] = TokenBucket(
                s.media_uploads_per_minute / 60.0, s.media_upload_burst
            )
        wait = bucket.take()
        if wait:
            raise RateLimited(wait, "Trop d'envois d'un coup ; réessayez dans un instant.")

    async def _not_banned(self, user: UserRow) -> None:
        async with self.rt.engine.connect() as db:
            ban = await db.run_sync(mod_store.active_ban, user.id, [], [], time.time())
        if ban is not None:
            raise actions.MediaRefusal("banned", "Votre compte est suspendu.", 403)

    async def upload(self, request: web.Request) -> web.Response:
        try:
            user = await self._user(request)
            if user is None:
                raise ClientError("Session inconnue ou expirée.", code="unauthorized")
            await self._not_banned(user)
            self._throttle(user.id)
            media = actions.backends(self.rt)
            await actions.check_quota(self.rt, user.id, 0)
            async with media.uploads:
                data = await read_upload(request, media.limits.max_upload_bytes)
                ip = self._node.gateway.client_ip(request)
                row = await actions.do_upload(self.rt, user, data, ip)
        except actions.MediaRefusal as exc:
            return _error(exc.code, exc.message, exc.status)
        except ClientError as exc:
            return error_response(exc)
        return web.json_response({"media": actions.upload_info(row)})

    async def _send(self, request: web.Request, served: actions.Served) -> web.StreamResponse:
        headers = serving_headers(served.kind, served.mime)
        storage = actions.backends(self.rt).storage
        if isinstance(storage, LocalStorage):
            path = storage.path_for(served.key)
            if not path.is_file():
                raise NotFound("Ce média n'existe pas.")
            return web.FileResponse(path, headers=headers)  # Range, If-None-Match...
        try:
            body = await storage.get(served.key)
        except MediaNotFound as exc:
            raise NotFound("Ce média n'existe pas.") from exc
        return web.Response(body=body, headers=headers)

    async def serve(self, request: web.Request) -> web.StreamResponse:
        """The file if this user may see it; 404 otherwise, whatever the reason."""
        key = request.match_info["key"]
        try:
            check_key(key)
            user = await self._user(request)
            if user is None:
                raise NotFound("Ce média n'existe pas.")
            served = await actions.access_media(self.rt, user.id, key)
            return await self._send(request, served)
        except (ValueError, ClientError):
            return _error("not_found", "Ce média n'existe pas.", 404)

    async def _staff(self, request: web.Request) -> staff_accounts.Staff:
        who = await staff_accounts.session_staff(self.rt, request.cookies.get(STAFF_COOKIE))
        if who is None:
            raise ClientError("Connexion requise.", code="unauthorized")
        return who

    async def staff_list(self, request: web.Request) -> web.Response:
        """The media of the messages held in a report's evidence (no content)."""
        try:
            await self._staff(request)
            found = await actions.evidence_media(self.rt, int(request.match_info["id"]))
        except ClientError as exc:
            return error_response(exc)
        body: dict[str, Any] = {"media": found}
        return web.json_response(body)

    async def staff_serve(self, request: web.Request) -> web.StreamResponse:
        """One medium of a report's evidence; the view is audited before it leaves."""
        report_id = int(request.match_info["id"])
        key = request.match_info["key"]
        try:
            who = await self._staff(request)
            check_key(key)
            served = await actions.access_media_as_staff(self.rt, report_id, key)
            await audit(self.rt).append(
                who.actor,
                "view_evidence_media",
                f"report:{report_id}",
                "",
                {"media": served.row.id},
            )
            return await self._send(request, served)
        except ClientError as exc:
            if exc.code == "unauthorized":
                return error_response(exc)
            return _error("not_found", "Ce média n'existe pas.", 404)
        except ValueError:
            return _error("not_found", "Ce média n'existe pas.", 404)
