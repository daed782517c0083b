"""``pgy config check FILE``: validate a settings file and name every problem."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(help="Settings files.", no_args_is_help=True)
stderr = Console(stderr=True)


@app.command()
def check(path: Path = typer.Argument(..., help="The settings file (TOML).")) -> None:
    """Validate FILE: settings, sources, secrets readable, paths present. Exit 1 on any problem."""
    from pgy_metrics.server.config import ConfigError, load

    try:
        config = load(path)
    except ConfigError as error:
        stderr.print(str(error), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    kinds = ", ".join(spec.type for spec in config.sources) or "none (PGY_SOURCE applies)"
    typer.echo(f"{path}: OK (sources in order: {kinds})")
