"""A creator's history and a watchlist's refreshes, as Vega-Lite specs (the web console).

``history_spec``: one field of the stored collections of a scope against their record time, a
line with a point per collection and a tooltip naming the time and the figure as the site writes
it. One chart per field, because the fields differ by orders of magnitude (a note count, a
median of reads, a rate): on one axis most lines would be flat. A collection without the field
is left out (never drawn as 0), and the line breaks there.

``refreshes_spec``: collections per hour of a watchlist's keys, a bar per hour, so an operator
sees the refreshes spread over the period (or bunched, or missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pgy_metrics.analytics.reports.charts.base import (
    MARK_ROLE,
    PALETTE,
    Spec,
    dataset,
    empty_spec,
    finish,
)

HISTORY_WIDTH = 520
HISTORY_HEIGHT = 180
"""Small multiples: five of them stacked on the creator page."""


def history_spec(
    points: Sequence[tuple[str, float | int | None, str]],
    *,
    field: str,
    label_en: str,
    label_zh: str,
    scope: str,
    percent: bool = False,
) -> Spec:
    """``field`` over time: ``points`` are (record time ISO 8601, value or None, the value as
    the site writes it), oldest first, one per stored collection of ``scope``."""
    import altair as alt

    name = f"history-{field}"
    title = [f"{label_zh} {label_en}", scope]
    rows: list[dict[str, object]] = []
    for moment, value, text in points:
        has_value = isinstance(value, int | float) and not isinstance(value, bool)
        rows.append(
            {
                "time": moment,
                "value": float(value) if has_value and value is not None else None,
                "text": text,
                "tip": f"{moment}: {label_en} {text}",
            }
        )
    drawn = sum(row["value"] is not None for row in rows)
    if drawn == 0:
        message = "没有已存储的数据 (no stored collection has this field)"
        return empty_spec(name, title, message, synthetic=False)
    x = alt.X("time:T", title="记录时间 record time", axis=alt.Axis(labelAngle=0, tickCount=5))
    y = alt.Y(
        "value:Q",
        title=label_en,
        scale=alt.Scale(zero=False),
        axis=alt.Axis(format=".1%" if percent else "~s"),
    )
    base = alt.Chart(dataset("history")).encode(x=x, y=y)
    line = base.mark_line(
        color=PALETTE[0], strokeWidth=2, invalid="break-paths-filter-domains", aria=False
    )
    points_layer = (
        base.transform_filter("isValid(datum.value)")
        .mark_point(filled=True, size=50, color=PALETTE[0], ariaRoleDescription=MARK_ROLE)
        .encode(
            description=alt.Description("tip:N"),
            tooltip=[
                alt.Tooltip("time:T", title="记录时间 record time", format="%Y-%m-%d %H:%M"),
                alt.Tooltip("text:N", title=f"{label_zh} {label_en}"),
            ],
        )
    )
    chart = alt.layer(line, points_layer).properties(width=HISTORY_WIDTH, height=HISTORY_HEIGHT)
    caption = f"{drawn} 次采集 collections of {len(rows)}"
    return finish(
        chart,
        name=name,
        title=title,
        caption=caption,
        marks=drawn,
        synthetic=False,
        datasets={"history": rows},
    )


def refreshes_spec(moments: Sequence[datetime], *, title: str, now: datetime) -> Spec:
    """Collections per hour of a watchlist's keys (``moments``: each snapshot's collection
    time), the hours between the first and ``now``, an hour without any drawn as 0 (it had
    none: that is a count, not a missing value)."""
    import altair as alt

    name = "refreshes"
    heading = ["每小时采集次数 collections per hour", title]
    if not moments:
        message = "尚无采集 (nothing collected yet)"
        return empty_spec(name, heading, message, synthetic=False)
    counts: dict[datetime, int] = {}
    for moment in moments:
        hour = moment.replace(minute=0, second=0, microsecond=0)
        counts[hour] = counts.get(hour, 0) + 1
    first = min(counts)
    last = max(max(counts), now.replace(minute=0, second=0, microsecond=0))
    rows: list[dict[str, object]] = []
    hour = first
    while hour <= last and len(rows) < MAX_HOURS:
        rows.append({"hour": hour.isoformat(), "count": counts.get(hour, 0)})
        hour = _next_hour(hour)
    chart = (
        alt.Chart(dataset("refreshes"))
        .mark_bar(color=PALETTE[2], ariaRoleDescription=MARK_ROLE)
        .encode(
            x=alt.X("hour:T", title="小时 hour", axis=alt.Axis(labelAngle=0, tickCount=6)),
            y=alt.Y("count:Q", title="采集 collections", axis=alt.Axis(tickMinStep=1)),
            description=alt.Description("count:Q"),
            tooltip=[
                alt.Tooltip("hour:T", title="小时 hour", format="%Y-%m-%d %H:00"),
                alt.Tooltip("count:Q", title="采集 collections"),
            ],
        )
        .properties(width=HISTORY_WIDTH, height=HISTORY_HEIGHT)
    )
    total = sum(counts.values())
    return finish(
        chart,
        name=name,
        title=heading,
        caption=f"{total} 次采集 collections in {len(rows)} hours",
        marks=len(rows),
        synthetic=False,
        datasets={"refreshes": rows},
    )


MAX_HOURS = 24 * 14
"""Hours drawn at most (two weeks): the caller passes the recent collections."""


def _next_hour(hour: datetime) -> datetime:
    return hour + timedelta(hours=1)
