"""``pgy token create|list|show|update|topup|revoke``."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from pgy_metrics.cli.common import load_settings, open_issuer
from pgy_metrics.cli.messages import FAILED_EXIT, USAGE_EXIT, error, say
from pgy_metrics.contract.history import PERMISSIONS

if TYPE_CHECKING:
    from pgy_metrics.service.tokens import TokenIssuer
    from pgy_metrics.service.usage import Keep, TokenView
    from pgy_metrics.store.tokens import TokenRecord

# Server and store modules are imported where they are used, so that ``pgy`` starts without them.

app = typer.Typer(help="Manage API tokens and their plans.", no_args_is_help=True)
T = TypeVar("T")


def fail(message: str, *, status: int = FAILED_EXIT) -> NoReturn:
    """One line on stderr, then exit (1: the operation failed)."""
    error(message)
    raise typer.Exit(status)


def run_with_issuer(action: Callable[[TokenIssuer], Awaitable[T]]) -> T:
    """Run ``action`` on a token issuer over the configured store; unknown names exit 1."""
    from pgy_metrics.service.tokens import UnknownToken
    from pgy_metrics.store.tokens import TokenNameTaken

    settings = load_settings()  # bad PGY_* settings are the user's to fix: main exits 2

    async def run() -> T:
        async with open_issuer(settings) as issuer:
            return await action(issuer)

    try:
        return asyncio.run(run())
    except (UnknownToken, TokenNameTaken, ValueError) as error:
        fail(str(error))


# -- option values, checked before anything is opened (exit 2, naming the option) ---------------


def rate_option(value: str | None) -> str | None:
    from pgy_metrics.service.limits import InvalidRateLimit, parse_rate_limit

    if value is not None:
        try:
            parse_rate_limit(value)
        except InvalidRateLimit as error:
            raise typer.BadParameter(str(error)) from None
    return value


def endpoints_option(value: str | None) -> str | None:
    if value is not None:
        unknown = [name for name in _endpoint_names(value) if name not in PERMISSIONS]
        if unknown:
            raise typer.BadParameter(
                f"endpoints must be comma-separated names among {', '.join(PERMISSIONS)}; "
                f"unknown: {', '.join(unknown)}"
            )
    return value


def _endpoint_names(value: str) -> tuple[str, ...]:
    """``"notes_rate, notes_rate"`` -> ``("notes_rate",)``; ``""`` -> ``()`` (may call nothing)."""
    return tuple(dict.fromkeys(name.strip() for name in value.split(",") if name.strip()))


RATE_HELP = "Rate limits such as '10/second;300/minute' (per second, minute, hour or day)."
QUOTA_HELP = "Successful calls per day (the day of PGY_QUOTA_TIME_ZONE)."
ENDPOINTS_HELP = (
    f"Comma-separated endpoints the token may call, among: {', '.join(PERMISSIONS)} ('' for none)."
)
PRICE_HELP = "Credits per fresh answer."
CACHED_PRICE_HELP = "Credits per answer from a cached snapshot."
SERVER_PLAN = "the server's PGY_DEFAULT_{} without any plan option, else {}"
"""What a plan option left out of ``pgy token create`` means (docs/cli.md, pgy token create)."""
UNCHANGED = "unchanged"


# -- commands -----------------------------------------------------------------------------------


@app.command()
def create(
    name: str = typer.Option(..., "--name", help="A unique name for the token's holder."),
    admin: bool = typer.Option(False, "--admin", help="Allow the admin API."),
    rate: str | None = typer.Option(
        None,
        "--rate",
        help=RATE_HELP,
        callback=rate_option,
        show_default=SERVER_PLAN.format("RATE_LIMIT", "no limit"),
    ),
    daily_quota: int | None = typer.Option(
        None,
        "--daily-quota",
        min=0,
        help=QUOTA_HELP,
        show_default=SERVER_PLAN.format("DAILY_QUOTA", "no quota"),
    ),
    balance: int | None = typer.Option(
        None,
        "--balance",
        min=0,
        help="Prepaid credits; calls draw on them.",
        show_default=SERVER_PLAN.format("BALANCE", "unmetered"),
    ),
    endpoints: str | None = typer.Option(
        None,
        "--endpoints",
        help=ENDPOINTS_HELP,
        callback=endpoints_option,
        show_default=SERVER_PLAN.format("ENDPOINTS", "all, present and future"),
    ),
    price: int | None = typer.Option(
        None, "--price", min=0, help=PRICE_HELP, show_default="the server's PGY_PRICES"
    ),
    cached_price: int | None = typer.Option(
        None,
        "--cached-price",
        min=0,
        help=CACHED_PRICE_HELP,
        show_default="the server's PGY_CACHED_PRICES",
    ),
) -> None:
    """Create a token and print it (only the token, on stdout). It is never shown again.

    Without plan options the token gets the server's default plan (PGY_DEFAULT_*); with any of
    them it gets exactly the options given (the others: no limit).
    """
    from pgy_metrics.store.tokens import BillingPlan

    options = (rate, daily_quota, balance, endpoints, price, cached_price)
    plan = None
    if any(option is not None for option in options):
        plan = BillingPlan(
            rate_limit=rate,
            daily_quota=daily_quota,
            balance=balance,
            endpoints=_endpoint_names(endpoints) if endpoints is not None else None,
            price=price,
            cached_price=cached_price,
        )

    async def issue(issuer: TokenIssuer) -> str:
        return (await issuer.create(name, is_admin=admin, plan=plan)).token

    typer.echo(run_with_issuer(issue))
    say(f"Created token {name!r}. Store it now: it is shown only this once.")


@app.command("list")
def list_tokens(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per line."),
) -> None:
    """List tokens (names and states; tokens themselves are not stored)."""

    async def run(issuer: TokenIssuer) -> list[TokenRecord]:
        return await issuer.list()

    records = run_with_issuer(run)
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
def show(name: str = typer.Argument(..., help="Name of the token.")) -> None:
    """Print a token's plan, today's use and what is in flight, as JSON on stdout."""

    async def run(issuer: TokenIssuer) -> TokenView:
        return await issuer.show(name)

    typer.echo(run_with_issuer(run).model_dump_json(indent=2))


@app.command()
def update(
    name: str = typer.Argument(..., help="Name of the token."),
    rate: str | None = typer.Option(
        None, "--rate", help=RATE_HELP, callback=rate_option, show_default=UNCHANGED
    ),
    no_rate: bool = typer.Option(False, "--no-rate", help="Lift the rate limit."),
    daily_quota: int | None = typer.Option(
        None, "--daily-quota", min=0, help=QUOTA_HELP, show_default=UNCHANGED
    ),
    no_daily_quota: bool = typer.Option(False, "--no-daily-quota", help="Lift the daily quota."),
    endpoints: str | None = typer.Option(
        None,
        "--endpoints",
        help=ENDPOINTS_HELP,
        callback=endpoints_option,
        show_default=UNCHANGED,
    ),
    all_endpoints: bool = typer.Option(
        False, "--all-endpoints", help="Allow every endpoint, present and future."
    ),
    price: int | None = typer.Option(
        None, "--price", min=0, help=PRICE_HELP, show_default=UNCHANGED
    ),
    server_price: bool = typer.Option(
        False, "--server-price", help="Charge the server's price again (PGY_PRICES)."
    ),
    cached_price: int | None = typer.Option(
        None, "--cached-price", min=0, help=CACHED_PRICE_HELP, show_default=UNCHANGED
    ),
    server_cached_price: bool = typer.Option(
        False,
        "--server-cached-price",
        help="Charge the server's cached price again (PGY_CACHED_PRICES).",
    ),
) -> None:
    """Change a token's plan; options left out stay as they are. Prints the token as JSON.

    The balance is not changed here: it grows only through `pgy token topup`, so the ledger
    explains every credit.
    """
    from pgy_metrics.service.usage import KEEP

    changes: dict[str, Any] = {
        "rate_limit": _change("--rate", rate, "--no-rate", no_rate),
        "daily_quota": _change("--daily-quota", daily_quota, "--no-daily-quota", no_daily_quota),
        "endpoints": _change(
            "--endpoints",
            _endpoint_names(endpoints) if endpoints is not None else None,
            "--all-endpoints",
            all_endpoints,
        ),
        "price": _change("--price", price, "--server-price", server_price),
        "cached_price": _change(
            "--cached-price", cached_price, "--server-cached-price", server_cached_price
        ),
    }
    changes = {field: value for field, value in changes.items() if value is not KEEP}
    if not changes:
        fail(
            "nothing to change: give --rate/--no-rate, --daily-quota/--no-daily-quota, "
            "--endpoints/--all-endpoints, --price/--server-price or "
            "--cached-price/--server-cached-price",
            status=USAGE_EXIT,
        )

    async def run(issuer: TokenIssuer) -> TokenView:
        return await issuer.update_plan(name, **changes)

    view = run_with_issuer(run)
    typer.echo(view.model_dump_json(indent=2))
    say(f"Changed the plan of {name!r}: {', '.join(changes)}.")


def _change(option: str, value: T | None, lift: str, lifted: bool) -> T | Keep | None:
    from pgy_metrics.service.usage import KEEP

    if value is not None and lifted:
        raise typer.BadParameter(
            f"give {option} or {lift}, not both", param_hint=f"'{option}' / '{lift}'"
        )
    if lifted:
        return None
    return KEEP if value is None else value


@app.command()
def topup(
    name: str = typer.Argument(..., help="Name of the token."),
    credits: int = typer.Argument(..., min=1, help="Credits to add (a whole number > 0)."),
) -> None:
    """Add credits to a token's balance (a ledger row) and print the new balance on stdout.

    An unmetered token becomes metered: from then on its calls draw on the balance.
    """

    async def run(issuer: TokenIssuer) -> int:
        return await issuer.topup(name, credits)

    balance = run_with_issuer(run)
    typer.echo(balance)
    say(f"Added {credits} credits to {name!r}; the balance is {balance}.")


@app.command()
def revoke(name: str = typer.Argument(..., help="Name of the token to revoke.")) -> None:
    """Revoke a token at once; its holder gets code 100 from then on."""

    async def run(issuer: TokenIssuer) -> bool:
        return await issuer.revoke(name)

    if not run_with_issuer(run):
        fail(f"no active token named {name!r}")
    say(f"Revoked token {name!r}.")
