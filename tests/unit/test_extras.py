"""The plain install and its extras: every library the code imports belongs to the plain install
or to an extra; without the extras ``pgy --help``, the client, ``pgy fetch`` and ``pgy batch``
(JSONL, CSV) still import; a command whose extra is missing says in one line which to install.

A missing extra is simulated in a subprocess by ``sys.modules[name] = None``, which makes
``import name`` raise ``ModuleNotFoundError`` as a real absence does. The built wheel in a fresh
venv is tests/integration/test_light_install.py.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pgy_metrics.cli.main import command_name
from pgy_metrics.extras import EXTRAS, extra_for, install_command, missing_extra

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "pgy_metrics"
PLAIN = frozenset(
    {
        "httpx",
        "pydantic",
        "pydantic_core",
        "typer",
        "click",
        "rich",
        "platformdirs",
        "stamina",
        "anyio",  # httpx's
    }
)
"""Top-level modules of the plain install's libraries (and what they bring that we use)."""
USER = "5d21ab6b000000001201567d"


def _third_party_imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.partition(".")[0])
        elif isinstance(node, ast.Import):
            found.update(alias.name.partition(".")[0] for alias in node.names)
    return found - set(sys.stdlib_module_names) - {"pgy_metrics", "__future__"}


def test_every_library_the_code_imports_is_in_the_plain_install_or_an_extra() -> None:
    unknown = {
        str(path.relative_to(PACKAGE)): sorted(_third_party_imports(path) - PLAIN - set(EXTRAS))
        for path in sorted(PACKAGE.rglob("*.py"))
    }
    assert {path: names for path, names in unknown.items() if names} == {}


def test_each_extra_named_is_an_extra_of_pyproject_and_all_has_them_all() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    assert set(EXTRAS.values()) <= set(extras)
    (everything,) = extras["all"]
    named = everything.split("[", 1)[1].rstrip("]").split(",")
    assert sorted(named) == sorted(set(extras) - {"all"})
    heavy = ("fastapi", "sqlalchemy", "polars", "highspy", "numpy", "xlsxwriter", "alembic")
    assert not [dep for dep in project["dependencies"] if dep.startswith(heavy)]


def test_a_missing_module_is_mapped_to_its_extra() -> None:
    assert extra_for(ModuleNotFoundError("No module named 'polars'", name="polars")) == "analytics"
    assert extra_for(ModuleNotFoundError("x", name="sqlalchemy.ext.asyncio")) == "server"
    assert extra_for(ModuleNotFoundError("x", name="psycopg")) == "postgres"
    # Not an extra's module, no module name, or a broken module rather than a missing one.
    assert extra_for(ModuleNotFoundError("x", name="pgy_metrics.nothing")) is None
    assert extra_for(ModuleNotFoundError("x")) is None
    assert extra_for(ImportError("cannot import name 'x' from 'polars'", name="polars")) is None
    assert install_command("server") == "pip install 'pgy-metrics[server]'"
    assert missing_extra("pgy serve", ModuleNotFoundError("x", name="uvicorn")) == (
        "pgy serve needs the server extra: pip install 'pgy-metrics[server]'"
    )


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["serve", "--port", "8001"], "pgy serve"),
        (["token", "create", "--name", "shop"], "pgy token create"),
        (["config", "check", "pgy.toml"], "pgy config check"),
        (["report", "--from", "pool.jsonl"], "pgy report"),
        ([], "pgy"),
    ],
)
def test_the_command_is_named_as_typed(args: list[str], name: str) -> None:
    assert command_name(args) == name


def _pgy_without(
    blocked: frozenset[str], *args: str, tmp_path: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``pgy ARGS`` in a Python where the modules ``blocked`` cannot be imported."""
    code = (
        "import json, sys\n"
        f"for name in json.loads({json.dumps(json.dumps(sorted(blocked)))}):\n"
        "    sys.modules[name] = None\n"
        "sys.argv = ['pgy', *sys.argv[1:]]\n"
        "from pgy_metrics.cli.main import main\n"
        "main()\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("PGY_")}
    clean.update(PGY_DATA_DIR=str(tmp_path / "data"), NO_COLOR="1", COLUMNS="200")
    clean["XDG_STATE_HOME"] = str(tmp_path / "state")
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env={**clean, **(env or {})},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


EVERY_EXTRA = frozenset(EXTRAS)
SERVER = frozenset(name for name, extra in EXTRAS.items() if extra == "server")
ANALYTICS = frozenset(name for name, extra in EXTRAS.items() if extra == "analytics")
MCP = frozenset(name for name, extra in EXTRAS.items() if extra == "mcp")


def test_help_and_the_client_commands_load_without_any_extra(tmp_path: Path) -> None:
    for args in (
        ["--help"],
        ["fetch", "--help"],
        ["batch", "--help"],
        ["serve", "--help"],
        ["mcp", "--help"],
    ):
        result = _pgy_without(EVERY_EXTRA, *args, tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "Usage: pgy" in result.stdout
    code = (
        "import sys\n"
        f"for name in {sorted(EVERY_EXTRA)!r}:\n"
        "    sys.modules[name] = None\n"
        "import pgy_metrics\n"
        "from pgy_metrics.client import AsyncClient, Client\n"
        "from pgy_metrics.client.exports import open_export\n"
        "from pgy_metrics.contract import Envelope\n"
        "print(pgy_metrics.Client is Client)\n"
    )
    imported = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert imported.stdout.strip() == "True", imported.stderr


@pytest.mark.parametrize(
    ("blocked", "args", "line"),
    [
        (SERVER, ["serve"], "pgy serve needs the server extra"),
        (SERVER, ["token", "list"], "pgy token list needs the server extra"),
        (SERVER, ["usage"], "pgy usage needs the server extra"),
        (EVERY_EXTRA, ["demo"], "pgy demo needs the server and analytics extras"),
        (ANALYTICS, ["report"], "pgy report needs the analytics extra"),
        (MCP, ["mcp"], "pgy mcp needs the mcp extra"),
        (ANALYTICS, ["mcp"], "pgy mcp needs the analytics extra"),
    ],
)
def test_a_command_whose_extra_is_missing_says_which_to_install_in_one_line(
    blocked: frozenset[str], args: list[str], line: str, tmp_path: Path
) -> None:
    result = _pgy_without(blocked, *args, tmp_path=tmp_path)
    assert result.returncode == 2
    (only,) = result.stderr.splitlines()
    assert only.startswith(f"error: {line}")
    extras = only.split(" needs the ", 1)[1].split(" extra", 1)[0].split(" and ")
    assert only.endswith(f": {install_command(*extras)}")


def test_an_excel_export_without_the_analytics_extra_stops_before_fetching(
    tmp_path: Path,
) -> None:
    (tmp_path / "ids.txt").write_text(f"{USER}\n", encoding="utf-8")
    # Nothing listens on port 9: a fetch would fail with exit 1, not the extra's exit 2.
    env = {"PGY_TOKEN": "pgy_" + "x" * 43, "PGY_BASE_URL": "http://127.0.0.1:9"}
    for out, extra in (("pool.xlsx", "analytics"), ("pool.parquet", "analytics")):
        result = _pgy_without(
            ANALYTICS, "batch", "ids.txt", "--out", out, tmp_path=tmp_path, env=env
        )
        assert result.returncode == 2, result.stderr
        assert result.stderr.splitlines()[-1] == (
            f"error: pgy batch needs the {extra} extra: {install_command(extra)}"
        )
        assert not (tmp_path / out).exists()


def test_an_import_error_that_is_no_extra_stays_a_failure(tmp_path: Path) -> None:
    """A module of ours that cannot be imported is a broken install, not an extra to add."""
    result = _pgy_without(frozenset({"pgy_metrics.server.app"}), "serve", tmp_path=tmp_path)
    assert result.returncode == 1, result.stderr
    (only,) = result.stderr.splitlines()
    assert only.startswith("error: ") and "pgy_metrics.server.app" in only
    assert "extra" not in only
