"""``analyze(text) -> Analysis``: the public entry point of the message analyzer."""

from __future__ import annotations

from dataclasses import dataclass, field

from cocon.safety.detectors import LABELS, detect
from cocon.safety.normalize import Normalized, normalize

__all__ = ["LABELS", "Analysis", "analyze", "analyze_normalized"]

THRESHOLD = 0.5  # a label is put on the message when its score reaches this
MAX_CHARS = 4000  # longer texts are cut (chat messages are far shorter)


@dataclass(frozen=True, slots=True)
class Analysis:
    """Labels put on a message and the scores behind them (labels with score > 0)."""

    labels: frozenset[str]
    scores: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "labels": sorted(self.labels),
            "scores": {k: round(v, 3) for k, v in sorted(self.scores.items())},
        }


_EMPTY = Analysis(frozenset(), {})


def analyze_normalized(
    n: Normalized, *, threshold: float = THRESHOLD, prefilter: bool = True
) -> Analysis:
    scores = detect(n, prefilter=prefilter)
    if not scores:
        return _EMPTY
    return Analysis(frozenset(k for k, v in scores.items() if v >= threshold), scores)


def analyze(text: str, *, threshold: float = THRESHOLD, prefilter: bool = True) -> Analysis:
    """Normalize ``text`` and run every detector; see ``docs/safety.md``."""
    if len(text) > MAX_CHARS:
        text = text[:MAX_CHARS]
    return analyze_normalized(normalize(text), threshold=threshold, prefilter=prefilter)
