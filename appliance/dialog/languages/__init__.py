"""Language packs: each supported language's words (what the receptionist understands and what it
says) live in one module here; the readers in understand.py, entities.py, engine.py and replies.py
only hold what is shared. A new language is one new module with a ``PACK``, listed in :data:`PACKS`."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class LanguagePack:
    """One language's words; patterns are regular-expression sources unless compiled."""

    code: str
    common_words: str  # words common in this language and rarer in the others (language detection)
    intents: tuple[tuple[str, str], ...]  # intent patterns in priority order: the first that matches leads
    yes: str  # a yes
    no: str  # a no
    weekdays: tuple[str, ...]  # weekday names, Monday first
    months: str  # month names, January first, space-separated
    relative_days: tuple[tuple[str, int], ...]  # (pattern, days from today)
    next_week: str  # next week
    parts_of_day: tuple[tuple[str, str], ...]  # (part of day, pattern)
    first_thing: str  # "first thing", "à la première heure": the moment the office opens
    half_hours: tuple[tuple[str, int, int], ...]  # (pattern with the hour, minute, hour shift): half past, quarter to
    minutes: tuple[tuple[str, bool], ...]  # (pattern with h and m, minutes before the hour?): twenty to twelve
    articles: re.Pattern[str] | None  # articles that text2num would read as the number one
    day_of_month: re.Pattern[str]  # a day of the month said without its month
    relatives: str  # family members a caller books for
    name_intro: str  # what comes before a name
    ordinals: tuple[str, str]  # (the first, the second) of two offers
    birth_cues: str  # what comes before a date of birth
    corrections: str  # words that correct what was said
    bare_hour_cues: str  # corrections followed by a bare hour: make it 11
    negated_day: str  # a day ruled out: not Thursday
    rejected: str  # what comes before a moment ruled out, to the end of its clause: rather than at 11
    reason: str  # what opens a clause that explains, not asks: because on Tuesdays I work late
    backchannels: str  # what a listener says over a speaker without taking the turn: uh-huh, okay
    interrupts: str  # a word that stops a speaker, however short: wait, no, sorry
    day_words: str  # weekdays and relative days, as one alternation
    lead_need: str  # a prospect's need
    lead_company: str  # a prospect's company (capitalised)
    lead_timeline: str  # when a prospect wants to start
    lead_when: str  # the moment in it, besides a date ("soon", "next quarter"): "launch an online shop" is a need
    lead_decides: str  # a prospect who decides
    lead_does_not_decide: str  # a prospect who does not decide
    message_cues: re.Pattern[str]  # where a message said with the request begins
    message_about: re.Pattern[str]  # what the message is about, said apart from the request: it's about ...
    templates: dict[str, str]  # what the receptionist says
    weekday_names: tuple[str, ...]  # weekday names as spoken in replies
    month_names: list[str]  # month names as spoken in replies
    range_to: str  # the word between the two ends of a range of days
    question_words: str  # what a question opens with
    faq_topics: dict[str, str]  # words that ask for the hours, the address, a price
    this_number: str = ""  # the number the caller is calling from, named in passing: you can use this number
    asks_for: str = ""  # asking for a person now, the utterance's end: is Morgan there?
    swapped_name: str = ""  # one word of a name ruled out, (1) the old, (2) the new: not Smith, it's Smyth
    strong_name_intro: str = ""  # what names a person outright, whatever was asked: his name's ...
    same_day: str = ""  # the day of the appointment being moved, kept: the same day but at 10
    shift_weeks: str = ""  # a booking moved by weeks, same day and time: push it back a week (group n: how many)
    currencies: tuple[
        tuple[str, str], ...
    ] = ()  # the profile's currency word as said in this language: (dollars, dólares)
    company_named: str = ""  # what names a company outright, in any case, its name after it: the company is
    reminder_answers: tuple[str, str] = ("", "")  # at the read-back: (a reminder wanted, none wanted)
    stt_prompt: str = ""  # primes Whisper with this language's call vocabulary (and keeps it from translating)


def _packs() -> dict[str, LanguagePack]:
    from . import en, es, fr

    return {pack.code: pack for pack in (en.PACK, fr.PACK, es.PACK)}


PACKS: dict[str, LanguagePack] = _packs()
