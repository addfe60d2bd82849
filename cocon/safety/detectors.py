"""Compiled detectors: one alternation per label and strength, tried behind a prefilter.

The prefilter maps the first four characters of every token (or the whole token when it
is shorter) to the labels whose patterns mention it; a label's regexes only run when one
of its trigger prefixes is present, when the message holds a digit (for labels that need
numbers), or on ``@`` / links.  Most chat lines trigger few labels, so most messages cost
a normalization and a handful of dict lookups.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from cocon.safety import patterns_abuse  # noqa: F401  (registers the abuse rules)
from cocon.safety.normalize import Normalized
from cocon.safety.patterns import RULES

LABELS: tuple[str, ...] = (
    "minor", "age_probe", "sexual", "image_request", "off_platform", "meeting", "secrecy",
    "pii", "commercial_sex", "drugs", "scam", "harassment",
)
STRONG = 0.9
WEAK = 0.6
VETO_FACTOR = 0.3
CONTACT_PUSH = 0.8  # off_platform score given to a disclosed phone, e-mail or handle


def _compile(parts: Iterable[str]) -> re.Pattern[str] | None:
    parts = tuple(parts)
    if not parts:
        return None
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(parts) + ")")


@dataclass(frozen=True, slots=True)
class _Compiled:
    label: str
    strong: re.Pattern[str] | None
    weak: re.Pattern[str] | None
    veto: re.Pattern[str] | None


COMPILED: dict[str, _Compiled] = {
    label: _Compiled(
        label, _compile(RULES[label].strong), _compile(RULES[label].weak),
        _compile(RULES[label].veto),
    )
    for label in LABELS
}

_PREFILTER: dict[str, frozenset[str]] = {}
for _label in LABELS:
    for _trig in RULES[_label].triggers:
        _key = _trig[:4]
        _PREFILTER[_key] = _PREFILTER.get(_key, frozenset()) | {_label}
_AGE_NUMBER = frozenset({"minor", "age_probe"})
_MONEY = frozenset({"scam", "commercial_sex", "drugs"})
_CONTACT = frozenset({"pii", "off_platform"})
_MONEY_SUFFIX = ("e", "eur", "euro", "euros", "k", "balles", "g", "gr")

# Contact data, on the ``low`` form (punctuation kept) or the normalized one.
_EMAIL = re.compile(r"[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}")
_APP = (
    r"(?:snap(?:chat)?|insta(?:gram)?|ig|sc|tik ?tok|discord|kik|telegram|twitter|twitch|fb"
    r"|facebook|skype|whatsapp|👻)"
)
_HANDLE = re.compile(
    r"(?<![a-z0-9])" + _APP + r"\b\s*(?::|=|->|→|>)+\s*@?[a-z0-9_.\-]{3,}"
    r"|(?<![a-z0-9])" + _APP + r"\b\s*(?:c'est|c est|cest|c|est|la|ici)?\s*:?\s*@?"
    r"(?=[a-z0-9_.]*[0-9_.])[a-z][a-z0-9_.]{2,}"
    r"|@[a-z0-9_.]{3,}\s+(?:sur|on|en|c'est mon)\s+" + _APP
    + r"|(?:ajoute|add|ajoutez)[ -]?moi\s+(?:sur\s+\S+\s+)?@?"
    r"(?=[a-z0-9_.]*[0-9_.])[a-z][a-z0-9_.]{2,}"
    r"|\b[a-z0-9_.]{2,}#\d{4}\b"
)
_PHONE = re.compile(
    r"(?<![0-9])(?:0|33 ?0?|0033 ?)[1-9](?: ?\d{2}){4}(?![0-9])"
    r"|(?<![a-z])\w+ (?:arobase|at) (?:gmail|hotmail|yahoo|outlook|orange|free|sfr|laposte"
    r"|icloud|live)\b"
)


def _numbers(tokens: tuple[str, ...], found: set[str]) -> int:
    """Labels suggested by the numbers of a message; returns how many digits it holds."""
    digits = 0
    for tok in tokens:
        if not tok[0].isdigit():
            continue
        if tok.isdigit():
            digits += len(tok)
            if len(tok) <= 2 or (len(tok) == 4 and tok[:2] in ("19", "20")):
                found |= _AGE_NUMBER
        else:
            head = tok.rstrip("abcdefghijklmnopqrstuvwxyz")
            digits += len(head)
            if tok[len(head):] in _MONEY_SUFFIX:
                found |= _MONEY
            found |= _AGE_NUMBER  # 15a, 4eme, 2nde, 1ere
    if digits >= 4:
        found |= _CONTACT
    return digits


def candidates(n: Normalized) -> set[str]:
    """Labels whose patterns are worth trying on this message."""
    found: set[str] = set()
    pre = _PREFILTER
    for tok in n.tokens:
        hit = pre.get(tok[:4])
        if hit is not None:
            found |= hit
    if n.has_digit:
        _numbers(n.tokens, found)
    if "@" in n.low:
        found.update(("pii", "off_platform"))
    if "http" in n.low or "www" in n.low:
        found.add("scam")
    return found


def detect(n: Normalized, *, prefilter: bool = True) -> dict[str, float]:
    """Scores in (0, 1] of the labels that fired (only non-zero scores are returned)."""
    scores: dict[str, float] = {}
    norm = n.norm
    todo: Iterable[str] = candidates(n) if prefilter else LABELS
    for label in todo:
        comp = COMPILED[label]
        score = 0.0
        if comp.strong is not None and comp.strong.search(norm) is not None:
            score = STRONG
        elif comp.weak is not None and comp.weak.search(norm) is not None:
            score = WEAK
        if score and comp.veto is not None and comp.veto.search(norm) is not None:
            score *= VETO_FACTOR
        if score:
            scores[label] = score
    low = n.low
    contact = False
    if ("@" in low or "pii" in todo or "off_platform" in todo) and (
        ("@" in low and _EMAIL.search(low) is not None) or _HANDLE.search(low) is not None
    ):
        contact = True
    if not contact and (
        (n.has_digit and "pii" in todo) or " at " in norm or "arobase" in norm
    ):
        contact = _PHONE.search(norm) is not None
    if contact:
        scores["pii"] = STRONG
        scores["off_platform"] = max(scores.get("off_platform", 0.0), CONTACT_PUSH)
    return scores
