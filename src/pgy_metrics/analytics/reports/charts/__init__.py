"""The report's charts as Vega-Lite specs (built with altair), drawn offline to SVG.

One function per chart returns a plain Vega-Lite spec (a ``dict``, JSON-ready):
``quadrant_spec``, ``percentile_spec``, ``heatmap_spec``, ``frontier_spec`` take the frames they
draw, and ``report_specs`` gives all four for a ``ReportData``. The HTML report draws them with
``to_svg`` (vl-convert, no browser and no network); the console hands the same dict to
vega-embed (vendored under ``pgy_metrics/server/static/vendor``), so both show the same chart.
Every spec has ``autosize: pad`` with padding (no label is clipped), tooltips instead of point
labels, and ``usermeta.pgy`` = ``{chart, caption, marks, synthetic}``. A missing value is never
drawn as 0: the heat map shows "—" on a grey cell, the percentile chart leaves the dot out, the
quadrant leaves the creator out and says how many, the frontier breaks its line.

altair and vl-convert are imported inside the functions that use them (about a second each to
load); importing this package costs neither.
"""

from __future__ import annotations

from pgy_metrics.analytics.reports.charts.base import Spec, creator_label, scope_label
from pgy_metrics.analytics.reports.charts.frontier import frontier_spec, report_frontier_spec
from pgy_metrics.analytics.reports.charts.heatmap import (
    HEATMAP_MAX_CREATORS,
    HEATMAP_METRICS,
    heatmap_spec,
    report_heatmap_spec,
)
from pgy_metrics.analytics.reports.charts.history import history_spec, refreshes_spec
from pgy_metrics.analytics.reports.charts.percentiles import (
    PERCENTILE_MAX_CREATORS,
    percentile_spec,
    report_percentile_spec,
)
from pgy_metrics.analytics.reports.charts.quadrant import quadrant_spec, report_quadrant_spec
from pgy_metrics.analytics.reports.charts.render import Chart, inline_svg, to_svg
from pgy_metrics.analytics.reports.data import ReportData

__all__ = [
    "HEATMAP_MAX_CREATORS",
    "HEATMAP_METRICS",
    "PERCENTILE_MAX_CREATORS",
    "Chart",
    "Spec",
    "creator_label",
    "frontier_spec",
    "heatmap_spec",
    "history_spec",
    "inline_svg",
    "percentile_spec",
    "quadrant_spec",
    "refreshes_spec",
    "report_specs",
    "scope_label",
    "to_svg",
]


def report_specs(report: ReportData, *, heatmap_metric: str = "read_median") -> dict[str, Spec]:
    """Every chart of ``report`` by name, in page order: quadrant, percentiles, heatmap, and
    frontier when the report has a plan."""
    specs = {
        "quadrant": report_quadrant_spec(report),
        "percentiles": report_percentile_spec(report),
        "heatmap": report_heatmap_spec(report, metric=heatmap_metric),
    }
    frontier = report_frontier_spec(report)
    if frontier is not None:
        specs["frontier"] = frontier
    return specs
