"""French: every word the receptionist reads and says in French, in one place."""

from __future__ import annotations

import re

from . import LanguagePack

RELATIVES = (
    r"(?:ma fille|mon fils|ma femme|mon mari|ma mère|mon père|mon enfant|mon épouse|mon époux|ma sœur|mon frère)"
)

PACK = LanguagePack(
    code="fr",
    common_words="je j'ai voudrais veux rendez-vous bonjour oui non demain merci mon ma les des est pour avec s'il "
    "vous c'est à prendre annuler votre quel quelle heures docteur madame monsieur rappeler nom appelle "
    "matin après-midi prochain semaine pouvez est-ce prenez avez êtes où quand comment combien y a-t-il "
    "au du une le et dois peux on nous notre nos voudrait voudrions aurait aurions besoin euh alors ben bah "
    "d'un d'une suis ça pas qui mais faire cherche cherchons société entreprise",
    intents=(
        (
            "emergency",
            r"urgence|douleurs? (?:à la|a la|dans la) poitrine|douleur thoracique|(?:n'arrive|n'arrive) pas à respirer|"
            r"ne respire plus|saigne beaucoup|crise cardiaque|avc|inconscient|suicid|malaise|respire (?:très |vraiment )?mal|"
            r"perdu connaissance|évanoui|convulsion|s'étouffe",
        ),
        (
            "human",
            r"parler (?:à|a|avec) (?:quelqu'un|une personne|un humain|la secrétaire|la réception|un conseiller)|"
            r"vraie personne|un humain|standard|(?:me )?passer (?:quelqu'un|le |la |l')|"
            r"parler (?:au|à la|avec le|avec la) (?:responsable|directeur|directrice|gérante?|secrétariat)|parler (?:au|avec le|à la|avec la) (?:docteur|médecin|dentiste)\b.*?\b(?:directement|en personne|personnellement|c'est personnel)",
        ),
        ("frustrated", r"n'importe quoi|ridicule|vous ne comprenez|inutile|ça m'énerve|énervant"),
        (
            "reschedule",
            r"déplacer|décaler|changer (?:mon|le) rendez-vous|reporter|repousser|reculer|un autre (?:jour|créneau|horaire)",
        ),
        (
            "order_cancel",
            r"annul\w*\b[^.?!]{0,30}?\bcommande|rembours|je ne veux plus (?:ma|la|cette) commande",
        ),
        (
            "cancel",
            r"annuler|annulez|annule|annulation|(?:ne )?(?:pourrai|peux) pas venir|empêchement|supprimer (?:mon|le)|enlever (?:mon|le)",
        ),
        ("payment", r"payer|paiement|lien de paiement|régler"),
        ("order_status", r"ma commande|commande numéro|suivi de commande|état de (?:la|ma) commande|où en est"),
        ("sms", r"par (?:sms|texto|message|whatsapp)\b|envoyez-moi un (?:sms|texto)"),
        # "le rappel de vaccin" is a booster shot, not a call back
        (
            "callback",
            r"rappeler|rappelle|me rappeler|rappel(?! (?:de|du|d'un|contre) (?:vaccin|tétanos|dtp|la grippe))|me recontacter",
        ),
        (
            "message",
            r"laisser un (?:message|mot)|prendre un message|transmettre (?:un message|au|à)|"
            r"(?:passer|donner|laisser) (?:un )?(?:message|mot|petit mot) (?:pour|à)\b|un message pour\b|"
            r"(?:dire|dites|prévenir|prévenez|informer) (?:au|à|le|la) (?:docteur|médecin|dentiste|infirmière)",
        ),
        (
            "book",
            r"rendez-vous|rdv|prendre (?:un )?rendez|consultation|voir (?:le|la) (?:docteur|médecin|dentiste)|réserver",
        ),
        (
            "lead",
            r"devis|tarifs?|intéressée? par|vos services|démonstration|(?:nous avons|on a|nous aurions|on aurait) besoin d'une? |"
            r"il nous (?:faut|faudrait) une? |(?:un|d'un|le|du) site (?:internet|web|vitrine|marchand|pour)\b|"
            r"nous cherchons (?:une? |quelqu'un)|refaire (?:notre|mon|le) |(?:notre|mon|un nouveau) (?:site|application|logo)\b|"
            r"campagne (?:de publicité|publicitaire|de pub)|publicité en ligne|référencement|réseaux sociaux|site web",
        ),
        (
            "goodbye",
            r"au revoir|c'est tout|rien d'autre|bonne journée|bonne soirée|ce sera tout|ça sera tout|c'est bon pour moi",
        ),
    ),
    yes=r"oui|ouais|d'accord|d'acc|exactement|exact|c'est ça|c'est bien ça|parfait|bien sûr|volontiers|ça marche|"
    r"entendu|tout à fait|je confirme|très bien|c'est bon|impeccable|ça me va|allez-y|nickel|absolument",
    no=r"non|pas|faux|attendez|plutôt|changer",
    weekdays=("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    months="janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    relative_days=(
        (r"après-demain|apres-demain|après demain", 2),
        (r"demain", 1),
        (r"aujourd'hui|ce matin|cet après-midi", 0),
    ),
    next_week=r"semaine prochaine",
    parts_of_day=(
        ("morning", r"matin(?:ée)?|(?:à|a|en) (?:la )?(?:première|1ère|1re) heure"),
        ("afternoon", r"après-midi|apres-midi"),
        ("evening", r"soir|soirée"),
    ),
    first_thing=r"(?:à|a|en|dès) (?:la )?(?:première|1ère|1re) heure|dès l'ouverture",  # when the office opens
    half_hours=(
        (r"(\d{1,2}) heures? et demie", 30, 0),
        (r"(\d{1,2}) heures? et quart", 15, 0),
        (r"(\d{1,2}) heures? moins le quart", 45, -1),
    ),
    minutes=((r"\b(?P<h>\d{1,2}) ?(?:heures?|h) moins (?P<m>\d{1,2})\b", True),),
    # "vingt et un", "soixante et une": the number, not an article
    articles=re.compile(
        r"(?<!vingt et )(?<!trente et )(?<!quarante et )(?<!cinquante et )(?<!soixante et )(?<!vingt-)(?<!-et-)(?<!mille )"
        r"\b(une?)\b(?! heures?)",
        re.IGNORECASE,
    ),
    day_of_month=re.compile(
        r"\b(?:le|celui du|celui de|du) (?P<d>\d{1,2})(?:er)?\b(?! ?(?:h\b|heures?|:|\d|ans|mois|jours))"
        r"(?: du mois (?:(?P<next>prochain)|en cours))?"
    ),
    relatives=RELATIVES,
    name_intro=rf"(?:je m'appelle|je suis|mon nom est|c'est de la part de|de la part de|c'est pour|c'est|moi c'est|au nom de|nom de|pour {RELATIVES}|"
    rf"{RELATIVES} s'appelle|(?:il|elle) s'appelle|de {RELATIVES}|même nom)",
    ordinals=("premier|première|1er|1ère|1re", "deuxième|second|seconde|2e|2ème|dernier|dernière"),
    birth_cues=r"née? le|née?|date de naissance(?: est)?|naissance",
    corrections=r"en fait|plutôt|finalement|non attendez|attendez|enfin non|pardon|je veux dire|mettez|changez",
    bare_hour_cues=r"plutôt|mettez|disons",
    negated_day=r"\bpas (?:le |ce )?(?=[a-zé])",
    rejected=r"plutôt qu'|plutôt que|au lieu de|au lieu d'",
    # a reason, or a habit ("le mardi je travaille tard", "les mardis"): not the day asked for
    reason=r"parce que|parce qu'|car|puisque|vu que|le (?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche) (?:je|j'|on|nous)|"
    r"les (?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)s",
    backchannels=r"d'accord|oui|ouais|ok|okay|hmm|mm|mhm|euh|ah|oh|bien|très bien|voilà|je vois|parfait|merci|entendu",
    interrupts=r"non|stop|attendez|attends|pardon|excusez|allô|allo|quoi|comment",
    day_words="lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|demain",
    lead_need=r"\b(?:nous avons besoin|on a besoin|j'ai besoin|besoin d'|besoin de|nous cherchons|on cherche|je cherche|"
    r"nous voudrions|je voudrais|on voudrait|j'aimerais|nous aimerions|un devis pour|intéressé par|intéressée par|"
    r"on aurait besoin|nous aurions besoin|il nous (?:faut|faudrait)|j'appelle pour|je vous appelle pour|pouvez-vous (?:faire|créer|refaire|gérer)|"
    r"vous faites)",
    lead_company=r"\b(?:de la société|de l'entreprise|la société|l'entreprise|chez|de chez|société|entreprise|pour)\s+"
    r"(?P<c>(?:[A-Z0-9][\w&'.-]*)(?:\s+(?:[A-Z0-9&][\w&'.-]*|et|de|du|des))*)",
    currencies=(
        ("pounds", "livres"),
        ("libras", "livres"),
        ("dólares", "dollars"),
        ("dólar", "dollar"),
        ("dírhams", "dirhams"),
    ),
    shift_weeks=r"\b(?:décaler|repousser|reporter|reculer)(?: le| la| mon| ce)?(?: rendez-vous)? (?:d'|de )"
    r"(?P<n>une|1|deux|2|8 jours|15 jours|huit jours|quinze jours)(?: semaines?)?\b|\b(?P<n2>une|1|deux|2) semaines? plus tard\b",
    company_named=r"\b(?:la|notre|ma) (?:société|entreprise|boîte|agence)\s*,?\s*(?:c'est|s'appelle|se nomme|est)\s+",
    lead_timeline=r"\b(?:commencer|démarrer|lancer|débuter|prêt|prête|livré)\b[^,.;]*",
    lead_when=r"\b(?:dès que possible|au plus vite|bientôt|rapidement|tout de suite|prochaine?|semaines?|mois|ans?|année|trimestre|printemps|été|automne|hiver|rentrée|avant|après|d'ici|fin|début|mi)\b",
    lead_decides=r"\b(?:(?:je suis|c'est moi) (?:le|la) (?:gérante?|patron|patronne|propriétaire|directeur|directrice|fondateur|fondatrice|responsable)|"
    r"c'est moi qui décide|je décide|c'est ma décision|(?:c'est )?moi et (?:mon|ma) \w+ qui décid\w*|"
    r"nous décidons|je peux (?:valider|signer)|c'est moi qui (?:valide|signe)|cofondat(?:eur|rice)|co-fondat(?:eur|rice)|on décide (?:ensemble|à deux))\b",
    lead_does_not_decide=r"\b(?:ce n'est pas moi qui (?:décide|signe)|pas moi qui (?:décide|signe)|mon patron décide|je dois en parler|"
    r"je ne décide pas|c'est (?:mon|ma) (?:patron|patronne|directeur|directrice|chef|associée?|gérante?|mari|femme) qui "
    r"(?:décide|signe|valide))\b",
    message_cues=re.compile(
        r"\b(?:dire|dites|prévenir|prévenez|informer|message|mot|transmettre)\b.*?\bque\s+(?P<m>.+)$", re.I
    ),
    message_about=re.compile(
        r"\b(?:c'est )?(?:(?:au sujet|à propos) (?:de la|de l'|des|du|de|d')|concernant)\s*(?P<m>.+)$"
        r"|\bc'est pour\s*(?P<m2>.+)$",
        re.I,
    ),
    templates={
        "greeting": "{business}, bonjour. Comment puis-je vous aider ?",
        "anything_else": "Puis-je faire autre chose pour vous ?",
        "not_understood": "Pardon, je n'ai pas bien compris. Pouvez-vous le dire autrement ?",
        "transfer": "Je vous mets en relation avec un membre de l'équipe. Ne quittez pas.",
        "transfer_frustrated": "Je suis désolée. Je vous mets en relation avec un membre de l'équipe. Ne quittez pas.",
        "transfer_confused": "Je suis désolée, j'ai du mal à comprendre. Je vous mets en relation avec un membre de l'équipe.",
        "emergency": "S'il s'agit d'une urgence médicale, raccrochez et composez le {emergency} immédiatement. Je vous mets aussi en relation avec l'équipe.",
        "goodbye": "Merci d'avoir appelé {business}. Au revoir !",
        "still_there": "Vous êtes toujours là ?",
        "silence_goodbye": "Je ne vous entends plus, je vais raccrocher. N'hésitez pas à rappeler. Au revoir.",
        "time_limit": "Désolée, nous avons atteint la durée maximale de l'appel. Merci de rappeler. Au revoir.",
        "handover": "Un appel pour vous de {who}. La personne a dit : {said} Je vous la passe.",
        "handover_anonymous": "un numéro masqué",
        "transfer_failed": "Désolée, personne n'est disponible pour le moment. Je peux prendre un message. Quel est votre nom ?",
        "ask_when": "Quel jour et quelle heure vous conviendraient ?",
        "offer": "{lead}Je peux vous proposer {options}. Que préférez-vous ?",
        "offer_one": "{lead}Le premier créneau libre est {options}. Cela vous convient ?",
        "lead_taken": "{requested} est déjà pris. ",
        "lead_closed": "Nous sommes fermés le {weekday}. ",
        "lead_outside": "Nous ne sommes pas ouverts à cette heure-là. ",
        "lead_past": "Ce moment est déjà passé. ",
        "lead_too_far": "Nous prenons les rendez-vous jusqu'à {days} jours à l'avance. ",
        "lead_unknown_provider": "Nous n'avons pas de {provider} ici ; vous pouvez voir {providers}. ",
        "no_slots": "Désolée, je n'ai aucun créneau libre dans les semaines à venir. Je peux prendre un message. Quel est votre nom ?",
        "ask_name": "Quel est votre nom complet, s'il vous plaît ?",
        "ask_phone": "À quel numéro pouvons-nous vous joindre ?",
        "ask_phone_caller_id": "Pouvons-nous vous joindre au numéro depuis lequel vous appelez ?",
        "phone_invalid": "Pardon, ce numéro ne semble pas complet. Pouvez-vous le redire, chiffre par chiffre ?",
        "ask_dob": "Et votre date de naissance ?",
        "ask_reminder_consent": "Souhaitez-vous un rappel {channel} avant votre rendez-vous ?",
        "with_reminder": "avec un rappel {channel}",
        "without_reminder": "sans rappel",
        "by_call": "par appel téléphonique",
        "by_sms": "par SMS",
        "by_whatsapp": "sur WhatsApp",
        "confirm_booking": "Donc {what} le {when}, au nom de {name}{details}. Je confirme ?",
        "born": "date de naissance {date}",
        "reach": "joignable {to_phone}",
        "booked": "C'est noté : rendez-vous {what} le {when}. Puis-je faire autre chose pour vous ?",
        "slot_gone": "Désolée, ce créneau vient d'être pris. ",
        "ask_change": "Pas de problème. Que souhaitez-vous changer ?",
        "ask_old_when": "Quel jour est votre rendez-vous actuel ?",
        "confirm_cancel": "J'ai trouvé le rendez-vous de {name} du {when}. Je l'annule ?",
        "cancelled": "Votre rendez-vous du {when} est annulé. Puis-je faire autre chose pour vous ?",
        "not_found": "Je ne trouve pas de rendez-vous au nom de {name} ce jour-là. Voulez-vous laisser un message à l'équipe ?",
        "kept": "Très bien, je n'ai rien changé. Puis-je faire autre chose pour vous ?",
        "ask_new_when": "Quel nouveau jour et quelle heure vous conviendraient ?",
        "confirm_reschedule": "Je déplace donc le rendez-vous de {name} du {old} au {new}. C'est bien ça ?",
        "rescheduled": "C'est fait. Votre rendez-vous est maintenant le {new}. Puis-je faire autre chose pour vous ?",
        "ask_message": "Quel message souhaitez-vous laisser ?",
        "message_taken": "Merci, {name}. Je transmets votre message{recipient} et on vous recontactera. Autre chose ?",
        "to_recipient": " à {recipient}",
        "ask_callback_when": "Quand pouvons-nous vous rappeler ?",
        "callback_scheduled": "Merci, {name}. Nous vous rappellerons {when}. Autre chose ?",
        "callback_asap": "dès que possible",
        "person_unavailable": "{person} n'est pas disponible pour le moment. Voulez-vous laisser un message ?",
        "unknown_answer": "Désolée, je ne sais pas. Je peux prendre un message pour l'équipe. Voulez-vous ?",
        "hours": "Nous sommes ouverts {hours}.",
        "closed_all": "Je n'ai pas nos horaires ; je peux prendre un message pour l'équipe.",
        "address": "Nous sommes au {address}.",
        "price": "{service} coûte {price}.",
        "confirm_sms": "Je vous envoie {what} par SMS {to_phone}. C'est bien ça ?",
        "confirm_contact": "Merci, {name}. Nous vous joindrons {to_phone}. Je transmets ?",
        "confirm_message": "Merci, {name}. Je transmets{recipient} : « {message} », et nous vous joindrons {to_phone}. Je l'envoie ?",
        "confirm_callback": "Merci, {name}. Nous vous rappellerons {when} {to_phone}. C'est bien ça ?",
        "from_company": "{name} de {company}",
        "to_phone": "au {phone}",
        "to_caller_id": "au numéro depuis lequel vous appelez",
        "sms_sent": "C'est envoyé. Autre chose ?",
        "sms_address": "notre adresse",
        "sms_hours": "nos horaires",
        "ask_need": "Avec plaisir. Que recherchez-vous ?",
        "ask_company": "Quel est le nom de votre entreprise ?",
        "ask_budget": "Avez-vous un budget en tête ?",
        "ask_timeline": "Quand souhaitez-vous commencer ?",
        "ask_authority": "C'est vous qui prenez la décision ?",
        "lead_done": "Merci, {name}. Quelqu'un de l'équipe vous rappellera rapidement. Autre chose ?",
        "ask_order": "Quel est votre numéro de commande ?",
        "order_status": "La commande {number} est {status}. Autre chose ?",
        "orders_unavailable": "Je n'arrive pas à consulter les commandes pour le moment. Je peux prendre un message pour qu'on vous rappelle. Quel est votre nom ?",
        "order_state_unfulfilled": "payée et en préparation",
        "order_state_in_progress": "en préparation",
        "order_state_partially_fulfilled": "expédiée en partie",
        "order_state_fulfilled": "expédiée",
        "order_state_on_hold": "en attente",
        "order_state_cancelled": "annulée",
        "order_state_refunded": "remboursée",
        "order_state_unpaid": "en attente de paiement",
        "confirm_order_cancel": "J'annule la commande {number}{refund}. Je confirme ?",
        "order_refund": " et je rembourse {amount} sur la carte utilisée pour payer",
        "order_cancelled": "C'est fait, la commande {number} est annulée{refunded}. Vous recevrez un e-mail de la boutique. Autre chose ?",
        "order_refunded": " ; le remboursement revient sur la carte utilisée",
        "order_kept": "Très bien, la commande {number} reste comme elle est. Autre chose ?",
        "order_already_cancelled": "La commande {number} est déjà {status}. Autre chose ?",
        "order_not_cancellable": "La commande {number} est {status}, je ne peux donc pas l'annuler moi-même. Je transmets votre demande à l'équipe, qui vous rappellera. Quel est votre nom ?",
        "order_cancel_message": "Demande l'annulation de la commande {number} ({status}).",
        "order_unknown": "Je ne trouve pas la commande {number}. Pouvez-vous me redonner le numéro ?",
        "confirm_payment": "Je vous envoie un lien de paiement{order}{amount} par SMS {to_phone}. C'est bien ça ?",
        "for_order": " pour la commande {number}",
        "payment_sent": "C'est envoyé, vous allez recevoir le lien par SMS. Autre chose ?",
        "with": "avec {provider}",
        "at_time": "{day} à {time}",
        "or": " ou ",
        "hours_range": "{days}, de {ranges}",
        "time_range": "{start} à {end}",
        "and_ranges": " et de ",
        "keys_hint": "Pour parler à quelqu'un, tapez 0. Ou dites-moi simplement comment vous aider.",
        "reminder_call": "Bonjour, ici l'assistant automatique de {business}. Nous vous rappelons votre rendez-vous avec {provider} le {when}. Pour confirmer, dites confirmer ou tapez 1. Pour annuler, dites annuler ou tapez 2. Pour le changer, dites changer ou tapez 3.",
        "reminder_again": "Dites confirmer, annuler ou changer, ou tapez 1, 2 ou 3.",
        "reminder_confirmed": "Merci, votre rendez-vous du {when} est confirmé. À bientôt, au revoir !",
        "reminder_unclear": "Je garde votre rendez-vous tel quel. Pour le changer, appelez {business}. Au revoir !",
        "reminder_opted_out": "C'est noté, nous ne vous appellerons plus pour des rappels. Votre rendez-vous reste tel quel. Au revoir !",
        "reminder_sms": "{business} : rappel de votre rendez-vous avec {provider} le {when}. Pour le changer, appelez-nous{phone}.",
        "reminder_voicemail": "Bonjour, ici l'assistant automatique de {business}, pour le rappel d'un rendez-vous le {when}. Merci de nous rappeler{phone}. Au revoir.",
        "reminder_voicemail_brief": "Bonjour, ici l'assistant automatique de {business}, pour le rappel d'un prochain rendez-vous. Merci de nous rappeler{phone}. Au revoir.",
        "callback_call": "Bonjour, ici l'assistant automatique de {business}. Nous vous rappelons comme vous l'avez demandé. Comment puis-je vous aider ?",
        "callback_voicemail": "Bonjour, ici l'assistant automatique de {business}, suite à votre appel. Merci de nous rappeler{phone}. Au revoir.",
        "hours_join": ", et ",
    },
    weekday_names=("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    month_names=[
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ],
    range_to=" au ",
    question_words=r"est-ce|quel|quelle|quand|où|comment|combien|pourquoi|pouvez|avez-vous|y a-t-il|faut-il",
    faq_topics={
        "hours": r"\b(?:ouvert|ouverts|horaires?|fermez|fermé|ouvrez)\b",
        "address": r"\b(?:adresse|où êtes-vous|vous êtes où|où vous trouvez|où se trouve|situés|le cabinet est où)\b",
        "price": r"\b(?:combien|coûte|prix|tarif)\b",
    },
    reminder_answers=(
        r"\b(?:avec|je veux|je voudrais|envoyez-moi|oui pour)(?: un| le)? rappels?\b",
        r"\b(?:sans|pas de|pas besoin (?:de|d'un)|pas la peine (?:de|d'un)|je ne veux pas(?: de)?)(?: un| le)? rappels?\b",
    ),
    this_number=r"(?<!pas )(?<!pas sur )(?<!pas à )\b(?:ce (?:numéro|portable|téléphone)(?:-là|-ci)?\b(?! n'est pas)|"
    r"(?:numéro|portable) (?:que|d'où|depuis lequel|avec lequel|duquel) (?:je vous |j')appelle\b)",
    asks_for=r"\b(?:est-ce que\s+(?:[\w.'-]+\s+){1,4}est|est-(?:il|elle))\s+(?:là|disponible|joignable)\W*$",
    swapped_name=r"\b(?:c'est\s+)?pas ([\w'-]+)\W+(?:(?:c'est|mais)\s+)?([\w'-]+)",
    same_day=r"\b(?:le )?m[eê]me jour\b",
    strong_name_intro=r"\b(?:je m'appelle|(?:il|elle) s'appelle|(?:mon|son) nom (?:est|c'est))\b",
    stt_prompt="Un appel téléphonique au secrétariat d'un cabinet médical, pour prendre, déplacer ou annuler un rendez-vous avec le médecin, l'infirmière ou le dentiste.",
)
