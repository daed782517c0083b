"""(c) Heatmap: creators (rows, capped) x scope keys (columns); missing cells say "—"."""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup

from pgy_metrics.analytics.reports.charts.base import (
    CHART_WIDTH,
    MARGIN_RIGHT,
    Chart,
    creator_label,
    creators_frame,
    empty_chart,
    scope_label,
    svg_frame,
)
from pgy_metrics.analytics.reports.charts.svg import (
    element,
    interpolate_colour,
    join,
    number,
)
from pgy_metrics.analytics.reports.data import (
    CellKind,
    ReportData,
    format_value,
)
from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES

HEATMAP_MAX_CREATORS = 40
"""Rows beyond this make the heatmap taller than a screen; the caption says how many are shown."""
HEATMAP_ROW_HEIGHT = 18
HEATMAP_LABEL_WIDTH = 150
HEATMAP_HEADER_HEIGHT = 180
HEATMAP_HEADER_ANGLE = -55
"""Scope labels are long: tilted, they fit above narrow columns."""
HEATMAP_HEADER_OVERHANG = 120
"""Room on the right for the tilted label of the last column."""
HEATMAP_LOW, HEATMAP_HIGH = "#e8f1fb", "#08306b"


def _scope_columns(keys: Sequence[str]) -> list[str]:
    """Scope keys present, the analysis scopes first in their documented order."""
    ordered = [scope.key for scope in ANALYSIS_SCOPES if scope.key in keys]
    return ordered + sorted(k for k in set(keys) if k not in ordered)


def heatmap_chart(report: ReportData, *, metric: str = "read_median") -> Chart:
    """(c) Creators (rows, capped) x scopes (columns), coloured by ``metric``; "—" when missing."""
    name = "heatmap"
    kind = CellKind.FRACTION if metric == "engagement_rate" else CellKind.INTEGER
    title = f"博主 × 分析范围热力图: {metric}"
    frame = report.indicators
    if not {"user_id", "scope_key", metric} <= set(frame.columns) or frame.is_empty():
        message = f"指标表没有 {metric} (the indicators frame has no {metric})"
        return empty_chart(name, title, message, synthetic=report.synthetic is True)
    if "collected_at" in frame.columns:
        frame = frame.sort("collected_at", nulls_last=False)
    cells: dict[tuple[str, str], float] = {}
    for user_id, key, value in frame.select("user_id", "scope_key", metric).iter_rows():
        if isinstance(value, int | float) and math.isfinite(value):
            cells[(user_id, key)] = float(value)
        else:
            cells.pop((user_id, key), None)  # the latest answer says missing
    order = list(creators_frame(report).iter_rows(named=True))
    known = {row["user_id"] for row in order}
    extra = sorted(set(frame.get_column("user_id").to_list()) - known)
    rows = order + [{"user_id": user_id} for user_id in extra]
    total = len(rows)
    rows = rows[:HEATMAP_MAX_CREATORS]
    columns = _scope_columns(frame.get_column("scope_key").unique().to_list())
    values = list(cells.values())
    log = kind is CellKind.INTEGER and bool(values) and min(values) > 0

    def share(value: float) -> float:
        low, high = min(values), max(values)
        if log:
            low, high, value = math.log10(low), math.log10(high), math.log10(value)
        return 0.5 if high == low else (value - low) / (high - low)

    grid_width = CHART_WIDTH - HEATMAP_LABEL_WIDTH - MARGIN_RIGHT - HEATMAP_HEADER_OVERHANG
    cell_width = grid_width / max(len(columns), 1)
    top = HEATMAP_HEADER_HEIGHT
    height = top + HEATMAP_ROW_HEIGHT * len(rows) + 50
    parts: list[Markup] = [
        Markup(
            '<defs><pattern id="missing-hatch" width="6" height="6" patternUnits="userSpaceOnUse"'
            ' patternTransform="rotate(45)"><rect width="6" height="6" fill="#f4f4f4"></rect>'
            '<line x1="0" y1="0" x2="0" y2="6" stroke="#c8c8c8" stroke-width="2"></line>'
            "</pattern></defs>"
        )
    ]
    for index, key in enumerate(columns):
        x = HEATMAP_LABEL_WIDTH + cell_width * (index + 0.5)
        header_attrs = {
            "x": x,
            "y": top - 8,
            "class": "axis-label",
            "transform": f"rotate({HEATMAP_HEADER_ANGLE} {number(x)} {number(top - 8)})",
        }
        parts.append(element("text", header_attrs, scope_label(key), element("title", {}, key)))
    marks = 0
    for r, row in enumerate(rows):
        y = top + r * HEATMAP_ROW_HEIGHT
        label = creator_label(row)
        label_attrs = {
            "x": HEATMAP_LABEL_WIDTH - 6,
            "y": y + 13,
            "text-anchor": "end",
            "class": "tick",
        }
        parts.append(element("text", label_attrs, label, element("title", {}, str(row["user_id"]))))
        for c, key in enumerate(columns):
            x = HEATMAP_LABEL_WIDTH + c * cell_width
            value = cells.get((row["user_id"], key))
            box = {"x": x, "y": y, "width": cell_width - 1, "height": HEATMAP_ROW_HEIGHT - 1}
            if value is None:
                tip = f"{label} · {scope_label(key)}: 缺失 missing"
                parts.append(
                    element(
                        "rect",
                        {**box, "fill": "url(#missing-hatch)", "class": "missing"},
                        element("title", {}, tip),
                    )
                )
                parts.append(
                    element(
                        "text",
                        {
                            "x": x + cell_width / 2,
                            "y": y + 13,
                            "text-anchor": "middle",
                            "class": "missing-text",
                        },
                        "—",
                    )
                )
                continue
            fill = interpolate_colour(HEATMAP_LOW, HEATMAP_HIGH, share(value))
            tip = f"{label} · {scope_label(key)}: {format_value(value, kind)}"
            parts.append(
                element(
                    "rect",
                    {**box, "fill": fill, "class": "mark", "data-value": value},
                    element("title", {}, tip),
                )
            )
            marks += 1
    legend_y = height - 34
    for step in range(5):
        fill = interpolate_colour(HEATMAP_LOW, HEATMAP_HIGH, step / 4)
        legend_box = {
            "x": HEATMAP_LABEL_WIDTH + step * 24,
            "y": legend_y,
            "width": 24,
            "height": 12,
        }
        parts.append(element("rect", {**legend_box, "fill": fill}))
    if values:
        scale_text = (
            f"{format_value(min(values), kind)} → {format_value(max(values), kind)}"
            f"{' (对数色阶 log colour scale)' if log else ''}"
        )
        legend_x = HEATMAP_LABEL_WIDTH + 5 * 24 + 8
        parts.append(
            element("text", {"x": legend_x, "y": legend_y + 11, "class": "legend"}, scale_text)
        )
    missing_x = CHART_WIDTH - 200
    parts.append(
        element(
            "rect",
            {
                "x": missing_x,
                "y": legend_y,
                "width": 24,
                "height": 12,
                "fill": "url(#missing-hatch)",
            },
        )
    )
    parts.append(
        element(
            "text",
            {"x": missing_x + 30, "y": legend_y + 11, "class": "legend"},
            "— 缺失 missing (不是 0)",
        )
    )
    caption = f"{len(rows)} 位博主 × {len(columns)} 个分析范围, 数值 {metric}."
    if total > len(rows):
        caption += (
            f" 仅显示前 {HEATMAP_MAX_CREATORS} 位 (按得分), 共 {total} 位"
            f" (showing the first {HEATMAP_MAX_CREATORS} of {total} creators by score)."
        )
    svg = svg_frame(
        name, title, CHART_WIDTH, height, join(parts), synthetic=report.synthetic is True
    )
    return Chart(name, svg, caption, marks)
