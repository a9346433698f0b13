"""Dialogue benchmark: scenario pass rates, wrong writes, reply decision time, and task detection.

Run: .venv/bin/python benchmarks/dialog.py [--llm [MODEL]]   (MODEL: smollm2-135m, or qwen2.5-1.5b after
`scripts/setup --with-qwen`)

1. The scenario sets: tests/scenarios (the project's own), tests/corpus/dev … dev9 (written apart
   from the rules by eight writers, used to fix them) and tests/corpus/locked (written apart, never read to change a rule or a prompt):
   passed, wrong writes (an action the caller did not mean), missed writes, per task, rules only and
   with ``--llm`` rules plus the model, and the time ``respond()`` takes per turn (p50, p95).
2. First utterances a caller might use, each labelled with the task it asks for: how often the first
   reply starts the right task, rules only, and with ``--llm`` rules plus the bundled LLM
   (``[models] llm_intents``) asked when the rules understand nothing. Set A was written apart from the
   rules and then used to widen their vocabulary; the held-out set was written after and never used.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from machine import cpu_name  # noqa: E402  # benchmarks/machine.py, beside this script

from appliance.config import load_config  # noqa: E402
from appliance.dialog.assist import IntentProposer  # noqa: E402
from appliance.dialog.engine import Business  # noqa: E402
from appliance.dialog.profile import load_profile  # noqa: E402
from appliance.dialog.scenarios import load_scenarios, run_scenario  # noqa: E402
from appliance.models.llm import LocalLLM  # noqa: E402
from appliance.models.registry import ModelRegistry  # noqa: E402
from appliance.store import Store  # noqa: E402

PARAPHRASES = [
    ("I'd like to come in and get my knee looked at", "book"),
    ("My kid has a fever, can the doctor see him", "book"),
    ("Can I get in to see somebody this week", "book"),
    ("Is Dr. Lopez free at all on Friday", "book"),
    ("I'm due for my annual physical", "book"),
    ("Do you have any openings tomorrow", "book"),
    ("I won't make it on Thursday", "cancel"),
    ("Something came up and I can't come", "cancel"),
    ("I need to drop my appointment", "cancel"),
    ("Please take me off the schedule for Monday", "cancel"),
    ("Is there any way to push my visit to next week", "reschedule"),
    ("Could we do a different day for my check-up", "reschedule"),
    ("I need a later time for my appointment tomorrow", "reschedule"),
    ("Tell Dr. Martin I said thanks", "message"),
    ("Can you let the doctor know my results came in", "message"),
    ("Please pass a note to the nurse", "message"),
    ("Have someone ring me this afternoon", "callback"),
    ("Can you get the nurse to phone me", "callback"),
    ("I'd like someone to get back to me about my bill", "callback"),
    ("I'd rather deal with a human", "human"),
    ("Get me a receptionist", "human"),
    ("Let me talk to somebody real", "human"),
    ("What's the weather like", None),
    ("Do you sell bicycles", None),
]
# Written after set A had been used to widen the rules' vocabulary, and never used to change them.
HELD_OUT = [
    ("I think I need to see a doctor about my back", "book"),
    ("Any chance of an appointment Wednesday", "book"),
    ("My daughter needs her vaccinations", "book"),
    ("I'd like a check up please", "book"),
    ("Could I book in for a blood test", "book"),
    ("When is the next free slot with Dr. Martin", "book"),
    ("I have to call off my visit tomorrow", "cancel"),
    ("I can't attend on Friday anymore", "cancel"),
    ("Please remove my booking", "cancel"),
    ("Scratch my appointment for Wednesday", "cancel"),
    ("I need to change the date of my appointment", "reschedule"),
    ("Can I bring my appointment forward", "reschedule"),
    ("Tuesday doesn't work anymore, can we pick another day", "reschedule"),
    ("Could you tell the nurse I'll bring the forms", "message"),
    ("I want Dr. Lopez to know my pharmacy changed", "message"),
    ("Leave word for the doctor that I called", "message"),
    ("Could someone give me a call later", "callback"),
    ("Please ring me back when you can", "callback"),
    ("I need the office to contact me", "callback"),
    ("Put me through to the office manager", "human"),
    ("Can I speak with someone at the front desk", "human"),
    ("Transfer me please", "human"),
    ("Who won the game last night", None),
    ("Do you fix cars", None),
]
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("America/New_York"))


SETS = (
    ("own", ROOT / "tests" / "scenarios"),
    ("dev", ROOT / "tests" / "corpus" / "dev"),
    ("dev2", ROOT / "tests" / "corpus" / "dev2"),
    ("dev3", ROOT / "tests" / "corpus" / "dev3"),
    ("dev4", ROOT / "tests" / "corpus" / "dev4"),
    ("dev5", ROOT / "tests" / "corpus" / "dev5"),
    ("dev6", ROOT / "tests" / "corpus" / "dev6"),
    ("dev7", ROOT / "tests" / "corpus" / "dev7"),
    ("dev8", ROOT / "tests" / "corpus" / "dev8"),
    ("dev9", ROOT / "tests" / "corpus" / "dev9"),
)
LOCKED = ("locked", ROOT / "tests" / "corpus" / "locked")


def scenario_table(proposers: list[tuple[str, IntentProposer | None]]) -> None:
    print(
        "| set | understanding | scenarios | passed | wrong writes | missed writes | unread values | respond() p50 | p95 |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    tasks: dict[tuple[str, str, str], list[int]] = {}
    for (label, proposer), (name, folder) in itertools.product(proposers, (*SETS, LOCKED)):
        if not folder.is_dir():
            continue
        scenarios = load_scenarios(folder)
        profiles: dict[Path, object] = {}
        passed = wrong = missed = unread = 0
        times: list[float] = []
        for file, scenario in scenarios:
            result = run_scenario(file, scenario, profiles, proposer)  # type: ignore[arg-type]
            times += result.turn_s
            passed += result.passed
            wrong += result.wrong_writes
            missed += sum(f.startswith("expected action not produced") for f in result.failures)
            unread += bool(result.unread)
            for tool in {a["tool"] for a in scenario["expect"].get("actions", [])} or {"(no write)"}:
                row = tasks.setdefault((name, label, tool), [0, 0])
                row[0] += result.passed
                row[1] += 1
        print(
            f"| {name} | {label} | {len(scenarios)} | {passed} ({passed / len(scenarios):.0%}) | {wrong} | {missed} "
            f"| {unread} | {statistics.median(times) * 1000:.1f} ms | {percentile(times, 95) * 1000:.1f} ms |"
        )
    print()
    print("| set | understanding | task | passed |")
    print("|---|---|---|---|")
    for (name, label, tool), (ok, total) in sorted(tasks.items()):
        print(f"| {name} | {label} | {tool} | {ok}/{total} |")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def task_of_first_reply(business: Business, utterance: str) -> tuple[str | None, float]:
    engine = business.engine(None, "+14155550142")
    started = time.perf_counter()
    reply = engine.respond(utterance)
    elapsed = time.perf_counter() - started
    return ("human" if reply.transfer else engine.task), elapsed


def paraphrase_table(rows: list[tuple[str, IntentProposer | None]]) -> None:
    print()
    print("| set | understanding | right task | wrong task | missed | first reply p95 |")
    print("|---|---|---|---|---|---|")
    for (label, proposer), (name, items) in itertools.product(rows, (("A", PARAPHRASES), ("held out", HELD_OUT))):
        with tempfile.TemporaryDirectory() as tmp:
            store = Store(Path(tmp) / "bench.db")
            business = Business(load_profile(), store, clock=lambda: NOW, proposer=proposer)
            right = wrong = missed = 0
            times = []
            for utterance, wanted in items:
                got, elapsed = task_of_first_reply(business, utterance)
                times.append(elapsed)
                if got == wanted:
                    right += 1
                elif got is None:
                    missed += 1
                else:
                    wrong += 1
            store.close()
        print(
            f"| {name} | {label} | {right}/{len(items)} | {wrong} | {missed} | {percentile(times, 95) * 1000:.0f} ms |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--llm", nargs="?", const="", metavar="MODEL", help="also measure rules + this LLM (default: [models] llm)"
    )
    args = parser.parse_args()
    rows: list[tuple[str, IntentProposer | None]] = [("rules", None)]
    if args.llm is not None:
        config = load_config(None, env={})
        model = ModelRegistry(config.model_cache).resolve("llm", args.llm or config.models.llm)
        rows.append((f"rules + {model.name}", TimedProposer(LocalLLM(model, config.models.llm_threads))))
    print(f"CPU: {cpu_name()}")
    print()
    scenario_table(rows)
    paraphrase_table(rows)
    for label, proposer in rows:
        if isinstance(proposer, TimedProposer) and proposer.times:
            times = proposer.times
            print()
            print("| model | asked (turns the rules did not understand) | p50 | p95 | max |")
            print("|---|---|---|---|---|")
            print(
                f"| {label} | {len(times)} | {statistics.median(times) * 1000:.0f} ms "
                f"| {percentile(times, 95) * 1000:.0f} ms | {max(times) * 1000:.0f} ms |"
            )


class TimedProposer(IntentProposer):
    """The proposer, timing every question put to the model."""

    def __init__(self, llm: LocalLLM) -> None:
        super().__init__(llm)
        self.times: list[float] = []

    def propose(self, utterance: str, allowed: list[str]) -> str | None:
        started = time.perf_counter()
        try:
            return super().propose(utterance, allowed)
        finally:
            self.times.append(time.perf_counter() - started)


if __name__ == "__main__":
    main()
