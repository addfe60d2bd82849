"""A private conversation's risk catches up from the store only on entries it has not seen.

``actions/safety._risk`` runs at every private send. It reads the conversation's entries
after the last one its risk counted, unless the hub says no later entry went out on this
node. Real store (migrated SQLite), real hub and bus; the entries are written the way the
appender writes them, "by another node" (not screened here).
"""

from __future__ import annotations

import time
import uuid
from types import SimpleNamespace
from typing import cast

from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.actions.common import text_request
from cocon.actions.safety import _risk
from cocon.bus.base import BusMessage
from cocon.bus.memory import MemoryBus
from cocon.gateway.hub import Hub
from cocon.runtime import Runtime
from cocon.safety.desk import SafetyDesk
from cocon.store import social
from cocon.store.engine import Transactions
from cocon.store.streams import Appended, write_batch
from tests.store_users import store_user


async def test_the_store_is_read_only_for_entries_the_risk_has_not_seen(
    engine: AsyncEngine,
) -> None:
    adult = await store_user(engine, "Adulte", 35)
    young = await store_user(engine, "Jeune", 16)
    async with engine.begin() as db:
        conv = await social.create_conversation(db, adult, young, time.time())
    stream = conv.stream
    hub = Hub(MemoryBus())
    transactions = Transactions(engine)
    rt = cast(
        Runtime, SimpleNamespace(transactions=transactions, hub=hub, safety=SafetyDesk(), briefs={})
    )

    async def stored(sender: int, text: str, published: bool) -> int:
        request = text_request(stream, sender, uuid.uuid4().hex, text, [])
        [done] = await transactions.run(write_batch, [request])
        assert isinstance(done, Appended)
        if published:  # as the bus brings another node's publication
            hub.deliver(BusMessage(stream, b"{}", seq=done.seq, sender=sender))
        return done.seq

    try:
        # Cold: nothing fanned out here yet, the store is read.
        first = await stored(adult, "salut", published=False)
        tracked = await _risk(rt, conv.id, stream)
        assert tracked.last_seq == first
        assert not tracked.risk.recipient_is_minor(str(adult))
        # The young one's message went out here: it is read, and counted.
        said = await stored(young, "coucou", published=True)
        tracked = await _risk(rt, conv.id, stream)
        assert tracked.last_seq == said
        assert tracked.risk.recipient_is_minor(str(adult))  # declared 16, seen in the store
        # An entry this node did not fan out (its publication is still on the way) is
        # not looked for: the risk is up to date with what the hub has seen.
        late = await stored(young, "tu es là ?", published=False)
        assert (await _risk(rt, conv.id, stream)).last_seq == said
        # The next publication brings both.
        last = await stored(young, "allô", published=True)
        assert late < last
        assert (await _risk(rt, conv.id, stream)).last_seq == last
    finally:
        await transactions.close()
