"""Cohort benchmarks: where each creator stands in the analyst's pool, overall, in a tier, in a tag.

An absolute number ("engagement 4.1 %") means little until it is compared with the creators the
analyst is choosing between. So every indicator gets a *percentile within the pool* (the creators
in the input), within the creator's tier (followers, or a read-median proxy) and within their main
content tag; a composite score (0-100) then sums weighted percentiles, and ``score_<indicator>``
columns show how much each indicator contributed, so the score explains itself.

Percentile (mid-rank, ties averaged): ``(rank - 0.5) / n`` where ``rank`` is the average rank of
the value among the ``n`` non-null values of the group, ranked from worst to best. It is the share
of the group the creator beats plus half of those tied with it: in (0, 1), 0.5 for a group of one,
null for a null value. For an indicator where lower is better (``paid_boost_dependence``) the rank
is of the goodness, so 1 is always the best end. ``docs/benchmarking.md`` has the full text.

Everything is vectorised polars (window expressions, joins): no Python loop per creator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from enum import StrEnum

import polars as pl

from pgy_metrics.analytics.indicators import INDICATORS
from pgy_metrics.analytics.scopes import HEADLINE_SCOPE
from pgy_metrics.analytics.settings import AnalyticsSettings, Band
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.params import Scope

__all__ = [
    "PCT_SUFFIX",
    "PCT_TAG_SUFFIX",
    "PCT_TIER_SUFFIX",
    "SCORE_PREFIX",
    "TierSource",
    "benchmark_frame",
    "home_scope",
    "latest_rows",
    "percentile",
    "ranked_indicators",
    "tier_of",
]

PCT_SUFFIX = "_pct"
PCT_TIER_SUFFIX = "_pct_tier"
PCT_TAG_SUFFIX = "_pct_tag"
SCORE_PREFIX = "score_"
SCORE_SCALE = 100.0
"""The composite score runs from 0 to 100: percentiles (0-1) times this."""
COUNTED_SEVERITY = "warn"
"""``flag_count`` counts warnings; ``info`` flags (an empty scope) are context, not risk."""


class TierSource(StrEnum):
    """Values of the ``tier_source`` column: what the tier was derived from."""

    FOLLOWERS = "followers"
    READ_MEDIAN = "read_median"


def home_scope(indicator: str, scope: Scope) -> Scope:
    """The scope whose row holds ``indicator`` for a creator ranked on ``scope``.

    Cross-scope indicators live on one side of their comparison only (``indicators.py``):
    sponsored decay on the sponsored row, momentum on the 30-day row, paid-boost dependence on the
    all-traffic row, format fit on the both-formats row. The other dimensions stay those of
    ``scope``.
    """
    if indicator == "sponsored_decay":
        return dataclasses.replace(scope, business=Business.COOPERATE_NOTE)
    if indicator == "momentum":
        return dataclasses.replace(scope, date_type=DateType.DAY_30)
    if indicator == "paid_boost_dependence":
        return dataclasses.replace(scope, advertise_switch=AdvertiseSwitch.ALL)
    if indicator == "format_fit":
        return dataclasses.replace(scope, note_type=NoteType.PHOTO_TEXT_AND_VIDEO)
    return scope


def ranked_indicators() -> dict[str, bool]:
    """Indicator name -> higher is better, for every indicator that gets percentiles.

    An indicator whose ``higher_is_better`` is None (``format_fit``: which format suits the
    creator) describes rather than grades, so it is not ranked.
    """
    return {
        spec.name: spec.higher_is_better for spec in INDICATORS if spec.higher_is_better is not None
    }


def tier_of(value: pl.Expr | str, *, bands: Sequence[Band]) -> pl.Expr:
    """The tier name of each value (followers or read median): the band whose ``min`` is the
    largest not above the value. Null or negative values have no tier (null)."""
    expr = pl.col(value) if isinstance(value, str) else value
    tier: pl.Expr = pl.lit(None, dtype=pl.Utf8)
    for band in sorted(bands, key=lambda band: band.min):  # the highest matching band wins
        tier = pl.when(expr >= band.min).then(pl.lit(band.name)).otherwise(tier)
    return tier


def percentile(value: pl.Expr | str, *, higher_is_better: bool) -> pl.Expr:
    """Mid-rank percentile ``(average rank - 0.5) / n`` over the non-null values, worst first.

    Use ``.over(group)`` for a percentile within groups. Null values stay null.
    """
    expr = pl.col(value) if isinstance(value, str) else value
    rank = expr.rank("average", descending=not higher_is_better)
    return (rank - 0.5) / expr.count()


def latest_rows(indicators: pl.DataFrame) -> pl.DataFrame:
    """One row per user_id x scope (the latest), with every column cohorts and flags read.

    A column the caller's frame lacks (an indicator, ``note_number``, ...) is added as nulls: a
    frame without an indicator ranks and flags nobody on it, rather than failing.
    """
    missing = [name for name in ("user_id", "scope_key") if name not in indicators.columns]
    if missing:
        raise ValueError(f"indicators frame lacks column(s) {', '.join(missing)}")
    frame = indicators
    if "collected_at" in frame.columns:
        frame = frame.sort("collected_at", nulls_last=False, maintain_order=True)
    frame = frame.unique(subset=["user_id", "scope_key"], keep="last", maintain_order=True)
    wanted: dict[str, pl.DataType] = {
        **dict.fromkeys((spec.name for spec in INDICATORS), pl.Float64()),
        "note_number": pl.Int64(),
        "read_median": pl.Int64(),
        "content_tag_1": pl.Utf8(),
    }
    return frame.with_columns(
        pl.lit(None, dtype=dtype).alias(name)
        for name, dtype in wanted.items()
        if name not in frame.columns
    )


def _on_scope(latest: pl.DataFrame, scope: Scope, indicators: Sequence[str]) -> pl.DataFrame:
    """Each creator's values on ``scope``, each cross-scope indicator from its home row."""
    by_home: dict[str, list[str]] = {}
    for name in indicators:
        by_home.setdefault(home_scope(name, scope).key, []).append(name)
    base = latest.filter(pl.col("scope_key") == scope.key).select(
        "user_id",
        "note_number",
        "read_median",
        pl.col("content_tag_1").alias("content_tag"),
        *by_home.pop(scope.key, []),
    )
    frame = (
        latest.select("user_id").unique(maintain_order=True).join(base, on="user_id", how="left")
    )
    for key, names in by_home.items():
        side = latest.filter(pl.col("scope_key") == key).select("user_id", *names)
        frame = frame.join(side, on="user_id", how="left")
    return frame


def _followers(followers: pl.DataFrame | None) -> pl.DataFrame | None:
    if followers is None:
        return None
    missing = [name for name in ("user_id", "followers") if name not in followers.columns]
    if missing:
        raise ValueError(
            f"followers frame lacks column(s) {', '.join(missing)}; expected user_id, followers"
        )
    return followers.select(
        pl.col("user_id").cast(pl.Utf8), pl.col("followers").cast(pl.Int64, strict=False)
    ).unique(subset="user_id", keep="last", maintain_order=True)


def _tiers(frame: pl.DataFrame, settings: AnalyticsSettings) -> pl.DataFrame:
    tiers = settings.tiers
    labels = {band.name: band.label_zh for band in tiers.follower_bands()}
    has_followers = pl.col("followers").is_not_null() & (pl.col("followers") >= 0)
    by_reads = tier_of("read_median", bands=tiers.read_median_bands())
    tier = pl.when(has_followers).then(tier_of("followers", bands=tiers.follower_bands()))
    return frame.with_columns(tier.otherwise(by_reads).alias("tier")).with_columns(
        pl.col("tier")
        .replace_strict(labels, default=None, return_dtype=pl.Utf8)
        .alias("tier_label_zh"),
        pl.when(has_followers)
        .then(pl.lit(TierSource.FOLLOWERS.value))
        .when(pl.col("tier").is_not_null())
        .then(pl.lit(TierSource.READ_MEDIAN.value))
        .otherwise(pl.lit(None, dtype=pl.Utf8))
        .alias("tier_source"),
    )


def _percentiles(frame: pl.DataFrame, ranked: dict[str, bool]) -> pl.DataFrame:
    columns: list[pl.Expr] = []
    for name, higher in ranked.items():
        pct = percentile(name, higher_is_better=higher)
        columns.append(pct.alias(name + PCT_SUFFIX))
        for group, suffix in (("tier", PCT_TIER_SUFFIX), ("content_tag", PCT_TAG_SUFFIX)):
            columns.append(
                pl.when(pl.col(group).is_not_null())
                .then(pct.over(group))
                .otherwise(None)
                .alias(name + suffix)
            )
    return frame.with_columns(columns)


def _score(
    frame: pl.DataFrame, settings: AnalyticsSettings, ranked: dict[str, bool]
) -> pl.DataFrame:
    """Weighted mean of the pool percentiles, re-normalised over the indicators with a value.

    ``score = 100 x sum(w_i p_i) / sum(w_i)`` over the weighted indicators whose percentile is
    not null; ``score_<i> = 100 x w_i p_i / sum(w_i)`` so the contributions add up to the score.
    """
    weights = {name: weight for name, weight in settings.weighted.items() if name in ranked}
    minimum = settings.score.min_indicators
    present = {name: pl.col(name + PCT_SUFFIX).is_not_null() for name in weights}
    available_weight = pl.sum_horizontal(
        pl.when(present[name]).then(pl.lit(weight)).otherwise(pl.lit(0.0))
        for name, weight in weights.items()
    )
    count = pl.sum_horizontal(present[name].cast(pl.Int32) for name in weights)
    frame = frame.with_columns(
        available_weight.alias("_weight"),
        count.alias("indicators_available"),
        pl.concat_list(
            pl.when(~present[name]).then(pl.lit(name)).otherwise(pl.lit(None, dtype=pl.Utf8))
            for name in weights
        )
        .list.drop_nulls()
        .list.join(", ")
        .alias("missing_indicators"),
    )
    scored = pl.col("indicators_available") >= minimum
    contributions = [
        pl.when(scored)
        .then(SCORE_SCALE * weight * pl.col(name + PCT_SUFFIX) / pl.col("_weight"))
        .otherwise(None)
        .alias(SCORE_PREFIX + name)
        for name, weight in weights.items()
    ]
    frame = frame.with_columns(contributions)
    return frame.with_columns(
        pl.when(scored)
        .then(pl.sum_horizontal(SCORE_PREFIX + name for name in weights))
        .otherwise(None)
        .alias("score"),
        pl.when(pl.col("missing_indicators") == "")
        .then(None)
        .otherwise(pl.col("missing_indicators"))
        .alias("missing_indicators"),
        pl.when(scored)
        .then(pl.lit(None, dtype=pl.Utf8))
        .otherwise(
            pl.format(
                "only {} of {} weighted indicators have a value (minimum {}); missing: {}",
                pl.col("indicators_available"),
                pl.lit(len(weights)),
                pl.lit(minimum),
                pl.col("missing_indicators"),
            )
        )
        .alias("no_score_reason"),
    ).drop("_weight")


def benchmark_frame(
    indicators: pl.DataFrame,
    *,
    settings: AnalyticsSettings,
    followers: pl.DataFrame | None = None,
    scope: Scope = HEADLINE_SCOPE,
    flags: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per creator of the pool: tier, indicator values, percentiles, score, flag count.

    ``indicators`` is ``indicators_frame`` output (one row per user_id x scope). ``followers``
    (``user_id, followers``) sets the tier by follower bands; creators it does not cover are tiered
    by read median on ``scope`` (a proxy, see ``TIER_PRESETS``). ``flags`` (``flags_frame``
    output) fills ``flag_count`` (warnings only); without it ``flag_count`` is null (unknown).
    Rows come best score first (no score last), then by ``user_id``.
    """
    ranked = ranked_indicators()
    values = [spec.name for spec in INDICATORS]
    frame = _on_scope(latest_rows(indicators), scope, values)
    known = _followers(followers)
    if known is None:
        frame = frame.with_columns(pl.lit(None, dtype=pl.Int64).alias("followers"))
    else:
        frame = frame.join(known, on="user_id", how="left")
    frame = _percentiles(_tiers(frame, settings), ranked)
    frame = _score(frame, settings, ranked)
    if flags is None:
        frame = frame.with_columns(pl.lit(None, dtype=pl.UInt32).alias("flag_count"))
    else:
        counts = (
            flags.filter(pl.col("severity") == COUNTED_SEVERITY)
            .group_by("user_id")
            .agg(pl.len().cast(pl.UInt32).alias("flag_count"))
        )
        frame = frame.join(counts, on="user_id", how="left").with_columns(
            pl.col("flag_count").fill_null(0)
        )
    weights = [name for name in settings.weighted if name in ranked]
    order = [
        "user_id",
        "tier",
        "tier_label_zh",
        "tier_source",
        "content_tag",
        "followers",
        "note_number",
        "read_median",
        *values,
        *(name + PCT_SUFFIX for name in ranked),
        *(name + PCT_TIER_SUFFIX for name in ranked),
        *(name + PCT_TAG_SUFFIX for name in ranked),
        "score",
        *(SCORE_PREFIX + name for name in weights),
        "indicators_available",
        "missing_indicators",
        "no_score_reason",
        "flag_count",
    ]
    return frame.select(order).sort(["score", "user_id"], descending=[True, False], nulls_last=True)
