"""French postal code -> département code. Pure, no I/O.

The answer is the département of the code's distribution office (La Poste).
Some twenty border communes get their mail from a neighbouring département's
office (e.g. 01200 also serves communes of Haute-Savoie); they get that
département, which is good enough to group people by area.
"""

from collections.abc import Mapping
from typing import Final

# Postal code prefix -> département code. The first three digits are looked
# up first, then the first two; a code matching neither is not French.
_DEPARTEMENTS: Final[Mapping[str, str]] = {
    # Metropolitan France: the first two digits are the département.
    **{f"{n:02d}": f"{n:02d}" for n in range(1, 96) if n != 20},
    # Corsica was split in 1976 but kept the 20 prefix. Corse-du-Sud (2A) has
    # 200xx-201xx (Ajaccio 20000/20090, CEDEX 201xx, Porto-Vecchio 20137...);
    # Haute-Corse (2B) has 202xx-206xx (Bastia 20200/20600, Bastia CEDEX
    # 204xx, Biguglia 20620). 207xx-209xx are unused.
    **dict.fromkeys(("200", "201"), "2A"),
    **dict.fromkeys(("202", "203", "204", "205", "206"), "2B"),
    # Overseas: the first three digits.
    "971": "971",  # Guadeloupe, also Saint-Barthélemy (97133), Saint-Martin (97150)
    "972": "972",  # Martinique
    "973": "973",  # Guyane
    "974": "974",  # La Réunion
    "975": "975",  # Saint-Pierre-et-Miquelon
    "976": "976",  # Mayotte
    "986": "986",  # Wallis-et-Futuna
    "987": "987",  # Polynésie française
    "988": "988",  # Nouvelle-Calédonie
    # Not French, hence absent: 00xxx, 96xxx, 980xx (Monaco), 99xxx; absent
    # too: 970xx and 977xx-979xx, which La Poste does not use.
}


class PostalCodeError(ValueError):
    """Not a French postal code; ``str()`` is a French message for the user."""

    code: Final = "postal_code"

    def __init__(self) -> None:
        super().__init__("Code postal invalide : il faut un code postal français à 5 chiffres.")


def departement_from_postal(code: str) -> str:
    """Département code ("75", "2A", "974"...) of a French postal code.

    Whitespace is ignored anywhere ("75 001"); what remains must be exactly
    five ASCII digits.

    Raises:
        PostalCodeError: for a malformed or non-French code.
    """
    digits = "".join(code.split())
    # isascii() too: isdigit() accepts "²", "١" or fullwidth digits.
    if len(digits) != 5 or not (digits.isascii() and digits.isdigit()):
        raise PostalCodeError
    departement = _DEPARTEMENTS.get(digits[:3]) or _DEPARTEMENTS.get(digits[:2])
    if departement is None:
        raise PostalCodeError
    return departement
