"""Pseudo validation, uniqueness key and impersonation checks."""

import unicodedata

import pytest

from cocon.domain.pseudo import (
    PSEUDO_MAX,
    PSEUDO_MIN,
    PseudoError,
    is_reserved,
    normalize_pseudo,
    pseudo_key,
)

ORDINARY = [
    "Julien75",
    "Zoé",
    "Élodie",
    "Marie-Claire",
    "jean_pierre",
    "Léa_du_13",
    "Simon",
    "Modeste",
    "Modestine",
    "Teamaker",
    "Commodore",
    "Modou",  # contains "modo" as a prefix
    "Moderato",
    "Coco_Nath",  # "coco" + "n" must not read as "cocon"
    "CocoNina",
    "Coconut",
    "Badminton",  # contains "admin"
    "Supporter_OM",
    "Team_Rocket",
    "Equipier",
    "Officier",
    "Robot",
    "Talbot",
    "Sabotage",
    "Botanique",
    "Carotte",
    "Charlotte",
    "Dominique",
    "Amandine",
    "Admir",
    "Xavier",
    "Laurent",
    "Lola",
    "Momo",
    "Chloé",
    "Joël",
    "Stéphane",
    "Nico_92",
    "Toto_du_93",
    "Aurélie",
    "Сергей",  # other scripts are fine when they spell no reserved name
    "李小龙",
]

IMPERSONATIONS = [
    "admin",
    "Admin",
    "ADM1N",
    "4dmin",
    "\u0430dmin",  # Cyrillic "а"
    "ΑDΜΙΝ",  # Greek capitals
    "ａｄｍｉｎ",  # fullwidth
    "ᴀᴅᴍɪɴ",  # small capitals
    "ADMlN",  # lowercase L for I
    "aaadmin",
    "xXadminXx",
    "a-d-m-i-n",
    "Super_Admin",
    "MrAdMin",
    "Administrateur",
    "Administrator",
    "modo",
    "M0D0",
    "Le_Modo",
    "le_modo",
    "LeModo",
    "lemodo",
    "moddo",
    "Modo75",
    "xXmodoXx",
    "m\u03bfd\u03bf",  # Greek omicrons
    "Mod",
    "Modos",
    "moderateur",
    "Modérateur",
    "Modératrice",
    "Moderator",
    "staff",
    "5t4ff",
    "Le_Staff",
    "cocon",
    "C0C0N",
    "Cocon_Officiel",
    "cocon_officiel",
    "LeCocon",
    "Cocon2024",
    "Officiel",
    "Official",
    "systeme",
    "Système",
    "System",
    "Sysop",
    "Support",
    "Root",
    "R00t",
    "Team",
    "Equipe",
    "Équipe",
    "L_Equipe",
    "Bot",
    "ChatBot",
    "Le_Bot",
    "B0t",
    "Webmaster",
]


@pytest.mark.parametrize("name", ORDINARY)
def test_ordinary_pseudos_are_accepted(name: str) -> None:
    assert not is_reserved(name)
    assert normalize_pseudo(name) == name


@pytest.mark.parametrize("name", IMPERSONATIONS)
def test_impersonations_are_refused(name: str) -> None:
    assert is_reserved(name)
    with pytest.raises(PseudoError) as info:
        normalize_pseudo(name)
    assert info.value.code == "pseudo_reserved"


@pytest.mark.parametrize("name", ["$taff", "@dmin", "|e_modo", "a.d.m.i.n", "Sta ff"])
def test_is_reserved_reads_symbols_refused_by_normalize(name: str) -> None:
    assert is_reserved(name)
    with pytest.raises(PseudoError) as info:
        normalize_pseudo(name)
    assert info.value.code == "pseudo_chars"


@pytest.mark.parametrize("name", ["", "-", "x" * 10_000, "ab" * 5_000, "a" * 10_000 + "b"])
def test_is_reserved_handles_any_string(name: str) -> None:
    assert not is_reserved(name)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Zoé  ", "Zoé"),
        ("\tZoé\n", "Zoé"),
        ("\u00a0Zoé\u00a0", "Zoé"),  # NBSP
        ("\u3000Zoé", "Zoé"),  # ideographic space
        ("Zoe\u0301", "Zoé"),  # decomposed accent is recomposed (NFC)
        ("abc", "abc"),
        ("a" * PSEUDO_MAX, "a" * PSEUDO_MAX),
        ("e\u0301" * PSEUDO_MAX, "é" * PSEUDO_MAX),  # length counts after NFC
        ("Ｊｕｌｉｅｎ", "Ｊｕｌｉｅｎ"),  # letters, kept as typed
    ],
)
def test_normalize_cleans(raw: str, expected: str) -> None:
    clean = normalize_pseudo(raw)
    assert clean == expected
    assert unicodedata.is_normalized("NFC", clean)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "ab",
        "Zo",
        "  ab  ",
        "a" * (PSEUDO_MAX + 1),
        "a" * 1_000,
    ],
)
def test_length(raw: str) -> None:
    with pytest.raises(PseudoError) as info:
        normalize_pseudo(raw)
    assert info.value.code == "pseudo_length"


def test_length_bounds() -> None:
    assert (PSEUDO_MIN, PSEUDO_MAX) == (3, 20)
    assert normalize_pseudo("a" * PSEUDO_MIN) == "aaa"


@pytest.mark.parametrize(
    "raw",
    [
        "Zoé Lou",  # space
        "Zoé\u00a0Lou",  # NBSP inside
        "Zoé\tLou",
        "Zoé\u200dLou",  # zero-width joiner
        "Zoé\u200b",  # zero-width space (not stripped: not whitespace)
        "\u200bab",  # 3 code points, one of them invisible
        "\ufeffZoé",  # BOM
        "Zoé\u00adLou",  # soft hyphen
        "Zoé\u2060Lou",  # word joiner
        "\u202eZoé",  # right-to-left override
        "Zoé\u202d",  # left-to-right override
        "Zoé\u200f",  # right-to-left mark
        "\u2067Zoé\u2069",  # bidi isolates
        "Zoé🌸",
        "🌸🌸🌸",
        "Zoé\u2764\ufe0f",  # heart + variation selector
        "q\u0307qq",  # combining mark without precomposed form
        "Zalg\u0336o",
        "Ali\u0663\u0663",  # Arabic-Indic digits
        "Ali１２",  # fullwidth digits
        "Ali²",
        "Zoé.Lou",
        "Zoé'Lou",
        "Zoé@Lou",
        "<b>hi</b>",
        "Zoé\x00",
        "\u3164\u3164\u3164",  # Hangul fillers: invisible letters
        "Zo\u3164é",
        "\u2800\u2800\u2800",  # braille blank
    ],
)
def test_forbidden_characters(raw: str) -> None:
    with pytest.raises(PseudoError) as info:
        normalize_pseudo(raw)
    assert info.value.code == "pseudo_chars"


def test_length_is_checked_before_characters() -> None:
    with pytest.raises(PseudoError) as info:
        normalize_pseudo("🌸")
    assert info.value.code == "pseudo_length"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("pseudo_length", ("3", "20", "caractères")),
        ("pseudo_chars", ("lettres", "chiffres")),
        ("pseudo_reserved", ("réservé",)),
    ],
)
def test_error_is_a_value_error_with_french_message(code: str, words: tuple[str, ...]) -> None:
    raw = {"pseudo_length": "ab", "pseudo_chars": "a b", "pseudo_reserved": "admin"}[code]
    with pytest.raises(ValueError) as info:
        normalize_pseudo(raw)
    error = info.value
    assert isinstance(error, PseudoError)
    assert error.code == code
    assert all(word in str(error) for word in words)


@pytest.mark.parametrize(
    "variants",
    [
        ("Zoé", "ZOE", "zoe", "ZOÉ", "Zoë", "Zoe\u0301", "Ｚｏｅ"),
        ("Élodie", "elodie", "ELODIE", "Elodie"),
        ("Julien", "JuIien", "JULIEN", "Jul\u0456en", "Ｊｕｌｉｅｎ"),  # capital I, Cyrillic і
        ("Léa_du_13", "lea_du_13", "LEA_DU_13"),
        ("Cœur", "Coeur", "COEUR"),
        ("Straße", "STRASSE"),
    ],
)
def test_key_collides_on_case_accents_and_lookalikes(variants: tuple[str, ...]) -> None:
    assert len({pseudo_key(v) for v in variants}) == 1


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Julien75", "Julien76"),
        ("jean_pierre", "jean-pierre"),
        ("jean_pierre", "jeanpierre"),
        ("Zoé", "Zoéé"),
        ("Léa", "Léo"),
        ("Сергей", "Сергей1"),
    ],
)
def test_key_keeps_digits_separators_and_letters(a: str, b: str) -> None:
    assert pseudo_key(a) != pseudo_key(b)


@pytest.mark.parametrize("name", [*ORDINARY, "한국어", "ガッツ"])
def test_key_is_idempotent_and_nfc(name: str) -> None:
    key = pseudo_key(name)
    assert pseudo_key(key) == key
    assert unicodedata.is_normalized("NFC", key)
