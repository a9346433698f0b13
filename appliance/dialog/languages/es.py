"""Spanish: every word the receptionist reads and says in Spanish, in one place."""

from __future__ import annotations

import re

from . import LanguagePack

RELATIVES = r"(?:mi hija|mi hijo|mi esposa|mi esposo|mi mujer|mi marido|mi madre|mi padre|mi niño|mi niña|mi hermana|mi hermano)"

# After the tens ("cuarenta y uno"), "mil" and "ciento", "uno" is a digit, not an article.
_TENS = ("treinta", "cuarenta", "cincuenta", "sesenta", "setenta", "ochenta", "noventa")
PACK = LanguagePack(
    code="es",
    common_words="quiero quisiera cita hola sí mañana gracias mi los las para con por favor es una quería "
    "cancelar llamo nombre tarde doctor doctora puede usted hora próximo semana buenos días tengo necesito "
    "hay dónde qué cuándo cómo cuánto está están tienen aceptan cerca del al el y soy puedo necesitamos "
    "queremos quisiéramos buscamos nuestra nuestro pues bueno pero empresa también",
    intents=(
        (
            "emergency",
            r"emergencia|urgencia|dolor (?:en el|de) pecho|no puedo respirar|sangrando mucho|infarto|"
            r"inconsciente|suicid|se desmay[óo]|desmayo|no respira|respira (?:muy )?mal|convulsi|se está ahogando",
        ),
        (
            "human",
            r"hablar con (?:alguien|una persona|un humano|la recepcionista|recepción|un agente)|persona real|"
            r"un humano|operador|(?:me )?(?:puede|podría|pueden) pasar con|pasarme con|"
            r"hablar con (?:el|la) (?:encargad[oa]|gerente|responsable|director|directora)",
        ),
        ("frustrated", r"ridículo|inútil|no me entiende|no me escucha|qué frustrante|esto es absurdo"),
        (
            "reschedule",
            r"reprogramar|cambiar (?:mi|la) cita|mover (?:mi|la) cita|aplazar|otro día|otra hora|recorrer|posponer|"
            r"(?:la|lo) (?:podemos|puede|podría|podrían|pueden) (?:cambiar|mover|pasar)|cambiarla|moverla|pasarla|"
            r"pasar (?:mi|la) cita|cambiar(?:la)? (?:para|al)|(?:la|lo) quer[ií]a (?:cambiar|mover|pasar)|"
            r"(?:quería|quisiera|necesito) (?:cambiar|mover)(?:la|lo)?\b(?! de)",
        ),
        (
            "order_cancel",
            r"(?:cancel|anul)\w*\b[^.?!]{0,30}?\b(?:pedido|compra|orden)\b|reembols|devol\w* (?:el|mi) dinero|"
            r"ya no quiero (?:el|mi|este) pedido",
        ),
        (
            "cancel",
            r"cancelar(?:la|lo)?|cancele|cancelo|anular(?:la|lo)?|anule|anulo|no (?:podré|puedo|voy a poder|va a poder|van a poder|podrá|puede) ir|borrar (?:mi|la)|quitar (?:mi|la)|eliminar (?:mi|la)",
        ),
        ("payment", r"pagar|enlace de pago|link de pago|pago|(?:no está|sin) pagad[oa]|pendiente de pago"),
        ("order_status", r"mi pedido|estado del pedido|estado de mi pedido|número de pedido|dónde está mi"),
        ("sms", r"por sms|mándeme un (?:sms|mensaje de texto)|por (?:mensaje|whatsapp)\b"),
        (
            "callback",
            r"devolver (?:la|mi) llamada|devolverme la llamada|me llame|me llamara|me llamase|llamarme|que me llamen|"
            r"me (?:pueden|puede|podrían|podría) llamar|llámenme|llameme|llámeme más tarde",
        ),
        (
            "message",
            r"dejar(?:le)? un (?:mensaje|recado)|tomar(?:le)? un (?:mensaje|recado)|"
            r"(?:pasar|pasa|pase|dar|dé|darle|pasarle|dejar) (?:le )?(?:un )?(?:mensaje|recado|nota) (?:para|a)\b|"
            r"(?:dígale|dígales|decirle|avise|avisar|avisarle) (?:al|a la) (?:doctor|doctora|médico|enfermera|dentista)",
        ),
        ("book", r"cita|reservar|consulta|ver al (?:doctor|médico|dentista)|pedir hora|turno"),
        (
            "lead",
            r"presupuesto|cotización|precios|interesad[oa] en|sus servicios|necesitamos (?:un|una) |buscamos (?:un|una|a alguien) |"
            r"campaña (?:de publicidad|publicitaria)|publicidad en (?:internet|línea|redes)|posicionamiento|redes sociales|"
            r"página web|sitio web",
        ),
        ("goodbye", r"adiós|adios|eso es todo|nada más|hasta luego|que tenga buen|es todo|ya está|ya estaría"),
    ),
    yes=r"sí|si|claro|vale|correcto|de acuerdo|perfecto|exacto|por supuesto|está bien|esta bien|bueno|confirmo|eso es|"
    r"adelante|me parece bien|ándale|órale|dale|genial|estupendo",
    no=r"no|incorrecto|espere|mejor|cambiar",
    weekdays=("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    months="enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    relative_days=((r"pasado mañana", 2), (r"(?<!la )(?<!por )mañana", 1), (r"hoy|esta tarde", 0)),
    next_week=r"(?:la )?(?:semana que viene|próxima semana)",
    parts_of_day=(
        ("morning", r"(?:por|de|en) la mañana|(?:a|en) (?:primera|1ª|1\.ª) hora"),
        ("afternoon", r"tarde"),
        ("evening", r"noche"),
    ),
    first_thing=r"(?:a|en) (?:primera|1ª|1\.ª) hora",  # when the office opens
    half_hours=((r"(\d{1,2}) y media", 30, 0), (r"(\d{1,2}) y cuarto", 15, 0), (r"(\d{1,2}) menos cuarto", 45, -1)),
    minutes=(
        (r"\blas? (?P<h>\d{1,2}) menos (?P<m>\d{1,2})\b", True),
        (
            r"\blas? (?P<h>\d{1,2}) y (?P<m>\d{1,2})\b(?! de (?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre))",
            False,
        ),
    ),
    # "la una" is one o'clock and "cuarenta y uno" forty-one: neither is an article.
    articles=re.compile(
        r"(?<!la )(?<!mil )(?<!ciento )"
        + "".join(rf"(?<!{tens} y )" for tens in _TENS)
        + r"\b(un[oa]?s?)\b(?! horas?)",
        re.IGNORECASE,
    ),
    day_of_month=re.compile(
        r"\b(?:el|del) (?:día )?(?P<d>\d{1,2})\b(?! ?(?:de la|horas?|:|\d))(?: del mes (?:(?P<next>que viene|próximo)))?"
    ),
    relatives=RELATIVES,
    name_intro=rf"(?:me llamo|(?:mi|su) nombre es|soy|habla|de parte de|a nombre de|la cita es para|para {RELATIVES}|{RELATIVES} se llama|se llama|"
    rf"de {RELATIVES}|mismo nombre)",
    ordinals=("primero|primera|1º|1ª|1o|1a", "segundo|segunda|2º|2ª|2o|2a|último|última"),
    birth_cues=r"nac[ií](?: el)?|naci[óo](?: el)?|nacid[oa](?: el)?|fecha de nacimiento(?: es)?|naci el",
    corrections=r"en realidad|mejor|perdón|perdona|espere|espera|quiero decir|cámbielo|cambie|mejor dicho",
    bare_hour_cues=r"mejor|mejor a|digamos",
    negated_day=r"\bno (?:el |este )?(?=[a-zé])",
    rejected=r"en vez de|en lugar de|mejor que",
    # a reason, or a habit ("los martes trabajo hasta tarde"): not the day asked for
    reason=r"porque|ya que|que(?! sea)|los (?:lunes|martes|miércoles|jueves|viernes|sábados|domingos)",
    backchannels=r"vale|sí|si|ya|ajá|aja|aha|claro|ok|okay|mm|mhm|eh|bueno|entiendo|de acuerdo|perfecto|gracias",
    interrupts=r"no|espere|espera|perdón|perdone|oiga|para|pare|disculpe|qué|cómo|hola",
    day_words="lunes|martes|miércoles|jueves|viernes|sábado|domingo|mañana",
    lead_need=r"\b(?:necesitamos|necesito|buscamos|busco|queremos|quisiéramos|quisiera|presupuesto para|interesado en|interesada en|querríamos|nos gustaría|me gustaría|llamo por|llamaba por|"
    r"(?:pueden|puede|podrían) (?:hacer|crear|diseñar|gestionar|llevar)|hacen ustedes)\b",
    lead_company=r"\b(?:de la empresa|la empresa|empresa|de|para)\s+(?P<c>(?:[A-Z0-9][\w&'.-]*)(?:\s+(?:[A-Z0-9&][\w&'.-]*|y|de|del))*)",
    currencies=(
        ("dollars", "dólares"),
        ("dollar", "dólar"),
        ("dirhams", "dírhams"),
        ("pounds", "libras"),
        ("livres", "libras"),
    ),
    shift_weeks=r"\b(?:recorrer|pasar|mover|aplazar|atrasar|retrasar|posponer)(?:la|lo|mela|melo)?(?: la cita)?"
    r" (?P<n>una|1|dos|2) semanas?\b|\b(?P<n2>una|1|dos|2) semanas? (?:después|más tarde)\b",
    company_named=r"\b(?:la|nuestra|mi) (?:empresa|compañía|agencia|tienda|negocio)\s*,?\s*(?:es|se llama)\s+",
    lead_timeline=r"\b(?:empezar|comenzar|arrancar|lanzar|listo|lista)\b[^,.;]*",
    lead_when=r"\b(?:cuanto antes|lo antes posible|pronto|ya|enseguida|próxim[oa]|que viene|semanas?|mes(?:es)?|años?|trimestre|primavera|verano|otoño|invierno|antes|después|para|finales|principios|mediados)\b",
    lead_decides=r"\b(?:soy (?:el|la) (?:dueño|dueña|gerente|director|directora|fundador|fundadora)|yo decido|decido yo|"
    r"la decisión es mía|(?:mi|mis) \w+ y yo\b[^.;]*\bdecid\w*|decidimos (?:los dos|juntos|nosotros)|(?:yo )?puedo firmar|firmo yo|cofundador[a]?|"
    r"(?:mi|mis) soci[oa]s? y yo|lo decidimos)\b",
    lead_does_not_decide=r"\b(?:no decido yo|no soy yo quien (?:decide|firma)|mi jefe decide|tengo que consultarlo|"
    r"(?:mi|la) (?:jefe|jefa|director|directora|socio|socia|dueño|dueña) (?:es quien )?(?:decide|firma)|quien decide es)\b",
    message_cues=re.compile(
        r"\b(?:dígale|decirle|dile|avise|avisar|avisarle|mensaje|recado)\b.*?\bque\s+(?P<m>.+)$", re.I
    ),
    message_about=re.compile(
        r"\b(?:es )?(?:sobre|acerca de|respecto a)\s+(?P<m>.+)$|\bes (?:por lo de|por)\s+(?P<m2>.+)$", re.I
    ),
    templates={
        "greeting": "Gracias por llamar a {business}. ¿En qué puedo ayudarle?",
        "anything_else": "¿Puedo ayudarle en algo más?",
        "not_understood": "Perdone, no le he entendido. ¿Puede decirlo de otra forma?",
        "transfer": "Le paso con una persona del equipo. Un momento, por favor.",
        "transfer_frustrated": "Lo siento. Le paso con una persona del equipo. Un momento, por favor.",
        "transfer_confused": "Lo siento, me cuesta entenderle. Le paso con una persona del equipo.",
        "emergency": "Si es una emergencia médica, cuelgue y llame al {emergency} ahora mismo. También le paso con el equipo.",
        "goodbye": "Gracias por llamar a {business}. ¡Adiós!",
        "still_there": "¿Sigue ahí?",
        "silence_goodbye": "No le oigo, así que voy a colgar. Llámenos cuando quiera. Adiós.",
        "time_limit": "Lo siento, hemos llegado al tiempo máximo de la llamada. Vuelva a llamar, por favor. Adiós.",
        "handover": "Una llamada para usted de {who}. Ha dicho: {said} Le paso la llamada.",
        "handover_anonymous": "un número oculto",
        "transfer_failed": "Lo siento, ahora no hay nadie disponible. Puedo tomar un recado. ¿Cuál es su nombre?",
        "ask_when": "¿Qué día y a qué hora le vendría bien?",
        "offer": "{lead}Puedo ofrecerle {options}. ¿Qué prefiere?",
        "offer_one": "{lead}El primer hueco libre es {options}. ¿Le viene bien?",
        "lead_taken": "{requested} ya está ocupado. ",
        "lead_closed": "Los {weekday} estamos cerrados. ",
        "lead_outside": "A esa hora no estamos abiertos. ",
        "lead_past": "Esa hora ya ha pasado. ",
        "lead_too_far": "Solo damos citas hasta {days} días vista. ",
        "lead_unknown_provider": "No tenemos a {provider}; puede ver a {providers}. ",
        "no_slots": "Lo siento, no tengo huecos libres en las próximas semanas. Puedo tomar un recado. ¿Cuál es su nombre?",
        "ask_name": "¿Me dice su nombre completo, por favor?",
        "ask_phone": "¿En qué número podemos localizarle?",
        "ask_phone_caller_id": "¿Podemos llamarle al número desde el que llama?",
        "phone_invalid": "Perdone, ese número no parece completo. ¿Puede repetirlo, cifra por cifra?",
        "ask_dob": "¿Y su fecha de nacimiento?",
        "ask_reminder_consent": "¿Quiere que le enviemos un recordatorio {channel} antes de la cita?",
        "with_reminder": "con un recordatorio {channel}",
        "without_reminder": "sin recordatorio",
        "by_call": "por llamada",
        "by_sms": "por SMS",
        "by_whatsapp": "por WhatsApp",
        "confirm_booking": "Entonces, {what} el {when}, a nombre de {name}{details}. ¿Lo reservo?",
        "born": "fecha de nacimiento {date}",
        "reach": "con contacto {to_phone}",
        "booked": "Listo: cita {what} el {when}. ¿Puedo ayudarle en algo más?",
        "slot_gone": "Lo siento, esa hora se acaba de ocupar. ",
        "ask_change": "Sin problema. ¿Qué quiere cambiar?",
        "ask_old_when": "¿Qué día es su cita actual?",
        "confirm_cancel": "He encontrado la cita de {name} del {when}. ¿La cancelo?",
        "cancelled": "Su cita del {when} está cancelada. ¿Puedo ayudarle en algo más?",
        "not_found": "No encuentro ninguna cita a nombre de {name} ese día. ¿Quiere dejar un recado al equipo?",
        "kept": "De acuerdo, no he cambiado nada. ¿Puedo ayudarle en algo más?",
        "ask_new_when": "¿Qué nuevo día y hora le vendrían bien?",
        "confirm_reschedule": "Entonces muevo la cita de {name} del {old} al {new}. ¿Es correcto?",
        "rescheduled": "Hecho. Su cita es ahora el {new}. ¿Puedo ayudarle en algo más?",
        "ask_message": "¿Qué recado quiere dejar?",
        "message_taken": "Gracias, {name}. Paso su recado{recipient} y le contactarán. ¿Algo más?",
        "to_recipient": " a {recipient}",
        "ask_callback_when": "¿Cuándo le viene bien que le llamemos?",
        "callback_scheduled": "Gracias, {name}. Le llamaremos {when}. ¿Algo más?",
        "callback_asap": "lo antes posible",
        "person_unavailable": "{person} no puede atenderle ahora mismo. ¿Quiere dejarle un recado?",
        "unknown_answer": "Lo siento, no lo sé. Puedo tomar un recado para el equipo. ¿Quiere?",
        "hours": "Abrimos {hours}.",
        "closed_all": "No tengo nuestro horario; puedo tomar un recado para el equipo.",
        "address": "Estamos en {address}.",
        "price": "{service} cuesta {price}.",
        "confirm_sms": "Le envío {what} por SMS {to_phone}. ¿Es correcto?",
        "confirm_contact": "Gracias, {name}. Le contactaremos {to_phone}. ¿Lo envío?",
        "confirm_message": "Gracias, {name}. Paso{recipient} su mensaje: «{message}», y le contactaremos {to_phone}. ¿Lo envío?",
        "confirm_callback": "Gracias, {name}. Le llamaremos {when} {to_phone}. ¿Es correcto?",
        "from_company": "{name} de {company}",
        "to_phone": "en el {phone}",
        "to_caller_id": "en el número desde el que llama",
        "sms_sent": "Enviado. ¿Algo más?",
        "sms_address": "nuestra dirección",
        "sms_hours": "nuestro horario",
        "ask_need": "Con gusto. ¿Qué está buscando?",
        "ask_company": "¿Cómo se llama su empresa?",
        "ask_budget": "¿Tiene un presupuesto en mente?",
        "ask_timeline": "¿Cuándo le gustaría empezar?",
        "ask_authority": "¿Es usted quien toma la decisión?",
        "lead_done": "Gracias, {name}. Alguien del equipo le llamará pronto. ¿Algo más?",
        "ask_order": "¿Cuál es su número de pedido?",
        "order_status": "El pedido {number} está {status}. ¿Algo más?",
        "orders_unavailable": "Ahora no puedo consultar los pedidos. Puedo tomar un recado para que le llamen. ¿Cuál es su nombre?",
        "order_state_unfulfilled": "pagado y en preparación",
        "order_state_in_progress": "en preparación",
        "order_state_partially_fulfilled": "enviado en parte",
        "order_state_fulfilled": "enviado",
        "order_state_on_hold": "en espera",
        "order_state_cancelled": "cancelado",
        "order_state_refunded": "reembolsado",
        "order_state_unpaid": "pendiente de pago",
        "confirm_order_cancel": "Cancelo el pedido {number}{refund}. ¿Lo confirmo?",
        "order_refund": " y le devuelvo {amount} a la tarjeta con la que pagó",
        "order_cancelled": "Listo, el pedido {number} está cancelado{refunded}. Recibirá un correo de la tienda. ¿Algo más?",
        "order_refunded": "; el reembolso vuelve a la tarjeta con la que pagó",
        "order_kept": "De acuerdo, el pedido {number} se queda como está. ¿Algo más?",
        "order_already_cancelled": "El pedido {number} ya está {status}. ¿Algo más?",
        "order_not_cancellable": "El pedido {number} está {status}, así que no puedo cancelarlo yo. Paso su solicitud al equipo y le llamarán. ¿Cuál es su nombre?",
        "order_cancel_message": "Pide cancelar el pedido {number} ({status}).",
        "order_unknown": "No encuentro el pedido {number}. ¿Me repite el número?",
        "confirm_payment": "Le envío un enlace de pago{order}{amount} por SMS {to_phone}. ¿Es correcto?",
        "for_order": " del pedido {number}",
        "payment_sent": "Enviado, recibirá el enlace de pago por SMS. ¿Algo más?",
        "with": "con {provider}",
        "at_time": "{day} a las {time}",
        "or": " o ",
        "hours_range": "{days}, de {ranges}",
        "time_range": "{start} a {end}",
        "and_ranges": " y de ",
        "keys_hint": "Para hablar con alguien, pulse 0. O dígame en qué puedo ayudarle.",
        "reminder_call": "Hola, le habla el asistente automático de {business} para recordarle su cita con {provider} el {when}. Para confirmar, diga confirmar o pulse 1. Para cancelar, diga cancelar o pulse 2. Para cambiarla, diga cambiar o pulse 3.",
        "reminder_again": "Diga confirmar, cancelar o cambiar, o pulse 1, 2 o 3.",
        "reminder_confirmed": "Gracias, su cita del {when} queda confirmada. Hasta pronto, ¡adiós!",
        "reminder_unclear": "Mantengo su cita como está. Para cambiarla, llame a {business}. ¡Adiós!",
        "reminder_opted_out": "Entendido, no volveremos a llamarle con recordatorios. Su cita sigue como está. ¡Adiós!",
        "reminder_sms": "{business}: recordatorio de su cita con {provider} el {when}. Para cambiarla, llámenos{phone}.",
        "reminder_voicemail": "Hola, le habla el asistente automático de {business} con el recordatorio de una cita el {when}. Por favor, devuélvanos la llamada{phone}. Adiós.",
        "reminder_voicemail_brief": "Hola, le habla el asistente automático de {business} con el recordatorio de una próxima cita. Por favor, devuélvanos la llamada{phone}. Adiós.",
        "callback_call": "Hola, le habla el asistente automático de {business}. Le devolvemos la llamada, como nos pidió. ¿En qué puedo ayudarle?",
        "callback_voicemail": "Hola, le habla el asistente automático de {business}, para devolverle su llamada. Por favor, llámenos{phone}. Adiós.",
        "hours_join": ", y ",
    },
    weekday_names=("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    month_names=[
        "enero",
        "febrero",
        "marzo",
        "abril",
        "mayo",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
    ],
    range_to=" a ",
    question_words=r"qué|que|cuándo|dónde|cómo|cuánto|cuánta|por qué|tienen|hay|puedo|se puede|aceptan",
    faq_topics={
        "hours": r"\b(?:abierto|abiertos|horario|abren|cierran)\b",
        "address": r"\b(?:dirección|dónde están|dónde estáis|dónde se encuentra|dónde queda|ubicados|cómo llego)\b",
        "price": r"\b(?:cuánto|cuesta|precio|tarifa)\b",
    },
    reminder_answers=(
        r"\b(?:con|quiero|me gustaría|envíeme|mándeme|sí al)(?: un| el)? recordatorios?\b",
        r"\b(?:sin|no quiero|no hace falta|no necesito|no me mande|no me envíe)(?: un| el| ningún)? recordatorios?\b",
    ),
    this_number=r"(?<!no a )(?<!no en )(?<!no al )\b(?:este (?:número|móvil|teléfono|celular)\b(?! no\b)|"
    r"(?:número|móvil|teléfono) (?:desde el que|del que|con el que|que|por el que) (?:le |les )?(?:llamo|estoy llamando)\b)",
    asks_for=r"(?:^|¿|\b)(?:está|se encuentra)\s+(?:[\w.'-]+\s+){0,3}[\w.'-]+(?:\s+disponible)?\W*$",
    swapped_name=r"\bno (?:es\s+)?([\w'-]+)\W+(?:(?:es|sino|se llama)\s+)?([\w'-]+)",
    same_day=r"\b(?:el )?mismo d[ií]a\b",
    strong_name_intro=r"\b(?:me llamo|se llama|(?:mi|su) nombre es)\b",
    stt_prompt="Una llamada telefónica a la recepción de una clínica para pedir, cambiar o cancelar una cita con el médico, la enfermera o el dentista.",
)
