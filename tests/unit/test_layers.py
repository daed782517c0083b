"""The layers of docs/architecture.md, kept by a test: each package imports only what it may.

Reads every module's imports with ``ast`` (nothing is imported), including imports inside
functions and under ``TYPE_CHECKING``, so a lazy import cannot hide a wrong dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "pgy_metrics"

ALLOWED: dict[str, frozenset[str]] = {
    "contract": frozenset({"contract"}),
    "sources": frozenset({"sources", "contract", "clock", "query_token"}),
    "store": frozenset({"store", "contract"}),
    "service": frozenset({"service", "sources", "store", "contract", "clock"}),
    "server": frozenset({"server", "service", "sources", "store", "contract", "clock"}),
    "client": frozenset({"client", "contract", "sheets", "query_token"}),
    "analytics": frozenset({"analytics", "store", "contract", "sheets", "figures"}),
    "sheets": frozenset(),
    "figures": frozenset(),
    "query_token": frozenset(),
}
"""Layer -> the project packages it may import (``cli`` may import any of them)."""


def _project_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "pgy_metrics" and len(parts) > 1:
                found.add(parts[1])
    return found


def _modules(layer: str) -> list[Path]:
    folder = PACKAGE / layer
    return sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{layer}.py"]


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_each_layer_imports_only_what_it_may(layer: str) -> None:
    wrong = {
        str(path.relative_to(PACKAGE)): sorted(_project_imports(path) - ALLOWED[layer] - {layer})
        for path in _modules(layer)
    }
    assert {path: names for path, names in wrong.items() if names} == {}


def test_every_package_has_a_rule() -> None:
    layers = {p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("_")}
    assert layers - {"cli"} <= set(ALLOWED)
