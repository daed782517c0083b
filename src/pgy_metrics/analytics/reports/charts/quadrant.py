"""(a) Cost vs engagement: one point per creator, quadrant lines at the pool medians.

x is the price per 1,000 expected reads when the plan priced enough creators, otherwise the
read median on a log scale (the title says which); y is the engagement rate. Points carry no
text label (the hand-drawn version's labels collided in a crowded pool): each point's tooltip
(and its ``<title>`` in the static SVG) names the creator, the tag and both values.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from typing import Literal

import polars as pl

from pgy_metrics.analytics.reports.charts.base import (
    MARK_ROLE,
    PLOT_HEIGHT,
    PLOT_WIDTH,
    Spec,
    creators_frame,
    dataset,
    empty_spec,
    finish,
    unique_labels,
)
from pgy_metrics.analytics.reports.data import CellKind, ReportData, format_value

MIN_PRICED_CREATORS = 2
"""Below this many priced creators, the quadrant uses reads instead of price."""
MEDIAN_COLOUR = "#8a939c"
CORNER_PLACES: tuple[tuple[Literal["left", "right"], Literal["top", "bottom"]], ...] = (
    ("left", "top"),
    ("right", "top"),
    ("left", "bottom"),
    ("right", "bottom"),
)
"""Where the four quadrant names go, in the order of their names."""


def prices_per_thousand_reads(report: ReportData, creators: pl.DataFrame) -> dict[str, float]:
    """Cheapest price per 1,000 expected reads per creator, from the plan's options.

    Expected reads are the option's ``value`` when the plan's objective is reads, else the
    creator's headline read median.
    """
    plan = report.plan
    if plan is None:
        return {}
    frames = [plan.options] if plan.options is not None else [plan.plan_table, plan.greedy_table]
    wanted = {"user_id", "price"}
    rows = [row for f in frames if wanted <= set(f.columns) for row in f.iter_rows(named=True)]
    by_reads = str(plan.summary.get("objective", "")) == "reads"
    medians = {row["user_id"]: row.get("read_median") for row in creators.iter_rows(named=True)}
    best: dict[str, float] = {}
    for row in rows:
        reads = row.get("value") if by_reads else medians.get(row["user_id"])
        price = row.get("price")
        if not isinstance(price, int | float) or not isinstance(reads, int | float) or reads <= 0:
            continue
        cost = price / reads * 1000
        best[row["user_id"]] = min(cost, best.get(row["user_id"], math.inf))
    return best


def _number(value: object) -> float | None:
    """A finite number, or None (missing, NaN, text): never plotted as 0."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def quadrant_spec(
    creators: pl.DataFrame,
    prices: Mapping[str, float] | None = None,
    *,
    synthetic: bool = False,
) -> Spec:
    """(a) The Vega-Lite spec: x = price per 1,000 expected reads when at least
    ``MIN_PRICED_CREATORS`` creators of ``prices`` are priced, else read median (log scale);
    y = engagement rate. ``creators`` has ``user_id``, ``engagement_rate`` and (for the log
    variant) ``read_median``; a creator missing a value is left out and the caption says so."""
    import altair as alt

    name = "quadrant"
    prices = dict(prices or {})
    by_price = len(prices) >= MIN_PRICED_CREATORS
    if by_price:
        title = [
            "成本 vs 互动率: 千次阅读成本 × 互动率",
            "price per 1,000 expected reads × engagement_rate",
        ]
        x_label, x_kind = "千次阅读成本 price per 1,000 expected reads", CellKind.MONEY
    else:
        title = [
            "阅读 vs 互动率: 阅读中位数 (对数轴) × 互动率",
            "read_median (log scale) × engagement_rate",
        ]
        x_label, x_kind = "阅读中位数 read_median (log scale)", CellKind.INTEGER
    plotted: list[tuple[float, float, dict[str, object]]] = []
    for row in creators.iter_rows(named=True):
        x = _number(prices.get(row["user_id"]) if by_price else row.get("read_median"))
        y = _number(row.get("engagement_rate"))
        if x is not None and y is not None and (by_price or x > 0):
            plotted.append((x, y, row))
    left_out = creators.height - len(plotted)
    if not plotted:
        message = "没有可绘制的博主 (no creator has both values)"
        return empty_spec(name, title, message, synthetic=synthetic)
    labels = unique_labels([row for _, _, row in plotted])
    rows = []
    for (x, y, row), label in zip(plotted, labels, strict=True):
        tag = row.get("content_tag") or "—"
        x_text, y_text = format_value(x, x_kind), format_value(y, CellKind.FRACTION)
        rows.append(
            {
                "user_id": row["user_id"],
                "creator": label,
                "content_tag": str(tag),
                "x": x,
                "y": y,
                "x_text": x_text,
                "y_text": y_text,
                "tip": f"{label} ({row['user_id']}) · {tag}\n{x_label}: {x_text}\n"
                f"互动率 engagement_rate: {y_text}",
            }
        )
    xs, ys = [p[0] for p in plotted], [p[1] for p in plotted]
    mx, my = statistics.median(xs), statistics.median(ys)
    x_scale = alt.Scale(zero=False, nice=True) if by_price else alt.Scale(type="log")
    x_axis = alt.X("x:Q", title=x_label, scale=x_scale)
    y_axis = alt.Y("y:Q", title="互动率 engagement_rate", axis=alt.Axis(format=".0%"))
    points = (
        alt.Chart(dataset("creators"))
        .mark_circle(
            size=70, opacity=0.85, stroke="#ffffff", strokeWidth=1, ariaRoleDescription=MARK_ROLE
        )
        .encode(
            x=x_axis,
            y=y_axis,
            color=alt.value("#1f4e8c"),
            description=alt.Description("tip:N"),
            tooltip=[
                alt.Tooltip("creator:N", title="博主 creator"),
                alt.Tooltip("user_id:N", title="ID"),
                alt.Tooltip("content_tag:N", title="标签 tag"),
                alt.Tooltip("x_text:N", title=x_label),
                alt.Tooltip("y_text:N", title="互动率 engagement_rate"),
            ],
        )
    )
    medians = dataset("medians")
    median_rows: list[dict[str, object]] = [
        {
            "mx": mx,
            "my": my,
            "mx_text": f"中位数 median {format_value(mx, x_kind)}",
            "my_text": f"中位数 median {format_value(my, CellKind.FRACTION)}",
        }
    ]
    x_median = (
        alt.Chart(medians)
        .mark_rule(strokeDash=[5, 4], aria=False, color=MEDIAN_COLOUR)
        .encode(x=alt.X("mx:Q", scale=x_scale))
    )
    y_median = (
        alt.Chart(medians)
        .mark_rule(strokeDash=[5, 4], aria=False, color=MEDIAN_COLOUR)
        .encode(y="my:Q")
    )
    x_median_label = (
        alt.Chart(medians)
        .mark_text(
            align="left", baseline="top", dx=4, y=4, fontSize=11, aria=False, color=MEDIAN_COLOUR
        )
        .encode(x=alt.X("mx:Q", scale=x_scale), text="mx_text:N")
    )
    y_median_label = (
        alt.Chart(medians)
        .mark_text(
            align="right",
            baseline="bottom",
            dy=-4,
            x=alt.expr("width - 4"),
            fontSize=11,
            aria=False,
            color=MEDIAN_COLOUR,
        )
        .encode(y="my:Q", text="my_text:N")
    )
    corners = (
        ("便宜·互动高", "贵·互动高", "便宜·互动低", "贵·互动低")
        if by_price
        else ("阅读低·互动高", "阅读高·互动高", "阅读低·互动低", "阅读高·互动低")
    )
    corner_layers = [
        alt.Chart(dataset("corners"))
        .transform_filter(alt.datum.text == text)
        .mark_text(
            align=align,
            baseline=baseline,
            x=alt.expr("width - 6") if align == "right" else 6,
            y=alt.expr("height - 6") if baseline == "bottom" else 22,
            fontSize=11,
            aria=False,
            color=MEDIAN_COLOUR,
        )
        .encode(text="text:N")
        for text, (align, baseline) in zip(corners, CORNER_PLACES, strict=True)
    ]
    chart = alt.layer(
        x_median, y_median, *corner_layers, x_median_label, y_median_label, points
    ).properties(width=PLOT_WIDTH, height=PLOT_HEIGHT)
    caption = f"{len(plotted)} 位博主; 虚线为中位数 (dashed lines: pool medians)."
    if left_out:
        caption += (
            f" {left_out} 位缺少数值未画出 ({left_out} creators missing a value are not shown)."
        )
    return finish(
        chart,
        name=name,
        title=title,
        caption=caption,
        marks=len(plotted),
        synthetic=synthetic,
        datasets={
            "creators": rows,
            "medians": median_rows,
            "corners": [{"text": text} for text in corners],
        },
    )


def report_quadrant_spec(report: ReportData) -> Spec:
    """``quadrant_spec`` of a report: its creators in score order, priced by its plan."""
    creators = creators_frame(report)
    return quadrant_spec(
        creators,
        prices_per_thousand_reads(report, creators),
        synthetic=report.synthetic is True,
    )
