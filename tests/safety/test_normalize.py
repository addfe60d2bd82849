"""Normalization: case, accents, leetspeak, repeats, spaced letters, SMS spelling."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cocon.safety.normalize import normalize


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("Ta kel âge ?", "ta quel age ?"),
        ("$nap ?", "snap ?"),
        ("0 6 1 2 3 4 5 6 7 8", "0612345678"),
        ("S N A P", "snap"),
        ("n.u.d.e.s", "nude"),
        ("ph0t0 de toi", "photo de toi"),
        ("snaaaaap", "snap"),
        ("ＳＮＡＰ", "snap"),
        ("j'ai 14ans", "j ai 14 ans"),
        ("Chui en 4eme", "je suis en 4eme"),
        ("jsuis mineure", "je suis mineur"),
        ("ÉLÈVE Ça Où", "eleve ca ou"),
        ("envoie 📸 stp 😍", "envoie photo stp"),
        ("s3x3", "sexe"),
        ("t'as", "t as"),
        ("cm2", "cm2"),
        ("il y a 3 ans", "il y a 3 ans"),
        ("j'ai quinze ans", "j ai 15 ans"),
        ("bientôt dix-sept ans", "bientot 17 ans"),
        ("dix minutes", "dix minutes"),
        ("un truc neuf", "un truc neuf"),
    ],
)
def test_norm(raw: str, norm: str) -> None:
    assert normalize(raw).norm == norm


def test_low_keeps_punctuation_for_contacts() -> None:
    n = normalize("Écris à Léa.Martin@Gmail.com")
    assert n.low == "écris à léa.martin@gmail.com".replace("é", "e").replace("à", "a")
    assert "lea.martin@gmail.com" in n.low


def test_digits_flag() -> None:
    assert normalize("j'ai 14 ans").has_digit
    assert not normalize("salut toi").has_digit
    assert normalize("j'ai seize ans").has_digit  # an age in words counts as digits


@given(st.text(max_size=300))
def test_never_raises_and_is_stable(text: str) -> None:
    n = normalize(text)
    assert n.norm == " ".join(n.tokens)
    assert "  " not in n.norm
    assert normalize(n.norm).norm == normalize(normalize(n.norm).norm).norm
