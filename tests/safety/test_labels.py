"""Each label: positives as people write them and hard negatives."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cocon.safety import LABELS, analyze

POSITIVES: dict[str, list[str]] = {
    "minor": ["jai 14 ans et toi", "chui en 3e", "je suis mineure", "15 f lyon",
              "je passe le brevet", "jsuis de 2011", "j'ai pas 18 ans", "g 13 ans"],
    "age_probe": ["ta kel age", "asv ?", "t'es en quelle classe ?", "t'es majeure ?",
                  "tu es née en quelle année", "t'as plus de 18 ans ?"],
    "sexual": ["t'es chaude ?", "tu suces ?", "t'es vierge ?", "plan cul ce soir",
               "j'ai envie de toi 🍆💦", "s3x3 ce soir ?"],
    "image_request": ["envoie une photo de toi", "allume ta cam", "c2c ?", "montre toi",
                      "t'as une photo ?", "envoi moi une tof"],
    "off_platform": ["ajoute moi sur $nap", "t'as snap ?", "donne ton 06", "viens sur discord",
                     "c quoi ton insta", "on continue sur whatsapp ?"],
    "meeting": ["on se voit quand ?", "tu habites où ?", "viens chez moi ce soir",
                "on se donne rdv samedi ?", "je viens te chercher à la sortie du collège"],
    "secrecy": ["dis rien à tes parents", "c'est notre petit secret", "efface la conv stp",
                "personne doit savoir", "ça reste entre nous"],
    "pii": ["appelle moi au 06 12 34 56 78", "j'habite au 12 rue des Lilas",
            "lea.martin@hotmail.fr", "mon snap c'est lea_92"],
    "commercial_sex": ["escort dispo paris", "cherche sugar daddy", "combien pour une nuit ?",
                       "je te donne 50€ pour une photo", "abonne toi à mon onlyfans"],
    "drugs": ["vends beuh 10e le g", "qui a de la coke ?", "plug dispo sur snap 🌿",
              "je cherche de la md pour samedi"],
    "scam": ["achète une recharge PCS et envoie moi le code",
             "donne moi ton mot de passe pour vérifier ton compte",
             "j'ai tes photos, paye sinon je les envoie à tes parents",
             "je fais du trading, 500€ par jour garanti"],
    "harassment": ["ta gueule connard", "t'es qu'une salope", "sale arabe", "je vais te tuer",
                   "je sais où tu habites", "les juifs devraient dégager"],
}

HARD_NEGATIVES: dict[str, list[str]] = {
    "minor": ["mon fils a 14 ans", "je suis prof au collège", "j'ai 14 ans d'expérience",
              "quand j'avais 15 ans", "il y a 15 ans", "j'ai 34 ans"],
    "age_probe": ["quel âge a ton chien ?", "à quel âge on peut voter ?", "j'ai 22 ans"],
    "sexual": ["il fait chaud", "ma chatte a eu des chatons", "faire la queue",
               "je suis chaud pour un foot demain", "éducation sexuelle au collège"],
    "image_request": ["j'ai pris une photo du coucher de soleil", "ta photo de profil est belle",
                      "ma cam marche pas", "je t'envoie la photo du menu"],
    "off_platform": ["mon snap est cassé lol", "t'as vu le tiktok de squeezie ?",
                     "j'ai supprimé insta", "on continue en mp ?"],
    "meeting": ["on se voit au salon Musique", "on se retrouve sur le salon ce soir",
                "t'es où dans le jeu ?", "rdv chez le dentiste à 14h", "j'habite à Lyon"],
    "secrecy": ["le secret de la recette c'est le beurre", "j'ai dit à mes parents",
                "j'ai supprimé mon compte"],
    "pii": ["je m'appelle Julie", "il est 14h30", "on était 14 à la soirée"],
    "commercial_sex": ["ma vieille Ford Escort roule encore", "je vends mon vélo 50 euros",
                       "j'ai acheté un pack de 6 à 5 euros"],
    "drugs": ["les champignons de paris c'est 2 euros", "un coca zéro stp",
              "mon joint de culasse a lâché", "oh shit j'ai oublié mes clés"],
    "scam": ["j'ai oublié mon mot de passe", "j'ai acheté du bitcoin en 2017",
             "j'ai gagné 10 euros au loto"],
    "harassment": ["c'est con ce qui lui arrive", "putain il pleut", "il fait un sale temps",
                   "j'ai tué le boss final"],
}


@pytest.mark.parametrize(
    ("label", "text"), [(lb, t) for lb, texts in POSITIVES.items() for t in texts]
)
def test_positive(label: str, text: str) -> None:
    assert label in analyze(text).labels


@pytest.mark.parametrize(
    ("label", "text"), [(lb, t) for lb, texts in HARD_NEGATIVES.items() for t in texts]
)
def test_hard_negative(label: str, text: str) -> None:
    assert label not in analyze(text).labels


def test_every_label_is_covered() -> None:
    assert set(POSITIVES) == set(LABELS) == set(HARD_NEGATIVES)


def test_scores_are_consistent_with_labels() -> None:
    result = analyze("ajoute moi sur snap, t'as quel âge ?")
    assert result.labels == {"off_platform", "age_probe"}
    assert all(0 < result.scores[lb] <= 1 for lb in result.labels)
    assert analyze("salut ça va").labels == frozenset()


@settings(max_examples=500)
@given(st.text(max_size=400))
def test_prefilter_never_changes_the_result(text: str) -> None:
    assert analyze(text).labels == analyze(text, prefilter=False).labels
