"""Shared pieces of the actions: user briefs, stream events and publication."""

from __future__ import annotations

import time
from collections.abc import Iterable
from collections.abc import Set as AbstractSet

import msgspec

from cocon.bus.base import BusMessage
from cocon.protocol.events import Event, Hidden, Message, Notice, UserBrief, encode
from cocon.runtime import Runtime
from cocon.store import identities
from cocon.store.identities import UserRow
from cocon.store.streams import Appended, AppendRequest, Entry

_json = msgspec.json.Encoder()
_decode_data = msgspec.json.Decoder(dict[str, object])


def now() -> float:
    return time.time()


def brief_of(user: UserRow) -> UserBrief:
    return UserBrief(
        id=user.id,
        pseudo=user.pseudo,
        gender=user.gender,
        age=user.age,
        dep=user.dep,
        registered=user.registered,
    )


def remember(rt: Runtime, user: UserRow) -> UserBrief:
    brief = brief_of(user)
    rt.briefs[user.id] = brief
    return brief


async def briefs(rt: Runtime, user_ids: Iterable[int]) -> dict[int, UserBrief]:
    """Briefs by id, from the node's cache or the store (unknown ids are left out)."""
    ids = set(user_ids)
    found = {i: rt.briefs[i] for i in ids if i in rt.briefs}
    missing = [i for i in ids if i not in found]
    if missing:
        for user in await rt.transactions.run(identities.users_by_ids, missing):
            found[user.id] = remember(rt, user)
    return found


async def brief(rt: Runtime, user_id: int) -> UserBrief | None:
    return (await briefs(rt, [user_id])).get(user_id)


def text_request(
    stream: str,
    sender: int,
    cid: str,
    text: str,
    mentions: list[int],
    media: int | None = None,
    flag: str | None = None,
) -> AppendRequest:
    fields: dict[str, object] = {"m": mentions} if mentions else {}
    if media is not None:
        fields["media"] = media  # the media row's id; its info is rebuilt when read
    if flag is not None:
        fields["f"] = flag  # shown behind a click (safety policy)
    data = _json.encode(fields).decode() if fields else None
    return AppendRequest(stream, "text", sender, cid, text, data, now())


def notice_request(stream: str, kind: str, data: dict[str, object]) -> AppendRequest:
    return AppendRequest(stream, "notice", None, None, kind, _json.encode(data).decode(), now())


async def entry_events(
    rt: Runtime, entries: list[Entry], blocked: AbstractSet[int], replay: bool = False
) -> list[Message | Notice | Hidden]:
    """Client events for stored entries; those from users the reader blocked are hidden."""
    from cocon.actions.media import infos

    senders = await briefs(rt, {e.sender_id for e in entries if e.sender_id is not None})
    datas = {
        (e.stream, e.seq): _decode_data.decode(e.data)
        for e in entries
        if e.kind == "text" and e.data
    }
    media = await infos(rt, [m for d in datas.values() if isinstance(m := d.get("media"), int)])
    out: list[Message | Notice | Hidden] = []
    for e in entries:
        if e.kind == "notice":
            out.append(
                Notice(
                    stream=e.stream,
                    seq=e.seq,
                    kind=e.body,
                    data=_decode_data.decode(e.data or "{}"),
                    ts=e.ts,
                    replay=replay,
                )
            )
            continue
        sender = senders.get(e.sender_id or 0)
        if sender is None or e.sender_id in blocked:
            out.append(Hidden(stream=e.stream, seq=e.seq, replay=replay))
            continue
        data = datas.get((e.stream, e.seq), {})
        mentions = data.get("m", [])
        media_id = data.get("media")
        out.append(
            Message(
                stream=e.stream,
                seq=e.seq,
                sender=sender,
                text=e.body,
                ts=e.ts,
                mentions=list(mentions),  # type: ignore[call-overload]
                cid=e.cid,
                replay=replay,
                media=media.get(media_id) if isinstance(media_id, int) else None,
                flag=flag if isinstance(flag := data.get("f"), str) else None,
            )
        )
    return out


async def publish_entry(
    rt: Runtime, done: Appended, event: Message | Notice, sender: int = 0
) -> None:
    await rt.bus.publish(BusMessage(done.stream, encode(event), seq=done.seq, sender=sender))


async def publish(
    rt: Runtime, topic: str, event: Event, sender: int = 0, control: str = ""
) -> None:
    """A non-durable event (presence, typing, updates) to every subscriber of ``topic``."""
    await rt.bus.publish(BusMessage(topic, encode(event), sender=sender, control=control))


async def publish_control(rt: Runtime, user_id: int, control: str) -> None:
    """Ask every node serving ``user_id`` to act on their connections (``control`` verb and
    argument, handled by the node's control handler in ``node.py``); nothing is sent to
    the user."""
    await rt.bus.publish(BusMessage(f"user:{user_id}", b"", control=control))


async def notify(rt: Runtime, user_id: int, kind: str, data: dict[str, object]) -> None:
    """Append a durable notice to a user's inbox stream, then publish it."""
    done = await rt.appender.append(notice_request(f"user:{user_id}", kind, data))
    event = Notice(stream=done.stream, seq=done.seq, kind=kind, data=data, ts=done.ts)
    await publish_entry(rt, done, event)


def to_builtins(obj: object) -> dict[str, object]:
    result = msgspec.to_builtins(obj)
    assert isinstance(result, dict)
    return result
