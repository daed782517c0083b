"""The API options of ``pgy fetch``, ``pgy batch`` and ``pgy history``, and the client they open.

Everything about where to call and with which token is checked here, before a command reads its
input file or sends anything, and every message names the option and the environment variable
(``--token`` / ``PGY_TOKEN``), not the Python argument behind them. When no base URL was given the
command says which one it calls (the hosted API), so nobody targets it by accident.
"""

from __future__ import annotations

from enum import StrEnum
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
from pgy_metrics.contract.endpoints import ENDPOINTS, base_url_problem
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, IncreaseType, NoteType
from pgy_metrics.contract.params import ParamError, Scope

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


# --- scope options (pgy fetch, pgy history) -----------------------------------------------------


def choices(enum: type[StrEnum]) -> str:
    """``A, B.``: the values of an enum, for an option's help."""
    return ", ".join(member.value for member in enum) + "."


FILTER_OPTIONS = ("--business", "--note-type", "--date-type", "--advertise-switch")
"""The options of the four notes-rate scope filters, in the order of ``Scope.PARAMS``."""

ENDPOINT_OPTIONS = {
    "business": "--business",
    "noteType": "--note-type",
    "dateType": "--date-type",
    "advertiseSwitch": "--advertise-switch",
    "increaseType": "--increase-type",
}
"""The option of each endpoint parameter (by its API name)."""


def scope_option() -> Any:
    return typer.Option(
        None,
        "--scope",
        help="A scope key, e.g. COOPERATE_NOTE.VIDEO.DAY_90.ORGANIC_ONLY (instead of the four "
        "filters).",
        show_default="DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL",
    )


def business_option() -> Any:
    return typer.Option(None, help=choices(Business), show_default=Business.DAILY_NOTE.value)


def note_type_option() -> Any:
    return typer.Option(
        None, help=choices(NoteType), show_default=NoteType.PHOTO_TEXT_AND_VIDEO.value
    )


def date_type_option() -> Any:
    return typer.Option(None, help=choices(DateType), show_default=DateType.DAY_30.value)


def advertise_switch_option() -> Any:
    return typer.Option(None, help=choices(AdvertiseSwitch), show_default=AdvertiseSwitch.ALL.value)


def increase_type_option() -> Any:
    return typer.Option(
        None,
        help=choices(IncreaseType) + " (fans_history)",
        show_default=IncreaseType.FANS_TOTAL.value,
    )


def endpoint_option() -> Any:
    return typer.Option(
        "notes_rate",
        "--endpoint",
        help=f"Which endpoint: {', '.join(ENDPOINTS)}.",
    )


def parse_scope(key: str | None, filters: dict[str, str | None]) -> Scope:
    """The notes-rate scope from --scope or from the four filters (``FILTER_OPTIONS`` -> value),
    each message naming its option."""
    given = [option for option, value in filters.items() if value is not None]
    if key is not None:
        if given:
            raise ParamError(
                "--scope", f"give --scope or the filters ({', '.join(given)}), not both"
            )
        try:
            return Scope.from_key(key)
        except ParamError as problem:
            raise ParamError("--scope", f"--scope: {problem.message}") from None
    return Scope.from_params(filters, names=FILTER_OPTIONS)


def parse_endpoint(name: str) -> str:
    """A registered endpoint name, or a ``ParamError`` listing them."""
    if name not in ENDPOINTS:
        raise ParamError(
            "--endpoint", f"--endpoint must be one of {', '.join(ENDPOINTS)}; got {name!r}"
        )
    return name


def endpoint_params(endpoint: str, options: dict[str, str | None]) -> dict[str, str]:
    """The API parameters of a non-notes-rate endpoint from its options (API name -> value
    given, None when not), each checked; an option the endpoint does not take is refused."""
    spec = ENDPOINTS[endpoint]
    own = {param.name: param for param in spec.params}
    params: dict[str, str] = {}
    for name, value in options.items():
        if value is None:
            continue
        option = ENDPOINT_OPTIONS[name]
        if name not in own:
            takes = ", ".join(ENDPOINT_OPTIONS[p] for p in own) or "no scope options"
            raise ParamError(option, f"{option} does not apply to {endpoint} (it takes {takes})")
        try:
            params[name] = own[name].parse(value).value
        except ParamError as problem:
            raise ParamError(option, problem.message.replace(name, option, 1)) from None
    return params
