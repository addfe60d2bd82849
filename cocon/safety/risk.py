"""Conversation risk: grooming signals combined over time, per direction.

:class:`ConversationRisk` is pure and I/O-free.  It is fed every message of one private
conversation as ``observe(sender_id, sender_declared_age, labels, timestamp)`` (labels
from :func:`cocon.safety.analyze`) and answers, for each direction sender → recipient,
a score in [0, 1], a level (``low`` / ``medium`` / ``high``) and the reasons, in French.

Score of a direction (all constants in :class:`RiskConfig`):

1. every grooming category the sender used (``age_probe``, ``image_request``,
   ``sexual``, ``secrecy``, ``off_platform``, ``meeting``, ``commercial_sex``, ``pii``)
   adds its weight, once, decayed by the age of its last use (half-life
   ``half_life_seconds``; older than ``window_seconds`` counts for nothing);
2. ``escalation_bonus`` is added when ``escalation_categories`` distinct categories or
   more were used;
3. the sum is multiplied by the age factor of the pair: adult (or unknown) sender to a
   recipient who declared an age under 18 or revealed being a minor → ``minor_factor``;
   both minors → ``peer_factor``; both declared adults → ``adult_factor``; otherwise
   ``unknown_factor``;
4. ``after_reveal_bonus`` is added when the sender kept sending signals after the
   recipient said they were a minor; the score is capped at 1.

Levels: ``score >= high`` → high, ``score >= medium`` → medium, else low.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

DEFAULT_WEIGHTS: Mapping[str, float] = MappingProxyType({
    "age_probe": 0.15,
    "image_request": 0.25,
    "sexual": 0.3,
    "secrecy": 0.25,
    "off_platform": 0.15,
    "meeting": 0.2,
    "commercial_sex": 0.2,
    "pii": 0.05,
})

REASONS: Mapping[str, str] = MappingProxyType({
    "age_probe": "a demandé l'âge, l'année de naissance ou la classe",
    "image_request": "a demandé des photos, des vidéos ou la webcam",
    "sexual": "a tenu des propos sexuels",
    "secrecy": "a demandé de garder le secret ou d'effacer les messages",
    "off_platform": "a poussé à continuer sur une autre application ou demandé un contact",
    "meeting": "a proposé une rencontre ou demandé où l'autre habite",
    "commercial_sex": "a parlé de contenu ou de relations sexuelles payantes",
    "pii": "a partagé des coordonnées",
})


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """Every threshold of the conversation risk (see the module docstring)."""

    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    window_seconds: float = 14 * 24 * 3600.0
    half_life_seconds: float = 3 * 24 * 3600.0
    escalation_categories: int = 3
    escalation_bonus: float = 0.15
    minor_factor: float = 2.0
    peer_factor: float = 0.6
    adult_factor: float = 0.25
    unknown_factor: float = 1.0
    after_reveal_bonus: float = 0.2
    medium: float = 0.4
    high: float = 0.7
    adult_age: int = 18


@dataclass(frozen=True, slots=True)
class RiskAssessment:
    sender_id: str
    recipient_id: str | None
    score: float
    level: str  # "low" | "medium" | "high"
    reasons: tuple[str, ...]
    categories: frozenset[str] = frozenset()


@dataclass(slots=True)
class _Participant:
    declared_age: int | None = None
    revealed_minor_at: float | None = None
    # category -> (last timestamp, sent after the other revealed being a minor)
    signals: dict[str, tuple[float, bool]] = field(default_factory=dict)


class ConversationRisk:
    """Grooming risk of a private conversation, per direction; pure and I/O-free."""

    def __init__(self, config: RiskConfig | None = None) -> None:
        self.config = config or RiskConfig()
        self._people: dict[str, _Participant] = {}
        self._last_ts = 0.0

    def observe(
        self,
        sender_id: str,
        sender_declared_age: int | None,
        labels: Iterable[str],
        timestamp: float,
    ) -> None:
        """Record one message of ``sender_id`` (labels from the analyzer)."""
        cfg = self.config
        labels = frozenset(labels)
        me = self._people.setdefault(sender_id, _Participant())
        if sender_declared_age is not None:
            me.declared_age = sender_declared_age
        if "minor" in labels and me.revealed_minor_at is None:
            me.revealed_minor_at = timestamp
        other_minor = any(self._is_minor(p) for pid, p in self._people.items() if pid != sender_id)
        for label in labels:
            if label in cfg.weights:
                _, before = me.signals.get(label, (0.0, False))
                me.signals[label] = (timestamp, before or other_minor)
        self._last_ts = max(self._last_ts, timestamp)

    def _is_minor(self, p: _Participant) -> bool:
        age = p.declared_age
        return p.revealed_minor_at is not None or (age is not None and age < self.config.adult_age)

    def _factor(self, sender: _Participant, recipient: _Participant | None) -> tuple[float, str]:
        cfg = self.config
        if recipient is None:
            return cfg.unknown_factor, ""
        if self._is_minor(recipient):
            if self._is_minor(sender):
                return cfg.peer_factor, "les deux personnes sont mineures"
            return cfg.minor_factor, "le destinataire a déclaré ou révélé être mineur"
        s_age, r_age = sender.declared_age, recipient.declared_age
        if s_age is not None and r_age is not None and min(s_age, r_age) >= cfg.adult_age:
            return cfg.adult_factor, ""
        return cfg.unknown_factor, ""

    def assess(self, sender_id: str, now: float | None = None) -> RiskAssessment:
        """Risk of what ``sender_id`` sent to the other participant."""
        cfg = self.config
        now = self._last_ts if now is None else now
        sender = self._people.get(sender_id)
        others = [pid for pid in self._people if pid != sender_id]
        recipient_id = others[0] if others else None
        if sender is None:
            return RiskAssessment(sender_id, recipient_id, 0.0, "low", ())
        recipient = self._people.get(recipient_id) if recipient_id is not None else None
        base = 0.0
        used: list[str] = []
        after_reveal = False
        for label, (ts, after) in sender.signals.items():
            age = max(0.0, now - ts)
            if age > cfg.window_seconds:
                continue
            base += cfg.weights[label] * math.pow(0.5, age / cfg.half_life_seconds)
            used.append(label)
            after_reveal = after_reveal or after
        reasons = [REASONS.get(label, label) for label in sorted(used)]
        if len(used) >= cfg.escalation_categories:
            base += cfg.escalation_bonus
            reasons.append("plusieurs signaux de mise en confiance combinés")
        factor, why = self._factor(sender, recipient)
        score = base * factor
        if why:
            reasons.append(why)
        if (
            after_reveal
            and recipient is not None
            and self._is_minor(recipient)
            and not self._is_minor(sender)
        ):
            score += cfg.after_reveal_bonus
            reasons.append("a continué après que le destinataire a dit être mineur")
        score = min(1.0, round(score, 4))
        level = "high" if score >= cfg.high else "medium" if score >= cfg.medium else "low"
        return RiskAssessment(sender_id, recipient_id, score, level, tuple(reasons),
                              frozenset(used))

    def directions(self, now: float | None = None) -> list[RiskAssessment]:
        """One assessment per participant who sent something."""
        return [self.assess(pid, now) for pid in self._people]

    def highest(self, now: float | None = None) -> RiskAssessment | None:
        found = self.directions(now)
        return max(found, key=lambda a: a.score) if found else None

    def recipient_is_minor(self, sender_id: str) -> bool:
        """Whether the other participant declared or revealed being a minor."""
        return any(self._is_minor(p) for pid, p in self._people.items() if pid != sender_id)
