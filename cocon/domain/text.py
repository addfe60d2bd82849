"""Message text rules: length, trimming, control characters, mentions."""

from __future__ import annotations

import re
import unicodedata

from cocon.errors import BadRequest

# Letters (with accents), digits, _ and -: the pseudo alphabet.
_MENTION = re.compile(r"@([^\W_][\w-]{1,19}|_[\w-]{2,19})")


def clean_text(raw: str, max_chars: int) -> str:
    """Trimmed text without control or bidi-override characters; errors are for the client."""
    if raw.isprintable():  # nothing to drop (the usual case): skip the per-character pass
        text = raw.strip()
    else:
        text = "".join(
            ch
            for ch in raw
            if ch in "\n\t\u200d" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co")
        ).strip()
    if not text:
        raise BadRequest("Le message est vide.", code="empty")
    if len(text) > max_chars:
        raise BadRequest(
            f"Le message dépasse {max_chars} caractères.", code="too_long", field="text"
        )
    return text


def mentioned_pseudos(text: str) -> set[str]:
    """The pseudos written as ``@Pseudo`` in a text (not yet resolved to users)."""
    return {m.group(1) for m in _MENTION.finditer(text)}
