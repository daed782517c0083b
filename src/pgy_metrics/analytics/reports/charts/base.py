"""What the four charts share: the ``Chart`` result, the SVG frame, axes, creator labels.

Every chart is an ``<svg data-chart="...">`` with a ``<title>`` (and the synthetic tag in a
synthetic report), so tests and readers find it the same way whichever chart it is.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from markupsafe import Markup

from pgy_metrics.analytics.reports.charts.svg import Scale, element, join, number
from pgy_metrics.analytics.reports.data import CellKind, ReportData, format_value
from pgy_metrics.analytics.scopes import HEADLINE_SCOPE
from pgy_metrics.contract.params import ParamError, Scope

CHART_WIDTH = 760
CHART_HEIGHT = 460
MARGIN_TOP, MARGIN_RIGHT, MARGIN_BOTTOM, MARGIN_LEFT = 44, 28, 60, 80

SHORT_ID = 8
"""Characters of a user id shown when a creator has no name."""
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
SYNTHETIC_TAG = "合成数据 SYNTHETIC"


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
    """``DAILY_NOTE.VIDEO.DAY_90.ALL`` -> ``日常笔记·视频·近90天·全流量`` (the contract's labels);
    a key that is not a scope is shown as it is."""
    try:
        scope = Scope.from_key(key)
    except ParamError:
        return key
    return scope.label.replace(" / ", "·")


def svg_frame(
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


def empty_chart(name: str, title: str, message: str, *, synthetic: bool) -> Chart:
    body = element(
        "text",
        {"x": CHART_WIDTH / 2, "y": CHART_HEIGHT / 2, "text-anchor": "middle", "class": "empty"},
        message,
    )
    svg = svg_frame(name, title, CHART_WIDTH, CHART_HEIGHT / 2 + 40, body, synthetic=synthetic)
    return Chart(name, svg, message, 0)


def tick_text(value: float, kind: CellKind) -> str:
    """Axis ticks are round numbers: no ``.00`` on money."""
    if kind is CellKind.MONEY and float(value).is_integer():
        return f"{value:,.0f}"
    return format_value(value, kind)


def axis(scale: Scale, *, vertical: bool, at: float, kind: CellKind, label: str) -> Markup:
    """Ticks, grid lines and the axis label."""
    parts: list[Markup] = []
    left, right = MARGIN_LEFT, CHART_WIDTH - MARGIN_RIGHT
    top, bottom = MARGIN_TOP, CHART_HEIGHT - MARGIN_BOTTOM
    for tick in scale.ticks():
        pos = scale(tick)
        text = tick_text(tick, kind)
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


def creators_frame(report: ReportData) -> pl.DataFrame:
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
