"""Blocks, friends and profile cards."""

from __future__ import annotations

from cocon.actions.common import brief, notify, now, publish, to_builtins
from cocon.errors import BadRequest, NotAllowed, NotFound
from cocon.gateway.connection import Connection
from cocon.protocol.events import BlockList, FriendInfo, Friends, FriendUpdate, ProfileCard
from cocon.runtime import Runtime
from cocon.store import social


async def _target(rt: Runtime, conn: Connection, user_id: int) -> None:
    if user_id == conn.user_id:
        raise BadRequest("C'est vous !", field="user")
    if await brief(rt, user_id) is None:
        raise NotFound("Cette personne n'existe pas.", field="user")


async def do_block(
    rt: Runtime, conn: Connection, user_id: int, blocked: bool, ref: str | None = None
) -> None:
    await _target(rt, conn, user_id)
    async with rt.engine.begin() as db:
        if blocked:
            await db.run_sync(social.add_block, conn.user_id, user_id, now())
        else:
            await db.run_sync(social.remove_block, conn.user_id, user_id)
        users = await db.run_sync(social.blocked_by, conn.user_id)
    rt.dm_facts.forget(conn.user_id, user_id)
    conn.blocked = set(users)
    conn.send(BlockList(users=users, ref=ref))
    verb = "block" if blocked else "unblock"
    await publish(rt, f"user:{conn.user_id}", BlockList(users=users), control=f"{verb} {user_id}")


async def friend_info(rt: Runtime, user_id: int, state: str) -> FriendInfo | None:
    who = await brief(rt, user_id)
    if who is None:
        return None
    online = bool(await rt.presence.online([user_id]))
    return FriendInfo(user=who, state=state, online=online)


async def _tell_both(rt: Runtime, a: int, b: int, state_for: dict[int, str | None]) -> None:
    rt.dm_facts.forget(a, b)  # the safety policy reads friendships
    for me, other in ((a, b), (b, a)):
        state = state_for[me]
        info = None if state is None else await friend_info(rt, other, state)
        await publish(rt, f"user:{me}", FriendUpdate(friend=info, user=other))


async def do_friend_request(
    rt: Runtime, conn: Connection, user_id: int, ref: str | None = None
) -> None:
    await _target(rt, conn, user_id)
    me = conn.user_id
    async with rt.engine.begin() as db:
        if await social.is_blocked_either_way(db, me, user_id):
            raise NotAllowed("Impossible d'ajouter cette personne.", code="blocked")
        current = await db.run_sync(social.friendship, me, user_id)
        if current is not None and current.state_for(me) == "incoming":
            row = await db.run_sync(
                social.put_friendship, me, user_id, current.requested_by, "friends", now()
            )
        elif current is None:
            row = await db.run_sync(social.put_friendship, me, user_id, me, "pending", now())
        else:
            row = current
    await _tell_both(rt, me, user_id, {me: row.state_for(me), user_id: row.state_for(user_id)})
    if current is None:
        who = await brief(rt, me)
        await notify(rt, user_id, "friend_request", {"from": to_builtins(who)})
    info = await friend_info(rt, user_id, row.state_for(me))
    conn.send(FriendUpdate(friend=info, user=user_id, ref=ref))


async def do_friend_answer(
    rt: Runtime, conn: Connection, user_id: int, accept: bool, ref: str | None = None
) -> None:
    me = conn.user_id
    async with rt.engine.begin() as db:
        current = await db.run_sync(social.friendship, me, user_id)
        if current is None or current.state_for(me) != "incoming":
            raise NotFound("Pas de demande d'ami de cette personne.", field="user")
        if accept:
            row = await db.run_sync(social.put_friendship, me, user_id, user_id, "friends", now())
        else:
            await db.run_sync(social.remove_friendship, me, user_id)
    state = "friends" if accept else None
    await _tell_both(rt, me, user_id, {me: state, user_id: state})
    info = await friend_info(rt, user_id, row.state_for(me)) if accept else None
    conn.send(FriendUpdate(friend=info, user=user_id, ref=ref))


async def do_friend_remove(
    rt: Runtime, conn: Connection, user_id: int, ref: str | None = None
) -> None:
    async with rt.engine.begin() as db:
        await db.run_sync(social.remove_friendship, conn.user_id, user_id)
    await _tell_both(rt, conn.user_id, user_id, {conn.user_id: None, user_id: None})
    conn.send(FriendUpdate(friend=None, user=user_id, ref=ref))


async def friends_of(rt: Runtime, user_id: int) -> list[FriendInfo]:
    rows = await rt.transactions.run(social.friendships_of, user_id)
    peers = [r.peer_of(user_id) for r in rows]
    online = await rt.presence.online(peers)
    out = []
    for row, peer in zip(rows, peers, strict=True):
        who = await brief(rt, peer)
        if who is not None:
            out.append(FriendInfo(user=who, state=row.state_for(user_id), online=peer in online))
    return out


async def do_list_friends(rt: Runtime, conn: Connection, ref: str | None = None) -> None:
    conn.send(Friends(friends=await friends_of(rt, conn.user_id), ref=ref))


async def online_changed(rt: Runtime, user_id: int, online: bool) -> None:
    """Tracker callback: tell the user's friends."""
    rows = await rt.transactions.run(social.friendships_of, user_id)
    who = await brief(rt, user_id)
    if who is None:
        return
    for row in rows:
        if row.state == "friends":
            peer = row.peer_of(user_id)
            info = FriendInfo(user=who, state="friends", online=online)
            await publish(rt, f"user:{peer}", FriendUpdate(friend=info, user=user_id))


async def do_profile(rt: Runtime, conn: Connection, user_id: int, ref: str | None = None) -> None:
    who = await brief(rt, user_id)
    if who is None:
        raise NotFound("Cette personne n'existe pas.", field="user")
    async with rt.engine.connect() as db:
        row = await db.run_sync(social.friendship, conn.user_id, user_id)
    online = bool(await rt.presence.online([user_id]))
    conn.send(
        ProfileCard(
            user=who,
            online=online,
            friend=None if row is None else row.state_for(conn.user_id),
            blocked=user_id in conn.blocked,
            ref=ref,
        )
    )
