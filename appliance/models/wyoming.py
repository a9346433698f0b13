"""Speech to text on a server shared by several workers (or on another box), over the Wyoming protocol.

``appliance stt-server`` serves the appliance's own :class:`~appliance.models.stt.Transcriber` (language
chosen among the business's languages, per-language prompts, fitted window) as a Wyoming ASR service;
``[models] stt_server = "tcp://host:10300"`` makes a daemon send each utterance there instead of loading
Whisper itself. Any Wyoming ASR server works (``wyoming-faster-whisper``, say). A server that does not say
which language it heard keeps the call in its language.

A caller never waits on a dead server: a connection refused, a reset or no transcript within
``[models] server_timeout_s`` sends the utterance, and every one for the next :data:`RETRY_S` seconds,
to the local model, loaded on the first failure, and the log says so once per outage.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
import typing
from collections.abc import Callable, Sequence
from functools import partial
from urllib.parse import urlparse

import numpy as np
from wyoming.asr import Transcribe, Transcript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.event import Event, read_event, write_event
from wyoming.info import AsrModel, AsrProgram, Attribution, Describe, Info
from wyoming.server import AsyncEventHandler, AsyncServer

from .. import __version__
from ..audio.frames import PIPELINE_RATE
from ..errors import ConfigError
from .stt import Transcriber
from .stt import Transcript as Heard

_LOGGER = logging.getLogger(__name__)

RETRY_S = 10.0  # after a failure, the local model hears every utterance this long before the server is tried again
CHUNK_SAMPLES = 8000  # half a second of 16 kHz audio per AudioChunk
_CONTEXT_KEY = "vocalia"  # what our server reads from Transcribe.context: the call's language, the question asked


def server_address(uri: str) -> tuple[str, int]:
    """``tcp://host:port`` as (host, port). Raises ConfigError for anything else."""
    parsed = urlparse(uri)
    if parsed.scheme != "tcp" or not parsed.hostname or not parsed.port:
        raise ConfigError(f"[models] stt_server = {uri!r}: write it as tcp://host:port, e.g. tcp://127.0.0.1:10300")
    return parsed.hostname, parsed.port


class WyomingTranscriber:
    """A :class:`Transcriber` whose work is done by a Wyoming ASR server, with the local model behind it."""

    def __init__(
        self, uri: str, languages: Sequence[str], timeout_s: float, fallback: Callable[[], Transcriber]
    ) -> None:
        self.address = server_address(uri)
        self.uri = uri
        self.languages = tuple(dict.fromkeys(languages))
        self.language = self.languages[0]
        self.name = f"wyoming {uri}"
        self.timeout_s = timeout_s
        self._fallback = fallback
        self._local: Transcriber | None = None
        self._lock = threading.Lock()
        self._down_until = 0.0
        self.failures = 0  # utterances the local model heard because the server did not answer
        self.down_reason = ""

    def transcribe(
        self,
        samples: np.ndarray,
        cancelled: threading.Event | None = None,
        current: str | None = None,
        context: str = "",
    ) -> Heard:
        """As :meth:`Transcriber.transcribe`; blocking."""
        if cancelled is not None and cancelled.is_set():
            return Heard("", current or self.language, 0.0)
        if time.monotonic() >= self._down_until:
            started = time.perf_counter()
            try:
                text, language = self._ask(samples, current, context)
            except (OSError, TimeoutError, ValueError) as err:
                self._mark_down(err)
            else:
                if self.down_reason:
                    _LOGGER.warning("STT server %s answers again", self.uri)
                    self.down_reason = ""
                chosen = language if language in self.languages else (current or self.language)
                return Heard(text, chosen, time.perf_counter() - started)
        self.failures += 1
        return self._local_model().transcribe(samples, cancelled, current, context)

    def _ask(self, samples: np.ndarray, current: str | None, context: str) -> tuple[str, str | None]:
        pcm = np.asarray(samples, dtype=np.int16).tobytes()
        step = CHUNK_SAMPLES * 2
        fmt = {"rate": PIPELINE_RATE, "width": 2, "channels": 1}
        # a server that reads nothing of ours keeps the call's language (None on a call's first utterance:
        # it detects one); ours chooses among the business's languages from ``current``
        request = Transcribe(
            language=current,
            context={_CONTEXT_KEY: {"current": current, "asked": context, "languages": list(self.languages)}},
        )
        deadline = time.monotonic() + self.timeout_s
        with socket.create_connection(self.address, timeout=self.timeout_s) as sock, sock.makefile("rwb") as pair:
            stream = typing.cast(typing.BinaryIO, pair)
            write_event(request.event(), stream)
            write_event(AudioStart(**fmt).event(), stream)
            for start in range(0, len(pcm), step):
                write_event(AudioChunk(audio=pcm[start : start + step], **fmt).event(), stream)
            write_event(AudioStop().event(), stream)
            stream.flush()
            while True:
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                event = read_event(stream)
                if event is None:
                    raise ValueError("the server closed the connection without a transcript")
                if Transcript.is_type(event.type):
                    answer = Transcript.from_event(event)
                    return answer.text.strip(), answer.language

    def _mark_down(self, err: Exception) -> None:
        reason = f"{type(err).__name__}: {err}".strip().rstrip(":")
        if not self.down_reason:
            _LOGGER.error(
                "STT server %s does not answer (%s): the local model hears the callers until it does", self.uri, reason
            )
        self.down_reason = reason
        self._down_until = time.monotonic() + RETRY_S

    def _local_model(self) -> Transcriber:
        with self._lock:
            if self._local is None:
                started = time.perf_counter()
                self._local = self._fallback()
                _LOGGER.warning("local STT model loaded in %.1f s (the server was down)", time.perf_counter() - started)
            return self._local


class _Handler(AsyncEventHandler):
    """One client connection: Describe, or one Transcribe + audio at a time."""

    def __init__(self, transcriber: Transcriber, lock: asyncio.Lock, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._transcriber = transcriber
        self._lock = lock
        self._request = Transcribe()
        self._audio = bytearray()
        self._rate = PIPELINE_RATE

    async def handle_event(self, event: Event) -> bool:
        if Describe.is_type(event.type):
            await self.write_event(_info(self._transcriber).event())
        elif Transcribe.is_type(event.type):
            self._request = Transcribe.from_event(event)
        elif AudioStart.is_type(event.type):
            self._audio.clear()
            self._rate = AudioStart.from_event(event).rate
        elif AudioChunk.is_type(event.type):
            chunk = AudioChunk.from_event(event)
            if chunk.width != 2 or chunk.channels != 1:
                await self.write_event(Transcript(text="").event())
                _LOGGER.error("refused audio of %d bytes x %d channels: send 16-bit mono", chunk.width, chunk.channels)
                return False
            self._audio += chunk.audio
        elif AudioStop.is_type(event.type):
            await self.write_event(await self._transcribe())
        return True

    async def _transcribe(self) -> Event:
        ours = (self._request.context or {}).get(_CONTEXT_KEY) or {}
        current = ours.get("current") if ours else self._request.language
        samples = np.frombuffer(bytes(self._audio), dtype=np.int16)
        if self._rate != PIPELINE_RATE:
            from ..audio.resample import resample

            samples = resample(samples, self._rate, PIPELINE_RATE)
        async with self._lock:  # one utterance at a time on the model's threads, in arrival order
            heard = await asyncio.to_thread(
                self._transcriber.transcribe, samples, None, current, str(ours.get("asked", ""))
            )
        _LOGGER.info(
            "heard %.1f s of audio in %.0f ms (%s)", len(samples) / PIPELINE_RATE, heard.seconds * 1000, heard.language
        )
        return Transcript(text=heard.text, language=heard.language).event()


def _info(transcriber: Transcriber) -> Info:
    made = Attribution(name="VocalIA Edge", url="")
    model = AsrModel(
        name=transcriber.name,
        attribution=made,
        installed=True,
        description=f"Whisper, listening for {', '.join(transcriber.languages)}",
        version=__version__,
        languages=list(transcriber.languages),
    )
    program = AsrProgram(
        name="vocalia-stt",
        attribution=made,
        installed=True,
        description="VocalIA Edge",
        version=__version__,
        models=[model],
    )
    return Info(asr=[program])


async def serve_stt(transcriber: Transcriber, uri: str) -> None:
    """Serve ``transcriber`` over Wyoming at ``uri`` until cancelled."""
    server_address(uri)
    server = AsyncServer.from_uri(uri)
    lock = asyncio.Lock()
    _LOGGER.info("STT server on %s: whisper %s for %s", uri, transcriber.name, ", ".join(transcriber.languages))
    await server.run(partial(_Handler, transcriber, lock))
