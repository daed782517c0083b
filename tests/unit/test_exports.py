"""Exports: each format written and read back, the fixed header, missing as empty, flat memory."""

from __future__ import annotations

import json
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from openpyxl import load_workbook

from pgy_metrics.client import NotesRateResult
from pgy_metrics.client.exports import (
    COLUMN_KINDS,
    COLUMNS,
    FORMATS,
    LABELS_ZH,
    METRIC_COLUMNS,
    SCOPE_COLUMNS,
    ColumnKind,
    ExportError,
    ParquetWriter,
    XlsxWriter,
    open_export,
    tidy_row,
)
from pgy_metrics.clock import FixedClock
from pgy_metrics.contract import NotesRateData, Scope
from pgy_metrics.contract.enums import Business, NoteType
from pgy_metrics.contract.units import flatten_scope
from pgy_metrics.sources.sandbox import SandboxSource

USER = "5d21ab6b000000001201567d"
DAY = date(2026, 3, 2)
RECORD_TIME = "2026-03-02T10:15:00.123456"
FIXTURE_TIME = "2025-12-08T18:39:29.651698781"
TEXT_IDS = {"user_id": pl.String}
VIDEO = Scope(note_type=NoteType.VIDEO)


def envelope(data: dict[str, Any], record_time: str = RECORD_TIME) -> dict[str, Any]:
    return {"code": 0, "message": None, "data": data, "recordTime": record_time, "requestId": "r1"}


@pytest.fixture
def fixture_envelope(fixture_bytes: bytes) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(fixture_bytes)
    assert raw["recordTime"] == FIXTURE_TIME  # the hosted API's wall time, in nanoseconds
    return raw


@pytest.fixture
def sandbox() -> SandboxSource:
    return SandboxSource(clock=FixedClock(datetime(2026, 3, 2, 2, tzinfo=UTC)))


@pytest.fixture
def empty_scope(fixture_envelope: dict[str, Any]) -> dict[str, Any]:
    """An empty scope as upstream sends it: zeros, "0.0", copied percentiles, null lists."""
    data = dict(fixture_envelope["data"])
    data.update(
        noteNumber=0,
        videoNoteNumber=0,
        readMedian=0,
        impMedian=0,
        interactionRate="0.0",
        notes=None,
        pagePercentVo=None,
        noteType=[],
    )
    return envelope(data)


def rows_of(sandbox: SandboxSource) -> list[tuple[str, Scope, dict[str, Any]]]:
    ids = [f"5d21ab6b{n:016x}" for n in range(1, 6)]
    return [
        (user, scope, envelope(sandbox.generate(user, scope, day=DAY)))
        for user in ids
        for scope in Scope.all()
    ]


# -- columns -------------------------------------------------------------------------------------


def test_columns_are_flatten_scope_keys_for_every_payload(
    fixture_envelope: dict[str, Any], sandbox: SandboxSource
) -> None:
    assert (*SCOPE_COLUMNS, *METRIC_COLUMNS) == COLUMNS
    assert tuple(flatten_scope(fixture_envelope["data"])) == METRIC_COLUMNS
    for _, _, answer in rows_of(sandbox)[:24]:
        assert tuple(flatten_scope(answer["data"])) == METRIC_COLUMNS
    assert "read_median" in COLUMNS
    assert "m_engagement_num" in COLUMNS


def test_every_column_has_a_distinct_chinese_label() -> None:
    assert set(LABELS_ZH) == set(COLUMNS)
    unlabelled = [column for column, label in LABELS_ZH.items() if label == column]
    assert not unlabelled
    assert len(set(LABELS_ZH.values())) == len(COLUMNS)
    assert LABELS_ZH["read_median"] == "阅读中位数"
    assert LABELS_ZH["imp_median"] == "曝光中位数"
    assert LABELS_ZH["interaction_rate"] == "互动率"
    assert LABELS_ZH["m_engagement_num"] == "互动中位数"
    assert LABELS_ZH["hundred_like_percent"] == "百赞笔记比例"
    # rule 6: the sum of medians is not labelled as the page's 互动中位数
    assert LABELS_ZH["interaction_median"] != LABELS_ZH["m_engagement_num"]


def test_column_kinds_match_the_values(
    fixture_envelope: dict[str, Any], sandbox: SandboxSource
) -> None:
    for user, scope, answer in [(USER, Scope(), fixture_envelope), *rows_of(sandbox)[:24]]:
        row = tidy_row(user, scope, answer)
        for column, value in row.items():
            if value is None:
                continue
            kind = COLUMN_KINDS[column]
            if kind is ColumnKind.TEXT:
                assert isinstance(value, str), column
            elif kind is ColumnKind.INTEGER:
                assert type(value) is int, column
            else:
                assert type(value) is float, column
                assert -1.0 <= value <= 1.0, (column, value)


def test_unknown_suffix_names_the_allowed_ones(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match=r"\.jsonl, \.csv, \.xlsx, \.parquet"):
        open_export(tmp_path / "out.xls")
    assert set(FORMATS) == {".jsonl", ".csv", ".xlsx", ".parquet"}


def test_failure_answers_are_not_exported(tmp_path: Path) -> None:
    failure = {"code": 301, "message": "collection failed", "data": None, "recordTime": None}
    for suffix in FORMATS:
        with open_export(tmp_path / f"out{suffix}") as writer:
            with pytest.raises(ExportError, match="code 301"):
                writer.write(USER, Scope(), failure)
            assert writer.rows_written == 0


def test_a_bad_user_id_is_refused(tmp_path: Path, fixture_envelope: dict[str, Any]) -> None:
    with open_export(tmp_path / "out.csv") as writer, pytest.raises(ValueError, match="userId"):
        writer.write("nope", Scope(), fixture_envelope)


# -- each format, read back ----------------------------------------------------------------------


def write_three(path: Path, empty: dict[str, Any], full: dict[str, Any]) -> None:
    """An empty scope first, then the fixture, then the fixture's video scope (no video notes)."""
    with open_export(path) as writer:
        writer.write(USER, Scope(business=Business.COOPERATE_NOTE), empty)
        writer.write(USER, Scope(), full)
        writer.write(USER, VIDEO, full, collected_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC))


def check_rows(rows: list[dict[str, Any]]) -> None:
    empty, full, video = rows
    assert empty["business"] == "COOPERATE_NOTE"
    assert empty["note_number"] == 0
    for column in ("read_median", "imp_median", "interaction_rate", "read_median_beyond_rate"):
        assert empty[column] is None, column  # missing, never 0, never a copied percentile
    assert full["read_median"] == 1471
    assert isinstance(full["read_median"], int)
    assert full["interaction_rate"] == pytest.approx(0.034)
    assert full["m_engagement_num"] == 91
    assert full["interaction_median"] == 75
    assert full["video_full_view_rate"] is None  # "0.0" with no video notes is missing
    assert empty["collected_at"] == RECORD_TIME
    assert full["collected_at"] == FIXTURE_TIME  # as sent, never re-parsed (9 digits)
    assert video["note_type"] == "VIDEO"
    assert video["collected_at"] == "2026-03-02T10:00:00+00:00"


def test_csv_round_trip(
    tmp_path: Path, empty_scope: dict[str, Any], fixture_envelope: dict[str, Any]
) -> None:
    path = tmp_path / "out.csv"
    write_three(path, empty_scope, fixture_envelope)
    frame = pl.read_csv(path, schema_overrides=TEXT_IDS)
    assert tuple(frame.columns) == COLUMNS
    assert frame["read_median"].dtype == pl.Int64
    assert frame["interaction_rate"].dtype == pl.Float64
    check_rows(frame.to_dicts())
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    empty_line = lines[1].split(",")
    assert empty_line[COLUMNS.index("read_median")] == ""  # an empty field, not 0
    assert "%" not in path.read_text(encoding="utf-8-sig")


def test_parquet_round_trip(
    tmp_path: Path, empty_scope: dict[str, Any], fixture_envelope: dict[str, Any]
) -> None:
    path = tmp_path / "out.parquet"
    write_three(path, empty_scope, fixture_envelope)
    frame = pl.read_parquet(path)
    assert tuple(frame.columns) == COLUMNS
    expected = {ColumnKind.TEXT: pl.String, ColumnKind.INTEGER: pl.Int64}
    for column in COLUMNS:
        assert frame[column].dtype == expected.get(COLUMN_KINDS[column], pl.Float64), column
    check_rows(frame.to_dicts())
    assert not list(tmp_path.glob(".out.parquet.*"))  # the part files are gone


def test_xlsx_round_trip(
    tmp_path: Path, empty_scope: dict[str, Any], fixture_envelope: dict[str, Any]
) -> None:
    path = tmp_path / "out.xlsx"
    write_three(path, empty_scope, fixture_envelope)
    book = load_workbook(path)
    sheet = book["data"]
    header = [cell.value for cell in sheet[1]]
    labels = [cell.value for cell in sheet[2]]
    assert tuple(header) == COLUMNS
    assert labels == [LABELS_ZH[column] for column in COLUMNS]
    assert sheet.freeze_panes == "B3"
    rows = [
        dict(zip(COLUMNS, values, strict=True)) for values in sheet.iter_rows(3, values_only=True)
    ]
    check_rows(rows)
    full = sheet[4]
    formats = {column: full[index].number_format for index, column in enumerate(COLUMNS)}
    assert formats["interaction_rate"] == "0.0%"
    assert formats["imp_homefeed_percent"] == "0.0%"
    assert formats["read_median"] == "#,##0"
    assert full[COLUMNS.index("read_median")].data_type == "n"
    assert full[COLUMNS.index("interaction_rate")].data_type == "n"
    empty = sheet[3]
    assert empty[COLUMNS.index("read_median")].value is None  # an empty cell


def test_jsonl_keeps_the_whole_envelope(
    tmp_path: Path, empty_scope: dict[str, Any], fixture_envelope: dict[str, Any]
) -> None:
    path = tmp_path / "out.jsonl"
    write_three(path, empty_scope, fixture_envelope)
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 3
    assert records[1]["envelope"] == fixture_envelope
    assert records[0]["envelope"] == empty_scope
    assert records[2]["note_type"] == "VIDEO"
    assert {key: records[1][key] for key in SCOPE_COLUMNS} == {
        "user_id": USER,
        "business": "DAILY_NOTE",
        "note_type": "PHOTO_TEXT_AND_VIDEO",
        "date_type": "DAY_30",
        "advertise_switch": "ALL",
        "collected_at": FIXTURE_TIME,
        "source": None,  # written with write() and no source: unknown
    }


def test_the_same_header_whatever_comes_first(
    tmp_path: Path, empty_scope: dict[str, Any], fixture_envelope: dict[str, Any]
) -> None:
    for suffix in (".csv", ".xlsx", ".parquet"):
        headers = []
        for name, first in (("empty", empty_scope), ("full", fixture_envelope), ("none", None)):
            path = tmp_path / f"{name}{suffix}"
            with open_export(path) as writer:
                if first is not None:
                    writer.write(USER, Scope(), first)
            if suffix == ".xlsx":
                sheet = load_workbook(path)["data"]
                headers.append(tuple(cell.value for cell in sheet[1]))
            elif suffix == ".csv":
                headers.append(tuple(pl.read_csv(path).columns))
            else:
                headers.append(tuple(pl.read_parquet(path).columns))
        assert headers == [COLUMNS] * 3, suffix


def test_sandbox_rows_round_trip_in_every_tidy_format(
    tmp_path: Path, sandbox: SandboxSource
) -> None:
    rows = rows_of(sandbox)
    expected = [tidy_row(user, scope, answer) for user, scope, answer in rows]
    assert any(row["note_number"] == 0 for row in expected), "want an empty scope in the sample"
    no_video = [r for r in expected if r["note_number"] and r["video_note_number"] == 0]
    assert no_video and all(r["video_full_view_rate"] is None for r in no_video)
    for suffix in (".csv", ".parquet", ".xlsx"):
        path = tmp_path / f"sandbox{suffix}"
        with open_export(path) as writer:
            for user, scope, answer in rows:
                writer.write(user, scope, answer)
        if suffix == ".xlsx":
            sheet = load_workbook(path, read_only=True)["data"]
            got = [
                dict(zip(COLUMNS, values, strict=True))
                for values in sheet.iter_rows(min_row=3, values_only=True)
            ]
        else:
            frame = (
                pl.read_csv(path, infer_schema_length=None, schema_overrides=TEXT_IDS)
                if suffix == ".csv"
                else pl.read_parquet(path)
            )
            got = frame.to_dicts()
        assert len(got) == len(expected)
        for want, have in zip(expected, got, strict=True):
            for column in COLUMNS:
                if want[column] is None:
                    assert have[column] is None, (suffix, column)
                elif isinstance(want[column], float):
                    assert have[column] == pytest.approx(want[column]), (suffix, column)
                else:
                    assert have[column] == want[column], (suffix, column)


def test_write_result_takes_a_client_result(
    tmp_path: Path, fixture_envelope: dict[str, Any]
) -> None:
    result = NotesRateResult(
        user_id=USER,
        scope=VIDEO,
        data=NotesRateData.from_raw(fixture_envelope["data"]),
        record_time=RECORD_TIME,
        request_id="r1",
        source="sandbox",
        retries_taken=0,
        replayed=False,
        idempotency_key="k",
        envelope=fixture_envelope,
    )
    path = tmp_path / "out.csv"
    with open_export(path) as writer:
        writer.write_result(result)
    row = pl.read_csv(path, schema_overrides=TEXT_IDS).row(0, named=True)
    assert (row["note_type"], row["collected_at"], row["read_median"]) == (
        "VIDEO",
        RECORD_TIME,
        1471,
    )


def result_from(source: str | None, envelope: dict[str, Any]) -> NotesRateResult:
    return NotesRateResult(
        user_id=USER,
        scope=Scope(),
        data=NotesRateData.from_raw(envelope["data"]),
        record_time=RECORD_TIME,
        request_id="r1",
        source=source,
        retries_taken=0,
        replayed=False,
        idempotency_key="k",
        envelope=envelope,
    )


def read_sources(path: Path) -> list[str | None]:
    """The source of each row, as a reader of the file sees it (empty cells as None)."""
    if path.suffix == ".jsonl":
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line)["source"] for line in lines]
    if path.suffix == ".xlsx":
        sheet = load_workbook(path)["data"]
        index = [cell.value for cell in sheet[1]].index("source")
        return [row[index] for row in sheet.iter_rows(3, values_only=True)]
    frame = pl.read_csv(path) if path.suffix == ".csv" else pl.read_parquet(path)
    return frame["source"].to_list()


def test_every_format_records_where_each_answer_came_from(
    tmp_path: Path, fixture_envelope: dict[str, Any]
) -> None:
    """The server's X-Pgy-Source; ``hosted`` for a result whose server did not say; empty for a
    row written without a source (unknown)."""
    assert COLUMN_KINDS["source"] is ColumnKind.TEXT
    assert SCOPE_COLUMNS[-2:] == ("collected_at", "source")
    for suffix in FORMATS:
        path = tmp_path / f"out{suffix}"
        with open_export(path) as writer:
            writer.write_result(result_from("sandbox", fixture_envelope))
            writer.write_result(result_from("pugongying", fixture_envelope))
            writer.write_result(result_from(None, fixture_envelope))
            writer.write(USER, Scope(), fixture_envelope)
            writer.write(USER, Scope(), fixture_envelope, source="replay")
        assert read_sources(path) == ["sandbox", "pugongying", "hosted", None, "replay"], suffix
    assert result_from("sandbox", fixture_envelope).synthetic
    assert not result_from("pugongying", fixture_envelope).synthetic
    assert not result_from(None, fixture_envelope).synthetic


def test_a_source_that_is_not_text_is_refused(
    tmp_path: Path, fixture_envelope: dict[str, Any]
) -> None:
    with open_export(tmp_path / "out.csv") as writer, pytest.raises(ExportError, match="source"):
        writer.write(USER, Scope(), fixture_envelope, source=7)  # type: ignore[arg-type]


def test_close_is_idempotent_and_an_error_still_closes(
    tmp_path: Path, fixture_envelope: dict[str, Any]
) -> None:
    path = tmp_path / "out.parquet"
    writer = open_export(path)

    def interrupted_batch() -> None:
        with writer:
            writer.write(USER, Scope(), fixture_envelope)
            raise RuntimeError("the batch was interrupted")

    with pytest.raises(RuntimeError):
        interrupted_batch()
    assert pl.read_parquet(path).height == 1  # what was fetched is kept
    writer.close()
    with pytest.raises(ExportError, match="closed"):
        writer.write(USER, Scope(), fixture_envelope)


# -- memory stays flat ---------------------------------------------------------------------------

MANY = 4_000
"""Rows per memory check (tracemalloc slows writing; holding them would still take > 20 MB)."""


def peak_bytes(path: Path, answer: dict[str, Any], count: int) -> int:
    tracemalloc.start()
    try:
        with open_export(path) as writer:
            for _ in range(count):
                writer.write(USER, Scope(), answer)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_line_formats_hold_no_buffer(
    tmp_path: Path, fixture_envelope: dict[str, Any], suffix: str
) -> None:
    path = tmp_path / f"many{suffix}"
    peak = peak_bytes(path, fixture_envelope, MANY)
    assert peak < 4_000_000, peak
    assert sum(1 for _ in path.open(encoding="utf-8")) == MANY + (suffix == ".csv")


def test_parquet_buffers_at_most_one_chunk(
    tmp_path: Path, fixture_envelope: dict[str, Any]
) -> None:
    path = tmp_path / "many.parquet"
    writer = ParquetWriter(path, chunk_rows=1_000)
    with writer:
        for _ in range(5 * MANY):
            writer.write(USER, Scope(), fixture_envelope)
            assert writer.buffered_rows < 1_000
    assert pl.read_parquet(path).height == 5 * MANY


def test_xlsx_streams_in_constant_memory_and_rolls_over_sheets(
    tmp_path: Path, fixture_envelope: dict[str, Any]
) -> None:
    path = tmp_path / "many.xlsx"
    writer = XlsxWriter(path, max_rows_per_sheet=1_002)
    assert writer._book.constant_memory
    tracemalloc.start()
    try:
        with writer:
            for _ in range(2_500):
                writer.write(USER, Scope(), fixture_envelope)
        peak = tracemalloc.get_traced_memory()[1]  # closing (zipping) included
    finally:
        tracemalloc.stop()
    assert peak < 4_000_000, peak
    assert writer.sheets == 3
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == ["data", "data_2", "data_3"]
    counts = [book[name].max_row - 2 for name in book.sheetnames]
    assert counts == [1_000, 1_000, 500]
    assert [cell.value for cell in next(book["data_3"].iter_rows(max_row=1))] == list(COLUMNS)


def test_docs_list_every_export_column_with_its_label() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "data.md").read_text(encoding="utf-8")
    section = text.split("## Exports", 1)[1]
    missing = [c for c in COLUMNS if f"| `{c}` | {LABELS_ZH[c]} |" not in section]
    assert not missing, f"document these export columns in docs/data.md: {missing}"


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_an_export_into_a_new_folder_creates_it(tmp_path: Path, suffix: str) -> None:
    target = tmp_path / "out" / "nested" / f"pool{suffix}"
    with open_export(target):
        pass
    assert target.is_file()
