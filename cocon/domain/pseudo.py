"""Pseudo (nickname) validation, uniqueness key and impersonation checks.

Pure functions, no I/O. Only the stdlib ``unicodedata`` and ``re`` are used.

Reserved names are detected on a *skeleton* of the pseudo: NFKD (fullwidth,
math and circled letters become plain ones), accents dropped, case folded,
Cyrillic/Greek/small-capital look-alikes mapped to Latin (a hand-picked subset
of Unicode UTS #39 confusables), and "l" merged with "i" because "I"/"l" are
the same glyph in most sans-serif fonts. Each reserved root then tolerates
stretched letters ("aaadmin", "moddo") and is matched with one of three
strictnesses, chosen per root to avoid refusing ordinary French pseudos:

* inside any separator-free piece of the pseudo: distinctive words that hardly
  appear inside other names ("xXadminXx", "Cocon_Officiel");
* as a whole word: short roots hidden in common names ("Commodore", "Modou"
  and "Modeste" are fine, "Le_Modo", "LeModo" and "Modo75" are not);
* as the whole pseudo: everyday words only reserved alone ("Team" and
  "L_Equipe" are refused, "Team_Rocket" is fine).

Any root is also refused as the whole pseudo once separators are dropped
("a-d-m-i-n", "M-o-d-o"), and words / whole pseudos may carry a French or
English article and "xX...Xx" decorations ("lemodo", "xXmodoXx"). Every check
runs twice: with digits read as leetspeak ("M0D0", "4dmin") and with digits
read as separators ("Modo75", "Bot2000").
"""

import re
import unicodedata
from collections.abc import Iterable
from typing import Final, Literal

PSEUDO_MIN: Final = 3
PSEUDO_MAX: Final = 20

PseudoErrorCode = Literal["pseudo_length", "pseudo_chars", "pseudo_reserved"]

_MESSAGES: Final[dict[PseudoErrorCode, str]] = {
    "pseudo_length": f"Le pseudo doit contenir entre {PSEUDO_MIN} et {PSEUDO_MAX} caractères.",
    "pseudo_chars": (
        "Le pseudo ne peut contenir que des lettres, des chiffres, "
        "des tirets (-) et des tirets bas (_)."
    ),
    "pseudo_reserved": "Ce pseudo est réservé, merci d'en choisir un autre.",
}


class PseudoError(ValueError):
    """An invalid pseudo: ``code`` is machine-readable, ``str()`` is French."""

    def __init__(self, code: PseudoErrorCode) -> None:
        super().__init__(_MESSAGES[code])
        self.code: PseudoErrorCode = code


# Lo letters that render as nothing (Hangul fillers): used for blank names.
_INVISIBLE_LETTERS: Final = frozenset("\u115f\u1160\u3164\uffa0")

# Look-alikes of Latin letters that NFKD leaves alone (Cyrillic, Greek,
# Armenian, small capitals, stroked letters). Applied before case folding
# because some differ by case: Greek "Μ" looks like "m" but "μ" like "u".
_LOOKALIKES: Final = str.maketrans(
    {
        char: latin
        for latin, chars in {
            "a": "АаΑαɑᴀ",
            "b": "ВвΒβʙƀ",
            "c": "СсϹϲᴄ",
            "d": "ԀԁᴅĐđ",
            "e": "ЕеΕεᴇ",
            "g": "ɡɢ",
            "h": "НнҺһΗհʜħ",
            "i": "ІіӀӏΙιɪıɩ",
            "j": "ЈјͿϳᴊȷ",
            "k": "КкΚκᴋ",
            "l": "ʟŁł",
            "m": "МмΜᴍ",
            "n": "Νηпոɴ",
            "o": "ОоΟοօᴏØø",
            "p": "РрΡρᴘ",
            "q": "Ԛԛ",
            "r": "гʀ",
            "s": "Ѕѕꜱ",
            "t": "ТтΤτᴛŧ",
            "u": "μυսᴜ",
            "v": "νᴠ",
            "w": "ԜԝωᴡѠѡ",
            "x": "ХхΧχ",
            "y": "УуҮүΥγʏ",
            "z": "Ζᴢ",
            "oe": "Œœ",
            "ae": "Ææ",
        }.items()
        for char in chars
    }
)

# Leetspeak: symbols are always read as letters; digits are read either as
# letters ("ADM1N") or as separators ("Modo75"), hence two readings.
_LEET_SYMBOLS: Final = {"@": "a", "$": "s", "|": "i", "!": "i"}
_LEET_DIGITS: Final = {"4": "a", "3": "e", "1": "i", "0": "o", "5": "s", "7": "t"}
_READINGS: Final = (
    str.maketrans(_LEET_SYMBOLS | _LEET_DIGITS),
    str.maketrans(_LEET_SYMBOLS | dict.fromkeys("0123456789", "-")),
)

# Reserved roots, by strictness (see the module docstring). "admin" covers
# administrateur/administrator/administratrice; "system" covers "systeme".
_RESERVED_INSIDE: Final = (
    "admin", "moderateur", "moderatrice", "moderator", "moderation",
    "staff", "officiel", "official", "system", "sysop", "webmaster",
)  # fmt: skip
# "cocon" is a word root, not an inside one: "Coco" + a name starting with N
# ("CocoNina", "coconours") is a very common pseudo. "modo" is not matched as
# a prefix either: "Modou" is a common first name. "bot" is reserved so that no
# user can pass for an automated system account ("ChatBot", "Le_Bot").
_RESERVED_WORDS: Final = ("cocon", "modo", "mod", "root", "support", "bot")
_RESERVED_WHOLE: Final = ("team", "equipe")
# Ordinary words containing an inside root.
_BENIGN_WORDS: Final = ("badminton",)
_ARTICLES: Final = ("le", "la", "l", "the")

_WORD_RE: Final = re.compile(r"[a-z]+")
# Runs of 3+ identical characters, read as 2: roots already allow stretched
# letters, and short runs keep the backtracking of their regexes linear.
_LONG_RUN_RE: Final = re.compile(r"(.)\1\1+")


def _fold(text: str) -> str:
    """Skeleton of ``text``: no case, no accents, no look-alikes, "l" as "i"."""
    text = unicodedata.normalize("NFKD", text).translate(_LOOKALIKES)
    # Case folding can produce decomposable characters ("İ"), decompose again.
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")
    return text.replace("l", "i")


def _pattern(word: str) -> str:
    """Regex for ``word``'s skeleton, each letter repeatable: "modo" matches "moddo"."""
    return "".join(f"{re.escape(c)}+" for c in _fold(word))


def _any_of(words: Iterable[str]) -> str:
    return "(?:" + "|".join(_pattern(w) for w in words) + ")"


def _decorated(roots: Iterable[str]) -> re.Pattern[str]:
    """Regex for a root with an optional article or "xX" before, "s"/"Xx" after."""
    return re.compile(f"(?:x+|{_any_of(_ARTICLES)})?{_any_of(roots)}s?x*")


_INSIDE_RE: Final = re.compile(_any_of(_RESERVED_INSIDE))
_BENIGN_RE: Final = re.compile(_any_of(_BENIGN_WORDS))
_WORD_ROOT_RE: Final = _decorated(_RESERVED_WORDS)
_WHOLE_ROOT_RE: Final = _decorated(_RESERVED_INSIDE + _RESERVED_WORDS + _RESERVED_WHOLE)


def _split_case_changes(text: str) -> str:
    """Put a separator where camelCase starts a new word: "LeModo" -> "Le-Modo"."""
    return "".join(
        f"-{c}" if i and c.isupper() and text[i - 1].islower() else c for i, c in enumerate(text)
    )


def is_reserved(pseudo: str) -> bool:
    """Tell whether ``pseudo`` looks like a staff or system name.

    Works on any string (including characters refused by
    :func:`normalize_pseudo`, such as "$taff"); see the module docstring for
    the matching rules.
    """
    plain, camel = _fold(pseudo), _fold(_split_case_changes(pseudo))
    for reading in _READINGS:
        pieces = _WORD_RE.findall(_LONG_RUN_RE.sub(r"\1\1", plain.translate(reading)))
        words = _WORD_RE.findall(_LONG_RUN_RE.sub(r"\1\1", camel.translate(reading)))
        if (
            any(_INSIDE_RE.search(_BENIGN_RE.sub("-", piece)) for piece in pieces)
            or any(_WORD_ROOT_RE.fullmatch(word) for word in words)
            or _WHOLE_ROOT_RE.fullmatch("".join(pieces))
        ):
            return True
    return False


def _is_allowed_char(char: str) -> bool:
    # Only ASCII digits: other scripts' digits ("٣", "１", "²") look alike.
    if char in "0123456789_-":
        return True
    return unicodedata.category(char).startswith("L") and char not in _INVISIBLE_LETTERS


def normalize_pseudo(raw: str) -> str:
    """Clean and validate a pseudo typed by a user; return the clean pseudo.

    The pseudo is NFC-normalized and stripped of surrounding whitespace, then
    must be ``PSEUDO_MIN``-``PSEUDO_MAX`` characters (code points) made of
    Unicode letters, ASCII digits, "_" and "-", and must not be reserved.
    Combining marks are refused, hence letters without a precomposed form too.

    Raises:
        PseudoError: with code ``pseudo_length``, ``pseudo_chars`` or
            ``pseudo_reserved``, checked in this order.
    """
    pseudo = unicodedata.normalize("NFC", raw).strip()
    if not PSEUDO_MIN <= len(pseudo) <= PSEUDO_MAX:
        raise PseudoError("pseudo_length")
    if not all(_is_allowed_char(c) for c in pseudo):
        raise PseudoError("pseudo_chars")
    if is_reserved(pseudo):
        raise PseudoError("pseudo_reserved")
    return pseudo


def pseudo_key(pseudo: str) -> str:
    """Uniqueness key of a pseudo: two pseudos with the same key may not coexist.

    Case, accents and compatibility forms are ignored ("Zoé", "ZOE" and
    "Ｚｏｅ" collide), and so are look-alikes from other scripts and "I"/"l"
    ("Julien", "JuIien" and "Julіen" with a Cyrillic "і" collide). Digits and
    separators stay significant ("Julien75" and "Julien76", "jean_pierre" and
    "jean-pierre" differ). The key is opaque ("Julien" gives "juiien"): store
    and compare it, never display it.
    """
    # NFC recomposes what NFKD split apart in non-Latin scripts (Hangul).
    return unicodedata.normalize("NFC", _fold(pseudo))
