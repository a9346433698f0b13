"""Answers from the business's own knowledge files, and only from them.

A knowledge file is markdown: each ``## heading`` is a question or topic, the text under it the
answer. ``faq.fr.md`` holds French answers, ``faq.md`` or ``faq.en.md`` English ones. A question is
matched to a section by the rarer words they share (stems, so "parking"/"park" meet); below the
threshold the receptionist says it does not know rather than invent.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

_STOPWORDS_TEXT = (
    "a an the and or but if of to in on at for with by from is are was be been do does did can could "
    "would will i you we they he she it my your our their me us what when where which who how why there "
    "here this that these those have has had not no yes please hi hello thanks thank want like need know "
    "tell about just get any some le la les un une des du de et ou mais si à au aux en dans sur pour par "
    "avec est sont je vous nous il elle mon ma mes votre vos notre nos quel quelle quels quelles quand où "
    "comment pourquoi qui que quoi ce cette ces est-ce y a-t-il bonjour merci oui non s'il plaît voudrais "
    "savoir el los las una unos unas o pero con por para es son yo usted nosotros mi mis su sus nuestro "
    "qué cuándo dónde cómo quién hay hola gracias sí quiero quisiera saber puedo puede "
)
_STOPWORDS = frozenset(_STOPWORDS_TEXT.split())
MIN_SCORE = 0.45
STRICT_SCORE = 0.8  # when the question also names a task ("... without an appointment?")


def _stems(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in plain if not unicodedata.combining(c))
    words = re.findall(r"[a-z0-9]+", plain)
    return [w[:5] for w in words if len(w) >= 3 and w not in _STOPWORDS]


@dataclass(frozen=True)
class Section:
    """One heading and its answer."""

    language: str
    heading: str
    answer: str


class Knowledge:
    """A small retrieval index over the knowledge files, per language."""

    def __init__(self, files: tuple[Path, ...]) -> None:
        self.sections: list[Section] = []
        for path in files:
            language = _language_of(path)
            heading, lines = "", list[str]()
            for line in path.read_text(encoding="utf-8").splitlines() + ["## "]:
                if line.startswith("## "):
                    if heading and any(s.strip() for s in lines):
                        self.sections.append(Section(language, heading, " ".join(" ".join(lines).split())))
                    heading, lines = line[3:].strip(), []
                elif not line.startswith("#"):
                    lines.append(line)
        self._doc_stems = [set(_stems(s.heading)) | set(_stems(s.answer)) for s in self.sections]
        self._head_stems = [set(_stems(s.heading)) for s in self.sections]
        count = max(len(self.sections), 1)
        frequency: dict[str, int] = {}
        for stems in self._doc_stems:
            for stem in stems:
                frequency[stem] = frequency.get(stem, 0) + 1
        self._idf = {stem: math.log(1 + count / n) for stem, n in frequency.items()}

    def answer(self, question: str, language: str, min_score: float = MIN_SCORE) -> str | None:
        """The answer of the best-matching section in ``language``, or None if nothing matches well."""
        query = set(_stems(question))
        if not query & self._idf.keys():
            return None
        # A word no section uses counts fully against the match: "do you have anything on Thursday"
        # must not be answered by a section that happens to say "anything".
        rarest = max(self._idf.values())
        total = sum(self._idf.get(s, rarest) for s in query)
        best: tuple[float, Section] | None = None
        for index, section in enumerate(self.sections):
            if section.language != language or not query & self._head_stems[index]:
                continue
            shared = query & self._doc_stems[index]
            score = sum(self._idf[s] * (1.5 if s in self._head_stems[index] else 1.0) for s in shared) / total
            if best is None or score > best[0]:
                best = (score, section)
        if best is None or best[0] < min_score:
            return None
        return best[1].answer


def _language_of(path: Path) -> str:
    suffixes = path.name.split(".")
    return suffixes[-2] if len(suffixes) >= 3 and suffixes[-2] in ("en", "fr", "es") else "en"
