"""Staff API (``/staff/api/...``, its own cookie) and the user-side moderation endpoints:
``POST /api/appeal`` for people who cannot connect any more."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from cocon.actions import entry, voice_mute
from cocon.actions import moderation as actions
from cocon.errors import ClientError, RateLimited
from cocon.gateway.ratelimit import TokenBucket
from cocon.gateway.session import SESSION_COOKIE, NodeHandle
from cocon.http.api import DEVICE_COOKIE, error_response
from cocon.moderation import staff as staff_accounts
from cocon.moderation import transparency
from cocon.moderation.audit import read_heads, verify
from cocon.moderation.policy import HELD_DECISIONS
from cocon.moderation.roles import Role
from cocon.moderation.staff import Staff
from cocon.runtime import Runtime
from cocon.store import held as held_store
from cocon.store import moderation as store

STAFF_COOKIE = "cocon_staff"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _ok(value: Any) -> web.Response:
    return web.json_response(value, dumps=_dumps)


class StaffApi:
    def __init__(self, node: NodeHandle) -> None:
        self._node = node
        self._login_buckets: dict[str, TokenBucket] = {}

    @property
    def rt(self) -> Runtime:
        return self._node.runtime

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/api/appeal", self.user_appeal),
            web.post("/staff/api/login", self.login),
            web.post("/staff/api/logout", self.logout),
            web.get("/staff/api/me", self.wrap(self.me)),
            web.get("/staff/api/queue", self.wrap(self.queue)),
            web.get("/staff/api/cases/{id:\\d+}", self.wrap(self.case)),
            web.post("/staff/api/cases/{id:\\d+}/close", self.wrap(self.close_case)),
            web.get("/staff/api/reports/{id:\\d+}/evidence", self.wrap(self.evidence)),
            web.post("/staff/api/sanctions", self.wrap(self.sanction)),
            web.post("/staff/api/held/{id:\\d+}/decide", self.wrap(self.decide_held)),
            web.post("/staff/api/pending/{id:\\d+}/confirm", self.wrap(self.confirm)),
            web.get("/staff/api/appeals", self.wrap(self.appeals)),
            web.get("/staff/api/pending", self.wrap(self.pending)),
            web.get("/staff/api/users/{id:\\d+}", self.wrap(self.user_history)),
            web.post("/staff/api/appeals/{id:\\d+}/decide", self.wrap(self.decide)),
            web.get("/staff/api/evasions", self.wrap(self.evasions)),
            web.get("/staff/api/audit/verify", self.wrap(self.audit_verify, Role.ADMIN)),
            web.get("/staff/api/transparency", self.wrap(self.transparency)),
            web.get("/staff/api/voice/{room:\\d+}", self.wrap(self.voice_room)),
            web.post("/staff/api/voice/mute", self.wrap(self.mute_in_voice)),
        ]

    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError as exc:
            raise ClientError("JSON invalide.", code="bad_json") from exc
        if not isinstance(body, dict):
            raise ClientError("Un objet JSON est attendu.")
        return body

    def wrap(
        self,
        handler: Callable[[web.Request, Staff], Awaitable[Any]],
        role: Role = Role.MODERATOR,
    ) -> Handler:
        async def run(request: web.Request) -> web.StreamResponse:
            try:
                who = await staff_accounts.session_staff(self.rt, request.cookies.get(STAFF_COOKIE))
                if who is None:
                    raise ClientError("Connexion requise.", code="unauthorized")
                if who.role < role:
                    raise ClientError("Réservé aux administrateurs.", code="forbidden")
                return _ok(await handler(request, who))
            except ClientError as exc:
                return error_response(exc)

        return run

    async def login(self, request: web.Request) -> web.Response:
        try:
            ip = self._node.gateway.client_ip(request)
            bucket = self._login_buckets.setdefault(ip, TokenBucket(1 / 10, 5))
            wait = bucket.take()
            if wait:
                raise RateLimited(wait)
            body = await self._json(request)
            who, token = await staff_accounts.do_login(
                self.rt, body.get("pseudo"), body.get("password"), body.get("totp")
            )
        except ClientError as exc:
            return error_response(exc)
        resp = _ok({"staff": {"id": who.id, "pseudo": who.pseudo, "role": who.role.name.lower()}})
        resp.set_cookie(
            STAFF_COOKIE,
            token,
            max_age=int(self.rt.settings.staff_session_hours * 3600),
            httponly=True,
            samesite="Strict",
            secure=request.secure,
            path="/staff",
        )
        return resp

    async def logout(self, request: web.Request) -> web.Response:
        token = request.cookies.get(STAFF_COOKIE)
        if token:
            await staff_accounts.do_logout(self.rt, token)
        resp = _ok({"ok": True})
        resp.del_cookie(STAFF_COOKIE, path="/staff")
        return resp

    async def me(self, request: web.Request, who: Staff) -> Any:
        return {"id": who.id, "pseudo": who.pseudo, "role": who.role.name.lower()}

    async def queue(self, request: web.Request, who: Staff) -> Any:
        async with self.rt.engine.connect() as db:
            return {"cases": await store.queue(db)}

    async def case(self, request: web.Request, who: Staff) -> Any:
        return await actions.case_detail(self.rt, who, int(request.match_info["id"]))

    async def close_case(self, request: web.Request, who: Staff) -> Any:
        body = await self._json(request)
        await actions.do_close_case(
            self.rt,
            who,
            int(request.match_info["id"]),
            str(body.get("outcome", "")),
            str(body.get("reason", "")),
        )
        return {"ok": True}

    async def evidence(self, request: web.Request, who: Staff) -> Any:
        return {"report": await actions.view_evidence(self.rt, who, int(request.match_info["id"]))}

    async def sanction(self, request: web.Request, who: Staff) -> Any:
        body = await self._json(request)
        try:
            req = actions.SanctionRequest(
                kind=str(body["kind"]),
                user=int(body["user"]),
                rule=str(body.get("rule", "")),
                reason=str(body.get("reason", "")),
                facts=str(body.get("facts", "")),
                duration_s=_opt_float(body.get("duration_s")),
                room=_opt_int(body.get("room")),
                case=_opt_int(body.get("case")),
                stream=None if body.get("stream") is None else str(body["stream"]),
                seq=_opt_int(body.get("seq")),
                held=_opt_int(body.get("held")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ClientError(f"Champ manquant ou invalide : {exc}") from exc
        return await actions.do_sanction(self.rt, who, req)

    async def decide_held(self, request: web.Request, who: Staff) -> Any:
        """``{decision: "release" | "withhold", rule, reason, facts}`` on a held message: the
        same decision as ``POST /sanctions`` with ``kind`` and ``held``, its author filled in."""
        body = await self._json(request)
        decision = body.get("decision")
        if decision not in HELD_DECISIONS:
            raise ClientError("decision : « release » ou « withhold ».", field="decision")
        texts = {k: body.get(k, "") for k in ("rule", "reason", "facts")}
        for name, value in texts.items():
            if not isinstance(value, str):
                raise ClientError(f"{name} : du texte est attendu.", field=name)
        held_id = int(request.match_info["id"])
        if held_id >= 2**31:
            raise ClientError("Message retenu inconnu.", code="not_found")
        async with self.rt.engine.connect() as db:
            row = await held_store.get(db, held_id)
        if row is None:
            raise ClientError("Message retenu inconnu.", code="not_found")
        req = actions.SanctionRequest(
            kind=str(decision),
            user=row.sender_id,
            rule=str(texts["rule"]),
            reason=str(texts["reason"]),
            facts=str(texts["facts"]),
            held=held_id,
        )
        return await actions.do_sanction(self.rt, who, req)

    async def confirm(self, request: web.Request, who: Staff) -> Any:
        return await actions.do_confirm(self.rt, who, int(request.match_info["id"]))

    async def appeals(self, request: web.Request, who: Staff) -> Any:
        async with self.rt.engine.connect() as db:
            return {"appeals": await store.appeals_for(db, who.id)}

    async def decide(self, request: web.Request, who: Staff) -> Any:
        body = await self._json(request)
        await actions.do_decide_appeal(
            self.rt,
            who,
            int(request.match_info["id"]),
            bool(body.get("uphold")),
            str(body.get("reason", "")),
        )
        return {"ok": True}

    async def pending(self, request: web.Request, who: Staff) -> Any:
        async with self.rt.engine.connect() as db:
            return {"pending": await store.waiting_pending(db)}

    async def user_history(self, request: web.Request, who: Staff) -> Any:
        return await actions.user_history(self.rt, who, int(request.match_info["id"]))

    async def evasions(self, request: web.Request, who: Staff) -> Any:
        async with self.rt.engine.connect() as db:
            return {"evasions": await store.recent_evasions(db)}

    async def audit_verify(self, request: web.Request, who: Staff) -> Any:
        async with self.rt.engine.connect() as db:
            entries = await store.audit_entries(db)
            count = await store.audit_stored_count(db)
        heads = read_heads(self.rt.settings.data_dir)
        problems = verify(entries, heads, count)
        await actions.audit(self.rt).append(who.actor, "audit_verify", "audit", "")
        return {"entries": len(entries), "heads": len(heads), "problems": problems}

    async def transparency(self, request: web.Request, who: Staff) -> Any:
        try:
            start = float(request.query.get("from", "0"))
            end = float(request.query.get("to", "1e12"))
        except ValueError as exc:
            raise ClientError("from/to : secondes depuis 1970.") from exc
        return await transparency.report(self.rt.engine, start, end)

    async def voice_room(self, request: web.Request, who: Staff) -> Any:
        room = int(request.match_info["room"])
        if room >= 2**31:
            raise ClientError("Ce salon n'existe pas.", code="not_found")
        return await voice_mute.voice_room(self.rt, who, room)

    async def mute_in_voice(self, request: web.Request, who: Staff) -> Any:
        """``{room, user, muted, rule, reason}``: the same action as the chat's ``voice_mute``."""
        body = await self._json(request)
        room, user, muted = body.get("room"), body.get("user"), body.get("muted", True)
        rule, reason = body.get("rule", ""), body.get("reason", "")
        for name, value in (("room", room), ("user", user)):
            if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 2**31:
                raise ClientError(f"{name} : un numéro est attendu.", field=name)
        if not isinstance(muted, bool):
            raise ClientError("muted : true ou false.", field="muted")
        for name, value in (("rule", rule), ("reason", reason)):
            if not isinstance(value, str):
                raise ClientError(f"{name} : du texte est attendu.", field=name)
        assert isinstance(room, int) and isinstance(user, int) and isinstance(rule, str)
        assert isinstance(reason, str)
        return await voice_mute.do_mute(self.rt, who, room, user, muted, rule, reason)

    async def user_appeal(self, request: web.Request) -> web.Response:
        """For a banned person: their session cookie, or their device cookie, identifies them."""
        try:
            body = await self._json(request)
            sanction_id = int(body.get("sanction", 0))
            text = str(body.get("text", ""))
            user = await entry.session_user(self.rt, request.cookies.get(SESSION_COOKIE))
            user_id = user.id if user is not None else None
            if user_id is None:
                user_id = await self._user_of_device(request, sanction_id)
            if user_id is None:
                raise ClientError("Session inconnue.", code="unauthorized")
            appeal_id = await actions.do_appeal(self.rt, user_id, sanction_id, text)
        except ClientError as exc:
            return error_response(exc)
        except ValueError:
            return error_response(ClientError("sanction : un nombre est attendu."))
        return _ok({"appeal": appeal_id})

    async def _user_of_device(self, request: web.Request, sanction_id: int) -> int | None:
        from cocon.domain.tokens import token_id

        device = request.cookies.get(DEVICE_COOKIE)
        if not device or len(device) > 200:
            return None
        async with self.rt.engine.connect() as db:
            sanction = await store.sanction(db, sanction_id)
            if sanction is None:
                return None
            devices = await store.devices_of(db, int(sanction["user_id"]))
        return int(sanction["user_id"]) if token_id(device) in devices else None


def _opt_int(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def _opt_float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
