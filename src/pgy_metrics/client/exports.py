"""Export files for answers, streamed row by row: JSONL, CSV, XLSX and Parquet.

``open_export(path)`` picks the format by suffix and returns a context-managed writer. Rows arrive
one at a time (a batch writes as results complete), and no writer keeps a growing buffer, so memory
stays flat for 100,000 creators:

- JSONL and CSV are written line by line and flushed as they go (the plain install; XLSX and
  Parquet import xlsxwriter and polars when their writer is opened: the analytics extra);
- XLSX uses xlsxwriter's ``constant_memory`` mode (each row goes to a temp file once the next row
  starts) and continues on a new sheet when one sheet is full (Excel's 1,048,576 row limit);
- Parquet buffers at most ``PARQUET_CHUNK_ROWS`` rows, writes each full chunk to a part file in a
  temp folder beside the target, and at ``close()`` merges the parts into one file with polars'
  streaming ``sink_parquet`` (polars cannot append row groups to an open Parquet file without
  pyarrow, which is not a dependency).

JSONL keeps the whole envelope per creator x scope beside the scope fields and its source. CSV,
XLSX and Parquet are tidy: one row per creator x scope x collection time, the columns of
``COLUMNS`` in that fixed order (every file has the same header, even when its first row is an
empty scope), numbers as numbers and missing values empty (never 0). The rules of contract.md
are applied by ``contract.units.flatten_scope``; nothing here re-implements them. See
``docs/data.md``.
"""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import IO, Any, ClassVar

from pgy_metrics.client._base import NotesRateResult
from pgy_metrics.client._closing import Closing
from pgy_metrics.client._exceptions import PgyError
from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.columns import (
    COLUMN_KINDS,
    COLUMNS,
    LABELS_ZH,
    METRIC_COLUMNS,
    SCOPE_COLUMNS,
    ColumnKind,
)
from pgy_metrics.contract.envelope import Envelope
from pgy_metrics.contract.params import Scope, parse_user_id
from pgy_metrics.contract.provenance import HOSTED_SOURCE
from pgy_metrics.contract.units import Value, flatten_scope

__all__ = [
    "COLUMNS",
    "COLUMN_KINDS",
    "FORMATS",
    "LABELS_ZH",
    "METRIC_COLUMNS",
    "SCOPE_COLUMNS",
    "ColumnKind",
    "CsvWriter",
    "ExportError",
    "ExportWriter",
    "JsonlWriter",
    "ParquetWriter",
    "XlsxWriter",
    "open_export",
    "tidy_row",
]


class ExportError(PgyError, ValueError):
    """An export cannot be written as asked (unknown suffix, a failure answer, a bad value)."""


# -- one row -------------------------------------------------------------------------------------


def _envelope_dict(envelope: Mapping[str, Any] | Envelope) -> dict[str, Any]:
    raw = envelope.raw if isinstance(envelope, Envelope) else dict(envelope)
    if raw.get("code") != BusinessCode.SUCCESS or not isinstance(raw.get("data"), dict):
        raise ExportError(
            f"only successful answers (code 0 with data) are exported; got code "
            f"{raw.get('code')!r}: {raw.get('message')!r}"
        )
    return raw


def _collected_at(value: str | datetime | None, envelope: Mapping[str, Any]) -> str | None:
    if value is None:
        value = envelope.get("recordTime")
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _source(value: str | None) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ExportError(f"source must be text or None; got {value!r}")
    return value or None


def _answer_fields(
    user_id: str,
    scope: Scope,
    raw: Mapping[str, Any],
    collected_at: str | datetime | None,
    source: str | None,
) -> dict[str, Value]:
    """Which answer a row holds: creator, scope, collection time and source (every format)."""
    return {
        "user_id": parse_user_id(user_id),
        "business": scope.business.value,
        "note_type": scope.note_type.value,
        "date_type": scope.date_type.value,
        "advertise_switch": scope.advertise_switch.value,
        "collected_at": _collected_at(collected_at, raw),
        "source": source,
    }


def tidy_row(
    user_id: str,
    scope: Scope,
    envelope: Mapping[str, Any] | Envelope,
    *,
    collected_at: str | datetime | None = None,
    source: str | None = None,
) -> dict[str, Value]:
    """One tidy row (keys ``COLUMNS``, in order) for a successful answer; ``source`` None
    (unknown) leaves the column empty."""
    raw = _envelope_dict(envelope)
    return _tidy(_answer_fields(user_id, scope, raw, collected_at, _source(source)), raw)


def _tidy(answer: dict[str, Value], raw: Mapping[str, Any]) -> dict[str, Value]:
    """``answer`` (its identifying fields) followed by the metric columns of its ``data``."""
    row = dict(answer)
    metrics = flatten_scope(raw["data"])
    for column in METRIC_COLUMNS:
        row[column] = _checked(column, metrics[column])
    return row


def _checked(column: str, value: Value) -> Value:
    """Hold each value to its column's kind, so Parquet and XLSX types never drift."""
    if value is None:
        return None
    kind = COLUMN_KINDS[column]
    if kind is ColumnKind.TEXT:
        return str(value)
    if isinstance(value, str):
        raise ExportError(f"{column} must be a number; got {value!r}")
    if kind is ColumnKind.INTEGER:
        if isinstance(value, float):
            if not value.is_integer():
                raise ExportError(f"{column} must be a whole number; got {value!r}")
            return int(value)
        return value
    return float(value)


# -- writers -------------------------------------------------------------------------------------


class ExportWriter(Closing):
    """Base of the four writers: ``write`` one answer at a time, then ``close``."""

    suffix: ClassVar[str]

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rows_written = 0
        self.closed = False

    def write(
        self,
        user_id: str,
        scope: Scope,
        envelope: Mapping[str, Any] | Envelope,
        *,
        collected_at: str | datetime | None = None,
        source: str | None = None,
    ) -> None:
        """Add one creator x scope answer. ``collected_at`` defaults to its ``recordTime``;
        ``source`` is where the data came from (``X-Pgy-Source``), None when not known."""
        if self.closed:
            raise ExportError(f"the export {self.path} is closed")
        raw = _envelope_dict(envelope)
        self._write(_answer_fields(user_id, scope, raw, collected_at, _source(source)), raw)
        self.rows_written += 1

    def write_result(self, result: NotesRateResult) -> None:
        """Add a client result (its envelope, scope, ``record_time`` and source: the server's
        ``X-Pgy-Source``, or ``hosted`` when it did not say, as the hosted API does not)."""
        self.write(
            result.user_id,
            result.scope,
            result.envelope,
            collected_at=result.record_time,
            source=result.source or HOSTED_SOURCE,
        )

    def close(self) -> None:
        """Finish the file. Safe to call twice."""
        if not self.closed:
            self.closed = True
            self._close()

    def _write(self, answer: dict[str, Value], raw: dict[str, Any]) -> None:
        """Store one answer: its identifying fields (``user_id``...``source``) and its
        envelope, already checked to be a success."""
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


class JsonlWriter(ExportWriter):
    """One JSON object per line: the scope fields and the whole envelope, as received."""

    suffix = ".jsonl"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._file: IO[str] = path.open("w", encoding="utf-8", newline="\n")

    def _write(self, answer: dict[str, Value], raw: dict[str, Any]) -> None:
        record = {**answer, "envelope": raw}
        self._file.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._file.flush()

    def _close(self) -> None:
        self._file.close()


class _TidyWriter(ExportWriter):
    """Base of the tidy formats (CSV, XLSX, Parquet): each answer becomes one row of
    ``COLUMNS``, and each format only says how it stores a row."""

    def _write(self, answer: dict[str, Value], raw: dict[str, Any]) -> None:
        self._write_row(_tidy(answer, raw))

    def _write_row(self, row: dict[str, Value]) -> None:
        raise NotImplementedError


def _csv_text(value: Value) -> Value:
    return "" if value is None else value


class CsvWriter(_TidyWriter):
    """UTF-8 with a BOM (so Excel reads the Chinese text), the ``COLUMNS`` header, empty fields
    for missing values."""

    suffix = ".csv"

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._file: IO[str] = path.open("w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._file, lineterminator="\n")
        self._csv.writerow(COLUMNS)
        self._file.flush()

    def _write_row(self, row: dict[str, Value]) -> None:
        self._csv.writerow([_csv_text(row[column]) for column in COLUMNS])
        self._file.flush()

    def _close(self) -> None:
        self._file.close()


XLSX_MAX_ROWS = 1_048_576
"""Excel's rows per sheet; a longer export continues on ``data_2``, ``data_3``..."""
XLSX_HEADER_ROWS = 2
"""The English column names, then their Chinese labels."""
XLSX_SHEET = "data"
XLSX_FORMATS = {
    ColumnKind.INTEGER: "#,##0",
    ColumnKind.FRACTION: "0.0%",
    ColumnKind.TEXT: "@",
}
XLSX_COLUMN_WIDTH = 14


class XlsxWriter(_TidyWriter):
    """xlsxwriter in ``constant_memory`` mode: two header rows, frozen; typed cells; missing
    values left as empty cells."""

    suffix = ".xlsx"

    def __init__(self, path: Path, *, max_rows_per_sheet: int = XLSX_MAX_ROWS) -> None:
        import xlsxwriter  # type: ignore[import-untyped]

        super().__init__(path)
        self._max_rows = max_rows_per_sheet
        self._book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        self._header = self._book.add_format({"bold": True})
        self._formats = {
            kind: self._book.add_format({"num_format": f}) for kind, f in XLSX_FORMATS.items()
        }
        self._sheet: Any = None
        self._sheets = 0
        self._row = 0
        self._new_sheet()

    @property
    def sheets(self) -> int:
        return self._sheets

    def _new_sheet(self) -> None:
        self._sheets += 1
        name = XLSX_SHEET if self._sheets == 1 else f"{XLSX_SHEET}_{self._sheets}"
        sheet = self._book.add_worksheet(name)
        sheet.set_column(0, len(COLUMNS) - 1, XLSX_COLUMN_WIDTH)
        sheet.freeze_panes(XLSX_HEADER_ROWS, 1)
        sheet.write_row(0, 0, COLUMNS, self._header)
        sheet.write_row(1, 0, [LABELS_ZH[column] for column in COLUMNS], self._header)
        self._sheet = sheet
        self._row = XLSX_HEADER_ROWS

    def _write_row(self, row: dict[str, Value]) -> None:
        if self._row >= self._max_rows:
            self._new_sheet()
        for index, column in enumerate(COLUMNS):
            value = row[column]
            if value is None:
                continue  # an empty cell, never 0
            kind = COLUMN_KINDS[column]
            if kind is ColumnKind.TEXT:
                self._sheet.write_string(self._row, index, str(value))
            else:
                self._sheet.write_number(self._row, index, value, self._formats[kind])
        self._row += 1

    def _close(self) -> None:
        self._book.close()


PARQUET_CHUNK_ROWS = 10_000
"""Rows held in memory before they go to a part file (one row group each)."""


class ParquetWriter(_TidyWriter):
    """Bounded chunks to part files, merged by polars' streaming engine at ``close()``."""

    suffix = ".parquet"

    def __init__(self, path: Path, *, chunk_rows: int = PARQUET_CHUNK_ROWS) -> None:
        # polars is the analytics extra: without it, fail here, not after a whole batch.
        import polars  # noqa: F401

        super().__init__(path)
        self._chunk_rows = chunk_rows
        self._buffer: list[dict[str, Value]] = []
        self._parts_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        self._parts: list[Path] = []

    @property
    def buffered_rows(self) -> int:
        return len(self._buffer)

    def _write_row(self, row: dict[str, Value]) -> None:
        self._buffer.append(row)
        if len(self._buffer) >= self._chunk_rows:
            self._flush()

    def _flush(self) -> None:
        part = self._parts_dir / f"part-{len(self._parts):06d}.parquet"
        _frame(self._buffer).write_parquet(part)
        self._parts.append(part)
        self._buffer = []

    def _close(self) -> None:
        import polars as pl

        try:
            if self._buffer or not self._parts:
                self._flush()
            pl.scan_parquet(self._parts).sink_parquet(self.path, row_group_size=self._chunk_rows)
        finally:
            shutil.rmtree(self._parts_dir, ignore_errors=True)


def _frame(rows: list[dict[str, Value]]) -> Any:
    import polars as pl

    dtypes = {
        ColumnKind.TEXT: pl.String,
        ColumnKind.INTEGER: pl.Int64,
        ColumnKind.FRACTION: pl.Float64,
    }
    schema = {column: dtypes[COLUMN_KINDS[column]] for column in COLUMNS}
    return pl.DataFrame(rows, schema=schema, orient="row")


FORMATS: dict[str, type[ExportWriter]] = {
    writer.suffix: writer for writer in (JsonlWriter, CsvWriter, XlsxWriter, ParquetWriter)
}
"""Suffix -> writer."""


def open_export(path: str | Path) -> ExportWriter:
    """A writer for ``path``, chosen by its suffix (``.jsonl``, ``.csv``, ``.xlsx``, ``.parquet``).

    Use it as a context manager, or call ``close()``: XLSX and Parquet are complete only then.
    """
    target = Path(path)
    writer = FORMATS.get(target.suffix.lower())
    if writer is None:
        allowed = ", ".join(FORMATS)
        raise ExportError(
            f"cannot export to {target.name!r}: the file name must end in one of {allowed}"
        )
    target.parent.mkdir(parents=True, exist_ok=True)  # ``--out out/pool.jsonl`` in a new folder
    return writer(target)
