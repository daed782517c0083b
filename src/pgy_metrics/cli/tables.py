"""The tables ``pgy`` prints: 80 columns by default, every column with ``--wide``.

Rich cuts a cell short with "…" when a table is wider than the console, and a pipe is 80 columns
to Rich (or ``$COLUMNS``): that is how ``for…`` and ``30,0…`` came out of ``pgy plan | less``. So
each table declares which of its columns fit in 80 columns and which are shown only with
``--wide``; ids and numbers are never broken, text folds onto more lines rather than lose
characters; numbers are right-aligned and written by ``pgy_metrics.figures``, the rules the
reports use. With ``--wide`` the table is printed at its natural width, whatever the terminal's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table

from pgy_metrics.figures import FigureKind, format_figure

__all__ = ["NARROW_WIDTH", "Column", "PlainTable"]

NARROW_WIDTH = 80
"""What a default table must fit: a classic terminal, and what Rich assumes for a pipe."""
FOLD_WIDTH = 8
"""The narrowest a text column is folded to (in terminal cells) before the table grows instead."""
GUTTER = 3
"""Cells between two columns: padding, the (blank) rule, padding."""


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
    def folds(self) -> bool:
        return self.kind is FigureKind.TEXT and not self.whole


class PlainTable:
    """A table of figures: rules under the header only and no vertical lines, the narrowest box
    that still reads as a table, in a terminal and in a pipe."""

    def __init__(
        self,
        columns: Sequence[Column],
        *,
        wide: bool,
        title: str | None = None,
        caption: str | None = None,
    ) -> None:
        self.wide = wide
        self.columns = list(columns)
        self.shown = [column for column in columns if wide or not column.wide_only]
        self.title = title
        self.caption = caption
        self.rows: list[list[str]] = []

    def add_row(self, values: Sequence[object]) -> None:
        """One value per column (all of them, shown or not), written by ``format_figure``."""
        if len(values) != len(self.columns):
            raise ValueError(f"{len(values)} values for {len(self.columns)} columns")
        self.rows.append(
            [
                format_figure(value, column.kind)
                for column, value in zip(self.columns, values, strict=True)
                if column in self.shown
            ]
        )

    def print(self, console: Console) -> None:
        """Print at the console's width, or at the table's natural width with ``--wide``.

        Never narrower than ids and numbers whole and each text column folded to
        ``FOLD_WIDTH``: below that Rich would drop whole columns, so a terminal narrower than
        the table wraps the lines instead of losing data.
        """
        widths = [self._width(index) for index in range(len(self.shown))]
        gutters = GUTTER * (len(self.shown) - 1)
        if self.wide:
            needed = sum(widths) + gutters
        else:
            needed = gutters + sum(
                min(width, max(FOLD_WIDTH, self._longest_word(index))) if column.folds else width
                for index, (column, width) in enumerate(zip(self.shown, widths, strict=True))
            )
        table = self._rich_table()
        if needed <= console.width:
            console.print(table)
            return
        Console(
            file=console.file,
            width=needed,
            force_terminal=console.is_terminal,
            no_color=console.no_color,
            highlight=False,
        ).print(table)

    def _width(self, index: int) -> int:
        header = self.shown[index].header.splitlines() or [""]
        cells = [cell_len(line) for row in self.rows for line in row[index].splitlines()]
        return max([*(cell_len(line) for line in header), *cells, 1])

    def _longest_word(self, index: int) -> int:
        return max(cell_len(word) for word in self.shown[index].header.split() or [""])

    def _rich_table(self) -> Table:
        table = Table(
            title=self.title,
            caption=self.caption,
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
        )
        for column in self.shown:
            right = column.kind is not FigureKind.TEXT if column.right is None else column.right
            table.add_column(
                column.header,
                justify="right" if right else "left",
                no_wrap=not column.folds,
                overflow="fold",
            )
        for row in self.rows:
            table.add_row(*row)
        return table
