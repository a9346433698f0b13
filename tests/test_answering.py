"""Person or answering machine on an outbound call, from the first seconds of the line (8 kHz speech in
voices that are not the appliance's): people are never taken for machines; machines are found by their
long greeting, their words or their beep."""

from __future__ import annotations

import numpy as np
import pytest

from appliance.audio.answering import AnsweringDetector, BeepDetector, Verdict, machine_words
from appliance.audio.frames import PIPELINE_RATE, split_frames
from appliance.audio.resample import resample
from appliance.audio.vad import SileroVad
from appliance.models.registry import ModelRegistry
from appliance.models.tts import KokoroSynthesizer

RATE = PIPELINE_RATE


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ModelRegistry:
    return ModelRegistry(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def vad(registry: ModelRegistry) -> SileroVad:
    return SileroVad(registry.resolve("vad", "silero-v6").path)


@pytest.fixture(scope="module")
def say(registry: ModelRegistry):  # type: ignore[no-untyped-def]
    voices: dict[str, KokoroSynthesizer] = {}

    def speak(voice: str, language: str, text: str) -> np.ndarray:
        if voice not in voices:
            voices[voice] = KokoroSynthesizer(registry.resolve_voice(f"kokoro-{voice}"), language, 1, RATE)
        audio = np.concatenate(list(voices[voice].sentences(text)))
        return resample(resample(audio, RATE, 8000), 8000, RATE)  # through a telephone line

    return speak


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE), np.int16)


def tone(hz: float, seconds: float, level: float = 8000.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def listen(vad: SileroVad, *parts: np.ndarray, words: str = "") -> Verdict | None:
    """The verdict on a line that sends ``parts``; ``words`` is what the greeting's transcript would say
    when the detector asks for it."""
    stream, detector = vad.stream(), AnsweringDetector()
    for n, frame in enumerate(split_frames(np.concatenate(parts))):
        samples = np.frombuffer(frame, dtype=np.int16)
        now = (n + 1) * 0.02
        verdict = detector.push(now, stream.push(samples), samples)
        if verdict is None and detector.wants_words:
            verdict = detector.words(words, "en", now)
        if verdict is not None:
            return verdict
    return None


PEOPLE = [
    ("af-heart", "en", "Hello?"),
    ("am-adam", "en", "Hello, this is Robert."),
    ("bm-george", "en", "Yeah, hi, who's calling?"),
    ("af-sarah", "en", "Hello, Chen residence, Robert speaking."),
    ("ff-siwis", "fr", "Allô, oui ?"),
    ("em-alex", "es", "¿Diga?"),
]


@pytest.mark.parametrize(("voice", "language", "text"), PEOPLE)
def test_a_person_answering_is_a_person(say, vad: SileroVad, voice: str, language: str, text: str) -> None:  # type: ignore[no-untyped-def]
    # what a person says when picking up is no machine's words, so the words asked for are the greeting's
    verdict = listen(vad, silence(0.4), say(voice, language, text), silence(8), words=text)
    assert verdict is not None and verdict.kind == "human", verdict
    assert verdict.at_s <= 6.0, verdict  # the patient does not wait long for the reminder to start


def test_a_person_who_says_nothing_is_greeted_after_a_moment(vad: SileroVad) -> None:
    assert listen(vad, silence(9)) == Verdict("human", "silence", 2.5)


MACHINES = [
    (
        "af-bella",
        "en",
        "Hi, you've reached Robert Chen. I can't take your call right now. Please leave a message after the tone.",
    ),
    ("am-michael", "en", "The person you are calling is not available. At the tone, please record your message."),
    ("ff-siwis", "fr", "Bonjour, vous êtes bien sur la messagerie de Claire. Laissez un message après le bip."),
    ("ef-dora", "es", "Hola, ha llamado a Lucía. Ahora no estoy disponible, deje su mensaje después de la señal."),
]


@pytest.mark.parametrize(("voice", "language", "text"), MACHINES)
def test_an_answering_machine_is_found_before_its_beep(
    say, vad: SileroVad, voice: str, language: str, text: str
) -> None:  # type: ignore[no-untyped-def]
    greeting = say(voice, language, text)
    verdict = listen(vad, silence(0.5), greeting, silence(0.5), tone(1000, 0.5), silence(3), words=text)
    assert verdict is not None and verdict.kind == "machine", verdict
    assert verdict.reason in ("long_greeting", "machine_words"), verdict


def test_a_short_greeting_that_beeps_is_a_machine(say, vad: SileroVad) -> None:  # type: ignore[no-untyped-def]
    # "Sam. Leave a message." is as short as a person's hello: the beep tells
    greeting = say("bf-emma", "en", "Sam. Leave a message.")
    verdict = listen(vad, silence(0.5), greeting, silence(0.3), tone(1400, 0.4), silence(3), words="")
    assert verdict is not None and (verdict.kind, verdict.reason) == ("machine", "beep"), verdict


@pytest.mark.parametrize("hz", [440, 800, 1000, 1400, 2000, 2800])
def test_beeps_of_every_usual_pitch_are_heard_within_200_ms(hz: float) -> None:
    beep, found = BeepDetector(), []
    for n, frame in enumerate(split_frames(np.concatenate([silence(0.2), tone(hz, 0.3, level=800), silence(0.2)]))):
        if beep.push(np.frombuffer(frame, dtype=np.int16)):
            found.append((n + 1) * 0.02)
    assert len(found) == 1 and 0.2 < found[0] <= 0.4, found
    assert beep.ended


def test_speech_never_sounds_like_a_beep(say) -> None:  # type: ignore[no-untyped-def]
    for voice, language, text in PEOPLE + MACHINES:
        beep = BeepDetector()
        for frame in split_frames(say(voice, language, text)):
            assert not beep.push(np.frombuffer(frame, dtype=np.int16)), (voice, text)


def test_machine_words_in_each_language() -> None:
    assert machine_words("Sorry, I'm not available. Leave me a message.", "en")
    assert machine_words("Vous êtes bien sur le répondeur de Paul", "fr")
    assert machine_words("Ha llamado a la consulta, deje su mensaje", "es")
    assert machine_words("Please leave a message", "fr")  # a French clinic's patient with an English voicemail
    for said, language in [("Hello, who is this?", "en"), ("Allô, c'est qui ?", "fr"), ("¿Sí, dígame?", "es")]:
        assert not machine_words(said, language)
