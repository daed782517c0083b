"""Entry point of ``pgy``: errors become a line on stderr and an exit status from one table
(``cli.messages``: 2 usage or settings, 1 runtime failure, 130 interrupted), never a traceback.

This module and the command modules import only the plain install's libraries at the top (typer,
rich, pydantic, httpx): each command imports the server, the store or analytics inside its body,
so ``pgy --help``, ``pgy fetch`` and ``pgy batch`` work without the extras, and a command whose
extra is missing says which one to install (``pgy_metrics.extras``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import typer
from pydantic import ValidationError

from pgy_metrics import __version__
from pgy_metrics.cli import (
    accounts,
    analysis,
    backup,
    batch,
    config,
    demo,
    fetch,
    history,
    jobs,
    mcp,
    serve,
    tokens,
    usage,
    watch,
    worker,
)
from pgy_metrics.cli.messages import FAILED_EXIT, USAGE_EXIT, error, install_warning_printer
from pgy_metrics.contract.errors import ConfigError
from pgy_metrics.extras import missing_extra

app = typer.Typer(
    name="pgy",
    help="pgy-metrics: the Pugongying Note Performance Metrics API, client and analytics.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("serve")(serve.serve)
app.command("fetch")(fetch.fetch)
app.command("batch")(batch.batch)
app.command("history")(history.history)
app.add_typer(tokens.app, name="token")
app.add_typer(config.app, name="config")
app.command("usage")(usage.usage)
app.command("report")(analysis.report)
app.command("plan")(analysis.plan)
app.command("demo")(demo.demo)
app.command("mcp")(mcp.mcp)
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.command("worker")(worker.worker)
app.command("jobs")(jobs.jobs)
app.add_typer(accounts.app, name="accounts")
app.add_typer(watch.app, name="watch")

SETTINGS_OPTIONS = {
    "host": "--host",
    "port": "--port",
    "source": "--source",
    "replay_dir": "--replay-dir",
    "log_level": "--log-level",
    "collect": "--collect",
}
"""Settings that ``pgy serve`` also takes as options, named with them in messages."""


def settings_problem(problem: Any) -> str:
    """One problem of the server settings, named as the user sets it: ``PGY_PORT (or --port):
    Input should be a valid integer``."""
    message = str(problem["msg"]).removeprefix("Value error, ")
    location = [str(part) for part in problem["loc"]]
    if not location:
        return message
    name = f"PGY_{location[0].upper()}"
    option = SETTINGS_OPTIONS.get(location[0])
    where = ".".join(location[1:])
    return f"{name}{f' (or {option})' if option else ''}{f' {where}' if where else ''}: {message}"


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """pgy-metrics command line."""


def main() -> None:
    install_warning_printer()
    try:
        app()
    except ValidationError as problem:
        # Settings come from PGY_* variables and options: a bad one is the user's to fix.
        for each in problem.errors():
            error(settings_problem(each))
        sys.exit(USAGE_EXIT)
    except ConfigError as problem:
        # The whole family (a settings file, a source's or the analytics settings, a client
        # built with a bad token or URL): settings a person must fix, whichever layer found it.
        error(str(problem))
        sys.exit(USAGE_EXIT)
    except Exception as problem:
        if isinstance(problem, ImportError):
            # A library of an extra that is not installed: what to install, not a traceback.
            missing = missing_extra(command_name(sys.argv[1:]), problem)
            if missing is not None:
                error(missing)
                sys.exit(USAGE_EXIT)
        if os.environ.get("PGY_DEBUG"):
            raise
        error(describe(problem))
        sys.exit(FAILED_EXIT)


def command_name(args: Sequence[str]) -> str:
    """The command that ``args`` ran, as the user typed it: ``pgy token create`` for
    ``token create --name shop`` (the words that walk down the command tree; options skipped)."""
    import typer.main

    command: Any = typer.main.get_command(app)
    words = ["pgy"]
    for arg in args:
        if arg.startswith("-"):
            continue  # the root's and groups' options take no value
        commands = getattr(command, "commands", None)
        if not commands or arg not in commands:
            break
        command = commands[arg]
        words.append(arg)
    return " ".join(words)


def describe(problem: Exception) -> str:
    """An unexpected failure in words: SQLAlchemy's errors lose their SQL and their link to
    sqlalche.me and say which setting picks the database; anything else says what it says."""
    database_errors = sys.modules.get("sqlalchemy.exc")  # loaded if a database was used
    if database_errors is not None and isinstance(problem, database_errors.DBAPIError):
        detail = " ".join(str(problem.orig).split()) or type(problem.orig).__name__
        return (
            f"the database failed: {detail} (the store is PGY_DATABASE_URL, or the SQLite file "
            "under PGY_DATA_DIR)"
        )
    return str(problem) or type(problem).__name__
