"""Per-label precision / recall of the analyzer on labelled JSON-lines files.

``python -m cocon.safety.evaluate tests/safety/devset.jsonl [more.jsonl ...]`` prints,
for each file, a Markdown table (label, support, TP, FP, FN, precision, recall, F1) and
the three goals: micro-F1, ``minor`` recall and the share of benign messages (no gold
label) that get any label.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cocon.safety.analyzer import LABELS, analyze


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    labels: frozenset[str]


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(slots=True)
class Report:
    name: str
    size: int = 0
    per_label: dict[str, Counts] = field(default_factory=lambda: {lb: Counts() for lb in LABELS})
    benign: int = 0
    benign_flagged: int = 0
    errors: list[tuple[str, list[str], list[str]]] = field(default_factory=list)

    @property
    def micro(self) -> Counts:
        total = Counts()
        for c in self.per_label.values():
            total.tp += c.tp
            total.fp += c.fp
            total.fn += c.fn
        return total

    @property
    def benign_fpr(self) -> float:
        return self.benign_flagged / self.benign if self.benign else 0.0


def load(path: str | Path) -> list[Example]:
    out: list[Example] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(Example(str(row["text"]), frozenset(row.get("labels", []))))
    return out


def evaluate(examples: Iterable[Example], name: str = "") -> Report:
    report = Report(name)
    for ex in examples:
        report.size += 1
        got = analyze(ex.text).labels
        if not ex.labels:
            report.benign += 1
            report.benign_flagged += bool(got)
        for label in LABELS:
            c = report.per_label[label]
            if label in got and label in ex.labels:
                c.tp += 1
            elif label in got:
                c.fp += 1
            elif label in ex.labels:
                c.fn += 1
        if got != ex.labels:
            report.errors.append((ex.text, sorted(ex.labels), sorted(got)))
    return report


def render(report: Report) -> str:
    lines = [
        f"### {report.name} ({report.size} messages, {report.benign} benign)",
        "",
        "| label | support | TP | FP | FN | precision | recall | F1 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, c in report.per_label.items():
        lines.append(
            f"| {label} | {c.tp + c.fn} | {c.tp} | {c.fp} | {c.fn} | "
            f"{c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} |"
        )
    m = report.micro
    lines.append(
        f"| **micro** | {m.tp + m.fn} | {m.tp} | {m.fp} | {m.fn} | "
        f"{m.precision:.3f} | {m.recall:.3f} | {m.f1:.3f} |"
    )
    lines += [
        "",
        f"- micro-F1 {m.f1:.3f} (goal >= 0.85)",
        f"- minor recall {report.per_label['minor'].recall:.3f} (goal >= 0.90)",
        f"- benign messages flagged {report.benign_flagged}/{report.benign} = "
        f"{report.benign_fpr:.1%} (goal <= 5%)",
        f"- exact-match messages {report.size - len(report.errors)}/{report.size}",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    show_errors = "--errors" in args
    paths = [a for a in args if a != "--errors"] or ["tests/safety/devset.jsonl"]
    for path in paths:
        report = evaluate(load(path), name=Path(path).name)
        print(render(report))
        if show_errors:
            for text, gold, got in report.errors:
                print(f"  gold={','.join(gold) or '-'} got={','.join(got) or '-'}  {text}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
