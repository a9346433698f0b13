"""Turn-taking benchmark: false cut-offs and dead air of the end-of-turn rules, on 8 kHz speech with pauses.

Run: .venv/bin/python benchmarks/turn_taking.py [--manifest benchmarks/real_speech.sh's manifest.tsv]

Two sets of utterances, each passed through a G.711-like line (8 kHz):

* ``read``: real recordings (Asterisk's recorded prompts, LibriVox readers; ``benchmarks/real_speech.sh``
  fetches them), whose own pauses between phrases are kept as they are, and the longest one stretched to a
  hesitation of 0.5-2 s in a second copy;
* ``call``: lines a caller would say, written for this benchmark with the points where people hesitate
  ("I'd like to book | for Thursday"), each spoken in one breath by a Kokoro voice (most of them voices the
  appliance does not answer with), the pause at each hesitation then lengthened to 0.4-1.6 s.

Every stretch of silence the VAD sees inside an utterance is a decision point where the caller is not done
(ending the turn there is a false cut-off); the silence after the last word is where they are (the time to
decide there is dead air). At each point the detector knows what it would know in a call: the transcript
of the utterance so far (whisper base, the time it took) and Smart Turn v3.2's probability on the audio
so far (the time it took). Each policy turns those into the silence it waits for, as
``appliance/audio/turn.py`` does; the table gives false cut-offs and dead air p50/p95 per policy and set.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import cpu_name  # noqa: E402  # benchmarks/machine.py, beside this script

from appliance.audio.files import read_audio  # noqa: E402
from appliance.audio.frames import FRAME_MS, PIPELINE_RATE  # noqa: E402
from appliance.audio.resample import resample  # noqa: E402
from appliance.audio.smart_turn import SmartTurn  # noqa: E402
from appliance.audio.turn import Completeness, completeness, needed_silence_ms  # noqa: E402
from appliance.call.engines import Engines  # noqa: E402
from appliance.config import ApplianceConfig, EndOfTurn, ListenConfig  # noqa: E402
from appliance.models.registry import ModelRegistry, smart_turn_model  # noqa: E402
from appliance.models.tts import KOKORO_LANGUAGES, KokoroSynthesizer  # noqa: E402

# Callers' lines with the places people hesitate ("|"); written for this benchmark, not from the dialogue
# corpora, and spoken by voices the appliance does not use.
CALL_LINES = {
    "en": [
        "Hi, I'd like to book an appointment | for next Thursday | in the morning if possible.",
        "Yes, my name is | Jennifer Walsh.",
        "It's | five five five, | two one three, | four four nine zero.",
        "I need to cancel my appointment | on Friday | because I'm traveling.",
        "Could the doctor call me back | about my test results?",
        "I was wondering if | you take | new patients.",
        "My daughter has a fever and | a rash on her arm, | can someone see her today?",
        "Um, | I think it was | the fourteenth, at | two thirty.",
        "No, not Tuesday, | Wednesday.",
        "Can you tell Doctor Martin that | the medication | is working better now?",
        "I'd like to move my cleaning to | sometime later in the week.",
        "Sure, | that works for me.",
        "What are your | opening hours on Saturday?",
        "Actually, | can we make it | quarter past ten instead?",
        "I'm calling because | I got a bill and | I don't understand the charges.",
        "My date of birth is | March third, | nineteen eighty-two.",
        "Yeah, | that's the one.",
        "I have an appointment with | Doctor Lopez and | I need to push it back a week.",
        "Is there any parking | near the clinic?",
        "Okay, | thank you so much, | goodbye.",
    ],
    "fr": [
        "Bonjour, je voudrais prendre rendez-vous | pour jeudi prochain | le matin si possible.",
        "Oui, je m'appelle | Claire Fontaine.",
        "C'est le | zéro six, | douze, trente-quatre, | cinquante-six, soixante-dix-huit.",
        "Je dois annuler mon rendez-vous | de vendredi | parce que je suis malade.",
        "Est-ce que le médecin pourrait me rappeler | au sujet de mes analyses ?",
        "Je voulais savoir si | vous prenez | de nouveaux patients.",
        "Euh, | je crois que c'était | le quatorze, à | quatorze heures trente.",
        "Non, pas mardi, | mercredi.",
        "Vous pouvez dire au docteur Martin que | le traitement | marche mieux maintenant ?",
        "D'accord, | ça me va.",
        "Quels sont vos horaires | le samedi ?",
        "En fait, | on peut mettre | dix heures et quart plutôt ?",
        "Ma date de naissance est | le trois mars | mille neuf cent quatre-vingt-deux.",
        "J'ai un rendez-vous avec | le docteur Lopez et | je dois le décaler d'une semaine.",
        "Bon, | merci beaucoup, | au revoir.",
    ],
    "es": [
        "Hola, quería pedir una cita | para el jueves | por la mañana si puede ser.",
        "Sí, me llamo | Lucía Fernández.",
        "Es el | seis, doce, | treinta y cuatro, | cincuenta y seis.",
        "Tengo que cancelar mi cita | del viernes | porque estoy de viaje.",
        "¿Podría el médico llamarme | por lo de mis análisis?",
        "Quería saber si | aceptan | pacientes nuevos.",
        "Eh, | creo que era | el catorce, a | las dos y media.",
        "No, el martes no, | el miércoles.",
        "¿Le puede decir al doctor Martín que | la medicación | me va mejor?",
        "Vale, | me viene bien.",
        "¿Cuál es su horario | los sábados?",
        "Bueno, | mejor | a las diez y cuarto.",
        "Mi fecha de nacimiento es | el tres de marzo | de mil novecientos ochenta y dos.",
        "Tengo cita con | el doctor López y | necesito retrasarla una semana.",
        "Pues, | muchas gracias, | adiós.",
    ],
}
CALL_VOICES = {"en": ("kokoro-am-michael", "kokoro-bf-emma"), "fr": ("kokoro-ff-siwis",), "es": ("kokoro-em-alex",)}
HESITATIONS_S = (0.4, 0.7, 1.0, 1.6)
STRETCHED_S = (0.5, 1.0, 1.5, 2.0)


@dataclass
class Point:
    """One silence inside or after an utterance, and what a detector knows there."""

    kind: str  # "mid" (the caller goes on) or "end"
    gap_ms: float  # how long the silence lasts (inf after the last word)
    completeness: Completeness
    stt_ms: float
    probability: float
    smart_ms: float
    later: dict[int, float]  # Smart Turn's probability with more silence after the words (ms: p)


def phone_line(samples: np.ndarray) -> np.ndarray:
    return resample(resample(samples, PIPELINE_RATE, 8000), 8000, PIPELINE_RATE)


def voiced_frames(engines: Engines, audio: np.ndarray, settings: ListenConfig) -> list[bool]:
    """Per 20 ms frame: is it speech, with the detector's hysteresis (speech until below the lower mark)."""
    vad, frame = engines.vad.stream(), PIPELINE_RATE * FRAME_MS // 1000
    voiced, speaking = [], False
    for i in range(0, len(audio) - frame + 1, frame):
        p = vad.push(audio[i : i + frame])
        speaking = p >= settings.vad_threshold or (speaking and p >= settings.vad_neg_threshold)
        voiced.append(speaking)
    return voiced


def points(engines: Engines, smart: SmartTurn, audio: np.ndarray, language: str, settings: ListenConfig) -> list[Point]:
    """The decision points of one utterance (audio with 2 s of silence after it)."""
    voiced = voiced_frames(engines, audio, settings)
    frame = PIPELINE_RATE * FRAME_MS // 1000
    runs, i = [], 0  # (first silent frame, its length in frames) after some speech
    while i < len(voiced):
        if not voiced[i] and any(voiced[:i]):
            j = i
            while j < len(voiced) and not voiced[j]:
                j += 1
            runs.append((i, j - i, j == len(voiced)))
            i = j
        else:
            i += 1
    found = []
    for start, length, last in runs:
        gap_ms = float("inf") if last else length * FRAME_MS
        if gap_ms < settings.pause_ms:
            continue  # too short for the detector to pause at all
        upto = audio[: (start + settings.pause_ms // FRAME_MS) * frame]
        began = time.perf_counter()
        heard = engines.transcriber.transcribe(upto, None, language)
        stt_ms = (time.perf_counter() - began) * 1000
        began = time.perf_counter()
        p = smart.probability(upto)
        smart_ms = (time.perf_counter() - began) * 1000
        kind = completeness(heard.text, language)
        later = {}
        for tail in (200, 300, 500):
            if tail < gap_ms:
                later[tail] = smart.probability(audio[: (start + tail // FRAME_MS) * frame])
        found.append(Point("end" if last else "mid", gap_ms, kind, stt_ms, p, smart_ms, later))
    return found


MODES: dict[str, EndOfTurn] = {"rule (transcript)": "rule", "Smart Turn v3.2": "smart", "both (shipped)": "both"}


def ends_after(s: ListenConfig, point: Point, mode: EndOfTurn) -> float:
    """ms of silence after which the detector ends the turn at this point, as TurnDetector does: what
    ``mode`` needs is known after the pause and the time it took; until then the plain silence rule holds."""
    text, audio = mode in ("rule", "both"), mode in ("smart", "both")
    known = s.pause_ms + max(point.stt_ms if text else 0.0, point.smart_ms if audio else 0.0)
    needed = needed_silence_ms(s, mode, point.completeness if text else None, point.probability if audio else None)
    if known >= s.eot_silence_ms or needed is None:
        return float(s.eot_silence_ms)
    return max(float(needed), known)


def dead_air(s: ListenConfig, point: Point, mode: EndOfTurn) -> float:
    """ms from the last word to when the reply can start: the end of the turn, and the transcript ready."""
    return max(ends_after(s, point, mode), s.pause_ms + point.stt_ms)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


def read_set(manifest: Path) -> list[tuple[str, np.ndarray]]:
    """(language, audio) per recording, as recorded and with its longest inner pause stretched."""
    items = []
    with manifest.open() as f:
        for n, row in enumerate(csv.DictReader(f, delimiter="\t")):
            audio = read_audio(manifest.parent / row["file"], PIPELINE_RATE, 60)
            items.append((row["language"], audio))
            items.append((row["language"], stretched(audio, STRETCHED_S[n % len(STRETCHED_S)])))
    return items


def stretched(audio: np.ndarray, seconds: float, skip: float = 60.0) -> np.ndarray:
    """The recording with its longest quiet stretch inside (by energy; shorter than ``skip`` seconds)
    lengthened to ``seconds``."""
    frame = PIPELINE_RATE * FRAME_MS // 1000
    energy = np.array([np.abs(audio[i : i + frame]).mean() for i in range(0, len(audio) - frame + 1, frame)])
    quiet = energy < max(energy.max() * 0.03, 30)
    loud = np.nonzero(~quiet)[0]
    if len(loud) < 2:
        return audio
    best, at = 0, 0
    i = loud[0]
    while i < loud[-1]:
        if quiet[i]:
            j = i
            while quiet[j]:
                j += 1
            if best < j - i < skip * 1000 / FRAME_MS:
                best, at = j - i, i
            i = j
        else:
            i += 1
    if best == 0:
        return audio
    middle = (at + best // 2) * frame
    pad = max(0, int(seconds * PIPELINE_RATE) - best * frame)
    return np.concatenate([audio[:middle], np.zeros(pad, audio.dtype), audio[middle:]])


def call_set(engines: Engines, cache: Path) -> list[tuple[str, np.ndarray]]:
    """Each line said in one breath (a comma where the caller hesitates, so the voice carries on through
    it as a speaker who is not done does), then those pauses lengthened to a hesitation."""
    registry = ModelRegistry(cache)
    items, n = [], 0
    for language, lines in CALL_LINES.items():
        for k, line in enumerate(lines):
            spec = CALL_VOICES[language][k % len(CALL_VOICES[language])]
            voice = registry.resolve_voice(spec)
            kokoro = next(v for v in engines.voices.values() if isinstance(v, KokoroSynthesizer)).model
            samples, rate = kokoro.create(
                line.replace(" |", ",").replace(",,", ","), voice=voice.kokoro_voice, lang=KOKORO_LANGUAGES[language]
            )
            audio = resample((np.clip(samples, -1, 1) * 32767).astype(np.int16), rate, PIPELINE_RATE)
            for _ in range(line.count("|")):
                audio = stretched(audio, HESITATIONS_S[n % len(HESITATIONS_S)], skip=HESITATIONS_S[0])
                n += 1
            items.append((language, audio))
    return items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--manifest", type=Path, help="benchmarks/real_speech.sh's manifest.tsv (the read set)")
    parser.add_argument("--save", type=Path, help="write every decision point as JSON here")
    parser.add_argument("--load", type=Path, help="read the decision points from --save instead of measuring")
    args = parser.parse_args()
    settings = ListenConfig()
    if args.load:
        found = {
            name: [Point(**{**p, "completeness": Completeness(p["completeness"].split(".")[-1].lower())}) for p in pts]
            for name, pts in json.loads(args.load.read_text()).items()
        }
    else:
        found = measure(args.manifest, settings)
    if args.save:
        args.save.write_text(json.dumps({k: [asdict(p) for p in v] for k, v in found.items()}, default=_plain))
    print(f"\nTurn taking, {cpu_name()}; whisper base transcript, Smart Turn v3.2 on 1 thread")
    print(
        "false cut-offs: pauses shorter than the longest wait (1.3 s) where the turn was ended; dead air: from "
        "the last word to when the reply can start (the turn ended and the transcript ready)"
    )
    for name, pts in found.items():
        ends = [p for p in pts if p.kind == "end"]
        mids = [p for p in pts if p.kind == "mid" and p.gap_ms < settings.eot_incomplete_ms]
        longer = sum(p.kind == "mid" for p in pts) - len(mids)
        print(f"\nset {name}: {len(ends)} utterances; {len(mids)} pauses inside them (and {longer} longer, cut by all)")
        print("| end of turn | false cut-offs | dead air p50 / mean / p95 ms | decided after (p50 ms) |")
        print("|---|---|---|---|")
        for label, mode in MODES.items():
            cut = sum(ends_after(settings, p, mode) <= p.gap_ms for p in mids)
            air = [dead_air(settings, p, mode) for p in ends]
            cost = [max(p.stt_ms if mode != "smart" else 0.0, p.smart_ms if mode != "rule" else 0.0) for p in pts]
            print(
                f"| {label} | {cut} / {len(mids)} ({100 * cut / max(1, len(mids)):.0f}%) | "
                f"{statistics.median(air):.0f} / {statistics.mean(air):.0f} / {pct(air, 0.95):.0f} | "
                f"{statistics.median(cost):.0f} |"
            )


def _plain(value: object) -> object:
    return value.value if isinstance(value, Completeness) else str(value)


def measure(manifest: Path | None, settings: ListenConfig) -> dict[str, list[Point]]:
    with tempfile.TemporaryDirectory() as state:
        engines = Engines.load(ApplianceConfig(state_dir=state), ("en", "fr", "es"))
        smart = SmartTurn(smart_turn_model(), threads=1)
        try:
            sets = {"call": call_set(engines, Path(state) / "cache")}
            if manifest:
                sets["read"] = read_set(manifest)
            found: dict[str, list[Point]] = {}
            for name, items in sets.items():
                found[name] = []
                for language, audio in items:
                    padded = np.concatenate(
                        [np.zeros(PIPELINE_RATE // 2, np.int16), audio, np.zeros(2 * PIPELINE_RATE, np.int16)]
                    )
                    found[name] += points(engines, smart, phone_line(padded), language, settings)
        finally:
            engines.close()
    return found


if __name__ == "__main__":
    main()
