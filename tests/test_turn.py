"""End-of-turn detection on synthetic speech probabilities, and the sentence-completeness signal."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from appliance.audio.frames import PIPELINE_RATE
from appliance.audio.smart_turn import SmartTurn
from appliance.audio.turn import Completeness, TurnDetector, TurnEvent, completeness
from appliance.config import ListenConfig
from appliance.errors import ModelError
from appliance.models.registry import ModelRegistry, smart_turn_model
from appliance.testing import speak

FRAME = 0.02
SETTINGS = ListenConfig(end_of_turn="rule")  # the transcript alone; Smart Turn's part is tested below


def feed(
    detector: TurnDetector, pattern: list[tuple[float, float]], start: float = 0.0
) -> list[tuple[float, TurnEvent]]:
    """Feed (probability, seconds) runs; returns (time, event) pairs."""
    events: list[tuple[float, TurnEvent]] = []
    now = start
    for prob, seconds in pattern:
        for _ in range(round(seconds / FRAME)):
            now = round(now + FRAME, 6)
            events += [(now, e) for e in detector.push(now, prob)]
    return events


def at(events: list[tuple[float, TurnEvent]], kind: TurnEvent) -> list[float]:
    return [t for t, e in events if e is kind]


def test_speech_starts_after_min_speech_and_pauses_after_pause_ms() -> None:
    d = TurnDetector(SETTINGS)
    events = feed(d, [(0.0, 0.5), (0.9, 1.0), (0.0, 0.2)])
    assert at(events, TurnEvent.SPEECH_START) == [pytest.approx(0.5 + 0.1)]  # 5 voiced frames of 20 ms ≥ 96 ms
    assert at(events, TurnEvent.PAUSE) == [pytest.approx(1.5 + 0.1)]
    assert d.last_voiced == pytest.approx(1.5)


def test_a_short_click_is_not_speech() -> None:
    d = TurnDetector(SETTINGS)
    assert feed(d, [(0.9, 0.06), (0.0, 1.0)]) == []


def test_without_transcript_the_turn_ends_after_the_silence_timeout() -> None:
    d = TurnDetector(SETTINGS)
    events = feed(d, [(0.9, 1.0), (0.0, 1.0)])
    assert at(events, TurnEvent.END_OF_TURN) == [pytest.approx(1.0 + 0.7)]
    assert d.last_reason == "silence"


def test_a_finished_sentence_ends_the_turn_sooner() -> None:
    d = TurnDetector(SETTINGS)
    events = feed(d, [(0.9, 1.0), (0.0, 0.12)])
    assert at(events, TurnEvent.PAUSE)
    d.set_hint("What are your opening hours?")
    events = feed(d, [(0.0, 1.0)], start=1.12)
    assert at(events, TurnEvent.END_OF_TURN) == [pytest.approx(1.0 + 0.3)]
    assert d.last_reason == "complete"


def test_a_sentence_cut_mid_way_waits_longer() -> None:
    d = TurnDetector(SETTINGS)
    feed(d, [(0.9, 1.0), (0.0, 0.12)])
    d.set_hint("I would like to book an appointment for")
    events = feed(d, [(0.0, 2.0)], start=1.12)
    assert at(events, TurnEvent.END_OF_TURN) == [pytest.approx(1.0 + 1.3)]
    assert d.last_reason == "incomplete"


def test_speech_after_a_pause_resumes_the_turn_and_drops_the_stale_transcript() -> None:
    d = TurnDetector(SETTINGS)
    feed(d, [(0.9, 1.0), (0.0, 0.12)])
    d.set_hint("I would like.")
    events = feed(d, [(0.9, 0.5), (0.0, 0.5)], start=1.12)
    assert at(events, TurnEvent.RESUME) == [pytest.approx(1.14)]
    assert at(events, TurnEvent.PAUSE) == [pytest.approx(1.62 + 0.1)]
    assert not at(events, TurnEvent.END_OF_TURN), "the old 'complete' transcript no longer applies"


def test_uncertain_frames_neither_start_nor_end_silence() -> None:
    d = TurnDetector(SETTINGS)
    events = feed(d, [(0.9, 0.5), (0.4, 2.0)])  # between the two thresholds: still in the utterance
    assert not at(events, TurnEvent.PAUSE)
    assert d.in_utterance


def test_an_utterance_longer_than_the_limit_is_cut() -> None:
    d = TurnDetector(ListenConfig(max_utterance_s=2.0))
    events = feed(d, [(0.9, 3.0)])
    assert at(events, TurnEvent.END_OF_TURN) == [pytest.approx(2.0)]
    assert d.last_reason == "max_length"
    assert at(events, TurnEvent.SPEECH_START) == [pytest.approx(0.1), pytest.approx(2.1)], "speech goes on: a new turn"


def test_barge_in_needs_the_appliance_to_be_speaking() -> None:
    d = TurnDetector(SETTINGS)
    assert not at(feed(d, [(0.9, 0.5), (0.0, 1.0)]), TurnEvent.BARGE_IN)
    d.agent_speaking = True
    events = feed(d, [(0.9, 0.5)], start=2.0)
    assert at(events, TurnEvent.BARGE_IN) == [pytest.approx(2.2)]


def test_a_cough_over_the_appliance_is_no_barge_in() -> None:
    d = TurnDetector(SETTINGS)
    d.agent_speaking = True
    assert not at(feed(d, [(0.9, 0.14), (0.0, 1.0)]), TurnEvent.BARGE_IN)


def test_a_short_answer_waits_in_case_more_follows() -> None:
    d = TurnDetector(SETTINGS)
    feed(d, [(0.9, 0.4), (0.0, 0.12)])
    d.set_hint("Yes.")
    events = feed(d, [(0.0, 1.0)], start=0.52)
    assert at(events, TurnEvent.END_OF_TURN) == [pytest.approx(0.4 + 0.7)]
    assert d.last_reason == "short"


def pause_then(d: TurnDetector, hint: str | None, probability: float | None) -> list[tuple[float, TurnEvent]]:
    """One second of speech, a pause, what is known there, then silence."""
    feed(d, [(0.9, 1.0), (0.0, 0.12)])
    if hint is not None:
        d.set_hint(hint)
    if probability is not None:
        d.set_turn_probability(probability)
    return feed(d, [(0.0, 2.0)], start=1.12)


@pytest.mark.parametrize(
    ("hint", "probability", "ends_after", "reason"),
    [
        ("What are your opening hours?", 0.9, 0.3, "complete+smart_done"),
        ("What are your opening hours?", 0.2, 0.7, "complete+smart_not_done"),  # it sounds unfinished
        ("I would like to book an appointment for", 0.9, 0.7, "incomplete+smart_done"),
        ("I would like to book an appointment for", 0.2, 1.3, "incomplete+smart_not_done"),
        ("Yes.", 0.2, 1.3, "short+smart_not_done"),
    ],
)
def test_with_both_the_short_wait_needs_the_words_and_the_voice_to_say_done(
    hint: str, probability: float, ends_after: float, reason: str
) -> None:
    d = TurnDetector(ListenConfig(end_of_turn="both"))
    assert at(pause_then(d, hint, probability), TurnEvent.END_OF_TURN) == [pytest.approx(1.0 + ends_after)]
    assert d.last_reason == reason


def test_with_both_one_signal_alone_is_not_enough_and_the_silence_rule_holds() -> None:
    d = TurnDetector(ListenConfig(end_of_turn="both"))
    assert at(pause_then(d, "What are your opening hours?", None), TurnEvent.END_OF_TURN) == [pytest.approx(1.7)]
    assert d.last_reason == "silence"


def test_smart_turn_alone_ends_on_the_voice_whatever_the_words() -> None:
    d = TurnDetector(ListenConfig(end_of_turn="smart"))
    assert at(pause_then(d, "I would like to book for", 0.8), TurnEvent.END_OF_TURN) == [pytest.approx(1.3)]
    d = TurnDetector(ListenConfig(end_of_turn="smart"))
    assert at(pause_then(d, None, 0.3), TurnEvent.END_OF_TURN) == [pytest.approx(2.3)]
    assert d.last_reason == "smart_not_done"


def test_a_probability_from_before_the_caller_went_on_is_dropped() -> None:
    d = TurnDetector(ListenConfig(end_of_turn="smart"))
    feed(d, [(0.9, 1.0), (0.0, 0.12)])
    d.set_turn_probability(0.95)
    events = feed(d, [(0.9, 0.5), (0.0, 0.5)], start=1.12)
    assert not at(events, TurnEvent.END_OF_TURN), "the old 'done' no longer applies after more speech"


DONE, SHORT, OPEN = Completeness.COMPLETE, Completeness.SHORT, Completeness.INCOMPLETE


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("What are your opening hours?", "en", DONE),
        ("I'd like to book an appointment.", "en", DONE),
        ("I'd like to book an appointment for", "en", OPEN),
        ("I'd like to book an appointment for...", "en", OPEN),
        ("My name is John and", "en", OPEN),
        ("Um, I was wondering,", "en", OPEN),
        ("yes", "en", OPEN),
        ("Yes.", "en", SHORT),
        ("Thank you.", "en", SHORT),
        ("Je voudrais prendre rendez-vous.", "fr", DONE),
        ("Je voudrais prendre rendez-vous pour le", "fr", OPEN),
        ("Quisiera una cita para el viernes.", "es", DONE),
        ("Quisiera una cita para el", "es", OPEN),
        ("", "en", OPEN),
    ],
)
def test_completeness(text: str, language: str, expected: Completeness) -> None:
    assert completeness(text, language) is expected


def test_smart_turn_loads_from_setup_and_gives_a_probability(tmp_path: Path) -> None:
    model = SmartTurn(smart_turn_model())
    speech = speak("I would like to book an appointment for Thursday morning.", PIPELINE_RATE, tmp_path)
    silence = np.zeros(PIPELINE_RATE, dtype=np.int16)
    for audio in (speech, silence, np.concatenate([speech] * 4)):  # short, empty, longer than its 8 s window
        assert 0.0 <= model.probability(audio) <= 1.0


def test_another_onnx_file_is_refused_with_the_fix(tmp_path: Path) -> None:
    silero = ModelRegistry(tmp_path / "cache").resolve("vad", "silero-v6").path
    with pytest.raises(ModelError, match=r"is not a Smart Turn v3 model"):
        SmartTurn(silero)
    with pytest.raises(ModelError, match=r'run scripts/setup, or set \[listen\] end_of_turn = "rule"'):
        SmartTurn(tmp_path / "nothing.onnx")
