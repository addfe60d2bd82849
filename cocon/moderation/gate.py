"""Where restrictions bite: entry and hello (bans, evasion), sending (mutes)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from cocon.domain.tokens import keyed_hash, token_id
from cocon.errors import ClientError, NotAllowed
from cocon.moderation.policy import network_of
from cocon.runtime import Runtime
from cocon.store import moderation as store
from cocon.store.identities import UserRow


class Banned(ClientError):
    code = "banned"

    def __init__(self, message: str, sanction: dict[str, Any]) -> None:
        super().__init__(message)
        self.sanction = sanction


def net_key(rt: Runtime, ip: str) -> str | None:
    """Keyed hash of the /24 or /64 of ``ip``: a ban can match it, nobody can read it."""
    net = network_of(ip)
    return None if net is None else keyed_hash(rt.secret, "net:" + net)


def _until(ends_at: float | None) -> str:
    if ends_at is None:
        return "définitivement"
    return "jusqu'au " + datetime.fromtimestamp(ends_at, UTC).strftime("%d/%m/%Y %H:%M UTC")


def _refusal(ban: dict[str, Any]) -> Banned:
    message = (
        f"Accès refusé : bannissement n°{ban['id']} ({ban['rule']}), {_until(ban['ends_at'])}. "
        "Vous pouvez contester : POST /api/appeal."
    )
    public = {
        "id": ban["id"],
        "rule": ban["rule"],
        "reason": ban["reason"],
        "ends_at": ban["ends_at"],
        "appeal": "/api/appeal",
    }
    return Banned(message, public)


async def check_entry(rt: Runtime, device_token: str | None, ip: str, via: str) -> Banned | None:
    """Before /api/login: a banned device or network gets no new session."""
    net = net_key(rt, ip)
    return await rt.transactions.run(entry_refusal, device_token, net, via, time.time())


def entry_refusal(
    db: Connection, device_token: str | None, net: str | None, via: str, t: float
) -> Banned | None:
    """In the caller's transaction, before a new pseudo or session is made: the ban of this
    device or network, if any (the attempt is logged as an evasion, so the caller commits)."""
    devices = [token_id(device_token)] if device_token and len(device_token) <= 200 else []
    found = store.active_ban(db, None, devices, [net] if net else [], t)
    if found is None:
        return None
    ban, matched = found
    store.add_evasion(db, ban["id"], None, via, matched, t)
    return _refusal(ban)


def hello_refusal(db: Connection, user: UserRow, net: str | None, t: float) -> Banned | None:
    """At WebSocket hello, in the caller's transaction: record where the user comes from,
    and the ban that refuses them, if any (an evasion is logged, so the caller commits).

    A network match only refuses pseudos created after the ban: people who shared the
    network before (a family, a school) keep their access.
    """
    devices = [user.device_id] if user.device_id else []
    if net is not None:
        record_network(db, user.id, net, t)
    found = store.active_ban(db, user.id, devices, [net] if net else [], t)
    refusal = None if found is None else _refusal(found[0])
    if found is not None and found[1] == "net":
        created = store.user_created_at(db, user.id)
        if created is not None and created < found[0]["starts_at"]:
            refusal = None
    if refusal is not None and found is not None and found[1] != "user":
        store.add_evasion(db, found[0]["id"], user.id, "hello", found[1], t)
    return refusal


def record_network(db: Connection, user_id: int, net: str, t: float) -> None:
    """Write, in the caller's transaction, where ``user_id`` connects from (so that a ban of
    the network finds the pseudos behind it), or when they last did."""
    store.touch_network(db, user_id, net, t)


async def check_send(rt: Runtime, user_id: int, room_id: int | None) -> None:
    """Refuse a send from a muted user (room mute: that room; global: everywhere).

    The send path stays a dict lookup: see :mod:`cocon.moderation.standing` for how
    fresh the node's view of mutes is.
    """
    standing = await rt.standing.current(rt.engine, rt.settings.mute_cache_s)
    scopes = standing.mutes_of(user_id)
    if not scopes:
        return
    t = time.time()
    for scope, ends_at in scopes:
        if ends_at is not None and ends_at <= t:
            continue
        if scope is None or scope == room_id:
            raise NotAllowed(
                f"La modération vous a interdit d'écrire {_until(ends_at)}.", code="muted"
            )
