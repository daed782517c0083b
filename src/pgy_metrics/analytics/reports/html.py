"""The HTML report: one self-contained UTF-8 file that works offline.

No CDN, font or script is fetched: the CSS and a few lines of vanilla JS (click a header to sort a
table) are inline, the charts are inline SVG drawn offline from their Vega-Lite specs (the
``charts`` package; the console draws the same specs live). The template is package data
loaded with ``importlib.resources`` (so an installed wheel finds it wherever the process runs) and
rendered with autoescaping on, so every creator tag, flag sentence or title is text, never markup.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import jinja2
import polars as pl

from pgy_metrics.analytics.reports.charts import HEATMAP_METRICS, Chart, inline_svg, report_specs
from pgy_metrics.analytics.reports.data import (
    INDICATOR_LABELS_ZH,
    SYNTHETIC_NOTICE,
    CellKind,
    ReportData,
    column_kind,
    column_label,
    format_value,
)

__all__ = ["HEATMAP_METRICS", "TEMPLATE", "Table", "render_html", "write_html"]

TEMPLATE = "templates/report.html.j2"
"""Path of the Jinja2 template inside this package."""
BENCHMARK_IDENTITY = ("user_id", "nickname", "name", "content_tag", "tier", "followers")
BENCHMARK_SUMMARY = ("score", "flag_count")
HIDDEN_INDICATOR_SUFFIXES = ("_low", "_high")
"""Interval bounds stay in the workbook; the HTML table shows the point values."""


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    sort: str
    """What the sort script compares: the raw number, or the text."""
    numeric: bool


@dataclass(frozen=True, slots=True)
class Table:
    """A rendered table: English names and Chinese labels for the header, formatted cells."""

    key: str
    columns: list[tuple[str, str]]
    rows: list[list[Cell]]


def _cell(value: object, kind: CellKind) -> Cell:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and isinstance(value, float) and not math.isfinite(value):
        return Cell("—", "", numeric=True)
    sort = repr(value) if number else ("" if value is None else format_value(value, kind))
    numeric = number or (value is None and kind is not CellKind.TEXT)
    return Cell(format_value(value, kind), sort, numeric=numeric)


def table(key: str, frame: pl.DataFrame, columns: list[str] | None = None) -> Table:
    """A ``Table`` from ``frame`` (all columns, or ``columns`` that exist, in that order)."""
    names = [c for c in (columns or frame.columns) if c in frame.columns]
    kinds = [column_kind(c, frame.schema[c]) for c in names]
    rows = [
        [_cell(value, kinds[i]) for i, value in enumerate(row)]
        for row in frame.select(names).iter_rows()
    ]
    return Table(key, [(c, column_label(c)) for c in names], rows)


def _benchmark_columns(benchmark: pl.DataFrame) -> list[str]:
    indicators = [
        c
        for c in INDICATOR_LABELS_ZH
        if c in benchmark.columns and not c.endswith(HIDDEN_INDICATOR_SUFFIXES)
    ]
    return [*BENCHMARK_IDENTITY, *BENCHMARK_SUMMARY, *indicators]


def _template() -> jinja2.Template:
    source = resources.files(__package__ or __name__).joinpath(TEMPLATE).read_text("utf-8")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    return environment.from_string(source)


def render_html(report: ReportData, *, heatmap_metric: str = "read_median") -> str:
    """The whole report page as text."""
    if heatmap_metric not in HEATMAP_METRICS:
        raise ValueError(f"heatmap_metric must be one of {HEATMAP_METRICS}; got {heatmap_metric!r}")
    specs = report_specs(report, heatmap_metric=heatmap_metric)
    drawn: list[Chart] = [inline_svg(name, spec) for name, spec in specs.items()]
    charts = [chart for chart in drawn if chart.name != "frontier"]
    frontier = next((chart for chart in drawn if chart.name == "frontier"), None)
    tables = {
        "benchmark": table("benchmark", report.benchmark, _benchmark_columns(report.benchmark)),
        "flags": table("flags", report.flags),
    }
    if report.creators is not None:
        tables["creators"] = table("creators", report.creators)
    if report.plan is not None:
        tables["plan"] = table("plan", report.plan.plan_table)
        tables["greedy"] = table("greedy", report.plan.greedy_table)
        if report.plan.excluded is not None:
            tables["excluded"] = table("excluded", report.plan.excluded)
    overview = [
        row
        for row in report.overview_rows()
        # the title is the heading; a synthetic report's notice is the banner
        if row.key != "title" and not (row.key == "notice" and report.synthetic)
    ]
    return _template().render(
        report=report,
        notice=SYNTHETIC_NOTICE,
        charts=charts,
        frontier=frontier,
        tables=tables,
        overview=overview,
    )


def write_html(
    report: ReportData, path: str | Path, *, heatmap_metric: str = "read_median"
) -> Path:
    """Write the report page to ``path`` (UTF-8) and return the path."""
    target = Path(path)
    target.write_text(render_html(report, heatmap_metric=heatmap_metric), encoding="utf-8")
    return target
