"""Report files from small hand-built frames (the columns of docs/analytics-interfaces.md).

The workbook is read back with openpyxl (a different library from the writer), so the checks see
what Excel sees: sheet names, both header rows, frozen panes, numeric cells and their formats,
empty cells for missing values, the synthetic notice. The HTML is checked as text: offline (no
http(s) at all), the four charts with their marks, escaping of a hostile creator tag. The chart
specs themselves are tests/unit/test_report_charts.py.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from openpyxl import load_workbook

from pgy_metrics.analytics.analysis import CampaignPlan, summary_for_report
from pgy_metrics.analytics.objectives import Objective
from pgy_metrics.analytics.planner import Option, Plan, PlanRules
from pgy_metrics.analytics.reports import (
    SHEETS,
    SYNTHETIC_NOTICE,
    UNKNOWN_SOURCE_NOTICE,
    PlanReport,
    ReportData,
    column_label,
    render_html,
    write_html,
    write_report,
    write_xlsx,
)
from pgy_metrics.analytics.reports.charts import HEATMAP_MAX_CREATORS, PERCENTILE_MAX_CREATORS
from pgy_metrics.analytics.reports.data import PLAN_SUMMARY_ITEMS
from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES, HEADLINE_SCOPE
from pgy_metrics.contract.columns import COLUMN_KINDS, COLUMNS, LABELS_ZH, ColumnKind

SEED = 20261127
HOSTILE_TAG = "<script>alert(1)</script>"
INDICATOR_NAMES = ("click_through", "engagement_rate", "search_share", "follow_conversion")
GENERATED_AT = datetime(2026, 11, 27, 10, 30, 0)


def _user(index: int) -> str:
    return f"5d21ab{index:02x}00000000abcd{index:04x}"


def _scopes(users: list[str], rng: random.Random) -> pl.DataFrame:
    schema = {
        column: {ColumnKind.TEXT: pl.Utf8, ColumnKind.INTEGER: pl.Int64}.get(
            COLUMN_KINDS[column], pl.Float64
        )
        for column in COLUMNS
    }
    rows = []
    for position, user in enumerate(users):
        for scope in ANALYSIS_SCOPES:
            row: dict[str, object] = dict.fromkeys(COLUMNS)
            empty = position == 1 and scope.note_type.value == "VIDEO"  # an empty scope
            row.update(
                user_id=user,
                business=scope.business.value,
                note_type=scope.note_type.value,
                date_type=scope.date_type.value,
                advertise_switch=scope.advertise_switch.value,
                collected_at="2026-11-26T15:04:05",
                note_number=0 if empty else rng.randint(5, 60),
                read_median=None if empty else rng.randint(200, 80_000),
                interaction_rate=None if empty else round(rng.uniform(0.01, 0.12), 4),
                content_tag_1=HOSTILE_TAG if position == 0 else "美妆",
            )
            rows.append(row)
    return pl.DataFrame(rows, schema=schema, orient="row").with_columns(
        scope_key=pl.concat_str(
            ["business", "note_type", "date_type", "advertise_switch"], separator="."
        )
    )


def _indicators(scopes: pl.DataFrame) -> pl.DataFrame:
    return scopes.select(
        "user_id",
        "business",
        "note_type",
        "date_type",
        "advertise_switch",
        "scope_key",
        "collected_at",
        "note_number",
        "read_median",
        pl.col("interaction_rate").alias("engagement_rate"),
        (pl.col("interaction_rate") * 0.5).alias("click_through"),
        pl.col("content_tag_1"),
    )


def _benchmark(users: list[str], rng: random.Random) -> pl.DataFrame:
    rows = []
    for position, user in enumerate(users):
        row: dict[str, object] = {
            "user_id": user,
            "tier": "micro" if position % 2 else "mid",
            "tier_source": "read_median",
            "content_tag": HOSTILE_TAG if position == 0 else "美妆",
            "followers": None if position == 2 else rng.randint(5_000, 900_000),
        }
        for name in INDICATOR_NAMES:
            missing = position == 2 and name == "search_share"
            row[name] = None if missing else round(rng.uniform(0.01, 0.3), 4)
            row[f"{name}_pct"] = None if missing else round(rng.random(), 3)
            row[f"{name}_pct_tier"] = round(rng.random(), 3)
            row[f"score_{name}"] = round(rng.uniform(0, 25), 2)
        row["score"] = round(rng.uniform(20, 95), 1)
        row["flag_count"] = position % 3
        rows.append(row)
    return pl.DataFrame(rows, infer_schema_length=None)


def _plan(users: list[str]) -> PlanReport:
    chosen = pl.DataFrame(
        {
            "user_id": users[:3],
            "format": ["photo", "video", "photo"],
            "price": [1200.5, 3000.0, 800.0],
            "value": [24_000.0, 51_000.0, 9_500.0],
            "robust_value": [18_000.0, 40_000.0, 7_000.0],
            "tier": ["mid", "micro", "mid"],
            "content_tag": [HOSTILE_TAG, "美妆", "美妆"],
            "flags": [[], ["thin_sample"], []],
            "basis": ["COOPERATE_NOTE.PHOTO_TEXT", "DAILY_NOTE.VIDEO", "DAILY_NOTE.PHOTO_TEXT"],
            "value_per_1k_price": [19_991.7, 17_000.0, 11_875.0],
        }
    )
    options = pl.DataFrame(
        {
            "user_id": users,
            "format": ["photo"] * len(users),
            "price": [500.0 + 150 * i for i in range(len(users))],
            "value": [5_000.0 + 2_000 * i for i in range(len(users))],
        }
    )
    frontier = pl.DataFrame(
        {
            "budget": [1000.0, 2000.0, 4000.0, 8000.0],
            "optimal_value": [9_500.0, 24_000.0, 60_000.0, 84_500.0],
            "greedy_value": [9_500.0, 24_000.0, 51_000.0, 75_000.0],
            "robust_value": [7_000.0, 18_000.0, 47_000.0, 65_000.0],
        }
    )
    return PlanReport(chosen, chosen.tail(2), frontier, plan_summary(users), options=options)


def campaign(users: list[str], *, greedy_value: float = 83_326.0) -> CampaignPlan:
    """A ``CampaignPlan`` of three creators, for its real ``summary()``."""
    booked = [
        Option(users[0], "photo", 1200.5, 24_000.0, 18_000.0, tier="mid"),
        Option(users[1], "video", 3000.0, 51_000.0, 40_000.0, tier="micro"),
        Option(users[2], "photo", 800.0, 9_500.0, 7_000.0, tier="mid"),
    ]

    def plan(value: float, status: str, **extra: Any) -> Plan:
        return Plan(booked, value, 5000.5, 5000.0, Objective.READS, status, 0.01, **extra)

    return CampaignPlan(
        objective=Objective.READS,
        budget=5000.0,
        rules=PlanRules(),
        options=booked,
        dropped=[],
        optimal=plan(84_500.0, "optimal", proven_optimal=True, gap=0.0),
        robust=plan(65_000.0, "optimal", robust=True, proven_optimal=True, gap=0.0),
        greedy=plan(greedy_value, "greedy"),
        frontier=pl.DataFrame(),
    )


def plan_summary(users: list[str], *, greedy_value: float = 83_326.0) -> dict[str, object]:
    """The summary a report gets from ``pgy plan``: improvement 84,500 / 83,326 - 1 = 1.4 %."""
    return summary_for_report(campaign(users, greedy_value=greedy_value).summary())


def sample_report(
    *, synthetic: bool | None = True, with_plan: bool = True, creators: int = 8
) -> ReportData:
    """A small deterministic report: one hostile tag, one empty scope, one missing percentile."""
    rng = random.Random(SEED)
    users = [_user(i + 1) for i in range(creators)]
    scopes = _scopes(users, rng)
    flags = pl.DataFrame(
        {
            "user_id": [users[1], users[0]],
            "flag": ["empty_scope", "thin_sample"],
            "scope_key": [ANALYSIS_SCOPES[4].key, None],
            "evidence": ["video scope has 0 notes", f"only 3 notes; tag {HOSTILE_TAG}"],
            "severity": ["info", "warn"],
        }
    )
    return ReportData(
        title="测试报告 <b>test</b>",
        generated_at=GENERATED_AT,
        synthetic=synthetic,
        source_label="sandbox (synthetic)" if synthetic else "store",
        scopes=scopes,
        indicators=_indicators(scopes),
        benchmark=_benchmark(users, rng),
        flags=flags,
        plan=_plan(users) if with_plan else None,
        methodology=[("engagement_rate", "interaction_rate", "platform, read-weighted")],
    )


# -- XLSX ----------------------------------------------------------------------------------------


def _header_row(sheet: Any, row: int) -> list[object]:
    return [cell.value for cell in sheet[row]]


@pytest.fixture
def workbook(tmp_path: Path) -> Any:
    path = write_xlsx(sample_report(synthetic=True), tmp_path / "r.xlsx")
    return load_workbook(path)


def test_xlsx_has_one_sheet_per_view_in_order(workbook: Any) -> None:
    # the creators and excluded sheets come only with the marketplace's data (test_marketplace)
    optional = {SHEETS["creators"], SHEETS["excluded"]}
    assert workbook.sheetnames == [name for name in SHEETS.values() if name not in optional]


def test_xlsx_without_plan_has_no_plan_sheets(tmp_path: Path) -> None:
    path = write_xlsx(sample_report(with_plan=False), tmp_path / "r.xlsx")
    names = load_workbook(path).sheetnames
    assert SHEETS["plan"] not in names
    assert SHEETS["frontier"] not in names
    assert names[-1] == SHEETS["methodology"]


def test_every_synthetic_sheet_shows_the_notice_and_freezes_three_rows(workbook: Any) -> None:
    for sheet in workbook.worksheets:
        assert sheet["A1"].value == SYNTHETIC_NOTICE, sheet.title
        assert "合成数据" in sheet["A1"].value
        assert sheet.freeze_panes in {"A4", "B4"}, sheet.title


def test_real_data_sheets_freeze_the_two_header_rows(tmp_path: Path) -> None:
    book = load_workbook(write_xlsx(sample_report(synthetic=False), tmp_path / "r.xlsx"))
    benchmark = book[SHEETS["benchmark"]]
    assert benchmark.freeze_panes == "B3"
    assert _header_row(benchmark, 1)[:2] == ["博主ID", "层级"]
    assert _header_row(benchmark, 2)[:2] == ["user_id", "tier"]
    assert benchmark.auto_filter.ref.startswith("A2:")
    assert all("合成数据" not in str(c.value) for row in benchmark.iter_rows() for c in row)


def test_headers_are_chinese_then_english(workbook: Any) -> None:
    scopes = workbook[SHEETS["scopes"]]
    english = _header_row(scopes, 3)
    assert english == [*COLUMNS, "scope_key"]
    assert _header_row(scopes, 2) == [*(LABELS_ZH[c] for c in COLUMNS), "分析范围"]
    benchmark = workbook[SHEETS["benchmark"]]
    zh, en = _header_row(benchmark, 2), _header_row(benchmark, 3)
    assert zh[en.index("engagement_rate")] == "互动率"
    assert zh[en.index("engagement_rate_pct")] == "互动率百分位"
    assert zh[en.index("score_engagement_rate")] == "互动率得分贡献"
    assert benchmark.auto_filter.ref.startswith("A3:")


def test_cells_are_numbers_with_formats_by_kind(workbook: Any) -> None:
    benchmark = workbook[SHEETS["benchmark"]]
    en = _header_row(benchmark, 3)
    row = list(benchmark[4])
    rate = row[en.index("engagement_rate")]
    assert isinstance(rate.value, float)
    assert 0 <= rate.value <= 1
    assert rate.number_format == "0.0%"
    assert row[en.index("engagement_rate_pct")].number_format == "0.0%"
    followers = row[en.index("followers")]
    assert isinstance(followers.value, int)
    assert followers.number_format == "#,##0"
    assert row[en.index("score")].data_type == "n"
    plan = workbook[SHEETS["plan"]]
    plan_en = _header_row(plan, 3)
    price = plan[4][plan_en.index("price")]
    assert price.value == pytest.approx(1200.5)
    assert price.number_format == "#,##0.00"
    assert plan[5][plan_en.index("flags")].value == "thin_sample"
    for sheet in workbook.worksheets:
        for cells in sheet.iter_rows(min_row=4):
            for cell in cells:
                if isinstance(cell.value, str):
                    assert not re.fullmatch(r"-?[\d,]+(\.\d+)?%?", cell.value), (
                        f"text number {cell.value!r} in {sheet.title}!{cell.coordinate}"
                    )


def test_missing_values_are_empty_cells_never_zero(workbook: Any) -> None:
    benchmark = workbook[SHEETS["benchmark"]]
    en = _header_row(benchmark, 3)
    third_creator = benchmark[6]  # header rows 1-3, creators from row 4
    assert third_creator[en.index("followers")].value is None
    assert third_creator[en.index("search_share_pct")].value is None
    scopes = workbook[SHEETS["scopes"]]
    scope_en = _header_row(scopes, 3)
    empty_reads = [
        row[scope_en.index("read_median")].value
        for row in scopes.iter_rows(min_row=4)
        if row[scope_en.index("note_number")].value == 0
    ]
    assert empty_reads
    assert all(value is None for value in empty_reads)


def test_overview_and_methodology_sheets(workbook: Any) -> None:
    overview = workbook[SHEETS["overview"]]
    assert _header_row(overview, 2) == ["项目", "项目(英文)", "值"]
    values = {row[1].value: row[2] for row in overview.iter_rows(min_row=4)}
    assert values["Title"].value == "测试报告 <b>test</b>"
    assert values["Generated at"].value == "2026-11-27T10:30:00"
    assert values["Creators"].value == 8
    assert values["Budget"].value == 5000.0
    assert values["Budget"].number_format == "#,##0.00"
    assert overview.cell(row=4, column=3).number_format == "@"
    methodology = workbook[SHEETS["methodology"]]
    assert _header_row(methodology, 2) == ["名称", "公式", "说明"]
    assert _header_row(methodology, 4)[0] == "engagement_rate"


SNAKE_CASE = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
"""A Python key name (``improvement_over_greedy``) where a person should read a label."""
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def test_xlsx_overview_labels_every_item_in_both_languages(workbook: Any) -> None:
    overview = workbook[SHEETS["overview"]]
    rows = list(overview.iter_rows(min_row=4))
    assert len(rows) >= 8 + len(plan_summary([_user(i) for i in range(1, 4)]))
    for zh, en, value in rows:
        assert CHINESE.search(zh.value) and not SNAKE_CASE.search(zh.value), zh.value
        assert en.value.isascii() and not SNAKE_CASE.search(en.value), en.value
        assert not isinstance(value.value, bool), (en.value, value.value)
    values = {en.value: value for _, en, value in rows}
    improvement = values["Improvement over greedy"]
    assert improvement.value == pytest.approx(84_500 / 83_326 - 1)
    assert improvement.number_format == "+0.0%;-0.0%;0.0%"
    assert values["Proven optimal"].value == "是 yes"
    assert values["Synthetic data"].value == "是 yes"
    assert values["Plan objective"].value == "阅读 reads"
    assert values["Solver status"].value == "最优 optimal"


def _summary_html(html: str) -> str:
    match = re.search(r'<dl class="overview">(.*?)</dl>', html, re.S)
    assert match, "no overview in the page"
    return match.group(1)


def test_html_summary_is_translated_with_improvement_as_a_percent() -> None:
    summary = _summary_html(render_html(sample_report(synthetic=False)))
    labels = re.findall(r"<dt>(.*?)</dt>", summary, re.S)
    assert len(labels) >= 6 + len(plan_summary([_user(i) for i in range(1, 4)]))
    for label in labels:
        assert CHINESE.search(label) and re.search(r'class="en">[A-Z][^<]+<', label), label
    text = re.sub(r"<[^>]+>", " ", summary)
    assert SNAKE_CASE.findall(text) == []
    assert "True" not in text and "False" not in text
    assert "0.0140" not in text  # the raw fraction
    english = [re.sub(r".*class=\"en\">([^<]+)<.*", r"\1", label, flags=re.S) for label in labels]
    values = dict(zip(english, re.findall(r"<dd>(.*?)</dd>", summary, re.S), strict=True))
    assert values["Improvement over greedy"] == "+1.4%"
    assert values["Proven optimal"] == "是 yes"
    assert values["Synthetic data"] == "否 no"
    assert values["Budget"] == "5,000.00"
    assert values["Plan spend"] == "5,000.50"
    assert values["Creators booked"] == "3"
    assert values["Expected value of the plan"] == "84,500"


def test_improvement_without_a_fair_comparison_says_so() -> None:
    users = [_user(i) for i in range(1, 4)]
    report = sample_report()
    assert report.plan is not None
    summary = plan_summary(users, greedy_value=0.0)  # greedy booked nothing
    plan = replace(report.plan, summary=summary)
    rows = {row.label_en: row.text for row in replace(report, plan=plan).overview_rows()}
    assert rows["Improvement over greedy"] == "不可比 not comparable"


def test_every_plan_summary_item_has_labels() -> None:
    summary = campaign([_user(i) for i in range(1, 4)]).summary()
    assert set(summary) <= set(PLAN_SUMMARY_ITEMS)


@pytest.mark.parametrize(
    ("synthetic", "answer"), [(True, "是 yes"), (False, "否 no"), (None, "未知 unknown")]
)
def test_the_overview_says_whether_the_data_is_synthetic_and_unknown_is_never_no(
    tmp_path: Path, synthetic: bool | None, answer: str
) -> None:
    report = sample_report(synthetic=synthetic)
    book = load_workbook(write_xlsx(report, tmp_path / "r.xlsx"))
    overview = book[SHEETS["overview"]]
    first = 4 if synthetic else 3  # below the synthetic notice row, if any
    values = {row[1].value: row[2].value for row in overview.iter_rows(min_row=first)}
    assert values["Synthetic data"] == answer
    html = render_html(report)
    assert f"<dd>{answer}</dd>" in html
    notice = {True: SYNTHETIC_NOTICE, False: None, None: UNKNOWN_SOURCE_NOTICE}[synthetic]
    assert values.get("Notice") == notice
    if synthetic is None:
        assert UNKNOWN_SOURCE_NOTICE in html and "否 no" not in html
        assert "synthetic-banner" not in html.split("</style>", 1)[1]  # not labelled synthetic
        assert all("合成数据 synthetic" not in str(sheet["A1"].value) for sheet in book.worksheets)


def test_columns_are_sized_to_their_content(workbook: Any) -> None:
    benchmark = workbook[SHEETS["benchmark"]]
    widths = {key: dim.width for key, dim in benchmark.column_dimensions.items()}
    assert widths["A"] >= 24  # a 24-character user id fits
    assert all(8 <= width <= 61 for width in widths.values())


def test_column_labels_fall_back_to_the_english_name() -> None:
    assert column_label("read_median") == "阅读中位数"
    assert column_label("some_new_column") == "some_new_column"


# -- HTML ----------------------------------------------------------------------------------------


def _chart(html: str, name: str) -> str:
    match = re.search(rf'<svg data-chart="{name}".*?</svg>', html, re.DOTALL)
    assert match, f"chart {name} missing"
    return match.group(0)


def test_html_is_offline_and_has_the_four_charts_with_marks() -> None:
    report = sample_report()
    html = render_html(report)
    assert "http://" not in html
    assert "https://" not in html
    assert not re.search(r"<(link|img|iframe)\b", html)
    assert not re.search(r"<script[^>]+src=", html)
    assert '<meta charset="utf-8">' in html
    for name in ("quadrant", "percentiles", "heatmap", "frontier"):
        svg = _chart(html, name)
        assert "<title>" in svg
        assert svg.count('class="mark"') > 0, name
        assert "xmlns" not in svg
    assert "千次阅读成本" in _chart(html, "quadrant")  # the plan's options give prices
    assert _chart(html, "frontier").count('class="mark"') == 12  # 3 series x 4 budgets
    top = report.benchmark.sort("score", descending=True).head(PERCENTILE_MAX_CREATORS)
    percentiles = top.select(f"{name}_pct" for name in INDICATOR_NAMES)
    expected = percentiles.height * percentiles.width - sum(percentiles.null_count().row(0))
    assert _chart(html, "percentiles").count('class="mark"') == expected  # missing: no dot
    # Every mark's tooltip is its <title>: a quadrant point names its creator and both values.
    point = re.search(r'class="mark"><title>([^<]*)</title>', _chart(html, "quadrant"))
    assert point is not None
    assert "互动率 engagement_rate:" in point.group(1)
    assert "千次阅读成本" in point.group(1)


def test_html_escapes_a_hostile_creator_tag() -> None:
    html = render_html(sample_report())
    assert HOSTILE_TAG not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>test</b>" not in html
    assert html.count("<script") == 1  # only the sort script of the template


def test_html_marks_synthetic_reports_everywhere() -> None:
    html = render_html(sample_report(synthetic=True))
    assert 'class="synthetic-banner"' in html
    assert html.count(">合成数据 SYNTHETIC</text>") == 4  # each chart's subtitle
    assert html.count('<span class="synthetic">') == 4
    real = render_html(sample_report(synthetic=False))
    assert SYNTHETIC_NOTICE not in real
    body = real.split("</style>", 1)[1]
    assert "synthetic-banner" not in body
    assert "SYNTHETIC" not in body


def test_html_without_a_plan_says_so_and_reads_on_a_log_scale() -> None:
    html = render_html(sample_report(with_plan=False))
    assert 'data-chart="frontier"' not in html
    assert "no plan in this report" in html
    assert "log scale" in _chart(html, "quadrant")


def test_heatmap_marks_missing_cells_and_caps_rows() -> None:
    html = render_html(sample_report(creators=HEATMAP_MAX_CREATORS + 5, with_plan=False))
    heatmap = _chart(html, "heatmap")
    missing = heatmap.count('class="missing"')
    assert missing == 2  # the empty VIDEO scopes of the second creator
    assert heatmap.count(">—</text>") == missing
    assert heatmap.count("缺失 missing</title>") == missing
    assert heatmap.count('class="mark"') == HEATMAP_MAX_CREATORS * len(ANALYSIS_SCOPES) - missing
    assert f"of {HEATMAP_MAX_CREATORS + 5} creators" in html


def test_frontier_breaks_the_line_where_no_plan_meets_the_rules() -> None:
    report = sample_report()
    assert report.plan is not None
    frontier = report.plan.frontier.with_columns(
        optimal_value=pl.when(pl.col("budget") == 2000.0).then(None).otherwise("optimal_value")
    )
    plan = PlanReport(
        report.plan.plan_table, report.plan.greedy_table, frontier, report.plan.summary
    )
    html = render_html(replace(report, plan=plan))
    svg = _chart(html, "frontier")
    lines = re.findall(r'class="mark-line role-mark[^"]*"[^>]*><path d="([^"]*)"', svg)
    # optimal in two runs (a path with two moves), greedy and robust in one each
    assert sorted(line.count("M") for line in lines) == [1, 1, 2]
    assert svg.count('class="mark"') == 11


def test_heatmap_can_show_engagement_rate() -> None:
    html = render_html(sample_report(), heatmap_metric="engagement_rate")
    assert "engagement_rate" in _chart(html, "heatmap")
    with pytest.raises(ValueError, match="heatmap_metric"):
        render_html(sample_report(), heatmap_metric="nope")


def test_write_report_writes_both_files(tmp_path: Path) -> None:
    paths = write_report(sample_report(), tmp_path / "out" / "nested")
    assert [p.name for p in paths] == ["report.xlsx", "report.html"]
    assert all(p.stat().st_size > 0 for p in paths)
    html = paths[1].read_text(encoding="utf-8")
    assert "基准 Benchmark" in html


def test_empty_frames_still_render(tmp_path: Path) -> None:
    report = sample_report(with_plan=False)
    empty = ReportData(
        title="空 empty",
        generated_at="2026-11-27T00:00:00",
        synthetic=False,
        source_label="none",
        scopes=report.scopes.clear(),
        indicators=report.indicators.clear(),
        benchmark=report.benchmark.clear(),
        flags=report.flags.clear(),
    )
    html = write_html(empty, tmp_path / "e.html").read_text(encoding="utf-8")
    assert 'data-chart="quadrant"' in html
    assert "no plan in this report" in html
    book = load_workbook(write_xlsx(empty, tmp_path / "e.xlsx"))
    assert _header_row(book[SHEETS["flags"]], 1) == ["博主ID", "风险", "分析范围", "依据", "级别"]


def test_template_is_package_data() -> None:
    from importlib import resources

    from pgy_metrics.analytics.reports.html import TEMPLATE

    template = resources.files("pgy_metrics.analytics.reports").joinpath(TEMPLATE)
    assert template.is_file()
    assert HEADLINE_SCOPE.key  # the charts key rows by scope key
