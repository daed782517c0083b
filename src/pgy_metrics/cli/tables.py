"""The tables ``pgy`` prints: 80 columns by default, every column with ``--wide``.

Rich cuts a cell short with "…" when a table is wider than the console, and a pipe is 80 columns
to Rich (or ``$COLUMNS``): that is how ``for…`` and ``30,0…`` came out of ``pgy plan | less``. So
each table declares which of its columns fit in 80 columns and which are shown only with
``--wide``; cells fold onto a second line rather than lose characters; numbers are right-aligned
and written by ``pgy_metrics.figures``, the rules the reports use. With ``--wide`` the table is
printed at its natural width, whatever the terminal's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from pgy_metrics.figures import FigureKind, format_figure

__all__ = ["NARROW_WIDTH", "Column", "new_table", "print_table", "row_cells"]

NARROW_WIDTH = 80
"""What a default table must fit: a classic terminal, and what Rich assumes for a pipe."""
NATURAL_WIDTH = 10_000
"""A width no table reaches: a ``--wide`` table is measured at it to find its natural width."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a printed table: its header, how its values are written, and whether it is
    shown only with ``--wide``."""

    header: str
    kind: FigureKind = FigureKind.TEXT
    wide_only: bool = False
    right: bool | None = None
    """Right-aligned; default: when the column holds numbers."""
    whole: bool = False
    """Never folded (an id): the other columns give way. Numbers are never folded either."""

    @property
    def numeric(self) -> bool:
        return self.kind is not FigureKind.TEXT


def shown(columns: Sequence[Column], *, wide: bool) -> list[Column]:
    """The columns a table shows: all with ``--wide``, else those that fit 80 columns."""
    return [column for column in columns if wide or not column.wide_only]


def new_table(
    columns: Sequence[Column],
    *,
    wide: bool,
    title: str | None = None,
    caption: str | None = None,
) -> Table:
    """An empty table with the columns to show. Rules under the header only, no vertical lines:
    the narrowest box that still reads as a table, in a terminal and in a pipe."""
    table = Table(
        title=title,
        caption=caption,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    for column in shown(columns, wide=wide):
        table.add_column(
            column.header,
            justify="right"
            if (column.numeric if column.right is None else column.right)
            else "left",
            no_wrap=column.numeric or column.whole,
            overflow="fold",
        )
    return table


def row_cells(columns: Sequence[Column], values: Sequence[object], *, wide: bool) -> list[str]:
    """One row's cells as text, for the columns shown (``values`` has one per column)."""
    return [
        format_figure(value, column.kind)
        for column, value in zip(columns, values, strict=True)
        if wide or not column.wide_only
    ]


def print_table(console: Console, table: Table, *, wide: bool) -> None:
    """Print ``table``; with ``--wide`` at its natural width, even past the terminal's edge."""
    if not wide:
        console.print(table)
        return
    options = console.options.update_width(NATURAL_WIDTH)
    natural = Measurement.get(console, options, table).maximum
    width = max(console.width, natural)
    Console(
        file=console.file,
        width=width,
        force_terminal=console.is_terminal,
        no_color=console.no_color,
        highlight=False,
    ).print(table)
