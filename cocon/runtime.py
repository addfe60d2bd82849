"""What one running node holds: settings, store, bus, presence and the local hub.

Actions receive this and use only the parts they need.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine

from cocon.actions.dm_facts import DmFactsCache
from cocon.bus.base import Bus, Presence
from cocon.config import Settings
from cocon.gateway.hub import Hub
from cocon.moderation.standing import Standing
from cocon.protocol.events import UserBrief
from cocon.safety.desk import SafetyDesk
from cocon.store.engine import Transactions
from cocon.store.media import MediaBackends
from cocon.store.streams import Appender


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    appender: Appender
    bus: Bus
    presence: Presence
    hub: Hub
    secret: bytes
    node_id: str
    transactions: Transactions  # one-hop synchronous units of work (hot write paths)
    briefs: dict[int, UserBrief] = field(default_factory=dict)
    media: MediaBackends | None = None  # storage, quarantine, hash lists (set at start)
    safety: SafetyDesk = field(default_factory=SafetyDesk)
    standing: Standing = field(default_factory=Standing)  # active mutes and restrictions
    dm_facts: DmFactsCache = field(default_factory=DmFactsCache)  # for private sends
