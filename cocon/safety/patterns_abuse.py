"""Patterns for ``pii``, ``commercial_sex``, ``drugs``, ``scam`` and ``harassment``.

Same conventions as :mod:`cocon.safety.patterns` (normalized text, strong / weak / veto,
prefilter triggers).  ``pii`` also has patterns on the ``low`` form in
:mod:`cocon.safety.detectors` (e-mails, handles written with their punctuation).
"""

from __future__ import annotations

from cocon.safety.lexicon import (
    COUPONS,
    DRUG_STRONG,
    DRUG_TX,
    DRUG_WEAK,
    GROUPS,
    INSULT,
    MILD_INSULT,
    MONEY,
    PAY_THING,
    TARGET,
    THREAT_VERB,
    alt,
)
from cocon.safety.patterns import RULES, Rule

_STREET = alt(
    "rue", "avenue", "av", "bd", "boulevard", "allee", "impasse", "chemin", "place", "route",
    "quai", "cours", "residence", "square", "cite", "lotissement", "passage", "villa",
)
_NAMEISH = alt(
    "jean", "jules", "victor", "louis", "marie", "pierre", "paul", "saint", "sainte", "st",
    "george", "georges", "charles", "albert", "anatole", "jacques", "simone", "emile",
    "henri", "rene", "francois", "joseph", "marcel", "andre", "gustave", "camille",
    "jean jaures", "voltaire", "moliere", "pasteur", "condorcet", "montaigne", "rousseau",
)
RULES["pii"] = Rule(
    strong=(
        r"(?<!\d)(?:0|33 ?0?|0033 ?)[1-9](?: ?\d{2}){4}(?!\d)",
        r"(?<!\d)\d{1,4} (?:bis |ter )?" + _STREET + r" (?:de |du |des |d |la |le |l |saint |st )*"
        r"[a-z]{3,}",
        r"j habite (?:au |a |dans la |dans le |a la |au niveau du )?(?:\d+ )?" + _STREET
        + r" [a-z]{3,}",
        r"j habite (?:a |au |dans le )?\d{5}", r"\b\d{5} [a-z]{3,}(?: cedex)?$",
        r"(?:je m appelle|mon nom (?:c est|est)|moi c est|mon vrai nom c est|je suis) [a-z]{3,}"
        r" [a-z]{3,} (?:\w+ ){0,4}(?:je )?(?:travaille|bosse|taffe|taf|bossant|employee?)"
        r" (?:chez|a|au|a la|dans|pour)",
        r"(?:je (?:travaille|bosse|taffe)|je suis (?:\w+ )?) (?:chez|au|a la|a) [a-z]{3,}"
        r" (?:\w+ ){0,4}(?:je m appelle|mon nom (?:c est|est)) [a-z]{3,} [a-z]{3,}",
        r"(?:college|lycee|ecole) " + _NAMEISH + r" (?:\w+ )?(?:a|de|d|sur|a cote de) [a-z]{3,}",
        r"\w+ (?:arobase|at) (?:gmail|hotmail|yahoo|outlook|orange|free|sfr|laposte|icloud)\b",
        r"(?:mon|ma) (?:numero|tel|06|07) (?:c est |c |est |: )?0\d",
        r"(?:arobase|at) \w+ (?:point|dot) (?:com|fr|net)",
    ),
    triggers=(
        "habi", "appe", "nom", "trav", "boss", "taff", "taf", "coll", "lyce", "ecol", "arob",
        "at", "nume", "tel", "rue", "aven", "av", "bd", "boul", "alle", "impa", "chem", "plac",
        "rout", "quai", "cour", "resi", "squa", "cite", "loti", "pass", "vill", "bis", "ter",
    ),
)
RULES["commercial_sex"] = Rule(
    strong=(
        r"(?<!ford )escort\w*", r"sugar ?(?:daddy|daddies|dady|baby|babe|mommy|mama|dad)",
        r"(?:onlyfans|only fans|fansly|mym fans|mym)\b", r"(?:mon|sur mon|lien de mon|link) of\b",
        r"(?:photos?|nude|video|contenus?|packs? (?:photos?|nude|video|coquin|hot|prive)|show"
        r"|plan|massage|rencontres?|soiree|nuit"
        r"|moments?|prestations?|services?|seances?|cam|relation|accompagnement)s? (?:\w+ ){0,3}?"
        r"(?:payants?|payantes?|remuneree?s?|tarifee?s?|contre (?:de l argent|argent|cadeaux?"
        r"|des euros|paiement|remuneration|\d+)|pour \d+ ?(?:euros|e|balles|eur)|a \d+ ?(?:euros"
        r"|e|balles|eur)|\d+ ?(?:euros|balles|e|eur)\b)",
        r"(?:je|j) (?:vends|vend|propose|offre|fais) (?:mes |des |ma |mon |du |de )?(?:photos?"
        r"|nude|video|culottes?|culottes portees|contenus?|charmes?|corps|pieds?|packs?|shows?"
        r"|services coquins|contenu prive|contenu exclusif)(?! (?:de vacances|de paysage"
        r"|de voyage|de mariage|de mon chat|de mon chien|d occasion))",
        r"(?:combien|cb|tarif|tarifs|prix|c est combien) (?:pour |d une |de la |du |de ta "
        r"|de tes )?"
        r"(?:une |la |ta |tes |un |1 )?(?:nuit|heure|h|pipe|passe|plan|photos?|nude|video|cam"
        r"|show|rapport|rencontre|sodo|massage|branlette|moment|culotte|sexe)\b",
        r"(?:tes|vos|ton|tu prends|tu demandes) (?:tarifs?|prix)", r"tu prends combien",
        r"(?:je|j) (?:paye|paie|payerai|payerais|donne|offre|t offre|te donne|te paye|te paie"
        r"|te file|te verse|t envoie|peux te payer|peux te donner|te propose) (?:bien |cher )?"
        r"(?:" + MONEY + r" )?(?:pour|contre|si tu|si t) (?:m envoies |me montres |me montre "
        r"|me fais |m envoie )?(?:une |des |tes |ta |un |voir )?" + PAY_THING,
        r"\d+ ?(?:euros|balles|e|eur) (?:pour|la|le|les) (?:une |un |1 )?" + PAY_THING,
        r"(?:rencontres?|plans?|massages?|soirees?|rdv|relations?|accompagnement|service)"
        r" (?:discrete?s? )?(?:tarifee?s?|remuneree?s?|payante?s?|contre cadeau|avec cadeau)",
        r"contre (?:un |des )?(?:petit |petits )?cadeaux?", r"massage (?:avec|happy) (?:finition"
        r"|ending)", r"happy ending", r"\d+ roses",
        r"(?:cherche|recherche) (?:un |une |mon )?(?:sugar|daddy|mec genereux|homme genereux"
        r"|bienfaiteur|mecene|protecteur)", r"(?:homme|mec|daddy|monsieur) genereux",
        r"(?:je |j )(?:fais|propose) (?:des )?(?:passes|plans remuneres|massages? coquins?)",
        r"(?:paypal|lydia|virement) (?:\w+ ){0,3}(?:photos?|nude|video|cam)",
        r"(?:photos?|nude|video|cam) (?:\w+ ){0,3}(?:paypal|lydia|virement|pcs|paysafecard)",
        r"(?:gagner|gagne|se faire|te faire|fais toi) (?:de l argent|des sous|du fric|\d+ ?euros)"
        r" (?:avec (?:ton|tes) (?:corps|photos|charmes)|en envoyant des photos)",
    ),
    veto=(r"(?:ford|voiture) escort", r"\bsinon\b", r"je (?:les|la|le) (?:envoie|publie|balance)"),
    triggers=(
        "esco", "suga", "only", "fans", "mym", "of", "phot", "nude", "vide", "cont", "pack",
        "show", "plan", "plans", "mass", "renc", "soir", "nuit", "mome", "pres", "serv",
        "sean", "cam", "rela", "acco", "culo", "char", "corp", "pied", "comb", "cb", "tari",
        "prix", "heur", "h", "sein", "seins", "pipe", "bran", "sodo", "pass", "rapp", "gorg",
        "sexe", "rend", "cade", "happ", "rose", "dadd", "gene", "bien", "mece", "prot", "payp",
        "lydi", "vire", "gagn", "passes", "packs",
    ),
)
RULES["drugs"] = Rule(
    strong=(
        DRUG_TX + r" (?:\w+ ){0,3}?" + DRUG_STRONG + r"\b",
        DRUG_STRONG + r" (?:\w+ ){0,3}?" + DRUG_TX + r"\b",
        DRUG_TX + r" (?:du |de la |de |des |d la |la |le |d |un |une )?" + DRUG_WEAK
        + r"\b(?! (?:storm|de paris|de culasse|de la salle|zero|cola|sans sucre|a la creme))",
        DRUG_WEAK + r" (?:dispo|a vendre|a dispo|en vente|en stock|livre|livraison|pas cher"
        r"|de qualite|premium|\d+ ?(?:g|euros|balles))\b",
        r"(?:je suis le|mon|ton|un|le|cherche un|cherche le|numero du) plug\b",
        r"plug (?:dispo|sur|snap|telegram|beuh|weed|coke|livraison)",
        r"(?:menu|carte) (?:dispo|du jour|a jour)?(?: \w+)? (?:sur|en) (?:snap|telegram|insta"
        r"|mp|pv|prive)", r"(?:zherbe|zneige|zpilule) (?:\w+ )?(?:dispo|livraison|mp|pv|snap"
        r"|telegram)",
        r"(?:^|je |j |qui )(?:vends|vend|achete|cherche|trouver) (?:de la |de |des )?drogue",
        r"(?:cherche|recherche|besoin d un|numero d un|numero du|connais un|connait un|qqn connait)"
        r" (?:un |le |bon |un bon )?(?:dealer|dealeur|plug|fournisseur)",
    ),
    veto=(r"(?:coca|coke) (?:zero|cola|light)", r"champignons? de paris"),
    triggers=(
        "plug", "deal", "four", "menu", "cart", "zher", "znei", "zpil", "drog", "beuh", "weed",
        "cann", "bedo", "ganj", "mari", "zeb", "zebi", "poch", "barr", "plaq", "tarp", "teh",
        "hasc", "hash", "spli", "kush", "amne", "coca", "coke", "mdma", "md", "ecst", "xtc",
        "taz", "exta", "keta", "kta", "lsd", "buva", "cham", "3mmc", "4mmc", "mmc", "ghb",
        "hero", "crac", "lean", "shit", "herb", "blan", "neig", "join", "pet", "pets", "spee",
        "acid", "prod", "mato", "came", "frap", "resi", "poll", "jaun", "beu", "vert", "xana",
        "lyri", "tram", "code", "meth", "cock", "c0ke",
    ),
)
RULES["scam"] = Rule(
    strong=(
        COUPONS + r"(?! (?:pour noel|pour mon anniv|pour ton anniv|a gagner au concours))",
        r"(?:clique|cliquer|cliques|connecte toi|connecte|va sur|verifie|valide|debloque"
        r"|debloquer|recupere|recuperer|reclame|entre tes infos) (?:\w+ ){0,4}(?:lien|site|http"
        r"|https|www|bit ly)", r"(?:http|https|www) \w+ (?:xyz|top|tk|ru|click|gq|ml|cf|cn)\b",
        r"(?:(?:tu as|t as|vous avez|pour|tu peux|vous pouvez|tu vas) (?:\w+ )?(?:gagne|gagner)"
        r"|offert|offerts|offerte|gratuit|gratuits|gratuite|free|gagnant)"
        r" (?:\w+ ){0,2}(?:nitro|robux|vbucks|v bucks|skins?|iphone|ps5|cadeau|lot|argent"
        r"|\d+ ?euros)", r"(?:nitro|robux|vbucks|v bucks|skins?|iphone|ps5) (?:\w+ )?(?:gratuit"
        r"|gratuits|offert|offerts|free)", r"(?:tu as|t as|vous avez) (?:ete )?(?:gagne|tire"
        r"|selectionnee?)",
        r"(?:donne|envoie|file|passe|dis|ecris|communique|confirme|verifie|donner|envoyer"
        r"|entre|entrer|tape|taper|rentre|donnes|envoies) (?:moi |nous |me )?(?:ton |ta |tes"
        r" |le |les |votre |vos )?(?:mot de passe|mdp|password|identifiants?|login|code (?:de "
        r"verification|de confirmation|recu|sms|a 6 chiffres|de securite|secret|pin|cb|carte|que"
        r" tu (?:as|vas) recevoir)|numero de carte|numero de cb|cryptogramme|rib|iban|code pin"
        r"|codes? (?:de ta|de votre) carte)",
        r"(?:je suis|je fais partie|ici|c est|nous sommes|message de|je travaille pour|membre de)"
        r"(?: de)?(?: l| la| le)? (?:equipe|moderation|moderateur|moderatrice|modo|admin"
        r"|administrateur|support|staff|securite|service client)(?: \w+)?(?: de| du| officiel)?"
        r" (?:cocon|du site|du chat|officiel|technique)",
        r"(?:ton|votre) compte (?:va etre|sera|a ete|est|risque d etre)(?: \w+)? (?:suspendu"
        r"|supprime|bloque|banni|desactive|ferme|pirate|compromis|verrouille)",
        r"(?:verifier|valider|certifier|confirmer) (?:ton|votre) (?:compte|identite)",
        r"(?:investi\w*|placement|trading|trader|forex|crypto\w*|bitcoin|btc|ethereum|usdt|nft"
        r"|binance) (?:\w+ ){0,6}?(?:rendement|rapporte|doubl\w+|tripl\w+|benefices?|profits?"
        r"|\d+ ?%|par jour|par semaine|par mois|garanti|sans risque|rentable|mentor|revenu passif"
        r"|\d+ ?euros)", r"(?:argent facile|revenus? passifs?|devenir riche|doubler (?:ton|votre)"
        r" argent|gagner \d+ ?(?:euros|e|k) par (?:jour|semaine))",
        r"(?:heritage|heritier|succession|colis bloque|virement bloque|frais de (?:douane|dossier"
        r"|transfert|deblocage)|debloquer (?:les|mon|des|ces) fonds|militaire en mission)",
        r"(?:prete moi|preter|envoie moi|envoyer|fais moi|verse moi|tu peux m envoyer|tu pourrais"
        r" m envoyer|avance moi|depanne moi|il me faut|j ai besoin de) (?:\w+ ){0,2}?(?:\d+ ?"
        r"(?:euros|balles|e|eur)|de l argent|un virement|un paypal|une somme|du fric|des sous"
        r"|un mandat)",
        r"(?:j ai|je possede|on a|j ai enregistre|j ai filme|j ai capture) (?:tes|des|ta|une|la"
        r"|toutes tes|les) (?:photos?|video|nude|captures?|enregistrements?)s? (?:\w+ ){0,6}?"
        r"(?:envoyer|publier|diffuser|balancer|montrer|partager|poster|envoie|publie|diffuse"
        r"|tes parents|tes amis|tes contacts|ta famille|internet)",
        r"(?:sinon|si tu (?:paies|payes|paye|envoies|vires) pas|ou je|ou bien je|t as \d+ ?(?:h"
        r"|heures)) (?:\w+ ){0,5}?(?:publie|envoie|diffuse|balance|montre|poste|partage|tes "
        r"parents|tes amis|tes contacts|ta famille|internet|ta copine|tout le monde)",
        r"(?:paye|paie|payes|vire|envoie) (?:\w+ ){0,4}?(?:sinon|ou je|ou tout le monde)",
    ),
    veto=(r"j ai (?:oublie|perdu|change) mon (?:mot de passe|mdp)",),
    triggers=(
        "pcs", "tran", "neos", "pays", "psc", "tone", "tick", "rech", "coup", "cart", "goog",
        "play", "itun", "stea", "bon", "west", "mone", "mand", "lien", "site", "http", "www",
        "bit", "nitr", "robu", "vbuc", "buck", "skin", "skins", "ipho", "ps5", "cade", "lot",
        "grat", "offe", "free", "gagn", "mot", "mdp", "pass", "iden", "logi", "code", "cryp",
        "rib", "iban", "pin", "equi", "mode", "modo", "admi", "supp", "staf", "secu", "serv",
        "comp", "veri", "vali", "cert", "conf", "inve", "plac", "trad", "fore", "bitc", "btc",
        "ethe", "usdt", "nft", "bina", "arge", "reve", "rich", "doub", "heri", "succ", "coli",
        "vire", "frai", "debl", "mili", "euro", "ball", "payp", "somm", "fric", "sous", "phot",
        "vide", "nude", "capt", "enre", "film", "sino", "paye", "paie", "payes", "gaga",
        "conn", "cliq", "recu", "recl", "tire", "sele",
    ),
)
RULES["harassment"] = Rule(
    strong=(
        INSULT + r"\b(?! (?:de (?:ma|ta) (?:cam|connexion|wifi)))",
        TARGET + r" (?:(?:un|une|qu un|qu une|trop|vraiment|grand|gros|grosse|petit|petite"
        r"|sale|pauvre|bien|la|le|une vraie|un vrai|qu une|vieux|vieille|espece de) )*"
        + MILD_INSULT + r"\b",
        r"sale (?:" + GROUPS[3:-1] + r"|race|chien|chienne|merde|porc|truie|vache|con|conne"
        r"|pute|immigre|gros|grosse|moche|sioniste|gauchiste|facho)\b",
        r"je (?:vais|vai|v|m en vais|te jure que je vais|compte) (?:te |t )" + THREAT_VERB,
        r"(?:on|ils|mes potes|mes freres) (?:va|vont|vas) (?:te |t )" + THREAT_VERB,
        r"je sais (?:ou|o) (?:tu (?:habites|vis|es|dors|vas|traines)|t habites|t es)",
        r"(?:tu vas|tu va|t vas) (?:crever|mourir|le regretter|morfler|payer|prendre cher"
        r"|souffrir|le payer|voir ce qui va)", r"t es (?:mort|morte|un homme mort|une femme morte)",
        r"fais gaffe a (?:toi|ta gueule|tes fesses)", r"(?:t es|vous etes) finie?s?\b",
        r"(?:les|ces|tous les|toutes les|sales) (?:" + GROUPS[3:-1] + r") (?:sont (?:tous |toutes"
        r" )?(?:des|que des|nuls|sales|inferieurs|betes|une plaie)|devraient|doivent|dehors|a la "
        r"porte|au four|puent|pue|faut les|faudrait les|il faut les|on devrait|meritent|de merde"
        r"|c est (?:de la|des) merde|degagez|rentrez chez vous|ca (?:pue|devrait))",
        r"(?:" + GROUPS[3:-1] + r") de merde", r"mort aux? \w+",
        r"retourne (?:dans ton pays|en afrique|au bled|chez toi|dans ta cite)",
        r"hitler (?:avait raison|aurait du)", r"sieg heil", r"\bheil\b",
        r"(?:tout le monde|personne) (?:te deteste|t aime pas|ne t aime|veut pas de toi)",
        r"(?:je vais|on va) (?:t afficher|balancer tes photos|te ruiner|te retrouver)",
        r"(?:ferme|fermes|ta) (?:ta )?(?:gueule|bouche)\b", r"(?:degage|casse toi|barre toi)"
        r"(?: d ici)?(?: \w+)? (?:" + MILD_INSULT[3:-1] + r"|sale)",
        r"(?:t es|tu es) (?:moche|laid|laide|grosse|obese|inutile|une merde|un dechet|un cas)"
        r"\b(?! (?:mdr|lol))", r"(?:t es|tu es) qu (?:un|une) \w+",
        r"(?:nique|niquer|nik) (?:ta|ton|tes|sa|sa) (?:mere|race|soeur|pere|grand mere|famille|"
        r"morts|daronne)", r"(?:suicide|suicides|tue|tues|pend|pends) toi",
    ),
    veto=(r"(?:c est|c|ce film est|ce jeu est|trop) (?:con|debile|nul|bete)\b",),
    triggers=(
        "conn", "cona", "salo", "sala", "encu", "bata", "fdp", "ntm", "niqu", "nique", "nik",
        "pute", "putes", "fils", "fill", "pd", "pede", "tape", "tarl", "goui", "negr", "boug",
        "bico", "youp", "yout", "chin", "bamb", "maca", "tris", "mong", "abru", "cret", "bolo",
        "bouf", "pouf", "grog", "trai", "cati", "vach", "porc", "trui", "cass", "merd", "toca",
        "tg", "gueu", "ferm", "ftg", "vtff", "chie", "suic", "kys", "tue", "pend", "pends",
        "pers", "enfo", "gogo", "atta", "cloc", "con", "conne", "cons", "connes", "idio",
        "imbe", "nul", "nulle", "naze", "moch", "laid", "laide", "thon", "bete", "stup",
        "debi", "clow", "dech", "para", "pour", "ordu", "racl", "mina", "gros", "gross",
        "lard", "obes", "hand", "inut", "race", "tuer", "bute", "defo", "frap", "ecla", "retr",
        "trou", "egor", "plan", "fume", "detr", "expl", "viol", "peau", "mal", "bris", "cram",
        "brul", "cogn", "affi", "harc", "taba", "saig", "crev", "mass", "deca", "lync", "sais",
        "mour", "regr", "morf", "paye", "souf", "pren", "mort", "gaff", "fini", "finie",
        "arab", "noir", "juif", "juiv", "musu", "gay", "gays", "homo", "lesb", "tran", "migr",
        "immi", "rom", "roms", "gita", "asia", "reno", "rebe", "feuj", "blan", "femm", "noic",
        "afri", "magh", "port", "turc", "hind", "cath", "chre", "aux", "reto", "hitl", "sieg",
        "heil", "dete", "aime", "bala", "ruin", "bouc", "dega", "barr", "qu", "sale", "sion",
        "gauc", "fach", "rien", "sac", "kys", "tues", "suicides",
    ),
)
