"""(b) Radar: up to ``RADAR_MAX_CREATORS`` creators over the indicator percentiles (``*_pct``)."""

from __future__ import annotations

import math

import polars as pl
from markupsafe import Markup

from pgy_metrics.analytics.reports.charts.base import (
    CHART_HEIGHT,
    CHART_WIDTH,
    MARGIN_TOP,
    PALETTE,
    Chart,
    creator_label,
    creators_frame,
    empty_chart,
    svg_frame,
)
from pgy_metrics.analytics.reports.charts.svg import (
    element,
    join,
    number,
)
from pgy_metrics.analytics.reports.data import (
    INDICATOR_LABELS_ZH,
    ReportData,
)

RADAR_MAX_CREATORS = 6
"""More polygons than this overlap into noise."""
RADAR_RINGS = (0.25, 0.5, 0.75, 1.0)


def _percentile_axes(benchmark: pl.DataFrame) -> list[str]:
    """The ``<indicator>_pct`` columns with at least one value, known indicators first."""
    known = [f"{name}_pct" for name in INDICATOR_LABELS_ZH]
    other = sorted(c for c in benchmark.columns if c.endswith("_pct") and c not in known)
    return [
        c
        for c in (*known, *other)
        if c in benchmark.columns and benchmark.get_column(c).null_count() < benchmark.height
    ]


def radar_chart(report: ReportData) -> Chart:
    """(b) Up to ``RADAR_MAX_CREATORS`` creators (best score first) over their percentiles."""
    name = "radar"
    title = f"指标百分位雷达图 (indicator percentiles, top {RADAR_MAX_CREATORS} by score)"
    creators = creators_frame(report).head(RADAR_MAX_CREATORS)
    axes = _percentile_axes(creators)
    if not axes or creators.is_empty():
        message = "没有百分位列 (no *_pct columns in the benchmark)"
        return empty_chart(name, title, message, synthetic=report.synthetic is True)
    size = CHART_HEIGHT
    cx, cy, radius = size / 2, size / 2 + 10, size / 2 - 80
    parts: list[Markup] = []

    def point(share: float, index: int) -> tuple[float, float]:
        angle = -math.pi / 2 + 2 * math.pi * index / len(axes)
        return cx + radius * share * math.cos(angle), cy + radius * share * math.sin(angle)

    for ring in RADAR_RINGS:
        ring_points = " ".join(
            f"{number(x)},{number(y)}" for x, y in (point(ring, i) for i in range(len(axes)))
        )
        parts.append(element("polygon", {"points": ring_points, "class": "ring"}))
        x, y = point(ring, 0)
        parts.append(element("text", {"x": x + 4, "y": y, "class": "tick"}, f"{ring:.0%}"))
    for index, column in enumerate(axes):
        x, y = point(1.0, index)
        parts.append(element("line", {"x1": cx, "y1": cy, "x2": x, "y2": y, "class": "spoke"}))
        lx, ly = point(1.12, index)
        anchor = "middle" if abs(lx - cx) < 1 else ("start" if lx > cx else "end")
        label = INDICATOR_LABELS_ZH.get(column.removesuffix("_pct"), column)
        axis_attrs = {"x": lx, "y": ly + 4, "text-anchor": anchor, "class": "axis-label"}
        parts.append(element("text", axis_attrs, label))
    marks = 0
    for number_in_legend, row in enumerate(creators.iter_rows(named=True)):
        colour = PALETTE[number_in_legend % len(PALETTE)]
        label = creator_label(row)
        vertices: list[tuple[float, float]] = []
        circles: list[Markup] = []
        for index, column in enumerate(axes):
            value = row.get(column)
            if not isinstance(value, int | float):
                continue  # a missing percentile is left out, never drawn at 0
            x, y = point(float(value), index)
            vertices.append((x, y))
            tip = f"{label}: {INDICATOR_LABELS_ZH.get(column[:-4], column)} {value:.1%}"
            circle_attrs = {"cx": x, "cy": y, "r": 3.5, "fill": colour, "class": "mark"}
            circles.append(element("circle", circle_attrs, element("title", {}, tip)))
        if len(vertices) >= 2:
            path = " ".join(f"{number(x)},{number(y)}" for x, y in vertices)
            series_attrs = {"points": path, "stroke": colour, "fill": colour, "class": "series"}
            parts.append(element("polygon", series_attrs, element("title", {}, label)))
        parts.extend(circles)
        marks += len(circles)
        legend_y = MARGIN_TOP + 20 * number_in_legend
        legend_x = size + 40
        parts.append(
            element(
                "rect", {"x": legend_x, "y": legend_y, "width": 12, "height": 12, "fill": colour}
            )
        )
        missing = len(axes) - len(circles)
        legend_text = f"{label} · {row.get('content_tag') or '—'}"
        if missing:
            legend_text += f" ({missing} 项缺失 missing)"
        parts.append(
            element(
                "text", {"x": legend_x + 18, "y": legend_y + 11, "class": "legend"}, legend_text
            )
        )
    caption = (
        f"{creators.height} 位博主 × {len(axes)} 项指标百分位 (0-100%, 全体博主池 whole pool); "
        "缺失值不画点 (missing values are left out, not drawn as 0)."
    )
    svg = svg_frame(
        name, title, CHART_WIDTH, CHART_HEIGHT, join(parts), synthetic=report.synthetic is True
    )
    return Chart(name, svg, caption, marks)
