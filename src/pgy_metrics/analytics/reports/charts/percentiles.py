"""(b) Indicator percentiles of the top creators: a dot chart, in place of the radar.

The report used to draw these as a radar (one polygon per creator over the ``*_pct`` axes).
Vega-Lite has no radar, and a radar is the harder chart to read anyway: values sit on spokes at
different angles, the polygon areas depend on the axis order, and six overlapping polygons hide
each other. Here each indicator is a row with a 0-100% scale; each creator is a coloured dot on
it (side by side within the row, so none hides another) joined to 0 by a thin line. Same data
as the radar: up to ``PERCENTILE_MAX_CREATORS`` creators (best score first) over every
``*_pct`` column with a value; a missing percentile has no dot, it is never drawn at 0, and the
legend says how many each creator misses.
"""

from __future__ import annotations

import polars as pl

from pgy_metrics.analytics.reports.charts.base import (
    MARK_ROLE,
    PALETTE,
    PLOT_WIDTH,
    Spec,
    creators_frame,
    dataset,
    empty_spec,
    finish,
    unique_labels,
)
from pgy_metrics.analytics.reports.data import INDICATOR_LABELS_ZH, ReportData

PERCENTILE_MAX_CREATORS = 6
"""More creators than this per row crowd the dots into noise."""
DOT_STEP = 11
"""Pixels per creator within an indicator's row (with an offset channel, Vega-Lite's step is
the offset's)."""


def percentile_columns(frame: pl.DataFrame) -> list[str]:
    """The ``<indicator>_pct`` columns with at least one value, known indicators first."""
    known = [f"{name}_pct" for name in INDICATOR_LABELS_ZH]
    other = sorted(c for c in frame.columns if c.endswith("_pct") and c not in known)
    return [
        c
        for c in (*known, *other)
        if c in frame.columns and frame.get_column(c).null_count() < frame.height
    ]


def _indicator_label(column: str) -> str:
    name = column.removesuffix("_pct")
    zh = INDICATOR_LABELS_ZH.get(name)
    return f"{zh} {name}" if zh else column


def percentile_spec(creators: pl.DataFrame, *, synthetic: bool = False) -> Spec:
    """(b) The Vega-Lite spec: the first ``PERCENTILE_MAX_CREATORS`` rows of ``creators`` (give
    them best first) over their ``*_pct`` columns (0-1, percentile in the whole pool)."""
    import altair as alt

    name = "percentiles"
    title = [
        f"指标百分位 (得分前 {PERCENTILE_MAX_CREATORS} 位)",
        f"indicator percentiles, top {PERCENTILE_MAX_CREATORS} by score",
    ]
    creators = creators.head(PERCENTILE_MAX_CREATORS)
    columns = percentile_columns(creators)
    if not columns or creators.is_empty():
        message = "没有百分位列 (no *_pct columns in the benchmark)"
        return empty_spec(name, title, message, synthetic=synthetic)
    rows = list(creators.iter_rows(named=True))
    labels = unique_labels(rows)
    legends: list[str] = []
    data: list[dict[str, object]] = []
    for row, label in zip(rows, labels, strict=True):
        present = [c for c in columns if isinstance(row.get(c), int | float)]
        legend = f"{label} · {row.get('content_tag') or '—'}"
        if len(present) < len(columns):
            legend += f" ({len(columns) - len(present)} 项缺失 missing)"
        legends.append(legend)
        for column in present:
            value = float(row[column])
            indicator = _indicator_label(column)
            data.append(
                {
                    "creator": legend,
                    "indicator": indicator,
                    "percentile": value,
                    "tip": f"{label}: {indicator} {value:.1%}",
                }
            )
    indicators = [_indicator_label(c) for c in columns]
    colour = alt.Color(
        "creator:N",
        title=None,
        sort=legends,
        scale=alt.Scale(
            domain=legends, range=[PALETTE[i % len(PALETTE)] for i in range(len(rows))]
        ),
        legend=alt.Legend(orient="bottom", direction="vertical"),
    )
    x = alt.X(
        "percentile:Q",
        title="百分位 percentile (全体博主池 whole pool)",
        scale=alt.Scale(domain=[0, 1]),
        axis=alt.Axis(format=".0%"),
    )
    y = alt.Y(
        "indicator:N",
        sort=indicators,
        title=None,
        scale=alt.Scale(paddingInner=0.3, paddingOuter=0.15),
        axis=alt.Axis(grid=False, ticks=False, domain=False),
    )
    offset = alt.YOffset("creator:N", sort=legends, scale=alt.Scale(domain=legends))
    base = alt.Chart(dataset("percentiles")).encode(y=y, yOffset=offset, color=colour)
    stems = (
        base.mark_rule(strokeWidth=1, opacity=0.45, aria=False)
        .encode(x=alt.X("zero:Q", scale=alt.Scale(domain=[0, 1])), x2="percentile:Q")
        .transform_calculate(zero="0")
    )
    dots = base.mark_circle(size=48, opacity=1, ariaRoleDescription=MARK_ROLE).encode(
        x=x,
        description=alt.Description("tip:N"),
        tooltip=[
            alt.Tooltip("creator:N", title="博主 creator"),
            alt.Tooltip("indicator:N", title="指标 indicator"),
            alt.Tooltip("percentile:Q", title="百分位 percentile", format=".1%"),
        ],
    )
    chart = alt.layer(stems, dots).properties(width=PLOT_WIDTH, height=alt.Step(DOT_STEP))
    caption = (
        f"{len(rows)} 位博主 × {len(columns)} 项指标百分位 (0-100%, 全体博主池 whole pool); "
        "缺失值不画点 (missing values are left out, not drawn as 0)."
    )
    return finish(
        chart,
        name=name,
        title=title,
        caption=caption,
        marks=len(data),
        synthetic=synthetic,
        datasets={"percentiles": data},
    )


def report_percentile_spec(report: ReportData) -> Spec:
    """``percentile_spec`` of a report: its creators, best score first."""
    return percentile_spec(creators_frame(report), synthetic=report.synthetic is True)
