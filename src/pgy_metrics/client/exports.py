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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, ClassVar

from pgy_metrics.client._base import EndpointResult, NotesRateResult, SiblingResult
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
from pgy_metrics.contract.endpoints import ENDPOINTS, NOTES_RATE
from pgy_metrics.contract.envelope import Envelope
from pgy_metrics.contract.params import Scope, parse_user_id
from pgy_metrics.contract.provenance import HOSTED_SOURCE
from pgy_metrics.contract.sibling_rows import SIBLING_TABLES, identity_columns
from pgy_metrics.contract.units import Value, flatten_scope, snake_case

__all__ = [
    "COLUMNS",
    "COLUMN_KINDS",
    "FORMATS",
    "LABELS_ZH",
    "METRIC_COLUMNS",
    "SCOPE_COLUMNS",
    "ColumnKind",
    "CsvWriter",
    "EndpointExports",
    "ExportError",
    "ExportWriter",
    "JsonlWriter",
    "Layout",
    "ParquetWriter",
    "XlsxWriter",
    "export_paths",
    "open_export",
    "tidy_row",
]


class ExportError(PgyError, ValueError):
    """An export cannot be written as asked (unknown suffix, a failure answer, a bad value)."""


@dataclass(frozen=True)
class Layout:
    """The header of one endpoint's tidy table: columns in order, their kinds and labels."""

    endpoint: str
    columns: tuple[str, ...]
    kinds: Mapping[str, ColumnKind]
    labels_zh: Mapping[str, str]


NOTES_LAYOUT = Layout(NOTES_RATE, COLUMNS, COLUMN_KINDS, LABELS_ZH)


def layout_of(endpoint: str) -> Layout:
    """The tidy layout of an endpoint (notes rate: ``COLUMNS``; the others:
    ``contract.sibling_rows``)."""
    if endpoint == NOTES_RATE:
        return NOTES_LAYOUT
    table = SIBLING_TABLES.get(endpoint)
    if table is None:
        raise ExportError(
            f"no tidy table for endpoint {endpoint!r}; the endpoints are: {', '.join(ENDPOINTS)}"
        )
    return Layout(endpoint, table.columns, table.kinds, table.labels_zh)


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
        row[column] = _checked(column, metrics[column], COLUMN_KINDS[column])
    return row


def _checked(column: str, value: Value, kind: ColumnKind) -> Value:
    """Hold each value to its column's kind, so Parquet and XLSX types never drift."""
    if value is None:
        return None
    if kind is ColumnKind.TEXT:
        return str(value)
    if kind is ColumnKind.BOOLEAN:
        if not isinstance(value, bool):
            raise ExportError(f"{column} must be true or false; got {value!r}")
        return value
    if isinstance(value, str | bool):
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
    """Base of the four writers: ``write`` one answer at a time, then ``close``.

    A writer holds one endpoint's answers (``layout``: notes rate unless told otherwise);
    ``EndpointExports`` keeps one per endpoint of a batch."""

    suffix: ClassVar[str]

    def __init__(self, path: Path, *, layout: Layout = NOTES_LAYOUT) -> None:
        self.path = path
        self.layout = layout
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
        """Add one creator x scope notes-rate answer. ``collected_at`` defaults to its
        ``recordTime``; ``source`` is where the data came from (``X-Pgy-Source``), None when not
        known."""
        self._check_open(NOTES_RATE)
        raw = _envelope_dict(envelope)
        self._write(_answer_fields(user_id, scope, raw, collected_at, _source(source)), raw)
        self.rows_written += 1

    def write_answer(
        self,
        user_id: str,
        params: Mapping[str, str],
        envelope: Mapping[str, Any] | Envelope,
        *,
        collected_at: str | datetime | None = None,
        source: str | None = None,
    ) -> None:
        """Add one answer of this writer's sibling endpoint; ``params`` are the API parameters
        sent (``dateType``...), written as the identifying columns (``date_type``...)."""
        self._check_open(self.layout.endpoint)
        raw = _envelope_dict(envelope)
        answer: dict[str, Value] = {"user_id": parse_user_id(user_id)}
        for column in identity_columns(self.layout.endpoint)[1:-2]:
            answer[column] = next(
                (str(v) for k, v in params.items() if snake_case(k) == column), None
            )
        answer["collected_at"] = _collected_at(collected_at, raw)
        answer["source"] = _source(source)
        self._write_sibling(answer, raw)
        self.rows_written += 1

    def write_result(self, result: NotesRateResult | EndpointResult | SiblingResult[Any]) -> None:
        """Add a client result (its envelope, scope, ``record_time`` and source: the server's
        ``X-Pgy-Source``, or ``hosted`` when it did not say, as the hosted API does not)."""
        if isinstance(result, NotesRateResult):
            self.write(
                result.user_id,
                result.scope,
                result.envelope,
                collected_at=result.record_time,
                source=result.source or HOSTED_SOURCE,
            )
            return
        if result.endpoint == NOTES_RATE:
            scope = Scope.from_params(result.params)
            self.write(
                result.user_id,
                scope,
                result.envelope,
                collected_at=result.record_time,
                source=result.source or HOSTED_SOURCE,
            )
            return
        if result.endpoint != self.layout.endpoint:
            raise ExportError(
                f"{self.path.name} holds {self.layout.endpoint} answers, not {result.endpoint}"
            )
        self.write_answer(
            result.user_id,
            result.params,
            result.envelope,
            collected_at=result.record_time,
            source=result.source or HOSTED_SOURCE,
        )

    def _check_open(self, endpoint: str) -> None:
        if self.closed:
            raise ExportError(f"the export {self.path} is closed")
        if endpoint != self.layout.endpoint:
            raise ExportError(
                f"{self.path.name} holds {self.layout.endpoint} answers, not {endpoint}"
            )

    def close(self) -> None:
        """Finish the file. Safe to call twice."""
        if not self.closed:
            self.closed = True
            self._close()

    def _write(self, answer: dict[str, Value], raw: dict[str, Any]) -> None:
        """Store one notes-rate answer: its identifying fields (``user_id``...``source``) and
        its envelope, already checked to be a success."""
        raise NotImplementedError

    def _write_sibling(self, answer: dict[str, Value], raw: dict[str, Any]) -> None:
        """Store one sibling answer: its identifying fields and its (successful) envelope."""
        raise NotImplementedError

    def _close(self) -> None:
        raise NotImplementedError


class JsonlWriter(ExportWriter):
    """One JSON object per line: the identifying fields and the whole envelope, as received
    (a sibling endpoint's lines also say ``endpoint``)."""

    suffix = ".jsonl"

    def __init__(self, path: Path, *, layout: Layout = NOTES_LAYOUT) -> None:
        super().__init__(path, layout=layout)
        self._file: IO[str] = path.open("w", encoding="utf-8", newline="\n")

    def _write(self, answer: dict[str, Value], raw: dict[str, Any]) -> None:
        self._line({**answer, "envelope": raw})

    def _write_sibling(self, answer: dict[str, Value], raw: dict[str, Any]) -> None:
        self._line({"endpoint": self.layout.endpoint, **answer, "envelope": raw})

    def _line(self, record: dict[str, Any]) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._file.flush()

    def _close(self) -> None:
        self._file.close()


class _TidyWriter(ExportWriter):
    """Base of the tidy formats (CSV, XLSX, Parquet): each answer becomes one row of the
    layout's columns (a long sibling table: one row per bucket), and each format only says how
    it stores a row."""

    def _write(self, answer: dict[str, Value], raw: dict[str, Any]) -> None:
        self._write_row(_tidy(answer, raw))

    def _write_sibling(self, answer: dict[str, Value], raw: dict[str, Any]) -> None:
        kinds = self.layout.kinds
        for values in SIBLING_TABLES[self.layout.endpoint].rows(raw["data"]):
            row = dict(answer)
            row.update((k, _checked(k, v, kinds[k])) for k, v in values.items())
            self._write_row(row)

    def _write_row(self, row: dict[str, Value]) -> None:
        raise NotImplementedError


def _csv_text(value: Value) -> Value:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


class CsvWriter(_TidyWriter):
    """UTF-8 with a BOM (so Excel reads the Chinese text), the layout's header, empty fields
    for missing values, ``true``/``false`` for yes/no columns."""

    suffix = ".csv"

    def __init__(self, path: Path, *, layout: Layout = NOTES_LAYOUT) -> None:
        super().__init__(path, layout=layout)
        self._file: IO[str] = path.open("w", encoding="utf-8-sig", newline="")
        self._csv = csv.writer(self._file, lineterminator="\n")
        self._csv.writerow(layout.columns)
        self._file.flush()

    def _write_row(self, row: dict[str, Value]) -> None:
        self._csv.writerow([_csv_text(row[column]) for column in self.layout.columns])
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
    ColumnKind.NUMBER: "#,##0.00",
    ColumnKind.TEXT: "@",
    ColumnKind.BOOLEAN: "General",
}
XLSX_COLUMN_WIDTH = 14


class XlsxWriter(_TidyWriter):
    """xlsxwriter in ``constant_memory`` mode: two header rows, frozen; typed cells; missing
    values left as empty cells."""

    suffix = ".xlsx"

    def __init__(
        self, path: Path, *, max_rows_per_sheet: int = XLSX_MAX_ROWS, layout: Layout = NOTES_LAYOUT
    ) -> None:
        import xlsxwriter  # type: ignore[import-untyped]

        super().__init__(path, layout=layout)
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
        columns = self.layout.columns
        sheet = self._book.add_worksheet(name)
        sheet.set_column(0, len(columns) - 1, XLSX_COLUMN_WIDTH)
        sheet.freeze_panes(XLSX_HEADER_ROWS, 1)
        sheet.write_row(0, 0, columns, self._header)
        sheet.write_row(1, 0, [self.layout.labels_zh[c] for c in columns], self._header)
        self._sheet = sheet
        self._row = XLSX_HEADER_ROWS

    def _write_row(self, row: dict[str, Value]) -> None:
        if self._row >= self._max_rows:
            self._new_sheet()
        for index, column in enumerate(self.layout.columns):
            value = row[column]
            if value is None:
                continue  # an empty cell, never 0
            kind = self.layout.kinds[column]
            if kind is ColumnKind.TEXT:
                self._sheet.write_string(self._row, index, str(value))
            elif kind is ColumnKind.BOOLEAN:
                self._sheet.write_boolean(self._row, index, bool(value))
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

    def __init__(
        self, path: Path, *, chunk_rows: int = PARQUET_CHUNK_ROWS, layout: Layout = NOTES_LAYOUT
    ) -> None:
        # polars is the analytics extra: without it, fail here, not after a whole batch.
        import polars  # noqa: F401

        super().__init__(path, layout=layout)
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
        _frame(self._buffer, self.layout).write_parquet(part)
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


def _frame(rows: list[dict[str, Value]], layout: Layout = NOTES_LAYOUT) -> Any:
    import polars as pl

    dtypes = {
        ColumnKind.TEXT: pl.String,
        ColumnKind.INTEGER: pl.Int64,
        ColumnKind.FRACTION: pl.Float64,
        ColumnKind.NUMBER: pl.Float64,
        ColumnKind.BOOLEAN: pl.Boolean,
    }
    schema = {column: dtypes[layout.kinds[column]] for column in layout.columns}
    return pl.DataFrame(rows, schema=schema, orient="row")


FORMATS: dict[str, type[ExportWriter]] = {
    writer.suffix: writer for writer in (JsonlWriter, CsvWriter, XlsxWriter, ParquetWriter)
}
"""Suffix -> writer."""


def open_export(path: str | Path, *, endpoint: str = NOTES_RATE) -> ExportWriter:
    """A writer for ``path``, chosen by its suffix (``.jsonl``, ``.csv``, ``.xlsx``, ``.parquet``),
    for the answers of ``endpoint`` (notes rate by default; each endpoint has its own table).

    Use it as a context manager, or call ``close()``: XLSX and Parquet are complete only then.
    """
    target = Path(path)
    writer = FORMATS.get(target.suffix.lower())
    if writer is None:
        allowed = ", ".join(FORMATS)
        raise ExportError(
            f"cannot export to {target.name!r}: the file name must end in one of {allowed}"
        )
    layout = layout_of(endpoint)
    target.parent.mkdir(parents=True, exist_ok=True)  # ``--out out/pool.jsonl`` in a new folder
    return writer(target, layout=layout)


def export_paths(out: str | Path, endpoints: Sequence[str]) -> dict[str, Path]:
    """Where each endpoint's answers go: one file per endpoint, since each has its own table.
    With one endpoint, ``out`` itself; with several, notes rate in ``out`` and every other
    endpoint beside it as ``<stem>.<endpoint><suffix>`` (``pool.csv`` ->
    ``pool.fans_profile.csv``)."""
    target = Path(out)
    if len(endpoints) == 1:
        return {endpoints[0]: target}
    return {
        endpoint: target
        if endpoint == NOTES_RATE
        else target.with_name(f"{target.stem}.{endpoint}{target.suffix}")
        for endpoint in endpoints
    }


class EndpointExports(Closing):
    """The exports of a batch over several endpoints: one writer per endpoint
    (``export_paths``), each result written to its endpoint's file as it arrives."""

    def __init__(self, out: str | Path, endpoints: Sequence[str]) -> None:
        self.paths = export_paths(out, endpoints)
        self._writers: dict[str, ExportWriter] = {}
        try:
            for endpoint, path in self.paths.items():
                self._writers[endpoint] = open_export(path, endpoint=endpoint)
        except BaseException:
            self.close()
            raise

    def write_result(self, result: NotesRateResult | EndpointResult | SiblingResult[Any]) -> None:
        endpoint = NOTES_RATE if isinstance(result, NotesRateResult) else result.endpoint
        writer = self._writers.get(endpoint)
        if writer is None:
            raise ExportError(f"this export has no file for {endpoint} answers")
        writer.write_result(result)

    @property
    def rows_written(self) -> dict[str, int]:
        return {endpoint: writer.rows_written for endpoint, writer in self._writers.items()}

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
