"""The CLI's pure pieces of messages: the error line, settings named as users set them, rows
that say their text once, checkpoint names, retries counted, and a default in every --help."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic import ValidationError
from rich.console import Console
from stamina.instrumentation import RetryDetails

from pgy_metrics.cli import messages
from pgy_metrics.cli.batch import checkpoint_for
from pgy_metrics.cli.main import app, settings_problem
from pgy_metrics.cli.messages import FAILED_EXIT, INTERRUPTED_EXIT, USAGE_EXIT, error
from pgy_metrics.cli.retries import RetryCounter
from pgy_metrics.client import CollectionFailed, PlainHTTPWarning
from pgy_metrics.service.settings import Settings
from pgy_metrics.sheets import RowProblem

MESSAGE = "cannot read [data]/ids.txt: got '[red]x[/]'"
"""A message that looks like Rich markup: it must print as it is."""


def _printed(*, terminal: bool) -> str:
    out = io.StringIO()
    if terminal:
        console = Console(file=out, force_terminal=True, color_system="standard", width=200)
    else:  # what the CLI's console is in a pipe or a log file
        console = Console(file=out, width=200)
    error(MESSAGE, console=console)
    return out.getvalue()


def test_an_error_is_red_on_a_terminal_and_plain_elsewhere_and_never_reads_markup() -> None:
    on_terminal = _printed(terminal=True)
    assert "\x1b[" in on_terminal and "error:" in on_terminal
    assert MESSAGE in on_terminal  # the message itself is not parsed as markup
    in_a_pipe = _printed(terminal=False)
    assert in_a_pipe == f"error: {MESSAGE}\n"


def _settings_errors(**values: Any) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        Settings(**values)
    return list(caught.value.errors())


def test_settings_problems_name_the_variable_and_the_option() -> None:
    (port,) = _settings_errors(port="abc")
    assert settings_problem(port).startswith("PGY_PORT (or --port): ")
    (zone,) = _settings_errors(record_time_zone="Mars/Base")
    assert settings_problem(zone).startswith("PGY_RECORD_TIME_ZONE: ")
    (replay,) = _settings_errors(source="replay", replay_dir="/no/such/folder")
    text = settings_problem(replay)
    assert "--replay-dir" in text and "PGY_REPLAY_DIR" in text and "Value error" not in text


def test_a_row_problem_shows_its_text_once() -> None:
    quoted = RowProblem(4, "NOTANID", "userId must be 24 hex characters; got 'NOTANID'.")
    assert str(quoted) == "line 4: userId must be 24 hex characters; got 'NOTANID'."
    unquoted = RowProblem(7, "https://example.com/x", "not a profile URL")
    assert str(unquoted) == "line 7: not a profile URL ('https://example.com/x')"
    long = "x" * 60
    shortened = RowProblem(2, long, f"must be hex; got {long[:40] + '...'!r}.")
    assert str(shortened).count("xxxxxxxxxx") == 4  # the reason's 40 characters, not 100


def test_a_checkpoint_is_named_after_its_export_and_keyed_by_its_path(tmp_path: Path) -> None:
    folder = tmp_path / "checkpoints"
    here = checkpoint_for(tmp_path / "a" / "out.csv", folder)
    assert here.parent == folder and here.name.startswith("out.csv-") and here.suffix == ".sqlite"
    assert checkpoint_for(tmp_path / "a" / "out.csv", folder) == here
    assert checkpoint_for(tmp_path / "b" / "out.csv", folder) != here


def test_retries_are_counted_with_a_line_about_the_latest() -> None:
    seen: list[int] = []
    counter = RetryCounter(lambda c: seen.append(c.count))
    cause = CollectionFailed("Upstream collection failed.", request_id="r-1")
    for number in (1, 2):
        counter(RetryDetails("call", (), {}, number, 0.5 * number, 0.0, cause))
    assert counter.count == 2 and seen == [1, 2]
    assert (
        counter.latest == "retry 2 in 1.0 s: Upstream collection failed. (code 301, request id r-1)"
    )


def _options() -> list[tuple[str, Any]]:
    found = []

    def walk(group: Any, prefix: str) -> None:
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                walk(command, f"{prefix} {name}")
                continue
            for param in command.params:
                if param.param_type_name == "option" and param.name != "help":
                    found.append((f"{prefix} {name} {param.opts[0]}", param))

    walk(typer.main.get_command(app), "pgy")
    return found


SECRETS = {
    "pgy fetch --token",
    "pgy batch --token",
    "pgy mcp --token",
    "pgy history --token",
    "pgy plan --token",
    "pgy report --token",
}
"""Options whose value is a secret: no default exists and none may be shown."""


def test_every_option_of_every_command_shows_its_default_in_help() -> None:
    missing = []
    for name, param in _options():
        if param.required or name in SECRETS:
            continue
        if param.is_flag and not param.secondary_opts and param.default is False:
            continue  # an on/off switch: off unless given
        shown = param.show_default
        if not (isinstance(shown, str) and shown) and (param.default is None or shown is False):
            missing.append(name)
    assert missing == [], f"give these options a default in --help (show_default): {missing}"


DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"


def test_docs_cli_has_the_exit_code_table_and_every_option_in_its_section() -> None:
    text = DOCS.read_text(encoding="utf-8")
    table = text.split("## Exit status", 1)[1].split("\n## ", 1)[0]
    for status in (0, FAILED_EXIT, USAGE_EXIT, INTERRUPTED_EXIT):
        assert f"\n| {status} |" in table
    missing = []
    for name, param in _options():
        command = name.rsplit(" ", 1)[0]
        section = text.split(f"## `{command}`", 1)[1].split("\n## ", 1)[0]
        missing += [option for option in param.opts + param.secondary_opts if option not in section]
    assert missing == [], f"document these options in docs/cli.md: {missing}"


def test_no_help_text_holds_brackets_that_rich_would_take_for_markup() -> None:
    eaten = [name for name, param in _options() if param.help and "[" in param.help]
    assert eaten == []


def test_a_warning_is_one_line_without_a_source_location(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    monkeypatch.setattr(messages, "stderr", Console(file=out, width=200))
    messages.show_warning(PlainHTTPWarning("plain HTTP [x]"), PlainHTTPWarning, "/x/_base.py", 9)
    assert out.getvalue() == "warning: plain HTTP [x]\n"
