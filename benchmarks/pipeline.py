"""Pipeline benchmark: per-stage latency and word error rate on generated caller speech.

For each STT model and line rate, a conversation of espeak-ng utterances (with silence between them)
is played into a real call pipeline in real time, exactly as ``appliance simulate`` does. Each turn's
stage times are measured from the end of the caller's speech (the last voiced frame); the table
gives median and p95 per stage, and the word error rate of the transcripts. A second table times
the bundled LLM. Run it with ``scripts/bench``; it needs no network and takes a few minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import re
import statistics
import sys
import tempfile
from pathlib import Path

import jiwer
import numpy as np
from machine import cpu_name  # benchmarks/machine.py, beside this script

from appliance.audio.files import read_audio
from appliance.audio.frames import PIPELINE_RATE
from appliance.call import CallSession, Engines, RecordingLine, run_call
from appliance.config import load_config
from appliance.dialog.engine import Business
from appliance.dialog.profile import load_profile
from appliance.models.llm import LocalLLM
from appliance.models.registry import ModelRegistry
from appliance.store import Store, TurnRecord
from appliance.testing import conversation

UTTERANCES = [
    "Hi, I'd like to book an appointment for next week.",
    "Do you have anything on Tuesday afternoon?",
    "What are your opening hours on Saturday?",
    "I need to cancel my appointment tomorrow.",
    "Can the nurse call me back today?",
    "Where are you located?",
    "My daughter has a fever, can she see a doctor?",
    "Is there parking near the clinic?",
    "Yes, that works for me.",
    "No, that's all, thank you.",
]
STAGES = ("stt decode", "stt done", "end of turn", "reply ready", "first audio", "first frame")


@dataclasses.dataclass
class Row:
    label: str
    turns: list[TurnRecord]
    wer: float


def stage_ms(turn: TurnRecord) -> dict[str, float]:
    """Each stage in ms after the end of the caller's speech (decode: its own duration)."""
    end = turn.speech_end_s

    def after(t: float | None) -> float:
        return float("nan") if t is None else (t - end) * 1000

    return {
        "stt decode": turn.stt_s * 1000,
        "stt done": after(turn.stt_done_s),
        "end of turn": after(turn.eot_s),
        "reply ready": after(turn.reply_ready_s),
        "first audio": after(turn.first_audio_s),
        "first frame": after(turn.first_frame_s),
    }


def pct(values: list[float], q: float) -> float:
    clean = sorted(v for v in values if v == v)
    if not clean:
        return float("nan")
    return float(np.percentile(clean, q))


def words(text: str) -> str:
    return " ".join(re.sub(r"[^a-z' ]+", " ", text.lower()).split())


async def one_call(engines: Engines, caller: np.ndarray, workdir: Path) -> list[TurnRecord]:
    store = Store(workdir / "bench.db")
    business = Business(load_profile(), store)
    session = CallSession(engines, business.engine(None), None, "bench", greet=False)
    try:
        result = await run_call(session, RecordingLine(caller))
    finally:
        store.close()
    return result.turns


def bench_stt(model: str, rate: int, fit: bool, texts: list[str], workdir: Path) -> Row:
    base = load_config(None, env={})
    models = dataclasses.replace(base.models, stt=model, stt_fit_window=fit)
    config = dataclasses.replace(base, models=models)
    engines = Engines.load(config)
    try:
        wav = conversation(texts, rate, workdir, gap_s=5.0)
        caller = read_audio(wav, PIPELINE_RATE, 3600)
        turns = asyncio.run(one_call(engines, caller, workdir))
    finally:
        engines.close()
    heard = " ".join(t.caller_text for t in turns)
    wer = float(jiwer.wer(words(" ".join(texts)), words(heard) or "-"))
    label = f"{model} {rate // 1000} kHz{'' if fit else ' (30 s window)'}"
    return Row(label, turns, wer)


def bench_llm(runs: int) -> list[tuple[str, float, float]]:
    model = ModelRegistry(load_config(None, env={}).model_cache).resolve("llm", "smollm2-135m")
    llm = LocalLLM(model, threads=1)
    system = "You are the receptionist of Demo Clinic. Answer in one short sentence."
    llm.chat(system, "Hello", max_tokens=8)  # warm the prompt cache, as a running daemon would be
    prompts = ["Are you open on Saturday?", "Can I see a doctor today?", "Where are you?", "Do you take new patients?"]
    results = []
    for i in range(runs):
        c = llm.chat(system, prompts[i % len(prompts)], max_tokens=32)
        results.append((c.text, c.first_token_s * 1000, c.total_s * 1000 / max(1, c.tokens)))
    return results


def print_table(rows: list[Row]) -> None:
    head = ["config", "turns", "WER"] + [f"{s} p50/p95" for s in STAGES]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        per_stage = [stage_ms(t) for t in row.turns]
        cells = [row.label, f"{len(row.turns)}/{len(UTTERANCES)}", f"{row.wer:.1%}"]
        for stage in STAGES:
            values = [s[stage] for s in per_stage]
            cells.append(f"{pct(values, 50):.0f} / {pct(values, 95):.0f}")
        print("| " + " | ".join(cells) + " |")
    print("\nStage times are ms after the caller's last voiced frame (stt decode: its own duration).")
    print("'first frame' is what the caller hears: end of speech to the first reply audio on the line.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--models", default="whisper-tiny.en,whisper-base")
    parser.add_argument("--rates", default="8000,16000")
    parser.add_argument("--reference", action="store_true", help="also run whisper-base with the full 30 s window")
    parser.add_argument("--utterances", type=int, default=len(UTTERANCES))
    parser.add_argument("--llm-runs", type=int, default=8)
    parser.add_argument("--show", action="store_true", help="print every transcript")
    args = parser.parse_args()
    texts = UTTERANCES[: args.utterances]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        plan = [(m, int(r), True) for m in args.models.split(",") for r in args.rates.split(",")]
        if args.reference:
            plan += [("whisper-base", int(r), False) for r in args.rates.split(",")]
        for model, rate, fit in plan:
            print(f"running {model} at {rate} Hz{'' if fit else ' (30 s window)'} ...", file=sys.stderr)
            rows.append(bench_stt(model, rate, fit, texts, Path(tmp)))
            if args.show:
                for t in rows[-1].turns:
                    print(f"  {t.eot_reason:10} {t.caller_text!r}", file=sys.stderr)
    print(f"\n## Voice pipeline, {len(texts)} utterances per row ({cpu_name()}, real-time line)\n")
    print_table(rows)
    if args.llm_runs:
        results = bench_llm(args.llm_runs)
        first = statistics.median(r[1] for r in results)
        per_token = statistics.median(r[2] for r in results)
        print(f"\n## LLM smollm2-135m (1 thread): first token median {first:.0f} ms, {per_token:.1f} ms/token")
        print(f"sample answer: {results[0][0]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
