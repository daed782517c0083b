"""The four report charts as inline SVG: cost/engagement quadrant, radar, heatmap, frontier.

Each builder takes the ``ReportData`` and returns one ``<svg data-chart="...">`` with a
``<title>``; every data mark has ``class="mark"`` and its own ``<title>`` (the browser shows it as
a tooltip, no script needed), so tests can count marks and readers can hover for the numbers.
A missing value is never drawn as 0: the heatmap shows "—" on a hatched cell, the radar leaves
the vertex out, the quadrant leaves the creator out and says how many were left out.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl
from markupsafe import Markup

from pgy_metrics.analytics.reports.data import (
    INDICATOR_LABELS_ZH,
    CellKind,
    ReportData,
    format_value,
)
from pgy_metrics.analytics.reports.svg import (
    LinearScale,
    LogScale,
    Scale,
    element,
    interpolate_colour,
    join,
    linear_domain,
    log_domain,
    number,
)
from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES, HEADLINE_SCOPE

__all__ = [
    "HEATMAP_MAX_CREATORS",
    "RADAR_MAX_CREATORS",
    "Chart",
    "creator_label",
    "frontier_chart",
    "heatmap_chart",
    "quadrant_chart",
    "radar_chart",
]

CHART_WIDTH = 760
CHART_HEIGHT = 460
MARGIN_TOP, MARGIN_RIGHT, MARGIN_BOTTOM, MARGIN_LEFT = 44, 28, 60, 80
RADAR_MAX_CREATORS = 6
"""More polygons than this overlap into noise."""
RADAR_RINGS = (0.25, 0.5, 0.75, 1.0)
HEATMAP_MAX_CREATORS = 40
"""Rows beyond this make the heatmap taller than a screen; the caption says how many are shown."""
HEATMAP_ROW_HEIGHT = 18
HEATMAP_LABEL_WIDTH = 150
HEATMAP_HEADER_HEIGHT = 130
HEATMAP_LOW, HEATMAP_HIGH = "#e8f1fb", "#08306b"
MIN_PRICED_CREATORS = 2
"""Below this many priced creators, the quadrant uses reads instead of price."""
SHORT_ID = 8
"""Characters of a user id shown when a creator has no name."""
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
SYNTHETIC_TAG = "合成数据 SYNTHETIC"

_SCOPE_WORDS = {
    "DAILY_NOTE": "日常",
    "COOPERATE_NOTE": "合作",
    "PHOTO_TEXT_AND_VIDEO": "图文+视频",
    "PHOTO_TEXT": "图文",
    "VIDEO": "视频",
    "DAY_30": "30天",
    "DAY_90": "90天",
    "ALL": "全流量",
    "ORGANIC_ONLY": "自然流量",
}


@dataclass(frozen=True, slots=True)
class Chart:
    """One figure: the SVG, a caption, and how many data marks it drew."""

    name: str
    svg: Markup
    caption: str
    marks: int


def creator_label(row: dict[str, object]) -> str:
    """A short label: the creator's name when the frame has one, else the id's first chars."""
    for key in ("nickname", "name"):
        if isinstance(row.get(key), str) and row[key]:
            return str(row[key])
    return str(row.get("user_id", ""))[:SHORT_ID]


def scope_label(key: str) -> str:
    """``DAILY_NOTE.VIDEO.DAY_90.ALL`` -> ``日常·视频·90天·全流量``."""
    return "·".join(_SCOPE_WORDS.get(part, part) for part in key.split("."))


def _svg(
    name: str, title: str, width: float, height: float, body: Markup, *, synthetic: bool
) -> Markup:
    tag = Markup("")
    if synthetic:
        tag = element(
            "text",
            {"x": width - 8, "y": 16, "text-anchor": "end", "class": "synthetic-tag"},
            SYNTHETIC_TAG,
        )
    return element(
        "svg",
        {
            "data-chart": name,
            "viewBox": f"0 0 {number(width)} {number(height)}",
            "width": number(width),
            "height": number(height),
            "role": "img",
            "class": "chart",
        },
        element("title", {}, title),
        element("text", {"x": 12, "y": 22, "class": "chart-title"}, title),
        tag,
        body,
    )


def _empty(name: str, title: str, message: str, *, synthetic: bool) -> Chart:
    body = element(
        "text",
        {"x": CHART_WIDTH / 2, "y": CHART_HEIGHT / 2, "text-anchor": "middle", "class": "empty"},
        message,
    )
    svg = _svg(name, title, CHART_WIDTH, CHART_HEIGHT / 2 + 40, body, synthetic=synthetic)
    return Chart(name, svg, message, 0)


def _axis(scale: Scale, *, vertical: bool, at: float, kind: CellKind, label: str) -> Markup:
    """Ticks, grid lines and the axis label."""
    parts: list[Markup] = []
    left, right = MARGIN_LEFT, CHART_WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, CHART_HEIGHT - MARGIN_BOTTOM
    for tick in scale.ticks():
        pos = scale(tick)
        text = format_value(tick, kind)
        if vertical:
            parts.append(
                element("line", {"x1": left, "x2": right, "y1": pos, "y2": pos, "class": "grid"})
            )
            parts.append(
                element(
                    "text", {"x": at - 6, "y": pos + 4, "text-anchor": "end", "class": "tick"}, text
                )
            )
        else:
            parts.append(
                element("line", {"x1": pos, "x2": pos, "y1": top, "y2": bottom, "class": "grid"})
            )
            parts.append(
                element(
                    "text", {"x": pos, "y": at + 16, "text-anchor": "middle", "class": "tick"}, text
                )
            )
    if vertical:
        attrs = {
            "x": 16,
            "y": (top + bottom) / 2,
            "text-anchor": "middle",
            "class": "axis-label",
            "transform": f"rotate(-90 16 {number((top + bottom) / 2)})",
        }
    else:
        attrs = {
            "x": (left + right) / 2,
            "y": CHART_HEIGHT - 14,
            "text-anchor": "middle",
            "class": "axis-label",
        }
    parts.append(element("text", attrs, label))
    return join(parts)


# -- (a) cost vs engagement quadrant -------------------------------------------------------------


def _creators(report: ReportData) -> pl.DataFrame:
    """One row per creator: the benchmark, plus the headline read_median when it lacks one."""
    creators = report.benchmark
    if "read_median" not in creators.columns and {"user_id", "scope_key", "read_median"} <= set(
        report.indicators.columns
    ):
        headline = (
            report.indicators.filter(pl.col("scope_key") == HEADLINE_SCOPE.key)
            .select("user_id", "read_median")
            .unique("user_id", keep="last")
        )
        creators = creators.join(headline, on="user_id", how="left")
    if "score" in creators.columns:
        creators = creators.sort("score", descending=True, nulls_last=True)
    return creators


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


def quadrant_chart(report: ReportData) -> Chart:
    """(a) x = price per 1,000 expected reads (or read median, log), y = engagement rate."""
    name = "quadrant"
    creators = _creators(report)
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
        return _empty(
            name, title, "没有可绘制的博主 (no creator has both values)", synthetic=report.synthetic
        )
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    left, right = MARGIN_LEFT, CHART_WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, CHART_HEIGHT - MARGIN_BOTTOM
    x_scale: Scale = (
        LinearScale(*linear_domain(xs), left, right)
        if by_price
        else LogScale(*log_domain(xs), left, right)
    )
    y_scale = LinearScale(*linear_domain(ys), bottom, top)
    mx, my = statistics.median(xs), statistics.median(ys)
    parts = [
        _axis(x_scale, vertical=False, at=bottom, kind=x_kind, label=x_label),
        _axis(
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
        parts.append(element("text", {"x": cx + 7, "y": cy - 6, "class": "point-label"}, label))
    caption = f"{len(points)} 位博主; 虚线为中位数 (dashed lines: pool medians)."
    if left_out:
        caption += (
            f" {left_out} 位缺少数值未画出 ({left_out} creators missing a value are not shown)."
        )
    svg = _svg(name, title, CHART_WIDTH, CHART_HEIGHT, join(parts), synthetic=report.synthetic)
    return Chart(name, svg, caption, len(points))


# -- (b) radar over the indicator percentiles ----------------------------------------------------


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
    creators = _creators(report).head(RADAR_MAX_CREATORS)
    axes = _percentile_axes(creators)
    if not axes or creators.is_empty():
        message = "没有百分位列 (no *_pct columns in the benchmark)"
        return _empty(name, title, message, synthetic=report.synthetic)
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
    svg = _svg(name, title, CHART_WIDTH, CHART_HEIGHT, join(parts), synthetic=report.synthetic)
    return Chart(name, svg, caption, marks)


# -- (c) creators x scopes heatmap ---------------------------------------------------------------


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
        return _empty(name, title, message, synthetic=report.synthetic)
    if "collected_at" in frame.columns:
        frame = frame.sort("collected_at", nulls_last=False)
    cells: dict[tuple[str, str], float] = {}
    for user_id, key, value in frame.select("user_id", "scope_key", metric).iter_rows():
        if isinstance(value, int | float) and math.isfinite(value):
            cells[(user_id, key)] = float(value)
        else:
            cells.pop((user_id, key), None)  # the latest answer says missing
    order = list(_creators(report).iter_rows(named=True))
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

    cell_width = (CHART_WIDTH - HEATMAP_LABEL_WIDTH - MARGIN_RIGHT) / max(len(columns), 1)
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
            "transform": f"rotate(-40 {number(x)} {number(top - 8)})",
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
    svg = _svg(name, title, CHART_WIDTH, height, join(parts), synthetic=report.synthetic)
    return Chart(name, svg, caption, marks)


# -- (d) plan frontier ---------------------------------------------------------------------------

FRONTIER_SERIES = (
    ("optimal_value", "最优 optimal (MILP)", "solid"),
    ("greedy_value", "贪心 greedy", "dashed"),
    ("robust_value", "稳健 robust (P20)", "dotted"),
)


def frontier_chart(report: ReportData) -> Chart | None:
    """(d) Budget vs the optimal, greedy and robust plan values; ``None`` without a plan."""
    if report.plan is None:
        return None
    name = "frontier"
    title = "预算前沿 budget frontier: 最优 vs 贪心 vs 稳健"
    frame = report.plan.frontier
    series = [(c, label, style) for c, label, style in FRONTIER_SERIES if c in frame.columns]
    if "budget" not in frame.columns or frame.is_empty() or not series:
        message = "方案没有前沿数据 (the plan has no frontier rows)"
        return _empty(name, title, message, synthetic=report.synthetic)
    frame = frame.sort("budget")
    budgets = [float(b) for b in frame.get_column("budget").to_list() if b is not None]
    values = [
        float(v)
        for column, _, _ in series
        for v in frame.get_column(column).to_list()
        if isinstance(v, int | float)
    ]
    left, right = MARGIN_LEFT, CHART_WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, CHART_HEIGHT - MARGIN_BOTTOM
    x_scale = LinearScale(*linear_domain(budgets, headroom=0.02), left, right)
    y_scale = LinearScale(*linear_domain(values or [0.0]), bottom, top)
    objective = str(report.plan.summary.get("objective", "value"))
    parts = [
        _axis(x_scale, vertical=False, at=bottom, kind=CellKind.MONEY, label="预算 budget"),
        _axis(y_scale, vertical=True, at=left, kind=CellKind.INTEGER, label=f"价值 {objective}"),
    ]
    marks = 0
    for index, (column, label, style) in enumerate(series):
        colour = PALETTE[index]
        points = [
            (float(b), float(v))
            for b, v in frame.select("budget", column).iter_rows()
            if isinstance(b, int | float) and isinstance(v, int | float)
        ]
        path = " ".join(f"{number(x_scale(b))},{number(y_scale(v))}" for b, v in points)
        parts.append(
            element("polyline", {"points": path, "stroke": colour, "class": f"line {style}"})
        )
        for b, v in points:
            money, amount = format_value(b, CellKind.MONEY), format_value(v, CellKind.INTEGER)
            tip = f"{label}: 预算 {money} → {amount}"
            parts.append(
                element(
                    "circle",
                    {"cx": x_scale(b), "cy": y_scale(v), "r": 3.5, "fill": colour, "class": "mark"},
                    element("title", {}, tip),
                )
            )
        marks += len(points)
        legend_y = top + 6 + 18 * index
        parts.append(
            element(
                "line",
                {
                    "x1": left + 12,
                    "x2": left + 40,
                    "y1": legend_y,
                    "y2": legend_y,
                    "stroke": colour,
                    "class": f"line {style}",
                },
            )
        )
        parts.append(element("text", {"x": left + 46, "y": legend_y + 4, "class": "legend"}, label))
    caption = f"{len(budgets)} 个预算点; 目标 objective = {objective}."
    svg = _svg(name, title, CHART_WIDTH, CHART_HEIGHT, join(parts), synthetic=report.synthetic)
    return Chart(name, svg, caption, marks)
