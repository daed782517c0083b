"""How ``pgy`` speaks to people: one stderr console, one form for errors, one exit-code table.

Messages are handed to Rich as ``Text``, never as markup: a message that contains ``[...]`` (a
file name, a list, a user's input) prints as it is, and the red ``error:`` prefix is a style,
which Rich renders on a terminal and leaves out in a pipe or a log file (and under
``NO_COLOR``). So no markup tag can ever reach the reader literally.
"""

from __future__ import annotations

import warnings
from typing import TextIO

import typer
from rich.console import Console
from rich.text import Text

FAILED_EXIT = 1
"""The command ran but could not do what was asked (a server refused, the network failed, no
feasible plan, a name that does not exist)."""
USAGE_EXIT = 2
"""A usage mistake or bad settings: an option, argument, input file, settings file or ``PGY_*``
variable the user must fix, or an extra the command needs that is not installed. Click's own
usage errors exit 2 as well."""
INTERRUPTED_EXIT = 130
"""Stopped by Ctrl-C (SIGINT), as shells report it: 128 + 2."""

stderr = Console(stderr=True, highlight=False, soft_wrap=True)
"""Every message of every command goes here; stdout is for results only."""


def error_text(message: str) -> Text:
    """``error: MESSAGE`` with the prefix styled; the message is plain text, never markup."""
    return Text.assemble(("error:", "bold red"), " ", message)


def error(message: str, *, console: Console | None = None) -> None:
    """Print ``error: MESSAGE`` on stderr."""
    (console or stderr).print(error_text(message))


def fail(message: str, *, code: int = FAILED_EXIT) -> typer.Exit:
    """Print ``error: MESSAGE`` and return the exit for the caller to raise (so the type checker
    sees that the command ends there)."""
    error(message)
    return typer.Exit(code)


def say(message: str, *, style: str | None = None) -> None:
    """A line for the reader on stderr (progress, where things are), taken literally."""
    stderr.print(Text(message, style=style or ""))


def show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """``warnings.showwarning`` for the CLI: ``warning: TEXT`` in one line, without the source
    file and line that Python's default shows (they mean nothing to a user of ``pgy``)."""
    stderr.print(Text.assemble(("warning:", "bold yellow"), " ", str(message)))


def install_warning_printer() -> None:
    warnings.showwarning = show_warning
