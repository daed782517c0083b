"""(d) Plan frontier: budget vs the optimal, greedy and robust plan values.

A budget where no plan meets the rules has no value: the line breaks there (Vega-Lite's
``invalid: "break-paths-filter-domains"`` on the line), it is neither bridged nor drawn at 0.
"""

from __future__ import annotations

import polars as pl

from pgy_metrics.analytics.reports.charts.base import (
    MARK_ROLE,
    PALETTE,
    PLOT_HEIGHT,
    PLOT_WIDTH,
    Spec,
    dataset,
    empty_spec,
    finish,
)
from pgy_metrics.analytics.reports.data import CellKind, ReportData, format_value

FRONTIER_SERIES = (
    ("optimal_value", "最优 optimal (MILP)", (1, 0)),
    ("greedy_value", "贪心 greedy", (7, 4)),
    ("robust_value", "稳健 robust (P20)", (2, 3)),
)
"""Column, legend label and dash pattern of each line."""


def frontier_spec(frontier: pl.DataFrame, objective: str, *, synthetic: bool = False) -> Spec:
    """(d) The Vega-Lite spec: ``budget`` against each ``*_value`` column of ``frontier``."""
    import altair as alt

    name = "frontier"
    title = ["预算前沿: 最优 vs 贪心 vs 稳健", "budget frontier: optimal vs greedy vs robust"]
    series = [item for item in FRONTIER_SERIES if item[0] in frontier.columns]
    if "budget" not in frontier.columns or frontier.is_empty() or not series:
        message = "方案没有前沿数据 (the plan has no frontier rows)"
        return empty_spec(name, title, message, synthetic=synthetic)
    frontier = frontier.filter(pl.col("budget").is_not_null()).sort("budget")
    rows: list[dict[str, object]] = []
    marks = 0
    for column, label, _ in series:
        for budget, value in frontier.select("budget", column).iter_rows():
            has_value = isinstance(value, int | float)
            money = format_value(budget, CellKind.MONEY)
            amount = format_value(value, CellKind.INTEGER) if has_value else "无可行方案 none"
            marks += has_value
            rows.append(
                {
                    "budget": float(budget),
                    "value": float(value) if has_value else None,
                    "series": label,
                    "tip": f"{label}: 预算 {money} → {amount}",
                    "budget_text": money,
                    "value_text": amount,
                }
            )
    labels = [label for _, label, _ in series]
    colour = alt.Color(
        "series:N",
        title=None,
        sort=labels,
        scale=alt.Scale(domain=labels, range=list(PALETTE[: len(labels)])),
        legend=alt.Legend(orient="bottom", direction="horizontal"),
    )
    dash = alt.StrokeDash(
        "series:N",
        sort=labels,
        scale=alt.Scale(domain=labels, range=[list(d) for _, _, d in series]),
        legend=None,
    )
    x = alt.X("budget:Q", title="预算 budget", axis=alt.Axis(format=",.0f"))
    y = alt.Y("value:Q", title=f"价值 {objective}", axis=alt.Axis(format=",.0f"))
    base = alt.Chart(dataset("frontier")).encode(x=x, y=y, color=colour)
    lines = base.mark_line(strokeWidth=2, invalid="break-paths-filter-domains", aria=False).encode(
        strokeDash=dash
    )
    points = (
        base.transform_filter("isValid(datum.value)")
        .mark_point(filled=True, size=45, ariaRoleDescription=MARK_ROLE)
        .encode(
            description=alt.Description("tip:N"),
            tooltip=[
                alt.Tooltip("series:N", title="方案 plan"),
                alt.Tooltip("budget_text:N", title="预算 budget"),
                alt.Tooltip("value_text:N", title=f"价值 {objective}"),
            ],
        )
    )
    chart = alt.layer(lines, points).properties(width=PLOT_WIDTH, height=PLOT_HEIGHT)
    caption = f"{frontier.height} 个预算点; 目标 objective = {objective}."
    return finish(
        chart,
        name=name,
        title=title,
        caption=caption,
        marks=marks,
        synthetic=synthetic,
        datasets={"frontier": rows},
    )


def report_frontier_spec(report: ReportData) -> Spec | None:
    """``frontier_spec`` of a report's plan; ``None`` when the report has no plan."""
    if report.plan is None:
        return None
    objective = str(report.plan.summary.get("objective", "value"))
    return frontier_spec(report.plan.frontier, objective, synthetic=report.synthetic is True)
