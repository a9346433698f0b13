"""Whole-utterance understanding: each entity read in its role, and the flows that take them all."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from appliance.dialog.engine import Business
from appliance.dialog.entities import hear, lead_facts
from appliance.dialog.understand import normalize, parse_name

NOW = datetime(2026, 11, 23, 9, 0)  # a Monday


def heard(text: str, language: str = "en", regions: tuple[str, ...] = ("US",), country: str = "US"):
    return hear(normalize(text, language), language, NOW, regions, country)


def test_one_breath_keeps_the_appointment_the_birth_date_and_the_number_apart() -> None:
    found = heard(
        "hi yeah i'd like a check up with doctor lopez thursday at half past two my name's priya raman "
        "born march third nineteen eighty five my number is four one five five five five zero one nine eight"
    )
    assert (found.when.day, found.when.at) == (date(2026, 11, 26), time(14, 30))
    assert found.dob == "1985-03-03"
    assert found.phone == "+14155550198"


@pytest.mark.parametrize(
    ("language", "text", "dob"),
    [
        ("fr", "jeudi à 15h je suis Marie Dubois née le 12 mars 1985", "1985-03-12"),
        ("es", "el jueves a las diez y media nací el doce de marzo de mil novecientos ochenta y cinco", "1985-03-12"),
    ],
)
def test_a_birth_date_is_never_the_appointment_in_french_and_spanish(language: str, text: str, dob: str) -> None:
    found = heard(text, language)
    assert found.dob == dob
    assert found.when is not None and found.when.day == date(2026, 11, 26)


@pytest.mark.parametrize(
    ("language", "text", "dob"),
    [
        ("es", "mañana a las diez, nací el 23 de agosto del ochenta y cinco", "1985-08-23"),
        ("fr", "jeudi à 9 heures, née le 3 mars en 78", "1978-03-03"),
        ("es", "nacida el 2 de junio del 09, es para mi hija", "2009-06-02"),
        ("fr", "je suis Hajar, née le douze avril quatre-vingt-dix", "1990-04-12"),
    ],
)
def test_a_birth_year_said_in_two_digits_after_a_birth_cue(language: str, text: str, dob: str) -> None:
    assert heard(text, language).dob == dob


def test_a_date_with_a_future_year_is_an_appointment_not_a_birth_date() -> None:
    found = heard("17:15 for the 4th of March 2027")
    assert found.dob is None
    assert (found.when.day, found.when.at) == (date(2027, 3, 4), time(17, 15))


def test_a_french_number_said_in_pairs_keeps_its_vingt_et_un() -> None:
    said = "c'est le zéro six, quatre-vingt-dix-huit, soixante-cinq, quarante-trois, vingt et un"
    assert heard(said, "fr", regions=("FR",), country="FR").phone == "+33698654321"


def test_a_foreign_number_is_read_in_the_caller_ids_country_and_an_invalid_one_is_not_kept() -> None:
    assert heard("my number is 06 12 34 56 78", regions=("US", "FR")).phone == "+33612345678"
    assert heard("my number is 06 12 34 56 78").phone is None  # not a US number, and no French caller ID
    short = heard("my number is 415 555 01")
    assert short.phone is None and short.phone_invalid == "41555501"


@pytest.mark.parametrize(
    ("text", "day", "at"),
    [
        ("tuesday at 3, actually make it thursday instead", date(2026, 11, 26), time(15, 0)),
        ("no, it's not like that, quarter to 5", None, time(16, 45)),
        ("can you change that to three in the afternoon on the 14th?", date(2026, 12, 14), time(15, 0)),
        ("not thursday, friday at 10", date(2026, 11, 27), time(10, 0)),
        ("the 10th of next month at three in the afternoon", date(2026, 12, 10), time(15, 0)),
        ("on the 28th, morning 11", date(2026, 11, 28), time(11, 0)),
        ("quarter past ten in the morning on friday", date(2026, 11, 27), time(10, 15)),
        ("friday at half past nine rather than at nine", date(2026, 11, 27), time(9, 30)),
        ("thursday at 2, because on tuesdays i work late", date(2026, 11, 26), time(14, 0)),
    ],
)
def test_dates_and_times_as_callers_say_them_the_last_correction_winning(text: str, day: date, at: time) -> None:
    found = heard(text)
    assert found.when is not None and (found.when.day, found.when.at) == (day, at)


@pytest.mark.parametrize(
    ("language", "text", "day", "at"),
    [
        ("fr", "le 8 à quinze heures", date(2026, 12, 8), time(15, 0)),
        ("es", "el día 10 a las tres de la tarde", date(2026, 12, 10), time(15, 0)),
        ("fr", "le 9 à dix heures et demie plutôt qu'à dix heures", date(2026, 12, 9), time(10, 30)),
        ("fr", "le 9, non pardon, le 10, le lundi je travaille", date(2026, 12, 10), None),
        (
            "es",
            "el día 9 a las diez, no, espera, a las once, que por la mañana tengo médico",
            date(2026, 12, 9),
            time(11, 0),
        ),
    ],
)
def test_a_day_of_the_month_alone_in_french_and_spanish(language: str, text: str, day: date, at: time) -> None:
    found = heard(text, language)
    assert found.when is not None and (found.when.day, found.when.at) == (day, at)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("my name is Priya Raman born March 3rd 1985", "Priya Raman"),
        ("it's John, surname S M Y T H E", "John Smythe"),
        ("first name John last name Smith", "John Smith"),
        ("This is Anna Date of birth", "Anna"),
    ],
)
def test_a_name_stops_where_the_name_stops(text: str, name: str) -> None:
    assert parse_name(normalize(text, "en", lower=False), "en", expecting=True) == name


def test_a_one_breath_booking_is_read_back_whole_and_written_as_said(demo_business: Business) -> None:
    engine = demo_business.engine("breath", None)
    first = engine.respond(
        "I'd like a consultation with Dr. Lopez on Thursday at half past two, I'm Priya Raman, "
        "my number is 415 555 0198"
    )
    assert first.text == (
        "So that's consultation with Dr. Lopez on Thursday, November 26 at 2:30 PM, for Priya Raman, "
        "reachable at +1 415 555 0198. Shall I book it?"
    )
    corrected = engine.respond("no, actually make it Friday instead")
    assert "Friday, November 27 at 2:30 PM, for Priya Raman" in corrected.text
    engine.respond("yes")
    [action] = demo_business.calendar.store.actions("breath")
    assert action["args"]["start"].startswith("2026-11-27T14:30")
    assert action["args"]["patient_name"] == "Priya Raman"


def test_an_invalid_number_is_asked_again_never_written(demo_business: Business) -> None:
    engine = demo_business.engine("short", None)
    engine.respond("I'd like to leave a message")
    engine.respond("Tom Baker")
    again = engine.respond("it's 415 555 01")
    assert "doesn't look complete" in again.text
    assert engine.respond("sorry, 415 555 0134").text == "What message would you like to leave?"
    assert "we'll reach you at +1 415 555 0134" in engine.respond("please call me about my results").text
    assert demo_business.calendar.store.actions("short") == []


@pytest.mark.parametrize(
    ("language", "text", "name"),
    [
        ("en", "Mrs. Patel", "Patel"),
        ("en", "I'd like to book for my son Jacob, Jacob Liu", "Jacob Liu"),
        ("en", "it's under my daughter's name, Emily Novak", "Emily Novak"),
        ("en", "the name is Hughes, H U G H E S, first name Megan", "Megan Hughes"),
        (
            "en",
            "first name's aoife, a o i f e, last name brennan-dwyer, b r e n n a n dash d w y e r",
            "Aoife Brennan-Dwyer",
        ),
        ("es", "a nombre de mi hijo, Mateo Ruiz", "Mateo Ruiz"),
        ("es", "sí, claro, Lucía Méndez", "Lucía Méndez"),
        ("fr", "Gaël Le Goff, Le Goff en deux mots, G O F F", "Gaël Le Goff"),
        ("es", "a nombre de María Luisa Fernández de la Torre, y mi teléfono", "María Luisa Fernández de la Torre"),
        ("es", "Pilar de las Heras, nacida en el 80", "Pilar de las Heras"),
        ("es", "mi hija, se llama Inés Cano Ruiz y tiene seis años", "Inés Cano Ruiz"),
        ("fr", "c'est pour mon père, il s'appelle Ahmed Ben Salah", "Ahmed Ben Salah"),
        ("es", "Jordi Roca i Puig, nacido en Girona", "Jordi Roca i Puig"),
        ("en", "it's Mary Jones I think, yes", "Mary Jones"),  # the Catalan "i" is no English particle
        ("fr", "c'est pour Karim Benjelloun, mon numéro c'est le 06", "Karim Benjelloun"),
    ],
)
def test_names_as_callers_give_them(language: str, text: str, name: str) -> None:
    assert parse_name(normalize(text, language, lower=False), language, expecting=True) == name


@pytest.mark.parametrize(
    ("text", "expecting"),
    [
        ("hello, i'm visiting from manchester", False),
        ("bonjour, c'est possible ?", False),
        ("no wait, quarter to five", True),
        ("bonjour, c'est pour prendre rendez-vous", False),
    ],
)
def test_words_after_a_weak_cue_are_not_taken_for_a_name(text: str, expecting: bool) -> None:
    language = "fr" if "bonjour" in text else "en"
    assert parse_name(normalize(text, language, lower=False), language, expecting=expecting) is None


def test_an_international_number_keeps_its_plus_and_a_named_country_comes_first() -> None:
    assert heard("plus one two one two five five five zero one four seven", regions=("FR",)).phone == "+12125550147"
    said = "llámeme a mi móvil español, seis cinco cinco, doce, treinta y cuatro, cincuenta y seis"
    assert heard(said, "es", regions=("MA", "ES"), country="MA").phone == "+34655123456"


def test_same_time_keeps_the_time_already_held(demo_business: Business) -> None:
    engine = demo_business.engine("same", "+14155550142")
    engine.respond("I'd like a consultation on Tuesday at 10 am")
    engine.respond("Ann Lee")
    engine.respond("yes")
    corrected = engine.respond("actually Wednesday, same time")
    assert "Wednesday, November 25 at 10 AM, for Ann Lee" in corrected.text


@pytest.mark.parametrize(
    ("language", "said", "content"),
    [
        ("en", "My prescription ran out last week, can I leave a message for Dr. Lopez?", "prescription ran out"),
        ("en", "Could I leave a message for Dr. Lopez please? It's about my knee X-ray results", "knee X-ray"),
        ("fr", "Je voudrais laisser un message au docteur Lopez, c'est au sujet de mon ordonnance", "ordonnance"),
        ("es", "Quería dejarle un recado al doctor Lopez, es sobre los análisis de mi hija", "análisis de mi hija"),
    ],
)
def test_a_message_said_around_the_request_is_read_back_not_asked_for(
    demo_business: Business, language: str, said: str, content: str
) -> None:
    engine = demo_business.engine(f"msg-{language}", "+14155550142")
    engine.respond(said)
    engine.respond({"en": "Karen White", "fr": "Karine Blanc", "es": "Carmen Blanco"}[language])
    readback = engine.respond({"en": "yes", "fr": "oui", "es": "sí"}[language]).text
    assert content in readback, readback
    engine.respond({"en": "yes", "fr": "oui", "es": "sí"}[language])
    [action] = demo_business.calendar.store.actions(f"msg-{language}")
    assert action["tool"] == "take_message" and content in action["args"]["message"], action


@pytest.mark.parametrize(
    ("language", "said", "company"),
    [
        ("en", "we run two gyms called iron and oak", "Iron and Oak"),
        ("en", "it's a bakery called Crumb & Co", "Crumb & Co"),
        ("fr", "j'ai un salon de coiffure qui s'appelle atelier nova", "Atelier Nova"),
        ("es", "tengo una tienda que se llama la huerta", "La Huerta"),
    ],
)
def test_a_business_named_after_its_cue_whatever_its_case(language: str, said: str, company: str) -> None:
    assert lead_facts(said, language)["company"] == company
