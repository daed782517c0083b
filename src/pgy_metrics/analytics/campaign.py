"""A campaign plan from data already in hand: the steps ``pgy plan`` and the console's plan page
share, so that both plan the same candidates the same way and write the same workbook.

``pgy plan`` reads its pool from a file or a store and its sibling answers from the store or the
API; the console reads both from the snapshots its holder has paid for. From there on the steps
are these: complete the candidates from the creator profiles (the candidates' own prices win),
analyse the pool with the candidates' followers (tiers), plan, and lay the plan out in the report
workbook (``reports.write_xlsx``, the file ``pgy plan`` writes as ``report.xlsx``).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from pgy_metrics.analytics.analysis import Analysis, CampaignPlan, analyse, plan_campaign
from pgy_metrics.analytics.analysis import report_data as build_report_data
from pgy_metrics.analytics.candidates import CANDIDATE_SCHEMA, RulesError
from pgy_metrics.analytics.marketplace import Marketplace, SiblingAnswers, complete_candidates
from pgy_metrics.analytics.objectives import Objective
from pgy_metrics.analytics.planner import DEFAULT_TIME_LIMIT_SECONDS, PlanRules
from pgy_metrics.analytics.reports import write_xlsx
from pgy_metrics.analytics.settings import AnalyticsSettings
from pgy_metrics.analytics.tables import ScopeRecord, Tables, notes_frame, scopes_frame
from pgy_metrics.contract.params import Scope
from pgy_metrics.store.snapshots import Snapshot

__all__ = [
    "AUDIENCE_NEEDS_PROFILES",
    "candidates_of",
    "followers_of",
    "plan_from_answers",
    "plan_workbook",
    "tables_of_snapshots",
]

AUDIENCE_NEEDS_PROFILES = (
    "audience: the target needs the candidates' fans profiles, and none of them has one "
    "(look the creators up first, or plan without an audience target)"
)


def followers_of(creators: pl.DataFrame | None) -> pl.DataFrame | None:
    """``user_id``, ``followers`` of the creators whose follower count is known (tiers by
    followers), or None when none is."""
    if creators is None or "followers" not in creators.columns:
        return None
    known = creators.select("user_id", "followers").drop_nulls("followers")
    return known if known.height else None


def candidates_of(user_ids: Sequence[str]) -> pl.DataFrame:
    """A candidates frame (``CANDIDATE_SCHEMA``) of bare ids: prices, followers and tags come
    from the creator profiles (``complete_candidates``); ``line`` is the id's position, from 1."""
    rows = [
        {
            name: (user_id if name == "user_id" else line if name == "line" else None)
            for name in CANDIDATE_SCHEMA
        }
        for line, user_id in enumerate(user_ids, start=1)
    ]
    return pl.DataFrame(rows, schema=CANDIDATE_SCHEMA, orient="row")


def tables_of_snapshots(snapshots: Iterable[Snapshot]) -> Tables:
    """The analytics tables of stored notes-rate snapshots (each names its scope and source)."""
    records = [
        ScopeRecord(
            snapshot.user_id,
            Scope.from_key(snapshot.params_key),
            snapshot.collected_at.isoformat(),
            _data(snapshot.payload),
            f"snapshot {snapshot.id}",
            snapshot.source,
        )
        for snapshot in snapshots
    ]
    return Tables(scopes=scopes_frame(records), notes=notes_frame(records))


def _data(payload: str) -> Mapping[str, Any] | None:
    data = json.loads(payload)
    return data if isinstance(data, Mapping) else None


def plan_from_answers(
    tables: Tables,
    candidates: pl.DataFrame,
    siblings: SiblingAnswers,
    *,
    budget: float,
    objective: Objective | str,
    rules: PlanRules,
    settings: AnalyticsSettings | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT_SECONDS,
) -> tuple[Analysis, CampaignPlan, Marketplace]:
    """Complete the candidates from ``siblings`` (the candidates' own prices, followers and tags
    win), analyse ``tables`` and plan. Raises ``RulesError`` for an audience target without any
    fans profile, ``Infeasible`` naming the rule to relax, or another ``PlanError``."""
    market = complete_candidates(candidates, siblings)
    if rules.audience is not None and not market.audiences:
        raise RulesError(AUDIENCE_NEEDS_PROFILES)
    analysis = analyse(tables, settings=settings, followers=followers_of(market.candidates))
    plan = plan_campaign(
        analysis,
        candidates,
        budget=budget,
        objective=objective,
        rules=rules,
        time_limit=time_limit,
        marketplace=market,
    )
    return analysis, plan, market


def plan_workbook(
    analysis: Analysis,
    plan: CampaignPlan,
    *,
    title: str,
    source_label: str,
    synthetic: bool | None,
    generated_at: datetime,
) -> bytes:
    """The plan's report workbook (the ``report.xlsx`` of ``pgy plan``), as bytes."""
    data = build_report_data(
        analysis,
        title=title,
        source_label=source_label,
        synthetic=synthetic,
        generated_at=generated_at,
        plan=plan,
    )
    with tempfile.TemporaryDirectory(prefix="pgy-plan-") as folder:
        path = write_xlsx(data, Path(folder) / "plan.xlsx")
        return path.read_bytes()
