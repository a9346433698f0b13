"""Understanding a caller's words: language, intents, and slots (when, phone, name, yes/no, choices).

Transcripts come from speech recognition, so text may lack punctuation, hold numbers as words and
mishear small words. Each utterance is first normalised (lower case, numbers as digits via text2num,
spoken times rewritten as ``HH:MM``); dates are then read by dateparser from the fragment that names
them, with the language given, because dateparser alone misreads spoken times (see ARCHITECTURE.md).
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import dateparser
import phonenumbers
from rapidfuzz import fuzz, process
from text_to_num import alpha2digit

from .languages import PACKS

# Words that only one of the supported languages uses often; the language with most hits wins.
_LANGUAGE_WORDS = {c: p.common_words for c, p in PACKS.items()}
_LANGUAGE_SETS = {lang: set(words.split()) for lang, words in _LANGUAGE_WORDS.items()}

# Intent patterns per language, in priority order: the first that matches leads.
_INTENTS: dict[str, tuple[tuple[str, str], ...]] = {c: p.intents for c, p in PACKS.items()}
_INTENT_RES = {
    lang: tuple((name, re.compile(rf"\b(?:{pattern})", re.IGNORECASE)) for name, pattern in items)
    for lang, items in _INTENTS.items()
}

_YES = {c: p.yes for c, p in PACKS.items()}
_NO = {c: p.no for c, p in PACKS.items()}
_YES_RES = {lang: re.compile(rf"(?:^|\b)(?:{p})(?:\b|$)", re.IGNORECASE) for lang, p in _YES.items()}
_NO_RES = {lang: re.compile(rf"(?:^|\b)(?:{p})(?:\b|$)", re.IGNORECASE) for lang, p in _NO.items()}

_WEEKDAYS = {c: p.weekdays for c, p in PACKS.items()}
_MONTHS = {c: p.months for c, p in PACKS.items()}
_RELATIVE_DAYS = {c: p.relative_days for c, p in PACKS.items()}
_NEXT_WEEK = {c: p.next_week for c, p in PACKS.items()}
_PARTS = {c: p.parts_of_day for c, p in PACKS.items()}
# Lunch (12:00-13:00) is in neither the morning nor the afternoon: "l'après-midi" at a practice that
# closes at 12:30 means after the break.
PART_RANGES = {
    "morning": (time(0, 0), time(12, 0)),
    "afternoon": (time(13, 0), time(17, 0)),
    "evening": (time(17, 0), time(23, 59)),
}

# Spoken times, after numbers became digits. Each yields (hour, minute, meridiem or None).
_TIME_PATTERNS: tuple[str, ...] = (
    r"(?P<h>\d{1,2})\s*[:h.]\s*(?P<m>\d{2})\s*(?P<ap>[ap]\.?\s?m\b\.?)?",  # 14:30, 10h30, 2:30 pm
    r"(?P<h>\d{1,2}) (?P<m>\d{2}) ?(?P<ap>[ap]m)\b",  # 10 30 am
    r"(?P<h>\d{1,2})\s*(?P<ap>[ap]\.?\s?m\b\.?)",  # 2 pm, 10am
    r"\b(?:at|à|a|vers|sobre|around|about|after|from|à partir de|a partir de|después de|despues de|dès) (?:las |la )?(?P<h>\d{1,2})(?: (?P<m>\d{2}))?(?: (?P<ap>[ap]\.?\s?m\b\.?))?"
    r"(?! ?(?:days?|weeks?|months?|minutes?|jours?|semaines?|días?|semanas?|heures?|h\b|y \d|menos|to \d|de (?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre)))\b",
    r"(?P<h>\d{1,2}) heures?(?: (?P<m>\d{1,2})\b)?",  # 10 heures, 14 heures 30
    r"(?P<h>\d{1,2}) o'?clock",
    r"(?P<h>\d{1,2})\s?h\b",  # 15h
    r"\b(?P<h>\d{1,2})(?: (?P<m>\d{2}))? (?:in the (?:morning|afternoon|evening)|this (?:morning|afternoon|evening)|tonight|"
    r"(?:de|por) la (?:mañana|tarde|noche)|du (?:matin|soir)|de l'après-midi|l'après-midi)",
    r"\b(?:morning|afternoon|evening|matin|après-midi|tarde|mañana),? (?:at )?(?P<h>\d{1,2})(?: (?P<m>\d{2}))?\b(?! ?(?:st|nd|rd|th|de|of))",
)
_TIME_PATTERNS += (
    # "the day after tomorrow, one thirty?", "ten forty-five works": an hour and its minutes said bare, last
    r"(?<![\d,.] )(?<![\d/])\b(?P<h>1[0-2]|[1-9]) (?P<m>[0-5][05])\b(?! ?(?:[\d/.,]\d|years?|ans|años|minutes?|mins?|"
    r"dollars?|euros?|dirhams?|%|pounds?|de |del |of ))",
)
_TIME_RES = tuple(re.compile(p, re.IGNORECASE) for p in _TIME_PATTERNS)
_AFTERNOON_HINT = re.compile(
    r"\b(?:p\.?\s?m|afternoon|evening|tonight|après-midi|apres-midi|du soir|de la tarde|de la noche|por la tarde)\b",
    re.IGNORECASE,
)
_HALF = {c: p.half_hours for c, p in PACKS.items()}
_MINUTES = {c: p.minutes for c, p in PACKS.items()}
_GREETINGS = re.compile(
    r"\b(?:good (?:morning|afternoon|evening)|buenas tardes|buenas noches|buenos días|buen día|bonsoir|bonne soirée|"
    r"bonne après-midi|bon après-midi|have a (?:good|nice) (?:day|evening|afternoon)|que tenga buena tarde)\b",
    re.IGNORECASE,
)
_NOON = re.compile(r"\b(?:noon|midday|(?<!après-)(?<!apres-)midi|mediodía|mediodia)\b", re.IGNORECASE)
# Words Whisper writes for numbers before "pm"/"am" when it mishears them.
_HOMOPHONES = (
    (r"\b(?:to|too)\s+(?=[ap]\.?\s?m\b)", "2 "),
    (r"\bfor\s+(?=[ap]\.?\s?m\b)", "4 "),
    (r"\bate\s+(?=[ap]\.?\s?m\b)", "8 "),
)


@dataclass(frozen=True)
class When:
    """A date and/or time the caller asked for; any part may be unknown."""

    day: date | None = None
    at: time | None = None
    part: str | None = None  # morning | afternoon | evening
    week_of: bool = False  # "next week": any day from ``day`` on
    same_time: bool = False  # "same time", "a la misma hora": the time held or said before


def normalize(text: str, language: str, lower: bool = True) -> str:
    """Text with numbers as digits and spoken fillers kept (they carry yes/no), lower-cased unless
    ``lower`` is False (names keep their capitals)."""
    text = unicodedata.normalize("NFC", text).replace("’", "'").strip()
    # "10 a m" is 10 am; "n a m a r a", spelled, keeps its letters
    text = re.sub(r"(?<!\b[^\W\d_] )\b([ap])(?:\.\s?|\s)m\b\.?(?! [^\W\d_]\b)", r"\1m", text, flags=re.IGNORECASE)
    # hesitations carry nothing: "at, um, like ten" is "at ten"; "euh" between digits breaks no number
    text = re.sub(r"\b(?:u+m+|u+h+|erm|euh+|e+h+|hmm+)\b,?\s*", "", text, flags=re.IGNORECASE)
    numbers = r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|noon|\d"
    text = re.sub(rf"\b(?:like|about|around) (?=(?:{numbers})\b)", "at " if language == "en" else "", text, flags=re.I)
    text = re.sub(r"\bat at\b", "at", text)
    text = _protect_articles(text, language)
    # "trois mille et quatre mille", "two thousand or three thousand": a range, which text2num would read
    # as one number ("3004 1000")
    text = re.sub(
        r"\b(mille|mil|thousand)\s+(et|y|and|à|a|to|or|ou|o)\s+(?=(?:[^\W\d]+[\s-]+){0,3}?(?:mille|mil|thousand)\b)",
        rf"\1 {_KEEP}\2 ",
        text,
        flags=re.IGNORECASE,
    )
    text = str(alpha2digit(text, language, threshold=0))
    # an "un"/"uno" kept as an article but said among digits is the digit one ("seis uno dos")
    text = re.sub(rf"(?:(?<=\d )|(?<=\d, )){_KEEP}(?:un[oa]?|une)\b|{_KEEP}(?:uno|un)\b(?=,? \d)", "1", text)
    text = text.replace(_KEEP, "")
    if language == "es":  # text2num reads "cuarto" (quarter) as the ordinal 4º
        text = re.sub(r"\b(y|menos) 4º", r"\1 cuarto", text)
    if lower:
        text = text.lower()
    months = "|".join(_MONTHS.get(language, _MONTHS["en"]).split())
    text = re.sub(
        rf"(?i)\b((?:{months}),?\s+(?:the\s+)?(?:\d{{1,2}}(?:st|nd|rd|th|er)?,?\s+)?(?:of\s+|de\s+)?)(19|20) (\d{{2}})\b",
        r"\1\2\3",
        text,
    )
    for pattern, repl in _HOMOPHONES:
        text = re.sub(pattern, repl, text)
    return re.sub(r"\s+", " ", text)


_KEEP = "qqxq"  # glued to a word that text2num must leave alone (it ignores punctuation marks)
# "un rendez-vous", "una cita": articles, not the number one ("à une heure", "a la una" stay numbers).
_ARTICLES = {c: p.articles for c, p in PACKS.items() if p.articles is not None}


def _protect_articles(text: str, language: str) -> str:
    pattern = _ARTICLES.get(language)
    return pattern.sub(lambda m: _KEEP + m.group(1), text) if pattern else text


def detect_language(text: str, allowed: tuple[str, ...], current: str | None = None) -> str | None:
    """The allowed language whose common words the text uses most; None when it is unclear. Moving
    away from ``current`` (the call's language so far) takes two of the other language's words more
    than the current one's, so one odd word ("vale", "okay") or a name does not flip the call."""
    words = re.findall(r"[\w'-]+", text.lower())
    if not words:
        return None
    known = [lang for lang in allowed if lang in _LANGUAGE_SETS]
    # a word two of them use ("on", "doctor") shows neither
    only = {
        lang: _LANGUAGE_SETS[lang].difference(*(_LANGUAGE_SETS[other] for other in known if other != lang))
        for lang in known
    }
    scores = {lang: sum(w in only[lang] for w in words) for lang in known}
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    if not ranked or ranked[0][1] == 0 or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    best, score = ranked[0]
    if current is not None and best != current and score - scores.get(current, 0) < 2:
        return None
    return best


INTENT_PATTERNS = _INTENT_RES  # each intent's compiled words, per language


def intents(text: str, language: str) -> list[str]:
    """Every intent whose words occur, in priority order (emergency first)."""
    return [name for name, pattern in _INTENT_RES[language] if pattern.search(text)]


def yes_no(text: str, language: str) -> bool | None:
    """True for a yes, False for a no, None when the caller said neither (or both, unclearly)."""
    text = text.strip().lower()
    yes = _YES_RES[language].search(text)
    no = _NO_RES[language].search(text)
    if yes and no:
        return yes.start() < no.start() and not re.match(r"^(?:yes|oui|sí|si)\b.*\b(?:but|mais|pero)\b", text)
    return True if yes else False if no else None


_BACKCHANNEL_RES = {c: re.compile(rf"(?:(?:{p.backchannels})\s*)+") for c, p in PACKS.items()}
_INTERRUPT_RES = {c: re.compile(rf"\b(?:{p.interrupts})\b") for c, p in PACKS.items()}
# A sound this short over the reply, heard as one word that is no known word, is a backchannel misheard:
# whisper base hears "vale" as "Bali", "sí" as "Seila", "oui" as "Ouïze" (benchmarks/barge_in.py).
SHORT_NOD_S = 0.7


def backchannel(text: str, language: str, seconds: float | None = None) -> bool:
    """Whether ``text`` is only what a listener says over a speaker ("uh-huh", "okay, yeah", "d'accord",
    "vale, vale"), or nothing at all: no turn taken. ``seconds``: how long it was said; one short word
    that is not a word that stops a speaker ("wait", "non", "espere") counts as one too."""
    words = re.sub(r"[^\w'\s]", " ", text.lower()).split()  # "uh-huh" as "uh huh"
    if not words:  # a cough, a breath, the line's own noise
        return True
    said = " ".join(words)
    if len(words) <= 4 and _BACKCHANNEL_RES.get(language, _BACKCHANNEL_RES["en"]).fullmatch(said + " "):
        return True
    if seconds is None or seconds > SHORT_NOD_S:
        return False
    if len(words) == 2 and words[0] in _HESITATIONS:
        words = words[1:]  # "uh-huh" heard as "Uh-fuh", "mm-hm" as "Mm, Ham": a hesitation and a syllable
        said = words[0]
    if len(words) != 1:
        return False
    # the word must mean nothing here: not one that stops a speaker, asks for something ("goodbye",
    # "cancel") or names a day
    meaningful = (
        _INTERRUPT_RES.get(language, _INTERRUPT_RES["en"]).search(said)
        or intents(said, language)
        or re.search(rf"\b(?:{PACKS.get(language, PACKS['en']).day_words})\b", said)
    )
    return not meaningful


_HESITATIONS = frozenset({"uh", "um", "mm", "hm", "hmm", "ah", "oh", "eh", "euh", "mh"})


def parse_when(text: str, language: str, now: datetime) -> When | None:
    """The date, time and part of day named in normalised ``text`` (None when there is none)."""
    text = _GREETINGS.sub(" ", text)  # "good evening" is a greeting, not a wish for the evening
    day, week_of = _parse_day(text, language, now)
    at = _parse_time(text, language)
    part = next((name for name, p in _PARTS[language] if re.search(p, text)), None)
    if at is not None and at.hour < 12 and part in ("afternoon", "evening") and at.hour >= 1:
        at = at.replace(hour=at.hour + 12)
    same = bool(re.search(r"\b(?:same time|à la même heure|même heure|a la misma hora|misma hora)\b", text))
    if day is None and at is None and part is None and not same:
        return None
    return When(day, at, part, week_of, same)


_IN_DAYS = re.compile(
    r"\b(?:dans|d'ici|in|dentro de|en) (\d{1,2}|a|one|une|un|una) (jours?|days?|días?|dias?|semaines?|weeks?|semanas?)\b"
)


def _in_days(text: str, language: str, today: date) -> date | None:
    """ "dans quinze jours", "in two weeks", "dentro de quince días": that far ahead ("quinze jours" and
    "huit jours" are two weeks and one, as said in French); with a weekday, that weekday in that week."""
    found = _IN_DAYS.search(text)
    if found is None:
        return None
    count = int(found.group(1)) if found.group(1).isdigit() else 1
    days = count * 7 if found.group(2).startswith(("sem", "week")) else {15: 14, 8: 7}.get(count, count)
    ahead = today + timedelta(days=days)
    for index, name in enumerate(_WEEKDAYS[language]):
        if re.search(rf"\b{name}\b", text):
            return ahead - timedelta(days=ahead.weekday()) + timedelta(days=index)
    return ahead


def named_week(text: str, language: str, today: date) -> date | None:
    """The Monday of the week the caller names ("next week", "la semaine prochaine mardi", "in two weeks",
    "dans quinze jours", "la semana que viene"), or None when they name no week."""
    later = _in_days(text, language, today)
    if later is not None:
        return later - timedelta(days=later.weekday())
    if re.search(_NEXT_WEEK[language], text):
        return today + timedelta(days=7 - today.weekday())
    return None


def bare_weekday(text: str, language: str) -> int | None:
    """The weekday (0 = Monday) of "plutôt jeudi", "make it Thursday": a weekday with no date, no week and
    no relative day ("tomorrow") beside it; None otherwise."""
    names = [i for i, name in enumerate(_WEEKDAYS[language]) if re.search(rf"\b{name}\b", text)]
    if len(names) != 1 or _IN_DAYS.search(text) or re.search(_NEXT_WEEK[language], text):
        return None
    if any(re.search(pattern, text) for pattern, _ in _RELATIVE_DAYS[language]):
        return None
    months = "|".join(_MONTHS[language].split())
    if re.search(rf"\b(?:{months})\b", text) or _DAY_OF_MONTH[language].search(text):
        return None
    if _weekday_with_number(text, _WEEKDAYS[language][names[0]], names[0], date.today()) is not None:
        return None
    return names[0]


def _parse_day(text: str, language: str, now: datetime) -> tuple[date | None, bool]:
    today = now.date()
    if (later := _in_days(text, language, today)) is not None:
        return later, False
    for pattern, offset in _RELATIVE_DAYS[language]:
        if re.search(pattern, text):
            return today + timedelta(days=offset), False
    if re.search(_NEXT_WEEK[language], text) and not any(d in text for d in _WEEKDAYS[language]):
        return today + timedelta(days=7 - today.weekday()), True
    months = "|".join(_MONTHS[language].split())
    explicit = re.search(
        rf"\b(\d{{1,2}})(?:st|nd|rd|th|er)?(?: of| de)? ({months})\b|\b({months}) (?:the )?(\d{{1,2}})(?:st|nd|rd|th)?\b",
        text,
    )
    if explicit:
        day_number, month = (explicit.group(1), explicit.group(2)) if explicit.group(1) else explicit.group(4, 3)
        parsed = dateparser.parse(
            f"{day_number} {month}",
            languages=[language],
            settings={"RELATIVE_BASE": now.replace(tzinfo=None), "PREFER_DATES_FROM": "future", "DATE_ORDER": "DMY"},
        )
        if parsed is not None:
            return parsed.date(), False
    alone = _DAY_OF_MONTH[language].search(text)
    if alone:
        groups = alone.groupdict()
        number = int(groups.get("d") or groups["d2"])
        found_day = _day_of_month(number, today, bool(groups.get("next") or groups.get("next2")))
        if found_day is not None:
            return found_day, False
    for index, name in enumerate(_WEEKDAYS[language]):
        if re.search(rf"\b{name}\b", text):
            dated = _weekday_with_number(text, name, index, today)
            if dated is not None:
                return dated, False
            ahead = (index - today.weekday()) % 7
            same_day = ahead == 0
            # "next Tuesday" said on a Tuesday means in a week, as does a bare "Tuesday".
            if ahead == 0 and not re.search(r"\b(?:today|aujourd'hui|hoy)\b", text):
                ahead = 7
            if re.search(_NEXT_WEEK[language], text):
                # "the Friday of next week", "end of next week, the Friday": that weekday in next week
                return today + timedelta(days=7 - today.weekday() + index), False
            if re.search(
                rf"\b(?:week after next|dans deux semaines|en dos semanas|a week from {name}|{name} week|"
                rf"{name} en (?:huit|8)|de {name} en (?:ocho|8))\b",
                text,
            ) and not (same_day and re.search(rf"\b{name} en (?:huit|8)\b|\b{name} week\b", text)):
                ahead += 7  # ("lundi en huit" said on a Monday: a week from today, already the next Monday)
            return today + timedelta(days=ahead), False
    return None, False


def _weekday_with_number(text: str, name: str, index: int, today: date) -> date | None:
    """ "Wednesday the 21st", "mercredi 21", "el miércoles 21": the next date that is both that weekday
    and that day of the month (None when none is in the next three months: the weekday alone counts)."""
    found = re.search(
        rf"\b{name},? (?:the |le |el )?(\d{{1,2}})(?:st|nd|rd|th|er)?\b"
        r"(?! ?(?:h\b|heures?|horas?|:|am\b|pm\b|o'clock|de la|du matin|de l'après|in the|\d))",
        text,
    )
    if found is None or not 1 <= int(found.group(1)) <= 31:
        return None
    return next((d for d in _dates_numbered(int(found.group(1)), today) if d.weekday() == index), None)


# "the 10th of this month", "on the 8th", "le 8", "el día 10": a day of the month without its month.
_DAY_OF_MONTH = {c: p.day_of_month for c, p in PACKS.items()}


def _dates_numbered(number: int, today: date) -> Iterator[date]:
    """The dates from today on with that day of the month, in this month and the next two."""
    year, month = today.year, today.month
    for _ in range(3):
        with contextlib.suppress(ValueError):  # no 31st in this month
            if (candidate := date(year, month, number)) >= today:
                yield candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _day_of_month(number: int, today: date, next_month: bool) -> date | None:
    """The next date with that day number: this month if it is still ahead, else the next month."""
    dates = [
        d for d in _dates_numbered(number, today) if not next_month or (d.year, d.month) != (today.year, today.month)
    ]
    return dates[0] if dates else None


def _parse_time(text: str, language: str) -> time | None:
    if _NOON.search(text):
        return time(12, 0)
    for pattern, minute, shift in _HALF[language]:
        found = re.search(pattern, text)
        if found:
            return _clock(int(found.group(1)) + shift, minute, None, text)
    for pattern, before in _MINUTES[language]:  # "twenty to twelve", "onze heures moins vingt", "diez y veinte"
        found = re.search(pattern, text)
        if found:
            minutes, hour = int(found.group("m")), int(found.group("h"))
            if 0 < minutes < 60:
                return _clock(hour - 1, 60 - minutes, None, text) if before else _clock(hour, minutes, None, text)
    for regex in _TIME_RES:
        for found in regex.finditer(text):
            groups = found.groupdict()
            minute = int(groups["m"]) if groups.get("m") else 0
            clock = _clock(int(groups["h"]), minute, groups.get("ap"), text)
            if clock is not None:
                return clock
    return None


def _clock(hour: int, minute: int, meridiem: str | None, text: str) -> time | None:
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    if meridiem:
        pm = meridiem.lower().startswith("p")
        if pm and hour < 12:
            hour += 12
        elif not pm and hour == 12:
            hour = 0
    elif hour < 12 and _AFTERNOON_HINT.search(text):
        hour += 12
    elif 1 <= hour <= 6:
        hour += 12  # "at 3" at a business means the afternoon
    return time(hour, minute)


def parse_phone(text: str, region: str) -> str | None:
    """The phone number in normalised ``text`` as E.164, read with the business's region as default."""
    text = re.sub(r"\b(?:oh|o)\b", "0", text)
    text = re.sub(r"\bplus\s*", "+", text)
    text = re.sub(r"\bdouble (\d)", r"\1\1", text)
    runs = re.findall(r"\+?\d[\d\s().-]{5,}\d", text)
    for run in sorted(runs, key=len, reverse=True):
        digits = re.sub(r"[^\d+]", "", run)
        try:
            number = phonenumbers.parse(digits, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number) or (
            phonenumbers.is_possible_number(number) and len(str(number.national_number)) >= 9
        ):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def format_phone(e164: str) -> str:
    """A number spoken digit by digit in groups, e.g. "+1 415 555 2671"."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL).replace("-", " ")


_RELATIVES = {c: p.relatives for c, p in PACKS.items()}
_NAME_INTRO = {c: p.name_intro for c, p in PACKS.items()}
_NOT_NAMES_TEXT = (
    "a an the and but or so to i i'd i'm calling looking trying not sorry just here there is it that this "
    "your my yes no yeah okay ok please um uh hello hi well right sure wondering going about for me with "
    "at on in de la le les un une una unos unas el los las por para con y en je oui non si sí bonjour hola pour avec "
    "appointment rendez-vous cita tomorrow today monday tuesday wednesday thursday friday saturday sunday "
    "morning afternoon doctor dr dentist nurse book booking cancel ringing phoning am pm free available "
    "fine good busy interested new nuevo nueva paciente patient afraid hoping glad happy urgent urgente "
    "january february march april may june july august september october november december janvier "
    "février mars avril juin juillet août septembre octobre novembre décembre enero febrero marzo abril "
    "mayo junio julio agosto septiembre octubre noviembre diciembre "
    # words that end a name in one breath: "Priya Raman born...", "Dubois née le", "Ruiz mi número"
    "born née né nee ne nacido nacida nací naci nació nacio tiene tengo está vive necesita necesito quiere quiero date birth birthday dob number numéro numero número phone "
    "téléphone telephone teléfono telefono mobile portable móvil movil celular cell and et y e from "
    "calling call surname last first family spelled spell spelling apellido apellidos prénom nombre nom "
    "nope yep yup nah yeah mhm mm mmm hmm "
    "mon ma mes mi mis mine thanks thank merci gracias d'accord vale bueno actually instead wait "
    "that's it's what's there's that better worse instead "
    "perdón perdon perdone disculpe pardon moi toi lui nous vous yo usted ay oh ah au aux sujet propos concernant sobre acerca prendre avoir savoir demander annuler changer déplacer décaler réserver confirmer parler voir "
    "lundi mardi mercredi jeudi vendredi samedi dimanche lunes martes miércoles jueves viernes sábado domingo "
    "prochain prochaine demain mañana hoy aujourd'hui tout toute seul seule solo sola alone "
    # what is said of a complaint: "it's really sensitive when I drink", "c'est très douloureux"
    "really very quite pretty super extremely kinda sorta sensitive painful sore swollen hurting broken loose "
    "cracked très vraiment assez douloureux douloureuse muy bastante "
    "name names nom nombre under "
    "her his him she he they them their our your called named visiting staying holiday vacation vacaciones "
    "s'il plait plaît favor please bye goodbye adiós adios hi hey ça ca bien exact exactement correct "
    "right done all set good ready back still also only calling perfect parfait perfecto claro vrai "
    # function words that follow a name in one breath ("Marcus Webb can someone...", "c'est possible")
    "can could would will should shall need needs want wants have has had do does did get got make "
    "someone somebody anyone anybody about because if when who which what where how oh ah so then now "
    "possible there's here's is was are be being going gonna wanna see speak talk tell ask booking "
    "est suis voudrais veux peux pouvez serait possible aussi alors donc quand qui que quoi "
    "quiero quisiera puedo puede necesito tengo llamaba llamo sería también entonces cuando quien "
    # the past a caller asks in ("soy Lucía Prieto, quería mover mi cita", "je voulais", "I wanted")
    "quería queria queríamos necesitaba quise voulais voulait voudrait aimerais souhaite souhaitais wanted "
    # demonstratives: "oui ce numéro est bon" holds no name
    "this these those ce cet cette ces ceci cela este esta estos estas ese esa esos esas eso esto "
    # pronouns and verbs after "for my dad, he's ninety", "para mi hija, es para...", "pour mon fils, il doit"
    "he he's she she's his hers its they they're il elle ils elles es está tiene necesita él "
    "doit faire fait vacciner consulter soigner examiner "
    # what a caller is, not who: "je suis directrice chez ...", "i'm the office manager", "soy la gerente"
    "directrice directeur gérant gérante responsable propriétaire fondateur fondatrice associé associée chez "
    "owner manager director founder co-founder cofounder ceo president assistant receptionist "
    "dueño dueña gerente director directora fundador fundadora socio socia encargado encargada "
    # kin and "I spell it": "c'est sa fille", "Goikoetxea, lo deletreo"
    "sa ses fille fils mère père mari femme hija hijo madre padre daughter son's mother father "
    "lo la le deletreo deletrear deletreado épelle épeler "
)
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())


def parse_name(text: str, language: str, expecting: bool) -> str | None:
    """A person's name: after "my name is" and the like, spelled out letter by letter, or the whole
    answer when the caller was just asked for it (``expecting``)."""
    if language == "fr":
        text = re.sub(r"\b(au nom|nom) d'(?=\w)", r"\1 de ", text, flags=re.IGNORECASE)  # "au nom d'Inès"
    particles = _PARTICLES | _LANGUAGE_PARTICLES.get(language, frozenset())
    text = _TITLES.sub(" ", text)  # "Mrs. Patel", "madame Lefebvre", "Señora Díaz": the name without its title
    if expecting:
        text = re.sub(r"\b(?:dr|doctor|docteur|doctora?)\b\.?\s+(?=[A-ZÀ-Ý])", " ", text)  # "this is Dr. Anna Scott"
    # A pause written as punctuation ends a name ("Jennifer Lawson, oh sorry..."); dots between
    # spelled letters ("G. O. F. F.") do not.
    text = re.sub(r"[,;!?]|\.(?!\s?[A-Za-z]\b)", " | ", text)
    # "van den broek broek is b r o e k": the surname said again to spell it, not twice in the name
    text = re.sub(
        r"\b([\w'-]{2,})\s+\1\s+(?:is|is spelled|spelled|c'est|s'écrit|se escribe|es)\s+(?=(?:[^\W\d_]\s+){2,})",
        r"\1 | ",
        text,
        flags=re.IGNORECASE,
    )
    clean = re.sub(r"[^\w'\s|-]", " ", text)
    split = _first_and_last(clean.replace("|", " "))
    if split:
        return split
    spelled_words = _spelled_words(clean)
    # every cue, overlapping ("a nombre de mi hijo, Mateo Ruiz" holds two)
    intros = list(
        re.finditer(
            rf"(?=\b({_NAME_INTRO[language]})(?:\s*\|)?\s+([\w'-]+(?:\s+[\w'-]+){{0,7}}))", clean, re.IGNORECASE
        )
    )
    words: list[str] = []
    for found in reversed(intros):  # the last thing said about the name wins ("I'm Ann... no, it's for Bob")
        words = _restated(_name_words(found.group(2).split(), particles), clean[found.end(1) :])
        # "I'm visiting", "c'est possible": after a weak cue only a first and a last name are a name
        if words and (len(words) >= 2 or expecting or not re.fullmatch(_WEAK_INTRO, found.group(1), re.IGNORECASE)):
            break
        words = []
    if not words:  # "bonjour Salma Berrada j'ai rendez-vous...": a name between the greeting and the request
        greeted = re.match(
            r"\W*(?:bonjour|bonsoir|allô|allo|hello|hi|hey|hola|buenos días|buenas tardes|buenas)\W+"
            r"((?:[\w'-]+\s+){1,3}?[\w'-]+)\s+(?=(?:j'ai|j'avais|je|j'appelle|i|i'm|i've|i'd|tengo|tenía|quería|"
            r"quisiera|necesito|llamo|le llamo|from|de la société|de l'entreprise|de chez|de la empresa)\b)",
            clean.replace("|", " "),
            re.IGNORECASE,
        )
        if greeted:
            named = _name_words(greeted.group(1).split(), particles)
            greeting = {"buenos", "buenas", "días", "dias", "tardes", "noches", "good", "morning", "afternoon", "there"}
            greeting |= {"qué", "que", "tal", "ça", "va", "how", "are", "you", "madame", "monsieur", "señor", "señora"}
            if (
                len(named) >= 2
                and len(named) == len(greeted.group(1).split())
                and not greeting & {w.lower() for w in named}
            ):
                words = named
    if not words:  # "Jean Martin à l'appareil", "Paul Newman speaking": the name comes before its cue
        after = re.search(r"^(.*?)\s+(?:à l'appareil|speaking|al habla|al teléfono)\b", clean, re.IGNORECASE)
        if after:
            before = after.group(1).split()
            tail: list[str] = []
            for token in reversed(before):
                if not _is_name_word(token.lower(), token) or len(tail) == 3:
                    break
                tail.insert(0, token)
            words = tail
    if not intros and not words and expecting:
        # the first clause that holds a name ("sí, claro, Lucía Méndez"), the rest of a spelled one
        # ("it's Dana, D A N A, Whitfield"), and a first name said after ("Hughes, ..., first name Megan")
        clauses = clean.split("|")
        for index, clause in enumerate(clauses):
            words = _name_words(clause.split(), particles)
            if words:
                words = _restated(words, "|".join(clauses[index:]))
                break
            if not all(t.lower() in _FILLERS or t.lower() in _AGREEING for t in clause.split()):
                break  # "no wait, quarter to five": not a name, and what follows is not either
    if expecting and len(words) == 1:
        words = _name_continued(words, clean)
    across = _spelled_across(spelled_words[0], words) if len(spelled_words) == 1 and len(words) == 2 else None
    if across:
        words, spelled_words = across, []
    for spelled in spelled_words:  # each spelling puts right the word it spells ("Chidinma, C H I ..., Eze, E Z E")
        scores = [fuzz.ratio(w.lower(), spelled.lower()) for w in words]
        best = max(range(len(words)), key=scores.__getitem__) if words else None
        if best is not None and scores[best] >= 50:
            words[best] = spelled
        elif spelled.lower() not in (w.lower() for w in words):
            words.append(spelled)
    if not words or len([w for w in words if w.lower() not in particles]) > 5:
        return None
    return " ".join(w if w.lower() in particles and i else _capitalized(w) for i, w in enumerate(words))


def _spelled_across(spelled: str, words: list[str]) -> list[str] | None:
    """Both words in one spelling ("neve o'rourke, that's n i a m h o apostrophe r o u r k e"): cut where
    one part is a word as it was said; the other part is the other word as spelled ("Niamh O'Rourke")."""
    low, first, last = spelled.lower(), words[0].lower(), words[1].lower()
    if low.endswith(last) and len(low) - len(last) >= 2:
        return [spelled[: -len(last)], _capitalized(spelled[-len(last) :])]
    if low.startswith(first) and len(low) - len(first) >= 2:
        return [_capitalized(spelled[: len(first)]), _capitalized(spelled[len(first) :])]
    return None


def _capitalized(word: str) -> str:
    """ "perrin-chabert" as "Perrin-Chabert", "marie-hélène" as "Marie-Hélène"; the rest of each part kept."""
    return "-".join(part[:1].upper() + part[1:] for part in word.split("-"))


def swapped_name(text: str, language: str, held: str) -> str | None:
    """``held`` with the word the caller rules out replaced by the one they say instead (spelled
    letters after it win: "it's Smyth, S M Y T H"); None when the ruled-out word is not in it."""
    found = re.search(PACKS.get(language, PACKS["en"]).swapped_name, text, re.IGNORECASE)
    if found is None:
        return None
    old, new = found.group(1), found.group(2)
    words = held.split()
    index = next((i for i, w in enumerate(words) if fuzz.ratio(w.lower(), old.lower()) >= 80), None)
    if index is None or not _is_name_word(new.lower(), new) or new.lower() == old.lower():
        return None
    spelled = _spelled(re.sub(r"[^\w'\s-]", " ", text[found.end() :]))
    if spelled and fuzz.ratio(spelled.lower(), new.lower()) >= 50:
        new = spelled
    words[index] = new[:1].upper() + new[1:]
    return " ".join(words)


_TITLES = re.compile(
    r"\b(?:(?:la|el|le|the) )?(?:mr|mrs|ms|miss|mister|missus|monsieur|madame|mademoiselle|mme|mlle|señor|señora|señorita|"
    r"sr|sra|srta)\b\.?",
    re.IGNORECASE,
)


def _name_continued(words: list[str], clean: str) -> list[str]:
    """A one-word name completed later in the answer: past its spelling ("Dana, D A N A, Whitfield")
    or by a first name given after the surname ("Hughes, H U G H E S, first name Megan")."""
    first = re.search(rf"\b(?:{_FIRST})\s+([\w'-]+)", clean, re.IGNORECASE)
    if first and first.group(1).lower() != words[0].lower() and _is_name_word(first.group(1).lower(), first.group(1)):
        return [first.group(1), words[0]]
    clauses = [c.strip() for c in clean.split("|")]
    start = next((i for i, c in enumerate(clauses) if words[0] in c.split()), None)
    if start is None:
        return words
    for clause in clauses[start + 1 : start + 3]:
        letters = _spelled(clause)
        if letters and letters.lower() == words[0].lower():
            continue  # the spelling of the word already held
        more = _name_words(clause.split())
        if more and not letters and len(more) <= 2:
            return words + more
        break
    return words


def _restated(words: list[str], after: str) -> list[str]:
    """ "Jacob, Jacob Liu", "Juan, Juan Pérez": a name said again in full right after is the name."""
    if not words:
        return words
    said = {w.lower() for w in words}
    # a filler is a pause: "soy pilar bueno pilar ortiz", "i'm tom, well, tom baker"
    after = re.sub(r"\s+(?:bueno|well|i mean|o sea|enfin|euh|eh|um|uh|je veux dire|quiero decir)\s+", " | ", after)
    for clause in after.split("|")[1:3]:
        again = _name_words(clause.split())
        if len(again) > len(words) and said <= {w.lower() for w in again}:
            return again  # "Baker. Tom Baker.", "Dupont, Marie Dupont"
    return words


_FIRST = r"(?:my )?(?:first|1st) name(?: is|'s)?|(?:mon )?prénom(?: est|,)?|(?:mi )?nombre(?: es)?"
_LAST = (
    r"(?:my )?(?:last name|surname|family name)(?: is|'s)?|(?:mon )?nom de famille(?: est)?|mon nom(?: est)?|"
    r"(?:mi |mis )?apellidos?(?: es| son)?"
)


def _first_and_last(text: str) -> str | None:
    """ "first name John, last name Smith" or "John, surname S M I T H": the two parts joined."""
    last = re.search(rf"\b(?:{_LAST})\s+(.+)$", text, re.IGNORECASE)
    if not last:
        return None
    spelled = _spelled(last.group(1))
    surname = [spelled] if spelled else _name_words(last.group(1).split())[:2]
    if not surname:
        return None
    before = text[: last.start()]
    first = re.search(rf"\b(?:{_FIRST})\s+([\w'-]+)", before, re.IGNORECASE)
    intro = first or re.search(
        rf"\b{_NAME_INTRO['en']}\s+([\w'-]+)|\b(?:{_NAME_INTRO['fr']}|{_NAME_INTRO['es']})\s+([\w'-]+)",
        before,
        re.IGNORECASE,
    )
    given = next((g for g in (intro.groups() if intro else ()) if g), None)
    if given is None or not _name_words([given]):
        words = _name_words(before.split()[-1:]) if before.split() else []
        given = words[0] if words else None
    parts = ([given] if given else []) + surname
    return " ".join(w[:1].upper() + w[1:] for w in parts)


_WEAK_INTRO = r"this is|it's|it is|i am|i'm|c'est pour|c'est|je suis|moi c'est|soy|habla"
_FILLERS = {
    "|",
    "bueno",
    "pues",
    "mire",
    "alors",
    "voilà",
    "bon",
    "so",
    "hi",
    "hello",
    "hola",
    "bonjour",
    "um",
    "uh",
    "er",
    "erm",
    "euh",
    "eh",
    "ah",
    "well",
    "yes",
    "yeah",
    "oui",
    "sí",
    "si",
    "ok",
    "okay",
    "sure",
}


# What a caller's workplace is called after "de la", "du", "de": never a surname's part.
_BUSINESS_NOUNS_TEXT = (
    "boulangerie pâtisserie pharmacie société entreprise cabinet clinique agence mairie banque école lycée "
    "restaurant garage hôtel boutique librairie laboratoire labo mutuelle assurance imprimerie menuiserie "
    "farmacia empresa tienda agencia panadería panaderia clínica clinica ferretería ferreteria imprenta "
    "asesoría asesoria gestoría gestoria academia colegio taller hotel restaurante banco ayuntamiento "
    "compañía compania oficina despacho consulta "
    # nor what the caller is there: "Sylvie Perrin-Chabert, la pharmacienne", "Pilar Soto, la secretaria"
    "pharmacienne pharmacien secrétaire comptable infirmière infirmier assistante assistant directrice directeur "
    "gérante gérant responsable patronne patron maman mère fille fils femme mari "
    "farmacéutica farmacéutico secretaria secretario enfermera enfermero asistente directora director gerente "
    "encargada encargado dueña dueño madre hija hijo esposa esposo mujer marido"
)
_BUSINESS_NOUNS = frozenset(_BUSINESS_NOUNS_TEXT.split())


def _name_words(tokens: list[str], particles: frozenset[str] | None = None) -> list[str]:
    """The name at the start of ``tokens`` (fillers skipped), up to the first word that is not a name;
    ``particles``: the words that join a surname's parts (the language's, or every language's)."""
    particles = particles or _PARTICLES
    while tokens and tokens[0].lower() in _FILLERS:
        tokens = tokens[1:]
    words: list[str] = []
    for index, token in enumerate(tokens):
        following_token = tokens[index + 1] if index + 1 < len(tokens) else ""
        if (
            not words
            and token.lower() in _NAME_LIKE
            and token[:1].isupper()
            and following_token[:1].isupper()
            and _is_name_word(following_token.lower(), following_token)
        ):
            words.append(token)  # "Will Turner", "May Chen": a first name, not a verb or a month
            continue
        rest = [t for t in tokens[index + 1 :] if t.lower() not in particles][:1]
        following = (
            rest[0]
            if rest and all(t.lower() in particles for t in tokens[index + 1 : tokens.index(rest[0], index + 1)])
            else ""
        )
        if len(words) >= 2 and token.lower() in particles and following.lower() in _BUSINESS_NOUNS:
            break  # "Nadia Cherif de la Boulangerie Cherif": where she calls from, not her surname
        if words and token.lower() in particles and _is_name_word(following.lower(), following):
            words.append(token)  # "Le Goff", "El Amrani", "de la Cruz": part of the surname
            continue
        if not _is_name_word(token.lower(), token):
            break
        words.append(token)
    while words and words[-1].lower() in particles:
        words.pop()
    named = [w for w in words if w.lower() not in particles]
    return words if len(named) <= 4 else words[: words.index(named[4])]


_AGREEING = frozenset(
    [
        "claro",
        "vale",
        "bueno",
        "sure",
        "okay",
        "ok",
        "yes",
        "yeah",
        "yep",
        "oui",
        "sí",
        "si",
        "bien",
        "sûr",
        "of",
        "course",
        "absolutely",
        "certainly",
        "por",
        "supuesto",
        "d'accord",
    ]
)
_NAME_LIKE = frozenset(
    {"will", "may", "june", "april", "august", "grace", "hope", "faith", "joy", "bill", "frank", "mark"}
)
_PARTICLES = frozenset(
    [
        "le",
        "la",
        "de",
        "del",
        "los",
        "las",
        "della",
        "di",
        "da",
        "das",
        "dos",
        "du",
        "des",
        "van",
        "von",
        "der",
        "den",
        "el",
        "al",
        "ben",
        "bin",
        "ibn",
        "mac",
        "st",
    ]
)


# Particles of one language only: the Catalan "i" ("Puig i Ferrer") would be the English "I".
_LANGUAGE_PARTICLES = {"es": frozenset({"i", "y"})}  # "Ferrer i Puig", "de la Cierva y Peñafiel"


def _is_name_word(lowered: str, token: str) -> bool:
    if lowered in _NOT_NAMES or lowered in _PARTICLES or len(token) == 1 or token.endswith("-"):
        return False  # a word cut off ("il doit-") is a restart, not a name
    return bool(re.fullmatch(r"[^\W\d_][\w'-]*", token)) and not re.fullmatch(r"(?:\w[-.])+\w", token)


def _spelled_words(clean: str) -> list[str]:
    """The words spelled in ``clean`` (pauses marked "|"): one per group set apart by pauses when each
    group spells two letters or more ("c h i d i n m a | e z e"), else one for the whole ("S, M, Y, T, H")."""
    groups = [_spelled(group) for group in clean.split("|")]
    found = [g for g in groups if g and len(g.replace("-", "").replace("'", "")) >= 2]
    if len(found) >= 2:
        return found
    whole = _spelled(clean.replace("|", " "))
    return [whole] if whole else []


def _spelled(text: str) -> str | None:
    """A name spelled letter by letter ("S M Y T H E", "b r e n n a n dash d w y e r", "o apostrophe d o n
    n e l l")."""
    text = re.sub(
        r"(?<=\b[^\W\d_]) (?:dash|hyphen|tiret|trait d'union|guion|guión) (?=[^\W\d_]\b)", " - ", text, flags=re.I
    )
    text = re.sub(r"(?<=\b[^\W\d_]) (?:apostrophe|apóstrofo|apostrofe) (?=[^\W\d_]\b)", " ' ", text, flags=re.I)
    letters = re.search(r"(?<!['’])\b(?:[^\W\d_](?:\s+[-']\s+|[\s.-]+)){2,}[^\W\d_]\b", text)
    if not letters:
        return None
    if any(len(t) > 1 for t in re.split(r"[\s.]+|(?<=\s)[-'](?=\s)", letters.group(0)) if t and t not in "-'"):
        return None

    def word(part: str) -> str:
        return "'".join("".join(re.findall(r"[^\W\d_]", p)).capitalize() for p in re.split(r"\s+'\s+", part))

    return "-".join(word(part) for part in re.split(r"\s+-\s+", letters.group(0)))


def match_choice(text: str, choices: dict[str, tuple[str, ...]], cutoff: float = 85) -> str | None:
    """The key of ``choices`` (each with its spoken forms) that the text names, tolerant of misspellings."""
    best: tuple[str, float] | None = None
    lowered = text.lower()
    for key, forms in choices.items():
        for form in forms:
            form = form.lower()
            if re.search(rf"\b{re.escape(form)}\b", lowered):
                score = 100.0 + len(form)
            elif _stems(form) and _stems(form) <= _stems(lowered):
                score = 99.0  # "teeth cleaned" names the cleaning
            elif len(form) >= 5 and len(lowered) >= len(form):
                score = fuzz.partial_ratio(form, lowered)
            else:
                score = 0.0
            if score >= cutoff and (best is None or score > best[1]):
                best = (key, score)
    return best[0] if best else None


def _stems(text: str) -> set[str]:
    """Word stems, crudely (-ing, -ed, -s): enough for "cleaned" to name "cleaning"."""
    return {re.sub(r"(?:ing|ed|es|s)$", "", w) if len(w) > 5 else w for w in re.findall(r"[\w'-]{4,}", text)}


_ORDINALS = {c: p.ordinals for c, p in PACKS.items()}


def parse_ordinal(text: str, language: str) -> int | None:
    """0 or 1 when the caller picks "the first" or "the second" of two offered options."""
    for index, pattern in enumerate(_ORDINALS[language]):
        if re.search(rf"\b(?:{pattern})\b", text, re.IGNORECASE):
            return index
    return None


def parse_order_number(text: str, last: bool = False) -> str | None:
    """An order number: a run of 4 or more digits (spaces between spoken digits allowed); the first one
    said, or with ``last`` the last one."""
    text = re.sub(r"(?<=\d)\s+oh?(?=\s+\d)", " 0", text)  # "one oh four five two"
    found = re.findall(r"(?:#\s*)?(\d(?:[\s-]?\d){3,})", text)
    return re.sub(r"\D", "", found[-1 if last else 0]) if found else None


def parse_amount(text: str, last: bool = False) -> float | None:
    """A sum of money such as "$5,000", "5000 dollars", "5k", "10 000 euros". With ``last`` the last
    sum said wins, keeping the scale of the one before ("fifty thousand, actually forty" is 40,000)."""
    scale = {
        "k": 1e3,
        "grand": 1e3,
        "thousand": 1e3,
        "mille": 1e3,
        "mil": 1e3,
        "million": 1e6,
        "millions": 1e6,
        "millones": 1e6,
    }
    amounts: list[tuple[float, float | None]] = []
    for found in re.finditer(r"(\d[\d,. ]*\d|\d)\s*(k|grand|thousand|mille|mil|million|millions|millones)?\b", text):
        digits = re.sub(r"\.(?=\d{3}\b)", "", found.group(1))  # "3.000 euros": a thousands point
        try:
            value = float(re.sub(r"[,\s]", "", digits))
        except ValueError:
            continue
        amounts.append((value, scale.get(found.group(2) or "")))
    if not amounts:
        return None
    ranged = re.search(r"\d\s*(?:to|and|-|à|et|a|y)\s*\d", text)
    if len(amounts) == 2 and ranged and amounts[0][1] is None and amounts[1][1] is not None:
        amounts[0] = (amounts[0][0], amounts[1][1])  # "5 to 10 thousand": the lower end, in thousands
    elif (
        len(amounts) == 2 and ranged and amounts[0][0] < 1000 <= amounts[1][0] and amounts[0][0] * 1000 <= amounts[1][0]
    ):
        amounts[0] = (amounts[0][0] * 1000, None)  # "between five and ten thousand" (text2num joined the second)
    if not last or len(amounts) == 1:
        value, factor = amounts[0]
        return value * (factor or 1.0)
    (before, before_factor), (value, factor) = amounts[-2], amounts[-1]
    if factor is None and before_factor is not None and value * before_factor <= 10 * before * before_factor:
        factor = before_factor
    return value * (factor or 1.0)


def best_match(query: str, options: list[str], cutoff: float = 85) -> str | None:
    """The option closest to ``query`` (names heard through speech recognition), or None."""
    found = process.extractOne(query, options, scorer=fuzz.token_sort_ratio, score_cutoff=cutoff)
    return found[0] if found else None
