"""Docs that fall behind the code fail the build (datasette's habit)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer.main

from pgy_metrics.cli.main import app
from pgy_metrics.service.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    names = [*Settings.model_fields, "config"]  # PGY_CONFIG: the settings file itself
    missing = [name for name in names if f"PGY_{name.upper()}" not in text]
    assert not missing, f"document these settings in docs/configuration.md: {missing}"


def _commands(group: Any, prefix: str = "pgy") -> list[str]:
    names = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a group (typer may vendor its own click)
            names += _commands(command, f"{prefix} {name}")
        else:
            names.append(f"{prefix} {name}")
    return names


def test_every_cli_command_is_documented() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    root = typer.main.get_command(app)
    missing = [name for name in _commands(root) if f"## `{name}`" not in text]
    assert not missing, f"document these commands in docs/cli.md: {missing}"


def test_readme_quick_start_is_two_commands_and_ci_runs_the_test_one() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in quick.strip().splitlines()]
    assert commands == ["./dev serve", "./dev check"]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert re.search(r"^exec \./dev check$", ci, re.MULTILINE)
    assert "PGY_REQUIRE_SERVICES=1" in ci


FENCE = re.compile(r"^ *```[\w+-]*$")


def test_every_code_fence_of_the_docs_is_whole() -> None:
    """A fence is a line of its own (``` and at most a language), and each one that opens closes:
    text glued to a fence turns the rest of the page into code."""
    problems = []
    for path in sorted(ROOT.glob("**/*.md")):
        if any(part.startswith(".") for part in path.relative_to(ROOT).parts):
            continue  # .venv, .tools, caches
        fences = 0
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if "```" not in line:
                continue
            if not FENCE.match(line):
                problems.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:60]}")
            fences += 1
        if fences % 2:
            problems.append(f"{path.relative_to(ROOT)}: a code block is never closed")
    assert problems == [], "broken code fences:\n" + "\n".join(problems)


def test_the_api_page_lists_every_registered_endpoint_with_its_parameters() -> None:
    """docs/api.md follows the endpoint registry: each path, and each parameter's default and
    values, as the spec says (a spec changed without its page fails here)."""
    from pgy_metrics.contract.endpoints import ENDPOINTS

    page = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")
    for spec in ENDPOINTS.values():
        assert f"GET {spec.path}" in page, spec.name
        for param in spec.params:
            row = next(
                (line for line in page.splitlines() if line.startswith(f"| `{param.name}` |")),
                None,
            )
            assert row is not None, (spec.name, param.name)
            assert f"| `{param.default.value}` |" in row, (spec.name, param.name)
            for value in param.values:
                assert f"`{value.value}`" in row, (spec.name, param.name, value)
