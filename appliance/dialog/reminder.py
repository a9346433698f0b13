"""The dialogues of outbound calls. A reminder: the disclosure and the reminder, then confirm, cancel or change.
A callback (:class:`CallbackCall`): the disclosure, then the receptionist as on an inbound call.

Confirming is said back and recorded. Cancelling and changing are handed to the receptionist's own flows
(:meth:`DialogueEngine.change_booking`): the cancellation is read back before anything is written, and
the move asks for the new time as an inbound call would; the call then goes on as any other. A patient
who asks not to be called again is put on the do-not-call list. Keys: 1 confirm, 2 cancel, 3 change
(and while a cancellation is read back, 1 yes, 2 no).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .engine import DialogueEngine
from .responder import Reply
from .understand import yes_no

_CHOICES: dict[str, dict[str, re.Pattern[str]]] = {
    "en": {
        "stop": re.compile(r"stop calling|(?:don't|do not) call|no more (?:calls|reminders)|unsubscribe|remove me"),
        "cancel": re.compile(r"\bcancel"),
        "change": re.compile(r"\b(?:change|reschedul\w*|move it|another (?:day|time)|different (?:day|time))\b"),
        "confirm": re.compile(r"\b(?:confirm\w*|i'll be there|i will be there|see you|keep it)\b"),
    },
    "fr": {
        "stop": re.compile(r"ne m'appelez plus|arrêtez de m'appeler|plus d'appels|plus de rappels"),
        "cancel": re.compile(r"\bannul"),
        "change": re.compile(r"\b(?:chang|déplac|deplac|décal|decal|report)\w*|un autre (?:jour|moment)"),
        "confirm": re.compile(r"\b(?:confirm\w*|je serai là|c'est bon|j'y serai)"),
    },
    "es": {
        "stop": re.compile(r"no me llamen|dejen de llamar|no más llamadas|no mas llamadas"),
        "cancel": re.compile(r"\b(?:cancel|anul)\w*"),
        "change": re.compile(r"\b(?:cambi|mover|mueva|reprogram)\w*|otro día|otra hora"),
        "confirm": re.compile(r"\b(?:confirm\w*|allí estaré|ahí estaré|sí voy)"),
    },
}
KEYS = {"1": "confirm", "2": "cancel", "3": "change"}
_YES_NO_KEYS = {"en": ("yes", "no"), "fr": ("oui", "non"), "es": ("sí", "no")}


class ReminderCall:
    """One reminder call's :class:`~appliance.call.responder.Responder`.

    ``reply`` says what the patient chose ("confirmed", "opted_out", "cancel" / "change" once handed to
    the receptionist's flow, "" if nothing); whether a cancel or a move was written is in the store.
    """

    def __init__(
        self,
        engine: DialogueEngine,
        booking: dict[str, Any],
        on_confirm: Callable[[], None],
        on_opt_out: Callable[[], None],
    ) -> None:
        self.engine = engine
        self.booking = booking
        self.reply = ""
        self._on_confirm = on_confirm
        self._on_opt_out = on_opt_out
        self._handed = False
        self._misses = 0

    @property
    def language(self) -> str:
        return self.engine.language

    def _say(self, key: str, end_call: bool = False) -> Reply:
        business = self.engine.business
        start = datetime.fromisoformat(self.booking["start"])
        text = business.phrases.say(
            self.language,
            key,
            business=business.profile.name,
            provider=self.booking["provider"] or business.profile.name,
            when=business.phrases.moment(self.language, start),
        )
        return Reply(text, end_call=end_call, language=self.language)

    def greeting(self) -> Reply:
        return self._say("reminder_call")

    def respond(self, transcript: str, language: str | None = None) -> Reply:
        if self._handed:
            return self.engine.respond(transcript, language)
        if language in self.engine.profile.languages:
            self.engine.language = str(language)
        text = transcript.strip().lower()
        patterns = _CHOICES.get(self.language, _CHOICES["en"])
        choice = next((name for name, pattern in patterns.items() if pattern.search(text)), None)
        if choice is None and yes_no(text, self.language) is True:
            choice = "confirm"
        return self._choose(choice)

    def _choose(self, choice: str | None) -> Reply:
        if choice == "confirm":
            self.reply = "confirmed"
            self._on_confirm()
            return self._say("reminder_confirmed", end_call=True)
        if choice == "stop":
            self.reply = "opted_out"
            self._on_opt_out()
            return self._say("reminder_opted_out", end_call=True)
        if choice in ("cancel", "change"):
            self.reply, self._handed = choice, True
            return self.engine.change_booking(self.booking, "cancel" if choice == "cancel" else "reschedule")
        self._misses += 1
        return self._say("reminder_again") if self._misses < 2 else self._say("reminder_unclear", end_call=True)

    def on_dtmf(self, digit: str) -> Reply | None:
        if not self._handed:
            return self._choose(KEYS.get(digit))
        if self.engine.task == "cancel" and digit in ("1", "2"):
            yes, no = _YES_NO_KEYS.get(self.language, _YES_NO_KEYS["en"])
            return self.engine.respond(yes if digit == "1" else no)
        return self.engine.on_dtmf(digit)

    def on_silence(self, times: int) -> Reply:
        if self._handed:
            return self.engine.on_silence(times)
        return self._say("reminder_again") if times == 1 else self._say("reminder_unclear", end_call=True)

    def on_time_limit(self) -> Reply:
        return self.engine.on_time_limit()

    def on_transfer_failed(self) -> Reply:
        return self.engine.on_transfer_failed()


class CallbackCall:
    """The call the appliance places for a callback request: the AI disclosure and what it is calling
    about, then the receptionist itself (it can book, take a message, answer, put the caller through)."""

    def __init__(self, engine: DialogueEngine) -> None:
        self.engine = engine
        self.reply = "reached"

    @property
    def language(self) -> str:
        return self.engine.language

    def greeting(self) -> Reply:
        business = self.engine.business
        text = business.phrases.say(self.language, "callback_call", business=business.profile.name)
        return Reply(text, language=self.language)

    def respond(self, transcript: str, language: str | None = None) -> Reply:
        return self.engine.respond(transcript, language)

    def on_dtmf(self, digit: str) -> Reply | None:
        return self.engine.on_dtmf(digit)

    def on_silence(self, times: int) -> Reply:
        return self.engine.on_silence(times)

    def on_time_limit(self) -> Reply:
        return self.engine.on_time_limit()

    def on_transfer_failed(self) -> Reply:
        return self.engine.on_transfer_failed()
