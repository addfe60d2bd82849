"""Per-label patterns (strong, weak, veto) and prefilter triggers, on normalized text.

See :mod:`cocon.safety.lexicon` for the shared fragments and the conventions.  The
``pii`` label also has patterns on the ``low`` form (e-mails, handles), in
:mod:`cocon.safety.detectors`.
"""

from __future__ import annotations

from dataclasses import dataclass

from cocon.safety.lexicon import (
    ANS,
    APPS,
    CONTACT,
    GRADE,
    ME,
    MINOR_AGE,
    MINOR_YEARS,
    NOT_GRADE_CONTEXT,
    NOT_THING,
    PARENTS,
    PHOTO,
    SEND,
    TU_AS,
    TU_ES,
    alt,
)


@dataclass(frozen=True, slots=True)
class Rule:
    strong: tuple[str, ...]
    weak: tuple[str, ...] = ()
    veto: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()


_FIRST = alt(
    "je suis", "j suis", "suis", "moi", "perso", "moi je suis", "je suis encore",
    "je rentre", "je passe", "je vais", "j entre", "je redouble", "j ai redouble",
    "je fais ma", "je fais mon", "on est", "bah je suis", "je suis qu", "je suis que",
)
_MINOR_STATE = alt(
    "mineur", "ado", "adolescente?", "collegiene?", "collegienne", "lyceene?", "lyceenne",
    "ecoliere?", "en primaire", "au college", "au lycee", "en college", "a l ecole primaire",
    "en classe de " + GRADE, "en " + GRADE + NOT_GRADE_CONTEXT, GRADE + NOT_GRADE_CONTEXT,
    "trop jeune", "pas (?:encore )?majeur", "pas encore 18 ans",
)
_AGE_LEAD = alt(
    "j ai", "moi", "perso", "bientot", "je vais avoir", "j vais avoir", "vais avoir",
    "je fais", "fille de", "garcon de", "ado de", "mec de", "meuf de", "je viens d avoir",
    "j viens d avoir", "viens d avoir", "j ai eu", "j aurai", "asv", "moi c est", "moi c",
    "j ai que", "j ai juste", "j ai seulement", "j ai genre", "j ai presque", "j ai bientot",
    "age", "je suis age", "je suis agee", "ai",
)
_ANSWER_TAIL = alt(
    "et toi", "et vous", "toi", "f", "h", "fille", "garcon", "mec", "meuf", r"\?", "stp",
    "pourquoi", "mdr", "lol", "ptdr", "et demi", "ans", "an", "bientot", "tu", "t", "as",
    "quel", "age", "la", "ok", "oui", "ouais", "wesh", "voila", "depuis", "hier",
    "aujourd", "hui", "paris", "lyon", "marseille", "lille", "toulouse", "nantes", "bordeaux",
    "nice", "rennes", "et", "c est", "bien", "moi", "perso", "bah", "ben", "euh", "jsp",
)

RULES: dict[str, Rule] = {
    "minor": Rule(
        strong=(
            _AGE_LEAD + " (?:que |juste |seulement |bientot |genre |presque |deja )?"
            + MINOR_AGE + " ?" + ANS + r"\b(?! (?:d|de|dans|que|qu|plus|moins|en moins|d ecart"
            r"|d experience|de mariage|de carriere|de service|a|au|quand|lorsque|deja|ils?|elles?"
            r"|mon|ma|mes|apres|avant)\b)",
            r"(?:je vais avoir|j vais avoir|bientot|j aurai|j aurais) 18 ans(?! (?:de|d))",
            r"^(?:moi |et moi |perso |bah |ben |euh |j ai |asv )?" + MINOR_AGE
            + r" ?(?:ans?|yo)?(?: " + _ANSWER_TAIL + r")*$",
            # An ASV answer: age, then where ("15 a paris", "asv 13 a lille et toi").
            r"^(?:moi |et moi |perso |asv )?" + MINOR_AGE + r" (?:ans )?a \w+(?: " + _ANSWER_TAIL
            + r")*$",
            r"^(?:asv )?" + MINOR_AGE + r" ?(?:ans )?(?:f|h|m|fille|garcon|mec|meuf)\b",
            r"^(?:f|h|fille|garcon|mec|meuf) " + MINOR_AGE + r"(?: ans)?(?: \w+)?$",
            _FIRST + " (?:encore |une |un |que |qu |juste |trop |pas encore |actuellement "
            "|en ce moment |cette annee )?" + _MINOR_STATE,
            r"(?:je suis|j suis|suis|moi|chui) (?:ne|nee|de|d) (?:en |le \d+ \w+ )?" + MINOR_YEARS,
            r"(?:j ai|je) (?:pas|pas encore|moins de|meme pas) 18 ans",
            r"(?:je passe|je revise|je prepare|mon|j ai|pour le) (?:le |mon |du )?brevet"
            r"(?! (?:en \d|il y a|de secourisme|de pilote|bsa|professionnel|de technicien))",
            r"(?:ma|mon) (?:classe de " + GRADE + r"|prof principale?|college|lycee|cpe)\b",
            r"mes parents (?:veulent pas|me laissent pas|m ont (?:confisque|pris|prive|interdit)"
            r"|vont me tuer|savent pas que|m interdisent|me laisse pas)",
            r"ma (?:mere|daronne|mere) (?:veut pas que je|me laisse pas|m a confisque|m a pris)",
            r"(?:je suis|j suis) (?:puni|privee?) de (?:tel|telephone|portable|sortie)",
        ),
        triggers=(
            "6e", "5e", "4e", "3e", "6eme", "5eme", "4eme", "3eme", "1ere", "1re", "2nde", "2de",
            "mineur", "majeur", "ado", "adol", "coll", "lyce", "ecol", "prim", "clas", "jeun",
            "brev", "prof", "cpe", "pare", "mere", "daro", "puni", "priv", "18", "seco", "prem",
            "term", "sixi", "cinq", "quat", "troi", "cp", "cm1", "cm2", "ce1", "ce2", "segp",
            "tle", "2nde", "2de", "1ere", "1re",
        ),
    ),
    "age_probe": Rule(
        strong=(
            TU_AS + r" (?:quel|quelle|combien d) age",
            r"quel age (?:tu as|t as|ta|as tu|avez vous|tu a|t a|toi|stp|\?|$|tu|t es|vous)",
            r"(?<!a )(?<!de )(?<!meme )(?:ton|ta|votre) age(?! (?:c est|ca|on|j))",
            r"(?:^|\bet |c est quoi |c quoi |dis moi |on peut savoir )(?:ton )?age ?(?:\?|stp|$)",
            r"\basv\b", r"\ba s v\b",
            TU_ES + r" (?:ne|nee|de|d) (?:en )?(?:quelle|quel) annee",
            r"(?:ton|ta|votre) (?:annee|date) de naissance",
            TU_ES + r" en (?:quelle|quel) classe", r"(?:quelle|quel) classe (?:tu|t es|\?|toi)",
            TU_ES + r" (?:au|en) (?:college|lycee|primaire|" + GRADE + r")\b(?! (?:avec|comme))",
            r"(?:tu vas|tu va) (?:au|en) (?:college|lycee|primaire)",
            TU_ES + r" (?:bien |deja |vraiment |encore )?(?:majeur|mineur)",
            r"(?:majeur|mineur) (?:ou (?:mineur|majeur) )?\?",
            TU_AS + r" (?:plus|moins) de 18", TU_AS + r" (?:bien |au moins |deja )?18 ans",
            TU_AS + r" (?:genre |dans les |environ |quoi |tipe |type )?(?:1\d|[6-9]|20) ans \?",
            r"(?:tu passes|tu as|t as) (?:le )?brevet", r"t as quel age",
        ),
        veto=(r"quel age (?:a |ont |avait |il |elle |on |ton |ta |tes |faut )",),
        triggers=(
            "6e", "5e", "4e", "3e", "6eme", "5eme", "4eme", "3eme", "1ere", "1re", "2nde", "2de",
            "age", "asv", "nais", "anne", "clas", "coll", "lyce", "prim", "majeur", "mineur",
            "ans", "brev", "18", "seco", "prem", "term", "sixi", "cinq", "quat", "troi", "cp",
            "cm1", "cm2", "ce1", "ce2", "segp", "tle", "2nde", "2de", "1ere", "1re",
        ),
    ),
    "sexual": Rule(
        strong=(
            r"bais(?:e|es|er|ons|ez|ent|eur|euse|ait|erai|erais|erait|eras)\b"
            r"(?<!un baiser)(?<!gros baiser)(?<!petit baiser)",
            r"niqu(?:er|e|es|erai|erais)\b(?<!nique)(?! ta (?:mere|race|soeur|grand))",
            r"(?:on|je veux|je vais|j aimerais|tu veux|viens|on va) (?:te |se |me )?nique",
            r"(?:suce|suces|sucer|suceuse|sucerais|suce moi|tu suces|me sucer)\b"
            r"(?! (?:ton pouce|son pouce|des glaces|une glace|un bonbon|des bonbons|une sucette))",
            r"fellations?", r"cunni\w*", r"levrettes?", r"sodom\w*", r"sodo\b", r"bites?\b",
            r"teubs?", r"zizis?", r"nichons?", r"tetons?", r"plan cul", r"plans cul",
            r"sextos?", r"sextapes?", r"pornos?", r"porn", r"nude", r"jouir", r"orgasmes?",
            r"branl\w+", r"masturb\w+", r"(?:je|tu|ca me fait|me fait|te fait|fait|fais) bander",
            r"\b(?:je|tu|j) band(?:e|es)\b", r"(?:je|tu|te fait|me fait|ca me fait) mouill\w+",
            r"(?:tu m|ca m|ca t|je suis|t es|tu es|t etes) excit\w*", r"partouzes?", r"godes?",
            r"vibro\w*", r"ejac\w*", r"sperme", r"faire l amour", r"fait l amour",
            r"(?:coucher|couche|couches) avec (?:moi|toi|un|une|des|lui|elle)",
            r"sexuel\w*(?<!harcelement sexuel)(?<!agression sexuelle)", r"sexy", r"horny",
            r"dick", r"pussy", r"boobs", r"tits", r"toute? nue?s?", r"a poil",
            r"(?:t es|tu es|encore|toujours) (?:vierge|puceau|pucelle)",
            r"(?:tes|ta|ton|tes gros|tes beaux|tes petits|ta petite|ton petit|ton gros|tes jolis)"
            r" (?:seins|fesses|cul|chatte|queue|culotte|string|soutif|soutien gorge|lingerie"
            r"|bouche|levres|corps nu|tetons|nichons|zizi|sexe|bite|boobs)\b"
            r"(?! (?:est malade|a eu|miaule|dort|mange|s appelle))",
            r"(?:ma|ma grosse|ma petite|ma grande) (?:queue|bite|teub)",
            r"(?:gros|beau|petit) cul", r"tu portes quoi (?:comme|en) (?:dessous|culotte|sous)",
            r"(?:tu dors|t es) (?:nue?|en (?:culotte|string|sous vetements))",
            r"(?:t es|tu es|t etes) (?:chaude?|coquine?|bonne|hot|excitee?|chaude? ce soir)\b"
            r"(?! (?:pour (?:un|une|le|la|aller|faire|jouer|venir|sortir|demain)|a|en|dans))",
            r"(?:plan|discussion|conversation|moment|jeu|photo|video|soiree|delire|trucs?)s? "
            r"(?:coquine?s?|hot|chaud|chaude|sexe|sexy|cochons?|cochonnes?)",
            r"calin coquin", r"\bsexe?\b(?! (?:de (?:mon|ton|son|ma|du) bebe|du bebe|oppose))",
            r"zaubergine", r"zgouttes",
            r"(?:lecher|leche|lecherai|doigter|doigte) (?:ta|ton|tes|toi"
            r"|moi|partout|ma)", r"des trucs (?:de grand|d adultes|sales|coquins)",
            r"(?:tailler|faire|fais|fait|taille) (?:une|des) pipes?", r"trique", r"capote",
            r"(?:deja|jamais) (?:fait|eu) (?:l amour|des rapports|un rapport)",
            r"(?:tu aimes|t aimes|tu kiffes) (?:le sexe|les mecs plus|te toucher|te caresser)",
            r"(?:te|se|me) (?:toucher|caresser)(?! (?:la tete|l epaule))",
            r"(?:envie|besoin) de (?:toi|te (?:sentir|toucher|goute)|sexe)",
            r"je (?:vais|veux) te (?:prendre|manger|devorer|dechirer|remplir|lecher|gouter)",
            r"plan a (?:3|trois|plusieurs)", r"(?:beaux|gros|jolis|petits|belles|grosses) (?:seins"
            r"|nichons|fesses|tetons|boobs)", r"(?:tout|toute|trop|super|hyper|grave) excitee?",
            r"en chaleur", r"(?:photos?|video|nude) (?:\w+ )?(?:en (?:culotte|string|sous vetements"
            r"|lingerie|petite tenue)|nue?s?|sans (?:rien|habits|vetements|culotte|haut|t shirt"
            r"|tshirt|soutif|tee shirt))\b",
            r"t es (?:trop |tellement |vraiment |grave )?(?:bonne|chaude|bandante)\b(?! (?:en"
            r"|a|pour"
            r"|au|dans))",
            r"(?:je suis|j suis|suis) (?:encore |toujours )?(?:vierge|puceau|pucelle)",
            r"(?:te|se|me|on se) (?:touche|touches|caresse|caresses)\b",
            r"sucette", r"(?:grosse|petite) cochonne", r"cochonne", r"salope coquine",
        ),
        veto=(r"education sexuelle", r"harcelement sexuel", r"ma chatte (?:est|a eu)"),
        triggers=(
            "bais", "niqu", "nique", "suce", "sucer", "suces", "suceuse", "sucerais", "fell",
            "cunn", "levr", "sodo", "bite", "bites", "teub", "zizi", "nich", "teto", "plan",
            "plans", "sext", "porn", "nude", "joui", "orga", "bran", "mast", "band", "mouil",
            "exci", "part", "gode", "vibr", "ejac", "sper", "amou", "couc", "sexu", "sexy", "horn",
            "dick", "puss", "boob", "tits", "nu", "nue", "nus", "nues", "poil", "vier", "puce",
            "sein", "seins", "fess", "cul", "chat", "queu", "culo", "stri", "sout", "ling", "bouc",
            "levr", "corp", "sexe", "sex", "port", "dors", "chau", "coqu", "bonn", "hot", "cali",
            "zaub", "zgou", "lech", "doig", "truc", "pipe", "pipes", "triq", "capo", "touc",
            "care", "envi", "beso", "pren", "mang", "devo", "dech", "remp", "gout", "suce", "coch",
            "phot", "vide", "chal", "nich", "bouche",
        ),
    ),
    "image_request": Rule(
        strong=(
            r"(?<!je t )(?<!j t )(?<!je vous )(?<!je te )" + SEND + " " + ME + r"(?:une |des "
            r"|ta |tes |la |les |un |ton |quelques |d autres "
            r"|encore |une autre |1 |moi )?(?:petite |jolie |belle |autre |vraie |nouvelle )?"
            + PHOTO + NOT_THING,
            r"(?:tu as|t as|as tu|vous avez|tu a|avez vous) (?:une |des |pas une |pas des |un "
            r"|d autres |une autre |pas de )?"
            r"(?:photos?|video|nude|images?)" + NOT_THING + r"(?! (?:de (?:vacances|classe)))",
            r"ta (?:une |des |pas de |pas une |d autres )(?:photos?|video|nude|images?)",
            r"(?:photos?|video|images?) (?:de toi|de tes|de ton|de ta|de vous|en maillot"
            r"|en sous vetements|en culotte|en string|en pyjama|en tenue|en petite tenue|sans "
            r"\w+|de ton corps|de tes pieds|de ton visage|de ta tete"
            r"|en entier|du corps|stp|\?|recente|en vrai|pour voir|de face|de tes seins"
            r"|de tes fesses|de ton cul)",
            r"(?:on|tu veux|on peut|tu peux|tu voudrais) (?:s |se |m |me |nous )?(?:echange"
            r"|echanger"
            r"|envoyer|envoie|faire|fait|faisons) (?:des |une |nos |un )?(?:photos?|nude|video)",
            r"(?:allume|allumes|active|actives|ouvre|ouvres|mets|met|branche|lance|activer|allumer"
            r"|ouvrir|mettre|lancer|branches|lances) (?:ta |la |ton |le )?(?:cam|video|visio)",
            r"cam (?:to|2|a) cam", r"\bc2c\b",
            r"(?:on se fait|on fait|on passe en|on peut faire|tu veux faire|ca te dit une?)"
            r" (?:une |un )?(?:cam|visio|facetime|appel video)",
            r"(?:t as|tu as) (?:une |la )?cam\b", r"\bcam \?",
            r"(?:tu me montres?|montre|montres|montre moi|fais moi voir|fais voir|fait voir)"
            r" (?:toi|ton corps|tes|ta|ton|a quoi tu ressembles|ce que tu portes|ta tete"
            r"|ton visage|tout)",
            r"(?:montre|montres) toi", r"(?:filme|filmes) toi", r"te filmer",
            r"(?:je veux|je voudrais|j aimerais|laisse moi|je peux) te voir(?! (?:demain|ce soir"
            r"|samedi|en vrai|irl|bientot))",
            r"(?:envoie|envoi|envoies) (?:moi |m )?(?:un|des|1) snaps?",
            r"(?:photo|video|nude) (?:contre|pour) (?:photo|video|nude)",
            r"photo (?:\w+ )?(?:stp|\?|svp)",
            r"(?:pour|contre|veux|voudrais|echange|envoie|t as|tu as|tu fais) (?:des |tes |un |une "
            r"|de |les )?nude",
        ),
        veto=(r"(?:ma|la) cam (?:est|marche|bug)",),
        triggers=(
            "phot", "imag", "vide", "nude", "cam", "c2c", "visi", "face", "appe", "mont", "film",
            "voir", "snap", "snaps",
        ),
    ),
}

_ASK_CONTACT = alt(
    "ton", "ta", "tes", "votre", "vos", "t as", "tu as", "tu aurais", "t aurais", "as tu",
    "c quoi ton", "c est quoi ton", "c est quoi ta", "donne", "donne moi", "donnes moi",
    "file", "file moi", "passe", "passe moi", "envoie", "envoie moi", "laisse", "laisse moi",
    "je peux avoir", "je pourrais avoir", "on echange", "echange", "echangeons", "on s echange",
    "tu me donnes", "tu me files", "tu me passes", "tu m envoies", "ecris moi", "tu veux mon",
    "je te donne mon", "je te passe mon", "je te file mon", "voici mon", "vla mon", "prends mon",
    "note mon", "tu veux pas mon", "ton petit", "vous avez", "avez vous",
)
_MOVE = alt(
    "ajoute", "ajoutes", "ajouter", "add", "rajoute", "viens", "vien", "venez",
    "on passe", "on continue", "on parle", "on se parle", "on discute", "on se capte",
    "on va", "allons", "parlons", "continuons", "rejoins", "rejoint", "rejoindre", "suis moi",
    "follow", "abonne toi", "contacte moi", "ecris moi", "ecris", "dm moi", "dm", "parle moi",
    "parler", "passer", "continuer", "discuter", "on s ecrit", "on se retrouve", "retrouve moi",
    "tu m ajoutes", "tu m add", "je t ajoute", "je t add", "on se parle mieux", "plus simple",
)
RULES["off_platform"] = Rule(
    strong=(
        _ASK_CONTACT + r" (?:(?:un |une )(?!snaps?\b)|pas |pas de |ton |ta |mon |ma |petit )?(?:"
        + APPS[3:-1]
        + "|" + CONTACT[3:-1] + r")\b(?! (?:est|a|bug|marche|crash|c est de la|de la pizzeria))",
        _MOVE + r" (?:moi |nous |me )?(?:\w+ )?(?:sur|en|par|via|on|a) (?:mon |ma |un |le |mes )?"
        r"(?:" + APPS[3:-1] + r"|sms|tel|telephone|mail|autre (?:appli|app|site|chat)"
        r"|une autre (?:appli|app)|ailleurs|mon serveur|mon groupe)\b",
        _MOVE + r" (?:moi )?(?:" + APPS[3:-1] + r")\b",
        _MOVE + r" (?:mon|ma|notre) (?:serveur |groupe |compte |chaine )?(?:" + APPS[3:-1] + r")\b",
        r"(?:va|vas|allez) (?:sur|voir) (?:mon |ma )?(?:" + APPS[3:-1] + r")\b",
        r"(?:" + APPS[3:-1] + r") (?:\?|stp|plutot|ce serait mieux"
        r"|plus pratique|pour parler|pour discuter|pour continuer)",
        r"(?:ici|sur ce site|sur cocon|ce site|ce chat|ce tchat) (?:c est |c |est )?(?:nul|naze"
        r"|pas pratique|pourri|relou|surveille|lent)",
        r"(?:appelle|appel|tel|sms|texto|ecris|envoie) (?:moi |m )?(?:au|sur le|a ce) (?:0|\+|num"
        r"|tel)",
        r"(?:envoie|envoies|envoyer|passe|balance|envoi)(?: \w+){0,3} (?:sur|par|via) (?:"
        + APPS[3:-1] + r"|sms|mail|whatsapp)\b",
        r"(?:sortons|sortir|partir|aller) (?:d ici|de ce site|de cocon|ailleurs)",
        r"(?:mon|mes|voici mon|voila mon) (?:" + APPS[3:-1] + r"|numero|tel|mail|06|07)"
        r" (?:c est|c|est|la|ici|:|=)? ?[a-z0-9_]*\d",
        r"(?:quelle|quel) (?:appli|application|reseau)(?: tu (?:as|utilises))?",
    ),
    veto=(r"(?:mon|ma) (?:snap|insta|tel|telephone|portable) (?:est|a|bug|marche|crash)",),
    triggers=(
        "ajou", "add", "tik", "twitch", "fb",
        "snap", "snaps", "sc", "insta", "ig", "what", "tele", "disc", "kik", "skyp", "face",
        "mess", "tikt", "sign", "vibe", "wech", "twit", "tind", "grin", "yubo", "wizz", "omeg",
        "hang", "line", "team", "zoom", "thre", "bere", "nume", "tel", "port", "phon", "06",
        "07", "mail", "emai", "e", "gmai", "hotm", "adre", "coor", "cont", "id", "pseu", "sms",
        "text", "autr", "aill", "serv", "grou", "ici", "site", "coco", "chat", "tcha", "sort",
        "part", "alle", "appl", "rese", "appe",
    ),
)
RULES["meeting"] = Rule(
    strong=(
        r"on (?:se |s |pourrait se |peut se |pourrait |peut |devrait se |va se |pourrait s |"
        r"peut s )?(?:voit|voir|verrait|rejoint|rejoindre|rencontre|rencontrer|retrouve|retrouver"
        r"|capte|capter|croise|croiser|rejoins)\b(?! (?:au salon|sur le salon|dans le salon"
        r"|sur cocon|ici|en prive|en mp|en pv|sur le chat|plus tard sur|sur discord|sur snap"
        r"|sur insta|en ligne|en cam|en visio|a la tele|dans le jeu|sur le serveur|en game"
        r"|sur (?:le )?(?:salon|chat|site|fortnite|minecraft|roblox|jeu|serveur|tchat)"
        r"|dans (?:le|la)"
        r" (?:salon|partie|game|jeu)|au salon|sur l appli|en vocal|apres sur|sur twitch|au "
        r"prochain live|au live))",
        r"(?:je |j )(?:viens|passe|peux venir|peux passer|vais venir|pourrais venir|viendrais"
        r"|viendrai|passerai|vais passer) (?:te (?:chercher|voir|prendre|rejoindre)|chez toi"
        r"|a ton|devant ton|devant ta|a la sortie|vers chez toi|dans ta ville)",
        r"(?:viens|tu viens|venir|tu veux venir|passe) chez moi", r"chez (?:moi|toi) ce soir",
        r"(?:tu veux|ca te dit|ca te dirait|t es chaud|t es chaude|chaud|chaude|dispo|partant"
        r"|partante|t es dispo|on pourrait) (?:pour |de |d )?(?:qu on se |se |s |nous |on se )"
        r"(?:voir|rencontrer|retrouver|rejoindre)\b(?! (?:sur|en ligne|au salon|dans le salon))",
        r"(?:se|s|te|nous|on se) (?:voir|rencontrer|retrouver|croiser|voit) (?:en vrai|irl)",
        r"\ben vrai (?:un jour|bientot|ce soir|demain|ce weekend|ce week end)",
        r"(?:on se donne|donne moi|on fixe|on prend|prendre|fixer|on se fixe|on se met) "
        r"(?:un )?rendez vous", r"rendez vous(?! (?:medical|chez (?:le|la|mon|ma)))"
        r" (?:ce soir|demain|samedi|dimanche|ce weekend"
        r"|a la gare|devant|au|a \d|place|ou|\?|chez)", r"(?:premier|1er) rendez vous",
        r"(?:au college|au lycee|a l ecole|tu vas|ton college|ton lycee|ton ecole) ou\b"
        r"(?! (?:au|a|en|pas|bien|quoi|non|l|le|la|dans|tu|t)\b)",
        r"(?<!sais )(?<!sait )\bou (?:tu habites|t habites|tu vis|t vis|t es|tu es"
        r"|tu crèches)\b(?! (?:dans le jeu))",
        r"(?:tu veux|ca te dit|on va|on pourrait|on peut|viens|allons|je t invite a) (?:boire"
        r"|prendre|se boire|se prendre|manger|grignoter) (?:un |une |des |quelque chose)"
        r"(?:verre|cafe|pot|biere|coca|glace|kebab|mcdo|burger|resto)?",
        r"je t (?:invite|emmene|attends) (?:au|a la|chez|a|devant|dans|boire|manger|en bas)",
        r"(?:tu habites|t habites|tu vis|t vis|tu crèches|tu loges|tu traines|t habite"
        r"|tu habite) (?:ou|dans quelle|dans quel|vers ou|quel|quelle|loin|pres|a cote|ou exacte"
        r"|dans le coin|sur|a|en|\?)", r"(?:tu es|t es|tes|t|vous etes|tu serais) (?:ou|ou la"
        r"|ou exactement|ou precisement|de quelle ville|dans quelle ville|d ou|vers ou|dans quel"
        r" coin|dans le coin|pas loin|loin)\b(?! (?:dans le jeu|sur la map|en jeu|dans la partie"
        r"|dans ta vie|dans l histoire|dans le livre|dans la serie))",
        r"(?:c est|c) (?:ou|quoi) (?:chez toi|ton adresse(?! mail| email| e mail)|ton quartier"
        r"|ta ville|ton bled"
        r"|ton village|ton ecole|ton college|ton lycee|ta rue)",
        r"(?:ton|ta|votre) (?:adresse(?! mail| email| e mail)|quartier|rue|code postal"
        r"|ville exacte|arret de bus|station)", r"(?:quelle|quel) (?:ville|rue|quartier|arret"
        r"|station|coin|bled)\b(?! (?:preferee|de france|est|ca|c est))",
        r"(?:ta ville|ton quartier|ta rue) \?", r"d ou (?:tu es|t es|tu viens|vous etes)",
        r"tu es seule? chez toi", r"t es seule? chez toi", r"(?:tes|t es) seule? \?",
        r"je (?:peux|pourrais|voudrais|veux) (?:te voir|te rencontrer|venir te voir)"
        r" (?:en vrai|irl|ce soir|demain|bientot|samedi|dimanche|ce weekend)",
        r"(?:a|ce) (?:soir|samedi|dimanche|demain) (?:devant|a la sortie|au parc|a la gare)",
    ),
    triggers=(
        "voit", "voir", "verr", "rejo", "renc", "retr", "capt", "croi", "chez", "vrai", "rend",
        "boir", "pren", "mang", "grig", "invi", "emme", "atte", "habi", "vis", "crec", "loge",
        "trai", "ou", "ville", "quar", "rue", "code", "arre", "stat", "coin", "bled", "adre",
        "seul", "seule", "soir", "same", "dima", "dema", "sort", "parc", "gare", "deva",
        "loin", "pres", "cote", "veni", "vien", "pass", "d",
    ),
)
RULES["secrecy"] = Rule(
    strong=(
        r"(?:dis|dit|raconte|racontes|parle|parles|montre|montres|repete|repetes|dire|raconter"
        r"|parler|montrer|repeter|en parle|en parles|dis le|dis la|dis les)(?: le| ca| les| la"
        r"| en| lui| pas| rien| jamais| surtout| a| de ca| de nous| ce)* (?:a )?personne",
        r"(?:dis|dit|raconte|racontes|parle|parles|montre|montres|dire|raconter|parler|montrer"
        r"|en parle|en parles|repete|repetes)(?: le| ca| les| en| lui)? (?:pas|rien|jamais"
        r"|surtout pas|surtout rien)(?: de ca| de nous| de moi| ca| le| de tout ca)? (?:a|avec)"
        r" (?:tes|ta|ton|les|tes propres|vos) " + PARENTS,
        r"(?:tes|ta|ton|vos|les) " + PARENTS + r"(?: ne)? (?:doit|doivent|ont pas a|vont pas"
        r"|faut pas qu ils?|faut pas qu elles?|peuvent pas)(?: pas| rien| jamais)? (?:savoir|etre"
        r" au courant|le savoir|voir|apprendre|lire|tomber|en savoir)",
        r"personne (?:ne )?(?:doit|dois|va|saura|sait|doit jamais)(?: le| rien| jamais)?"
        r" (?:savoir|saura|le savoir|etre au courant)",
        r"(?:notre|c est notre|ca reste notre|ce sera notre|ca sera notre|c notre|un) "
        r"(?:petit |grand )?secret\b(?! (?:de (?:la|fabrication|polichinelle)|story))",
        r"(?:garde|gardes|garder)(?: le| ca| ca bien| bien| tout)? (?:secret|pour toi|entre nous)",
        r"(?:reste|restera|restes|rester|restent|resteront) entre (?:nous|toi et moi)",
        r"(?:que|juste|seulement|uniquement|rien qu) entre (?:nous|toi et moi)",
        r"entre toi et moi", r"en secret\b(?! (?:story|defense))", r"en cachette",
        r"(?<!j ai )(?<!j )(?:supprime|supprimes|efface|effaces|supprimer|effacer|delete|vide"
        r"|vider|supprimes|efface)(?: bien| tout| vite| apres| toujours| stp| bien| direct)*"
        r" (?:les |nos |ce |cette |la |tes |tous les |toute la |notre |tout |nos |les |l )?"
        r"(?:messages|conversation|historique|photos?|snaps?|discussions?)(?! (?:de mon|du groupe"
        r"|de spam|inutiles))",
        r"(?<!j ai )(?:supprime|efface|supprimes|effaces) (?:tout|ca|les|la)(?: \w+)? (?:apres"
        r"|quand|des que|avant que|une fois)",
        r"(?:sans que|faut pas que|il faut pas que|faudrait pas que) (?:tes|ta|ton|les|personne)"
        r"(?: \w+)? (?:le )?(?:sache|sachent|voie|voient|soit au courant|soient au courant)",
        r"(?:cache|caches|cacher) (?:le |la |ca |les |nous )?(?:a|de) (?:tes|ta|ton) " + PARENTS,
        r"zchut", r"(?:mode ephemere|messages ephemeres)", r"(?:le|les) dire a personne",
        r"(?:ils|elles|personne|tes parents|ta mere|ton pere|tes darons) (?:ne )?(?:comprendraient"
        r"|comprendrait|comprendront|comprendrait) pas",
    ),
    veto=(r"secret (?:de (?:la|fabrication|polichinelle)|story)",),
    triggers=(
        "pers", "secr", "entr", "cach", "supp", "effa", "dele", "vide", "vider", "sach",
        "voie", "cour", "pare", "mere", "pere", "daro", "fami", "pote", "amis", "amie", "copi",
        "prof", "profs", "soeu", "frer", "ento", "mama", "papa", "mec", "meuf", "mari", "femm",
        "comp", "zchu", "ephe", "gard", "savo",
    ),
)
