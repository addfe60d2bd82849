"""Policy decisions, one test per rule, and name checks."""

from __future__ import annotations

import pytest

from cocon.safety.policy import Action, PolicyConfig, PolicyContext, check_name, decide


def test_minor_reveal_restricts_at_once() -> None:
    d = decide({"minor"}, PolicyContext(private=True))
    assert d.action is Action.RESTRICT_MINOR
    assert set(d.restrictions) == {"no_private_with_adults", "no_media", "no_calls"}
    assert "3018" in d.explanation and "119" in d.explanation
    assert d.open_case and d.case_priority == "high"
    assert any("3018" in r for r in d.resources)
    assert str(d.action) == "restrict_minor"


def test_minor_already_restricted_is_not_restricted_again() -> None:
    d = decide({"minor"}, PolicyContext(sender_restricted=True, sender_is_minor=True))
    assert d.action is Action.ALLOW


def test_grooming_towards_minor_is_held_with_safety_card() -> None:
    ctx = PolicyContext(private=True, recipient_is_minor=True, risk_level="high",
                        risk_score=0.9, sender_declared_age=35)
    d = decide({"off_platform"}, ctx)
    assert d.action is Action.HOLD and not d.deliver
    assert d.recipient_card == "safety"
    assert d.case_priority == "urgent"
    assert "grooming" in d.rules


def test_image_request_to_suspected_minor_held_even_at_low_risk() -> None:
    d = decide({"image_request"}, PolicyContext(recipient_suspected_minor=True))
    assert d.action is Action.HOLD and d.recipient_card == "safety"


def test_watch_label_low_risk_is_not_held() -> None:
    d = decide({"age_probe"}, PolicyContext(recipient_is_minor=True, risk_level="low"))
    assert d.action is Action.ALLOW


def test_minor_to_minor_is_not_grooming() -> None:
    d = decide({"image_request"}, PolicyContext(recipient_is_minor=True, sender_is_minor=True))
    assert "grooming" not in d.rules


def test_pii_to_someone_met_recently_is_nudged() -> None:
    d = decide({"pii"}, PolicyContext(met_recently=True))
    assert d.action is Action.NUDGE and "sûr" in d.explanation
    assert decide({"pii"}, PolicyContext(met_recently=False)).action is Action.ALLOW


def test_meeting_between_strangers_gets_safe_meeting_card_for_both() -> None:
    d = decide({"meeting"}, PolicyContext(met_recently=True))
    assert d.action is Action.CARD
    assert d.sender_card == d.recipient_card == "safe_meeting"


def test_scam_is_held_and_recipient_warned() -> None:
    d = decide({"scam"}, PolicyContext())
    assert d.action is Action.HOLD and d.recipient_card == "scam_warning"
    assert d.recipient_notice and d.open_case


@pytest.mark.parametrize("label", ["commercial_sex", "drugs"])
def test_illegal_offers_blocked_in_public_with_reasons(label: str) -> None:
    d = decide({label}, PolicyContext(private=False))
    assert d.action is Action.BLOCK and not d.deliver
    assert d.reasons and d.reasons[0].startswith("Exposé des motifs")
    assert decide({label}, PolicyContext(private=True)).action is Action.HOLD


def test_harassment_blurred_with_report() -> None:
    d = decide({"harassment"}, PolicyContext())
    assert d.action is Action.BLUR and d.suggest_report and d.deliver


def test_sexual_in_public_blurred_but_allowed_between_adults() -> None:
    assert decide({"sexual"}, PolicyContext(private=False)).action is Action.BLUR
    assert decide({"sexual"}, PolicyContext(private=True)).action is Action.ALLOW


def test_most_severe_action_wins_and_reasons_are_merged() -> None:
    d = decide({"scam", "harassment", "pii"}, PolicyContext())
    assert d.action is Action.HOLD
    assert set(d.rules) == {"scam", "harassment", "pii_recent"}
    assert len(d.reasons) == 3


def test_every_threshold_is_configurable() -> None:
    cfg = PolicyConfig(nudge_pii_recent=False, blur_harassment=False)
    assert decide({"pii", "harassment"}, PolicyContext(), cfg).action is Action.ALLOW


def test_allow_is_explained() -> None:
    d = decide(set(), PolicyContext())
    assert d.action is Action.ALLOW and d.explanation


@pytest.mark.parametrize(
    "name",
    ["PapaCherchJeunette", "lolita13", "plug_beuh75", "escort_paris", "hot_ado",
     "sugardaddy_lyon", "jeune_hot_14", "vends.coke", "onlyfans_lea", "pedo_love"],
)
def test_bad_names_refused(name: str) -> None:
    d = check_name(name)
    assert d.action is Action.BLOCK and d.reasons and not d.deliver


@pytest.mark.parametrize(
    "name",
    ["Musique", "Léa_2009", "Adorable", "Cinéma & séries", "culture_generale", "Nico",
     "Les ados parlent aux ados", "Parents d'ados", "calcul mental", "Jhabitelyon"],
)
def test_ordinary_names_accepted(name: str) -> None:
    assert check_name(name).action is Action.ALLOW
