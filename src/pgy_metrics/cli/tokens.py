"""``pgy token create|list|revoke``."""

from __future__ import annotations

import asyncio
import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from pgy_metrics.cli.common import load_settings, open_issuer
from pgy_metrics.store.tokens import TokenNameTaken, TokenRecord

app = typer.Typer(help="Manage API tokens.", no_args_is_help=True)
stderr = Console(stderr=True)


@app.command()
def create(
    name: str = typer.Option(..., "--name", help="A unique name for the token's holder."),
    admin: bool = typer.Option(False, "--admin", help="Allow the admin API."),
) -> None:
    """Create a token and print it (only the token, on stdout). It is never shown again."""

    async def run() -> str:
        async with open_issuer(load_settings()) as issuer:
            issued = await issuer.create(name, is_admin=admin)
            return issued.token

    try:
        token = asyncio.run(run())
    except (TokenNameTaken, ValueError) as error:
        stderr.print(f"[red]error:[/] {error}", highlight=False)
        raise typer.Exit(1) from None
    typer.echo(token)
    stderr.print(f"Created token {name!r}. Store it now: it is shown only this once.")


@app.command("list")
def list_tokens(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """List tokens (names and states; tokens themselves are not stored)."""

    async def run() -> list[TokenRecord]:
        async with open_issuer(load_settings()) as issuer:
            return await issuer.list()

    records = asyncio.run(run())
    if as_json or not sys.stdout.isatty():
        for record in records:
            typer.echo(
                json.dumps(
                    {
                        "name": record.name,
                        "admin": record.is_admin,
                        "active": record.active,
                        "created_at": record.created_at.isoformat(),
                        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
                    },
                    ensure_ascii=False,
                )
            )
        return
    table = Table("name", "admin", "state", "created (UTC)")
    for record in records:
        table.add_row(
            record.name,
            "yes" if record.is_admin else "",
            "active" if record.active else f"revoked {record.revoked_at:%Y-%m-%d %H:%M}",
            f"{record.created_at:%Y-%m-%d %H:%M}",
        )
    Console().print(table)


@app.command()
def revoke(name: str = typer.Argument(..., help="Name of the token to revoke.")) -> None:
    """Revoke a token at once; its holder gets code 100 from then on."""

    async def run() -> bool:
        async with open_issuer(load_settings()) as issuer:
            return await issuer.revoke(name)

    if not asyncio.run(run()):
        stderr.print(f"[red]error:[/] no active token named {name!r}", highlight=False)
        raise typer.Exit(1)
    stderr.print(f"Revoked token {name!r}.")
