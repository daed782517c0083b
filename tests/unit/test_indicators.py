"""Indicators: hand-computed values on the real answer, cross-scope joins, nulls, the docs."""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pgy_metrics.analytics.indicators import (
    INDICATOR_COLUMNS,
    INDICATORS,
    INTERVALS,
    KEY_COLUMNS,
    PASS_THROUGH_COLUMNS,
    WILSON_Z,
    indicators_frame,
)
from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES, HEADLINE_SCOPE
from pgy_metrics.analytics.tables import ScopeRecord, TablesError, scopes_frame
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.params import Scope

ROOT = Path(__file__).resolve().parents[2]
USER = "5d21ab6b000000001201567d"
COLLECTED = "2025-12-08T18:39:29.651698781"

DAY_30 = ANALYSIS_SCOPES[1]
ORGANIC = ANALYSIS_SCOPES[2]
PHOTO = ANALYSIS_SCOPES[3]
VIDEO = ANALYSIS_SCOPES[4]
SPONSORED = ANALYSIS_SCOPES[5]


@pytest.fixture
def data(fixture_bytes: bytes) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(fixture_bytes)["data"]
    return payload


def variant(data: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of the real answer with some fields changed (a counterpart scope)."""
    changed = copy.deepcopy(data)
    changed.update(changes)
    return changed


def frame_of(*answers: tuple[Scope, dict[str, Any]], collected_at: str = COLLECTED) -> pl.DataFrame:
    records = [ScopeRecord(USER, scope, collected_at, payload) for scope, payload in answers]
    return indicators_frame(scopes_frame(records))


def row_of(frame: pl.DataFrame, scope: Scope) -> dict[str, Any]:
    rows = frame.filter(pl.col("scope_key") == scope.key)
    assert rows.height == 1
    return rows.row(0, named=True)


def wilson(share: float, n: int) -> tuple[float, float]:
    """The Wilson score interval, closed form, written out independently of the code."""
    z = WILSON_Z
    centre = (share + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * math.sqrt(share * (1 - share) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


# -- one scope: the real answer ------------------------------------------------------------------


def test_columns_and_types(data: dict[str, Any]) -> None:
    frame = frame_of((HEADLINE_SCOPE, data))
    assert tuple(frame.columns) == (*KEY_COLUMNS, *PASS_THROUGH_COLUMNS, *INDICATOR_COLUMNS)
    for column in INDICATOR_COLUMNS:
        assert frame.schema[column] == pl.Float64, column
    row = row_of(frame, HEADLINE_SCOPE)
    assert row["user_id"] == USER
    assert row["collected_at"] == COLLECTED
    assert row["read_median"] == 1471
    assert row["m_engagement_num"] == 91
    assert row["interaction_median"] == 75
    assert row["content_tag_1"] == "美妆"


def test_single_scope_indicators_by_hand(data: dict[str, Any]) -> None:
    row = row_of(frame_of((HEADLINE_SCOPE, data)), HEADLINE_SCOPE)
    assert row["click_through"] == pytest.approx(1471 / 7594)
    assert row["engagement_rate"] == pytest.approx(0.034)
    assert row["engagement_rate_median"] == pytest.approx(91 / 1471)
    assert row["follow_conversion"] == pytest.approx(1 / 1471)
    assert row["search_share"] == pytest.approx(0.572)  # pagePercentVo.readSearchPercent
    assert row["evergreen_share"] == pytest.approx(883 / (552 + 883))
    # no counterpart scope collected: the cross-scope indicators are missing
    for column in ("sponsored_decay", "paid_boost_dependence", "momentum", "format_fit"):
        assert row[column] is None, column


def test_like_shares_with_wilson_intervals_by_hand(data: dict[str, Any]) -> None:
    row = row_of(frame_of((HEADLINE_SCOPE, data)), HEADLINE_SCOPE)
    low, high = wilson(0.0, 3)  # 0 of 3 notes with 100+ likes
    assert row["hundred_like_ratio"] == 0.0
    assert row["hundred_like_low"] == pytest.approx(max(low, 0.0), abs=1e-12)
    assert row["hundred_like_high"] == pytest.approx(high)
    assert row["hundred_like_high"] == pytest.approx(0.5614970356393196)

    one_of_three = variant(data, hundredLikePercent="33.3", thousandLikePercent="0.0")
    row = row_of(frame_of((HEADLINE_SCOPE, one_of_three)), HEADLINE_SCOPE)
    low, high = wilson(1 / 3, 3)  # hits = round(0.333 x 3) = 1
    assert row["hundred_like_ratio"] == pytest.approx(0.333)
    assert row["hundred_like_low"] == pytest.approx(low)
    assert row["hundred_like_high"] == pytest.approx(high)
    assert row["thousand_like_high"] == pytest.approx(wilson(0.0, 3)[1])


# -- across scopes -------------------------------------------------------------------------------


def test_cross_scope_indicators_on_a_hand_built_creator(data: dict[str, Any]) -> None:
    frame = frame_of(
        (HEADLINE_SCOPE, data),  # read median 1471, m_engagement 91
        (DAY_30, variant(data, readMedian=1800)),
        (ORGANIC, variant(data, readMedian=1000)),
        (SPONSORED, variant(data, readMedian=600)),
        (PHOTO, variant(data, readMedian=1200, mEngagementNum=60, mengagementNum=60)),
        (VIDEO, variant(data, readMedian=2000, mEngagementNum=150, mengagementNum=150)),
    )
    headline = row_of(frame, HEADLINE_SCOPE)
    assert headline["paid_boost_dependence"] == pytest.approx(1 - 1000 / 1471)
    assert headline["format_fit"] == pytest.approx((150 / 2000) / (60 / 1200) - 1)
    assert headline["momentum"] is None  # defined on DAY_30 rows
    assert headline["sponsored_decay"] is None  # defined on COOPERATE_NOTE rows

    assert row_of(frame, DAY_30)["momentum"] == pytest.approx(1800 / 1471 - 1)
    assert row_of(frame, SPONSORED)["sponsored_decay"] == pytest.approx(600 / 1471)
    assert row_of(frame, ORGANIC)["paid_boost_dependence"] is None  # defined on ALL rows
    assert row_of(frame, PHOTO)["format_fit"] is None  # defined on both-format rows
    # DAY_30 has no organic counterpart collected
    assert row_of(frame, DAY_30)["paid_boost_dependence"] is None
    assert frame.height == 6


def test_counterparts_match_on_all_other_filters(data: dict[str, Any]) -> None:
    sponsored_30 = Scope(
        Business.COOPERATE_NOTE, NoteType.PHOTO_TEXT_AND_VIDEO, DateType.DAY_30, AdvertiseSwitch.ALL
    )
    frame = frame_of(
        (HEADLINE_SCOPE, data),
        (DAY_30, variant(data, readMedian=3000)),
        (sponsored_30, variant(data, readMedian=300)),
        (SPONSORED, variant(data, readMedian=600)),
    )
    assert row_of(frame, sponsored_30)["sponsored_decay"] == pytest.approx(300 / 3000)
    assert row_of(frame, SPONSORED)["sponsored_decay"] == pytest.approx(600 / 1471)
    assert row_of(frame, sponsored_30)["momentum"] == pytest.approx(300 / 600 - 1)


def test_an_empty_scope_has_no_indicators_and_no_counterpart_value(data: dict[str, Any]) -> None:
    empty = variant(
        data,
        noteNumber=0,
        videoNoteNumber=0,
        readMedian=0,
        impMedian=0,
        mEngagementNum=0,
        mengagementNum=0,
        interactionRate="0.0",
        hundredLikePercent="0.0",
        notes=None,
        pagePercentVo=None,
    )
    frame = frame_of((HEADLINE_SCOPE, data), (SPONSORED, empty), (ORGANIC, empty))
    sponsored = row_of(frame, SPONSORED)
    assert sponsored["note_number"] == 0
    for column in INDICATOR_COLUMNS:
        if column != "evergreen_share":  # the cohort is not the scope's notes
            assert sponsored[column] is None, column
    # an empty organic scope is not "100 % paid boost"
    assert row_of(frame, HEADLINE_SCOPE)["paid_boost_dependence"] is None


def test_zero_denominators_are_null_not_infinite(data: dict[str, Any]) -> None:
    frame = frame_of(
        (HEADLINE_SCOPE, variant(data, impMedian=0, readMedian=0)),
        (DAY_30, variant(data, readMedian=100)),
    )
    headline = row_of(frame, HEADLINE_SCOPE)
    for column in ("click_through", "engagement_rate_median", "follow_conversion"):
        assert headline[column] is None, column
    assert row_of(frame, DAY_30)["momentum"] is None
    zero_cohort = copy.deepcopy(data)
    zero_cohort["longTermCommonNoteVo"].update(recentReadNum=0, longTermReadNum=0)
    assert (
        row_of(frame_of((HEADLINE_SCOPE, zero_cohort)), HEADLINE_SCOPE)["evergreen_share"] is None
    )


def test_missing_inputs_give_missing_indicators(data: dict[str, Any]) -> None:
    frame = frame_of((HEADLINE_SCOPE, variant(data, readMedian="-", interactionRate="暂无")))
    row = row_of(frame, HEADLINE_SCOPE)
    for column in ("click_through", "engagement_rate", "engagement_rate_median"):
        assert row[column] is None, column


def test_only_the_latest_collection_counts(data: dict[str, Any]) -> None:
    records = [
        ScopeRecord(USER, HEADLINE_SCOPE, "2025-12-09T00:00:00", variant(data, readMedian=3797)),
        ScopeRecord(USER, HEADLINE_SCOPE, COLLECTED, data),
    ]
    frame = indicators_frame(scopes_frame(records))
    assert frame.height == 1
    assert frame["click_through"][0] == pytest.approx(3797 / 7594)


def test_a_frame_without_the_inputs_is_refused() -> None:
    with pytest.raises(TablesError, match=r"missing the columns .*read_median"):
        indicators_frame(pl.DataFrame({"user_id": [USER]}))


# -- the spec and the docs -----------------------------------------------------------------------


def test_every_indicator_has_a_spec_and_the_bounds_belong_to_one() -> None:
    bounds = {column for pair in INTERVALS.values() for column in pair}
    assert [spec.name for spec in INDICATORS] == [c for c in INDICATOR_COLUMNS if c not in bounds]
    for spec in INDICATORS:
        assert spec.label_en and spec.label_zh and spec.formula, spec.name
    assert {spec.name for spec in INDICATORS if spec.higher_is_better is None} == {"format_fit"}


def test_docs_have_an_entry_per_indicator_and_the_closing_sections() -> None:
    text = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^### `([a-z_]+)`", text, re.MULTILINE))
    missing = [spec.name for spec in INDICATORS if spec.name not in headings]
    assert not missing, f"document these indicators in docs/metrics.md: {missing}"
    for spec in INDICATORS:
        assert spec.label_zh in text, spec.name
    for section in ("## Tidy tables", "## Indicators", "## Cohort benchmarks and score"):
        assert f"\n{section}\n" in text


def test_momentum_uses_real_history_when_an_earlier_collection_is_a_week_older(
    data: dict[str, Any],
) -> None:
    """Two collections of the 30-day scope a week or more apart: momentum is the change of its
    read median between them, not the 30-vs-90-day proxy."""
    records = [
        ScopeRecord(USER, HEADLINE_SCOPE, "2025-12-20T10:00:00", data),  # 90 days: 1471
        ScopeRecord(USER, DAY_30, "2025-12-01T10:00:00", variant(data, readMedian=900)),
        ScopeRecord(USER, DAY_30, "2025-12-10T10:00:00", variant(data, readMedian=1000)),
        ScopeRecord(USER, DAY_30, "2025-12-15T10:00:00", variant(data, readMedian=1200)),
        ScopeRecord(USER, DAY_30, "2025-12-20T10:00:00.5+00:00", variant(data, readMedian=1500)),
    ]
    frame = indicators_frame(scopes_frame(records))
    # the newest collection at least 7 days older than the latest: 2025-12-10 (1000)
    assert row_of(frame, DAY_30)["momentum"] == pytest.approx(1500 / 1000 - 1)
    assert row_of(frame, DAY_30)["read_median"] == 1500
    assert row_of(frame, HEADLINE_SCOPE)["momentum"] is None  # still a 30-day-row indicator


def test_momentum_falls_back_to_30_vs_90_days_without_a_week_of_history(
    data: dict[str, Any],
) -> None:
    records = [
        ScopeRecord(USER, HEADLINE_SCOPE, "2025-12-20T10:00:00", data),  # 90 days: 1471
        ScopeRecord(USER, DAY_30, "2025-12-15T10:00:00", variant(data, readMedian=1000)),
        ScopeRecord(USER, DAY_30, "2025-12-20T10:00:00", variant(data, readMedian=1800)),
    ]
    frame = indicators_frame(scopes_frame(records))
    assert row_of(frame, DAY_30)["momentum"] == pytest.approx(1800 / 1471 - 1)
    zero = ScopeRecord(USER, DAY_30, "2025-12-01T10:00:00", variant(data, readMedian=0))
    zero_before = indicators_frame(scopes_frame([records[0], records[2], zero]))
    assert row_of(zero_before, DAY_30)["momentum"] == pytest.approx(1800 / 1471 - 1)
