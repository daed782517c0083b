"""Entry point of ``pgy``: errors become a line on stderr and a non-zero exit, no traceback."""

from __future__ import annotations

import os
import sys

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from pgy_metrics import __version__
from pgy_metrics.cli import analysis, batch, config, demo, fetch, serve, tokens, usage

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
app.add_typer(tokens.app, name="token")
app.add_typer(config.app, name="config")
app.command("usage")(usage.usage)
app.command("report")(analysis.report)
app.command("plan")(analysis.plan)
app.command("demo")(demo.demo)

stderr = Console(stderr=True)


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
    try:
        app()
    except ValidationError as error:
        for problem in error.errors():
            where = ".".join(str(part) for part in problem["loc"]) or "settings"
            stderr.print(f"[red]error:[/] {where}: {problem['msg']}", highlight=False)
        sys.exit(2)
    except Exception as error:
        if os.environ.get("PGY_DEBUG"):
            raise
        stderr.print(f"[red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
        sys.exit(1)
