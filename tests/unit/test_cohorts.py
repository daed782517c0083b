"""Cohort benchmarks: percentiles by hand (ties, nulls, lower is better), tiers, the score."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date
from typing import Any

import polars as pl
import pytest

from pgy_metrics.analytics.cohorts import benchmark_frame, home_scope, percentile, tier_of
from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES, HEADLINE_SCOPE
from pgy_metrics.analytics.settings import TIER_PRESETS, AnalyticsSettings, ScoreSettings
from pgy_metrics.contract.enums import Business, DateType

HEADLINE = HEADLINE_SCOPE.key
SPONSORED = dataclasses.replace(HEADLINE_SCOPE, business=Business.COOPERATE_NOTE).key
DAY_30 = dataclasses.replace(HEADLINE_SCOPE, date_type=DateType.DAY_30).key
DAY = date(2026, 11, 26)


def uid(n: int) -> str:
    return f"{0x5D21AB6B0000000000000000 + n:024x}"


def indicator_rows(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    """Hand-built ``indicators_frame``; absent columns are left out (benchmark_frame nulls them)."""
    defaults = {"scope_key": HEADLINE, "collected_at": "2026-11-26T10:00:00"}
    return pl.DataFrame(
        [defaults | row for row in rows],
        schema_overrides={
            "note_number": pl.Int64,
            "read_median": pl.Int64,
            "click_through": pl.Float64,
            "engagement_rate": pl.Float64,
            "paid_boost_dependence": pl.Float64,
            "sponsored_decay": pl.Float64,
            "momentum": pl.Float64,
            "content_tag_1": pl.Utf8,
        },
    )


def settings_with(weights: dict[str, float], *, min_indicators: int = 1) -> AnalyticsSettings:
    return AnalyticsSettings(weights=weights, score=ScoreSettings(min_indicators=min_indicators))


def by_user(frame: pl.DataFrame, column: str) -> dict[str, Any]:
    return dict(zip(frame["user_id"], frame[column], strict=True))


def test_percentile_averages_ties_and_keeps_nulls_null() -> None:
    frame = pl.DataFrame({"x": [1.0, 2.0, 2.0, 3.0, None]})
    got = frame.select(percentile("x", higher_is_better=True))["x"].to_list()
    # average ranks 1, 2.5, 2.5, 4 among n = 4 non-null values: (rank - 0.5) / n
    assert got == [0.125, 0.5, 0.5, 0.875, None]


def test_percentile_of_goodness_when_lower_is_better() -> None:
    frame = pl.DataFrame({"x": [0.1, 0.5, 0.9]})
    got = frame.select(percentile("x", higher_is_better=False))["x"].to_list()
    assert got == pytest.approx([5 / 6, 0.5, 1 / 6])


def test_benchmark_percentiles_in_pool_with_ties_nulls_and_direction() -> None:
    rows = indicator_rows(
        [
            {"user_id": uid(1), "click_through": 0.1, "paid_boost_dependence": 0.9},
            {"user_id": uid(2), "click_through": 0.2, "paid_boost_dependence": 0.5},
            {"user_id": uid(3), "click_through": 0.2, "paid_boost_dependence": 0.1},
            {"user_id": uid(4), "click_through": 0.3, "paid_boost_dependence": None},
            {"user_id": uid(5), "click_through": None, "paid_boost_dependence": None},
        ]
    )
    bench = benchmark_frame(rows, settings=AnalyticsSettings())
    assert by_user(bench, "click_through_pct") == {
        uid(1): 0.125,
        uid(2): 0.5,
        uid(3): 0.5,
        uid(4): 0.875,
        uid(5): None,
    }
    dependence = by_user(bench, "paid_boost_dependence_pct")
    assert dependence[uid(3)] == pytest.approx(5 / 6)  # least dependent: the best
    assert dependence[uid(1)] == pytest.approx(1 / 6)
    assert dependence[uid(4)] is None


def test_percentiles_within_tier_and_within_tag() -> None:
    rows = indicator_rows(
        [
            {"user_id": uid(1), "click_through": 0.1, "content_tag_1": "美妆"},
            {"user_id": uid(2), "click_through": 0.2, "content_tag_1": "美妆"},
            {"user_id": uid(3), "click_through": 0.3, "content_tag_1": "美食"},
            {"user_id": uid(4), "click_through": 0.4, "content_tag_1": None},
        ]
    )
    followers = pl.DataFrame(
        {"user_id": [uid(1), uid(2), uid(3), uid(4)], "followers": [5_000, 50_000, 8_000, 60_000]}
    )
    bench = benchmark_frame(rows, settings=AnalyticsSettings(), followers=followers)
    assert by_user(bench, "tier") == {
        uid(1): "nano",
        uid(2): "micro",
        uid(3): "nano",
        uid(4): "micro",
    }
    assert set(bench["tier_source"]) == {"followers"}
    assert by_user(bench, "click_through_pct_tier") == {
        uid(1): 0.25,
        uid(3): 0.75,
        uid(2): 0.25,
        uid(4): 0.75,
    }
    assert by_user(bench, "click_through_pct_tag") == {
        uid(1): 0.25,
        uid(2): 0.75,
        uid(3): 0.5,  # alone in its tag
        uid(4): None,  # no tag
    }
    assert by_user(bench, "content_tag")[uid(3)] == "美食"


@pytest.mark.parametrize(
    ("followers", "tier"),
    [
        (0, "nano"),
        (9_999, "nano"),
        (10_000, "micro"),
        (99_999, "micro"),
        (100_000, "mid"),
        (499_999, "mid"),
        (500_000, "macro"),
        (999_999, "macro"),
        (1_000_000, "mega"),
        (None, None),
        (-5, None),
    ],
)
def test_follower_preset_bands(followers: int | None, tier: str | None) -> None:
    bands = TIER_PRESETS["pugongying"]["followers"]
    frame = pl.DataFrame({"followers": [followers]}, schema={"followers": pl.Int64})
    assert frame.select(tier_of("followers", bands=bands)).item() == tier


def test_custom_bands_from_settings() -> None:
    settings = AnalyticsSettings.model_validate(
        {
            "tiers": {
                "followers": [{"name": "small", "min": 0}, {"name": "large", "min": 50_000}],
                "read_median": [{"name": "small", "min": 0}, {"name": "large", "min": 3_000}],
            }
        }
    )
    rows = indicator_rows(
        [
            {"user_id": uid(1), "read_median": 100},
            {"user_id": uid(2), "read_median": 100},
            {"user_id": uid(3), "read_median": 3_000},
        ]
    )
    followers = pl.DataFrame({"user_id": [uid(1), uid(2)], "followers": [49_999, 50_000]})
    bench = benchmark_frame(rows, settings=settings, followers=followers)
    assert by_user(bench, "tier") == {uid(1): "small", uid(2): "large", uid(3): "large"}
    assert by_user(bench, "tier_source") == {
        uid(1): "followers",
        uid(2): "followers",
        uid(3): "read_median",  # not in the followers frame: the proxy
    }
    assert by_user(bench, "followers")[uid(3)] is None


def test_read_median_proxy_without_followers() -> None:
    rows = indicator_rows(
        [
            {"user_id": uid(1), "read_median": 1_999},
            {"user_id": uid(2), "read_median": 2_000},
            {"user_id": uid(3), "read_median": 63_000},
            {"user_id": uid(4), "read_median": None},  # empty headline scope: no tier
        ]
    )
    bench = benchmark_frame(rows, settings=AnalyticsSettings())
    assert by_user(bench, "tier") == {uid(1): "nano", uid(2): "micro", uid(3): "mega", uid(4): None}
    assert by_user(bench, "tier_source") == {
        uid(1): "read_median",
        uid(2): "read_median",
        uid(3): "read_median",
        uid(4): None,
    }
    assert by_user(bench, "tier_label_zh")[uid(2)] == "初级达人"


def test_cross_scope_indicators_come_from_their_home_rows() -> None:
    assert home_scope("sponsored_decay", HEADLINE_SCOPE).key == SPONSORED
    assert home_scope("momentum", HEADLINE_SCOPE).key == DAY_30
    assert home_scope("click_through", HEADLINE_SCOPE) == HEADLINE_SCOPE
    rows = indicator_rows(
        [
            {"user_id": uid(1), "click_through": 0.2},
            {
                "user_id": uid(1),
                "scope_key": SPONSORED,
                "sponsored_decay": 0.8,
                "click_through": 9.0,
            },
            {"user_id": uid(1), "scope_key": DAY_30, "momentum": 0.1, "click_through": 9.0},
        ]
    )
    bench = benchmark_frame(rows, settings=AnalyticsSettings())
    assert bench.height == 1
    row = bench.row(0, named=True)
    assert (row["click_through"], row["sponsored_decay"], row["momentum"]) == (0.2, 0.8, 0.1)


def test_score_is_the_sum_of_its_contributions_and_renormalises_over_missing() -> None:
    settings = settings_with({"click_through": 1, "engagement_rate": 3})
    rows = indicator_rows(
        [
            {"user_id": uid(1), "click_through": 0.1, "engagement_rate": 0.01},
            {"user_id": uid(2), "click_through": 0.3, "engagement_rate": 0.05},
            {"user_id": uid(3), "click_through": 0.2, "engagement_rate": None},
        ]
    )
    bench = benchmark_frame(rows, settings=settings)
    rows_by_user = {row["user_id"]: row for row in bench.iter_rows(named=True)}
    # uid(2): click 5/6, engagement 3/4 -> 100 x (1 x 5/6 + 3 x 3/4) / 4
    best = rows_by_user[uid(2)]
    assert best["score"] == pytest.approx(100 * (5 / 6 + 3 * 0.75) / 4)
    assert best["score_click_through"] == pytest.approx(100 * (5 / 6) / 4)
    assert best["score_engagement_rate"] == pytest.approx(100 * 3 * 0.75 / 4)
    for row in bench.iter_rows(named=True):
        parts = [row["score_click_through"], row["score_engagement_rate"]]
        assert row["score"] == pytest.approx(sum(p for p in parts if p is not None))
    # uid(3) has no engagement: its score is its click-through percentile alone (weights
    # re-normalised), so the missing indicator neither helps nor hurts
    partial = rows_by_user[uid(3)]
    assert partial["score"] == pytest.approx(100 * 0.5)
    assert partial["score_engagement_rate"] is None
    assert partial["indicators_available"] == 1
    assert partial["missing_indicators"] == "engagement_rate"
    assert bench["user_id"].to_list() == [uid(2), uid(3), uid(1)]  # best score first


def test_too_few_indicators_gives_no_score_and_says_why() -> None:
    settings = settings_with({"click_through": 1, "engagement_rate": 1}, min_indicators=2)
    rows = indicator_rows(
        [
            {"user_id": uid(1), "click_through": 0.1, "engagement_rate": 0.01},
            {"user_id": uid(2), "click_through": 0.3, "engagement_rate": None},
        ]
    )
    bench = benchmark_frame(rows, settings=settings)
    row = bench.filter(pl.col("user_id") == uid(2)).row(0, named=True)
    assert row["score"] is None
    assert row["score_click_through"] is None
    assert row["no_score_reason"] == (
        "only 1 of 2 weighted indicators have a value (minimum 2); missing: engagement_rate"
    )
    scored = bench.filter(pl.col("user_id") == uid(1)).row(0, named=True)
    assert scored["score"] == pytest.approx(37.5)  # click 0.25 of 2, engagement 0.5 of 1
    assert scored["no_score_reason"] is None
    assert bench["user_id"].to_list() == [uid(1), uid(2)]  # no score last


def test_flag_count_counts_warnings_and_is_null_without_flags() -> None:
    rows = indicator_rows([{"user_id": uid(1)}, {"user_id": uid(2)}])
    flags = pl.DataFrame(
        {
            "user_id": [uid(1), uid(1), uid(1)],
            "flag": ["thin_sample", "paid_boost_heavy", "empty_scope"],
            "scope_key": [HEADLINE, HEADLINE, SPONSORED],
            "evidence": ["a", "b", "c"],
            "severity": ["warn", "warn", "info"],
        }
    )
    bench = benchmark_frame(rows, settings=AnalyticsSettings(), flags=flags)
    assert by_user(bench, "flag_count") == {uid(1): 2, uid(2): 0}
    assert benchmark_frame(rows, settings=AnalyticsSettings())["flag_count"].null_count() == 2


def test_followers_frame_needs_its_columns() -> None:
    rows = indicator_rows([{"user_id": uid(1)}])
    with pytest.raises(ValueError, match="followers frame lacks column"):
        benchmark_frame(rows, settings=AnalyticsSettings(), followers=pl.DataFrame({"id": ["x"]}))


def test_end_to_end_on_sandbox_payloads() -> None:
    """Sandbox payloads through tables and indicators: one row per creator, scores in 0-100."""
    from pgy_metrics.analytics.indicators import indicators_frame
    from pgy_metrics.analytics.tables import ScopeRecord, scopes_frame
    from pgy_metrics.clock import SystemClock
    from pgy_metrics.sources.sandbox import SandboxSource

    source = SandboxSource(clock=SystemClock())
    records = [
        ScopeRecord(uid(n), scope, "2026-11-26T10:00:00", source.generate(uid(n), scope, day=DAY))
        for n in range(60)
        for scope in ANALYSIS_SCOPES
    ]
    indicators = indicators_frame(scopes_frame(records))
    bench = benchmark_frame(indicators, settings=AnalyticsSettings())
    assert bench.height == 60
    assert bench["user_id"].n_unique() == 60
    scores = bench["score"].drop_nulls()
    assert scores.len() > 50
    assert scores.min() >= 0 and scores.max() <= 100  # type: ignore[operator]
    contributions = bench.select(pl.sum_horizontal(pl.col("^score_.*$"))).to_series()
    scored = bench["score"].is_not_null()
    assert (contributions.filter(scored) - bench["score"].filter(scored)).abs().max() < 1e-9  # type: ignore[operator]
    pct = bench.select(pl.col("^.*_pct$")).unpivot()["value"].drop_nulls()
    assert pct.min() > 0 and pct.max() < 1  # type: ignore[operator]


def test_latest_collection_wins() -> None:
    rows = indicator_rows(
        [
            {"user_id": uid(1), "click_through": 0.9, "collected_at": "2026-11-27T10:00:00"},
            {"user_id": uid(1), "click_through": 0.1, "collected_at": "2026-11-20T10:00:00"},
        ]
    )
    bench = benchmark_frame(rows, settings=AnalyticsSettings())
    assert bench.height == 1
    assert bench["click_through"].item() == 0.9
