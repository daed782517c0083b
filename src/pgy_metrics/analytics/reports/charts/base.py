"""What the report charts share: the Vega-Lite frame (title, padding, fonts), creator and scope
labels, and the creators in score order.

Every chart is built with altair and returned as a plain Vega-Lite spec (a ``dict``), so the
static report (``render.to_svg``) and the console (vega-embed in the page) draw the very same
chart. Nothing here places text by hand: the layout is Vega's, with ``autosize`` set to ``pad``
so that every title, axis label and legend grows the canvas instead of being clipped, which is
what went wrong with the hand-written SVG these modules replaced (a radar label cut at the left
edge, a heat-map header cut at the top, point labels on top of each other).

altair is imported inside the functions that build a spec: it takes about a second to import,
and ``pgy --help`` or the server must not pay for it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import polars as pl

from pgy_metrics.analytics.reports.data import ReportData
from pgy_metrics.analytics.scopes import HEADLINE_SCOPE
from pgy_metrics.contract.params import ParamError, Scope

if TYPE_CHECKING:
    import altair as alt

Spec = dict[str, Any]
"""A Vega-Lite specification, as JSON-ready data."""

SHORT_ID = 8
"""Characters of a user id shown when a creator has no name."""
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
SYNTHETIC_TAG = "合成数据 SYNTHETIC"
SYNTHETIC_COLOUR = "#9c0006"
FONT = (
    '"Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Hiragino Sans GB", '
    '"Microsoft YaHei", sans-serif'
)
"""The report page's CJK fonts first: the SVG is measured and drawn with the same family, so a
Chinese label takes the room it was given."""
PLOT_WIDTH = 560
PLOT_HEIGHT = 320
PADDING = 16
"""Pixels around everything Vega lays out (titles, axes, legends included)."""
MARK_ROLE = "mark"
"""``ariaRoleDescription`` of a chart's data marks: ``render`` finds them by it."""
MISSING_ROLE = "missing"
"""``ariaRoleDescription`` of a heat-map cell without a value (never drawn as 0)."""


def creator_label(row: Mapping[str, object]) -> str:
    """A short label: the creator's name when the frame has one, else the id's first chars."""
    for key in ("nickname", "name"):
        value = row.get(key)
        if isinstance(value, str) and value:
            return value
    return str(row.get("user_id", ""))[:SHORT_ID]


def unique_labels(rows: Sequence[Mapping[str, object]]) -> list[str]:
    """``creator_label`` per row, with the whole id where two creators share a label (a name,
    or the first characters of ids made in the same second), so that a chart keyed by label
    never merges two creators."""
    labels = [creator_label(row) for row in rows]
    counts = Counter(labels)
    unique: list[str] = []
    for label, row in zip(labels, rows, strict=True):
        user_id = str(row.get("user_id", ""))
        if counts[label] == 1:
            unique.append(label)
        else:
            unique.append(user_id if label == user_id[:SHORT_ID] else f"{label} ({user_id})")
    return unique


def scope_label(key: str) -> str:
    """``DAILY_NOTE.VIDEO.DAY_90.ALL`` -> ``日常笔记·视频·近90天·全流量`` (the contract's labels);
    a key that is not a scope is shown as it is."""
    try:
        scope = Scope.from_key(key)
    except ParamError:
        return key
    return scope.label.replace(" / ", "·")


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


def dataset(name: str) -> alt.NamedData:
    """A reference to the spec's top-level ``datasets[name]`` (given to ``finish``): altair
    copies inline data once per layer and per call, which cost more than drawing the chart."""
    import altair as alt

    return alt.NamedData(name=name)


def finish(
    chart: alt.TopLevelMixin,
    *,
    name: str,
    title: Sequence[str],
    caption: str,
    marks: int,
    synthetic: bool,
    datasets: Mapping[str, list[dict[str, object]]],
) -> Spec:
    """The Vega-Lite spec of ``chart`` with what every chart has: a title (and the synthetic
    tag as its subtitle), ``autosize: pad`` with padding so nothing is clipped, the report's
    fonts, ``datasets`` (the rows its layers name), and ``usermeta.pgy`` saying which chart it
    is, its caption and its number of marks."""
    title_params: dict[str, Any] = {"text": list(title), "anchor": "start"}
    if synthetic:
        title_params.update(subtitle=SYNTHETIC_TAG, subtitleColor=SYNTHETIC_COLOUR)
    # Validated by the tests (tests/unit/test_report_charts.py) against the Vega-Lite schema;
    # at run time the schema walk would cost as much as drawing the chart. The frame is set on
    # the dict: each of altair's ``.properties``/``.configure_*`` copies the whole chart.
    spec: Spec = chart.to_dict(validate=False)
    spec.update(
        title=title_params,
        description=f"{' '.join(title)}. {caption}",
        padding=PADDING,
        autosize={"type": "pad", "contains": "padding"},
        usermeta={
            "pgy": {"chart": name, "caption": caption, "marks": marks, "synthetic": synthetic}
        },
        config=_config(),
        datasets={key: list(rows) for key, rows in datasets.items()},
    )
    return spec


def _config() -> Spec:
    """Fonts and sizes; ``labelLimit: 0`` so that no axis or legend label is cut to "…"."""
    return {
        "font": FONT,
        "title": {
            "fontSize": 13,
            "subtitleFontSize": 11,
            "subtitleFontWeight": "bold",
            "offset": 8,
        },
        "axis": {"labelFontSize": 11, "titleFontSize": 12, "labelLimit": 0, "titleLimit": 0},
        "legend": {"labelFontSize": 11, "titleFontSize": 11, "labelLimit": 0, "titleLimit": 0},
        "view": {"stroke": None},
    }


def empty_spec(name: str, title: Sequence[str], message: str, *, synthetic: bool) -> Spec:
    """A chart that only says why it has nothing to draw (an empty frame, a missing column)."""
    import altair as alt

    chart = (
        alt.Chart(dataset("message"))
        .mark_text(fontSize=14, color="#5b6570", aria=False)
        .encode(text="message:N")
        .properties(width=PLOT_WIDTH, height=120)
    )
    return finish(
        chart,
        name=name,
        title=title,
        caption=message,
        marks=0,
        synthetic=synthetic,
        datasets={"message": [{"message": message}]},
    )
