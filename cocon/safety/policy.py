"""Moderation policy: labels + context → :class:`Decision` (pure functions).

``decide(labels, context, config)`` applies every rule below, keeps the most severe
action (allow < nudge < card < blur < hold < block < restrict_minor) and merges the
cards, cases and explanations of all the rules that fired, so that every decision says
why.  ``check_name(text)`` vets room names, topics and pseudos.

Rules (ids as in ``Decision.rules``):

* ``minor_revealed`` — the sender says they are under 18 → ``restrict_minor`` (no private
  messages with adults, no media, no calls), kind explanation with 3018 / 119, case
  ``high``; the message itself is not delivered.
* ``grooming`` — an adult (or unknown-age) sender, in private, towards a minor or a
  suspected minor, sends ``sexual`` / ``image_request`` / ``commercial_sex`` content, or
  the conversation risk is ``high``, or a watch label (age, secrecy, other app, meeting,
  contact) comes with a risk of at least ``medium`` → ``hold``, case ``urgent``, the
  recipient sees the safety card.
* ``scam`` → ``hold`` for review, case ``normal``, the recipient is warned.
* ``public_illegal`` — ``commercial_sex`` / ``drugs`` in a public room → ``block`` with a
  statement of reasons; in private → ``hold``.
* ``harassment`` → ``blur`` for the recipient, ``report`` suggested.
* ``meeting_strangers`` — a meeting proposal between people who met recently → ``card``
  (safe-meeting card for both).
* ``pii_recent`` / ``off_platform_recent`` — contact data or a move to another app
  towards someone met recently → ``nudge`` ("tu es sûr·e ?").
* ``sexual_public`` — sexual content in a public room → ``blur``.

``check_name`` refuses (``block``, with reasons) names that sexualize or target minors,
sell or seek drugs, or sell sex; see the comment above it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum

from cocon.safety.analyzer import analyze
from cocon.safety.normalize import normalize

__all__ = [
    "HELP", "Action", "Decision", "PolicyConfig", "PolicyContext", "check_name", "decide",
]

HELP = ("3018 (cyberharcèlement, violences numériques, gratuit et anonyme)",
        "119 (enfance en danger, 24h/24)")


class Action(IntEnum):
    """Ordered by severity; ``str(action)`` is the wire name."""

    ALLOW = 0
    NUDGE = 1
    CARD = 2
    BLUR = 3
    HOLD = 4
    BLOCK = 5
    RESTRICT_MINOR = 6

    def __str__(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action = Action.ALLOW
    explanation: str = ""  # French, for the sender
    recipient_notice: str | None = None  # French, for the recipient
    sender_card: str | None = None  # "safe_meeting" | "minor_help"
    recipient_card: str | None = None  # "safety" | "scam_warning" | "safe_meeting"
    deliver: bool = True
    open_case: bool = False
    case_priority: str = "none"
    suggest_report: bool = False
    restrictions: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()  # statement of reasons, one line per rule
    rules: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    labels: frozenset[str] = field(default_factory=frozenset)


_PRIORITY = {"none": 0, "normal": 1, "high": 2, "urgent": 3}
_CARD_RANK = {"safety": 3, "scam_warning": 2, "safe_meeting": 1}


@dataclass(frozen=True, slots=True)
class PolicyContext:
    private: bool = True
    sender_is_minor: bool = False
    sender_restricted: bool = False
    sender_declared_age: int | None = None
    recipient_is_minor: bool = False
    recipient_suspected_minor: bool = False
    met_recently: bool = True  # strangers, or first exchange less than a few days ago
    risk_level: str = "low"  # from ConversationRisk
    risk_score: float = 0.0


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    grooming_labels: frozenset[str] = frozenset({"sexual", "image_request", "commercial_sex"})
    grooming_watch_labels: frozenset[str] = frozenset(
        {"age_probe", "secrecy", "off_platform", "meeting", "pii"})
    grooming_watch_level: str = "medium"  # watch labels are held from this risk level
    grooming_hold_level: str = "high"  # every message is held from this risk level
    public_block_labels: frozenset[str] = frozenset({"commercial_sex", "drugs"})
    nudge_pii_recent: bool = True
    nudge_off_platform_recent: bool = True
    card_meeting_strangers: bool = True
    blur_harassment: bool = True
    blur_sexual_public: bool = True
    restrict_minor_on_reveal: bool = True
    minor_case_priority: str = "high"
    grooming_case_priority: str = "urgent"
    scam_case_priority: str = "normal"
    illegal_case_priority: str = "normal"


_LEVELS = {"low": 0, "medium": 1, "high": 2}


def _at_least(level: str, threshold: str) -> bool:
    return _LEVELS.get(level, 0) >= _LEVELS.get(threshold, 2)


def _rules(labels: frozenset[str], ctx: PolicyContext, cfg: PolicyConfig) -> list[Decision]:
    out: list[Decision] = []
    if "minor" in labels and cfg.restrict_minor_on_reveal and not ctx.sender_restricted:
        out.append(Decision(
            Action.RESTRICT_MINOR,
            "Tu nous as dit avoir moins de 18 ans : pour te protéger, ton compte passe en mode "
            "mineur (pas de messages privés avec des adultes, pas de photos ni de vidéos, pas "
            "d'appels). Ce n'est pas une punition. Si quelqu'un te met mal à l'aise, parles-en "
            "à un adulte de confiance ou appelle le 3018 ou le 119 (gratuits).",
            sender_card="minor_help", deliver=False, open_case=True,
            case_priority=cfg.minor_case_priority,
            restrictions=("no_private_with_adults", "no_media", "no_calls"),
            reasons=("L'auteur du message a indiqué être mineur : compte restreint.",),
            rules=("minor_revealed",), resources=HELP))
    target_minor = ctx.recipient_is_minor or ctx.recipient_suspected_minor
    if ctx.private and target_minor and not ctx.sender_is_minor:
        hit = labels & cfg.grooming_labels
        watch = labels & cfg.grooming_watch_labels
        if hit or _at_least(ctx.risk_level, cfg.grooming_hold_level) or (
            watch and _at_least(ctx.risk_level, cfg.grooming_watch_level)
        ):
            why = ", ".join(sorted(hit | watch)) or f"risque {ctx.risk_level}"
            out.append(Decision(
                Action.HOLD,
                "Ton message est retenu : il s'adresse à une personne mineure et ressemble à "
                "une tentative de mise en confiance. Un modérateur va l'examiner.",
                recipient_notice="Cocon a retenu un message qui t'était destiné. Tu n'as rien "
                "fait de mal. Si quelqu'un te demande ton âge, des photos, le secret ou de "
                "passer sur une autre appli, parles-en à un adulte ou appelle le 3018.",
                recipient_card="safety", deliver=False, open_case=True,
                case_priority=cfg.grooming_case_priority, suggest_report=True,
                reasons=(f"Message d'un adulte vers un mineur ou mineur supposé ({why}; risque "
                         f"de la conversation {ctx.risk_level}, {ctx.risk_score:.2f}).",),
                rules=("grooming",), resources=HELP))
    if "scam" in labels:
        out.append(Decision(
            Action.HOLD,
            "Ton message est retenu pour vérification : il ressemble à une arnaque (paiement "
            "par coupon, lien ou demande de mot de passe, chantage, faux support).",
            recipient_notice="Attention : Cocon ne demande jamais de mot de passe, de code ni "
            "de paiement. Ne paie personne par coupon (PCS, Transcash, Paysafecard).",
            recipient_card="scam_warning", deliver=False, open_case=True,
            case_priority=cfg.scam_case_priority, suggest_report=True,
            reasons=("Message retenu : signes d'arnaque.",), rules=("scam",)))
    illegal = labels & cfg.public_block_labels
    if illegal:
        what = " et ".join(
            {"commercial_sex": "l'offre ou la recherche de sexe tarifé",
             "drugs": "la vente ou l'achat de drogues"}[lb] for lb in sorted(illegal))
        public = not ctx.private
        out.append(Decision(
            Action.BLOCK if public else Action.HOLD,
            f"Ton message n'a pas été publié : {what} est interdit sur Cocon "
            "(conditions d'utilisation). Tu peux contester cette décision.",
            deliver=False, open_case=True, case_priority=cfg.illegal_case_priority,
            reasons=(f"Exposé des motifs : {what}"
                     + (" dans un salon public." if public else " en message privé."),),
            rules=("public_illegal",)))
    if "harassment" in labels and cfg.blur_harassment:
        out.append(Decision(
            Action.BLUR,
            "Ton message peut blesser : il sera masqué derrière un avertissement.",
            recipient_notice="Ce message peut être blessant. Tu peux l'afficher, bloquer la "
            "personne ou la signaler.",
            suggest_report=True, reasons=("Insulte, menace ou propos haineux.",),
            rules=("harassment",)))
    if "sexual" in labels and not ctx.private and cfg.blur_sexual_public:
        out.append(Decision(
            Action.BLUR, "Contenu sexuel dans un salon public : il est masqué par défaut.",
            reasons=("Contenu sexuel dans un salon public.",), rules=("sexual_public",)))
    if "meeting" in labels and ctx.met_recently and cfg.card_meeting_strangers:
        out.append(Decision(
            Action.CARD,
            "Avant de rencontrer quelqu'un connu en ligne : lieu public, préviens un proche, "
            "rentre par tes propres moyens.",
            sender_card="safe_meeting", recipient_card="safe_meeting",
            reasons=("Proposition de rencontre entre personnes qui se connaissent depuis "
                     "peu.",), rules=("meeting_strangers",)))
    if "pii" in labels and ctx.met_recently and cfg.nudge_pii_recent:
        out.append(Decision(
            Action.NUDGE,
            "Tu es sûr·e ? Tu t'apprêtes à donner des coordonnées (numéro, adresse, e-mail, "
            "compte) à quelqu'un que tu connais depuis peu.",
            reasons=("Coordonnées envoyées à une personne rencontrée récemment.",),
            rules=("pii_recent",)))
    if "off_platform" in labels and ctx.met_recently and cfg.nudge_off_platform_recent:
        out.append(Decision(
            Action.NUDGE,
            "Tu es sûr·e ? Quitter Cocon pour une autre appli avec quelqu'un que tu connais "
            "depuis peu, c'est perdre nos protections (signalement, modération).",
            reasons=("Invitation à passer sur une autre application.",),
            rules=("off_platform_recent",)))
    return out


def _merge(found: list[Decision], labels: frozenset[str]) -> Decision:
    if not found:
        return Decision(explanation="Message autorisé.", labels=labels)
    top = max(found, key=lambda d: d.action)
    cards = [d.recipient_card for d in found if d.recipient_card]
    sender_cards = [d.sender_card for d in found if d.sender_card]
    notices = [d.recipient_notice for d in found if d.recipient_notice]
    priority = max((d.case_priority for d in found), key=lambda p: _PRIORITY[p])
    return Decision(
        action=top.action,
        explanation=" ".join(dict.fromkeys(d.explanation for d in sorted(
            found, key=lambda d: -d.action))),
        recipient_notice=" ".join(dict.fromkeys(notices)) or None,
        sender_card=sender_cards[0] if sender_cards else None,
        recipient_card=max(cards, key=lambda c: _CARD_RANK.get(c, 0)) if cards else None,
        deliver=all(d.deliver for d in found),
        open_case=any(d.open_case for d in found),
        case_priority=priority,
        suggest_report=any(d.suggest_report for d in found),
        restrictions=tuple(dict.fromkeys(r for d in found for r in d.restrictions)),
        reasons=tuple(r for d in found for r in d.reasons),
        rules=tuple(r for d in found for r in d.rules),
        resources=tuple(dict.fromkeys(r for d in found for r in d.resources)),
        labels=labels,
    )


def decide(
    labels: Iterable[str], context: PolicyContext | None = None,
    config: PolicyConfig | None = None,
) -> Decision:
    """The decision for one message with ``labels`` sent in ``context``."""
    frozen = frozenset(labels)
    return _merge(_rules(frozen, context or PolicyContext(), config or PolicyConfig()), frozen)


# --- names: rooms, topics, pseudos -------------------------------------------------
# A name is refused (``Action.BLOCK`` with a statement of reasons) when it sexualizes or
# targets minors (``lolita``, ``papa_cherche_ado``, ``jeunette_hot``, ``pedo``), sells or
# seeks drugs (``plug_beuh``, ``weed75``), or sells sex (``escort_paris``, ``mym``,
# ``sugardaddy``), or when the message analyzer finds commercial sex, drugs or
# harassment in it.  Names are read both as words (``_ . -`` and case changes split them)
# and glued together, so ``PapaCherchJeunette`` and ``papa.cherche.jeunette`` are caught.

# Long stems: searched inside the glued name.  Short ones: whole words only.
_MINOR_LONG = (
    "jeunette", "jeunefille", "lolita", "collegien", "lyceen", "ecolier", "mineur",
    "fillette", "petitefille", "gamine", "jailbait", "moinsde18", "teen", "pedo", "pedophil",
    "enfant", "ecoliere", "minette",
)
_MINOR_SHORT = frozenset({
    "ado", "ados", "loli", "kid", "kids", "jeune", "jeunes", "13ans", "14ans", "15ans",
    "12ans", "16ans", "17ans", "petite", "petites", "gosse", "13", "14", "15", "12", "16",
})
_SEX_LONG = (
    "sexe", "sexy", "baise", "suce", "bander", "coquin", "porno", "nude", "salope", "chaude",
    "chaud", "hot", "excit", "cochon", "daddy", "cherch", "kiffe", "papa", "tonton", "aime",
    "love", "xxx",
    "plancul", "calin", "bisou", "soumise", "domina", "fetich", "culotte",
)
_SEX_SHORT = frozenset({"sex", "cul", "bite", "69", "hot", "nue", "nu", "pute", "putes"})
_ALWAYS_LONG = (
    "pedo", "pedophil", "lolita", "jailbait", "escort", "onlyfans", "fansly", "sugardaddy",
    "sugarbaby", "tarifs", "payant", "remunere", "beuh", "weed", "cocaine", "cannabis",
    "mdma", "3mmc", "ketamine", "dealer", "pochon", "ganja", "hasch", "ecsta", "drogue",
    "vendsnude", "nudeavendre", "massagefinition", "plancul",
)
_ALWAYS_SHORT = frozenset({
    "mym", "coke", "shit", "plug", "bedo", "zeb", "lsd", "keta", "md", "teh", "loli", "pute",
    "putes", "sugar",
})
_SPLIT = re.compile(r"(?<=[a-z])(?=[A-Z])|[_.\-\s/|]+")
_REFUSE_LABELS = frozenset({"commercial_sex", "drugs", "harassment"})


def _words(text: str) -> tuple[list[str], str]:
    spaced = " ".join(p for p in _SPLIT.split(text) if p)
    n = normalize(spaced)
    words = list(n.tokens)
    glued = "".join(words)
    return words, glued


def check_name(text: str) -> Decision:
    """Allow or refuse a room name, topic or pseudo, with the reasons."""
    words, glued = _words(text)
    wordset = set(words)
    reasons: list[str] = []
    always = [s for s in _ALWAYS_LONG if s in glued] + sorted(wordset & _ALWAYS_SHORT)
    if always:
        reasons.append(f"Nom qui évoque des drogues, du sexe tarifé ou la pédocriminalité "
                       f"({', '.join(always)}).")
    minor = [s for s in _MINOR_LONG if s in glued] + sorted(wordset & _MINOR_SHORT)
    sexual = sorted({s for s in _SEX_LONG if s in glued} | (wordset & _SEX_SHORT))
    if minor and sexual and not always:
        reasons.append(f"Nom qui sexualise ou cible des mineurs ({', '.join(minor + sexual)}).")
    found = analyze(" ".join(words)).labels & _REFUSE_LABELS
    if found and not reasons:
        reasons.append(f"Nom refusé par l'analyse des messages ({', '.join(sorted(found))}).")
    if not reasons:
        return Decision(explanation="Nom accepté.")
    return Decision(
        Action.BLOCK,
        "Ce nom n'est pas accepté sur Cocon : " + " ".join(reasons)
        + " Choisis-en un autre.",
        deliver=False, reasons=tuple(reasons), rules=("name",),
    )
