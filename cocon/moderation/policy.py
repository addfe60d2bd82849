"""Pure rules: report categories and their priority, escalation, networks, statements."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

# Most urgent first; the index is the case priority (0 = top of the queue).
CATEGORIES: tuple[str, ...] = (
    "minor_in_danger",
    "illegal_image",
    "terrorism",
    "threat_violence",
    "sexual_harassment",
    "hate",
    "harassment",
    "personal_data",
    "fraud",
    "self_harm",
    "spam",
    "other",
)
CATEGORY_LABELS: Mapping[str, str] = {
    "minor_in_danger": "mineur en danger",
    "illegal_image": "image illégale",
    "terrorism": "apologie ou provocation au terrorisme",
    "threat_violence": "menace ou violence",
    "sexual_harassment": "harcèlement sexuel",
    "hate": "haine ou discrimination",
    "harassment": "harcèlement",
    "personal_data": "divulgation de données personnelles",
    "fraud": "arnaque",
    "self_harm": "personne en détresse",
    "spam": "spam",
    "other": "autre",
}
SANCTION_KINDS = ("warn", "delete", "mute", "kick", "ban")
# Decisions on a message the safety policy held (cocon/store/held.py): deliver it after all,
# or keep it withheld (a sanction of its own, so that it can be appealed).
HELD_DECISIONS = ("release", "withhold")
SANCTION_LABELS: Mapping[str, str] = {
    "warn": "avertissement",
    "delete": "suppression d'un message",
    "mute": "interdiction d'écrire",
    "kick": "exclusion",
    "ban": "bannissement",
    "restrict": "restriction de protection des mineurs",
    "voice_mute": "micro coupé dans un salon vocal",  # cocon/actions/voice.py
    "withhold": "message retenu",
}
EVIDENCE_BEFORE = 10  # messages kept before the reported one
SYSTEM_REPORTER = 0  # the reporter id of cases Cocon opens itself (automated detection)


def priority(category: str) -> int:
    return CATEGORIES.index(category)


def escalate(requested_s: float | None, earlier_bans: int, permanent_after: int) -> float | None:
    """Duration of a ban (None: permanent): doubled for each earlier ban, then permanent."""
    if requested_s is None or earlier_bans >= permanent_after:
        return None
    return float(requested_s * 2**earlier_bans)


def network_of(ip: str) -> str | None:
    """The /24 (IPv4) or /64 (IPv6) an address belongs to, or None if it is not an IP."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    prefix = 24 if addr.version == 4 else 64
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))


def statement(
    kind: str,
    rule: str,
    facts: str,
    reason: str,
    starts_at: float,
    ends_at: float | None,
    room_id: int | None,
    sanction_id: int,
) -> dict[str, object]:
    """The statement of reasons sent to a restricted user (DSA art. 17 style)."""
    return {
        "sanction": sanction_id,
        "what": kind,
        "label": SANCTION_LABELS[kind],
        "rule": rule,
        "facts": facts,
        "reason": reason,
        "room": room_id,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "permanent": kind == "ban" and ends_at is None,
        "automated": False,
        "appeal": (
            "Vous pouvez contester cette décision : commande « appeal » avec ce numéro de "
            "sanction, ou POST /api/appeal si vous ne pouvez plus vous connecter. Une autre "
            "personne de l'équipe de modération l'examinera."
        ),
    }
