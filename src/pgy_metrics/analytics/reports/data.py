"""What a report holds, and how each of its columns is labelled and formatted.

``ReportData`` is the one object both writers (XLSX and HTML) read, so the two files can never
disagree about what was analysed. The frames inside are produced by the other analytics modules
(tables, indicators, cohorts/flags, planner); this module only knows their column *names*, as
pinned in ``docs/analytics-interfaces.md``, and turns each name into a Chinese label and a cell
kind. Anything it does not know falls back to the English name and the frame's dtype, so a new
column shows up in the report instead of breaking it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from pgy_metrics.contract.columns import COLUMN_KINDS, LABELS_ZH, ColumnKind
from pgy_metrics.figures import FigureKind, format_figure

__all__ = [
    "INDICATOR_LABELS_ZH",
    "PLAN_SUMMARY_ITEMS",
    "SYNTHETIC_NOTICE",
    "UNKNOWN_SOURCE_NOTICE",
    "CellKind",
    "PlanReport",
    "ReportData",
    "SummaryRow",
    "column_kind",
    "column_label",
    "format_value",
]

SYNTHETIC_NOTICE = (
    "合成数据 synthetic data: 非真实博主数据, 仅供演示 (not real creators, demo only)"
)
"""Shown on every sheet, above every chart and in the HTML banner of a synthetic report."""

UNKNOWN_SOURCE_NOTICE = (
    "数据来源未知 source unknown: 输入未记录数据来源, 可能是合成数据 "
    "(the input does not say where its data came from; it may be synthetic)"
)
"""Shown on the overview of a report whose input does not say where (some of) its data came
from, e.g. an export written before exports had a ``source`` column: never "not synthetic"."""

SYNTHETIC_ANSWERS: dict[bool | None, str] = {True: "是 yes", False: "否 no", None: "未知 unknown"}
"""The overview's 合成数据 value for each answer of ``ReportData.synthetic``."""


CellKind = FigureKind
"""How a value is shown: the XLSX number format and the HTML text (``pgy_metrics.figures``, the
same rules as the ``pgy`` tables)."""


XLSX_NUMBER_FORMATS: dict[CellKind, str] = {
    CellKind.TEXT: "@",
    CellKind.INTEGER: "#,##0",
    CellKind.FRACTION: "0.0%",
    CellKind.CHANGE: "+0.0%;-0.0%;0.0%",
    CellKind.MONEY: "#,##0.00",
    CellKind.NUMBER: "#,##0.0",
}

INDICATOR_LABELS_ZH: dict[str, str] = {
    "click_through": "点击率(阅读/曝光)",
    "engagement_rate": "互动率",
    "engagement_rate_median": "互动中位数/阅读中位数",
    "hundred_like_ratio": "百赞笔记比例",
    "hundred_like_low": "百赞比例95%下限",
    "hundred_like_high": "百赞比例95%上限",
    "thousand_like_ratio": "千赞笔记比例",
    "thousand_like_low": "千赞比例95%下限",
    "thousand_like_high": "千赞比例95%上限",
    "sponsored_decay": "合作笔记阅读保持率",
    "paid_boost_dependence": "付费加热依赖度",
    "momentum": "近30天势头",
    "format_fit": "视频相对图文适配度",
    "search_share": "搜索阅读占比",
    "evergreen_share": "长尾阅读占比",
    "follow_conversion": "涨粉转化率",
}
"""The indicator columns of ``indicators_frame`` (all 0-1 or signed relative: FRACTION)."""

_REPORT_COLUMNS: dict[str, tuple[str, CellKind]] = {
    # keys and identity
    "scope_key": ("分析范围", CellKind.TEXT),
    "tier": ("层级", CellKind.TEXT),
    "tier_source": ("层级依据", CellKind.TEXT),
    "content_tag": ("内容类目", CellKind.TEXT),
    "followers": ("粉丝数", CellKind.INTEGER),
    # benchmark
    "score": ("综合得分", CellKind.NUMBER),
    "flag_count": ("风险数", CellKind.INTEGER),
    # flags
    "flag": ("风险", CellKind.TEXT),
    "evidence": ("依据", CellKind.TEXT),
    "severity": ("级别", CellKind.TEXT),
    # plan, greedy, frontier
    "format": ("形式", CellKind.TEXT),
    "price": ("报价", CellKind.MONEY),
    "price_photo": ("图文报价", CellKind.MONEY),
    "price_video": ("视频报价", CellKind.MONEY),
    "price_per_thousand_reads": ("千次阅读成本", CellKind.MONEY),
    "value": ("预期价值", CellKind.INTEGER),
    "robust_value": ("稳健价值(P20)", CellKind.INTEGER),
    "value_per_1k_price": ("每千元预期价值", CellKind.INTEGER),
    "flags": ("风险标记", CellKind.TEXT),
    "basis": ("估算依据", CellKind.TEXT),
    "budget": ("预算", CellKind.MONEY),
    "spend": ("花费", CellKind.MONEY),
    "optimal_value": ("最优方案价值", CellKind.INTEGER),
    "greedy_value": ("贪心方案价值", CellKind.INTEGER),
    "objective": ("目标", CellKind.TEXT),
    "status": ("求解状态", CellKind.TEXT),
    "gap": ("MIP相对间隙", CellKind.FRACTION),
    "solve_seconds": ("求解秒数", CellKind.NUMBER),
    "proven_optimal": ("已证明最优", CellKind.TEXT),
    "unmet": ("未满足规则", CellKind.TEXT),
    "reason": ("原因", CellKind.TEXT),
    "price_source": ("报价来源", CellKind.TEXT),
    "price_photo_source": ("图文报价来源", CellKind.TEXT),
    "price_video_source": ("视频报价来源", CellKind.TEXT),
    "agency": ("机构", CellKind.TEXT),
    "tags": ("标签", CellKind.TEXT),
    "follower_momentum": ("粉丝增长(近30天)", CellKind.CHANGE),
    "cost_per_read": ("单次阅读成本", CellKind.MONEY),
    "cost_per_engagement": ("单次互动成本", CellKind.MONEY),
    "cpm": ("千次曝光成本", CellKind.MONEY),
    "platform_cpm": ("平台预估CPM", CellKind.MONEY),
    "cpm_gap": ("CPM差异", CellKind.CHANGE),
    "platform_cpe": ("平台预估CPE", CellKind.MONEY),
    "cpe_gap": ("CPE差异", CellKind.CHANGE),
    "estimate_gap_flag": ("与平台预估差异>10%", CellKind.TEXT),
    "audience_gender": ("目标性别粉丝占比", CellKind.FRACTION),
    "audience_ages": ("目标年龄粉丝占比", CellKind.FRACTION),
    "audience_cities": ("目标城市粉丝占比", CellKind.FRACTION),
    "indicators_available": ("可用指标数", CellKind.INTEGER),
    # overview and methodology sheets
    "field": ("项目", CellKind.TEXT),
    "name": ("名称", CellKind.TEXT),
    "formula": ("公式", CellKind.TEXT),
    "note": ("说明", CellKind.TEXT),
}
"""Columns of the benchmark, flags and plan frames that are not tidy columns or indicators."""

_PCT_SUFFIXES: dict[str, str] = {
    "_pct_tier": "同层级百分位",
    "_pct_tag": "同类目百分位",
    "_pct": "百分位",
}
"""Benchmark percentile columns ``<indicator>_pct*``: the longest suffix is checked first."""

_OVERVIEW_ITEMS: dict[str, tuple[str, str, CellKind]] = {
    "title": ("标题", "Title", CellKind.TEXT),
    "notice": ("提示", "Notice", CellKind.TEXT),
    "source": ("数据来源", "Data source", CellKind.TEXT),
    "generated_at": ("生成时间", "Generated at", CellKind.TEXT),
    "synthetic": ("合成数据", "Synthetic data", CellKind.TEXT),
    "creators": ("博主数", "Creators", CellKind.INTEGER),
    "scope_rows": ("范围数据行数", "Scope rows", CellKind.INTEGER),
    "flags": ("风险条数", "Risk flags", CellKind.INTEGER),
}
"""The report's own overview items: (中文, English, kind)."""

PLAN_SUMMARY_ITEMS: dict[str, tuple[str, str, CellKind]] = {
    "objective": ("方案目标", "Plan objective", CellKind.TEXT),
    "budget": ("预算", "Budget", CellKind.MONEY),
    "spend": ("方案花费", "Plan spend", CellKind.MONEY),
    "creators": ("入选博主数", "Creators booked", CellKind.INTEGER),
    "value": ("方案预期价值", "Expected value of the plan", CellKind.INTEGER),
    "status": ("求解状态", "Solver status", CellKind.TEXT),
    "proven_optimal": ("已证明最优", "Proven optimal", CellKind.TEXT),
    "robust_value": ("稳健方案价值(P20)", "Robust plan value (P20)", CellKind.INTEGER),
    "greedy_value": ("贪心方案价值", "Greedy plan value", CellKind.INTEGER),
    "greedy_unmet": ("贪心方案未满足的规则", "Rules the greedy plan misses", CellKind.TEXT),
    "improvement_over_greedy": ("相对贪心方案的提升", "Improvement over greedy", CellKind.CHANGE),
    "candidates_valued": ("已估值候选博主数", "Candidates valued", CellKind.INTEGER),
    "formats_dropped": ("无法估值的博主形式数", "Creator formats not valued", CellKind.INTEGER),
    "creators_excluded": ("排除的博主数", "Creators excluded", CellKind.INTEGER),
    "audience_gender": ("方案目标性别占比", "Plan audience: target gender", CellKind.FRACTION),
    "audience_ages": ("方案目标年龄占比", "Plan audience: target ages", CellKind.FRACTION),
    "audience_cities": ("方案目标城市占比", "Plan audience: target cities", CellKind.FRACTION),
}
"""The plan summary's items (``CampaignPlan.summary()`` keys): (中文, English, kind). A key not
here is labelled as a report column, or with its own name."""

SUMMARY_VALUES: dict[str, dict[str, str]] = {
    "objective": {
        "reads": "阅读 reads",
        "interactions": "互动 interactions",
        "impressions": "曝光 impressions",
        "follows": "涨粉 follows",
    },
    "status": {
        "optimal": "最优 optimal",
        "time_limit": "达到时间上限 time limit reached",
    },
}
"""Text values of the plan summary, in both languages (an unknown value is shown as it is)."""

NOT_COMPARABLE = "不可比 not comparable"
"""The improvement over greedy when greedy booked nothing or missed a rule."""


_TIDY_KINDS = {
    ColumnKind.TEXT: CellKind.TEXT,
    ColumnKind.INTEGER: CellKind.INTEGER,
    ColumnKind.FRACTION: CellKind.FRACTION,
}


def _base_label(column: str) -> str:
    if column in INDICATOR_LABELS_ZH:
        return INDICATOR_LABELS_ZH[column]
    if column in _REPORT_COLUMNS:
        return _REPORT_COLUMNS[column][0]
    return LABELS_ZH.get(column, column)


def column_label(column: str) -> str:
    """The Chinese header of ``column``; the English name when there is no label."""
    if column in INDICATOR_LABELS_ZH or column in _REPORT_COLUMNS or column in LABELS_ZH:
        return _base_label(column)
    for suffix, word in _PCT_SUFFIXES.items():
        if column.endswith(suffix):
            return f"{_base_label(column.removesuffix(suffix))}{word}"
    if column.startswith("score_"):
        return f"{_base_label(column.removeprefix('score_'))}得分贡献"
    return column


def column_kind(column: str, dtype: pl.DataType | None = None) -> CellKind:
    """How ``column`` is formatted: by name first, then by the frame's dtype."""
    if column in INDICATOR_LABELS_ZH:
        return CellKind.FRACTION
    if column in _REPORT_COLUMNS:
        return _REPORT_COLUMNS[column][1]
    if column in COLUMN_KINDS:
        return _TIDY_KINDS[COLUMN_KINDS[column]]
    if column.endswith(tuple(_PCT_SUFFIXES)):
        return CellKind.FRACTION
    if column.startswith("score_"):
        return CellKind.NUMBER
    if column.startswith("price_"):
        return CellKind.MONEY
    if dtype is not None and dtype.is_integer():
        return CellKind.INTEGER
    if dtype is not None and dtype.is_float():
        return CellKind.NUMBER
    return CellKind.TEXT


def format_value(value: object, kind: CellKind) -> str:
    """Text for an HTML cell or chart label; missing values are an em dash, never 0, and a
    yes/no is "是 yes" / "否 no" (``pgy_metrics.figures.format_figure``)."""
    return format_figure(value, kind)


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """One item of the overview (the XLSX overview sheet, the HTML header): its key (for code,
    never shown), its label in Chinese and English, its value and how the value is written."""

    key: str
    label_zh: str
    label_en: str
    kind: CellKind
    value: object

    @property
    def text(self) -> str:
        """The value as a person reads it: ``+1.4%``, ``是 yes``, ``50,000.00``."""
        if self.key == "plan.improvement_over_greedy" and self.value is None:
            return NOT_COMPARABLE
        return format_value(self.value, self.kind)


def _plan_row(key: str, value: object) -> SummaryRow:
    """A plan summary item; a key without a label of its own is labelled as a report column."""
    zh, en, kind = PLAN_SUMMARY_ITEMS.get(key) or (
        f"方案{column_label(key)}",
        f"Plan {key.replace('_', ' ')}",
        column_kind(key),
    )
    if isinstance(value, str):
        value = SUMMARY_VALUES.get(key, {}).get(value, value)
    elif kind is CellKind.TEXT and isinstance(value, int | float) and not isinstance(value, bool):
        kind = CellKind.NUMBER
    return SummaryRow(f"plan.{key}", zh, en, kind, value)


@dataclass(frozen=True, slots=True)
class PlanReport:
    """A campaign plan and what it is compared with.

    ``plan_table`` and ``greedy_table`` are ``Plan.frame()`` of the optimal and the greedy plan;
    ``frontier`` has ``budget, optimal_value, greedy_value, robust_value``; ``summary`` holds the
    headline figures (objective, budget, spend, value, status...) shown on the overview.
    ``options`` (optional, beyond the interfaces doc) is every creator x format the planner
    priced: with it the cost/engagement chart can place the whole pool by price, not only the
    creators a plan chose.
    """

    plan_table: pl.DataFrame
    greedy_table: pl.DataFrame
    frontier: pl.DataFrame
    summary: Mapping[str, object] = field(default_factory=dict)
    options: pl.DataFrame | None = None
    excluded: pl.DataFrame | None = None
    """``user_id, format, reason``: creators (format empty) and formats left out before
    planning, e.g. no price or not accepting orders (``marketplace.Exclusion``)."""


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything one report shows; both writers read only this.

    ``scopes`` is the tidy frame (``COLUMNS`` + ``scope_key``), ``indicators`` the indicators
    frame, ``benchmark`` one row per creator, ``flags`` one row per risk flag. ``synthetic``
    True marks every sheet and figure as synthetic data so a demo can never pass for a real pool;
    None says the input does not tell (the overview says "unknown", never "no"); False: real.
    ``methodology`` rows are ``(name, formula, note)``.
    """

    title: str
    generated_at: datetime | str
    synthetic: bool | None
    source_label: str
    scopes: pl.DataFrame
    indicators: pl.DataFrame
    benchmark: pl.DataFrame
    flags: pl.DataFrame
    plan: PlanReport | None = None
    methodology: list[tuple[str, str, str]] = field(default_factory=list)
    creators: pl.DataFrame | None = None
    """The creators' marketplace facts (``marketplace.MARKET_SCHEMA``): prices and where each
    came from (``file`` or ``profile``), followers, agency, tags, follower momentum."""

    @property
    def generated_text(self) -> str:
        """``generated_at`` as ISO 8601 text (seconds), whatever type it was given as."""
        if isinstance(self.generated_at, datetime):
            return self.generated_at.isoformat(timespec="seconds")
        return self.generated_at

    def overview_rows(self) -> list[SummaryRow]:
        """The overview: the XLSX overview sheet and the HTML header, in this order."""
        items: list[tuple[str, object]] = [
            ("title", self.title),
            ("source", self.source_label),
            ("generated_at", self.generated_text),
            ("synthetic", SYNTHETIC_ANSWERS[self.synthetic]),
            ("creators", self.benchmark.height),
            ("scope_rows", self.scopes.height),
            ("flags", self.flags.height),
        ]
        if self.synthetic:
            items.insert(1, ("notice", SYNTHETIC_NOTICE))
        elif self.synthetic is None:
            items.insert(1, ("notice", UNKNOWN_SOURCE_NOTICE))
        rows = [SummaryRow(key, *_OVERVIEW_ITEMS[key], value) for key, value in items]
        if self.plan is not None:
            rows += [_plan_row(key, value) for key, value in self.plan.summary.items()]
        return rows
