"""The speed benchmark runs (the figure itself is in docs/safety.md)."""

from __future__ import annotations

from cocon.safety.speed import load_texts, measure


def test_measure_smoke() -> None:
    texts = load_texts()[:100]
    result = measure(texts, runs=3, min_seconds=0.01)
    assert len(result.runs) == 3 and result.messages == 100
    assert result.median > 1000  # CPU messages/s; the real figure is ~50,000
