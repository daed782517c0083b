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
    # analytics and figures: the web console's creator page (analytics imported lazily, since
    # the analytics extra is optional for a server); sheets: its watchlist uploads.
    "server": frozenset(
        {
            "server",
            "service",
            "sources",
            "store",
            "contract",
            "clock",
            "analytics",
            "figures",
            "sheets",
        }
    ),
    "client": frozenset({"client", "contract", "sheets", "query_token"}),
    "analytics": frozenset({"analytics", "store", "contract", "sheets", "figures"}),
    "mcp_server": frozenset({"client", "contract", "analytics", "sheets", "figures"}),
    "sheets": frozenset(),
    "figures": frozenset(),
    "extras": frozenset(),
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


def _module_name(path: Path) -> str:
    parts = ["pgy_metrics", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _module_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (any import, lazy or not), by dotted name.

    ``from pgy_metrics.a import b`` counts as importing ``pgy_metrics.a.b`` when that is a module
    of ours, else ``pgy_metrics.a``; a package's ``__init__`` is a module like any other.
    """
    paths = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    edges.add(sub if sub in paths else node.module)
            elif isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names)
        graph[name] = {edge for edge in edges if edge in paths and edge != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for edge in sorted(graph[node]):
            if edge not in index:
                visit(edge)
                low[node] = min(low[node], low[edge])
            elif edge in on_stack:
                low[node] = min(low[node], index[edge])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles_between_our_modules() -> None:
    """Lazy imports included: a cycle hidden in a function is still two modules that cannot be
    understood (or moved to another layer) one without the other."""
    assert _cycles(_module_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


SERVER_STARTERS = frozenset({"serve.py", "demo.py"})
"""The CLI modules that start the server (and so may import it)."""


def test_the_cli_imports_the_server_only_to_start_it() -> None:
    wrong = sorted(
        path.name
        for path in (PACKAGE / "cli").glob("*.py")
        if "server" in _project_imports(path) and path.name not in SERVER_STARTERS
    )
    assert wrong == []
