"""Tidy tables from collected answers: one row per creator x scope x collection, one per note.

Every analysis starts here, so this is where the contract's consumer rules are enforced once
(contract.md rules 1-7). The per-field rules live in ``contract.units.flatten_scope``; this module
calls it exactly once per answer and adds what a single row cannot know: the scope beside the
numbers (responses do not echo it), a per-note table that says whether it holds every note of its
scope (rule 5), and readers for the three places answers are kept (``pgy batch`` JSONL, the
server's snapshots table, tidy CSV/Parquet exports).

Why the code looks the way it does: a pool of 100,000 creators x 4 scopes must load at a small
multiple of the cost of ``json.loads`` alone. So frames are built column-wise from plain tuples
(one ``pl.DataFrame`` per table, never per row), and the strict, typed construction is the fast
path. Only when polars refuses a value does a slow path walk the values again, fix what the
contract allows (missing markers, whole numbers sent as floats) and otherwise raise a
``TablesError`` that names the file and line (or snapshot id) of the bad answer.
"""

from __future__ import annotations

import csv
import gc
import json
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from operator import itemgetter
from pathlib import Path
from typing import Any
from urllib.parse import quote

import polars as pl

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.columns import (
    COLUMN_KINDS,
    COLUMNS,
    OPTIONAL_COLUMNS,
    SCOPE_COLUMNS,
    SOURCE_COLUMN,
    ColumnKind,
)
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.params import ParamError, Scope, parse_user_id
from pgy_metrics.contract.provenance import synthetic
from pgy_metrics.contract.units import (
    COHORT_DATES,
    COHORTS,
    DUPLICATED,
    NUMBER_FIELDS,
    PERCENT_FIELDS,
    Value,
    flatten_scope,
    is_missing,
    number,
    percent,
)

__all__ = [
    "NOTES_SCHEMA",
    "SCOPES_SCHEMA",
    "SCOPE_KEY",
    "ScopeRecord",
    "StoreUnavailable",
    "Tables",
    "TablesError",
    "latest_scopes",
    "load",
    "load_jsonl",
    "load_store",
    "load_store_answers",
    "load_tidy",
    "notes_frame",
    "scopes_frame",
]


class TablesError(ValueError):
    """Answers cannot be read into tables; the message names the file and line (or snapshot id)
    and what is wrong, so a user can fix the input without reading a traceback."""

    def __init__(self, message: str, *, origin: str | None = None) -> None:
        super().__init__(f"{origin}: {message}" if origin else message)
        self.origin = origin
        """Where the bad answer is, e.g. ``batch.jsonl line 12`` or ``snapshot id 7``."""


class StoreUnavailable(TablesError):
    """The database did not accept a connection: nothing is wrong with the input, the database
    is down or unreachable (the CLI exits 1 for this, 2 for a ``TablesError`` to fix)."""


# -- schemas -------------------------------------------------------------------------------------

SCOPE_KEY = "scope_key"
"""The column holding ``Scope.key``, appended after ``COLUMNS``."""

_DTYPES: dict[ColumnKind, type[pl.DataType]] = {
    ColumnKind.TEXT: pl.Utf8,
    ColumnKind.INTEGER: pl.Int64,
    ColumnKind.FRACTION: pl.Float64,
}
SCOPES_SCHEMA: dict[str, type[pl.DataType]] = {
    **{column: _DTYPES[COLUMN_KINDS[column]] for column in COLUMNS},
    SCOPE_KEY: pl.Utf8,
}
"""The scopes table: ``COLUMNS`` typed by their kind, then ``scope_key``."""

_NOTE_SCOPE_COLUMNS = (*SCOPE_COLUMNS[:5], SCOPE_KEY, "collected_at")
_NOTE_WIRE: tuple[tuple[str, str, type[pl.DataType]], ...] = (
    # wire key, column, dtype; publish_time and format are converted after the frame is built
    ("noteId", "note_id", pl.Utf8),
    ("publishTime", "publish_time", pl.Utf8),
    ("type", "format", pl.Int64),
    ("title", "title", pl.Utf8),
    ("imgUrl", "img_url", pl.Utf8),
    ("canJump", "can_jump", pl.Boolean),
    ("impNum", "imp_num", pl.Int64),
    ("readNum", "read_num", pl.Int64),
    ("interactionNum", "interaction_num", pl.Int64),
    ("likeNum", "like_num", pl.Int64),
    ("collectNum", "collect_num", pl.Int64),
    ("impBeyondRate", "imp_beyond_rate", pl.Float64),
    ("readBeyondRate", "read_beyond_rate", pl.Float64),
    ("interactionBeyondRate", "interaction_beyond_rate", pl.Float64),
    ("likeBeyondRate", "like_beyond_rate", pl.Float64),
    ("collectBeyondRate", "collect_beyond_rate", pl.Float64),
)
_NOTE_KEYS = tuple(wire for wire, _, _ in _NOTE_WIRE)
NOTES_SCHEMA: dict[str, type[pl.DataType]] = {
    **dict.fromkeys(_NOTE_SCOPE_COLUMNS, pl.Utf8),
    "position": pl.Int64,
    **{column: dtype for _, column, dtype in _NOTE_WIRE},
    "publish_time": pl.Date,
    "format": pl.Utf8,
    "scope_note_number": pl.Int64,
    "notes_complete": pl.Boolean,
}
"""The notes table. ``*_beyond_rate`` are signed deviations from the creator's own median
(``x / median - 1``), kept as sent: they are not percentiles."""

NOTE_FORMATS = {1: "photo", 2: "video"}
"""The wire's note ``type`` -> ``format``; any other type is a null format."""
PUBLISH_TIME_FORMAT = "%Y-%m-%d"
_SCOPE_VALUES: dict[str, frozenset[str]] = {
    "business": frozenset(Business),
    "note_type": frozenset(NoteType),
    "date_type": frozenset(DateType),
    "advertise_switch": frozenset(AdvertiseSwitch),
}
_WIRE_SCOPE = {
    "business": "business",
    "note_type": "noteType",
    "date_type": "dateType",
    "advertise_switch": "advertiseSwitch",
}

# -- records -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScopeRecord:
    """One successful answer: who, which scope, when, and the upstream ``data`` object."""

    user_id: str
    scope: Scope
    collected_at: str
    """ISO 8601 text; sortable within one source (``recordTime`` as sent, or UTC from the store)."""
    data: Mapping[str, Any] | None
    origin: str | None = None
    """Where it was read from (``file line N``), named by any error about it."""
    source: str | None = None
    """Which source collected it (``sandbox`` = synthetic); None when the input does not say."""


# -- building ------------------------------------------------------------------------------------

_METRICS = itemgetter(*COLUMNS[len(SCOPE_COLUMNS) :])
_NOTE_VALUES = itemgetter(*_NOTE_KEYS)


class _Builder:
    """Collects answers as plain tuples and turns them into the two frames at the end.

    One pass serves both tables, so a loader never holds the parsed payloads: only the values.
    """

    def __init__(self, *, scopes: bool = True, notes: bool = True) -> None:
        self._want_scopes = scopes
        self._want_notes = notes
        self._scope_rows: list[tuple[Any, ...]] = []
        self._origins: list[str | None] = []
        self._scope_keys: dict[Scope, tuple[str, ...]] = {}
        # notes: one tuple per note, plus which record it came from and its position
        self._note_rows: list[tuple[Any, ...]] = []
        self._note_scope: list[int] = []
        self._note_position: list[int] = []
        self._note_scope_rows: list[tuple[Any, ...]] = []
        self._note_origins: list[str] = []

    def add(self, record: ScopeRecord) -> None:
        self._origins.append(record.origin)
        head = self._scope_keys.get(record.scope)
        if head is None:
            scope = record.scope
            head = self._scope_keys[scope] = (
                scope.business.value,
                scope.note_type.value,
                scope.date_type.value,
                scope.advertise_switch.value,
                scope.key,
            )
        data = record.data if record.data is not None else {}
        if not isinstance(data, Mapping):
            raise TablesError(
                f"data must be a JSON object; got {type(data).__name__}", origin=record.origin
            )
        if self._want_scopes:
            metrics = _metrics(data, record.origin)
            self._scope_rows.append(
                (
                    record.user_id,
                    *head[:4],
                    record.collected_at,
                    record.source,
                    *metrics,
                    head[4],
                )
            )
        if self._want_notes:
            notes = data.get("notes")
            if notes:
                self._add_notes(record, head, data, notes)

    def _add_notes(
        self,
        record: ScopeRecord,
        head: tuple[str, ...],
        data: Mapping[str, Any],
        notes: Any,
    ) -> None:
        if not isinstance(notes, list):
            raise TablesError(
                f"notes must be a list or null; got {type(notes).__name__}", origin=record.origin
            )
        try:
            rows = list(map(_NOTE_VALUES, notes))
        except (KeyError, TypeError):  # a note lacks a key, or is not an object
            rows = [
                _note_values(note, position, record.origin) for position, note in enumerate(notes)
            ]
        try:
            scope_notes = number(data.get("noteNumber"))
        except ValueError as error:
            raise TablesError(f"noteNumber: {error}", origin=record.origin) from None
        count = len(rows)
        self._note_rows.extend(rows)
        self._note_scope.extend([len(self._note_scope_rows)] * count)
        self._note_position.extend(range(count))
        self._note_origins.append(record.origin or f"record {len(self._origins)}")
        self._note_scope_rows.append(
            (
                record.user_id,
                *head,
                record.collected_at,
                scope_notes,
                scope_notes is not None and count == scope_notes,  # rule 5
            )
        )

    def scopes(self) -> pl.DataFrame:
        names = tuple(SCOPES_SCHEMA)
        columns = _transpose(self._scope_rows, len(names))
        try:
            return pl.DataFrame(dict(zip(names, columns, strict=True)), schema=SCOPES_SCHEMA)
        except (TypeError, ValueError, pl.exceptions.PolarsError):
            cleaned = {
                name: _cleaned(name, SCOPES_SCHEMA[name], values, self._place)
                for name, values in zip(names, columns, strict=True)
            }
            return pl.DataFrame(cleaned, schema=SCOPES_SCHEMA)

    def _place(self, row: int) -> str:
        """Where scope row ``row`` came from: its origin, else its 1-based record number."""
        return self._origins[row] or f"record {row + 1}"

    def notes(self) -> pl.DataFrame:
        wire_columns = _transpose(self._note_rows, len(_NOTE_WIRE))
        frame = self._note_values_frame(wire_columns)
        scope_part = self._note_scope_frame()
        # Record-level values are gathered by each note's record index: one call, no per-row work.
        slots = pl.Series("slot", self._note_scope, dtype=pl.Int64)
        frame = pl.concat([scope_part[slots], frame], how="horizontal")
        frame = frame.with_columns(
            position=pl.Series(self._note_position, dtype=pl.Int64),
            format=pl.col("format").replace_strict(
                NOTE_FORMATS, default=None, return_dtype=pl.Utf8
            ),
        )
        return frame.select(list(NOTES_SCHEMA))

    def _note_scope_frame(self) -> pl.DataFrame:
        names = (*_NOTE_SCOPE_COLUMNS, "scope_note_number", "notes_complete")
        schema = {name: NOTES_SCHEMA[name] for name in names}
        columns = _transpose(self._note_scope_rows, len(names))
        return pl.DataFrame(dict(zip(names, columns, strict=True)), schema=schema)

    def _note_values_frame(self, wire_columns: list[tuple[Any, ...]]) -> pl.DataFrame:
        schema = {column: dtype for _, column, dtype in _NOTE_WIRE}
        values = dict(zip(schema, wire_columns, strict=True))
        try:
            frame = pl.DataFrame(values, schema=schema)
            return frame.with_columns(pl.col("publish_time").str.to_date(PUBLISH_TIME_FORMAT))
        except (TypeError, ValueError, pl.exceptions.PolarsError):
            pass
        cleaned: dict[str, pl.Series] = {}
        for wire, column, dtype in _NOTE_WIRE:

            def where(row: int, wire: str = wire) -> str:
                origin = self._note_origins[self._note_scope[row]]
                return f"{origin}, notes[{self._note_position[row]}].{wire}"

            if column == "publish_time":
                cleaned[column] = pl.Series(
                    column,
                    [_publish_date(v, where, i) for i, v in enumerate(values[column])],
                    dtype=pl.Date,
                )
            else:
                cleaned[column] = _cleaned(column, dtype, values[column], where)
        return pl.DataFrame(cleaned)


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while a table is built.

    Building keeps hundreds of thousands of small tuples alive, and each generation-2 pass walks
    them all again: that alone tripled the cost of a load in measurements. The tuples hold only
    numbers and text, so they form no cycles; reference counting still frees everything else.
    The previous state is restored, also on an error.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _transpose(rows: list[tuple[Any, ...]], width: int) -> list[tuple[Any, ...]]:
    return list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]


def _metrics(data: Mapping[str, Any], origin: str | None) -> tuple[Value, ...]:
    """The metric values of one answer, in ``COLUMNS`` order (flatten_scope, called once)."""
    try:
        return _METRICS(flatten_scope(data))  # type: ignore[no-any-return]
    except (ValueError, TypeError, AttributeError, KeyError) as error:
        field_name = _bad_field(data)
        where = f"field {field_name}: " if field_name else ""
        raise TablesError(f"{where}{error}", origin=origin) from None


def _note_values(note: Any, position: int, origin: str | None) -> tuple[Any, ...]:
    if not isinstance(note, Mapping):
        raise TablesError(
            f"notes[{position}] must be a JSON object; got {type(note).__name__}", origin=origin
        )
    return tuple(note.get(key) for key in _NOTE_KEYS)


def _cleaned(
    column: str,
    dtype: type[pl.DataType],
    values: Iterable[Any],
    where: Callable[[int], str | None],
) -> pl.Series:
    """A column rebuilt value by value: missing markers become null, whole floats become ints,
    and anything else of the wrong type is a ``TablesError`` naming the answer and the column."""
    out: list[Any] = []
    for row, value in enumerate(values):
        if value is None:
            out.append(None)
        elif dtype is pl.Utf8:
            if not isinstance(value, str):
                raise TablesError(f"{column} must be text; got {value!r}", origin=where(row))
            out.append(value)
        elif dtype is pl.Boolean:
            if not isinstance(value, bool):
                raise TablesError(
                    f"{column} must be true or false; got {value!r}", origin=where(row)
                )
            out.append(value)
        else:
            out.append(_checked_number(column, dtype, value, where(row)))
    return pl.Series(column, out, dtype=dtype)


def _checked_number(
    column: str, dtype: type[pl.DataType], value: Any, origin: str | None
) -> int | float | None:
    try:
        parsed = number(value)
    except ValueError:
        raise TablesError(f"{column} must be a number; got {value!r}", origin=origin) from None
    if dtype is pl.Int64 and isinstance(parsed, float):
        if not parsed.is_integer():
            raise TablesError(f"{column} must be a whole number; got {value!r}", origin=origin)
        return int(parsed)
    return parsed


def _publish_date(value: Any, where: Callable[[int], str | None], row: int) -> date | None:
    if is_missing(value):
        return None
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError):
        raise TablesError(f"must be a YYYY-MM-DD date; got {value!r}", origin=where(row)) from None


def _bad_field(data: Mapping[str, Any]) -> str | None:
    """Which wire field made ``flatten_scope`` fail (only called on the error path)."""
    checks: list[tuple[str, Callable[[Any], Any]]] = [
        *((key, number) for key in NUMBER_FIELDS),
        *((key, percent) for key in sorted(PERCENT_FIELDS)),
        *((key, number) for pair in DUPLICATED.items() for key in pair),
    ]
    for key, check in checks:
        try:
            check(data.get(key))
        except (ValueError, TypeError):
            return key
    tags = data.get("noteType")
    if tags is not None:
        if not isinstance(tags, list) or not all(isinstance(tag, Mapping) for tag in tags):
            return "noteType"
        for index, tag in enumerate(tags):
            try:
                percent(tag.get("percent"))
            except ValueError:
                return f"noteType[{index}].percent"
    trades = data.get("tradeNames")
    if trades and (not isinstance(trades, list) or not all(isinstance(t, str) for t in trades)):
        return "tradeNames"
    for nested in ("pagePercentVo", *COHORTS):
        value = data.get(nested)
        if value is None:
            continue
        if not isinstance(value, Mapping):
            return nested
        for key, item in value.items():
            if key in COHORT_DATES:
                continue
            is_percent = nested != "pagePercentVo" and key.endswith(("Percent", "BeyondRate"))
            try:
                (percent if is_percent else number)(item)
            except (ValueError, TypeError):
                return f"{nested}.{key}"
    return None


# -- public frames -------------------------------------------------------------------------------


def scopes_frame(records: Iterable[ScopeRecord]) -> pl.DataFrame:
    """One row per creator x scope x collection: ``COLUMNS`` then ``scope_key``, missing as null.

    ``flatten_scope`` applies rules 1-4 and 7; see docs/metrics.md, "Tidy tables".
    """
    builder = _Builder(notes=False)
    with _cyclic_gc_paused():
        for record in records:
            builder.add(record)
        return builder.scopes()


def notes_frame(records: Iterable[ScopeRecord]) -> pl.DataFrame:
    """One row per note in ``data.notes`` (``NOTES_SCHEMA``), with ``notes_complete`` telling
    whether the scope's notes are all there (rule 5: only then may medians be recomputed)."""
    builder = _Builder(scopes=False)
    with _cyclic_gc_paused():
        for record in records:
            builder.add(record)
        return builder.notes()


def latest_scopes(scopes: pl.DataFrame) -> pl.DataFrame:
    """The latest ``collected_at`` per creator x scope; ties keep the row read last."""
    return (
        scopes.with_row_index("_row")
        .sort(["collected_at", "_row"], nulls_last=False)
        .unique(subset=["user_id", SCOPE_KEY], keep="last", maintain_order=True)
        .sort("_row")
        .drop("_row")
    )


@dataclass(frozen=True)
class Tables:
    """The scopes and notes tables of one source, and how many answers were skipped."""

    scopes: pl.DataFrame
    notes: pl.DataFrame
    skipped: Mapping[int, int] = field(default_factory=dict)
    """Failure answers left out, by business code (e.g. ``{301: 4}``)."""

    def _row_sources(self) -> set[str | None]:
        """The distinct values of the scopes' ``source`` column (None: a row that does not say,
        as every row of a frame without the column)."""
        if SOURCE_COLUMN not in self.scopes.columns:
            return {None} if self.scopes.height else set()
        return set(self.scopes.get_column(SOURCE_COLUMN).unique().to_list())

    @property
    def sources(self) -> frozenset[str]:
        """The sources that collected the data, as far as the input says (the store always does;
        exports since they have a ``source`` column)."""
        return frozenset(source for source in self._row_sources() if source)

    @property
    def synthetic(self) -> bool | None:
        """Whether the figures are synthetic: True if any row came from the sandbox (a mixed
        input is synthetic), None (unknown) if some row does not say where it came from, else
        False. Reports label themselves by it."""
        return synthetic(self._row_sources())

    def latest(self) -> Tables:
        """Only the latest collection per creator x scope, in both tables."""
        scopes = latest_scopes(self.scopes)
        keys = scopes.select("user_id", SCOPE_KEY, "collected_at")
        notes = self.notes.join(
            keys,
            on=["user_id", SCOPE_KEY, "collected_at"],
            how="semi",
            nulls_equal=True,
            maintain_order="left",
        ).unique(subset=["user_id", SCOPE_KEY, "position"], keep="last", maintain_order=True)
        return Tables(scopes=scopes, notes=notes, skipped=self.skipped)


def _tables(builder: _Builder, skipped: Mapping[int, int] | None = None) -> Tables:
    with _cyclic_gc_paused():
        return Tables(scopes=builder.scopes(), notes=builder.notes(), skipped=dict(skipped or {}))


# -- JSONL (pgy batch --out x.jsonl) -------------------------------------------------------------

_JSONL_FIELDS = (*(c for c in SCOPE_COLUMNS if c not in OPTIONAL_COLUMNS), "envelope")
"""What every line must have; ``source`` is optional (files written before it existed)."""


def load_jsonl(path: str | Path) -> Tables:
    """Read a ``pgy batch --out x.jsonl`` file: one answer per line, failures skipped and counted.

    A line that is not JSON or not in the export format is a ``TablesError`` naming its number.
    """
    source = Path(path)
    builder = _Builder()
    skipped: Counter[int] = Counter()
    scopes: dict[tuple[Any, ...], Scope] = {}
    with _cyclic_gc_paused():
        for line_number, line in _lines(source):
            if not line.strip():
                continue
            origin = f"{source} line {line_number}"
            try:
                obj = json.loads(line)
            except ValueError as error:
                raise TablesError(f"not valid JSON ({error})", origin=origin) from None
            record = _jsonl_record(obj, origin, scopes, skipped)
            if record is not None:
                builder.add(record)
    return _tables(builder, skipped)


def _lines(source: Path) -> Iterator[tuple[int, bytes]]:
    try:
        with source.open("rb") as file:
            for line_number, line in enumerate(file, 1):
                yield (
                    line_number,
                    (line.removeprefix(b"\xef\xbb\xbf") if line_number == 1 else line),
                )
    except OSError as error:
        raise TablesError(f"cannot read {source}: {error.strerror or error}") from None


def _jsonl_record(
    obj: Any,
    origin: str,
    scopes: dict[tuple[Any, ...], Scope],
    skipped: Counter[int],
) -> ScopeRecord | None:
    if not isinstance(obj, dict):
        raise TablesError(f"expected a JSON object; got {type(obj).__name__}", origin=origin)
    absent = [name for name in _JSONL_FIELDS if name not in obj]
    if absent:
        raise TablesError(
            f"missing {', '.join(absent)} (a pgy batch JSONL line has {', '.join(_JSONL_FIELDS)})",
            origin=origin,
        )
    envelope = obj["envelope"]
    if (
        not isinstance(envelope, dict)
        or isinstance(envelope.get("code"), bool)
        or not isinstance(envelope.get("code"), int)
    ):
        raise TablesError("envelope must be an object with an integer code", origin=origin)
    code = envelope["code"]
    if code != BusinessCode.SUCCESS:
        skipped[code] += 1
        return None
    scope_values = tuple(obj[name] for name in _WIRE_SCOPE)
    scope = scopes.get(scope_values)
    if scope is None:
        scope = scopes[scope_values] = _scope(
            dict(zip(_WIRE_SCOPE, scope_values, strict=True)), origin
        )
    try:
        user_id = parse_user_id(obj["user_id"], param="user_id")
    except (ParamError, TypeError) as error:
        raise TablesError(str(error), origin=origin) from None
    collected_at = obj["collected_at"] or envelope.get("recordTime")
    if not isinstance(collected_at, str):
        raise TablesError(f"collected_at must be text; got {collected_at!r}", origin=origin)
    data = envelope.get("data")
    if data is not None and not isinstance(data, dict):
        raise TablesError(f"data must be a JSON object; got {type(data).__name__}", origin=origin)
    source = obj.get(SOURCE_COLUMN)
    if source is not None and not isinstance(source, str):
        raise TablesError(f"source must be text or null; got {source!r}", origin=origin)
    return ScopeRecord(user_id, scope, collected_at, data, origin, source or None)


def _scope(values: Mapping[str, Any], origin: str | None) -> Scope:
    """A scope from its four column values, each required and one of the API value names."""
    for column, value in values.items():
        if not isinstance(value, str) or value not in _SCOPE_VALUES[column]:
            allowed = ", ".join(sorted(_SCOPE_VALUES[column]))
            raise TablesError(f"{column} must be one of {allowed}; got {value!r}", origin=origin)
    return Scope.from_params({_WIRE_SCOPE[column]: value for column, value in values.items()})


# -- the store (snapshots table, read-only) ------------------------------------------------------

SQLITE_SUFFIXES = frozenset({".db", ".sqlite", ".sqlite3"})
STORE_BATCH_ROWS = 10_000
"""Snapshots fetched per round trip: bounded memory, few round trips."""


def load_store(database_url: str | Path) -> Tables:
    """Read every notes_rate snapshot of the server's store, read-only (a SQLite file is opened with
    ``mode=ro``, PostgreSQL in a read-only transaction), as tables; see ``Tables.latest``.

    Accepts the server's URLs (``sqlite+aiosqlite:///PATH``, ``postgresql+psycopg://...``) or a
    path to a SQLite file.
    """
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from pgy_metrics.contract.endpoints import NOTES_RATE
    from pgy_metrics.store.models import SnapshotRow

    engine, shown = _read_only_engine(database_url)
    table = SnapshotRow.__table__
    query = (
        select(
            table.c.id,
            table.c.user_id,
            table.c.params_key,
            table.c.collected_at,
            table.c.source,
            table.c.payload,
        )
        .where(table.c.endpoint == NOTES_RATE)
        .order_by(table.c.id)
    )
    builder = _Builder()
    scopes: dict[str, Scope] = {}
    try:
        opened = engine.connect()
    except SQLAlchemyError as error:
        detail = getattr(error, "orig", None) or error
        raise StoreUnavailable(f"cannot connect to {shown}: {detail}") from None
    try:
        with _cyclic_gc_paused(), opened as connection:
            if engine.dialect.name == "postgresql":
                connection = connection.execution_options(postgresql_readonly=True)
            result = connection.execution_options(yield_per=STORE_BATCH_ROWS).execute(query)
            for row in result:
                origin = f"snapshot id {row.id}"
                scope = scopes.get(row.params_key)
                if scope is None:
                    parts = row.params_key.split(".")
                    if len(parts) != len(_WIRE_SCOPE):
                        raise TablesError(
                            f"params_key must be a scope key; got {row.params_key!r}",
                            origin=origin,
                        )
                    scope = scopes[row.params_key] = _scope(
                        dict(zip(_WIRE_SCOPE, parts, strict=True)), origin
                    )
                try:
                    data = json.loads(row.payload)
                except ValueError as error:
                    raise TablesError(
                        f"payload is not valid JSON ({error})", origin=origin
                    ) from None
                builder.add(
                    ScopeRecord(
                        row.user_id, scope, row.collected_at.isoformat(), data, origin, row.source
                    )
                )
    except SQLAlchemyError as error:
        detail = getattr(error, "orig", None) or error
        raise TablesError(f"cannot read the snapshots table of {shown}: {detail}") from None
    finally:
        engine.dispose()
    return _tables(builder)


def _read_only_engine(database_url: str | Path) -> tuple[Any, str]:
    """A read-only engine on the server's store (SQLite opened ``mode=ro``) and its label
    without a password."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import Engine, make_url
    from sqlalchemy.exc import ArgumentError

    text = str(database_url)
    try:
        url = make_url(text) if "://" in text else None
    except ArgumentError as error:
        raise TablesError(f"not a database URL: {error}") from None
    engine: Engine
    if url is None or url.get_backend_name() == "sqlite":
        database = Path(url.database or "") if url is not None else Path(text)
        shown = str(database)
        if not database.is_file():
            raise TablesError(f"no SQLite database at {shown}")
        uri = f"file:{quote(str(database.resolve()))}?mode=ro"
        engine = create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True))
    elif url.get_backend_name() == "postgresql":
        shown = url.render_as_string(hide_password=True)
        engine = create_engine(url.set(drivername="postgresql+psycopg"))
    else:
        raise TablesError(
            f"unsupported database {url.get_backend_name()!r}: use sqlite+aiosqlite:///PATH, "
            "postgresql+psycopg://... or a path to a SQLite file"
        )
    return engine, shown


def load_store_answers(
    database_url: str | Path, endpoints: Iterable[str], user_ids: Iterable[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """The newest stored ``data`` of each endpoint (in its default scope: ``business``
    DAILY_NOTE, ``DAY_30`` + ``FANS_TOTAL``) for each of ``user_ids``, read-only:
    endpoint -> user_id -> data. What ``pgy batch --endpoints`` or any call through the server
    collected; an endpoint or creator never collected is simply absent."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from pgy_metrics.contract.endpoints import ENDPOINTS, NO_PARAMS
    from pgy_metrics.store.models import SnapshotRow

    keys = {
        name: ".".join(p.default.value for p in ENDPOINTS[name].params) or NO_PARAMS
        for name in endpoints
    }
    wanted = set(user_ids)
    found: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in keys}
    if not keys or not wanted:
        return found
    engine, shown = _read_only_engine(database_url)
    table = SnapshotRow.__table__
    query = (
        select(table.c.id, table.c.endpoint, table.c.user_id, table.c.params_key, table.c.payload)
        .where(table.c.endpoint.in_(list(keys)))
        .order_by(table.c.collected_at, table.c.id)
    )
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                connection = connection.execution_options(postgresql_readonly=True)
            for row in connection.execution_options(yield_per=STORE_BATCH_ROWS).execute(query):
                if row.user_id not in wanted or row.params_key != keys[row.endpoint]:
                    continue
                try:
                    data = json.loads(row.payload)
                except ValueError as error:
                    raise TablesError(
                        f"payload is not valid JSON ({error})", origin=f"snapshot id {row.id}"
                    ) from None
                if isinstance(data, dict):
                    found[row.endpoint][row.user_id] = data
    except SQLAlchemyError as error:
        detail = getattr(error, "orig", None) or error
        raise StoreUnavailable(f"cannot read the snapshots table of {shown}: {detail}") from None
    finally:
        engine.dispose()
    return found


# -- tidy exports (CSV with a BOM, Parquet) ------------------------------------------------------

TIDY_SUFFIXES = frozenset({".csv", ".parquet"})
CSV_HEADER_LINES = 1


def load_tidy(path: str | Path) -> Tables:
    """Read a tidy CSV or Parquet export (``client.exports``) back with the column types of
    ``SCOPES_SCHEMA``; an empty CSV field is null. Exports hold no notes: that table is empty."""
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix not in TIDY_SUFFIXES:
        raise TablesError(f"{source}: a tidy export ends in .csv or .parquet")
    if not source.is_file():
        raise TablesError(f"no such file: {source}")
    raw = _read_csv(source) if suffix == ".csv" else _read_parquet(source)
    typed = _typed(raw, source, first_line=CSV_HEADER_LINES + 1 if suffix == ".csv" else None)
    scopes = typed.with_columns(
        pl.concat_str([pl.col(c) for c in _WIRE_SCOPE], separator=".").alias(SCOPE_KEY)
    ).select(list(SCOPES_SCHEMA))
    empty_notes = pl.DataFrame(schema=NOTES_SCHEMA)
    return Tables(scopes=scopes, notes=empty_notes)


def _read_csv(source: Path) -> pl.DataFrame:
    with source.open(encoding="utf-8-sig", newline="") as file:
        header = next(csv.reader(file), [])
    _check_header(header, source)
    try:
        frame = pl.read_csv(source, infer_schema=False, encoding="utf8")
    except pl.exceptions.PolarsError as error:
        raise TablesError(f"{source}: not a readable CSV file ({error})") from None
    # polars keeps a UTF-8 BOM out of the first name; strip it in case a version does not
    return frame.rename({frame.columns[0]: frame.columns[0].removeprefix("\ufeff")})


def _read_parquet(source: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(source)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise TablesError(f"{source}: not a readable Parquet file ({error})") from None
    _check_header(frame.columns, source)
    return frame


MISSING_COLUMNS_SHOWN = 5
"""How many missing columns an error lists before it says "..."."""


def _check_header(header: list[str], source: Path) -> None:
    absent = [
        column for column in COLUMNS if column not in header and column not in OPTIONAL_COLUMNS
    ]
    if absent:
        shown = ", ".join(absent[:MISSING_COLUMNS_SHOWN])
        shown += " ..." if len(absent) > MISSING_COLUMNS_SHOWN else ""
        raise TablesError(f"{source}: not a tidy export; missing the columns {shown}")


def _typed(frame: pl.DataFrame, source: Path, *, first_line: int | None) -> pl.DataFrame:
    """Cast each column to its kind; a value that does not fit names its column and line."""
    columns = []
    for column in COLUMNS:
        dtype = SCOPES_SCHEMA[column]
        if column not in frame.columns:  # an optional column an older export lacks: unknown
            columns.append(pl.Series(column, [None] * frame.height, dtype=dtype))
            continue
        values = frame.get_column(column)
        cast = values.cast(dtype, strict=False)
        bad = (cast.is_null() & values.is_not_null()).arg_true()
        if len(bad):
            row = int(bad[0])
            where = f"line {row + first_line}" if first_line is not None else f"row {row + 1}"
            raise TablesError(
                f"{column} must be {dtype}; got {values[row]!r}", origin=f"{source} {where}"
            )
        columns.append(cast)
    typed = pl.DataFrame(columns)
    for column, allowed in _SCOPE_VALUES.items():
        bad = (~typed.get_column(column).is_in(list(allowed))).fill_null(True).arg_true()
        if len(bad):
            row = int(bad[0])
            where = f"line {row + first_line}" if first_line is not None else f"row {row + 1}"
            raise TablesError(
                f"{column} must be one of {', '.join(sorted(allowed))}; got {typed[column][row]!r}",
                origin=f"{source} {where}",
            )
    return typed


# -- one entry point -----------------------------------------------------------------------------

DATABASE_SCHEMES = ("sqlite", "postgresql")


def load(path_or_url: str | Path) -> Tables:
    """Tables from any place answers are kept, chosen by URL scheme or file suffix:
    ``.jsonl`` (pgy batch), ``.csv``/``.parquet`` (tidy exports), a database URL or a SQLite
    file (the server's store)."""
    text = str(path_or_url)
    if "://" in text:
        scheme = text.split("://", 1)[0].split("+", 1)[0].lower()
        if scheme in DATABASE_SCHEMES:
            return load_store(text)
        raise TablesError(f"cannot load {scheme}:// URLs; use a sqlite or postgresql URL")
    suffix = Path(text).suffix.lower()
    if suffix == ".jsonl":
        return load_jsonl(text)
    if suffix in TIDY_SUFFIXES:
        return load_tidy(text)
    if suffix in SQLITE_SUFFIXES:
        return load_store(text)
    if suffix == ".xlsx":
        raise TablesError(
            f"{text}: XLSX exports are for reading by people; load the JSONL, CSV or Parquet "
            "export of the same batch instead"
        )
    raise TablesError(
        f"cannot tell what {text} holds: use a .jsonl, .csv, .parquet, .db/.sqlite/.sqlite3 "
        "file or a sqlite/postgresql URL"
    )
