"""``/console/plans``: plan a campaign in the browser (docs/console.md, "Plans").

The form (``plan_form.py``) takes the creators, the budget, the objective and the rules; the plan
uses only data the holder has paid for (``store.paid``: the creators' notes-rate snapshots and
the sibling answers that carry prices, followers and audiences). A creator without such data is
listed with a link to the creator page, never fetched or charged here. The planning itself is
``analytics.campaign.plan_from_answers``, the steps ``pgy plan`` runs, on a worker thread with a
time limit per solve; the page shows the plan, the budget frontier (drawn to SVG on the server)
and the gain over greedy, or the planner's diagnosis when no plan fits the rules.

The plan's workbook (the ``report.xlsx`` writer of ``pgy plan``) is kept in this process's memory
under a random key with its holder's id: its URL cannot be guessed, and another holder (an admin
too) asking for it gets a 404. The last ``KEPT_PLANS`` plans are kept for ``KEPT_MINUTES``.
"""

from __future__ import annotations

import asyncio
import logging
import math
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from pgy_metrics.contract.endpoints import ENDPOINTS, NO_PARAMS, NOTES_RATE
from pgy_metrics.figures import FigureKind, format_figure
from pgy_metrics.server.console import plan_form
from pgy_metrics.server.console.charts import console_chart
from pgy_metrics.server.console.pages import (
    PREFIX,
    SECURITY_HEADERS,
    checked_upload_form,
    page,
    refused,
    runtime_of,
    session_of,
    to_sign_in,
)
from pgy_metrics.server.console.sessions import Session
from pgy_metrics.service.pools import pool_members
from pgy_metrics.store.paid import paid_snapshots
from pgy_metrics.store.tokens import TokenRecord

if TYPE_CHECKING:
    from pgy_metrics.analytics.analysis import CampaignPlan
    from pgy_metrics.service.runtime import Runtime

log = logging.getLogger("pgy_metrics.server.console")

router = APIRouter(prefix=PREFIX, include_in_schema=False)

SOLVE_SECONDS = 10.0
"""HiGHS's time limit per solve (the plan, its robust twin and each frontier budget): a page
answers within a minute even on a hard pool; a plan cut short says it is not proven optimal."""
KEPT_PLANS = 64
KEPT_MINUTES = 60
MAX_BODY_BYTES = plan_form.MAX_UPLOAD_BYTES + 64 * 1024
"""The largest plan form read: the upload plus the fields."""
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# -- data --------------------------------------------------------------------------------------


@dataclass
class PlanData:
    """What the store holds for the candidates, as far as the holder has paid for it."""

    notes: list[Any] = field(default_factory=list)
    """Notes-rate snapshots (``store.snapshots.Snapshot``), oldest first."""
    siblings: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    """endpoint -> creator -> the newest ``data`` (``marketplace.SiblingAnswers``)."""
    missing: list[tuple[str, str]] = field(default_factory=list)
    """(creator, text key of the reason): creators that cannot be planned until looked up."""


def _default_key(endpoint: str) -> str:
    """The parameters a sibling endpoint's planning answer was asked with (its defaults), as
    ``load_store_answers`` reads them for ``pgy plan``."""
    return ".".join(p.default.value for p in ENDPOINTS[endpoint].params) or NO_PARAMS


async def plan_data(
    runtime: Runtime, holder: TokenRecord, user_ids: list[str], priced: set[str]
) -> PlanData:
    """The stored answers of ``user_ids`` that ``holder`` paid for (an admin: all of them);
    ``priced`` are the creators the uploaded file gives a price for."""
    import json

    from pgy_metrics.analytics.profiles import PLANNING_ENDPOINTS
    from pgy_metrics.contract.endpoints import BLOGGER_PROFILE

    database = runtime.store.database
    token_id = None if holder.is_admin else holder.id
    found = PlanData()
    found.notes = await paid_snapshots(
        database, token_id=token_id, endpoint=NOTES_RATE, user_ids=user_ids
    )
    for endpoint in PLANNING_ENDPOINTS:
        answers: dict[str, dict[str, Any]] = {}
        for snapshot in await paid_snapshots(
            database,
            token_id=token_id,
            endpoint=endpoint,
            user_ids=user_ids,
            params_key=_default_key(endpoint),
        ):
            data = json.loads(snapshot.payload)
            if isinstance(data, dict):
                answers[snapshot.user_id] = data  # oldest first: the newest stays
        found.siblings[endpoint] = answers
    with_notes = {snapshot.user_id for snapshot in found.notes}
    profiles = found.siblings.get(BLOGGER_PROFILE, {})
    for user_id in user_ids:
        if user_id not in with_notes:
            found.missing.append((user_id, "plan_missing_notes"))
        elif user_id not in profiles and user_id not in priced:
            found.missing.append((user_id, "plan_missing_prices"))
    return found


# -- kept plans --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeptPlan:
    holder_id: int
    workbook: bytes
    file_name: str
    made_at: float


def _kept(request: Request) -> OrderedDict[str, KeptPlan]:
    kept: OrderedDict[str, KeptPlan] | None = getattr(request.app.state, "console_plans", None)
    if kept is None:
        kept = request.app.state.console_plans = OrderedDict()
    return kept


def _keep(request: Request, plan: KeptPlan) -> str:
    kept = _kept(request)
    key = secrets.token_urlsafe(24)
    kept[key] = plan
    while len(kept) > KEPT_PLANS:
        kept.popitem(last=False)
    return key


# -- pages -------------------------------------------------------------------------------------


def _analytics_missing() -> bool:
    """Whether the analytics extra (polars, HiGHS) is absent: the server runs without it, and
    then the plan page says so instead of failing."""
    try:
        import highspy  # noqa: F401
        import polars  # noqa: F401
    except ImportError:
        return True
    return False


def _choices() -> dict[str, Any]:
    """What the form offers: objectives, tier names, flag names, audience genders."""
    from pgy_metrics.analytics.flags import Flag
    from pgy_metrics.analytics.objectives import Objective
    from pgy_metrics.analytics.settings import AnalyticsSettings

    tiers = [band.name for band in AnalyticsSettings().tiers.follower_bands()]
    return {
        "objectives": [item.value for item in Objective],
        "tiers": tiers,
        "flags": [item.value for item in Flag],
        "genders": ["female", "male"],
    }


def _form_page(
    request: Request,
    session: Session,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    return page(
        request,
        "plans.html",
        session,
        status=status,
        values=values,
        errors=errors or {},
        choices=_choices(),
        max_creators=plan_form.MAX_CREATORS,
        **extra,
    )


@router.get("/plans")
async def plans(request: Request) -> Response:
    """The plan form; ``?pool=ID`` fills the creators with that pool's (once pools exist)."""
    session = await session_of(request)
    if session is None:
        return to_sign_in()
    if _analytics_missing():
        return refused(request, session, "plan_no_analytics", status=503)
    values: dict[str, Any] = {"objective": "reads", "exclude_flags": []}
    pool = request.query_params.get("pool")
    if pool is not None:
        members = None
        if pool.isdigit() and len(pool) < 12:
            members = await pool_members(runtime_of(request), int(pool), session.holder)
        if members is None:
            return refused(request, session, "plan_no_pool", status=404)
        values["creators"] = "\n".join(members)
    return _form_page(request, session, values)


async def _read_plan_form(
    request: Request,
) -> tuple[Session, dict[str, list[str]], tuple[str, bytes] | None] | Response:
    """The session, fields and upload of a plan POST (urlencoded or multipart), or the refusal
    every console upload form gives (``pages.checked_upload_form``; over ``MAX_BODY_BYTES``:
    413)."""
    posted = await checked_upload_form(
        request,
        max_bytes=MAX_BODY_BYTES,
        too_large_page=lambda request, session: refused(
            request, session, "plan_too_large", status=413
        ),
    )
    if isinstance(posted, Response):
        return posted
    return posted.session, posted.fields, posted.files.get("candidates")


@router.post("/plans")
async def make_plan(request: Request) -> Response:
    """Check the form, gather the paid-for data, plan on a thread, show the result."""
    read = await _read_plan_form(request)
    if isinstance(read, Response):
        return read
    session, fields, upload = read
    if _analytics_missing():
        return refused(request, session, "plan_no_analytics", status=503)
    asked = plan_form.parse(fields, upload)
    if asked.errors:
        return _form_page(request, session, asked.values, errors=asked.errors, status=400)
    assert asked.candidates is not None and asked.rules is not None
    runtime = runtime_of(request)
    priced = {
        row["user_id"]
        for row in asked.candidates.iter_rows(named=True)
        if row["price_photo"] is not None or row["price_video"] is not None
    }
    data = await plan_data(runtime, session.holder, asked.user_ids, priced)
    missing = {user_id for user_id, _ in data.missing}
    candidates = asked.candidates.filter(~asked.candidates["user_id"].is_in(list(missing)))
    shown: dict[str, Any] = {"missing": data.missing, "problems": asked.problems}
    if candidates.height == 0:
        return _form_page(request, session, asked.values, **shown, nothing=True)
    try:
        outcome = await asyncio.to_thread(
            _plan, data, candidates, asked, session.holder.name, runtime.clock.now()
        )
    except _Refused as refusal:
        if refusal.field is not None:
            errors = {refusal.field: refusal.message}
            return _form_page(request, session, asked.values, errors=errors, status=400, **shown)
        return _form_page(
            request, session, asked.values, **shown, infeasible=refusal.message, status=200
        )
    plan, workbook, svg, synthetic = outcome
    key = _keep(
        request,
        KeptPlan(
            session.holder.id,
            workbook,
            f"plan-{asked.objective.value}-{runtime.clock.now():%Y%m%d-%H%M}.xlsx",
            runtime.clock.now().timestamp(),
        ),
    )
    return _form_page(
        request,
        session,
        asked.values,
        **shown,
        result=_result_view(plan),
        frontier=svg,
        charts=svg is not None,
        synthetic=synthetic,
        download=f"{PREFIX}/plans/{key}/plan.xlsx",
    )


class _Refused(Exception):
    """No plan: the planner's message, for a field (400) or the whole plan (infeasible)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def _plan(
    data: PlanData, candidates: Any, asked: plan_form.PlanRequest, holder_name: str, now: Any
) -> tuple[CampaignPlan, bytes, Any, bool | None]:
    """On a worker thread: the analytics and the solver (polars, HiGHS), the workbook and the
    frontier chart; the event loop keeps answering the API meanwhile."""
    from pgy_metrics.analytics.campaign import plan_from_answers, plan_workbook, tables_of_snapshots
    from pgy_metrics.analytics.candidates import RulesError
    from pgy_metrics.analytics.planner import PlanError
    from pgy_metrics.analytics.reports.charts.frontier import frontier_spec

    assert asked.rules is not None
    tables = tables_of_snapshots(data.notes)
    try:
        analysis, plan, _market = plan_from_answers(
            tables,
            candidates,
            data.siblings,
            budget=asked.budget,
            objective=asked.objective,
            rules=asked.rules,
            time_limit=SOLVE_SECONDS,
        )
    except RulesError as error:  # an audience target, and no candidate has a fans profile
        where = "audience_gender" if asked.values.get("audience_gender") else "rules"
        raise _Refused(str(error), where) from None
    except PlanError as error:  # Infeasible (naming the rule to relax), no valued candidate
        raise _Refused(str(error)) from None
    synthetic = tables.synthetic
    budget = format_figure(asked.budget, FigureKind.MONEY)
    workbook = plan_workbook(
        analysis,
        plan,
        title=f"Campaign plan 投放方案: {asked.objective.value}, budget {budget}",
        source_label=f"console: data paid for by {holder_name}",
        synthetic=synthetic,
        generated_at=now,
    )
    chart = console_chart(
        "frontier", frontier_spec(plan.frontier, asked.objective.value, synthetic=bool(synthetic))
    )
    return plan, workbook, chart, synthetic


def _result_view(plan: CampaignPlan) -> dict[str, Any]:
    """The figures the result section shows, formatted as the rest of the console."""
    optimal = plan.optimal
    improvement = plan.improvement
    rows = [
        {
            "user_id": option.user_id,
            "format": option.format,
            "tier": option.tier or "",
            "content_tag": option.content_tag or "",
            "price": format_figure(option.price, FigureKind.MONEY),
            "value": format_figure(option.value, FigureKind.INTEGER),
            "robust": format_figure(option.robust_value, FigureKind.INTEGER),
        }
        for option in sorted(optimal.chosen, key=lambda o: -o.value)
    ]
    comparable = improvement is not None and math.isfinite(improvement)
    return {
        "rows": rows,
        "objective": plan.objective.value,
        "budget": format_figure(plan.budget, FigureKind.MONEY),
        "spend": format_figure(optimal.spend, FigureKind.MONEY),
        "value": format_figure(optimal.value, FigureKind.INTEGER),
        "creators": len({option.user_id for option in optimal.chosen}),
        "proven": optimal.proven_optimal,
        "status": optimal.status,
        "greedy_value": format_figure(plan.greedy.value, FigureKind.INTEGER),
        "greedy_spend": format_figure(plan.greedy.spend, FigureKind.MONEY),
        "gain_value": format_figure(optimal.value - plan.greedy.value, FigureKind.INTEGER),
        "gain": format_figure(improvement, FigureKind.CHANGE) if comparable else None,
        "greedy_unmet": ", ".join(plan.greedy.unmet),
        "excluded": [str(item) for item in plan.excluded],
        "dropped": [str(item) for item in plan.dropped],
    }


@router.get("/plans/{key}/plan.xlsx")
async def download(request: Request, key: str) -> Response:
    """A plan's workbook, to its own holder only: any other session gets the 404 an unknown
    key gets (whether a plan exists is not told)."""
    session = await session_of(request)
    if session is None:
        return to_sign_in()
    kept = _kept(request).get(key)
    now = runtime_of(request).clock.now().timestamp()
    if (
        kept is None
        or kept.holder_id != session.holder.id
        or now - kept.made_at > timedelta(minutes=KEPT_MINUTES).total_seconds()
    ):
        return refused(request, session, "not_found", status=404)
    return Response(
        kept.workbook,
        media_type=XLSX_TYPE,
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="{kept.file_name}"',
        },
    )
