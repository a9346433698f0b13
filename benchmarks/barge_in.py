"""Barge-in benchmark: backchannels that wrongly cut a reply, real interruptions caught, echo-triggered cuts.

Run: .venv/bin/python benchmarks/barge_in.py

Each case is a call through the real pipeline (whisper base, Silero, Smart Turn, piper / Kokoro), fed in
real time: the caller asks for the opening hours (a reply of about 9 s), then, 1-2 s into the reply, says
something over it:

* a backchannel ("uh-huh", "okay", "d'accord", "vale"): the reply must go on (not cut);
* a real interruption (a new question): the reply must stop, and the new question be answered; the time
  from the caller's first word to the reply going quiet is given;
* nothing, on a line that echoes the appliance's own voice back (hybrid echo at 40-120 ms, 1/5 to 1/2 of
  its level): the reply must not be cut.

Caller speech: espeak-ng for English, Kokoro voices the appliance does not answer with for French and
Spanish. The lines were written for this benchmark, not taken from the tests.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import cpu_name  # noqa: E402  # benchmarks/machine.py, beside this script

from appliance.audio.frames import PIPELINE_RATE  # noqa: E402
from appliance.call import CallSession, Engines, RecordingLine, run_call  # noqa: E402
from appliance.config import ApplianceConfig  # noqa: E402
from appliance.dialog.engine import Business  # noqa: E402
from appliance.dialog.profile import load_profile  # noqa: E402
from appliance.models.registry import ModelRegistry  # noqa: E402
from appliance.models.tts import KokoroSynthesizer  # noqa: E402
from appliance.store import Store  # noqa: E402
from appliance.testing import EchoLine, loud_spans, speak  # noqa: E402

HOURS = {"en": "What are your opening hours?", "fr": "Quels sont vos horaires ?", "es": "¿Cuál es su horario?"}
BACKCHANNELS = {
    "en": ["Uh-huh.", "Okay.", "Mm-hmm.", "Yeah.", "Right.", "I see.", "Okay, thanks."],
    "fr": ["D'accord.", "Oui.", "Je vois.", "Oui, d'accord."],
    "es": ["Vale.", "Sí.", "Ya.", "Vale, gracias."],
}
INTERRUPTIONS = {
    "en": [
        "Sorry, where are you located?",
        "Actually, I need to cancel an appointment.",
        "Can I talk to a real person?",
        "Wait, are you open on Sunday?",
    ],
    "fr": ["Pardon, vous êtes où exactement ?", "En fait, je voudrais annuler un rendez-vous."],
    "es": ["Perdone, ¿dónde están?", "En realidad, quiero cancelar una cita."],
}
ECHOES = [(0.04, 0.2), (0.06, 0.3), (0.12, 0.3), (0.06, 0.5)]  # (delay s, level)
VOICES = {"fr": "kokoro-ff-siwis", "es": "kokoro-em-alex"}


class Callers:
    def __init__(self, engines: Engines, workdir: Path) -> None:
        self._workdir = workdir
        registry = ModelRegistry(workdir / "cache")
        model = next(v for v in engines.voices.values() if isinstance(v, KokoroSynthesizer)).model
        self._kokoro = {
            lang: KokoroSynthesizer(registry.resolve_voice(spec), lang, 2, PIPELINE_RATE, model)
            for lang, spec in VOICES.items()
        }

    def say(self, language: str, text: str) -> np.ndarray:
        if language == "en":
            return speak(text, PIPELINE_RATE, self._workdir)
        return np.concatenate(list(self._kokoro[language].sentences(text)))


async def one_call(
    engines: Engines, business: Business, audio: np.ndarray, echo: tuple[float, float] | None
) -> tuple[list, np.ndarray]:  # type: ignore[type-arg]
    session = CallSession(engines, business.engine(None), greet=False)
    line = RecordingLine(audio) if echo is None else EchoLine(audio, *echo)
    result = await run_call(session, line)
    return sorted(result.turns, key=lambda t: t.idx), line.heard


def caller_audio(callers: Callers, language: str, over: str | None, after_s: float) -> tuple[np.ndarray, float]:
    """The question, then ``over`` said about ``after_s`` into the reply; and the time (s) ``over`` begins."""
    question = callers.say(language, HOURS[language])
    lead = np.zeros(PIPELINE_RATE // 2, np.int16)
    gap = np.zeros(int((1.0 + after_s) * PIPELINE_RATE), np.int16)  # the reply starts about 1 s after
    parts = [lead, question, gap]
    begins = sum(len(p) for p in parts) / PIPELINE_RATE
    if over is not None:
        said = callers.say(language, over)
        voiced = np.flatnonzero(np.abs(said) > 300)
        begins += (voiced[0] if len(voiced) else 0) / PIPELINE_RATE  # its first sound, not its lead-in
        parts.append(said)
    parts.append(np.zeros(14 * PIPELINE_RATE, np.int16))
    return np.concatenate(parts), begins


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        engines = Engines.load(ApplianceConfig(state_dir=tmp), ("en", "fr", "es"))
        store = Store(workdir / "dialog.db")
        business = Business(load_profile(), store)
        callers = Callers(engines, workdir)
        rows: dict[str, list[str]] = {"backchannel": [], "interruption": [], "echo": []}
        cut_nods, caught, reactions, echo_cuts = 0, 0, [], 0
        n = 0
        try:
            for language, nods in BACKCHANNELS.items():
                for nod in nods:
                    n += 1
                    audio, _ = caller_audio(callers, language, nod, 1.0 + (n % 3) * 0.5)
                    turns, _ = await one_call(engines, business, audio, None)
                    cut = bool(turns and turns[0].barged_in)
                    answered = [t for t in turns[1:] if t.reply_text]
                    cut_nods += cut or bool(answered)
                    heard = turns[1].caller_text if len(turns) > 1 else ""
                    rows["backchannel"].append(
                        f"| {language} | {nod} | {heard!r} | {'CUT' if cut else 'went on'} |"
                        f" {'answered' if answered else '-'} |"
                    )
            for language, lines in INTERRUPTIONS.items():
                for text in lines:
                    n += 1
                    audio, begins = caller_audio(callers, language, text, 1.0 + (n % 3) * 0.5)
                    turns, heard = await one_call(engines, business, audio, None)
                    stopped = bool(turns and turns[0].barged_in)
                    answer = turns[1].reply_text if len(turns) > 1 else ""
                    caught += stopped and bool(answer)
                    quiet = ""
                    if stopped and turns[0].first_frame_s is not None:
                        spans = [s for s in loud_spans(heard, 0.35) if s[1] > turns[0].first_frame_s]
                        if spans:
                            reaction = spans[0][1] - begins
                            reactions.append(reaction * 1000)
                            quiet = f"{reaction * 1000:.0f} ms"
                    rows["interruption"].append(
                        f"| {language} | {text} | {'stopped' if stopped else 'NOT STOPPED'} | {quiet} | {answer[:50]!r} |"
                    )
            for delay, level in ECHOES:
                audio, _ = caller_audio(callers, "en", None, 0.0)
                turns, heard = await one_call(engines, business, audio, (delay, level))
                cut = bool(turns and turns[0].barged_in)
                echo_cuts += cut
                taken = sum(bool(t.reply_text) for t in turns[1:])
                rows["echo"].append(
                    f"| {delay * 1000:.0f} ms | {level:.1f} | {'CUT' if cut else 'not cut'} | {taken} | "
                    f"{sum(t.eot_reason == 'backchannel' for t in turns[1:])} |"
                )
        finally:
            engines.close()
            store.close()
    nods_total = sum(len(v) for v in BACKCHANNELS.values())
    interruptions_total = sum(len(v) for v in INTERRUPTIONS.values())
    print(f"\nBarge-in, {cpu_name()}; whisper base, [listen] defaults")
    print("| case | goal | result |\n|---|---|---|")
    print(f"| backchannels that cut the reply or were answered | 0 | {cut_nods} / {nods_total} |")
    median = f", reply quiet {statistics.median(reactions):.0f} ms after the first word (median)" if reactions else ""
    print(
        f"| real interruptions that stopped the reply and were answered | all | {caught} / {interruptions_total}{median} |"
    )
    print(f"| echo-triggered cuts | 0 | {echo_cuts} / {len(ECHOES)} |")
    print("\n| language | backchannel | heard as | reply | answered |\n|---|---|---|---|---|")
    print("\n".join(rows["backchannel"]))
    print("\n| language | interruption | reply | quiet after | answer |\n|---|---|---|---|---|")
    print("\n".join(rows["interruption"]))
    print("\n| echo delay | level | reply | echo answered as a turn | echo holds resumed |\n|---|---|---|---|---|")
    print("\n".join(rows["echo"]))


if __name__ == "__main__":
    asyncio.run(main())
