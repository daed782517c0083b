"""(a) Cost vs engagement: one labelled point per creator, quadrant lines at the pool medians.

x is the price per 1,000 expected reads when the plan priced enough creators, otherwise the
read median on a log scale (the title says which); y is the engagement rate.
"""

from __future__ import annotations

import math
import statistics

import polars as pl

from pgy_metrics.analytics.reports.charts.base import (
    CHART_HEIGHT,
    CHART_WIDTH,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    Chart,
    axis,
    creator_label,
    creators_frame,
    empty_chart,
    svg_frame,
)
from pgy_metrics.analytics.reports.charts.svg import (
    LinearScale,
    LogScale,
    Scale,
    element,
    join,
    linear_domain,
    log_domain,
    padded_domain,
)
from pgy_metrics.analytics.reports.data import (
    CellKind,
    ReportData,
    format_value,
)

MIN_PRICED_CREATORS = 2
"""Below this many priced creators, the quadrant uses reads instead of price."""


def _prices_per_thousand_reads(report: ReportData, creators: pl.DataFrame) -> dict[str, float]:
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


LABEL_OFFSETS = ((7, -6, "start"), (7, 14, "start"), (-7, -6, "end"), (-7, 14, "end"))
"""Where a point label may go, tried in order: right-above, right-below, left-above, left-below."""
LABEL_HEIGHT = 12
LABEL_CHAR_WIDTH = 6.5
"""Rough px per Latin character at the label font size (CJK counts double)."""


def _label_position(
    label: str, cx: float, cy: float, placed: list[tuple[float, float, float, float]]
) -> dict[str, object] | None:
    """The first offset whose label box overlaps no label already placed (and records it)."""
    width = sum(2 if ord(char) > 0x2E80 else 1 for char in label) * LABEL_CHAR_WIDTH
    for dx, dy, anchor in LABEL_OFFSETS:
        x0 = cx + dx if anchor == "start" else cx + dx - width
        y0 = cy + dy - LABEL_HEIGHT
        box = (x0, y0, x0 + width, y0 + LABEL_HEIGHT)
        if all(box[2] < b[0] or box[0] > b[2] or box[3] < b[1] or box[1] > b[3] for b in placed):
            placed.append(box)
            return {"x": cx + dx, "y": cy + dy, "text-anchor": anchor}
    return None


def quadrant_chart(report: ReportData) -> Chart:
    """(a) x = price per 1,000 expected reads (or read median, log), y = engagement rate."""
    name = "quadrant"
    creators = creators_frame(report)
    prices = _prices_per_thousand_reads(report, creators)
    by_price = len(prices) >= MIN_PRICED_CREATORS
    if by_price:
        title = "成本 vs 互动率: 千次阅读成本 (price per 1,000 expected reads) × engagement_rate"
        x_label, x_kind = "千次阅读成本 price per 1,000 expected reads", CellKind.MONEY
    else:
        title = "阅读 vs 互动率: 阅读中位数 read_median (对数轴 log scale) × engagement_rate"
        x_label, x_kind = "阅读中位数 read_median (log scale)", CellKind.INTEGER
    points: list[tuple[float, float, dict[str, object]]] = []
    for row in creators.iter_rows(named=True):
        x = prices.get(row["user_id"]) if by_price else row.get("read_median")
        y = row.get("engagement_rate")
        if isinstance(x, int | float) and isinstance(y, int | float) and (by_price or x > 0):
            points.append((float(x), float(y), row))
    left_out = creators.height - len(points)
    if not points:
        return empty_chart(
            name,
            title,
            "没有可绘制的博主 (no creator has both values)",
            synthetic=report.synthetic is True,
        )
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    left, right = MARGIN_LEFT, CHART_WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, CHART_HEIGHT - MARGIN_BOTTOM
    x_scale: Scale = (
        LinearScale(*padded_domain(xs), left, right)
        if by_price
        else LogScale(*log_domain(xs), left, right)
    )
    y_scale = LinearScale(*linear_domain(ys), bottom, top)
    mx, my = statistics.median(xs), statistics.median(ys)
    parts = [
        axis(x_scale, vertical=False, at=bottom, kind=x_kind, label=x_label),
        axis(
            y_scale, vertical=True, at=left, kind=CellKind.FRACTION, label="互动率 engagement_rate"
        ),
        element(
            "line",
            {"x1": x_scale(mx), "x2": x_scale(mx), "y1": top, "y2": bottom, "class": "median-line"},
        ),
        element(
            "line",
            {"x1": left, "x2": right, "y1": y_scale(my), "y2": y_scale(my), "class": "median-line"},
        ),
        element(
            "text",
            {"x": x_scale(mx) + 4, "y": top + 12, "class": "median-label"},
            f"中位数 median {format_value(mx, x_kind)}",
        ),
        element(
            "text",
            {"x": right - 4, "y": y_scale(my) - 4, "text-anchor": "end", "class": "median-label"},
            f"中位数 median {format_value(my, CellKind.FRACTION)}",
        ),
    ]
    corners = (
        ("便宜·互动高", "贵·互动高", "便宜·互动低", "贵·互动低")
        if by_price
        else ("阅读低·互动高", "阅读高·互动高", "阅读低·互动低", "阅读高·互动低")
    )
    for text, (x, y, anchor) in zip(
        corners,
        (
            (left + 6, top + 28, "start"),
            (right - 6, top + 28, "end"),
            (left + 6, bottom - 8, "start"),
            (right - 6, bottom - 8, "end"),
        ),
        strict=True,
    ):
        parts.append(
            element(
                "text", {"x": x, "y": y, "text-anchor": anchor, "class": "quadrant-label"}, text
            )
        )
    placed: list[tuple[float, float, float, float]] = []
    for x, y, row in points:
        label = creator_label(row)
        tip = (
            f"{label} ({row['user_id']}) · {row.get('content_tag') or '—'}\n"
            f"{x_label}: {format_value(x, x_kind)}\n"
            f"互动率 engagement_rate: {format_value(y, CellKind.FRACTION)}"
        )
        cx, cy = x_scale(x), y_scale(y)
        parts.append(
            element(
                "circle",
                {"cx": cx, "cy": cy, "r": 5, "class": "mark", "data-user": row["user_id"]},
                element("title", {}, tip),
            )
        )
        label_attrs = _label_position(label, cx, cy, placed)
        if label_attrs is not None:  # a crowded point keeps its tooltip, loses its label
            parts.append(element("text", {**label_attrs, "class": "point-label"}, label))
    caption = f"{len(points)} 位博主; 虚线为中位数 (dashed lines: pool medians)."
    if left_out:
        caption += (
            f" {left_out} 位缺少数值未画出 ({left_out} creators missing a value are not shown)."
        )
    svg = svg_frame(
        name, title, CHART_WIDTH, CHART_HEIGHT, join(parts), synthetic=report.synthetic is True
    )
    return Chart(name, svg, caption, len(points))
