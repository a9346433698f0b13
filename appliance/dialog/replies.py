"""What the receptionist says: short spoken-style templates in each language, overridable per profile.

Templates are trusted text from the code or the profile; caller words only ever fill their
``{fields}`` (``str.format`` does not interpret field values), so a transcript cannot change a template.
"""

from __future__ import annotations

from datetime import date, datetime, time

from .languages import PACKS

TEMPLATES: dict[str, dict[str, str]] = {c: p.templates for c, p in PACKS.items()}

_WEEKDAY_NAMES = {c: p.weekday_names for c, p in PACKS.items()}
_MONTH_NAMES = {c: p.month_names for c, p in PACKS.items()}
_TO = {c: p.range_to for c, p in PACKS.items()}


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
        """A time as spoken: "2:30 PM", "noon" / "14 h 30" / "14 y media"."""
        if language == "en":
            if at == time(12, 0):
                return "noon"
            hour = at.hour % 12 or 12
            minutes = f":{at.minute:02d}" if at.minute else ""
            return f"{hour}{minutes} {'PM' if at.hour >= 12 else 'AM'}"
        if language == "fr":
            return f"{at.hour} h {at.minute:02d}" if at.minute else f"{at.hour} h"
        if language == "es":  # as said, not as written: a voice reads "8:00" as "8, 0, 0"
            if at.minute == 45:
                return f"{(at.hour + 1) % 24} menos cuarto"
            spoken = {0: "", 15: " y cuarto", 30: " y media"}.get(at.minute, f" y {at.minute}")
            return f"{at.hour}{spoken}"
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
        """Opening hours grouped by identical days: "Monday to Friday, from 8 AM to 6 PM"."""
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
