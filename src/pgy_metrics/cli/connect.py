"""The API options of ``pgy fetch`` and ``pgy batch`` and the client they open.

Everything about where to call and with which token is checked here, before a command reads its
input file or sends anything, and every message names the option and the environment variable
(``--token`` / ``PGY_TOKEN``), not the Python argument behind them. When no base URL was given the
command says which one it calls (the hosted API), so nobody targets it by accident.
"""

from __future__ import annotations

from typing import Any, cast

import typer

from pgy_metrics.cli.messages import USAGE_EXIT, fail, say
from pgy_metrics.client import Client
from pgy_metrics.client._constants import (
    AUTO_CANDIDATES,
    BASE_URL_ENV_VAR,
    DEFAULT_ENV,
    ENVIRONMENTS,
    TOKEN_ENV_VAR,
    Environment,
)
from pgy_metrics.contract.endpoints import base_url_problem

ENV_CHOICES = (*ENVIRONMENTS, "auto")


def _checked_token(value: str | None) -> str | None:
    if value is not None and (not value.strip() or any(c.isspace() for c in value)):
        raise typer.BadParameter("the token must be one word, without spaces or line breaks")
    return value


def _checked_base_url(value: str | None) -> str | None:
    problem = base_url_problem(value) if value is not None else None
    if problem is not None:
        raise typer.BadParameter(problem.removeprefix("base_url "))
    return value


def _checked_env(value: str | None) -> str | None:
    if value is not None and value not in ENV_CHOICES:
        raise typer.BadParameter(f"must be one of {', '.join(ENV_CHOICES)}; got {value!r}")
    return value


def token_option() -> Any:
    return typer.Option(
        None,
        "--token",
        envvar=TOKEN_ENV_VAR,
        help="API token. Better: the PGY_TOKEN variable (a command line is visible to others).",
        show_default=False,
        callback=_checked_token,
    )


def base_url_option() -> Any:
    return typer.Option(
        None,
        "--base-url",
        envvar=BASE_URL_ENV_VAR,
        help="The server to call, e.g. http://127.0.0.1:8000 (your pgy serve).",
        show_default=f"the hosted API, see --env ({ENVIRONMENTS[DEFAULT_ENV]})",
        callback=_checked_base_url,
    )


def env_option() -> Any:
    return typer.Option(
        None,
        "--env",
        help="Which host of the hosted API, without --base-url: global, cn or auto (the faster).",
        show_default=DEFAULT_ENV,
        callback=_checked_env,
    )


def open_client(token: str | None, base_url: str | None, env: str | None) -> Client:
    """The typed client, or exit 2 with a message naming the option to fix. Says on stderr
    which base URL it calls when none was given."""
    if not token:
        raise fail(
            f"no API token: give --token TOKEN or set {TOKEN_ENV_VAR} (on your own server, "
            "`pgy token create --name NAME` makes one)",
            code=USAGE_EXIT,
        )
    client = Client(token=token, base_url=base_url, env=cast(Environment | None, env))
    if base_url is None:
        chosen = env or DEFAULT_ENV
        where = (
            f"whichever of {', '.join(AUTO_CANDIDATES)} answers first"
            if chosen == "auto"
            else ENVIRONMENTS[chosen]
        )
        say(
            f"calling the hosted API at {where} (--env {chosen}; give --base-url or "
            f"{BASE_URL_ENV_VAR} for another server)"
        )
    return client
