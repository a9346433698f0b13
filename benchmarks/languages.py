"""Per-language benchmark: what a French, Spanish or English caller gets from the default models.

Two tables:

1. **Hearing**: each recording of a manifest (``file``, ``language``, ``transcript`` tab-separated, with
   a header; paths relative to the manifest) at 8 kHz like a phone line, then 16 kHz, through the
   appliance's Transcriber listening for en, fr and es: word error rate per language (jiwer, on
   lower-case words without punctuation), how often the language was identified right, and the decode
   time (p50/p95). ``--forced`` also decodes with the language given, to separate the two errors.
2. **Speaking**: for each language's voice, the time from asking for a reply to its first audio, the
   first time a reply is said (nothing cached) and again (the clause cache), p50/p95 over the replies
   below, and the real-time factor.

    benchmarks/real_speech.sh /tmp/speech   # real recordings from Debian packages (Asterisk prompts, LibriVox)
    .venv/bin/python benchmarks/languages.py --manifest /tmp/speech/manifest.tsv --forced
    .venv/bin/python benchmarks/languages.py --speak-only

Without a manifest only the second table is printed. The recordings should be real people: TTS speech
flatters the recognizer (see RESULTS.md for what was measured and on what).
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import tempfile
import time
from pathlib import Path

import jiwer
import numpy as np
from machine import cpu_name  # benchmarks/machine.py, beside this script

from appliance.audio.files import read_audio
from appliance.audio.frames import PIPELINE_RATE
from appliance.audio.resample import resample
from appliance.call import Engines
from appliance.config import ApplianceConfig, ModelsConfig
from appliance.dialog.languages import PACKS
from appliance.models.tts import KokoroSynthesizer

LANGUAGES = ("en", "fr", "es")
# Replies as the receptionist says them: a question, an offer, a read-back, the goodbye.
REPLY_KEYS = ("greeting", "ask_name", "ask_when", "anything_else", "not_understood", "ask_phone_caller_id")
READ_BACKS = {
    "en": "So that's a check-up with Dr. Martin on Thursday, December 3 at 10:30 AM, for Anna Lopez. Shall I book it?",
    "fr": "Donc une consultation avec le docteur Martin jeudi 3 décembre à 10 h 30, pour Anna Lopez. Je réserve ?",
    "es": "Entonces, una consulta con el doctor Martin el jueves 3 de diciembre a las 10 y media, para Anna López. ¿Lo reservo?",
}


def words(text: str) -> str:
    return " ".join(re.findall(r"[\w']+", text.lower()))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def phone_line(samples: np.ndarray) -> np.ndarray:
    """What a G.711 call keeps: 8 kHz, then back to the pipeline rate."""
    return resample(resample(samples, PIPELINE_RATE, 8000), 8000, PIPELINE_RATE)


def hearing(engines: Engines, manifest: Path, forced: bool, rates: list[int], half: str) -> None:
    rows = list(csv.DictReader(manifest.open(encoding="utf-8"), delimiter="\t"))
    if half != "all":  # the dev half chooses settings, the locked half reports them
        rows = [r for n, r in enumerate(rows) if n % 2 == (0 if half == "dev" else 1)]
    transcriber = engines.transcriber
    print(f"\nHearing: {len(rows)} recordings from {manifest}, whisper {transcriber.name}, {cpu_name()}")
    print("| rate | language | what | utterances | WER | language right | WER, language given | decode p50 / p95 ms |")
    print("|---|---|---|---|---|---|---|---|")
    for rate in rates:
        for language in LANGUAGES:
            results = []
            for row in (r for r in rows if r["language"] == language):
                audio = read_audio(manifest.parent / row["file"], PIPELINE_RATE, 60)
                if rate == 8000:
                    audio = phone_line(audio)
                heard = transcriber.transcribe(audio)  # a call's first utterance: no language yet
                given = words(transcriber.transcribe(audio, current=language).text) if forced else ""
                results.append((words(row["transcript"]), words(heard.text), heard.language == language, heard, given))
            kinds = {
                "all": results,
                "sentences": [r for r in results if len(r[0].split()) > 1],
                "single words": [r for r in results if len(r[0].split()) == 1],
            }
            for kind, mine in kinds.items():
                if not mine:
                    continue
                refs, hyps = [r[0] for r in mine], [r[1] for r in mine]
                times = [r[3].seconds * 1000 for r in mine]
                wer_given = f"{jiwer.wer(refs, [r[4] for r in mine]):.1%}" if forced else "-"
                print(
                    f"| {rate // 1000} kHz | {language} | {kind} | {len(mine)} | {jiwer.wer(refs, hyps):.1%} | "
                    f"{sum(r[2] for r in mine)}/{len(mine)} | {wer_given} | "
                    f"{statistics.median(times):.0f} / {pct(times, 0.95):.0f} |"
                )


def speaking(engines: Engines) -> None:
    print(f"\nSpeaking: time to the first audio of a reply, {cpu_name()}")
    print("| language | voice | replies | first audio p50 / p95 ms (new) | again (cached) p50 ms | RTF |")
    print("|---|---|---|---|---|---|")
    for language in LANGUAGES:
        voice = engines.voice(language)
        templates = PACKS[language].templates
        texts = [templates[k].format(business="Demo Clinic") for k in REPLY_KEYS] + [READ_BACKS[language]]
        first, again, synth_s, audio_s = [], [], 0.0, 0.0
        for text in texts:
            for pass_times in (first, again):
                started = time.perf_counter()
                chunks = iter(voice.sentences(text))
                head = next(chunks)
                pass_times.append((time.perf_counter() - started) * 1000)
                rest = list(chunks)
                if pass_times is first:
                    synth_s += time.perf_counter() - started
                    audio_s += sum(len(c) for c in [head, *rest]) / PIPELINE_RATE
        kind = "Kokoro" if isinstance(voice, KokoroSynthesizer) else "piper"
        print(
            f"| {language} | {voice.name} ({kind}) | {len(texts)} | {statistics.median(first):.0f} / "
            f"{pct(first, 0.95):.0f} | {statistics.median(again):.0f} | {synth_s / audio_s:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--manifest", type=Path, help="recordings to transcribe (file, language, transcript TSV)")
    parser.add_argument("--forced", action="store_true", help="also decode with the language given")
    parser.add_argument("--speak-only", action="store_true", help="only the voices")
    parser.add_argument("--rates", default="8000,16000", help="line rates to hear the recordings at (Hz)")
    parser.add_argument("--half", choices=["all", "dev", "locked"], default="all", help="every other recording")
    parser.add_argument("--no-speak", action="store_true", help="only the hearing table")
    parser.add_argument("--beam", type=int, default=ModelsConfig.stt_beam_size, help="Whisper's beam size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as state:
        started = time.perf_counter()
        engines = Engines.load(
            ApplianceConfig(state_dir=state, models=ModelsConfig(stt_beam_size=args.beam)), LANGUAGES
        )
        print(f"models loaded in {time.perf_counter() - started:.1f} s")
        try:
            if args.manifest and not args.speak_only:
                hearing(engines, args.manifest, args.forced, [int(r) for r in args.rates.split(",")], args.half)
            if not args.no_speak:
                speaking(engines)
        finally:
            engines.close()


if __name__ == "__main__":
    main()
