"""The contract's rules for consumers, on the shared fixture and on edge cases by hand."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pgy_metrics.contract.units import flatten_scope, is_missing, percent, snake_case


@pytest.fixture
def data(fixture_bytes: bytes) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(fixture_bytes)["data"]
    return value


@pytest.mark.parametrize(
    ("key", "column"),
    [
        ("readMedian", "read_median"),
        ("mEngagementNum", "m_engagement_num"),
        ("picture3sViewRate", "picture3s_view_rate"),
        ("impHomefeedPercent", "imp_homefeed_percent"),
        ("hundredLikePercent", "hundred_like_percent"),
    ],
)
def test_snake_case(key: str, column: str) -> None:
    assert snake_case(key) == column


@pytest.mark.parametrize("value", [None, "", "-", "暂无", " - "])
def test_missing_markers(value: Any) -> None:
    assert is_missing(value)
    assert percent(value) is None


def test_percent_strings_become_fractions() -> None:
    assert percent("8.6") == 0.086
    assert percent("95.8") == 0.958
    assert percent("3.4%") == 0.034
    assert percent("0.0") == 0.0
    with pytest.raises(ValueError, match="not a percentage"):
        percent("lots")


def test_fixture_row_by_hand(data: dict[str, Any]) -> None:
    row = flatten_scope(data)
    assert row["note_number"] == 3 and row["video_note_number"] == 0
    assert row["read_median"] == 1471 and row["imp_median"] == 7594
    assert row["interaction_rate"] == 0.034  # "3.4" -> 0.034
    assert row["read_median_beyond_rate"] == 0.958
    assert row["hundred_like_percent"] == 0.0  # a real 0 %: 3 notes, none with 100 likes
    assert row["picture3s_view_rate"] == 0.73
    # rule 2: no video notes, so the video rates are missing, not 0
    assert row["video_full_view_rate"] is None and row["video_full_view_beyond_rate"] is None
    # rule 4: one column per duplicated key; rule 6: both interaction medians, distinct
    assert row["m_engagement_num"] == 91 and row["interaction_median"] == 75
    assert "mengagement_num" not in row and row["m_follow_cnt"] == 1
    assert (row["content_tag_1"], row["content_tag_1_percent"]) == ("美妆", 0.333)
    assert row["trade_names"] is None
    assert row["imp_search_percent"] == 0.592 and row["read_other_percent"] == pytest.approx(0.034)
    # rule 7: the cohort is labelled with its own dates; an empty cohort has no metrics
    assert row["long_term_common_start_publish_time"] == "2025-04-12"
    assert row["long_term_common_long_term_read_beyond_rate"] == 0.925
    assert row["long_term_cooperate_note_number"] == 0
    assert row["long_term_cooperate_recent_read_num"] is None
    assert "notes" not in row  # rule 5: recent notes have their own table


def test_empty_scope_has_every_metric_missing(data: dict[str, Any]) -> None:
    empty = {
        **data,
        "noteNumber": 0,
        "videoNoteNumber": 0,
        "impMedian": 0,
        "readMedian": 0,
        "interactionRate": "0.0",
        "notes": None,
        "pagePercentVo": None,
        "noteType": [],
        # rule 1: percentiles are NOT zeroed upstream (copied from another scope)
        "readMedianBeyondRate": "95.8",
    }
    row = flatten_scope(empty)
    assert row["note_number"] == 0
    for column in (
        "read_median",
        "imp_median",
        "interaction_rate",
        "read_median_beyond_rate",
        "m_engagement_num",
        "imp_search_percent",
        "content_tag_1",
    ):
        assert row[column] is None, column


def test_photo_rate_missing_when_every_note_is_a_video(data: dict[str, Any]) -> None:
    row = flatten_scope(
        {**data, "videoNoteNumber": 3, "picture3sViewRate": "0.0", "videoFullViewRate": "41.0"}
    )
    assert row["picture3s_view_rate"] is None
    assert row["video_full_view_rate"] == 0.41


def test_either_spelling_of_the_duplicated_keys(data: dict[str, Any]) -> None:
    only_lower = {k: v for k, v in data.items() if k not in ("mEngagementNum", "mFollowCnt")}
    row = flatten_scope(only_lower)
    assert (row["m_engagement_num"], row["m_follow_cnt"]) == (91, 1)


def test_every_sandbox_payload_flattens_and_keeps_the_rules() -> None:
    from datetime import UTC, date, datetime

    from pgy_metrics.clock import FixedClock
    from pgy_metrics.contract import Scope
    from pgy_metrics.sources.sandbox import SandboxSource

    source = SandboxSource(clock=FixedClock(datetime(2026, 11, 27, tzinfo=UTC)))
    for index in range(60):
        for scope in Scope.all():
            data = source.generate(f"{index:024x}", scope, day=date(2026, 11, 27))
            row = flatten_scope(data)
            if data["noteNumber"] == 0:
                assert row["read_median"] is None and row["read_median_beyond_rate"] is None
            else:
                assert row["read_median"] == data["readMedian"]
            for key, value in row.items():
                if key.endswith(("_percent", "_rate")) and value is not None:
                    assert isinstance(value, float) and -0.0 <= value <= 1.0, (key, value)
