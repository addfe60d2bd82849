"""Word lists and patterns of the safety detectors, written against normalized text.

Patterns run on :attr:`Normalized.norm` (lower case ASCII, single spaces, ``?`` kept as a
token, SMS spelling already mapped: ``kel`` → ``quel``, ``jsuis`` → ``je suis``).
Every label has ``strong`` patterns (score 0.9), optional ``weak`` ones (0.6) and
``veto`` ones (hard negatives, multiply the score by 0.3), plus ``triggers``: word
prefixes of which at least one must appear for the label's patterns to be tried at all
(the cheap prefilter; ``tests/safety`` checks it loses nothing on the dev set).
"""

from __future__ import annotations

import datetime


def alt(*parts: str) -> str:
    """``(?:a|b|c)``."""
    return "(?:" + "|".join(parts) + ")"


_YEAR = datetime.date.today().year
MINOR_AGE = r"(?:1[0-7]|[6-9])"
ANS = r"(?:ans?|a|yo|piges?|balais|printemps)"
MINOR_YEARS = alt(*(str(y) for y in range(_YEAR - 17, _YEAR - 5)))
GRADE = alt(
    "cp", "ce1", "ce2", "cm1", "cm2", r"6 ?e", r"6 ?eme", r"5 ?e", r"5 ?eme", r"4 ?e",
    r"4 ?eme", r"3 ?e", r"3 ?eme", "sixieme", "cinquieme", "quatrieme", "troisieme",
    r"2 ?nde", r"2 ?de", "seconde", r"1 ?ere", r"1 ?re", "premiere", "terminale", "tle",
    "term", "segpa", "primaire",
)
NOT_GRADE_CONTEXT = r"(?! (?:annee|ligne|position|place|classe (?:eco|affaire)|main|partie))"
TU_AS = r"(?:tu as|t as|ta|t a|as tu|vous avez|tu a)"
TU_ES = r"(?:tu es|t es|tes|t|es tu|vous etes|tu)"
ME = r"(?:moi |m |me |nous )?"
PHOTO = r"(?:photos?|images?|video|nude)"
SEND = alt(
    "envoie", "envoies", "envoi", "envoyer", "envoye", "env", "envois", "send", "balance",
    "passe", "donne", "file", "montre", "montres", "fais voir", "fait voir", "mets",
    "tu peux m envoyer", "tu m envoies", "tu m envoie", "tu veux m envoyer",
    "tu me montres", "je veux", "je voudrais", "j aimerais", "tu peux me montrer",
)
NOT_THING = r"(?! (?:du|de la|des|d un|d une|de l|de mon|de ma|de ses|de son|de ce|de cette|d ecran|de profil|de groupe|de classe|du menu))"  # noqa: E501
APPS = alt(
    "snap", "snaps", "sc", "insta", "ig", "whatsapp", "telegram", "telegramme", "discord",
    "kik", "skype", "facebook", "messenger", "tiktok", "signal", "viber", "wechat", "twitter",
    "tinder", "grindr", "yubo", "wizz", "omegle", "hangouts", "line", "teams", "zoom",
    "facetime", "threads", "bereal",
)
CONTACT = alt(
    "numero", "tel", "telephone", "portable", "phone", "06", "07", "mail", "email",
    "e mail", "adresse mail", "adresse email", "gmail", "hotmail", "adresse", "coordonnees",
    "contact", "id discord", "pseudo snap", "pseudo insta",
)
PARENTS = alt(
    "parents", "mere", "pere", "darons", "daronne", "daron", "famille", "potes", "amis",
    "amies", "copines", "copains", "profs?", "soeur", "frere", "entourage", "maman", "papa",
    "mec", "copain", "copine", "meuf", "mari", "femme",
)
DRUG_STRONG = alt(
    "beuh", "weed", "cannabis", "bedos?", "ganja", "marijuana", "zeb", "zebi", "pochons?",
    "barrettes?", "plaquettes?", "tarpe", "teh", "hasch", "haschich", "hash", "spliff",
    "kush", "amnesia", "cocaine", "coca[iï]ne", "mdma", "md", "ecsta", "ecstasy", "xtc",
    "taz", "extas?", "ecstas?", "keta", "ketamine", "kta", "lsd", "buvards?", "champis", "3 ?mmc",
    "4 ?mmc", "ghb", "heroine", "crack", "lean", "drogues?", "zherbe", "zneige", "zpilule",
    "cocke", "c0ke",
)
DRUG_WEAK = alt(
    "shit", "herbe", "coke", "blanche", "neige", "joints?", "pets?", "speed", "acide",
    "champignons?", "produit", "matos", "came", "frappe", "resine", "pollen", "jaune",
    "beu", "verte", "xanax", "lyrica", "tramadol", "codeine", "hero", "meth",
)
DRUG_TX = alt(
    "vends?", "vente", "vendre", "vendeur", "dispo", "disponible", "livraisons?", "livre",
    "livreur", "je livre", "achete", "acheter", "achat", "cherche", "recherche", "qui a",
    "qui aurait", "t as", "tu as", "tu aurais", "t aurais", "as tu", "il y a", "y a",
    "il me faut", "besoin", "pecho", "choper", "chope", "recup", "recuperer", "commande",
    "commander", "plug", "quelqu un a", "qqn a", "quelqu un aurait", "dealer", "dealeur",
    "dealeuse", "fournisseur", "tarifs?", "prix",
    "combien", "le g", "grammes?", r"\d+ ?g", r"\d+ ?(?:euros|e|eur)", r"\d+ ?balles", "menu",
    "carte",
    "stock", "qualite", "bonne came", "premium", "colis", "trouver", "j en ai", "j ai",
    "en stock", "a vendre", "fumer", "fume", "taper",
)
INSULT = alt(
    "connard", "connards", "connasse", "conasse", "salope", "salopes", "salop", "salaud",
    "encule", "enculee", "encules", "enculer", "batard", "batarde", "batards", "fdp", "ntm",
    "nique ta mere", "nique ta race", "nique ta mere la pute", "ta mere la pute",
    "fils de pute", "fille de pute", "fils de chien", "pute", "putes", "pd", "pede",
    "pedes", "tapette", "tarlouze", "gouine", "negro", "negre", "bougnoule", "bicot",
    "youpin", "youtre", "chinetoque", "bamboula", "macaque", "triso", "trisomique",
    "mongol", "mongole", "abruti", "abrutie", "cretin", "cretine", "boloss", "bolosse",
    "bouffon", "bouffonne", "pouffiasse", "grognasse", "trainee", "catin", "grosse vache",
    "gros porc", "grosse truie", "cassos", "sous merde", "merdeux", "tocard", "tg",
    "ta gueule", "ferme ta gueule", "ftg", "ferme la", "va te faire foutre", "vtff",
    "va chier", "suicide toi", "va mourir", "va crever", "kys", "tue toi", "pends toi",
    "va te pendre", "personne t aime", "personne ne t aime", "sac a merde", "enfoire",
    "enfoiree", "gogol", "attarde", "attardee", "clochard", "sale chienne", "chienne",
)
TARGET = alt(
    "t es", "tu es", "tes", "espece d", "espece de", "vous etes", "bande de", "pauvre",
    "sale", "gros", "grosse", "quel", "quelle", "t es qu un", "t es qu une", "t es vraiment",
    "t es trop", "tu es vraiment", "t es juste", "t es une", "t es un", "tu es un",
    "tu es une", "toi le", "toi la",
)
MILD_INSULT = alt(
    "con", "conne", "cons", "connes", "idiot", "idiote", "imbecile", "nul", "nulle",
    "naze", "moche", "laid", "laide", "thon", "bete", "stupide", "debile", "debiles",
    "abruti", "clown", "dechet", "merde", "parasite", "pourriture", "ordure", "raclure",
    "minable", "grosse", "gros lard", "obese", "handicape", "mongolien", "inutile",
    "sous race", "chien", "porc", "truie", "vache",
)
GROUPS = alt(
    "arabes?", "noirs?", "noires?", "juifs?", "juives?", "musulmans?", "musulmanes?",
    "pd", "pedes?", "gays?", "homos?", "lesbiennes?", "trans", "migrants?", "immigres?",
    "roms?", "gitans?", "chinois", "asiatiques?", "renois?", "rebeus?", "feujs?",
    "bougnoules?", "negres?", "blancs?", "handicapes?", "mongols?", "femmes?", "noichs?",
    "africains?", "maghrebins?", "portugais", "turcs?", "hindous?", "cathos?", "chretiens?",
)
THREAT_VERB = alt(
    "tuer", "buter", "defoncer", "frapper", "niquer", "casser la gueule", "eclater",
    "retrouver", "trouver", "egorger", "planter", "fumer", "detruire", "exploser", "violer",
    "faire la peau", "faire du mal", "faire mal", "briser", "pourrir la vie", "cramer",
    "bruler", "cogner", "taper", "afficher", "harceler", "tabasser", "saigner", "crever",
    "massacrer", "decapiter", "lyncher",
)
COUPONS = alt(
    "pcs", "transcash", "neosurf", "paysafe", "paysafecard", "psc", "toneo", "ticket premium",
    "tickets premium", "recharges? pcs", "coupons? pcs", "carte cadeau", "cartes cadeaux",
    "carte google play", "google play", "itunes", "carte steam", "steam card", "carte amazon",
    "code amazon", "bon d achat", "western union", "moneygram", "mandat cash",
)
MONEY = r"(?:\d+ ?(?:euros|e|eur|balles|k|dollars|\$)|de l argent|du fric|des sous|un virement|la thune|du cash)"  # noqa: E501
PAY_THING = alt(
    "photos?", "nude", "video", "cam", "show", "plan", "nuit", "heure", "soiree", "moment",
    "rencontre", "culottes?", "pieds?", "seins", "corps", "pipe", "branlette", "massage",
    "sodo", "passe", "rapport", "gorge profonde", "contenus?", "packs?", "sexe",
)
