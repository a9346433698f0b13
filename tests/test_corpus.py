"""The scenario corpora written apart from the rules: every write is read back first, and the
development set holds its floor. The locked set's figures are measured by benchmarks/dialog.py and
reported, never used to change a rule (see README, "Scenarios").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.dialog.profile import BusinessProfile
from appliance.dialog.scenarios import ScenarioResult, load_scenarios, run_scenario

from .conftest import ROOT

CORPUS = ROOT / "tests" / "corpus"
SETS = {
    name: load_scenarios(CORPUS / name)
    for name in ("dev", "dev2", "dev3", "dev4", "dev5", "dev6", "dev7", "dev8", "dev9", "locked")
    if (CORPUS / name).is_dir()
}


def _run(name: str) -> list[ScenarioResult]:
    profiles: dict[Path, BusinessProfile] = {}
    return [run_scenario(file, scenario, profiles) for file, scenario in SETS[name]]


@pytest.mark.parametrize("name", sorted(SETS))
def test_every_value_written_was_read_back_before_the_yes(name: str) -> None:
    unread = {r.name: r.unread for r in _run(name) if r.unread}
    assert not unread, f"written without being said in the read-back: {unread}"


# The floors are what the rules reach today (dev 97 %, dev2 99 %, dev3 96 %, dev4 98 %, dev5 89 %, dev6 87 %,
# dev7 84 %, dev8 89 %), less a little, so a change that loses callers fails here; the goal (95 %) and the
# locked set's figures are in benchmarks/RESULTS.md. dev9 (80 %) is not held to a floor yet: it still holds
# a wrong write ("soy maite etcheverry de biarritz": the town taken into the name), open in #13.
@pytest.mark.parametrize(
    ("name", "floor", "size"),
    [
        ("dev", 0.90, 150),
        ("dev2", 0.90, 150),
        ("dev3", 0.88, 50),
        ("dev4", 0.93, 90),
        ("dev5", 0.85, 100),
        ("dev6", 0.82, 100),
        ("dev7", 0.80, 100),
        ("dev8", 0.85, 100),
    ],
)
def test_a_development_set_passes_its_floor_without_a_wrong_write(name: str, floor: float, size: int) -> None:
    results = _run(name)
    assert len(results) >= size
    wrong = [f"{r.name}: {r.failures}" for r in results if r.wrong_writes]
    assert not wrong, "\n".join(wrong)
    passed = sum(r.passed for r in results)
    assert passed / len(results) >= floor, [r.name for r in results if not r.passed]


def test_the_sets_cover_three_languages_and_every_kind_of_business() -> None:
    for name, scenarios in SETS.items():
        if name in (
            "dev3",
            "dev4",
            "dev5",
            "dev6",
            "dev7",
            "dev8",
            "dev9",
        ):  # smaller sets, on the harder calls (one breath, numbers, for others)
            continue
        assert len(scenarios) >= 150, name
        profiles = {s.get("profile", "demo").rsplit("/", 1)[-1] for _, s in scenarios}
        assert {"demo", "smile-dental.toml", "corner-shop.toml", "northwind-agency.toml"} <= profiles, name
