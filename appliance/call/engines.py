"""The models every call shares, and the thread budget they run on."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..audio.frames import PIPELINE_RATE
from ..audio.vad import SileroVad
from ..config import ApplianceConfig, ListenConfig
from ..models.registry import ModelRegistry
from ..models.stt import Transcriber
from ..models.tts import Synthesizer


@dataclass
class Engines:
    """The models and their executors, loaded once per daemon and shared by every call.

    Each stage has its own small executor: that is the thread budget of the two-core box.
    """

    transcriber: Transcriber
    synthesizer: Synthesizer
    vad: SileroVad
    listen: ListenConfig
    language: str
    stt_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "stt"))
    tts_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "tts"))
    vad_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, "vad"))
    misc_pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(2, "misc"))

    @classmethod
    def load(cls, config: ApplianceConfig) -> Engines:
        """Resolve and load every model a call needs. Blocking; raises ModelError."""
        registry = ModelRegistry(config.model_cache)
        m = config.models
        language = config.business.language
        return cls(
            transcriber=Transcriber(
                registry.resolve("stt", m.stt), m.stt_threads, language, m.stt_beam_size, m.stt_prompt, m.stt_fit_window
            ),
            synthesizer=Synthesizer(registry.resolve("tts", m.tts), m.tts_threads, PIPELINE_RATE),
            vad=SileroVad(registry.resolve("vad", m.vad).path),
            listen=config.listen,
            language=language,
        )

    def close(self) -> None:
        """Stop the executors."""
        for pool in (self.stt_pool, self.tts_pool, self.vad_pool, self.misc_pool):
            pool.shutdown(wait=False, cancel_futures=True)
