"""One analysis, end to end: tables -> indicators -> flags -> benchmark, then a plan, then a report.

The CLI commands (``pgy report``, ``pgy plan``, ``pgy demo``) and library users share these steps
so that a report made by hand in a notebook and one made by the CLI are the same report. Each
step is a function of the one before; nothing here computes a figure itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl

from pgy_metrics.analytics.cohorts import benchmark_frame
from pgy_metrics.analytics.costs import cost_frame
from pgy_metrics.analytics.estimates import Dropped, estimate_options
from pgy_metrics.analytics.flags import flags_frame
from pgy_metrics.analytics.indicators import INDICATORS, indicators_frame
from pgy_metrics.analytics.marketplace import Exclusion, Marketplace, exclusions_frame
from pgy_metrics.analytics.planner import (
    DEFAULT_TIME_LIMIT_SECONDS,
    Objective,
    Option,
    Plan,
    PlanError,
    PlanRules,
    audience_unknown,
    frontier,
    greedy,
    options_frame,
    solve,
)
from pgy_metrics.analytics.reports import PlanReport, ReportData
from pgy_metrics.analytics.settings import AnalyticsSettings
from pgy_metrics.analytics.tables import Tables

__all__ = [
    "FRONTIER_FRACTIONS",
    "Analysis",
    "CampaignPlan",
    "analyse",
    "methodology",
    "plan_campaign",
    "report_data",
    "summary_for_report",
]

FRONTIER_FRACTIONS: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
"""Budgets of the frontier, as fractions of the plan's budget: what less or more would buy."""


class NoCandidates(PlanError):
    """No candidate could be valued from the data (none fetched, or no notes in any scope)."""


@dataclass(frozen=True)
class Analysis:
    """A pool of creators analysed: the tables and every frame derived from them."""

    tables: Tables
    indicators: pl.DataFrame
    flags: pl.DataFrame
    benchmark: pl.DataFrame
    settings: AnalyticsSettings


def analyse(
    tables: Tables,
    *,
    settings: AnalyticsSettings | None = None,
    followers: pl.DataFrame | None = None,
) -> Analysis:
    """Indicators, risk flags and the pool benchmark of the latest collection of each scope.

    ``followers`` (``user_id``, ``followers``) sets tiers by follower count; without it tiers
    come from read-median bands (a proxy; see docs/benchmarking.md).
    """
    settings = settings or AnalyticsSettings()
    latest = tables.latest()
    indicators = indicators_frame(latest.scopes)
    flags = flags_frame(latest, indicators, settings=settings)
    benchmark = benchmark_frame(indicators, settings=settings, followers=followers, flags=flags)
    return Analysis(latest, indicators, flags, benchmark, settings)


@dataclass(frozen=True)
class CampaignPlan:
    """The optimal plan, its robust twin, the greedy baseline and the budget frontier."""

    objective: Objective
    budget: float
    rules: PlanRules
    options: list[Option]
    dropped: list[Dropped]
    optimal: Plan
    robust: Plan
    greedy: Plan
    frontier: pl.DataFrame
    notes: list[str] = field(default_factory=list)
    excluded: list[Exclusion] = field(default_factory=list)
    """Creators and formats left out before planning (no price, not accepting orders, no
    fans profile for an audience target), each with its reason."""
    marketplace: Marketplace | None = None
    costs: pl.DataFrame | None = None
    """``costs.COST_SCHEMA`` for every option: cost per read / engagement, platform estimates."""

    def plan_table(self) -> pl.DataFrame:
        """The optimal plan's rows, with where each price came from and what it costs per read
        and engagement beside the platform's estimate (when the plan used the marketplace)."""
        return self._with_details(self.optimal.frame())

    def greedy_table(self) -> pl.DataFrame:
        return self._with_details(self.greedy.frame())

    def _with_details(self, frame: pl.DataFrame) -> pl.DataFrame:
        if self.marketplace is None:
            return frame
        market = self.marketplace.candidates
        sources = pl.concat(
            [
                market.select(
                    "user_id",
                    pl.lit(fmt).alias("format"),
                    pl.col(f"price_{fmt}_source").alias("price_source"),
                )
                for fmt in ("photo", "video")
            ]
        )
        extra = market.select("user_id", "followers", "agency", "follower_momentum")
        frame = frame.join(sources, on=["user_id", "format"], how="left").join(
            extra, on="user_id", how="left"
        )
        if self.costs is not None:
            frame = frame.join(self.costs.drop("price"), on=["user_id", "format"], how="left")
        audience = self.rules.audience
        if audience is not None:
            shares = {o.user_id: audience.shares(o.audience) for o in self.options}
            for dimension in audience.dimensions():
                column = f"audience_{dimension}"
                values = [shares.get(u, {}).get(dimension) for u in frame["user_id"].to_list()]
                frame = frame.with_columns(pl.Series(column, values, dtype=pl.Float64))
        return frame

    @property
    def improvement(self) -> float | None:
        """How much more the optimum delivers than greedy, as a fraction (None when greedy
        booked nothing or missed a rule, so there is no fair comparison)."""
        if self.greedy.unmet or self.greedy.value <= 0:
            return None
        return self.optimal.value / self.greedy.value - 1

    def summary(self) -> dict[str, object]:
        """The headline figures, in the order a reader wants them."""
        improvement = self.improvement
        return {
            "objective": self.objective.value,
            "budget": self.budget,
            "spend": self.optimal.spend,
            "creators": len(self.optimal.chosen),
            "value": self.optimal.value,
            "status": self.optimal.status,
            "proven_optimal": self.optimal.proven_optimal,
            "robust_value": self.robust.value,
            "greedy_value": self.greedy.value,
            "greedy_unmet": ", ".join(self.greedy.unmet) or None,
            "improvement_over_greedy": improvement,
            "candidates_valued": len({option.user_id for option in self.options}),
            "formats_dropped": len(self.dropped),
            **(
                {"creators_excluded": len({e.user_id for e in self.excluded if e.format is None})}
                if self.marketplace is not None or self.excluded
                else {}
            ),
            **{f"audience_{d}": share for d, share in self.optimal.audience.items()},
        }


def plan_campaign(
    analysis: Analysis,
    candidates: pl.DataFrame,
    *,
    budget: float,
    objective: Objective | str,
    rules: PlanRules | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT_SECONDS,
    marketplace: Marketplace | None = None,
) -> CampaignPlan:
    """Value the candidates from the analysis, then solve, solve robustly, run greedy and trace
    the frontier. Raises ``Infeasible`` (naming the rule to relax) or ``PlanError``.

    With ``marketplace`` (``marketplace.complete_candidates``) its completed candidates are
    planned instead of ``candidates``, each option carries its creator's audience, and the plan
    lists the exclusions and the costs beside the platform's estimates."""
    objective = Objective(objective)
    rules = rules or PlanRules()
    tiers = analysis.benchmark.select("user_id", "tier")
    if marketplace is not None:
        candidates = marketplace.candidates
    estimates = estimate_options(
        candidates, analysis.tables, objective=objective, flags=analysis.flags, tiers=tiers
    )
    options = list(estimates)
    excluded = list(marketplace.excluded) if marketplace is not None else []
    if marketplace is not None:
        options = [
            dataclasses.replace(o, audience=marketplace.audiences.get(o.user_id)) for o in options
        ]
    unknown = audience_unknown(options, rules)
    if unknown:
        excluded += [
            Exclusion(u, None, "no fans profile with the shares the audience target needs")
            for u in unknown
        ]
        options = [o for o in options if o.user_id not in set(unknown)]
    if not options:
        reasons = "; ".join(str(d) for d in [*estimates.dropped, *excluded][:5]) or "no candidates"
        raise NoCandidates(f"no candidate could be valued for {objective.value}: {reasons}")
    optimal = solve(options, budget=budget, rules=rules, objective=objective, time_limit=time_limit)
    robust = solve(
        options,
        budget=budget,
        rules=rules,
        robust=True,
        objective=objective,
        time_limit=time_limit,
    )
    baseline = greedy(options, budget=budget, rules=rules, objective=objective)
    budgets = [budget * fraction for fraction in FRONTIER_FRACTIONS]
    curve = frontier(options, budgets=budgets, rules=rules, time_limit=time_limit)
    return CampaignPlan(
        objective=objective,
        budget=budget,
        rules=rules,
        options=options,
        dropped=list(estimates.dropped),
        optimal=optimal,
        robust=robust,
        greedy=baseline,
        frontier=curve,
        excluded=excluded,
        marketplace=marketplace,
        costs=(
            cost_frame(options, analysis.tables.scopes, marketplace.estimates)
            if marketplace is not None
            else None
        ),
    )


def methodology(plan: CampaignPlan | None = None) -> list[tuple[str, str, str]]:
    """The (name, formula, note) rows of the report's methodology sheet; docs/metrics.md has the
    full text of each."""
    rows = [(spec.name, spec.formula, f"{spec.label_en} / {spec.label_zh}") for spec in INDICATORS]
    rows += [
        (
            "<indicator>_pct",
            "mid-rank percentile within the pool, ties averaged; 1 = best",
            "also within tier (_pct_tier) and content tag (_pct_tag); docs/benchmarking.md",
        ),
        (
            "score",
            "100 x sum(w_i x pct_i) / sum(w_i) over the indicators available",
            "weights from the analytics settings file; score_<indicator> are the parts",
        ),
        (
            "flags",
            "thin_sample, empty_scope, paid_boost_heavy, sponsored_collapse, one_hit_wonder, "
            "outlier_click_through",
            "each with the evidence that raised it; thresholds in the settings file",
        ),
        (
            "missing",
            "null in, null out",
            "an empty scope, a missing input or a zero denominator gives an empty cell, never 0",
        ),
    ]
    if plan is not None:
        rows += [
            (
                "plan",
                "max sum(value x booked) s.t. sum(price x booked) <= budget and the rules",
                f"0-1 programme solved by HiGHS to a proven optimum (gap 0); objective "
                f"{plan.objective.value}; docs/planner.md",
            ),
            (
                "robust plan",
                "the same programme on robust_value = P20 of a bootstrap of the median",
                "a pessimistic estimate over the creator's notes and scopes",
            ),
            (
                "greedy",
                "book by value / price, best first, while budget and rules allow",
                "the by-hand baseline; improvement = optimal / greedy - 1",
            ),
        ]
    return rows


def report_data(
    analysis: Analysis,
    *,
    title: str,
    source_label: str,
    synthetic: bool | None,
    generated_at: datetime,
    plan: CampaignPlan | None = None,
    creators: pl.DataFrame | None = None,
) -> ReportData:
    """Everything a report shows, from one analysis (and optionally one plan). ``creators``
    (``marketplace.MARKET_SCHEMA``) adds the creators sheet: prices and where each came from;
    a plan made with the marketplace brings its own."""
    plan_report = None
    if plan is not None:
        plan_report = PlanReport(
            plan_table=plan.plan_table(),
            greedy_table=plan.greedy_table(),
            frontier=plan.frontier,
            summary=summary_for_report(plan.summary()),
            options=options_frame(plan.options),
            excluded=(
                exclusions_frame(plan.excluded)
                if plan.marketplace is not None or plan.excluded
                else None
            ),
        )
        if creators is None and plan.marketplace is not None:
            creators = plan.marketplace.candidates
    return ReportData(
        title=title,
        generated_at=generated_at,
        synthetic=synthetic,
        source_label=source_label,
        scopes=analysis.tables.scopes,
        indicators=analysis.indicators,
        benchmark=analysis.benchmark,
        flags=analysis.flags,
        plan=plan_report,
        methodology=methodology(plan),
        creators=creators,
    )


def summary_for_report(summary: Mapping[str, object]) -> dict[str, object]:
    """The summary without its empty items; the improvement over greedy stays when it is None,
    so the report says it is not comparable instead of leaving it out."""
    return {
        key: value
        for key, value in summary.items()
        if value is not None or key == "improvement_over_greedy"
    }
