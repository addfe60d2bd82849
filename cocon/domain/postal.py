"""French postal codes -> département codes. Only the département is ever stored."""

from __future__ import annotations

import re


class PostalCodeError(ValueError):
    code = "postal_code"


_FIVE_DIGITS = re.compile(r"[0-9]{5}")

# Ranges of the first three digits that are not metropolitan "first two digits" codes.
# Corsica: 200-201 -> Corse-du-Sud (2A), 202-206 -> Haute-Corse (2B).
# Overseas: 971-976 (DROM and Saint-Pierre-et-Miquelon at 975), 986-988 (collectivities).
_THREE_DIGIT = {
    "200": "2A",
    "201": "2A",
    "202": "2B",
    "203": "2B",
    "204": "2B",
    "205": "2B",
    "206": "2B",
    "971": "971",
    "972": "972",
    "973": "973",
    "974": "974",
    "975": "975",
    "976": "976",
    "986": "986",
    "987": "987",
    "988": "988",
}


def departement_from_postal(code: str) -> str:
    """The département of a French postal code ("75011" -> "75", "20090" -> "2A")."""
    clean = code.replace(" ", "")
    if not _FIVE_DIGITS.fullmatch(clean):
        raise PostalCodeError("Un code postal français a 5 chiffres.")
    head = clean[:3]
    if head in _THREE_DIGIT:
        return _THREE_DIGIT[head]
    two = clean[:2]
    if "01" <= two <= "95" and two != "20":
        return two
    raise PostalCodeError("Ce code postal n'est pas un code postal français.")
