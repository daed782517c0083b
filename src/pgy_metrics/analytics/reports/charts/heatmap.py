"""(c) Heat map: creators (rows, capped) x scope keys (columns); a missing cell says "—".

A missing value is a grey cell with "—" and its own tooltip ("缺失 missing"), never a colour
that reads as 0. The scope labels are the column headers above the grid, tilted; Vega lays them
out, so the longest one grows the chart instead of being cut at the top.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import polars as pl

from pgy_metrics.analytics.reports.charts.base import (
    MARK_ROLE,
    MISSING_ROLE,
    Spec,
    creators_frame,
    dataset,
    empty_spec,
    finish,
    scope_label,
    unique_labels,
)
from pgy_metrics.analytics.reports.data import CellKind, ReportData, format_value
from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES

HEATMAP_MAX_CREATORS = 40
"""Rows beyond this make the heat map taller than a screen; the caption says how many are shown."""
HEATMAP_METRICS = ("read_median", "engagement_rate")
CELL_WIDTH = 58
CELL_HEIGHT = 20
MISSING_FILL = "#eeeeee"
HEADER_ANGLE = -40


def _scope_columns(keys: Sequence[str]) -> list[str]:
    """Scope keys present, the analysis scopes first in their documented order."""
    ordered = [scope.key for scope in ANALYSIS_SCOPES if scope.key in keys]
    return ordered + sorted(k for k in set(keys) if k not in ordered)


def heatmap_spec(
    indicators: pl.DataFrame,
    order: pl.DataFrame | None = None,
    *,
    metric: str = "read_median",
    synthetic: bool = False,
) -> Spec:
    """(c) The Vega-Lite spec: one row per creator (those of ``order`` first, in its order,
    then any other of ``indicators`` by id; at most ``HEATMAP_MAX_CREATORS``), one column per
    scope key, coloured by ``metric`` (a log colour scale for positive counts). When a scope was
    fetched more than once, the latest row (``collected_at``) is the one shown."""
    import altair as alt

    if metric not in HEATMAP_METRICS:
        raise ValueError(f"metric must be one of {HEATMAP_METRICS}; got {metric!r}")
    name = "heatmap"
    kind = CellKind.FRACTION if metric == "engagement_rate" else CellKind.INTEGER
    title = [f"博主 × 分析范围热力图: {metric}", f"creators × analysis scopes: {metric}"]
    frame = indicators
    if not {"user_id", "scope_key", metric} <= set(frame.columns) or frame.is_empty():
        message = f"指标表没有 {metric} (the indicators frame has no {metric})"
        return empty_spec(name, title, message, synthetic=synthetic)
    if "collected_at" in frame.columns:
        frame = frame.sort("collected_at", nulls_last=False)
    cells: dict[tuple[str, str], float] = {}
    for user_id, key, value in frame.select("user_id", "scope_key", metric).iter_rows():
        if isinstance(value, int | float) and math.isfinite(value):
            cells[(user_id, key)] = float(value)
        else:
            cells.pop((user_id, key), None)  # the latest answer says missing
    first = list(order.iter_rows(named=True)) if order is not None else []
    known = {row["user_id"] for row in first}
    extra = sorted(set(frame.get_column("user_id").to_list()) - known)
    rows = first + [{"user_id": user_id} for user_id in extra]
    total = len(rows)
    rows = rows[:HEATMAP_MAX_CREATORS]
    labels = unique_labels(rows)
    columns = _scope_columns(frame.get_column("scope_key").unique().to_list())
    values = list(cells.values())
    log = kind is CellKind.INTEGER and bool(values) and min(values) > 0
    data: list[dict[str, object]] = []
    marks = 0
    for row, label in zip(rows, labels, strict=True):
        for key in columns:
            value = cells.get((row["user_id"], key))
            shown = "缺失 missing" if value is None else format_value(value, kind)
            marks += value is not None
            data.append(
                {
                    "creator": label,
                    "user_id": row["user_id"],
                    "scope": scope_label(key),
                    "scope_key": key,
                    "value": value,
                    "text": shown,
                    "missing": value is None,
                    "tip": f"{label} · {scope_label(key)}: {shown}",
                }
            )
    x = alt.X(
        "scope:N",
        sort=[scope_label(key) for key in columns],
        title=None,
        axis=alt.Axis(orient="top", labelAngle=HEADER_ANGLE, labelAlign="left", domain=False),
    )
    y = alt.Y("creator:N", sort=labels, title=None, axis=alt.Axis(domain=False, ticks=False))
    tooltip = [
        alt.Tooltip("creator:N", title="博主 creator"),
        alt.Tooltip("scope:N", title="分析范围 scope"),
        alt.Tooltip("text:N", title=metric),
    ]
    base = alt.Chart(dataset("cells")).encode(x=x, y=y)
    colour_title = f"{metric}{' (对数色阶 log scale)' if log else ''}"
    legend_format = ".0%" if kind is CellKind.FRACTION else ",.0f"
    filled = (
        base.transform_filter("!datum.missing")
        .mark_rect(stroke="#ffffff", strokeWidth=1, ariaRoleDescription=MARK_ROLE)
        .encode(
            color=alt.Color(
                "value:Q",
                title=colour_title,
                scale=alt.Scale(scheme="blues", type="log" if log else "linear"),
                legend=alt.Legend(orient="bottom", format=legend_format, gradientLength=220),
            ),
            description=alt.Description("tip:N"),
            tooltip=tooltip,
        )
    )
    missing = base.transform_filter("datum.missing")
    missing_cells = missing.mark_rect(
        fill=MISSING_FILL, stroke="#ffffff", strokeWidth=1, ariaRoleDescription=MISSING_ROLE
    ).encode(description=alt.Description("tip:N"), tooltip=tooltip)
    missing_text = missing.mark_text(
        text="—", fontSize=12, fontWeight="bold", color="#5b6570", aria=False
    )
    chart = alt.layer(filled, missing_cells, missing_text).properties(
        width=alt.Step(CELL_WIDTH), height=alt.Step(CELL_HEIGHT)
    )
    caption = (
        f"{len(rows)} 位博主 × {len(columns)} 个分析范围, 数值 {metric}; "
        "灰格 — 为缺失, 不是 0 (a grey cell with — is missing, not 0)."
    )
    if total > len(rows):
        caption += (
            f" 仅显示前 {HEATMAP_MAX_CREATORS} 位 (按得分), 共 {total} 位"
            f" (showing the first {HEATMAP_MAX_CREATORS} of {total} creators by score)."
        )
    return finish(
        chart,
        name=name,
        title=title,
        caption=caption,
        marks=marks,
        synthetic=synthetic,
        datasets={"cells": data},
    )


def report_heatmap_spec(report: ReportData, *, metric: str = "read_median") -> Spec:
    """``heatmap_spec`` of a report: its creators in score order."""
    return heatmap_spec(
        report.indicators,
        creators_frame(report),
        metric=metric,
        synthetic=report.synthetic is True,
    )
