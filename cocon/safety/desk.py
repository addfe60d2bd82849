"""What one node remembers for safety: conversation risks and private rooms (caches only).

Nothing here is the source of truth: risks are rebuilt from the stored conversation, and
privacy is a column of the room; a new node or a restart simply starts cold.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from cocon.safety.policy import PolicyConfig
from cocon.safety.risk import ConversationRisk


@dataclass(slots=True)
class TrackedRisk:
    risk: ConversationRisk
    last_seq: int  # the last entry of the conversation the risk has seen


@dataclass(slots=True)
class SafetyDesk:
    config: PolicyConfig = field(default_factory=PolicyConfig)
    risks: OrderedDict[int, TrackedRisk] = field(default_factory=OrderedDict)
    private_rooms: dict[int, bool] = field(default_factory=dict)
