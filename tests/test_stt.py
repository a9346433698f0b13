"""Speech to text: a decoding loop stopped by the length cap is said once (issue #12).

On an AMD EPYC without AVX-512, tiny.en decoded "What are your opening hours?" as "What are your opening
hours? What are your opening h" until the token cap, and the reply missed its moment. Whisper's own
tokenizer makes the token sequences here, so the spans are the ones a real loop produces.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from faster_whisper.tokenizer import Tokenizer
from tokenizers import Tokenizer as HfTokenizer

from appliance.audio.frames import PIPELINE_RATE
from appliance.call import Engines
from appliance.models.registry import ModelRegistry
from appliance.models.stt import collapse_repeats
from appliance.testing import speak


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    path = ModelRegistry(tmp_path_factory.mktemp("cache")).resolve("stt", "whisper-tiny.en").path
    return Tokenizer(HfTokenizer.from_file(str(Path(path) / "tokenizer.json")), False, task="transcribe")


def said(tokenizer: Tokenizer, text: str) -> str:
    return str(tokenizer.decode(collapse_repeats(tokenizer.encode(text)))).strip()


def words(text: str) -> list[str]:
    """What the dialogue reads: the words, without case or punctuation."""
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


@pytest.mark.parametrize(
    ("looped", "meant"),
    [
        (" What are your opening hours? What are your opening h", "What are your opening hours?"),
        (" Yes, please. Yes, please. Yes, please. Yes", "Yes, please."),
        (" I'd like to book. Thank you. Thank you. Thank you. Thank you.", "I'd like to book. Thank you."),
    ],
)
def test_a_loop_is_said_once(tokenizer: Tokenizer, looped: str, meant: str) -> None:
    assert words(said(tokenizer, looped)) == words(meant)


@pytest.mark.parametrize(
    "text",
    [
        " My number is 555 1234, that's 555 1234.",  # a caller repeating a number says it twice on purpose
        " No, no. Tuesday at ten.",
        " I need an appointment tomorrow morning at ten.",
    ],
)
def test_what_is_not_an_immediate_repeat_stays(tokenizer: Tokenizer, text: str) -> None:
    assert said(tokenizer, text) == text.strip()


def test_a_cancelled_transcription_gives_nothing_and_frees_the_thread(fast_engines: Engines, tmp_path: Path) -> None:
    """The caller spoke on: the speculative transcription is stale and must not hold the STT thread."""
    audio = speak("What are your opening hours?", PIPELINE_RATE, tmp_path)
    heard = fast_engines.transcriber.transcribe(audio)
    cancelled = threading.Event()
    cancelled.set()
    stale = fast_engines.transcriber.transcribe(audio, cancelled)
    assert "opening hours" in heard.text.lower()
    assert stale.text == "" and stale.seconds < heard.seconds
