"""The run command installs what the daemon imports: no runtime import may come from a dev-only extra."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from .conftest import ROOT


def _runtime_imports() -> set[str]:
    found = set()
    for path in (ROOT / "appliance").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"appliance"}


def _name(requirement: str) -> str:
    found = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert found, requirement
    return found.group().lower().replace("_", "-")


def test_every_third_party_import_of_the_daemon_is_a_declared_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {_name(r) for r in project["dependencies"]}
    # extras the run command installs too (models, llm) and modules imported only where they exist
    for extra in ("models", "llm", "talk"):
        declared |= {_name(r) for r in project["optional-dependencies"][extra]}
    owners = packages_distributions()
    missing = {}
    for module in sorted(_runtime_imports()):
        dists = {d.lower().replace("_", "-") for d in owners.get(module, [])}
        if dists and not dists & declared:
            missing[module] = sorted(dists)
    assert not missing, f"imported by appliance/ but not in [project] dependencies: {missing}"
