"""Whole-utterance understanding: every entity a caller said in one turn, typed, role-tagged, located.

Callers say everything at once ("Thursday at half past two, I'm Priya Raman, born March 3rd 1985, my
number is 415 555 0198"), so one pass reads the normalised utterance in an order that keeps one
entity from being read as another, blanking each span it takes:

1. phone numbers: digit runs validated by ``phonenumbers`` in the business's region, then in the
   caller ID's region (a French mobile said to a US clinic by a +33 caller); a run that looks like a
   number but is valid in neither is reported as ``phone_invalid`` so the flow asks again;
2. dates of birth: a date after a birth cue ("born", "née le", "nací el"), or any date whose year is
   before this one;
3. the appointment moment, from what is left; a correction ("actually", "instead", "plutôt",
   "mejor") or a later clause overrides the earlier one, field by field (a new day keeps the time);
4. the person's name, which stops at the first word that is not a name ("born", "my", "née").

Each entity keeps its span (offsets in :attr:`Heard.text`) so a flow can tell what was said where.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import dateparser
import phonenumbers

from .languages import PACKS
from .understand import _MONTHS, PART_RANGES, When, parse_when

_BIRTH_CUES = {c: p.birth_cues for c, p in PACKS.items()}
_CORRECTION = {c: p.corrections for c, p in PACKS.items()}
_PHONE_WORDS = re.compile(
    r"\b(?:number|phone|cell|mobile|reach me|call me|numéro|portable|téléphone|joindre|número|"
    r"teléfono|móvil|celular|llamarme)\b"
)
# "not Thursday": a day the caller rules out is not the one they want.
_BARE_HOUR_CUES = {c: p.bare_hour_cues for c, p in PACKS.items()}
_NEGATED_DAY = {c: p.negated_day for c, p in PACKS.items()}
_REJECTED = {c: p.rejected for c, p in PACKS.items()}
_REASON = {c: re.compile(rf"^(?:{p.reason})\b") for c, p in PACKS.items()}
_WEEKDAY_WORDS = {c: p.day_words for c, p in PACKS.items()}


@dataclass(frozen=True)
class Entity:
    """One thing the caller said: ``kind`` (phone, dob, when, name), its value and where it was."""

    kind: str
    value: object
    start: int
    end: int
    role: str = ""  # a date's role: appointment | birth


@dataclass
class Heard:
    """Everything understood in one utterance."""

    text: str  # the normalised utterance the spans refer to
    entities: list[Entity] = field(default_factory=list)
    phone: str | None = None  # E.164
    phone_invalid: str | None = None  # digits said as a number that no region accepts
    dob: str | None = None  # ISO date
    dob_fix: tuple[int | None, int] | None = None  # (month, day) of a birth date corrected without its year
    dob_year: int | None = None  # the year of a birth date corrected alone
    when: When | None = None  # the appointment moment, corrections applied
    correction: bool = False  # the caller corrected something they had said
    blanks: tuple[str, ...] = ()  # the phone and birth-date words, kept out of every other reader

    def without_taken(self, text: str) -> str:
        """``text`` with the phone numbers and dates of birth blanked (for readers of what is left)."""
        for taken in sorted(self.blanks, key=len, reverse=True):  # a blank may hold another
            text = text.replace(taken, " ")
        return re.sub(r"\s+", " ", text).strip()


def hear(
    text: str, language: str, now: datetime, regions: tuple[str, ...], country: str, expecting_phone: bool = False
) -> Heard:
    """Read one normalised utterance; ``regions`` are tried in order for numbers said without a +.
    ``expecting_phone``: the caller was just asked for a number, so any digit run is meant as one."""
    heard = Heard(text)
    work = _take_phones(heard, text, language, regions, expecting_phone)
    work = _take_birth_date(heard, work, language, now.date(), country)
    heard.blanks = tuple(text[e.start : e.end] for e in heard.entities)
    heard.correction = bool(re.search(rf"\b(?:{_CORRECTION[language]})\b", work))
    heard.when = appointment_when(re.sub(r"\s+", " ", work), language, now)
    return heard


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


# A run of digit groups, as speech recognition writes a number said aloud ("415 555 0198",
# "06 12 34 56 78", "4 1 5 5 5 5 ..."): digits joined by spaces, dots, dashes, commas or parentheses.
_RUN = re.compile(r"\+?\d[\d]*(?:[\s().,-]{1,12}\d+)+|\+?\d{7,15}")


# "my Spanish mobile", "un portable français": the caller names the number's country.
_COUNTRY_WORDS = (
    ("ES", r"spanish|español|espagnol|de españa"),
    ("FR", r"french|francés|frances|français|française|francais|de france"),
    ("MA", r"moroccan|marroquí|marocain|marocaine|du maroc"),
    ("US", r"american|americano|américain|américaine|us number"),
    (
        "GB",
        r"british|english number|uk|u\.k\.|united kingdom|scottish|británico|britannique|anglais|del reino unido|du royaume-uni",
    ),
    ("CA", r"canadian|canadiense|canadien|canadienne"),
    ("MX", r"mexican|mexicano|mexicain"),
    ("BE", r"belgian|belga|belge"),
    ("CH", r"swiss|suizo|suisse"),
    ("DE", r"german|alemán|allemand"),
    ("IT", r"italian|italiano|italien"),
    ("PT", r"portuguese|portugués|portugais"),
)


# What a caller calls their number before "one" stands for it: "a UK one", "the other one", "a work one".
_NUMBER_KINDS = (
    r"uk|british|french|spanish|moroccan|american|canadian|foreign|international|mobile|cell|landline|"
    r"different|new|other|local|work|home|office"
)


def _take_phones(heard: Heard, text: str, language: str, regions: tuple[str, ...], expecting: bool) -> str:
    named = [region for region, words in _COUNTRY_WORDS if re.search(rf"\b(?:{words})\b", text)]
    regions = tuple(dict.fromkeys([*named, *regions]))
    spoken = _spoken_digits(text)
    if language == "en":  # "it's a UK one, 07534 ...": that "one" is the number, not its first digit
        spoken = re.sub(rf"(\b(?:a|an|the) (?:(?:{_NUMBER_KINDS}) ){{1,2}})1(?=,? (?:\+|\d))", r"\1 ", spoken)
    work = text
    taken_to = 0  # the end of the last number taken, with its corrected digits
    for run in _RUN.finditer(spoken):
        if run.start() < taken_to:
            continue
        groups = [
            (m.start() + run.start(), m.end() + run.start(), m.group()) for m in re.finditer(r"\+?\d+", run.group())
        ]
        found = _valid_subrun(groups, regions)
        if found is not None:
            start, end, number = found
            corrected = heard.phone is not None and _CORRECTED_BEFORE[language].search(spoken[taken_to:start])
            fixed = _corrected_tail(spoken, end, number, language)
            if fixed is not None:
                number, end = fixed
            heard.entities.append(Entity("phone", number, start, end))
            heard.phone = number if corrected else heard.phone or number  # "..., no, it's 720 555 0199"
            work = _blank(work, start, end)
            taken_to = end
            continue
        digits = sum(len(g[2].lstrip("+")) for g in groups)
        context = spoken[max(0, run.start() - 30) : run.start()]
        ordered = re.search(r"\b(?:order|commande|pedido)\b", context)
        meant = expecting or _PHONE_WORDS.search(context) or digits >= 9
        if digits >= (5 if expecting else 7) and meant and not ordered:
            heard.entities.append(Entity("phone_invalid", run.group(), run.start(), run.end()))
            heard.phone_invalid = heard.phone_invalid or re.sub(r"[^\d+]", "", run.group())
            work = _blank(work, run.start(), run.end())
    return work


# "..., no wait, 0122", "sorry no, the last one is an 8, 0178", "ah non pardon, 38 à la fin": the digits
# said after a correction that follows a number put right its end.
_CORRECTED_AFTER = {
    c: re.compile(
        rf"^[\s,.;:!-]*(?:(?:ah|oh|oops|sorry|no|non|pardon|perdón|perdona|attendez|espera)\W+){{0,2}}(?:{p.corrections}|no|non)\b"
    )
    for c, p in PACKS.items()
}
_CORRECTED_BEFORE = {c: re.compile(rf"\b(?:{p.corrections}|no|non)\b") for c, p in PACKS.items()}


def _corrected_tail(spoken: str, end: int, number: str, language: str) -> tuple[str, int] | None:
    """``number`` with its last digits replaced by those said after a correction right behind it, and
    where that correction ends; None when no correction follows or it does not make a valid number.
    The groups are what the caller said between pauses (commas): the fewest final groups that change the
    number and keep it valid are taken ("8, 0178": "0178"; "0 1 9 2": "0192"), so a digit word inside
    the correction ("the last one is an eight") is not read into it."""
    marker = _CORRECTED_AFTER[language].match(spoken[end:])
    if marker is None:
        return None
    after = spoken[end + marker.end() : end + marker.end() + 60]
    runs = list(_RUN_OR_DIGITS.finditer(after))
    if not runs:
        return None
    run = runs[-1]
    groups = [re.sub(r"\D", "", unit) for unit in re.split(r"[,.;]", run.group()) if re.search(r"\d", unit)]
    parsed = phonenumbers.parse(number, None)
    national = str(parsed.national_number)
    for count in range(1, len(groups) + 1):
        tail = "".join(groups[-count:])
        if len(tail) >= len(national):
            return None  # a whole number: read as one, not as an end
        fixed = national[: len(national) - len(tail)] + tail
        if fixed == national:
            continue
        candidate = phonenumbers.parse(fixed, phonenumbers.region_code_for_number(parsed))
        if phonenumbers.is_valid_number(candidate):
            e164 = phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
            return e164, end + marker.end() + run.end()
    return None


_RUN_OR_DIGITS = re.compile(r"\d+(?:[\s.,-]{1,3}\d+)*")


def _spoken_digits(text: str) -> str:
    """``text`` of the same length with "oh", "double 5" and "plus" turned into digits in place."""

    def pad(match: re.Match[str], repl: str) -> str:
        return repl.ljust(len(match.group()))

    text = re.sub(r"\b(?:oh|o)\b(?=\s*\d)|(?<=\d )(?:oh|o)\b", lambda m: pad(m, "0"), text)
    text = re.sub(r"\b(double|triple) (?:oh|o)\b", lambda m: pad(m, "0" * (2 if m.group(1) == "double" else 3)), text)
    text = re.sub(r"\bdouble (\d)", lambda m: pad(m, m.group(1) * 2), text)
    text = re.sub(r"\btriple (\d)", lambda m: pad(m, m.group(1) * 3), text)
    return re.sub(r"\b(?:plus|más|mas)\s*(?=\d)", lambda m: "+".rjust(len(m.group())), text)  # "+" next to its digits


def _valid_subrun(groups: list[tuple[int, int, str]], regions: tuple[str, ...]) -> tuple[int, int, str] | None:
    """The longest contiguous groups that form a valid number in one of ``regions``."""
    best: tuple[int, int, str] | None = None
    best_len = 0
    # A number said with its country code ("plus four four, ...") is that country's or none: the digits
    # after the code are never read as a number of another country.
    starts = range(1) if groups and groups[0][2].startswith("+") else range(len(groups))
    for i in starts:
        for j in range(len(groups), i, -1):
            digits = "".join(g[2] for g in groups[i:j])
            count = len(digits.lstrip("+"))
            if count <= best_len or not 7 <= count <= 15:
                continue
            number = _valid(digits, regions)
            if number is not None:
                best, best_len = (groups[i][0], groups[j - 1][1], number), count
    return best


def _valid(digits: str, regions: tuple[str, ...]) -> str | None:
    """The number in the first region where it is valid *as said*: a region whose numbers are said
    with a trunk 0 ("06 12 ...") is passed over for a number said without it when another region
    takes it as is ("655 12 34 56" from a Spanish caller to a Moroccan clinic)."""
    if digits.startswith("+"):
        regions = ("ZZ",)
    found: list[tuple[int, str]] = []
    for region in regions:
        try:
            number = phonenumbers.parse(digits, None if region == "ZZ" else region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            prefix = phonenumbers.PhoneMetadata.metadata_for_region(region, None)
            trunk = prefix.national_prefix if prefix is not None else None
            as_said = region == "ZZ" or not trunk or trunk == "1" or digits.startswith(trunk)
            found.append((0 if as_said else 1, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)))
    return min(found, key=lambda f: f[0])[1] if found else None


def region_of(e164: str | None) -> str | None:
    """The ISO region of a caller ID ("+33..." → "FR"), None when unknown."""
    if not e164:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or None
    except phonenumbers.NumberParseException:
        return None


def _date_with_year(language: str) -> re.Pattern[str]:
    months = "|".join(_MONTHS[language].split())
    ordinal = r"(?:st|nd|rd|th|er|º)?"
    return re.compile(
        rf"(?:\b(?:the |le |el )?\d{{1,2}}{ordinal}\s+(?:of\s+|de\s+)?)?\b(?:{months})\b,?\s*(?:the\s+)?"
        rf"(?:\d{{1,2}}{ordinal}\b,?\s*)?(?:de\s+|del\s+)?\b(?:19|20)\d{{2}}\b"
        # a year said in two ("del ochenta y cinco", "in eighty-five", "en 85"): taken after a birth cue only
        rf"|(?:\b(?:the |le |el )?\d{{1,2}}{ordinal}\s+(?:of\s+|de\s+)?)\b(?:{months})\b,?\s*"
        rf"(?:(?:del|de|in|en)\s+)?(?P<yy>\d{{2}})\b(?!\s*(?:h\b|heures?|:|am|pm|a\.m|p\.m|horas?))"
        rf"|\b\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:19|20)?\d{{2}}\b"
    )


_DATE_WITH_YEAR = {lang: _date_with_year(lang) for lang in _MONTHS}


def _take_birth_date(heard: Heard, text: str, language: str, today: date, country: str) -> str:
    for found in _DATE_WITH_YEAR[language].finditer(text):
        before = text[max(0, found.start() - 30) : found.start()]
        cue = re.search(rf"\b(?:{_BIRTH_CUES[language]})\W*$", before)
        said = found.group()
        if found.group("yy"):
            yy = int(found.group("yy"))
            if cue is None and yy <= today.year % 100 + 1:
                continue  # "the 5th of May in 10": not a birth date without a cue; "el 4 de abril del 87" is one
            century = 1900 if yy > today.year % 100 else 2000
            said = said[: found.start("yy") - found.start()] + str(century + yy)
        parsed = _parse_date(said, language, country)
        if parsed is None:
            continue
        if cue is None and parsed.year >= today.year:
            continue  # "the 4th of March 2027": an appointment date with its year
        if parsed >= today:
            continue
        start = found.start() - (len(before) - cue.start()) if cue else found.start()
        heard.entities.append(Entity("dob", parsed.isoformat(), start, found.end(), role="birth"))
        heard.dob = heard.dob or parsed.isoformat()
        text = _blank(text, start, found.end())
    if heard.dob is None:
        text = _take_birth_fix(heard, text, language)
    return text


def _take_birth_fix(heard: Heard, text: str, language: str) -> str:
    """ "my birthday is June 15th, not the 5th": a birth date without its year, blanked from the rest
    (its clause is about the birth date, never the appointment)."""
    cue = re.search(rf"\b(?:{_BIRTH_CUES[language]})\b", text)
    if cue is None:
        return text
    months = _MONTHS[language].split()
    tail = text[cue.end() :]  # "the birthday is wrong, it's March 13th not 31st": the date may come later
    month = next((i + 1 for i, m in enumerate(months) if re.search(rf"\b{m}\b", tail)), None)
    day = re.search(r"\b(\d{1,2})(?:st|nd|rd|th|er|º)?\b", tail)
    year = re.search(r"\b(19\d\d|20\d\d)\b", tail)
    if day is None and month is None and year is not None:
        heard.dob_year = int(year.group(1))  # "nació en 2016, no en 2015": the year put right
        heard.entities.append(Entity("dob_year", heard.dob_year, cue.start(), len(text), role="birth"))
        return _blank(text, cue.start(), len(text))
    if day is None or not 1 <= int(day.group(1)) <= 31:
        return text
    heard.dob_fix = (month, int(day.group(1)))
    heard.entities.append(Entity("dob_fix", heard.dob_fix, cue.start(), len(text), role="birth"))
    # the rest of the utterance ("not the 5th") is about the birth date too
    return _blank(text, cue.start(), len(text))


def _parse_date(words: str, language: str, country: str) -> date | None:
    order = "MDY" if country == "US" else "DMY"
    cleaned = re.sub(r"\b(\d{1,2})(?:st|nd|rd|th|er|º)\b", r"\1", words)
    cleaned = re.sub(r"\b(?:the|of|le|el|de|del)\b", " ", cleaned)
    parsed = dateparser.parse(
        cleaned,
        languages=[language],
        settings={"PREFER_DATES_FROM": "past", "DATE_ORDER": order, "STRICT_PARSING": True},
    )
    return parsed.date() if parsed is not None else None


_BECAUSE = re.compile(
    r"\s+(?=(?:because|'cause|parce que|parce qu'|puisque|porque|ya que|"
    r"que (?:sale|salgo|trabaja|trabajo|llega|llego|entra|entro)\b|"
    # and where the reason ends: "because work has been crazy ... but anyway ... wednesday around three"
    r"but|anyway|so i|mais|bref|du coup|pero|bueno|así que|asi que)\b)"
)


def when_clauses(text: str, language: str) -> list[str]:
    """The clauses of ``text`` that may say when, in order: a day ruled out ("not Thursday", "rather than
    at 11") and a reason ("parce que le mardi je travaille") are left out."""
    text = re.sub(rf"{_NEGATED_DAY[language]}(?:{_WEEKDAY_WORDS[language]})\b", " ", text)
    text = re.sub(rf"(?:{_REJECTED[language]})[^,;.?!]*", " ", text)  # "11:30 rather than 11": not 11
    # "make it 11 instead", "plutôt 15", "mejor las 11": a bare hour after a correction is a time
    text = re.sub(
        rf"\b(?:{_BARE_HOUR_CUES[language]}) (\d{{1,2}})\b(?!\s*(?:st|nd|rd|th|er|:|h\b|heures?))", r" at \1", text
    )
    clauses = re.split(rf"\s*(?:,(?!\d)|;|\.(?!\d)|\bno\b|\b(?:{_CORRECTION[language]})\b)\s*", text)
    # a reason said in the same breath is a clause of its own: "jeudi parce que le mardi je travaille",
    # "a las cuatro que sale de trabajar a las tres y media"
    parts = (part.strip() for clause in clauses for part in re.split(_BECAUSE, clause))
    # "..., because in the morning I take the kids to school": why, not when
    return [part for part in parts if part and not _REASON[language].match(part)]


def appointment_when(text: str, language: str, now: datetime) -> When | None:
    """The moment asked for in ``text`` (phones and birth dates already blanked), read clause by
    clause: a later clause or a correction replaces the day or the time said before it."""
    merged: When | None = None
    for clause in when_clauses(text, language):
        found = parse_when(clause, language, now)
        if found is None:
            continue
        if merged is None:
            merged = found
            continue
        at = found.at or merged.at
        part = found.part or merged.part
        if (
            found.at is None
            and found.part is not None
            and merged.at is not None
            and not _in_part(merged.at, found.part)
        ):
            at = None  # "at 9... no, in the afternoon": the earlier time is not what they want
        day = found.day or merged.day
        if found.day and merged.week_of and merged.day and found.day < merged.day:
            day = found.day + timedelta(days=7)  # "end of next week, the Friday": that Friday of next week
        merged = When(
            day, at, part, found.week_of if found.day else merged.week_of, found.same_time or merged.same_time
        )
    if merged is None:
        return None
    whole = parse_when(text, language, now)
    if whole is not None and merged.at is None and whole.at is not None:
        merged = When(merged.day, whole.at, merged.part, merged.week_of)  # "at 3" split from its "pm"
    return merged


def _in_part(at: time, part: str) -> bool:
    low, high = PART_RANGES[part]
    return low <= at < high


# What a prospect says about their project in one breath ("we need a new website, our budget is about
# twelve thousand dollars, we'd like to start in January, I'm the owner").
_NEED = {c: p.lead_need for c, p in PACKS.items()}
_COMPANY = {c: p.lead_company for c, p in PACKS.items()}
BUDGET_CUE = r"\b(?:budget|spend|invest|set aside|put aside|prévu|presupuesto|gastar|invertir|dollars?|euros?|bucks|grand|k\b|dólares|mille|mil)\b"
_TIMELINE = {c: p.lead_timeline for c, p in PACKS.items()}
_LEAD_WHEN = {c: p.lead_when for c, p in PACKS.items()}
_AUTHORITY_YES = {c: p.lead_decides for c, p in PACKS.items()}


def _without_article(company: str) -> str:
    """ "la boulangerie du coin" (from "de la boulangerie du coin") without the article the sentence put
    before a common noun; "La Mie Dorée" keeps its own."""
    from .understand import _BUSINESS_NOUNS

    found = re.match(r"(?:la|le|l'|les|el|the)\s*(?=([\w-]+))", company, re.IGNORECASE)
    return company[found.end() :] if found and found.group(1).lower() in _BUSINESS_NOUNS else company


def _is_person(words: str, language: str) -> bool:
    """Whether ``words`` are a person's name, every word of them."""
    from .understand import parse_name

    name = parse_name(words, language, expecting=True)
    return name is not None and len(name.split()) == len(words.split())


def has_moment(clause: str, language: str) -> bool:
    """Whether a clause with a start verb says when ("launch in March", "démarrer à la rentrée"): without
    one, "lancer une boutique en ligne" is what they need, not when."""
    from .understand import normalize, parse_when

    months = PACKS[language].months.replace(" ", "|")
    if re.search(_LEAD_WHEN[language], clause) or re.search(rf"\b(?:{months})\b", clause):
        return True
    return parse_when(normalize(clause, language), language, datetime(2000, 1, 3)) is not None


_AUTHORITY_NO = {c: p.lead_does_not_decide for c, p in PACKS.items()}
# where a clause goes on to the contact ("... live in a month call me on <number>"): not part of the when
_CONTACT_TAIL = re.compile(
    r"\s*\b(?:(?:call|reach|text|ring|phone) me|my (?:number|cell|mobile)|appelez-moi|rappelez-moi|mon numéro|"
    r"llámeme|llámame|mi número)\b.*$",
    re.I,
)


# "hi, nadia kerr from kerr bakery, ...": a name and its company said first, with no cue before them
_GREETED_COMPANY = re.compile(
    r"^(?P<n>[\w'-]+ [\w'-]+(?: [\w'-]+)?) (?:from|de chez|de la société|de l'entreprise|de la empresa) "
    r"(?P<c>[\w&'-]+(?: [\w&'-]+){0,4})$",
    re.IGNORECASE,
)
_INTRODUCED_COMPANY = (
    r"\b(?:this is|i'm|i am|it's|my name is|je suis|je m'appelle|mon nom est|c'est|soy|me llamo|mi nombre es) "
    r"[\w'-]+(?: [\w'-]+)? "
    r"(?:from|at|de chez|de la société|chez|de la empresa|de) (?P<c>[\w&'-]+(?: [\w&'-]+){0,4})$"
)


_ROLES = (
    r"director|manager|owner|ceo|founder|co-?founder|president|head of [\w-]+|coordinator|partner|"
    r"directeur|directrice|gérante?|patronne?|propriétaire|responsable(?: [\w-]+)?|fondatrice|fondateur|"
    r"directora?|gerente|dueñ[oa]|encargad[oa]|fundador[a]?|socia?"
)
_WORKS_AT = (
    r"\b(?:i (?:work|manage (?:the )?[\w']+|run (?:the )?[\w']+)|je travaille|trabajo|"
    rf"(?:i'm|i am|je suis|soy) (?:the |le |la |l'|el )?(?:[\w-]+ ){{0,2}}?(?:{_ROLES})) (?:at|for|of|chez|pour|en|para|de) "
    r"(?P<c>[\w&'-]+(?: [\w&'-]+){0,4})\s*$"
)


# A business named by its name's cue, whatever its case: what follows, up to four words, to the clause's end.
_NAMED_COMPANY = (
    r"\b(?:called|named|it's called|s'appelle|qui s'appelle|nommée?|se llama|llamada|llamado)\s+"
    r"(?P<c>[\w&'.-]+(?:\s+[\w&'.-]+){0,3})\s*$"
)


def _titled(name: str) -> str:
    """ "bean there" as "Bean There"; a name already written with capitals is kept."""
    if any(c.isupper() for c in name):
        return name
    small = {"and", "of", "the", "et", "de", "du", "des", "y", "del"}
    return " ".join(w if i and w in small else w[:1].upper() + w[1:] for i, w in enumerate(name.split()))


_CLAUSE_STARTS = (
    r"we're|we are|we'd|we want|we need|we have|i'm|i am|i'd|i want|i need|(?:our |the |my )?budget(?:'s| is)|"
    r"you can reach|nous cherchons|on cherche|on a un budget|notre budget|je suis|"
    r"estamos|buscamos|queremos|tenemos|nuestro presupuesto"
)


def lead_facts(said: str, language: str) -> dict[str, object]:
    """The project facts in one utterance (``said`` keeps its capitals): need, company, budget,
    timeline, authority; only what was said."""
    from .understand import parse_amount

    facts: dict[str, object] = {}
    clauses = [
        c.strip()
        for c in re.split(
            r"[,.;]\s*|\s+(?:and|so|et|y)\s+(?=(?:we|i|our|my|nous|je|notre|mon|ma|nuestro|mi)\b)"
            # a caller who says it all in one breath starts a new clause without a pause or an "and"
            rf"|\s+(?=(?:{_CLAUSE_STARTS})\b)",
            said,
            flags=re.IGNORECASE,
        )
        if c and c.strip()
    ]
    for index, clause in enumerate(clauses):
        lowered = clause.lower()
        # "I'm interested in your services" is interest, not a need ("... for a new website" is one)
        generic = re.search(r"\b(?:your services|vos services|sus servicios)\W*$", lowered)
        if "need" not in facts and re.search(_NEED[language], lowered) and len(clause.split()) >= 3 and not generic:
            facts["need"] = clause
        if "company" not in facts:
            company = re.search(_COMPANY[language], clause)
            introduced = re.search(
                _INTRODUCED_COMPANY, clause, re.IGNORECASE
            )  # "this is raj malhotra from lakeside dental"
            named = re.search(_NAMED_COMPANY, clause, re.IGNORECASE) or re.search(
                _WORKS_AT, clause, re.IGNORECASE
            )  # "a bakery called la mie dorée", "i manage the office at northshore family dental"
            if company and not re.fullmatch(r"[\d\s]+", company.group("c")) and not company.group("c").isupper():
                facts["company"] = company.group("c").strip()[:120]
            elif introduced:
                facts["company"] = _without_article(introduced.group("c").strip())[:120]
            elif named:
                facts["company"] = _titled(_without_article(named.group("c").strip()))[:120]
            elif (
                index <= 1 and (greeted := _GREETED_COMPANY.match(clause)) and _is_person(greeted.group("n"), language)
            ):
                facts["company"] = greeted.group("c").strip()[:120]
            if "company" in facts:  # "chez boulangeries marchand à montréal": where it is, not its name
                facts["company"] = (
                    re.sub(r"\s+(?:à|au|in|en)\s+[\w'-]+$", "", str(facts["company"]), flags=re.I) or facts["company"]
                )
        if "budget" not in facts and re.search(BUDGET_CUE, lowered):
            amount = parse_amount(lowered)
            if amount is not None and amount >= 100:
                facts["budget"] = amount
        if "timeline" not in facts and re.search(_TIMELINE[language], lowered) and has_moment(lowered, language):
            facts["timeline"] = _CONTACT_TAIL.sub("", clause) or clause  # "... in a month call me on": when
        if "authority" not in facts:
            if re.search(_AUTHORITY_NO[language], lowered):
                facts["authority"] = False
            elif re.search(_AUTHORITY_YES[language], lowered):
                facts["authority"] = True
    if "authority" not in facts and re.search(_AUTHORITY_YES[language], said.lower()):
        facts["authority"] = True  # "c'est moi et mon associé qui décidons": across the clauses it was cut in
    return facts
