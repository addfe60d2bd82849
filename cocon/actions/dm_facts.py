"""What a private message's send needs to know of its conversation, kept by the node.

A send to ``dm:<id>`` must know the peer, whether either blocked the other, whether they are
friends and when the conversation began (the safety policy reads the last two). Reading that
per message was a third of the send path's cost in the chat-mix benchmark; an accepted
conversation's facts change rarely, so the node keeps them for ``FRESH_S`` seconds. A miss
reads them in one statement (``store/social.conversation_facts``).

Staleness is bounded and safe: a change made on this node (a block, a friendship) drops the
facts of that pair's conversation at once (and only those: dropping every conversation's
facts at each block or friendship made a busy node read them all again); one made on
another node is seen within ``FRESH_S``. A message sent meanwhile by someone just blocked
is stored but never shown to the blocker (delivery filters blocked senders). Pending
requests are never kept: their message count is checked against the store at every send.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cocon.access import participant_of
from cocon.store import social
from cocon.store.social import ConversationRow

if TYPE_CHECKING:  # the runtime holds the cache
    from cocon.runtime import Runtime

FRESH_S = 30.0
MAX_KEPT = 100_000


@dataclass(frozen=True, slots=True)
class DmFacts:
    conv: ConversationRow
    blocked: bool  # either way
    friends: bool
    sent_while_pending: int  # entries in the stream while pending (0 once accepted)
    fetched: float = field(default_factory=time.monotonic)


@dataclass
class DmFactsCache:
    facts: dict[int, DmFacts] = field(default_factory=dict)
    by_pair: dict[tuple[int, int], int] = field(default_factory=dict)  # (lo, hi) -> conv id

    def keep(self, facts: DmFacts) -> None:
        if len(self.facts) >= MAX_KEPT:
            self.facts.clear()
            self.by_pair.clear()
        conv = facts.conv
        self.facts[conv.id] = facts
        self.by_pair[(conv.user_lo, conv.user_hi)] = conv.id

    def forget(self, a: int, b: int) -> None:
        """Something the facts of ``a``'s and ``b``'s conversation depend on changed here
        (a block either way, their friendship)."""
        conv_id = self.by_pair.pop(social.pair(a, b), None)
        if conv_id is not None:
            self.facts.pop(conv_id, None)


async def dm_facts(rt: Runtime, user_id: int, conv_id: int) -> DmFacts:
    """The facts of a conversation ``user_id`` takes part in (else NotFound)."""
    cache = rt.dm_facts
    kept = cache.facts.get(conv_id)
    if kept is not None and kept.conv.has(user_id) and time.monotonic() - kept.fetched < FRESH_S:
        return kept
    found = await rt.transactions.run(social.conversation_facts, conv_id)
    conv = participant_of(found.conv if found else None, user_id)
    assert found is not None  # else participant_of raised
    facts = DmFacts(
        conv=conv,
        blocked=found.blocked,
        friends=found.friendship == "friends",
        sent_while_pending=found.last_seq if conv.state == "pending" else 0,
    )
    if conv.state == "accepted":
        cache.keep(facts)
    return facts
