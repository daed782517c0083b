"""Tidy tables of the sibling endpoints (contract/sibling_rows.py) and their exports in every
format: units converted (0-100 strings -> 0-1), missing never 0, long tables for fans profile and
history, one file per endpoint, and docs/data.md listing every column."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from pgy_metrics.client import EndpointResult
from pgy_metrics.client._exceptions import InvalidParams
from pgy_metrics.client.batch import EndpointScope
from pgy_metrics.client.exports import EndpointExports, ExportError, export_paths, open_export
from pgy_metrics.contract.sibling_rows import SIBLING_TABLES
from tests.conftest import FIXTURES

USER = "5d21ab6b000000001201567d"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "data.md"
FIXTURE_OF = {
    "blogger_profile": "justoneapi-blogger-profile.json",
    "data_summary": "justoneapi-data-summary.json",
    "fans_summary": "justoneapi-fans-summary.json",
    "fans_profile": "justoneapi-fans-profile.json",
    "fans_history": "justoneapi-fans-history.json",
}
PARAMS = {
    "blogger_profile": {},
    "data_summary": {"business": "DAILY_NOTE"},
    "fans_summary": {},
    "fans_profile": {},
    "fans_history": {"dateType": "DAY_30", "increaseType": "FANS_TOTAL"},
}


def _envelope(endpoint: str) -> dict[str, Any]:
    envelope: dict[str, Any] = json.loads((FIXTURES / FIXTURE_OF[endpoint]).read_bytes())
    return envelope


def _result(endpoint: str, data: dict[str, Any] | None = None) -> EndpointResult:
    envelope = _envelope(endpoint)
    if data is not None:
        envelope["data"] = data
    return EndpointResult(
        endpoint=endpoint,
        user_id=USER,
        params={"userId": USER, **PARAMS[endpoint]},
        data=envelope["data"],
        record_time=envelope["recordTime"],
        request_id=None,
        source="replay",
        retries_taken=0,
        replayed=False,
        idempotency_key="k",
        envelope=envelope,
    )


def _rows(endpoint: str, data: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return SIBLING_TABLES[endpoint].rows(data if data is not None else _envelope(endpoint)["data"])


def test_profile_row_keeps_prices_in_cny_and_missing_prices_empty() -> None:
    (row,) = _rows("blogger_profile")
    assert (row["picture_price"], row["video_price"], row["lower_price"]) == (180.0, 200.0, 180.0)
    assert row["fans_count"] == 2031 and row["content_tags"] == "家居家装:家居用品"
    assert row["agency"] is None and row["picture_show_state"] is True
    data = _envelope("blogger_profile")["data"]
    data.update(picturePrice=None, videoPrice=None, lowerPrice=None, clickMidNum=0)
    (off,) = _rows("blogger_profile", data)
    assert off["picture_price"] is None and off["lower_price"] is None
    assert off["read_median"] is None, "a median of 0 from a creator not enrolled is missing"


def test_summaries_turn_percent_strings_into_fractions_and_zero_estimates_into_missing() -> None:
    (summary,) = _rows("data_summary")
    assert summary["read_median_beyond_rate"] == pytest.approx(0.958)
    assert summary["response_rate"] == pytest.approx(0.8)
    assert summary["imp_median_compare"] == pytest.approx(0.95)
    assert summary["estimate_picture_cpm"] == pytest.approx(180 / 7594 * 1000)
    assert summary["estimate_video_cpm"] is None, "0 = not computed, never free"
    no_invites = {**_envelope("data_summary")["data"], "inviteNum": 0, "responseRate": "0.0"}
    assert _rows("data_summary", no_invites)[0]["response_rate"] is None
    (fans,) = _rows("fans_summary")
    assert fans["active_fans_rate"] == pytest.approx(0.582) and fans["fans_num"] == 2031


def test_fans_profile_is_a_long_table_of_fractions_with_missing_dimensions_visible() -> None:
    rows = _rows("fans_profile")
    dimensions = {row["dimension"] for row in rows}
    assert dimensions == {"ages", "gender", "interests", "provinces", "cities", "devices"}
    ages = [row for row in rows if row["dimension"] == "ages"]
    assert [row["bucket"] for row in ages] == ["<18", "18-24", "25-34", "35-44", ">44"]
    assert [row["rank"] for row in ages] == [1, 2, 3, 4, 5]
    assert sum(row["share"] for row in ages) == pytest.approx(1)
    apple = next(row for row in rows if row["bucket"] == "apple inc.")
    assert apple["bucket_label"] == "苹果" and 0 < apple["share"] < 1
    small = {**_envelope("fans_profile")["data"], "cities": [], "devices": None}
    missing = [
        row for row in _rows("fans_profile", small) if row["dimension"] in {"cities", "devices"}
    ]
    assert len(missing) == 2
    assert all(row["share"] is None and row["bucket"] is None for row in missing)


def test_fans_history_is_one_row_per_day() -> None:
    rows = _rows("fans_history")
    assert len(rows) == 30 and rows[0] == {"date_key": "2025-11-08", "num": 2000}
    assert rows[-1]["num"] == 2031
    assert _rows("fans_history", {"list": None}) == [{"date_key": None, "num": None}]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".xlsx", ".parquet"])
def test_every_format_writes_each_sibling_table(tmp_path: Path, suffix: str) -> None:
    endpoints = list(FIXTURE_OF)
    with EndpointExports(tmp_path / f"pool{suffix}", endpoints) as export:
        for endpoint in endpoints:
            export.write_result(_result(endpoint))
    assert export.rows_written == dict.fromkeys(endpoints, 1)
    for endpoint, path in export.paths.items():
        assert path.name == f"pool.{endpoint}{suffix}"
        table = SIBLING_TABLES[endpoint]
        expected = len(table.rows(_envelope(endpoint)["data"]))
        if suffix == ".csv":
            with path.open(encoding="utf-8-sig", newline="") as file:
                rows = list(csv.DictReader(file))
            assert list(rows[0]) == list(table.columns) and len(rows) == expected
            assert rows[0]["user_id"] == USER and rows[0]["source"] == "replay"
        elif suffix == ".jsonl":
            (line,) = [json.loads(text) for text in path.read_text().splitlines()]
            assert line["endpoint"] == endpoint and line["envelope"] == _envelope(endpoint)
        elif suffix == ".parquet":
            import polars as pl

            frame = pl.read_parquet(path)
            assert frame.columns == list(table.columns) and frame.height == expected
        else:
            import openpyxl  # type: ignore[import-untyped]

            sheet = openpyxl.load_workbook(path, read_only=True)["data"]
            values = list(sheet.iter_rows(values_only=True))
            assert list(values[0]) == list(table.columns)
            assert list(values[1]) == [table.labels_zh[c] for c in table.columns]
            assert len(values) - 2 == expected
    if suffix == ".csv":
        with export.paths["blogger_profile"].open(encoding="utf-8-sig") as file:
            profile = next(csv.DictReader(file))
        assert profile["picture_price"] == "180.0" and profile["low_active"] == "false"
        assert profile["business_note_count"] == "17"


def test_one_endpoint_writes_out_itself_and_a_wrong_result_is_refused(tmp_path: Path) -> None:
    assert export_paths(tmp_path / "a.csv", ["fans_profile"]) == {
        "fans_profile": tmp_path / "a.csv"
    }
    assert export_paths(tmp_path / "a.csv", ["notes_rate", "fans_profile"]) == {
        "notes_rate": tmp_path / "a.csv",
        "fans_profile": tmp_path / "a.fans_profile.csv",
    }
    with (
        open_export(tmp_path / "a.csv", endpoint="fans_profile") as export,
        pytest.raises(ExportError, match="fans_profile answers, not fans_summary"),
    ):
        export.write_result(_result("fans_summary"))
    with pytest.raises(ExportError, match="blogger_profile"):
        open_export(tmp_path / "b.csv", endpoint="nope")


def test_endpoint_scope_validates_and_keys_the_checkpoint() -> None:
    scope = EndpointScope.of("fans_history", dateType="DAY_90")
    assert scope.params == (("dateType", "DAY_90"), ("increaseType", "FANS_TOTAL"))
    assert scope.key == "fans_history.DAY_90.FANS_TOTAL"
    assert EndpointScope.of("fans_profile").key == "fans_profile.-"
    with pytest.raises(InvalidParams, match="DAY_30, DAY_90"):
        EndpointScope.of("fans_history", dateType="DAY_7")
    with pytest.raises(InvalidParams, match="fans_profile has no parameter business"):
        EndpointScope.of("fans_profile", business="DAILY_NOTE")
    with pytest.raises(InvalidParams, match="notes rate takes a Scope"):
        EndpointScope.of("notes_rate")


def test_docs_list_every_column_of_every_sibling_table() -> None:
    text = DOCS.read_text(encoding="utf-8").split("## The sibling endpoints' exports", 1)[1]
    for endpoint, table in SIBLING_TABLES.items():
        section = text.split(f"#### `{endpoint}`", 1)[1].split("####", 1)[0]
        listed = [line.split("`")[1] for line in section.splitlines() if line.startswith("| `")]
        assert listed == list(table.columns), endpoint
