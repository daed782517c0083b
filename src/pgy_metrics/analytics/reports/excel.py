"""The XLSX report: one sheet per view, typed cells, two frozen header rows.

Follows the client's export (``client/exports.py``) without importing it (analytics may import
only ``contract`` and ``store``): numbers are written as numbers with a format per kind, missing
values are empty cells (never 0), and the header is frozen. Unlike the export, the Chinese label
row comes first (analysts read it) and the English name row second (formulas and scripts use it);
the autofilter sits on the English row. A synthetic report puts a notice row above the headers on
every sheet and freezes three rows instead of two.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import polars as pl

from pgy_metrics.analytics.reports.data import (
    SYNTHETIC_NOTICE,
    XLSX_NUMBER_FORMATS,
    CellKind,
    ReportData,
    SummaryRow,
    column_kind,
    column_label,
)

__all__ = ["SHEETS", "write_xlsx"]

SHEETS = {
    "overview": "概览 Overview",
    "benchmark": "基准 Benchmark",
    "indicators": "指标 Indicators",
    "flags": "风险 Flags",
    "scopes": "数据 Scopes",
    "creators": "达人 Creators",
    "plan": "方案 Plan",
    "greedy": "对比 Greedy",
    "frontier": "前沿 Frontier",
    "excluded": "排除 Excluded",
    "methodology": "方法 Methodology",
}
"""Sheet names, in workbook order; the plan sheets exist only when the report has a plan,
``creators`` only when it has the marketplace's creator facts, ``excluded`` only when a plan
left creators out."""

OVERVIEW_COLUMNS = ["item_zh", "item", "value"]
OVERVIEW_LABELS = ["项目", "项目(英文)", "值"]
"""The overview sheet: each item labelled in Chinese and in English, then its value."""
HEADER_ROWS = 2
"""The Chinese labels, then the English column names."""
MIN_COLUMN_WIDTH = 8
MAX_COLUMN_WIDTH = 60
WIDTH_SAMPLE_ROWS = 200
"""Rows looked at to size a column; enough to be representative, cheap on 100k-row scopes."""
WIDTH_PADDING = 2
XLSX_MAX_ROWS = 1_048_576
"""Excel's rows per sheet (the notice and header rows included)."""


def _display_width(text: str) -> int:
    """Excel column units: CJK characters are about two Latin characters wide."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _cell_text(value: object) -> str | None:
    """Non-numeric values as the text written to the cell; ``None`` for an empty cell."""
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(str(item) for item in value)
    return str(value)


class _Book:
    """One xlsxwriter workbook with the report's formats, writing table-shaped sheets."""

    def __init__(self, path: Path, *, notice: str | None) -> None:
        import xlsxwriter  # type: ignore[import-untyped]

        # constant_memory: each row goes to a temp file once the next starts (rows are written in
        # order), so a 100k-row scopes sheet does not sit in memory as cell objects.
        self._book: Any = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        self._notice = notice
        self._header = self._book.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
        self._notice_format = self._book.add_format(
            {"bold": True, "font_color": "#9C0006", "bg_color": "#FFC7CE"}
        )
        self._formats = {
            kind: self._book.add_format({"num_format": number_format})
            for kind, number_format in XLSX_NUMBER_FORMATS.items()
        }

    def close(self) -> None:
        self._book.close()

    def table(
        self,
        name: str,
        columns: Sequence[str],
        rows: Iterable[Sequence[object]],
        *,
        kinds: Sequence[CellKind],
        labels: Sequence[str] | None = None,
        row_kinds: Sequence[Sequence[CellKind]] | None = None,
        freeze_first_column: bool = True,
    ) -> None:
        """A sheet: optional notice row, Chinese and English header rows (frozen), typed rows."""
        sheet = self._book.add_worksheet(name)
        top = 0
        if self._notice is not None:
            sheet.write_string(0, 0, self._notice, self._notice_format)
            top = 1
        header_zh = list(labels) if labels is not None else [column_label(c) for c in columns]
        sheet.write_row(top, 0, header_zh, self._header)
        sheet.write_row(top + 1, 0, list(columns), self._header)
        first_data = top + HEADER_ROWS
        sheet.freeze_panes(first_data, 1 if freeze_first_column else 0)
        sample: list[Sequence[object]] = []
        count = 0
        for offset, row in enumerate(rows):
            if first_data + offset >= XLSX_MAX_ROWS:
                raise ValueError(
                    f"the {name!r} sheet needs more than Excel's {XLSX_MAX_ROWS:,} rows; "
                    "write that table as a tidy CSV or Parquet export instead"
                )
            cell_kinds = row_kinds[offset] if row_kinds is not None else kinds
            for index, value in enumerate(row):
                self._cell(sheet, first_data + offset, index, value, cell_kinds[index])
            if offset < WIDTH_SAMPLE_ROWS:
                sample.append(row)
            count = offset + 1
        if columns:
            last_row = first_data + max(count, 1) - 1
            sheet.autofilter(top + 1, 0, last_row, len(columns) - 1)
        self._widths(sheet, columns, header_zh, sample)

    def _cell(self, sheet: Any, row: int, column: int, value: object, kind: CellKind) -> None:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return  # an empty cell, never 0
        if isinstance(value, bool):
            sheet.write_boolean(row, column, value)
        elif isinstance(value, int | float):
            number_kind = CellKind.NUMBER if kind is CellKind.TEXT else kind
            sheet.write_number(row, column, value, self._formats[number_kind])
        else:
            sheet.write_string(row, column, _cell_text(value), self._formats[CellKind.TEXT])

    @staticmethod
    def _widths(
        sheet: Any,
        columns: Sequence[str],
        header_zh: Sequence[str],
        sample: Sequence[Sequence[object]],
    ) -> None:
        for index, column in enumerate(columns):
            texts = [column, header_zh[index]]
            for row in sample:
                value = row[index]
                if isinstance(value, int | float) and not isinstance(value, bool):
                    texts.append(f"{value:,.2f}")
                else:
                    texts.append(_cell_text(value) or "")
            width = max(_display_width(text) for text in texts) + WIDTH_PADDING
            sheet.set_column(index, index, min(max(width, MIN_COLUMN_WIDTH), MAX_COLUMN_WIDTH))

    def frame(self, name: str, frame: pl.DataFrame) -> None:
        """A sheet from a polars frame: kinds from the column names and dtypes."""
        kinds = [column_kind(column, frame.schema[column]) for column in frame.columns]
        self.table(name, frame.columns, frame.iter_rows(), kinds=kinds)


def _overview_cells(row: SummaryRow) -> tuple[tuple[object, ...], tuple[CellKind, ...]]:
    """An overview row: both labels, then the value as a typed number (with its kind's format)
    or as the text a person reads (``是 yes``, ``不可比 not comparable``), never a boolean."""
    labels = (CellKind.TEXT, CellKind.TEXT)
    number = isinstance(row.value, int | float) and not isinstance(row.value, bool)
    if number and row.kind is not CellKind.TEXT:
        return (row.label_zh, row.label_en, row.value), (*labels, row.kind)
    return (row.label_zh, row.label_en, row.text), (*labels, CellKind.TEXT)


def write_xlsx(report: ReportData, path: str | Path) -> Path:
    """Write the report workbook to ``path`` (replaced if it exists) and return the path."""
    target = Path(path)
    book = _Book(target, notice=SYNTHETIC_NOTICE if report.synthetic else None)
    try:
        overview = [_overview_cells(row) for row in report.overview_rows()]
        book.table(
            SHEETS["overview"],
            OVERVIEW_COLUMNS,
            [cells for cells, _ in overview],
            kinds=[CellKind.TEXT] * len(OVERVIEW_COLUMNS),
            labels=OVERVIEW_LABELS,
            row_kinds=[kinds for _, kinds in overview],
            freeze_first_column=False,
        )
        book.frame(SHEETS["benchmark"], report.benchmark)
        book.frame(SHEETS["indicators"], report.indicators)
        book.frame(SHEETS["flags"], report.flags)
        book.frame(SHEETS["scopes"], report.scopes)
        if report.creators is not None:
            book.frame(SHEETS["creators"], report.creators)
        if report.plan is not None:
            book.frame(SHEETS["plan"], report.plan.plan_table)
            book.frame(SHEETS["greedy"], report.plan.greedy_table)
            book.frame(SHEETS["frontier"], report.plan.frontier)
            if report.plan.excluded is not None:
                book.frame(SHEETS["excluded"], report.plan.excluded)
        book.table(
            SHEETS["methodology"],
            ["name", "formula", "note"],
            report.methodology,
            kinds=[CellKind.TEXT] * 3,
            freeze_first_column=False,
        )
    finally:
        book.close()
    return target
