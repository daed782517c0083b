"""The four report charts as inline SVG: cost/engagement quadrant, radar, heatmap, frontier.

Each builder takes the ``ReportData`` and returns a ``Chart`` whose SVG is one
``<svg data-chart="...">`` with a ``<title>``; every data mark has ``class="mark"`` and its own
``<title>`` (the browser shows it as a tooltip, no script needed), so tests can count marks and
readers can hover for the numbers. A missing value is never drawn as 0: the heatmap shows "—" on
a hatched cell, the radar leaves the vertex out, the quadrant leaves the creator out and says how
many were left out. One module per chart; ``base`` holds what they share, ``svg`` the primitives.
"""

from __future__ import annotations

from pgy_metrics.analytics.reports.charts.base import Chart, creator_label, scope_label
from pgy_metrics.analytics.reports.charts.frontier import frontier_chart
from pgy_metrics.analytics.reports.charts.heatmap import HEATMAP_MAX_CREATORS, heatmap_chart
from pgy_metrics.analytics.reports.charts.quadrant import quadrant_chart
from pgy_metrics.analytics.reports.charts.radar import RADAR_MAX_CREATORS, radar_chart

__all__ = [
    "HEATMAP_MAX_CREATORS",
    "RADAR_MAX_CREATORS",
    "Chart",
    "creator_label",
    "frontier_chart",
    "heatmap_chart",
    "quadrant_chart",
    "radar_chart",
    "scope_label",
]
