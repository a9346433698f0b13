"""End-of-turn detection on synthetic speech probabilities, and the sentence-completeness signal."""

from __future__ import annotations

import pytest

from appliance.audio.turn import Completeness, TurnDetector, TurnEvent, completeness
from appliance.config import ListenConfig

FRAME = 0.02
SETTINGS = ListenConfig()


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
