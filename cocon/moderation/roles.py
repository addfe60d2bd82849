"""Roles in ascending precedence, and the one function that says who may act on whom."""

from __future__ import annotations

import enum


class Role(enum.IntEnum):
    USER = 0
    ROOM_OWNER = 1
    MODERATOR = 2
    ADMIN = 3

    @classmethod
    def parse(cls, name: str) -> Role:
        try:
            return cls[name.upper()]
        except KeyError:
            raise ValueError(f"unknown role {name!r}") from None


STAFF_ROLES = (Role.MODERATOR, Role.ADMIN)


def may_act(
    actor: Role, target: Role, *, conflicted: bool = False, confirmed_by: Role | None = None
) -> bool:
    """May ``actor`` sanction someone of role ``target``?

    Staff only, and only on lower roles. A conflicted actor (the target reported them or
    appealed against them) needs a second member of staff, also outranking the target.
    """
    if actor < Role.MODERATOR:
        return False
    if actor <= target:
        return False
    if not conflicted:
        return True
    if confirmed_by is None:
        return False
    return confirmed_by >= Role.MODERATOR and confirmed_by > target
