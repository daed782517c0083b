"""Indicators per creator x scope: ratios of the tidy columns, and comparisons across scopes.

The platform's numbers answer "how big" (medians, counts); a brand choosing creators asks "how
well" and "how reliably": reads per impression, interactions per read, whether sponsored notes
hold up, how much of the reach is bought. Each indicator here is one named, documented formula
(``INDICATORS``; docs/metrics.md has the full text) over the latest answer of each scope.

Everything is a vectorised polars expression: the cross-scope indicators join the frame to itself
on the creator and the other three scope filters, so 100,000 creators cost a few joins, not a
Python loop. Missing inputs give a missing indicator, and so does a zero denominator: an empty
scope never turns into a 0 % rate or an infinite ratio.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pgy_metrics.analytics.tables import SCOPE_KEY, TablesError, latest_scopes
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType

__all__ = [
    "HISTORY_GAP_DAYS",
    "INDICATORS",
    "INDICATOR_COLUMNS",
    "INTERVALS",
    "KEY_COLUMNS",
    "PASS_THROUGH_COLUMNS",
    "WILSON_Z",
    "IndicatorSpec",
    "indicators_frame",
]

WILSON_Z = 1.959964
"""The standard normal quantile of a two-sided 95 % interval."""

KEY_COLUMNS = (
    "user_id",
    "business",
    "note_type",
    "date_type",
    "advertise_switch",
    SCOPE_KEY,
    "collected_at",
)
PASS_THROUGH_COLUMNS = (
    "note_number",
    "video_note_number",
    "imp_median",
    "read_median",
    "m_engagement_num",
    "interaction_median",
    "m_follow_cnt",
    "content_tag_1",
)
INDICATOR_COLUMNS = (
    "click_through",
    "engagement_rate",
    "engagement_rate_median",
    "hundred_like_ratio",
    "hundred_like_low",
    "hundred_like_high",
    "thousand_like_ratio",
    "thousand_like_low",
    "thousand_like_high",
    "sponsored_decay",
    "paid_boost_dependence",
    "momentum",
    "format_fit",
    "search_share",
    "evergreen_share",
    "follow_conversion",
)
INTERVALS: dict[str, tuple[str, str]] = {
    "hundred_like_ratio": ("hundred_like_low", "hundred_like_high"),
    "thousand_like_ratio": ("thousand_like_low", "thousand_like_high"),
}
"""Indicator -> the columns of its Wilson 95 % interval."""

HISTORY_GAP_DAYS = 7
"""Momentum compares with an earlier collection of the same scope only when it is at least this
many days older than the latest: a re-collection hours later says nothing of a trend."""

_EVERGREEN_LONG = "long_term_common_long_term_read_num"
_EVERGREEN_RECENT = "long_term_common_recent_read_num"
_INPUTS = (
    *KEY_COLUMNS,
    *PASS_THROUGH_COLUMNS,
    "interaction_rate",
    "hundred_like_percent",
    "thousand_like_percent",
    "read_search_percent",
    _EVERGREEN_LONG,
    _EVERGREEN_RECENT,
)
_SCOPE_DIMS = ("business", "note_type", "date_type", "advertise_switch")


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """What an indicator is, for reports, the score and docs/metrics.md."""

    name: str
    label_en: str
    label_zh: str
    formula: str
    higher_is_better: bool | None
    """``None``: a description, not a merit (``format_fit`` says which format suits a creator)."""


INDICATORS: tuple[IndicatorSpec, ...] = (
    IndicatorSpec(
        "click_through",
        "Click-through (reads per impression)",
        "点击率（阅读/曝光）",
        "read_median / imp_median",
        True,
    ),
    IndicatorSpec(
        "engagement_rate",
        "Engagement rate (platform, read-weighted)",
        "互动率（平台口径）",
        "interaction_rate (sum of note interactions / sum of note reads, as Pugongying sends it)",
        True,
    ),
    IndicatorSpec(
        "engagement_rate_median",
        "Engagement per median read",
        "互动中位数/阅读中位数",
        "m_engagement_num / read_median (median of per-note interactions, 互动中位数)",
        True,
    ),
    IndicatorSpec(
        "hundred_like_ratio",
        "Share of notes with 100+ likes",
        "百赞笔记比例",
        "hundred_like_percent; Wilson 95 % interval with n = note_number, hits = round(ratio x n)",
        True,
    ),
    IndicatorSpec(
        "thousand_like_ratio",
        "Share of notes with 1000+ likes",
        "千赞笔记比例",
        "thousand_like_percent; Wilson 95 % interval with n = note_number, hits = round(ratio x n)",
        True,
    ),
    IndicatorSpec(
        "sponsored_decay",
        "Sponsored reads vs daily reads",
        "合作笔记阅读/日常笔记阅读",
        "read_median(COOPERATE_NOTE) / read_median(DAILY_NOTE), same other filters",
        True,
    ),
    IndicatorSpec(
        "paid_boost_dependence",
        "Paid-boost dependence",
        "投流依赖度",
        "1 - read_median(ORGANIC_ONLY) / read_median(ALL), same other filters",
        False,
    ),
    IndicatorSpec(
        "momentum",
        "Momentum (30 vs 90 days)",
        "近期势头（30天对90天）",
        "read_median(DAY_30, latest) / read_median(DAY_30, the newest collection at least "
        "7 days older) - 1 when the store holds one; else read_median(DAY_30) / "
        "read_median(DAY_90) - 1, same other filters",
        True,
    ),
    IndicatorSpec(
        "format_fit",
        "Format fit (> 0 favours video)",
        "形式偏好（>0 视频更优）",
        "engagement_rate_median(VIDEO) / engagement_rate_median(PHOTO_TEXT) - 1, "
        "same other filters",
        None,
    ),
    IndicatorSpec(
        "search_share",
        "Share of reads from search",
        "搜索阅读占比",
        "read_search_percent (pagePercentVo.readSearchPercent)",
        True,
    ),
    IndicatorSpec(
        "evergreen_share",
        "Evergreen share (long-tail reads of the daily-note cohort)",
        "长尾阅读占比（日常笔记长尾队列）",
        "long_term_common_long_term_read_num / (long_term_common_recent_read_num + "
        "long_term_common_long_term_read_num)",
        True,
    ),
    IndicatorSpec(
        "follow_conversion",
        "New follows per median read",
        "涨粉中位数/阅读中位数",
        "m_follow_cnt / read_median",
        True,
    ),
)
"""One entry per indicator, in column order; the interval bounds are described with their
ratio (see ``INTERVALS``)."""


def indicators_frame(scopes: pl.DataFrame) -> pl.DataFrame:
    """One row per creator x scope (the latest collection): key columns, pass-through columns,
    then ``INDICATOR_COLUMNS`` as ``Float64`` (null when an input is missing or a denominator is 0).

    ``scopes`` is a scopes table (``tables.scopes_frame``, ``Tables.scopes``).
    """
    absent = [column for column in _INPUTS if column not in scopes.columns]
    if absent:
        raise TablesError(f"not a scopes table: missing the columns {', '.join(absent)}")
    inputs = scopes.select(_INPUTS)
    rows = (
        latest_scopes(inputs)
        .lazy()
        .with_columns(
            engagement_rate_median=_ratio(pl.col("m_engagement_num"), pl.col("read_median"))
        )
        .join(_earlier_reads(inputs), on=["user_id", SCOPE_KEY], how="left")
    )
    rows = _with_counterpart(rows, "business", Business.DAILY_NOTE, "read_median", "_daily")
    rows = _with_counterpart(
        rows, "advertise_switch", AdvertiseSwitch.ORGANIC_ONLY, "read_median", "_organic"
    )
    rows = _with_counterpart(rows, "date_type", DateType.DAY_90, "read_median", "_day_90")
    rows = _with_counterpart(
        rows, "note_type", NoteType.VIDEO, "engagement_rate_median", "_video_erm"
    )
    rows = _with_counterpart(
        rows, "note_type", NoteType.PHOTO_TEXT, "engagement_rate_median", "_photo_erm"
    )
    hundred_low, hundred_high = _wilson(pl.col("hundred_like_percent"), pl.col("note_number"))
    thousand_low, thousand_high = _wilson(pl.col("thousand_like_percent"), pl.col("note_number"))
    read_median = pl.col("read_median")
    indicators = {
        "click_through": _ratio(read_median, pl.col("imp_median")),
        "engagement_rate": pl.col("interaction_rate"),
        "engagement_rate_median": pl.col("engagement_rate_median"),
        "hundred_like_ratio": pl.col("hundred_like_percent"),
        "hundred_like_low": hundred_low,
        "hundred_like_high": hundred_high,
        "thousand_like_ratio": pl.col("thousand_like_percent"),
        "thousand_like_low": thousand_low,
        "thousand_like_high": thousand_high,
        "sponsored_decay": pl.when(pl.col("business") == Business.COOPERATE_NOTE).then(
            _ratio(read_median, pl.col("_daily"))
        ),
        "paid_boost_dependence": pl.when(pl.col("advertise_switch") == AdvertiseSwitch.ALL).then(
            1 - _ratio(pl.col("_organic"), read_median)
        ),
        "momentum": pl.when(pl.col("date_type") == DateType.DAY_30).then(
            pl.coalesce(
                _ratio(read_median, pl.col("_earlier_read_median")) - 1,
                _ratio(read_median, pl.col("_day_90")) - 1,
            )
        ),
        "format_fit": pl.when(pl.col("note_type") == NoteType.PHOTO_TEXT_AND_VIDEO).then(
            _ratio(pl.col("_video_erm"), pl.col("_photo_erm")) - 1
        ),
        "search_share": pl.col("read_search_percent"),
        "evergreen_share": _ratio(
            pl.col(_EVERGREEN_LONG), pl.col(_EVERGREEN_RECENT) + pl.col(_EVERGREEN_LONG)
        ),
        "follow_conversion": _ratio(pl.col("m_follow_cnt"), read_median),
    }
    return (
        rows.select(
            *KEY_COLUMNS,
            *PASS_THROUGH_COLUMNS,
            *(indicators[name].cast(pl.Float64).alias(name) for name in INDICATOR_COLUMNS),
        )
        .sort("user_id", SCOPE_KEY)
        .collect()
    )


def _earlier_reads(scopes: pl.DataFrame) -> pl.LazyFrame:
    """Per creator x scope, ``_earlier_read_median``: the read median of the newest collection at
    least ``HISTORY_GAP_DAYS`` older than the latest (none without such a collection).

    Times are compared to the second as written (``recordTime`` wall time or the store's UTC
    time; one creator x scope comes from one input, so one form), which is ample for a gap of
    days."""
    column = pl.col("collected_at")
    if scopes.schema["collected_at"] == pl.String:
        at = (
            column.str.replace(" ", "T")
            .str.slice(0, 19)
            .str.to_datetime("%Y-%m-%dT%H:%M:%S", strict=False)
        )
    else:
        at = column.cast(pl.Datetime, strict=False)
    stamped = (
        scopes.lazy()
        .select("user_id", SCOPE_KEY, "read_median", at.alias("_at"))
        .filter(pl.col("_at").is_not_null())
    )
    latest = stamped.group_by("user_id", SCOPE_KEY).agg(pl.col("_at").max().alias("_latest"))
    return (
        stamped.join(latest, on=["user_id", SCOPE_KEY])
        .filter(pl.col("_at") <= pl.col("_latest") - pl.duration(days=HISTORY_GAP_DAYS))
        .sort("_at")
        .group_by("user_id", SCOPE_KEY)
        .agg(pl.col("read_median").last().alias("_earlier_read_median"))
    )


def _ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """``numerator / denominator`` as Float64; null when either is null or the denominator is 0."""
    return pl.when(denominator != 0).then(numerator.cast(pl.Float64) / denominator.cast(pl.Float64))


def _with_counterpart(
    rows: pl.LazyFrame, dimension: str, value: str, column: str, alias: str
) -> pl.LazyFrame:
    """Each row gains ``column`` of the same creator's scope that differs only in ``dimension``
    (set to ``value``), as ``alias``; null when that scope was not collected."""
    others = ["user_id", *(dim for dim in _SCOPE_DIMS if dim != dimension)]
    counterpart = rows.filter(pl.col(dimension) == value).select(
        *others, pl.col(column).alias(alias)
    )
    return rows.join(counterpart, on=others, how="left", maintain_order="left")


def _wilson(ratio: pl.Expr, notes: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """The Wilson score 95 % interval of a share of ``notes`` notes (closed form).

    The platform sends the share rounded to 0.1 %, so the count of hits is recovered as
    ``round(ratio x n)`` (clipped to 0..n) and the interval is computed from ``hits / n``.
    """
    n = notes.cast(pl.Float64)
    hits = (ratio * n).round(0).clip(0, n)
    share = hits / n
    z2 = WILSON_Z * WILSON_Z
    shrink = 1 + z2 / n
    centre = (share + z2 / (2 * n)) / shrink
    half_width = WILSON_Z * (share * (1 - share) / n + z2 / (4 * n * n)).sqrt() / shrink
    defined = ratio.is_not_null() & (notes > 0)
    low = pl.when(defined).then((centre - half_width).clip(0, 1))
    high = pl.when(defined).then((centre + half_width).clip(0, 1))
    return low, high
