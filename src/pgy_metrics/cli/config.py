"""``pgy config check FILE``: validate a settings file and name every problem."""

from __future__ import annotations

from pathlib import Path

import typer

from pgy_metrics.cli.messages import USAGE_EXIT, say

app = typer.Typer(help="Settings files.", no_args_is_help=True)


@app.command()
def check(path: Path = typer.Argument(..., help="The settings file (TOML).")) -> None:
    """Validate FILE: settings, sources, secrets readable, paths present. Exit 2 on any problem
    (bad settings, as everywhere in pgy)."""
    from pgy_metrics.service.config import ConfigError, load

    try:
        config = load(path)
    except ConfigError as error:
        say(str(error))
        raise typer.Exit(USAGE_EXIT) from None
    kinds = ", ".join(spec.type for spec in config.sources) or "none (PGY_SOURCE applies)"
    typer.echo(f"{path}: OK (sources in order: {kinds})")
