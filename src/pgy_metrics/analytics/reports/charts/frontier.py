"""(d) Plan frontier: budget vs the optimal, greedy and robust plan values."""

from __future__ import annotations

from pgy_metrics.analytics.reports.charts.base import (
    CHART_HEIGHT,
    CHART_WIDTH,
    MARGIN_BOTTOM,
    MARGIN_LEFT,
    MARGIN_RIGHT,
    MARGIN_TOP,
    PALETTE,
    Chart,
    axis,
    empty_chart,
    svg_frame,
)
from pgy_metrics.analytics.reports.charts.svg import (
    LinearScale,
    element,
    join,
    linear_domain,
    number,
)
from pgy_metrics.analytics.reports.data import (
    CellKind,
    ReportData,
    format_value,
)

FRONTIER_SERIES = (
    ("optimal_value", "最优 optimal (MILP)", "solid"),
    ("greedy_value", "贪心 greedy", "dashed"),
    ("robust_value", "稳健 robust (P20)", "dotted"),
)


def _segments(rows: list[tuple[object, object]]) -> list[list[tuple[float, float]]]:
    """Runs of budgets with a value: a budget where no plan meets the rules (null) breaks the
    line instead of being bridged or drawn at 0."""
    runs: list[list[tuple[float, float]]] = [[]]
    for budget, value in rows:
        if isinstance(budget, int | float) and isinstance(value, int | float):
            runs[-1].append((float(budget), float(value)))
        elif runs[-1]:
            runs.append([])
    return [run for run in runs if run]


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
        return empty_chart(name, title, message, synthetic=report.synthetic is True)
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
        axis(x_scale, vertical=False, at=bottom, kind=CellKind.MONEY, label="预算 budget"),
        axis(y_scale, vertical=True, at=left, kind=CellKind.INTEGER, label=f"价值 {objective}"),
    ]
    marks = 0
    for index, (column, label, style) in enumerate(series):
        colour = PALETTE[index]
        points: list[tuple[float, float]] = []
        for segment in _segments(frame.select("budget", column).rows()):
            path = " ".join(f"{number(x_scale(b))},{number(y_scale(v))}" for b, v in segment)
            line_attrs = {"points": path, "stroke": colour, "class": f"line {style}"}
            parts.append(element("polyline", line_attrs))
            points.extend(segment)
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
    svg = svg_frame(
        name, title, CHART_WIDTH, CHART_HEIGHT, join(parts), synthetic=report.synthetic is True
    )
    return Chart(name, svg, caption, marks)
