"""What the creator page shows, computed from a look-up's answers: figures per scope with the
site's units, indicators with their percentile in a pool, risk flags with their evidence,
profile and prices, audience, and the history series of the headline scope.

Formatting is the project's one rule (``figures.format_figure``: counts with separators,
rates as percents with one decimal, money with two, missing as an em dash); labels come from
``contract.columns`` (Chinese, as the site shows them) and the indicator specs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.columns import COLUMN_KINDS, LABELS_ZH, METRIC_COLUMNS, ColumnKind
from pgy_metrics.contract.endpoints import (
    BLOGGER_PROFILE,
    DATA_SUMMARY,
    FANS_PROFILE,
    FANS_SUMMARY,
    NOTES_RATE,
)
from pgy_metrics.contract.units import flatten_scope
from pgy_metrics.figures import MISSING, FigureKind, format_figure
from pgy_metrics.server.console.charts import ConsoleChart, console_chart
from pgy_metrics.server.console.lookup import HEADLINE, Answer, Lookup
from pgy_metrics.store.snapshots import Snapshot

log = logging.getLogger("pgy_metrics.server.console")

_KINDS = {
    ColumnKind.TEXT: FigureKind.TEXT,
    ColumnKind.INTEGER: FigureKind.INTEGER,
    ColumnKind.FRACTION: FigureKind.FRACTION,
    ColumnKind.NUMBER: FigureKind.NUMBER,
    ColumnKind.BOOLEAN: FigureKind.TEXT,
}
HISTORY_FIELDS = (
    "note_number",
    "imp_median",
    "read_median",
    "interaction_median",
    "interaction_rate",
)
"""The fields whose series the history table shows (one column each)."""
POOL_CREATORS = 200
"""Creators of the "looked up with this token" pool read for percentiles."""


def figure(column: str, value: Any) -> str:
    return format_figure(value, _KINDS[COLUMN_KINDS.get(column, ColumnKind.NUMBER)])


def label_en(column: str) -> str:
    return column.replace("_", " ")


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    label_zh: str
    label_en: str
    text: str


@dataclass(frozen=True, slots=True)
class ScopeFigures:
    key: str
    label: str
    """The filters in Chinese, as the site shows them."""
    headline: bool
    ok: bool
    message: str | None
    record_time: str | None
    figures: tuple[Figure, ...]


def scope_figures(answers: Sequence[Answer]) -> list[ScopeFigures]:
    """Every notes-rate scope answered, the headline first."""
    shown: list[ScopeFigures] = []
    for answer in answers:
        ok = answer.code is BusinessCode.SUCCESS and isinstance(answer.data, Mapping)
        figures: tuple[Figure, ...] = ()
        if ok:
            row = flatten_scope(answer.data)
            figures = tuple(
                Figure(name, LABELS_ZH.get(name, name), label_en(name), figure(name, row.get(name)))
                for name in METRIC_COLUMNS
            )
        shown.append(
            ScopeFigures(
                answer.query.scope_key,
                answer.query.label,
                answer.query.scope_key == HEADLINE.key,
                ok,
                None if ok else f"{int(answer.code)}: {answer.message}",
                answer.record_time,
                figures,
            )
        )
    shown.sort(key=lambda scope: not scope.headline)
    return shown


@dataclass(frozen=True, slots=True)
class IndicatorRow:
    name: str
    label_en: str
    label_zh: str
    value: str
    percentile: str


@dataclass
class Benchmark:
    """Indicators of the creator with their percentile in the pool, and the risk flags."""

    available: bool
    reason: str = ""
    pool_size: int = 0
    indicators: list[IndicatorRow] = field(default_factory=list)
    flags: list[dict[str, str]] = field(default_factory=list)


def benchmark(lookup: Lookup, pool: Sequence[Snapshot]) -> Benchmark:
    """The creator's indicators and percentiles among ``pool`` (stored notes-rate snapshots of
    the creators looked up with this token) plus this look-up, and its risk flags.

    Needs the analytics extra (polars); without it the section says so."""
    try:
        from pgy_metrics.analytics.analysis import analyse
        from pgy_metrics.analytics.cohorts import PCT_SUFFIX, ranked_indicators
        from pgy_metrics.analytics.indicators import INDICATORS
        from pgy_metrics.analytics.tables import ScopeRecord, Tables, notes_frame, scopes_frame
    except ImportError:
        return Benchmark(False, "analytics")
    records = [
        ScopeRecord(
            snapshot.user_id,
            _scope(snapshot.params_key),
            snapshot.collected_at.isoformat(),
            _json(snapshot.payload),
            f"snapshot {snapshot.id}",
            snapshot.source,
        )
        for snapshot in pool
        if snapshot.user_id != lookup.user_id
    ]
    for answer in lookup.of(NOTES_RATE):
        if answer.code is BusinessCode.SUCCESS and isinstance(answer.data, Mapping):
            records.append(
                ScopeRecord(
                    lookup.user_id,
                    answer.query.scope,
                    answer.record_time or "",
                    answer.data,
                    "this look-up",
                    None,
                )
            )
    if not any(record.user_id == lookup.user_id for record in records):
        return Benchmark(False, "no_data")
    try:
        analysis = analyse(Tables(scopes=scopes_frame(records), notes=notes_frame(records)))
    except Exception:  # a stored answer the analytics refuse must not break the page
        log.exception("the console could not benchmark %s", lookup.user_id)
        return Benchmark(False, "failed")
    frame = analysis.benchmark
    mine = frame.filter(frame["user_id"] == lookup.user_id).to_dicts()
    ranked = ranked_indicators()
    result = Benchmark(True, pool_size=frame.height)
    if mine:
        row = mine[0]
        for spec in INDICATORS:
            kind = FigureKind.NUMBER if spec.name == "format_fit" else FigureKind.FRACTION
            if spec.name in ("momentum", "format_fit", "sponsored_decay"):
                kind = FigureKind.CHANGE if spec.name != "sponsored_decay" else FigureKind.NUMBER
            pct = row.get(spec.name + PCT_SUFFIX) if spec.name in ranked else None
            result.indicators.append(
                IndicatorRow(
                    spec.name,
                    spec.label_en,
                    spec.label_zh,
                    format_figure(row.get(spec.name), kind),
                    format_figure(pct, FigureKind.FRACTION) if pct is not None else MISSING,
                )
            )
    flags = analysis.flags
    result.flags = [
        {key: str(value) if value is not None else MISSING for key, value in item.items()}
        for item in flags.filter(flags["user_id"] == lookup.user_id).to_dicts()
    ]
    return result


def _scope(key: str) -> Any:
    from pgy_metrics.contract.params import Scope

    return Scope.from_key(key)


def _json(text: str) -> Any:
    import json

    return json.loads(text)


@dataclass(frozen=True, slots=True)
class Fact:
    label_en: str
    label_zh: str
    text: str


def profile_facts(lookup: Lookup) -> list[Fact]:
    """Followers, prices per format, order states, level, tags and agency (the profile)."""
    data = lookup.data_of(BLOGGER_PROFILE)
    if data is None:
        return []
    from pgy_metrics.analytics.profiles import creator_facts

    facts = creator_facts(lookup.user_id, data)
    rows = [
        Fact("Nickname", "昵称", str(data.get("name") or MISSING)),
        Fact("Followers", "粉丝数", format_figure(facts.followers, FigureKind.INTEGER)),
    ]
    for fmt, en, zh in (("photo", "photo-text", "图文"), ("video", "video", "视频")):
        rows.append(
            Fact(
                f"Price, {en} note (CNY)",
                f"{zh}笔记报价（元）",
                format_figure(facts.prices.get(fmt), FigureKind.MONEY),
            )
        )
        rows.append(
            Fact(
                f"Accepting {en} orders",
                f"接{zh}订单",
                format_figure(facts.accepting.get(fmt), FigureKind.TEXT),
            )
        )
    rows += [
        Fact("Account level", "账号等级", format_figure(facts.level, FigureKind.INTEGER)),
        Fact("Content category", "内容类目", facts.content_tag or MISSING),
        Fact("Tags", "标签", ", ".join(facts.tags) or MISSING),
        Fact("Agency", "机构", facts.agency or MISSING),
    ]
    return rows


def audience_facts(lookup: Lookup) -> list[Fact]:
    """Fans by gender, age group and city (shares), from the fans profile."""
    data = lookup.data_of(FANS_PROFILE)
    if data is None:
        return []
    from pgy_metrics.analytics.profiles import audience

    fans = audience(data)
    if fans is None:
        return []
    rows = [
        Fact("Female", "女性", format_figure(fans.female, FigureKind.FRACTION)),
        Fact("Male", "男性", format_figure(fans.male, FigureKind.FRACTION)),
    ]
    rows += [
        Fact(f"Age {group}", f"年龄 {group}", format_figure(share, FigureKind.FRACTION))
        for group, share in fans.ages
    ]
    rows += [
        Fact(name, name, format_figure(share, FigureKind.FRACTION)) for name, share in fans.cities
    ]
    return rows


def scalar_facts(lookup: Lookup, endpoint: str) -> list[Fact]:
    """The top-level numbers and texts of an endpoint's answer (data summary, fans summary),
    as sent: a field name and its value."""
    data = lookup.data_of(endpoint)
    if data is None:
        return []
    rows = []
    for key, value in data.items():
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            kind = FigureKind.INTEGER if isinstance(value, int) else FigureKind.NUMBER
            rows.append(Fact(key, key, format_figure(value, kind)))
        elif isinstance(value, str) and len(value) <= 60:
            rows.append(Fact(key, key, value))
    return rows


SIBLING_SECTIONS = (DATA_SUMMARY, FANS_SUMMARY)
"""The sibling answers shown as plain field lists."""


@dataclass(frozen=True, slots=True)
class HistorySeries:
    ok: bool
    message: str | None
    columns: tuple[tuple[str, str], ...]
    """(English, Chinese) label of each field column."""
    rows: tuple[tuple[str, tuple[str, ...]], ...]
    """(record time, figures) per stored collection, oldest first."""


def history_series(lookup: Lookup) -> HistorySeries | None:
    """The headline scope's stored collections, one row per collection and one column per
    ``HISTORY_FIELDS`` field (the console shows the series as a table)."""
    answer = lookup.history
    if answer is None:
        return None
    columns = tuple((label_en(name), LABELS_ZH.get(name, name)) for name in HISTORY_FIELDS)
    if answer.code is not BusinessCode.SUCCESS or not isinstance(answer.data, Mapping):
        return HistorySeries(False, f"{int(answer.code)}: {answer.message}", columns, ())
    rows = []
    for point in answer.data.get("points") or []:
        data = point.get("data") if isinstance(point, Mapping) else None
        if not isinstance(data, Mapping):
            continue
        row = flatten_scope(data)
        rows.append(
            (
                str(point.get("recordTime") or MISSING),
                tuple(figure(name, row.get(name)) for name in HISTORY_FIELDS),
            )
        )
    return HistorySeries(True, None, columns, tuple(rows))


def history_charts(lookup: Lookup) -> list[ConsoleChart]:
    """One chart per ``HISTORY_FIELDS`` field of the headline scope's stored collections
    (``analytics.reports.charts.history_spec``), drawn for the page by ``charts.console_chart``.
    Empty without the analytics extra or without a history answer: the table remains."""
    answer = lookup.history
    if answer is None or answer.code is not BusinessCode.SUCCESS:
        return []
    if not isinstance(answer.data, Mapping):
        return []
    try:
        from pgy_metrics.analytics.reports.charts import history_spec
    except ImportError:
        return []
    rows: list[tuple[str, Mapping[str, Any]]] = []
    for point in answer.data.get("points") or []:
        data = point.get("data") if isinstance(point, Mapping) else None
        if isinstance(data, Mapping):
            rows.append((str(point.get("recordTime") or ""), flatten_scope(data)))
    if not rows:
        return []
    drawn = []
    for name in HISTORY_FIELDS:
        spec = history_spec(
            [(moment, _number(row.get(name)), figure(name, row.get(name))) for moment, row in rows],
            field=name,
            label_en=label_en(name),
            label_zh=LABELS_ZH.get(name, name),
            scope=HEADLINE.label,
            percent=COLUMN_KINDS.get(name) is ColumnKind.FRACTION,
        )
        chart = console_chart(f"history-{name}", spec)
        if chart is not None:
            drawn.append(chart)
    return drawn


def _number(value: Any) -> float | int | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None
