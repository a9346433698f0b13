"""The models every call shares, and the thread budget they run on."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..audio.frames import PIPELINE_RATE
from ..audio.smart_turn import SmartTurn
from ..audio.vad import SileroVad
from ..config import ApplianceConfig, ListenConfig
from ..dialog.languages import PACKS
from ..errors import ModelError
from ..models.registry import DEFAULT_VOICES, ModelRegistry, ResolvedVoice, smart_turn_model
from ..models.stt import Transcriber
from ..models.tts import Synthesizer, Voice, load_voices
from ..models.wyoming import WyomingTranscriber

_LOGGER = logging.getLogger(__name__)
# What every call hears, whatever it is about: said once per voice when the daemon starts.
FIXED_PHRASES = (
    "greeting",
    "anything_else",
    "ask_name",
    "ask_when",
    "ask_phone_caller_id",
    "ask_phone",
    "ask_dob",
    "not_understood",
    "still_there",
    "goodbye",
    "transfer",
)


def local_transcriber(config: ApplianceConfig, languages: Sequence[str]) -> Transcriber:
    """Whisper in this process, as ``[models]`` describes it, for ``languages``. Raises ModelError."""
    m = config.models
    prompts = {lang: m.stt_prompts.get(lang, PACKS[lang].stt_prompt if lang in PACKS else "") for lang in languages}
    return Transcriber(
        ModelRegistry(config.model_cache).resolve("stt", m.stt),
        m.stt_threads,
        languages,
        m.stt_beam_size,
        prompts,
        m.stt_fit_window,
    )


@dataclass
class Engines:
    """The models and their executors, loaded once per daemon and shared by every call.

    Each stage has its own small executor: that is the thread budget of the two-core box.
    """

    transcriber: Transcriber | WyomingTranscriber  # [models] stt_server: on a Wyoming server, local behind it
    synthesizer: Synthesizer  # [models] tts: the English voice, and any language without one of its own
    vad: SileroVad
    listen: ListenConfig
    language: str  # a call's language until the caller is heard
    voices: dict[str, Voice] = field(default_factory=dict)  # the other languages' voices
    smart_turn: SmartTurn | None = None  # the end of turn heard from the audio ([listen] end_of_turn)
    stt_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "stt"))
    tts_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "tts"))
    vad_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "vad"))
    turn_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "turn"))
    misc_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2, "misc"))

    @classmethod
    def load(cls, config: ApplianceConfig, languages: Sequence[str] = ("en",)) -> Engines:
        """Resolve and load every model a call needs, for the business's ``languages`` (the first is the
        default) unless ``[business] language`` fixes one. Blocking; raises ModelError."""
        registry = ModelRegistry(config.model_cache)
        m = config.models
        languages = (config.business.language,) if config.business.language else tuple(languages)
        transcriber: Transcriber | WyomingTranscriber = (
            WyomingTranscriber(
                m.stt_server, languages, m.server_timeout_s, lambda: local_transcriber(config, languages)
            )
            if m.stt_server
            else local_transcriber(config, languages)
        )
        synthesizer = Synthesizer(registry.resolve("tts", m.tts), m.tts_threads, PIPELINE_RATE)
        specs: dict[str, ResolvedVoice] = {}
        for lang in transcriber.languages:
            spec = m.voices.get(lang) or DEFAULT_VOICES.get(lang)
            if spec is None and lang != "en":
                raise ModelError(
                    f"no voice speaks {lang!r} (a language of the business); set [models.voices] {lang} = "
                    "the path of a piper voice for it"
                )
            if spec is not None:
                specs[lang] = registry.resolve_voice(spec)
        voices = load_voices(specs, m.tts_threads, PIPELINE_RATE)
        return cls(
            transcriber=transcriber,
            synthesizer=synthesizer,
            vad=SileroVad(registry.resolve("vad", m.vad).path),
            listen=config.listen,
            language=transcriber.language,
            voices=voices,
            smart_turn=SmartTurn(smart_turn_model()) if config.listen.end_of_turn != "rule" else None,
        )

    async def warm(self, phrases: Callable[[str, str], str], busy: Callable[[], bool]) -> None:
        """Say the fixed phrases once in each language, so that no caller waits for them (every voice
        keeps the clauses it spoke). Only while no call is up (``busy``), one phrase at a time, off the TTS
        thread: a call never queues behind it. ``phrases(language, key)`` renders a template."""
        for language in self.transcriber.languages:
            voice = self.voice(language)
            started = time.perf_counter()
            for key in FIXED_PHRASES:
                while busy():  # noqa: ASYNC110 - the daemon keeps its calls as a set of tasks, not an event
                    await asyncio.sleep(0.5)
                await asyncio.to_thread(voice.warm, [phrases(language, key)])
            _LOGGER.info(
                "voice %s (%s): fixed phrases ready in %.1f s", voice.name, language, time.perf_counter() - started
            )

    def voice(self, language: str | None) -> Voice:
        """The voice that speaks ``language``."""
        return self.voices.get(language or self.language, self.synthesizer)

    def close(self) -> None:
        """Stop the executors."""
        for pool in (self.stt_pool, self.tts_pool, self.vad_pool, self.turn_pool, self.misc_pool):
            pool.shutdown(wait=False, cancel_futures=True)
