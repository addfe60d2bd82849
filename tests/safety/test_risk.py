"""ConversationRisk scenarios."""

from __future__ import annotations

from cocon.safety import analyze
from cocon.safety.risk import ConversationRisk, RiskConfig


def feed(risk: ConversationRisk, messages: list[tuple[str, int | None, str]]) -> None:
    for i, (sender, age, text) in enumerate(messages):
        risk.observe(sender, age, analyze(text).labels, 1_000.0 + 60 * i)


def test_grooming_sequence_towards_a_minor_is_high() -> None:
    risk = ConversationRisk()
    feed(risk, [
        ("adult", 34, "slt ta quel age ?"),
        ("kid", None, "jai 13 ans et toi"),
        ("adult", 34, "t'es en quelle classe ?"),
        ("adult", 34, "envoie une photo de toi"),
        ("adult", 34, "dis rien à tes parents"),
        ("adult", 34, "ajoute moi sur snap"),
    ])
    a = risk.assess("adult")
    assert a.level == "high" and a.score >= RiskConfig().high
    assert a.recipient_id == "kid"
    assert any("mineur" in r for r in a.reasons)
    assert any("continué" in r for r in a.reasons)
    assert risk.assess("kid").level == "low"
    assert risk.recipient_is_minor("adult")
    top = risk.highest()
    assert top is not None and top.sender_id == "adult"


def test_adult_adult_flirting_is_low() -> None:
    risk = ConversationRisk()
    feed(risk, [
        ("a", 31, "t'es chaude ce soir ?"),
        ("b", 29, "peut-être 😏"),
        ("a", 31, "envoie une photo"),
        ("b", 29, "on se voit ce soir ?"),
        ("a", 31, "ajoute moi sur insta"),
    ])
    assert all(d.level == "low" for d in risk.directions())


def test_declared_minor_age_counts_like_a_reveal() -> None:
    risk = ConversationRisk()
    feed(risk, [("kid", 14, "salut"), ("adult", 40, "envoie une photo de toi"),
                ("adult", 40, "c'est notre petit secret")])
    assert risk.assess("adult").level == "high"


def test_signals_decay_out_of_the_window() -> None:
    cfg = RiskConfig(window_seconds=3600.0)
    risk = ConversationRisk(cfg)
    risk.observe("kid", 13, [], 0.0)
    risk.observe("adult", 40, ["image_request", "secrecy"], 10.0)
    assert risk.assess("adult", now=20.0).level == "high"
    assert risk.assess("adult", now=10.0 + 7200.0).score == 0.0


def test_unknown_ages_medium_for_a_full_grooming_pattern() -> None:
    risk = ConversationRisk()
    for i, labels in enumerate([{"age_probe"}, {"image_request"}, {"off_platform"}]):
        risk.observe("x", None, labels, float(i))
    risk.observe("y", None, set(), 5.0)
    assert risk.assess("x").level in ("medium", "high")


def test_peer_minors_are_damped() -> None:
    risk = ConversationRisk()
    risk.observe("a", 15, ["image_request", "off_platform"], 0.0)
    risk.observe("b", 14, [], 1.0)
    assert risk.assess("a").level == "low"


def test_unknown_sender_has_no_risk() -> None:
    assert ConversationRisk().assess("nobody").score == 0.0
