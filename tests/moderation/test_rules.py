"""The pure rules: who may act on whom, escalation, networks, priorities."""

from __future__ import annotations

from cocon.moderation.policy import CATEGORIES, escalate, network_of, priority
from cocon.moderation.roles import Role, may_act


def test_roles_are_ordered() -> None:
    assert Role.USER < Role.ROOM_OWNER < Role.MODERATOR < Role.ADMIN


def test_may_act() -> None:
    assert may_act(Role.MODERATOR, Role.USER)
    assert may_act(Role.ADMIN, Role.MODERATOR)
    assert not may_act(Role.MODERATOR, Role.MODERATOR)
    assert not may_act(Role.ROOM_OWNER, Role.USER)
    assert not may_act(Role.USER, Role.USER)
    assert not may_act(Role.MODERATOR, Role.USER, conflicted=True)
    assert may_act(Role.MODERATOR, Role.USER, conflicted=True, confirmed_by=Role.MODERATOR)
    assert not may_act(Role.MODERATOR, Role.USER, conflicted=True, confirmed_by=Role.USER)


def test_escalation() -> None:
    assert escalate(3600, 0, 3) == 3600
    assert escalate(3600, 2, 3) == 4 * 3600
    assert escalate(3600, 3, 3) is None
    assert escalate(None, 0, 3) is None


def test_networks() -> None:
    assert network_of("198.51.100.7") == "198.51.100.0/24"
    assert network_of("::ffff:198.51.100.7") == "198.51.100.0/24"
    assert network_of("2001:db8:1:2:3::4") == "2001:db8:1:2::/64"
    assert network_of("?") is None


def test_urgent_categories_first() -> None:
    assert CATEGORIES[:2] == ("minor_in_danger", "illegal_image")
    assert priority("minor_in_danger") < priority("illegal_image") < priority("spam")
