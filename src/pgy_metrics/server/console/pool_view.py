"""What a pool's page shows once members are fetched: the benchmark table (sorted and filtered
on the server, so it works without JavaScript), the quadrant and heat-map charts and the XLSX
and HTML reports, all from the stored snapshots of the pool's members.

The analysis is the one ``pgy report`` runs (``analytics.analysis.analyse`` then
``report_data``), tiers by follower count from the members' profiles; the charts are the
report's spec builders, drawn live by vega-embed with the server's SVG as the fallback
(``charts.console_chart``: offline, no other host), and the downloads are the report's own
writers. Needs the analytics extra; without it the page says so.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pgy_metrics.contract.params import Scope
from pgy_metrics.figures import MISSING, FigureKind, format_figure
from pgy_metrics.server.console.charts import ConsoleChart, console_chart
from pgy_metrics.store.snapshots import Snapshot

SORTABLE_TEXT = ("user_id", "tier")
MAX_FILTER_CHARS = 100


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    label_en: str
    label_zh: str
    kind: FigureKind
    percentile: str | None
    """The column of its percentile in the pool, for an indicator that has one."""


@dataclass
class PoolTable:
    """The benchmark rows as shown (text), with what the page needs to link the headers."""

    available: bool
    reason: str = ""
    columns: list[Column] = field(default_factory=list)
    rows: list[dict[str, str]] = field(default_factory=list)
    tiers: list[str] = field(default_factory=list)
    total: int = 0
    charts: list[ConsoleChart] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class View:
    """The query string's choices: sort column and direction, tier and text filters."""

    sort: str = "score"
    descending: bool = True
    tier: str = ""
    text: str = ""

    @classmethod
    def of(cls, params: Mapping[str, str]) -> View:
        return cls(
            sort=params.get("sort", "score")[:40] or "score",
            descending=params.get("dir", "desc") != "asc",
            tier=params.get("tier", "")[:40],
            text=params.get("q", "")[:MAX_FILTER_CHARS].strip(),
        )


def report_of(
    notes: Sequence[Snapshot], profiles: Sequence[Snapshot], *, title: str, now: datetime
) -> Any:
    """The pool's ``ReportData`` (the ``pgy report`` chain), or None without analytics data.
    Raises ``ImportError`` without the analytics extra."""
    import polars as pl

    from pgy_metrics.analytics.analysis import analyse, report_data
    from pgy_metrics.analytics.profiles import creator_facts
    from pgy_metrics.analytics.tables import ScopeRecord, Tables, notes_frame, scopes_frame
    from pgy_metrics.contract.provenance import synthetic

    records = [
        ScopeRecord(
            snapshot.user_id,
            Scope.from_key(snapshot.params_key),
            snapshot.collected_at.isoformat(),
            json.loads(snapshot.payload),
            f"snapshot {snapshot.id}",
            snapshot.source,
        )
        for snapshot in notes
    ]
    if not records:
        return None
    followers = []
    for snapshot in profiles:
        data = json.loads(snapshot.payload)
        if isinstance(data, Mapping):
            count = creator_facts(snapshot.user_id, data).followers
            if count is not None:
                followers.append({"user_id": snapshot.user_id, "followers": count})
    frame = (
        pl.DataFrame(followers, schema={"user_id": pl.String, "followers": pl.Int64})
        if followers
        else None
    )
    analysis = analyse(
        Tables(scopes=scopes_frame(records), notes=notes_frame(records)), followers=frame
    )
    sources = {snapshot.source for snapshot in notes}
    return report_data(
        analysis,
        title=title,
        source_label=", ".join(sorted(source for source in sources if source)) or "store",
        synthetic=synthetic(sources),
        generated_at=now,
    )


def _columns() -> list[Column]:
    from pgy_metrics.analytics.cohorts import PCT_SUFFIX, ranked_indicators
    from pgy_metrics.analytics.indicators import INDICATORS

    ranked = ranked_indicators()
    columns = [
        Column("user_id", "Creator", "博主", FigureKind.TEXT, None),
        Column("tier", "Tier", "层级", FigureKind.TEXT, None),
        Column("score", "Score", "得分", FigureKind.NUMBER, None),
        Column("flag_count", "Flags", "风险标记", FigureKind.INTEGER, None),
    ]
    for spec in INDICATORS:
        kind = FigureKind.FRACTION
        if spec.name in ("momentum", "format_fit"):
            kind = FigureKind.CHANGE if spec.name == "momentum" else FigureKind.NUMBER
        elif spec.name == "sponsored_decay":
            kind = FigureKind.NUMBER
        pct = spec.name + PCT_SUFFIX if spec.name in ranked else None
        columns.append(Column(spec.name, spec.label_en, spec.label_zh, kind, pct))
    return columns


def _sort_key(value: Any) -> tuple[int, Any]:
    """Missing values last whatever the direction (the caller reverses only present ones)."""
    if value is None or (isinstance(value, float) and value != value):
        return (1, 0)
    return (0, value)


def table(report: Any, view: View) -> PoolTable:
    """The benchmark rows filtered by tier and text (creator id or content tag), sorted by
    ``view.sort`` on the server."""
    frame = report.benchmark
    columns = [c for c in _columns() if c.name in frame.columns]
    names = {c.name for c in columns} | {c.percentile for c in columns if c.percentile}
    rows = frame.to_dicts()
    tiers = sorted({str(row.get("tier")) for row in rows if row.get("tier") is not None})
    if view.tier:
        rows = [row for row in rows if str(row.get("tier")) == view.tier]
    if view.text:
        needle = view.text.lower()
        rows = [
            row
            for row in rows
            if needle in str(row.get("user_id", "")).lower()
            or needle in str(row.get("content_tag") or "").lower()
        ]
    sort = view.sort if view.sort in names else "score"
    present = [row for row in rows if _sort_key(row.get(sort))[0] == 0]
    missing = [row for row in rows if _sort_key(row.get(sort))[0] == 1]
    present.sort(key=lambda row: row[sort], reverse=view.descending)
    shown = []
    for row in present + missing:
        cells = {}
        for column in columns:
            cells[column.name] = format_figure(row.get(column.name), column.kind)
            if column.percentile:
                pct = row.get(column.percentile)
                cells[column.percentile] = (
                    format_figure(pct, FigureKind.FRACTION) if pct is not None else MISSING
                )
        shown.append(cells)
    return PoolTable(True, columns=columns, rows=shown, tiers=tiers, total=frame.height)


def charts(report: Any) -> list[ConsoleChart]:
    """The quadrant and heat-map charts (``charts.console_chart``: drawn live by vega-embed,
    with the server's SVG as the fallback), the ones that could be drawn."""
    from pgy_metrics.analytics.reports.charts.heatmap import report_heatmap_spec
    from pgy_metrics.analytics.reports.charts.quadrant import report_quadrant_spec

    drawn = [
        console_chart("quadrant", report_quadrant_spec(report)),
        console_chart("heatmap", report_heatmap_spec(report)),
    ]
    return [chart for chart in drawn if chart is not None]


def xlsx_bytes(report: Any) -> bytes:
    """The workbook ``pgy report`` writes, as bytes."""
    from pgy_metrics.analytics.reports import write_xlsx

    with tempfile.TemporaryDirectory(prefix="pgy-pool-") as folder:
        path = write_xlsx(report, Path(folder) / "report.xlsx")
        return path.read_bytes()


def html_text(report: Any) -> str:
    """The HTML page ``pgy report`` writes."""
    from pgy_metrics.analytics.reports import render_html

    return str(render_html(report))
