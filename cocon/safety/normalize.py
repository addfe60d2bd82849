"""Text normalization for the safety analyzer: French chat spelling folded to plain words.

Two forms are produced for every message:

* ``low``  — lower case, accents folded, Unicode compatibility forms (fullwidth,
  mathematical letters) folded; punctuation kept.  Used for e-mails, links and handles.
* ``norm`` — ASCII only: ``low`` plus leetspeak decoded (``$nap`` → ``snap``,
  ``ph0to`` → ``photo``), letters repeated three times or more collapsed (``snaaap`` →
  ``snap``), punctuation, emojis and other scripts turned to spaces (``?`` kept as a
  token, a few emojis named), spaced-out letters or digits joined (``s n a p``, ``n-u-e``,
  ``0 6 1 2 …``), and SMS spelling mapped to plain words (``kel`` → ``quel``, ``jsuis``
  → ``je suis``).  Single spaces between tokens.

Everything is table-driven (``str.translate``, one ``dict`` lookup per token) so that
normalizing a chat line costs a few microseconds.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Emojis that carry meaning in grooming / sexual / drug talk, named as plain tokens.
_EMOJI_WORDS: dict[str, str] = {
    "🍆": " zaubergine ",
    "🍑": " zpeche ",
    "💦": " zgouttes ",
    "👅": " zlangue ",
    "🔞": " zadulte ",
    "🌿": " zherbe ",
    "🍃": " zherbe ",
    "🥦": " zherbe ",
    "❄": " zneige ",
    "💊": " zpilule ",
    "📸": " photo ",
    "📷": " photo ",
    "🤫": " zchut ",
    "👻": " snapchat ",
    "💰": " zargent ",
    "💸": " zargent ",
    "💶": " zargent ",
    "€": " euros ",
    "?": "?",  # spaced out by str.replace first, so ASCII text keeps translate's fast path
}


class _FoldTable(dict[int, str | None]):
    """Lazy ``str.translate`` table: accented letters to ASCII, anything else that is not an
    ASCII letter or digit (punctuation, other scripts, emojis) to a space, so that the
    tokens of ``norm`` and the ASCII word boundaries of the patterns always agree."""

    def __missing__(self, code: int) -> str | None:
        ch = chr(code)
        if ch in _EMOJI_WORDS:
            out: str | None = _EMOJI_WORDS[ch]
        elif ch.isascii():
            out = ch if ch.isalnum() else " "
        else:
            base = unicodedata.normalize("NFKD", ch)[:1]
            if base.isascii() and base.isalnum():
                out = base.lower()
            elif unicodedata.category(ch) in ("Mn", "Me"):  # stray combining marks
                out = None
            else:
                out = " "
        self[code] = out
        return out


class _LowTable(dict[int, str | None]):
    """Like :class:`_FoldTable` but keeps ASCII punctuation (for e-mails and links)."""

    def __missing__(self, code: int) -> str | None:
        ch = chr(code)
        if ch.isascii():
            out: str | None = ch
        else:
            base = unicodedata.normalize("NFKD", ch)[:1]
            if base.isascii() and base.isprintable() and base != " ":
                out = base.lower()
            elif unicodedata.category(ch) in ("Mn", "Me"):
                out = None
            else:
                out = ch
        self[code] = out
        return out


_FOLD = _FoldTable()
_LOW = _LowTable()
# Typographic apostrophes become ASCII ones in the same pass (lower case leaves them alone).
_LOW.update({ord(ch): "'" for ch in "’‘`´ʼ"})

_LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "$": "s", "@": "a"}
# A leet digit between two letters (ph0to, sn4p, b1te), "$" at the start of a word
# ($nap), or one of 0/1/3/4 ending a word after two letters (phot0, nud3).
_LEET_INNER = re.compile(r"(?<=[a-z])[013457$@](?=[a-z])|(?<![a-z0-9])\$(?=[a-z])")
_LEET_END = re.compile(r"(?<=[a-z][a-z])[0134](?![a-z0-9])")
_LEET_CHARS = re.compile(r"[013457$@]")
_REPEAT = re.compile(r"([a-z])\1\1+")
_DIGIT = re.compile(r"[0-9]")  # after folding, the only digits left are ASCII ones
# "14ans", "15yo" → "14 ans"; "4eme" stays (grades are matched as written).
_NUM_UNIT = re.compile(r"(?<![a-z0-9])(\d{1,2})(ans?|yo|piges?)(?![a-z])")

# SMS / chat spelling, one token to plain words.  Ambiguous tokens (ta, t, c) are left
# alone and handled by the patterns themselves.
SMS: dict[str, str] = {
    "kel": "quel", "kelle": "quelle", "kels": "quels", "qel": "quel", "koi": "quoi",
    "kwa": "quoi", "ki": "qui", "ke": "que", "kan": "quand", "kand": "quand", "qd": "quand",
    "jsuis": "je suis", "jsui": "je suis", "chui": "je suis", "chuis": "je suis",
    "shui": "je suis", "jss": "je suis", "jsus": "je suis", "chu": "je suis",
    "jai": "j ai", "g": "j ai", "jaurai": "j aurai", "jvai": "je vais", "jvais": "je vais",
    "jveux": "je veux", "jachete": "j achete", "jvends": "je vends", "jpeux": "je peux",
    "jsais": "je sais", "jte": "je te",
    "jtm": "je t aime", "tas": "t as", "tinquiete": "t inquiete",
    "vs": "vous", "ds": "dans", "pr": "pour", "ms": "mais", "ns": "nous", "tt": "tout",
    "pq": "pourquoi", "pk": "pourquoi", "pcq": "parce que", "bcp": "beaucoup",
    "mm": "meme", "tjr": "toujours", "tjrs": "toujours", "stp": "stp", "svp": "stp",
    "slt": "salut", "cc": "coucou", "bjr": "bonjour", "bsr": "bonsoir", "dsl": "desole",
    "auj": "aujourd hui", "ajd": "aujourd hui", "aujourdhui": "aujourd hui",
    "ya": "il y a", "yavait": "il y avait", "cest": "c est",
    "jpense": "je pense", "fo": "faut", "kestu": "qu est ce que tu",
    "keske": "qu est ce que", "tfq": "tu fais quoi", "tfk": "tu fais quoi",
    "numero": "numero", "num": "numero", "tel": "tel", "fotos": "photos", "foto": "photo",
    "tof": "photo", "tofs": "photos", "toff": "photo", "toffs": "photos", "pic": "photo",
    "pics": "photos", "piks": "photos", "selfie": "photo", "selfies": "photos",
    "snapchat": "snap", "snapshat": "snap", "snp": "snap", "instagram": "insta",
    "wsp": "whatsapp", "wtsp": "whatsapp", "watsap": "whatsapp", "whatsap": "whatsapp",
    "wattsap": "whatsapp", "watsapp": "whatsapp", "whats": "whatsapp", "watssap": "whatsapp",
    "webcam": "cam", "webcams": "cam", "camera": "cam", "kam": "cam", "kamera": "cam",
    "anz": "ans", "ag": "age", "aje": "age", "ages": "age",
    "mineur": "mineur", "mineurs": "mineur", "mineure": "mineur", "mineures": "mineur",
    "majeur": "majeur", "majeurs": "majeur", "majeure": "majeur", "majeures": "majeur",
    "rdv": "rendez vous", "rdvs": "rendez vous", "rencard": "rendez vous",
    "irl": "en vrai", "wesh": "wesh", "ptn": "putain", "nudes": "nude", "nuds": "nude",
    "nud": "nude", "photos": "photos", "vids": "video", "vid": "video", "videos": "video",
    "msg": "messages", "msgs": "messages", "mess": "messages", "conv": "conversation",
    "discu": "conversation", "discussion": "conversation", "sms": "sms", "textos": "sms",
    "texto": "sms", "prive": "prive", "mp": "mp", "fb": "facebook", "insta": "insta",
    "college": "college", "colege": "college", "lycee": "lycee", "lyce": "lycee",
    "bb": "bebe", "oklm": "tranquille", "gars": "mec",
}


@dataclass(frozen=True, slots=True)
class Normalized:
    """The two normalized forms of a message and the tokens of ``norm``."""

    low: str
    norm: str
    tokens: tuple[str, ...]
    has_digit: bool


def fold_low(text: str) -> str:
    """Lower case with accents and compatibility forms folded; punctuation kept."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFC", text).lower().translate(_LOW)


def _decode_leet(text: str) -> str:
    if _LEET_CHARS.search(text) is None:
        return text
    text = _LEET_INNER.sub(lambda m: _LEET[m.group()], text)
    return _LEET_END.sub(lambda m: _LEET[m.group()], text)


def _join_spaced(tokens: list[str]) -> list[str]:
    """Join runs of three or more one-character tokens of the same kind (letters or
    digits): ``s n a p`` → ``snap``, ``0 6 1 2`` → ``0612``; ``y a 3`` stays."""
    out: list[str] = []
    run: list[str] = []
    for tok in tokens:
        if len(tok) == 1 and tok != "?" and (not run or run[-1].isdigit() == tok.isdigit()):
            run.append(tok)
            continue
        if run:
            out.extend(["".join(run)] if len(run) >= 3 else run)
            run = []
        if len(tok) == 1 and tok != "?":
            run.append(tok)
        else:
            out.append(tok)
    if run:
        out.extend(["".join(run)] if len(run) >= 3 else run)
    return out


# Ages written in words ("j'ai quinze ans", "dix-sept ans") become digits, so that the age
# rules read them as they read "15 ans". Only 11-19: "dix", "sept" or "neuf" alone are too
# often something else (ten minutes, September, new).
_NUMBER_WORDS = {
    "onze": "11", "douze": "12", "treize": "13", "quatorze": "14", "quinze": "15",
    "seize": "16", "dixsept": "17", "dixhuit": "18", "dixneuf": "19",
}
_DIX = {"sept": "17", "huit": "18", "neuf": "19"}
_NUMBER_TOKENS = frozenset(_NUMBER_WORDS) | {"dix"}


def _numbers(tokens: list[str]) -> list[str]:
    out: list[str] = []
    for tok in tokens:
        if out and out[-1] == "dix" and tok in _DIX:
            out[-1] = _DIX[tok]
        else:
            out.append(_NUMBER_WORDS.get(tok, tok))
    return out


def normalize(text: str) -> Normalized:
    """Both normalized forms of ``text`` (see the module docstring)."""
    low = fold_low(text)
    work = _decode_leet(low)
    if "?" in work:
        work = work.replace("?", " ? ")
    work = work.translate(_FOLD)
    if _REPEAT.search(work) is not None:
        work = _REPEAT.sub(r"\1", work)
    has_digit = _DIGIT.search(work) is not None
    if has_digit:
        work = _NUM_UNIT.sub(r"\1 \2", work)
    raw_tokens = work.split()
    if list(map(len, raw_tokens)).count(1) >= 3:
        raw_tokens = _join_spaced(raw_tokens)
    if not has_digit and not _NUMBER_TOKENS.isdisjoint(raw_tokens):
        numbered = _numbers(raw_tokens)
        if numbered != raw_tokens:
            raw_tokens, has_digit = numbered, True
    norm = " ".join(map(SMS.get, raw_tokens, raw_tokens))  # SMS spelling, else the token
    tokens = tuple(norm.split())
    return Normalized(low=low, norm=norm, tokens=tokens, has_digit=has_digit)
