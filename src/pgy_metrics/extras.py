"""Which extra of ``pip install pgy-metrics[...]`` a missing import belongs to.

A plain install is the typed client with ``pgy fetch`` and ``pgy batch`` (JSONL and CSV export);
the server, the store, analytics and Excel/Parquet files come with extras (docs/install.md). Every
module imports the libraries of an extra lazily, inside what needs them, so the rest keeps working
without it; this table turns the ``ModuleNotFoundError`` such an import raises into the one line a
user can act on (``pgy serve needs the server extra: pip install 'pgy-metrics[server]'``).

Standard library only: it is read when something failed to import.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

EXTRAS: Final[Mapping[str, str]] = MappingProxyType(
    {
        # server: the API server, its store (SQLite by default) and token administration.
        "fastapi": "server",
        "starlette": "server",
        "uvicorn": "server",
        "httptools": "server",  # uvicorn[standard]'s HTTP parser: server.caps bounds heads with it
        "pydantic_settings": "server",
        "sqlalchemy": "server",
        "aiosqlite": "server",
        "alembic": "server",
        "limits": "server",
        "coredis": "server",
        "aiolimiter": "server",
        "prometheus_client": "server",
        "procrastinate": "server",  # the collection queue: pgy worker, pgy jobs, --collect queue
        # postgres: the store on PostgreSQL (SQLAlchemy's psycopg driver).
        "psycopg": "postgres",
        # analytics: reports, the planner, XLSX and Parquet files (written and read).
        "polars": "analytics",
        "highspy": "analytics",
        "numpy": "analytics",
        "xlsxwriter": "analytics",
        "openpyxl": "analytics",
        "jinja2": "analytics",
        "markupsafe": "analytics",
        "altair": "analytics",  # the report charts' Vega-Lite specs
        "vl_convert": "analytics",  # ... drawn to SVG offline for the HTML report
        # mcp: pgy mcp, the Model Context Protocol server (the official SDK; the extra brings
        # analytics too, which its analyst tools run).
        "mcp": "mcp",
        # pandas: DataFrames for notebooks.
        "pandas": "pandas",
        "pyarrow": "pandas",
    }
)
"""Top-level module -> the extra that installs it (only the modules our code imports)."""


def extra_for(problem: ImportError) -> str | None:
    """The extra whose module ``problem`` could not import, or None when no extra has it (a
    broken install, or a module of ours: then the error is not a missing extra)."""
    if not isinstance(problem, ModuleNotFoundError) or not problem.name:
        return None
    return EXTRAS.get(problem.name.partition(".")[0])


COMMANDS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {"pgy demo": ("server", "analytics")}
)
"""Commands that need more than one extra: named all at once, not one per failed attempt."""


def install_command(*extras: str) -> str:
    """The command that adds ``extras`` (quoted: shells expand the brackets)."""
    return f"pip install 'pgy-metrics[{','.join(extras)}]'"


def missing_extra(what: str, problem: ImportError) -> str | None:
    """``{what} needs the {extra} extra: pip install 'pgy-metrics[{extra}]'``, or None when
    ``problem`` is not a missing extra."""
    extra = extra_for(problem)
    if extra is None:
        return None
    needed = COMMANDS.get(what, ())
    if extra in needed:
        return f"{what} needs the {' and '.join(needed)} extras: {install_command(*needed)}"
    return f"{what} needs the {extra} extra: {install_command(extra)}"
