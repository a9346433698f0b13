"""What the receptionist says: short spoken-style templates in each language, overridable per profile.

Templates are trusted text from the code or the profile; caller words only ever fill their
``{fields}`` (``str.format`` does not interpret field values), so a transcript cannot change a template.
"""

from __future__ import annotations

from datetime import date, datetime, time

TEMPLATES: dict[str, dict[str, str]] = {
    "en": {
        "greeting": "Thank you for calling {business}. How can I help you today?",
        "anything_else": "Is there anything else I can help you with?",
        "not_understood": "Sorry, I didn't catch that. Could you say it another way?",
        "transfer": "Let me put you through to a member of our team. Please hold.",
        "transfer_frustrated": "I'm sorry about that. Let me put you through to a member of our team. Please hold.",
        "transfer_confused": "I'm sorry, I'm having trouble understanding. Let me put you through to a member of our team.",
        "emergency": "If this is a medical emergency, please hang up and dial {emergency} now. I'm also putting you through to our staff.",
        "goodbye": "Thank you for calling {business}. Goodbye!",
        "still_there": "Are you still there?",
        "silence_goodbye": "I can't hear you, so I'll end the call now. Please call back any time. Goodbye.",
        "time_limit": "I'm sorry, we have reached the time limit for this call. Please call back. Goodbye.",
        "transfer_failed": "I'm sorry, no one is available right now. I can take a message. May I have your name?",
        "ask_when": "When would you like to come in?",  # piper's "day and time" is heard as "day in time"
        "offer": "{lead}I can offer {options}. Which would you prefer?",
        "offer_one": "{lead}The nearest free time is {options}. Would that work?",
        "lead_taken": "{requested} is already taken. ",
        "lead_closed": "We're closed on {weekday}s. ",
        "lead_outside": "We're not open then. ",
        "lead_past": "That time has already passed. ",
        "lead_too_far": "We only book up to {days} days ahead. ",
        "lead_unknown_provider": "We don't have {provider} here; you can see {providers}. ",
        "no_slots": "I'm sorry, I have no free time in the coming weeks. I can take a message for our staff. May I have your name?",
        "ask_name": "May I have your full name, please?",
        "ask_phone": "What's the best phone number to reach you?",
        "ask_phone_caller_id": "Can we reach you on the number you're calling from?",
        "phone_invalid": "Sorry, that number doesn't look complete. Could you say it again, digit by digit?",
        "ask_dob": "And your date of birth, please?",
        "confirm_booking": "So that's {what} on {when}, for {name}{details}. Shall I book it?",
        "born": "date of birth {date}",
        "reach": "reachable {to_phone}",
        "booked": "You're booked {what} on {when}. Is there anything else I can help you with?",
        "slot_gone": "Sorry, that time was just taken. ",
        "ask_change": "No problem. What would you like to change?",
        "ask_old_when": "Which day is your current appointment?",
        "confirm_cancel": "I found the appointment for {name} on {when}. Shall I cancel it?",
        "cancelled": "Your appointment on {when} is cancelled. Is there anything else I can help you with?",
        "not_found": "I couldn't find an appointment for {name} on that day. Would you like to leave a message for our staff?",
        "kept": "All right, I haven't changed anything. Is there anything else I can help you with?",
        "ask_new_when": "When would you like to come in instead?",
        "confirm_reschedule": "So I'll move the appointment for {name} from {old} to {new}. Is that right?",
        "rescheduled": "Done. Your appointment is now on {new}. Is there anything else I can help you with?",
        "ask_message": "What message would you like to leave?",
        "message_taken": "Thank you, {name}. I'll pass your message on{recipient} and someone will get back to you. Is there anything else?",
        "to_recipient": " to {recipient}",
        "ask_callback_when": "When is a good time to call you back?",
        "callback_scheduled": "Thank you, {name}. We'll call you back {when}. Is there anything else?",
        "callback_asap": "as soon as we can",
        "unknown_answer": "I'm sorry, I don't know that. I can take a message for our staff. Would you like that?",
        "hours": "We're open {hours}.",
        "closed_all": "We don't have opening hours on file; I can take a message for our staff.",
        "address": "We're at {address}.",
        "price": "{service} costs {price}.",
        "confirm_sms": "I'll text {what} {to_phone}. Is that right?",
        "confirm_contact": "Thank you, {name}. We'll reach you {to_phone}. Shall I pass it on?",
        "confirm_message": "Thank you, {name}. I'll pass on{recipient}: \"{message}\", and we'll reach you {to_phone}. Shall I send it?",
        "confirm_callback": "Thank you, {name}. We'll call you back {when} {to_phone}. Is that right?",
        "from_company": "{name} from {company}",
        "to_phone": "at {phone}",
        "to_caller_id": "on the number you're calling from",
        "sms_sent": "Done, it's on its way. Is there anything else?",
        "sms_address": "our address",
        "sms_hours": "our opening hours",
        "ask_need": "Happy to help. What are you looking for?",
        "ask_company": "What's the name of your company?",
        "ask_budget": "Do you have a budget in mind?",
        "ask_timeline": "When would you like to get started?",
        "ask_authority": "Are you the one who makes the decision?",
        "lead_done": "Thank you, {name}. Someone from our team will call you back shortly. Is there anything else?",
        "ask_order": "What is your order number?",
        "order_status": "Order {number} is {status}. Is there anything else?",
        "order_unknown": "I can't find order {number}. Could you read me the number again?",
        "confirm_payment": "I'll text a payment link{order}{amount} {to_phone}. Is that right?",
        "for_order": " for order {number}",
        "payment_sent": "Done, the payment link is on its way by text. Is there anything else?",
        "with": "with {provider}",
        "at_time": "{day} at {time}",
        "or": " or ",
        "hours_range": "{days} from {ranges}",
        "time_range": "{start} to {end}",
        "and_ranges": " and ",
        "keys_hint": "To speak with someone, press 0. Or just tell me how I can help.",
        "hours_join": ", and ",
    },
    "fr": {
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
        "order_unknown": "Je ne trouve pas la commande {number}. Pouvez-vous me redonner le numéro ?",
        "confirm_payment": "Je vous envoie un lien de paiement{order}{amount} par SMS {to_phone}. C'est bien ça ?",
        "for_order": " pour la commande {number}",
        "payment_sent": "C'est envoyé, vous allez recevoir le lien par SMS. Autre chose ?",
        "with": "avec {provider}",
        "at_time": "{day} à {time}",
        "or": " ou ",
        "hours_range": "{days} de {ranges}",
        "time_range": "{start} à {end}",
        "and_ranges": " et de ",
        "keys_hint": "Pour parler à quelqu'un, tapez 0. Ou dites-moi simplement comment vous aider.",
        "hours_join": ", et ",
    },
    "es": {
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
        "order_unknown": "No encuentro el pedido {number}. ¿Me repite el número?",
        "confirm_payment": "Le envío un enlace de pago{order}{amount} por SMS {to_phone}. ¿Es correcto?",
        "for_order": " del pedido {number}",
        "payment_sent": "Enviado, recibirá el enlace de pago por SMS. ¿Algo más?",
        "with": "con {provider}",
        "at_time": "{day} a las {time}",
        "or": " o ",
        "hours_range": "{days} de {ranges}",
        "time_range": "{start} a {end}",
        "and_ranges": " y de ",
        "keys_hint": "Para hablar con alguien, pulse 0. O dígame en qué puedo ayudarle.",
        "hours_join": ", y ",
    },
}

_WEEKDAY_NAMES = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
_MONTH_NAMES = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "fr": [
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
    "es": [
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
}
_TO = {"en": " to ", "fr": " au ", "es": " a "}


class Phrasebook:
    """Renders templates in one of the supported languages, with a profile's overrides."""

    def __init__(self, overrides: dict[str, dict[str, str]] | None = None) -> None:
        self._overrides = overrides or {}

    def say(self, language: str, key: str, **fields: object) -> str:
        """One template filled with ``fields``."""
        template = self._overrides.get(language, {}).get(key) or TEMPLATES[language][key]
        return template.format(**fields)

    @staticmethod
    def weekday(language: str, day: date) -> str:
        """The weekday's name."""
        return _WEEKDAY_NAMES[language][day.weekday()]

    @staticmethod
    def day(language: str, day: date) -> str:
        """A date as spoken: "Tuesday, November 24" / "mardi 24 novembre" / "martes 24 de noviembre"."""
        weekday, month = _WEEKDAY_NAMES[language][day.weekday()], _MONTH_NAMES[language][day.month - 1]
        if language == "en":
            return f"{weekday}, {month} {day.day}"
        if language == "fr":
            return f"{weekday} {'1er' if day.day == 1 else day.day} {month}"
        return f"{weekday} {day.day} de {month}"

    @staticmethod
    def clock(language: str, at: time) -> str:
        """A time as spoken: "2:30 PM", "noon" / "14 h 30" / "14:30"."""
        if language == "en":
            if at == time(12, 0):
                return "noon"
            hour = at.hour % 12 or 12
            minutes = f":{at.minute:02d}" if at.minute else ""
            return f"{hour}{minutes} {'PM' if at.hour >= 12 else 'AM'}"
        if language == "fr":
            return f"{at.hour} h {at.minute:02d}" if at.minute else f"{at.hour} h"
        return f"{at.hour}:{at.minute:02d}"

    @staticmethod
    def birth_date(language: str, day: date) -> str:
        """A date with its year: "March 3, 1985" / "3 mars 1985" / "3 de marzo de 1985"."""
        month = _MONTH_NAMES[language][day.month - 1]
        if language == "en":
            return f"{month} {day.day}, {day.year}"
        if language == "fr":
            return f"{'1er' if day.day == 1 else day.day} {month} {day.year}"
        return f"{day.day} de {month} de {day.year}"

    def moment(self, language: str, when: datetime) -> str:
        """A date and time as spoken."""
        return self.say(
            language, "at_time", day=self.day(language, when.date()), time=self.clock(language, when.time())
        )

    def options(self, language: str, moments: list[datetime]) -> str:
        """Offered times, saying the day once when they share it."""
        if len(moments) == 2 and moments[0].date() == moments[1].date():
            first = self.moment(language, moments[0])
            return first + self.say(language, "or") + self.clock(language, moments[1].time())
        return self.say(language, "or").join(self.moment(language, m) for m in moments)

    def either(self, language: str, names: list[str]) -> str:
        """Alternatives as spoken: "A, B or C"."""
        if len(names) <= 2:
            return self.say(language, "or").join(names)
        return ", ".join(names[:-1]) + self.say(language, "or") + names[-1]

    def hours(self, language: str, hours: dict[int, tuple[tuple[time, time], ...]]) -> str:
        """Opening hours grouped by identical days: "Monday to Friday from 8 AM to 6 PM"."""
        groups: list[tuple[list[int], tuple[tuple[time, time], ...]]] = []
        for weekday in sorted(hours):
            if groups and groups[-1][1] == hours[weekday] and groups[-1][0][-1] == weekday - 1:
                groups[-1][0].append(weekday)
            else:
                groups.append(([weekday], hours[weekday]))
        parts = []
        for days, ranges in groups:
            names = _WEEKDAY_NAMES[language]
            span = names[days[0]] if len(days) == 1 else names[days[0]] + _TO[language].rstrip() + " " + names[days[-1]]
            spans = [
                self.say(language, "time_range", start=self.clock(language, a), end=self.clock(language, b))
                for a, b in ranges
            ]
            parts.append(
                self.say(language, "hours_range", days=span, ranges=self.say(language, "and_ranges").join(spans))
            )
        return self.say(language, "hours_join").join(parts)
