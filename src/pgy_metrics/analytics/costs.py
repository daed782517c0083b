"""What each booking costs per expected read and engagement, beside the platform's own estimate.

For creator x format, from the option's price and the medians of the scope it was valued from
(``Option.basis``: the sponsored 90-day scope of the format, else the daily one):

- ``cost_per_read`` = price / ``read_median``;
- ``cost_per_engagement`` = price / ``m_engagement_num`` (median interactions per note);
- ``cpm`` = price / ``imp_median`` x 1000 (CNY per 1,000 impressions).

The data summary's ``estimatePictureCpm`` / ``estimateVideoCpm`` and ``estimate*EngageCost`` are
the platform's figures for the same price (computed from the daily 30-day medians of all
formats, docs/siblings). Both are shown; ``cpm_gap`` and ``cpe_gap`` are ours / platform - 1, and
``estimate_gap_flag`` is true when either differs by more than ``GAP_FLAG_ABOVE`` (10 %): the
creator's sponsored or format-specific notes do not perform like the headline medians the
platform prices from. A zero median or a missing (0) platform estimate gives an empty cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from pgy_metrics.analytics.planner import Option
from pgy_metrics.analytics.profiles import PlatformEstimates

__all__ = ["COST_SCHEMA", "GAP_FLAG_ABOVE", "PER_THOUSAND", "cost_frame"]

GAP_FLAG_ABOVE = 0.10
"""Our cost and the platform's differ by more than this fraction -> ``estimate_gap_flag``."""

PER_THOUSAND = 1000.0
"""CPM is per 1,000 impressions."""

_MEDIANS = ("read_median", "m_engagement_num", "imp_median")

COST_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "user_id": pl.Utf8,
    "format": pl.Utf8,
    "price": pl.Float64,
    "cost_per_read": pl.Float64,
    "cost_per_engagement": pl.Float64,
    "cpm": pl.Float64,
    "platform_cpm": pl.Float64,
    "cpm_gap": pl.Float64,
    "platform_cpe": pl.Float64,
    "cpe_gap": pl.Float64,
    "estimate_gap_flag": pl.Boolean,
}


def _ratio(price: float, median: float | None, scale: float = 1.0) -> float | None:
    return price / median * scale if median else None


def _gap(ours: float | None, platform: float | None) -> float | None:
    return ours / platform - 1 if ours is not None and platform else None


def _medians(scopes: pl.DataFrame) -> dict[tuple[str, str], tuple[float | None, ...]]:
    """(user_id, scope_key) -> the newest read, engagement and impression medians."""
    if scopes.height == 0 or not set(_MEDIANS) <= set(scopes.columns):
        return {}
    keyed = scopes
    if "scope_key" not in scopes.columns:
        keyed = scopes.with_columns(
            pl.concat_str(
                ["business", "note_type", "date_type", "advertise_switch"], separator="."
            ).alias("scope_key")
        )
    latest = keyed.sort("collected_at", nulls_last=False).unique(
        subset=["user_id", "scope_key"], keep="last", maintain_order=True
    )
    return {
        (user_id, key): tuple(values)
        for user_id, key, *values in latest.select("user_id", "scope_key", *_MEDIANS).iter_rows()
    }


def cost_frame(
    options: Sequence[Option],
    scopes: pl.DataFrame,
    estimates: Mapping[str, PlatformEstimates],
) -> pl.DataFrame:
    """One row per option (``COST_SCHEMA``): our costs, the platform's, the gaps and the flag."""
    medians = _medians(scopes)
    rows = []
    for option in options:
        reads, engagements, impressions = medians.get((option.user_id, option.basis), (None,) * 3)
        cpm = _ratio(option.price, impressions, PER_THOUSAND)
        cpe = _ratio(option.price, engagements)
        platform = estimates.get(option.user_id)
        platform_cpm = platform.cpm.get(option.format) if platform else None
        platform_cpe = platform.cost_per_engagement.get(option.format) if platform else None
        cpm_gap, cpe_gap = _gap(cpm, platform_cpm), _gap(cpe, platform_cpe)
        gaps = [abs(g) for g in (cpm_gap, cpe_gap) if g is not None]
        rows.append(
            {
                "user_id": option.user_id,
                "format": option.format,
                "price": option.price,
                "cost_per_read": _ratio(option.price, reads),
                "cost_per_engagement": cpe,
                "cpm": cpm,
                "platform_cpm": platform_cpm,
                "cpm_gap": cpm_gap,
                "platform_cpe": platform_cpe,
                "cpe_gap": cpe_gap,
                "estimate_gap_flag": any(g > GAP_FLAG_ABOVE for g in gaps) if gaps else None,
            }
        )
    return pl.DataFrame(rows, schema=COST_SCHEMA, orient="row")
