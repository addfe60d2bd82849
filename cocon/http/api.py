"""JSON endpoints: enter, register, login, logout, me."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from cocon.actions import entry
from cocon.actions.common import brief_of, to_builtins
from cocon.errors import ClientError, RateLimited
from cocon.gateway.ratelimit import TokenBucket
from cocon.gateway.session import SESSION_COOKIE, NodeHandle
from cocon.moderation import gate
from cocon.runtime import Runtime
from cocon.store.identities import UserRow

DEVICE_COOKIE = "cocon_device"
_STATUS = {
    "underage": 403,
    "forbidden": 403,
    "bad_login": 403,
    "pseudo_taken": 409,
    "conflict": 409,
    "rate_limited": 429,
    "unauthorized": 401,
}


def error_response(exc: ClientError) -> web.Response:
    body: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.field:
        body["field"] = exc.field
    if isinstance(exc, RateLimited):
        body["retry_after"] = exc.retry_after
    return web.json_response({"error": body}, status=_STATUS.get(exc.code, 400))


def _banned_response(banned: gate.Banned) -> web.Response:
    body = {"code": banned.code, "message": banned.message, "sanction": banned.sanction}
    return web.json_response({"error": body}, status=403)


class Api:
    """Handlers bound to a node that is filled in at start-up (routes exist before)."""

    def __init__(self, node: NodeHandle) -> None:
        self._node = node
        self._entry_buckets: dict[str, TokenBucket] = {}

    @property
    def rt(self) -> Runtime:
        return self._node.runtime

    def _client_ip(self, request: web.Request) -> str:
        return self._node.gateway.client_ip(request)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/enter", self.enter),
            web.post("/api/register", self.register),
            web.post("/api/login", self.login),
            web.post("/api/logout", self.logout),
            web.get("/api/me", self.me),
        ]

    def _secure(self, request: web.Request) -> bool:
        return request.secure or (
            self.rt.settings.trust_forwarded_for
            and request.headers.get("X-Forwarded-Proto") == "https"
        )

    def _set_cookies(
        self, request: web.Request, resp: web.Response, session: str | None, device: str
    ) -> None:
        secure = self._secure(request)
        resp.set_cookie(
            DEVICE_COOKIE,
            device,
            max_age=365 * 86400,
            httponly=True,
            samesite="Lax",
            secure=secure,
            path="/",
        )
        if session is not None:
            resp.set_cookie(
                SESSION_COOKIE,
                session,
                max_age=int(self.rt.settings.session_days * 86400),
                httponly=True,
                samesite="Lax",
                secure=secure,
                path="/",
            )

    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError as exc:
            raise ClientError(
                "Le corps de la requête n'est pas du JSON valide.", code="bad_json"
            ) from exc
        if not isinstance(body, dict):
            raise ClientError("Un objet JSON est attendu.", code="bad_request")
        return body

    def _throttle(self, request: web.Request) -> None:
        ip = self._client_ip(request)
        bucket = self._entry_buckets.get(ip)
        if bucket is None:
            s = self.rt.settings
            if len(self._entry_buckets) > 100_000:
                self._entry_buckets.clear()
            bucket = self._entry_buckets[ip] = TokenBucket(
                s.entries_per_minute / 60.0, max(1, int(s.entries_per_minute))
            )
        wait = bucket.take()
        if wait:
            raise RateLimited(wait)

    async def _entered(self, request: web.Request, entered: entry.Entered) -> web.Response:
        resp = web.json_response(
            {"user": to_builtins(brief_of(entered.user)), "token": entered.session_token}
        )
        self._set_cookies(request, resp, entered.session_token, entered.device_token)
        return resp

    async def enter(self, request: web.Request) -> web.Response:
        try:
            self._throttle(request)
            body = await self._json(request)
        except ClientError as exc:
            return error_response(exc)
        entered, device, refusal = await entry.do_enter(
            self.rt,
            request.cookies.get(DEVICE_COOKIE),
            self._client_ip(request),
            body.get("pseudo"),
            body.get("gender"),
            body.get("age"),
            body.get("postal_code"),
        )
        if isinstance(refusal, gate.Banned):
            return _banned_response(refusal)  # no new device cookie for a banned device
        if refusal is not None or entered is None:
            assert refusal is not None
            resp = error_response(refusal)
            if refusal.code == "underage":
                resp_body = {
                    "error": {
                        "code": "underage",
                        "message": refusal.message,
                        "help": [
                            {"name": "3018", "url": "https://3018.fr"},
                            {"name": "119", "url": "https://www.allo119.gouv.fr"},
                        ],
                    }
                }
                resp = web.json_response(resp_body, status=403)
            self._set_cookies(request, resp, None, device)
            return resp
        return await self._entered(request, entered)

    async def _current(self, request: web.Request) -> UserRow:
        user = await entry.session_user(self.rt, request.cookies.get(SESSION_COOKIE))
        if user is None:
            raise ClientError("Session inconnue ou expirée.", code="unauthorized")
        return user

    async def me(self, request: web.Request) -> web.Response:
        try:
            user = await self._current(request)
        except ClientError as exc:
            return error_response(exc)
        return web.json_response({"user": to_builtins(brief_of(user))})

    async def register(self, request: web.Request) -> web.Response:
        try:
            user = await self._current(request)
            body = await self._json(request)
            user = await entry.do_register(self.rt, user, body.get("password"))
        except ClientError as exc:
            return error_response(exc)
        return web.json_response({"user": to_builtins(brief_of(user))})

    async def login(self, request: web.Request) -> web.Response:
        try:
            self._throttle(request)
            body = await self._json(request)
            # A banned device or network gets no new session (the attempt is logged).
            banned = await gate.check_entry(
                self.rt, request.cookies.get(DEVICE_COOKIE), self._client_ip(request), "login"
            )
            if banned is not None:
                return _banned_response(banned)
            entered = await entry.do_login(
                self.rt,
                request.cookies.get(DEVICE_COOKIE),
                self._client_ip(request),
                body.get("pseudo"),
                body.get("password"),
            )
        except ClientError as exc:
            return error_response(exc)
        return await self._entered(request, entered)

    async def logout(self, request: web.Request) -> web.Response:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await entry.do_logout(self.rt, token)
        resp = web.json_response({"ok": True})
        resp.del_cookie(SESSION_COOKIE, path="/")
        return resp
