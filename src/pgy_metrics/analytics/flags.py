"""Risk flags: reasons to look twice at a creator before paying for a note, each with evidence.

A percentile says where a creator stands; a flag says why the number might mislead: too few notes
behind it, reads that are mostly bought, sponsored notes nobody reads, reach that rests on one
note, or a click-through so far from the pool that the payload or the traffic is suspect. Every
flag carries one sentence with the actual numbers and the threshold, so a reader can disagree
with it. Thresholds are settings (``[flags]``); ``docs/benchmarking.md`` states each rule.

All rules are vectorised polars (filters, a group-by over the notes, one pair of pool quantiles).
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

import polars as pl

from pgy_metrics.analytics.cohorts import home_scope, latest_rows
from pgy_metrics.analytics.scopes import HEADLINE_SCOPE
from pgy_metrics.analytics.settings import AnalyticsSettings
from pgy_metrics.contract.params import Scope

if TYPE_CHECKING:
    from pgy_metrics.analytics.tables import Tables

__all__ = ["FLAG_COLUMNS", "Flag", "Severity", "flags_frame"]


class Flag(StrEnum):
    THIN_SAMPLE = "thin_sample"
    EMPTY_SCOPE = "empty_scope"
    PAID_BOOST_HEAVY = "paid_boost_heavy"
    SPONSORED_COLLAPSE = "sponsored_collapse"
    ONE_HIT_WONDER = "one_hit_wonder"
    OUTLIER_CLICK_THROUGH = "outlier_click_through"


class Severity(StrEnum):
    WARN = "warn"
    """A reason to doubt the creator's numbers or value."""
    INFO = "info"
    """Context: nothing wrong, but some indicators are null because of it."""


SEVERITY: dict[Flag, Severity] = dict.fromkeys(Flag, Severity.WARN) | {
    Flag.EMPTY_SCOPE: Severity.INFO
}

FLAG_COLUMNS: dict[str, pl.DataType] = {
    "user_id": pl.Utf8(),
    "flag": pl.Utf8(),
    "scope_key": pl.Utf8(),
    "evidence": pl.Utf8(),
    "severity": pl.Utf8(),
}

NOTE_COLUMNS: dict[str, pl.DataType] = {
    "user_id": pl.Utf8(),
    "scope_key": pl.Utf8(),
    "collected_at": pl.Utf8(),
    "note_id": pl.Utf8(),
    "read_num": pl.Int64(),
}
"""The columns of ``tables.notes`` that ``one_hit_wonder`` reads."""

HUNDRED_LIKES = 100
THOUSAND_LIKES = 1000
"""The like counts behind ``hundred_like_ratio`` and ``thousand_like_ratio`` (百赞 / 千赞)."""


def _text(value: pl.Expr, decimals: int) -> pl.Expr:
    """A number as text with at most ``decimals`` decimals (polars has no format spec)."""
    return value.round(decimals).cast(pl.Utf8)


def _percent(value: pl.Expr) -> pl.Expr:
    """A 0-1 fraction as ``12.3 %``."""
    return _text(value * 100, 1) + pl.lit(" %")


def _rows(frame: pl.DataFrame, flag: Flag, evidence: pl.Expr) -> pl.DataFrame:
    return frame.select(
        pl.col("user_id"),
        pl.lit(flag.value).alias("flag"),
        pl.col("scope_key"),
        evidence.alias("evidence"),
        pl.lit(SEVERITY[flag].value).alias("severity"),
    )


def _thin_sample(rows: pl.DataFrame, threshold: int) -> pl.DataFrame:
    thin = rows.filter(pl.col("note_number") < threshold)
    return _rows(
        thin,
        Flag.THIN_SAMPLE,
        pl.format(
            "only {} notes on {} (threshold: at least {}): its medians and percentiles rest on "
            "too few notes to compare",
            pl.col("note_number"),
            pl.col("scope_key"),
            pl.lit(threshold),
        ),
    )


def _empty_scope(latest: pl.DataFrame) -> pl.DataFrame:
    empty = latest.filter(pl.col("note_number") == 0)
    return _rows(
        empty,
        Flag.EMPTY_SCOPE,
        pl.format(
            "0 notes on {}: every metric of this scope is missing (not 0), so the indicators "
            "that need it are null",
            pl.col("scope_key"),
        ),
    )


def _paid_boost_heavy(rows: pl.DataFrame, threshold: float) -> pl.DataFrame:
    heavy = rows.filter(pl.col("paid_boost_dependence") > threshold)
    return _rows(
        heavy,
        Flag.PAID_BOOST_HEAVY,
        pl.format(
            "paid_boost_dependence {} is above {}: the organic-only read median is {} of the "
            "all-traffic read median ({} reads), so most reads are paid for",
            _text(pl.col("paid_boost_dependence"), 3),
            pl.lit(f"{threshold:g}"),
            _percent(1 - pl.col("paid_boost_dependence")),
            pl.col("read_median"),
        ),
    )


def _sponsored_collapse(rows: pl.DataFrame, threshold: float) -> pl.DataFrame:
    collapsed = rows.filter(pl.col("sponsored_decay") < threshold)
    return _rows(
        collapsed,
        Flag.SPONSORED_COLLAPSE,
        pl.format(
            "sponsored_decay {} is below {}: sponsored notes' read median ({} reads) is {} of "
            "the daily notes' read median",
            _text(pl.col("sponsored_decay"), 3),
            pl.lit(f"{threshold:g}"),
            pl.col("read_median"),
            _percent(pl.col("sponsored_decay")),
        ),
    )


def _one_hit_wonder(
    notes: pl.DataFrame, rows: pl.DataFrame, *, scope: Scope, settings: AnalyticsSettings
) -> pl.DataFrame:
    """Rule A (the notes): ``top read_num / sum of read_num > threshold`` over the creator's listed
    notes on ``scope`` (the latest fetch), with at least ``one_hit_min_notes`` notes. Rule B (the
    aggregates, for when the notes are not at hand): at least ``one_hit_min_notes`` notes and
    exactly one of them reached 100 likes, and that one also reached 1000. One row per creator;
    rule A's evidence when both hold."""
    threshold = settings.flags.one_hit_top_share_above
    min_notes = settings.flags.one_hit_min_notes
    if not set(NOTE_COLUMNS) <= set(notes.columns):  # e.g. a tidy CSV: no notes table
        notes = pl.DataFrame(schema=NOTE_COLUMNS)
    listed = notes.filter(
        (pl.col("scope_key") == scope.key) & pl.col("read_num").is_not_null()
    ).filter(pl.col("collected_at") == pl.col("collected_at").max().over("user_id"))
    by_notes = (
        listed.group_by("user_id")
        .agg(
            pl.len().alias("listed"),
            pl.col("read_num").sum().alias("total"),
            pl.col("read_num").max().alias("top"),
            pl.col("note_id").sort_by("read_num", descending=True).first().alias("top_note"),
        )
        .filter((pl.col("listed") >= min_notes) & (pl.col("total") > 0))
        .with_columns((pl.col("top") / pl.col("total")).alias("share"))
        .filter(pl.col("share") > threshold)
        .select(
            "user_id",
            pl.lit(scope.key).alias("scope_key"),
            pl.format(
                "note {} has {} of the {} reads of the {} listed notes ({}, threshold {}): "
                "reach rests on one note",
                pl.col("top_note"),
                pl.col("top"),
                pl.col("total"),
                pl.col("listed"),
                _percent(pl.col("share")),
                pl.lit(f"{threshold:.0%}".replace("%", " %")),
            ).alias("evidence"),
        )
    )
    hundred = (pl.col("hundred_like_ratio") * pl.col("note_number")).round(0)
    thousand = (pl.col("thousand_like_ratio") * pl.col("note_number")).round(0)
    by_ratios = rows.filter(
        (pl.col("note_number") >= min_notes) & (hundred == 1) & (thousand == 1)
    ).select(
        "user_id",
        "scope_key",
        pl.format(
            "of {} notes on {} exactly one reached {} likes and it also reached {} "
            "(hundred_like_ratio {}, thousand_like_ratio {}): reach rests on one note",
            pl.col("note_number"),
            pl.col("scope_key"),
            pl.lit(HUNDRED_LIKES),
            pl.lit(THOUSAND_LIKES),
            _percent(pl.col("hundred_like_ratio")),
            _percent(pl.col("thousand_like_ratio")),
        ).alias("evidence"),
    )
    both = pl.concat([by_notes, by_ratios]).unique(subset="user_id", keep="first")
    return both.select(
        "user_id",
        pl.lit(Flag.ONE_HIT_WONDER.value).alias("flag"),
        "scope_key",
        "evidence",
        pl.lit(SEVERITY[Flag.ONE_HIT_WONDER].value).alias("severity"),
    )


def _outlier_click_through(rows: pl.DataFrame, settings: AnalyticsSettings) -> pl.DataFrame:
    """Outside the pool's Tukey fences ``Q1 - k x IQR`` / ``Q3 + k x IQR`` (linear quantiles)."""
    k = settings.flags.outlier_iqr_multiplier
    values = rows.get_column("click_through").drop_nulls()
    if values.len() < settings.flags.outlier_min_pool:
        return _rows(rows.clear(), Flag.OUTLIER_CLICK_THROUGH, pl.lit(""))
    q1 = float(values.quantile(0.25, interpolation="linear") or 0.0)
    q3 = float(values.quantile(0.75, interpolation="linear") or 0.0)
    iqr = q3 - q1
    low, high = q1 - k * iqr, q3 + k * iqr
    pool = f"{values.len()} creators with a click-through"
    above = f"above the pool's upper fence {high:.4f} (Q3 {q3:.4f} + {k:g} x IQR {iqr:.4f}, {pool})"
    below = f"below the pool's lower fence {low:.4f} (Q1 {q1:.4f} - {k:g} x IQR {iqr:.4f}, {pool})"
    outside = rows.filter((pl.col("click_through") > high) | (pl.col("click_through") < low))
    return _rows(
        outside,
        Flag.OUTLIER_CLICK_THROUGH,
        pl.format(
            "click_through {} is {}: a hint of bought traffic or a bad payload",
            _text(pl.col("click_through"), 4),
            pl.when(pl.col("click_through") > high).then(pl.lit(above)).otherwise(pl.lit(below)),
        ),
    )


def flags_frame(
    tables: Tables,
    indicators: pl.DataFrame,
    *,
    settings: AnalyticsSettings,
    scope: Scope = HEADLINE_SCOPE,
) -> pl.DataFrame:
    """Every flag of every creator: ``user_id, flag, scope_key, evidence, severity``.

    ``indicators`` is ``indicators_frame`` output; ``tables.notes`` feeds ``one_hit_wonder``.
    Flags are judged on ``scope`` (cross-scope indicators on their home row, see
    ``cohorts.home_scope``), except ``empty_scope``, raised for every fetched scope without notes.
    Sorted by user_id, flag, scope_key.
    """
    thresholds = settings.flags
    latest = latest_rows(indicators)
    on_scope = latest.filter(pl.col("scope_key") == scope.key)

    def home(indicator: str) -> pl.DataFrame:
        return latest.filter(pl.col("scope_key") == home_scope(indicator, scope).key)

    parts = [
        _thin_sample(on_scope, thresholds.thin_sample_notes),
        _empty_scope(latest),
        _paid_boost_heavy(home("paid_boost_dependence"), thresholds.paid_boost_heavy_above),
        _sponsored_collapse(home("sponsored_decay"), thresholds.sponsored_collapse_below),
        _one_hit_wonder(tables.notes, on_scope, scope=scope, settings=settings),
        _outlier_click_through(on_scope, settings),
    ]
    frames = [
        part.select(pl.col(name).cast(dtype) for name, dtype in FLAG_COLUMNS.items())
        for part in parts
    ]
    return pl.concat(frames).sort(["user_id", "flag", "scope_key"], nulls_last=True)
