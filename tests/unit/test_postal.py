"""French postal code -> département."""

import pytest

from cocon.domain.postal import PostalCodeError, departement_from_postal


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("75001", "75"),
        ("75116", "75"),
        ("01000", "01"),
        ("09000", "09"),
        ("13008", "13"),
        ("19000", "19"),
        ("21000", "21"),
        ("69007", "69"),
        ("95000", "95"),
        ("95999", "95"),
        # Corsica: 200xx-201xx Corse-du-Sud, 202xx-206xx Haute-Corse.
        ("20000", "2A"),  # Ajaccio
        ("20090", "2A"),  # Ajaccio
        ("20100", "2A"),  # Sartène
        ("20137", "2A"),  # Porto-Vecchio
        ("20169", "2A"),  # Bonifacio
        ("20190", "2A"),
        ("20199", "2A"),
        ("20200", "2B"),  # Bastia
        ("20220", "2B"),  # L'Île-Rousse
        ("20250", "2B"),  # Corte
        ("20260", "2B"),  # Calvi
        ("20290", "2B"),  # Borgo
        ("20401", "2B"),  # Bastia CEDEX
        ("20600", "2B"),  # Bastia, Furiani
        ("20620", "2B"),  # Biguglia
        # Overseas.
        ("97100", "971"),  # Guadeloupe
        ("97133", "971"),  # Saint-Barthélemy
        ("97150", "971"),  # Saint-Martin
        ("97200", "972"),  # Martinique
        ("97300", "973"),  # Guyane
        ("97400", "974"),  # La Réunion
        ("97500", "975"),  # Saint-Pierre-et-Miquelon
        ("97600", "976"),  # Mayotte
        ("98600", "986"),  # Wallis-et-Futuna
        ("98714", "987"),  # Papeete
        ("98800", "988"),  # Nouméa
        # Whitespace is ignored.
        (" 75001 ", "75"),
        ("75 001", "75"),
        ("\t75001\n", "75"),
        ("75\u00a0001", "75"),  # NBSP
        ("2 0 0 0 0", "2A"),
    ],
)
def test_departement(code: str, expected: str) -> None:
    assert departement_from_postal(code) == expected


@pytest.mark.parametrize("number", [n for n in range(1, 96) if n != 20])
def test_every_metropolitan_prefix(number: int) -> None:
    assert departement_from_postal(f"{number:02d}123") == f"{number:02d}"


@pytest.mark.parametrize(
    "code",
    [
        # Malformed.
        "",
        "   ",
        "7500",
        "750011",
        "1000",  # 01000 with its leading zero lost
        "75OO1",  # letters O
        "2A000",
        "2B200",
        "7500a",
        "75-001",
        "75.001",
        "+7500",
        "-7500",
        "F-75001",
        "７５００１",  # fullwidth digits
        "\u0667\u0665\u0660\u0660\u0661",  # Arabic-Indic digits
        "7500²",
        # Not French, or not used by La Poste.
        "00000",
        "00100",
        "96000",
        "99000",
        "99999",
        "98000",  # Monaco
        "98099",  # Monaco
        "98400",
        "98900",
        "97000",
        "97700",
        "97800",
        "97900",
        "20700",
        "20999",
    ],
)
def test_refused(code: str) -> None:
    with pytest.raises(PostalCodeError):
        departement_from_postal(code)


def test_error_is_a_value_error_with_code_and_french_message() -> None:
    with pytest.raises(ValueError) as info:
        departement_from_postal("99000")
    error = info.value
    assert isinstance(error, PostalCodeError)
    assert error.code == "postal_code"
    assert "code postal" in str(error).lower()
