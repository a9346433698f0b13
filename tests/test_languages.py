"""Callers in French and Spanish are heard and answered in their language, in its voice (issue #14).

The box runs its default models (whisper base, piper for English, Kokoro-82M for French and Spanish) and
the demo clinic, whose callers may speak English, French or Spanish. Callers are Kokoro voices that are
not the appliance's own where one exists (English: a male American voice, where the appliance speaks
piper; the French caller uses Kokoro's only French voice, the Spanish one its male voice): what the
caller hears back is transcribed by a separate Whisper. espeak-ng's English was the caller once, but
Whisper base heard "Hello, where are you located?" as "Hello, when are you okay, did?" on an AVX2 CPU
and right on an AVX-512 one: a robotic voice sits too near the model's edge to test a dialogue with.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
from faster_whisper import WhisperModel

from appliance.audio.files import read_audio, write_wav
from appliance.audio.frames import PIPELINE_RATE
from appliance.audio.resample import resample
from appliance.call import CallSession, Engines, RecordingLine, run_call
from appliance.config import ApplianceConfig, ModelsConfig
from appliance.dialog.engine import Business
from appliance.dialog.languages import PACKS
from appliance.dialog.profile import load_profile
from appliance.errors import ModelError
from appliance.models.registry import ModelRegistry
from appliance.models.tts import KokoroSynthesizer
from appliance.testing import baresip
from tests.conftest import daemon_store, start_daemon

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    """The default model set for the demo clinic's three languages."""
    config = ApplianceConfig(state_dir=str(tmp_path_factory.mktemp("state")))
    loaded = Engines.load(config, load_profile().languages)
    yield loaded
    loaded.close()


@pytest.fixture(scope="module")
def callers(engines: Engines, tmp_path_factory: pytest.TempPathFactory) -> dict[str, KokoroSynthesizer]:
    registry = ModelRegistry(tmp_path_factory.mktemp("cache"))
    model = engines.voice("fr").model  # type: ignore[union-attr]
    return {
        lang: KokoroSynthesizer(registry.resolve_voice(spec), lang, 1, PIPELINE_RATE, model)
        for lang, spec in (("en", "kokoro-am-michael"), ("fr", "kokoro-ff-siwis"), ("es", "kokoro-em-alex"))
    }


def caller(callers: dict[str, KokoroSynthesizer], *parts: tuple[str, str, float]) -> np.ndarray:
    """(language, text, silence after it in s) one after the other, at 16 kHz."""
    chunks = [np.zeros(PIPELINE_RATE // 2, dtype=np.int16)]
    for lang, text, gap in parts:
        speech = np.concatenate(list(callers[lang].sentences(text)))
        chunks += [speech, np.zeros(int(gap * PIPELINE_RATE), dtype=np.int16)]
    return np.concatenate(chunks)


def heard_back(listener: WhisperModel, audio: np.ndarray, language: str) -> str:
    segments, info = listener.transcribe(audio.astype(np.float32) / 32768, language=None, vad_filter=True)
    text = " ".join(s.text for s in segments).lower()
    assert info.language == language, (info.language, text)
    return text


def test_each_language_has_its_voice(engines: Engines) -> None:
    assert engines.transcriber.languages == ("en", "fr", "es")
    assert isinstance(engines.voice("fr"), KokoroSynthesizer) and isinstance(engines.voice("es"), KokoroSynthesizer)
    assert engines.voice("en") is engines.synthesizer  # piper
    assert engines.voice("fr").model is engines.voice("es").model, "one Kokoro model for both languages"


@pytest.mark.parametrize(
    ("voice", "question", "answer_words"),
    [
        ("fr", "Bonjour, quels sont vos horaires d'ouverture ?", {"vendredi", "samedi"}),
        ("es", "Hola, ¿cuál es su horario de apertura?", {"lunes", "sábado"}),
    ],
)
async def test_a_caller_is_answered_in_their_language_by_its_voice(
    engines: Engines,
    demo_business: Business,
    listener: WhisperModel,
    tmp_path: Path,
    callers: dict[str, KokoroSynthesizer],
    voice: str,
    question: str,
    answer_words: set[str],
) -> None:
    audio = caller(callers, (voice, question, 12.0))
    session = CallSession(engines, demo_business.engine(None), greet=False)
    line = RecordingLine(audio)
    result = await run_call(session, line)
    (turn,) = result.turns
    assert turn.language == voice, result.turns
    hours = PACKS[voice].templates["hours"].split("{")[0]
    assert turn.reply_text.startswith(hours), turn.reply_text
    said = heard_back(listener, line.heard, voice)
    assert answer_words <= set(re.findall(r"\w+", said)), said


async def test_a_caller_who_switches_language_is_followed(
    engines: Engines, demo_business: Business, callers: dict[str, KokoroSynthesizer], tmp_path: Path
) -> None:
    audio = caller(
        callers,
        ("en", "Hello, where are you located?", 9.0),
        ("es", "Perdone, ¿cuál es su horario de apertura?", 12.0),
    )
    session = CallSession(engines, demo_business.engine(None), greet=False)
    result = await run_call(session, RecordingLine(audio))
    first, second = result.turns  # two utterances, two turns
    assert (first.language, second.language) == ("en", "es"), result.turns
    assert first.reply_text.startswith("We're at 12 Main Street"), first.reply_text
    assert second.reply_text.startswith("Abrimos"), second.reply_text


async def test_the_fixed_phrases_are_said_once_at_start_while_no_call_is_up(engines: Engines) -> None:
    calls = {"up": True}
    said: list[tuple[str, str]] = []

    def phrase(language: str, key: str) -> str:
        said.append((language, key))
        return PACKS[language].templates[key].format(business="Demo Clinic")

    prompt = PACKS["es"].templates["still_there"]
    assert not engines.voice("es").cached(prompt)
    warming = asyncio.create_task(engines.warm(phrase, lambda: calls["up"]))
    await asyncio.sleep(1.0)
    assert said == [], "nothing is synthesized while a call is up"
    calls["up"] = False
    await asyncio.wait_for(warming, 120)
    assert {lang for lang, _ in said} == {"en", "fr", "es"}
    assert engines.voice("es").cached(prompt), "'are you still there?' is ready before a caller needs it"
    assert engines.voice("fr").cached(phrase("fr", "greeting"))
    assert engines.voice("en").cached(phrase("en", "greeting"))  # piper keeps its clauses too


def test_a_language_can_take_any_piper_voice_by_path(tmp_path: Path) -> None:
    """The path another language (Arabic, say) takes: a configured voice file, no code."""
    piper = ModelRegistry(tmp_path / "cache").resolve("tts", "piper-joe-medium").path
    config = ApplianceConfig(state_dir=str(tmp_path), models=ModelsConfig(voices={"fr": str(piper)}))
    loaded = Engines.load(config, ("en", "fr"))
    try:
        assert not isinstance(loaded.voice("fr"), KokoroSynthesizer)
        assert loaded.voice("fr").name == str(piper)
        assert len(np.concatenate(list(loaded.voice("fr").sentences("Bonjour.")))) > PIPELINE_RATE // 4
    finally:
        loaded.close()


def test_a_language_without_a_voice_stops_the_start_with_the_fix(tmp_path: Path) -> None:
    config = ApplianceConfig(state_dir=str(tmp_path))
    with pytest.raises(ModelError, match=r"no voice speaks 'de'.*\[models.voices\] de"):
        Engines.load(config, ("en", "de"))


@pytest.mark.xfail(
    strict=True,
    reason="known gap, open in #13: whisper base spells common French surnames heard over an 8 kHz line as "
    "they sound ('Du Pond', 'Moro', 'Jean-Le Fèbre'); the read-back lets a caller spell it, the ear does not",
)
def test_a_common_french_surname_is_spelled_as_the_caller_spells_it(
    engines: Engines, callers: dict[str, KokoroSynthesizer]
) -> None:
    # Wherever the turn detector cuts the utterance (lead 0-200 ms, tail 100-600 ms), the surname is
    # written right at least two times in three.
    for surname in ("Dupont", "Moreau", "Lefebvre"):
        speech = np.concatenate(list(callers["fr"].sentences(f"Je m'appelle Marie {surname}.")))
        line = resample(resample(speech, PIPELINE_RATE, 8000), 8000, PIPELINE_RATE)
        heard = []
        for lead_ms in range(0, 240, 40):
            for tail_ms in (100, 300, 600):
                audio = np.concatenate([np.zeros(lead_ms * 16, np.int16), line, np.zeros(tail_ms * 16, np.int16)])
                heard.append(engines.transcriber.transcribe(audio, current="fr").text)
        right = sum(surname.lower() in text.lower() for text in heard)
        assert right >= 2 * len(heard) / 3, (surname, sorted(set(heard)))


@pytest.mark.parametrize(
    ("language", "caller_id", "turns", "name"),
    [
        (
            "fr",
            "+33612345678",
            [
                ("Bonjour, je voudrais un rendez-vous jeudi à dix heures.", 8.0),
                # a surname whisper spells as said; "Dupont" comes out "Du Pond" one time in three (the test above)
                ("Je m'appelle Marie Dubois.", 8.0),
                ("Oui, c'est bien mon numéro.", 14.0),
                ("Oui, c'est bien ça, merci.", 9.0),
            ],
            "Marie Dubois",
        ),
        (
            "es",
            "+34612345678",
            [
                ("Hola, quisiera una cita el jueves a las diez.", 8.0),
                ("Me llamo Carmen López.", 8.0),
                ("Sí, es mi número.", 14.0),
                # "Sí, está bien así" in this voice: whisper base hears "Se daba esta bien así" on an AVX2 CPU
                ("Perfecto, así está bien.", 9.0),
            ],
            "Carmen López",
        ),
    ],
)
def test_a_french_or_spanish_caller_books_through_a_sip_call(
    env: dict[str, str],
    tmp_path: Path,
    callers: dict[str, KokoroSynthesizer],
    listener: WhisperModel,
    language: str,
    caller_id: str,
    turns: list[tuple[str, float]],
    name: str,
) -> None:
    """A caller from abroad (their mobile as caller ID) books by voice through baresip, in their language.

    The caller confirms in a few words: a bare "Oui" or "Sí" in Kokoro's voice through G.711 is misheard
    by whisper base ("Seiva", "Pour une") too often to script (see RESULTS.md)."""
    speech = [np.zeros(int(6.0 * PIPELINE_RATE), dtype=np.int16)]  # the greeting first
    for text, gap in turns:
        speech += [
            np.concatenate(list(callers[language].sentences(text))),
            np.zeros(int(gap * PIPELINE_RATE), np.int16),
        ]
    source = tmp_path / "caller.wav"
    write_wav(source, resample(np.concatenate(speech), PIPELINE_RATE, 8000), 8000)
    seconds = int(sum(len(s) for s in speech) / PIPELINE_RATE) + 2
    for daemon in start_daemon(env):
        heard, log = baresip(
            tmp_path / "baresip",
            f"sip:reception@127.0.0.1:{daemon.sip_port}",
            source,
            "PCMU/8000/1",
            seconds,
            user=caller_id,
        )
        assert heard is not None, log
        store = daemon_store(daemon.state)
        (call,) = store.db.table("calls").rows
        said = store.turns(call["id"])
        # A caller's pause at a comma may end a turn ("Oui, c'est bien ça" | "merci"): how many turns the
        # call took is turn-taking's business; that each was heard in the caller's language is this test's
        assert len(said) >= len(turns), said
        assert {t["language"] for t in said} == {language}, said
        bookings = list(store.db.table("bookings").rows)
        # "Dubois" and "du Bois" sound the same: the space is beyond a voice channel, the name is not
        assert [(b["patient_name"].replace(" ", "").lower(), b["phone"]) for b in bookings] == [
            (name.replace(" ", "").lower(), caller_id)
        ], (bookings, said)
        start = datetime.fromisoformat(bookings[0]["start"])
        assert (start.weekday(), start.hour, start.minute) == (3, 10, 0), bookings  # Thursday at 10
        # The greeting is in the profile's first language (English): from the caller's first words on,
        # every reply is in theirs, and the read-back and the confirmation name the day.
        audio = read_audio(heard, PIPELINE_RATE, 120)[int(6.0 * PIPELINE_RATE) :]
        text = heard_back(listener, audio, language)
        assert {"fr": "jeudi", "es": "jueves"}[language] in text, text
