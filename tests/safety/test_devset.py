"""The labelled sets meet the quality goals (see docs/safety.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from cocon.safety import analyze
from cocon.safety.evaluate import evaluate, load, render

HERE = Path(__file__).parent
DEV = HERE / "devset.jsonl"
HOLDOUT = HERE / "holdout.jsonl"


def test_devset_size_and_shape() -> None:
    examples = load(DEV)
    assert len(examples) >= 600
    assert sum(1 for e in examples if not e.labels) >= 150  # many hard negatives
    assert len(load(HOLDOUT)) >= 150


def test_devset_goals() -> None:
    report = evaluate(load(DEV), "dev")
    assert report.micro.f1 >= 0.85, render(report)
    assert report.per_label["minor"].recall >= 0.90, render(report)
    assert report.benign_fpr <= 0.05, render(report)


def test_holdout_floor() -> None:
    """The untuned split: goals on F1 and false positives; minor recall has a lower floor
    (0.88 measured when the rules were frozen, see docs/safety.md)."""
    report = evaluate(load(HOLDOUT), "holdout")
    assert report.micro.f1 >= 0.85, render(report)
    assert report.per_label["minor"].recall >= 0.85, render(report)
    assert report.benign_fpr <= 0.05, render(report)


@pytest.mark.parametrize("path", [DEV, HOLDOUT], ids=["dev", "holdout"])
def test_prefilter_is_lossless_on_the_sets(path: Path) -> None:
    for ex in load(path):
        assert analyze(ex.text).labels == analyze(ex.text, prefilter=False).labels, ex.text
