"""The layout rules of the ``pgy`` tables, on a console of a chosen width (a pipe's view)."""

from __future__ import annotations

import io

from rich.cells import cell_len
from rich.console import Console

from pgy_metrics.cli.tables import Column, PlainTable
from pgy_metrics.figures import FigureKind

COLUMNS = (
    Column("user_id", whole=True),
    Column("tag"),
    Column("price", FigureKind.MONEY),
    Column("note", wide_only=True),
)
USER = "5d21ab6b000000001201567d"
VALUES = (USER, "科技数码;出行旅游;酒店住宿;家居家装;个人护理", 1_234_567.5, "only with --wide")


def _printed(width: int, *, wide: bool) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None)
    table = PlainTable(COLUMNS, wide=wide)
    table.add_row(VALUES)
    table.print(console)
    return out.getvalue()


def test_a_long_text_folds_instead_of_being_cut() -> None:
    text = _printed(50, wide=False)
    assert "…" not in text
    assert all(cell_len(line) <= 50 for line in text.splitlines())
    assert USER in text and "1,234,567.50" in text  # an id and a number are never broken
    assert "".join(text.split()).count("酒店住宿") == 1  # every character is there
    assert "only with --wide" not in text and "note" not in text


def test_a_console_narrower_than_the_table_loses_no_column() -> None:
    text = _printed(30, wide=False)
    assert USER in text and "1,234,567.50" in text and "tag" in text


def test_wide_prints_every_column_at_its_natural_width() -> None:
    text = _printed(50, wide=True)
    row = next(line for line in text.splitlines() if line.startswith(USER))
    assert "酒店住宿" in row and "only with --wide" in row  # one line: not folded
    assert cell_len(row) > 50
