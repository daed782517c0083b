"""``pgy mcp``: a Model Context Protocol server (the official SDK's FastMCP) over our client.

An assistant gets one tool per registered endpoint (generated from ``contract.endpoints``, so a
new endpoint is a new tool without editing this module) and four analyst tools built on
``pgy_metrics.analytics``: ``creator_overview``, ``compare_creators``, ``benchmark_pool`` and
``plan_campaign``. Every tool says in its description how many billable calls it makes, reserves
them against its MCP session's budget before calling (``Tools.fetch``, ``budget.SessionBudgets``)
and answers with a pydantic model, so its output has a JSON schema.

Errors: a business code becomes a tool error ``code N: message (request id R)``; any text that
leaves this module passes ``_scrubbed`` first, so the token never reaches the assistant or a log.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.exceptions import ToolError
from mcp.server.fastmcp.resources import TextResource
from mcp.types import ToolAnnotations
from pydantic import AnyUrl, Field

# The planner's input models are part of the tools' schemas, so they are imported here; the
# rest of the analytics stack is imported where it runs.
from pgy_metrics.analytics.objectives import Objective
from pgy_metrics.analytics.planner import PlanRules
from pgy_metrics.analytics.profiles import PLANNING_ENDPOINTS
from pgy_metrics.client import AsyncClient, EndpointResult
from pgy_metrics.client._exceptions import APIConnectionError, APIError, PgyError
from pgy_metrics.contract.columns import COLUMN_KINDS, ColumnKind
from pgy_metrics.contract.endpoints import (
    ENDPOINTS,
    NOTES_RATE,
    NOTES_RATE_SPEC,
    EndpointSpec,
    Registry,
)
from pgy_metrics.contract.params import ParamError
from pgy_metrics.figures import FigureKind
from pgy_metrics.mcp_server.budget import BudgetExceeded, SessionBudgets
from pgy_metrics.mcp_server.models import (
    Benchmark,
    BenchmarkRow,
    Billing,
    Booking,
    CampaignPlanResult,
    Candidate,
    ComparedCreator,
    Comparison,
    CreatorOverview,
    EndpointAnswer,
    Figure,
    ScopeSummary,
    figure,
)
from pgy_metrics.mcp_server.reference import codes_markdown, endpoint_markdown, endpoints_markdown

if TYPE_CHECKING:
    from pgy_metrics.analytics.analysis import Analysis

SERVER_NAME = "pgy-metrics"
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
CONCURRENCY = 4
"""Calls in flight at once for the multi-creator tools (the server rate-limits per token)."""
MAX_CREATORS = 50
"""Most creators one analyst tool takes: 50 x 8 scopes is already 400 billable calls."""

ANALYSIS_SCOPE_COUNT = 8
"""``len(analytics.scopes.ANALYSIS_SCOPES)``, kept here so the tool descriptions are written
without importing the analytics stack at start-up (a test holds them equal)."""

SCOPE_FIGURES = (
    "note_number",
    "imp_median",
    "read_median",
    "interaction_median",
    "interaction_rate",
    "hundred_like_percent",
    "thousand_like_percent",
    "m_follow_cnt",
    "read_search_percent",
)
"""The figures of each scope in ``creator_overview`` (columns of the tidy scopes table)."""

INDICATOR_KINDS: dict[str, FigureKind] = {
    "sponsored_decay": FigureKind.NUMBER,
    "momentum": FigureKind.CHANGE,
    "format_fit": FigureKind.CHANGE,
}
"""Indicators that are not a 0-1 fraction (docs/metrics.md, "Indicators")."""

INDICATOR_NAMES = (
    "click_through",
    "engagement_rate",
    "engagement_rate_median",
    "hundred_like_ratio",
    "thousand_like_ratio",
    "sponsored_decay",
    "paid_boost_dependence",
    "momentum",
    "format_fit",
    "search_share",
    "evergreen_share",
    "follow_conversion",
)

READ_ONLY = ToolAnnotations(readOnlyHint=True, openWorldHint=True)


def _column_kind(column: str) -> FigureKind:
    kind = COLUMN_KINDS.get(column, ColumnKind.TEXT)
    return {ColumnKind.INTEGER: FigureKind.INTEGER, ColumnKind.FRACTION: FigureKind.FRACTION}.get(
        kind, FigureKind.TEXT
    )


def _indicator_kind(name: str) -> FigureKind:
    return INDICATOR_KINDS.get(name, FigureKind.FRACTION)


def _score(value: Any) -> Figure:
    return figure("score", value, FigureKind.NUMBER, unit="score (0-100)")


@dataclass
class Fetched:
    """What one tool's calls brought back, and what they cost."""

    results: list[EndpointResult]
    billing: Billing


def _billed(result: EndpointResult) -> bool:
    """Whether an answer counts against the budget: what the server charged when it says
    (``X-Pgy-Charged``; 0 is free), else every answer but an idempotent replay."""
    if result.charged is not None:
        return result.charged > 0
    return not result.replayed


def _no_session() -> object | None:
    return None


@dataclass
class Tools:
    """The state every tool shares: the client (made on first use, inside the server's event
    loop), the budgets of the sessions and the token to scrub from any text.

    ``session`` names the MCP session of the tool call being run (``build_server`` reads it from
    the SDK's request context), so each session spends its own budget."""

    make_client: Callable[[], AsyncClient]
    budgets: SessionBudgets
    token: str
    registry: Registry = field(default_factory=lambda: ENDPOINTS)
    session: Callable[[], object | None] = _no_session
    _client: AsyncClient | None = field(default=None, init=False)

    def client(self) -> AsyncClient:
        if self._client is None:
            self._client = self.make_client()
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def _scrubbed(self, text: str) -> str:
        return text.replace(self.token, "***") if self.token else text

    def error(self, problem: Exception) -> ToolError:
        """The tool error an assistant sees: business code, message and request id."""
        if isinstance(problem, APIError):
            where = f" (request id {problem.request_id})" if problem.request_id else ""
            text = f"code {problem.code}: {problem.message}{where}"
        elif isinstance(problem, ParamError):
            text = f"invalid parameter {problem.param}: {problem.message}"
        else:
            text = str(problem)
        return ToolError(self._scrubbed(text))

    async def fetch(self, what: str, calls: Sequence[tuple[str, str, dict[str, str]]]) -> Fetched:
        """Make ``calls`` (endpoint, user id, parameters) within the session's budget,
        ``CONCURRENCY`` at a time; the first failure stops the rest and becomes the tool error.

        All ``calls`` are reserved first (refused whole when they would go past the budget);
        then counted as billed: each code-0 answer the server charged (``_billed``: one it says
        cost 0 gives its reservation back), and each call whose outcome is unknown (cancelled in
        flight when another failed, or a connection lost after the request was sent), since the
        server may have charged it. A business code other than 0 is never billed."""
        budget = self.budgets.of(self.session())
        needed = len(calls)
        try:
            budget.reserve(needed, what)
        except BudgetExceeded as refused:
            raise ToolError(str(refused)) from None
        results: list[EndpointResult | None] = [None] * needed
        unknown = 0
        gate = asyncio.Semaphore(CONCURRENCY)
        # Parameters by their API names (``dateType``...), as ``call`` takes them.
        call: Callable[..., Awaitable[EndpointResult]] = self.client().call

        async def one(index: int, endpoint: str, user_id: str, params: dict[str, str]) -> None:
            nonlocal unknown
            async with gate:
                try:
                    results[index] = await call(endpoint, user_id, **params)
                except asyncio.CancelledError:
                    unknown += 1
                    raise
                except APIConnectionError as lost:
                    unknown += lost.request_sent
                    raise

        billed = 0
        try:
            async with asyncio.TaskGroup() as group:
                for index, (endpoint, user_id, params) in enumerate(calls):
                    group.create_task(one(index, endpoint, user_id, params))
        except* (PgyError, ParamError) as failed:
            raise self.error(failed.exceptions[0]) from None
        finally:
            answers = [result for result in results if result is not None]
            billed = sum(_billed(result) for result in answers) + unknown
            budget.settle(needed, billed)
        billing = Billing(
            calls_needed=needed,
            billable_calls=billed,
            session_used=budget.used,
            session_remaining=budget.remaining,
        )
        return Fetched(answers, billing)

    async def analysed(self, what: str, user_ids: Sequence[str]) -> tuple[Analysis, Fetched]:
        """The analyst tools' common step: every analysis scope of ``user_ids`` fetched within
        the budget (``fetch``), then analysed off the event loop."""
        fetched = await self.fetch(what, _scope_calls(user_ids))
        analysis = await anyio.to_thread.run_sync(_analysed, fetched.results)
        return analysis, fetched


# --- analysis ------------------------------------------------------------------------------------


def _scope_calls(user_ids: Sequence[str]) -> list[tuple[str, str, dict[str, str]]]:
    from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES
    from pgy_metrics.contract.endpoints import notes_query

    calls = []
    for user_id in user_ids:
        for scope in ANALYSIS_SCOPES:
            params = notes_query(user_id, scope).api_params()
            del params["userId"]
            calls.append((NOTES_RATE, user_id, params))
    return calls


def _sibling_calls(user_ids: Sequence[str]) -> list[tuple[str, str, dict[str, str]]]:
    """The sibling endpoints a plan reads, each with its defaults, for every creator."""
    return [(endpoint, user_id, {}) for user_id in user_ids for endpoint in PLANNING_ENDPOINTS]


def _analysed(results: Sequence[EndpointResult], followers: Any = None) -> Analysis:
    """The analytics layer over answers already held (``ScopeRecord``s, no file)."""
    from pgy_metrics.analytics.analysis import analyse
    from pgy_metrics.analytics.tables import ScopeRecord, Tables, notes_frame, scopes_frame

    records = [
        ScopeRecord(
            user_id=result.user_id,
            scope=NOTES_RATE_SPEC.parse(result.params).scope,
            collected_at=result.record_time or "",
            data=result.data,
            source=result.source,
        )
        for result in results
    ]
    tables = Tables(scopes=scopes_frame(records), notes=notes_frame(records))
    return analyse(tables, followers=followers)


def _row(frame: Any, user_id: str, **where: str) -> dict[str, Any]:
    import polars as pl

    selected = frame.filter(pl.col("user_id") == user_id)
    for column, value in where.items():
        selected = selected.filter(pl.col(column) == value)
    rows: list[dict[str, Any]] = selected.head(1).to_dicts()
    return rows[0] if rows else {}


def _indicators(analysis: Analysis, user_id: str) -> list[Figure]:
    """Each indicator of the headline scope; a cross-scope one (momentum: the 30-day row,
    sponsored decay: the sponsored row) from the first analysis scope that defines it."""
    from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES

    rows = [_row(analysis.indicators, user_id, scope_key=scope.key) for scope in ANALYSIS_SCOPES]
    figures = []
    for name in INDICATOR_NAMES:
        value = next((row[name] for row in rows if row.get(name) is not None), None)
        figures.append(figure(name, value, _indicator_kind(name)))
    return figures


def _overview(analysis: Analysis, user_id: str, billing: Billing) -> CreatorOverview:
    import polars as pl

    from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES

    bench = _row(analysis.benchmark, user_id)
    flags = analysis.flags.filter(pl.col("user_id") == user_id).get_column("flag").to_list()
    scopes = []
    for scope in ANALYSIS_SCOPES:
        row = _row(analysis.tables.scopes, user_id, scope_key=scope.key)
        scopes.append(
            ScopeSummary(
                scope_key=scope.key,
                scope_label=scope.label,
                figures=[figure(name, row.get(name), _column_kind(name)) for name in SCOPE_FIGURES],
            )
        )
    return CreatorOverview(
        user_id=user_id,
        synthetic=analysis.tables.synthetic,
        tier=bench.get("tier"),
        score=_score(bench.get("score")),
        indicators=_indicators(analysis, user_id),
        flags=sorted(set(flags)),
        scopes=scopes,
        billing=billing,
    )


def _comparison(analysis: Analysis, billing: Billing) -> Comparison:
    from pgy_metrics.analytics.cohorts import PCT_SUFFIX

    creators = []
    for bench in analysis.benchmark.to_dicts():
        user_id = bench["user_id"]
        percentiles = [
            figure(name + PCT_SUFFIX, bench[name + PCT_SUFFIX], FigureKind.FRACTION)
            for name in INDICATOR_NAMES
            if name + PCT_SUFFIX in bench
        ]
        creators.append(
            ComparedCreator(
                user_id=user_id,
                tier=bench.get("tier"),
                score=_score(bench.get("score")),
                indicators=_indicators(analysis, user_id),
                percentiles=percentiles,
            )
        )
    return Comparison(synthetic=analysis.tables.synthetic, creators=creators, billing=billing)


def _benchmark(analysis: Analysis, skipped: list[str], billing: Billing) -> Benchmark:
    rows = [
        BenchmarkRow(
            user_id=row["user_id"],
            tier=row.get("tier"),
            content_tag=row.get("content_tag"),
            score=_score(row.get("score")),
            read_median=figure("read_median", row.get("read_median"), FigureKind.INTEGER),
            flag_count=int(row.get("flag_count") or 0),
        )
        for row in analysis.benchmark.to_dicts()
    ]
    return Benchmark(
        synthetic=analysis.tables.synthetic,
        creators=len(rows),
        skipped=skipped,
        rows=rows,
        billing=billing,
    )


def _planned(
    results: Sequence[EndpointResult],
    candidates: Sequence[Candidate],
    budget: float,
    objective: Objective,
    rules: PlanRules | None,
    billing: Billing,
    *,
    marketplace: bool = False,
) -> CampaignPlanResult:
    """The plan over the notes-rate answers among ``results``; with ``marketplace`` the
    candidates are first completed from the sibling answers among them (prices, followers,
    tags, exclusions, audiences, platform estimates), as ``pgy plan --fetch`` does."""
    import polars as pl

    from pgy_metrics.analytics.analysis import plan_campaign
    from pgy_metrics.analytics.candidates import CANDIDATE_SCHEMA
    from pgy_metrics.analytics.marketplace import Marketplace, complete_candidates

    frame = pl.DataFrame(
        [{**candidate.model_dump(), "line": line} for line, candidate in enumerate(candidates, 1)],
        schema=CANDIDATE_SCHEMA,
        orient="row",
    )
    notes = [result for result in results if result.endpoint == NOTES_RATE]
    market: Marketplace | None = None
    if marketplace:
        siblings: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in PLANNING_ENDPOINTS}
        for result in results:
            if result.endpoint in siblings and isinstance(result.data, dict):
                siblings[result.endpoint][result.user_id] = result.data
        market = complete_candidates(frame, siblings)
        frame = market.candidates
    known = frame.select("user_id", "followers").drop_nulls("followers")
    analysis = _analysed(notes, followers=known if known.height else None)
    plan = plan_campaign(
        analysis, frame, budget=budget, objective=objective, rules=rules, marketplace=market
    )
    value_kind = FigureKind.INTEGER
    improvement = plan.improvement
    return CampaignPlanResult(
        objective=plan.objective.value,
        synthetic=analysis.tables.synthetic,
        status=plan.optimal.status,
        proven_optimal=plan.optimal.proven_optimal,
        budget=figure("budget", plan.budget, FigureKind.MONEY),
        spend=figure("spend", plan.optimal.spend, FigureKind.MONEY),
        value=figure(f"expected {plan.objective.value}", plan.optimal.value, value_kind),
        robust_value=figure("robust value (P20)", plan.robust.value, value_kind),
        greedy_value=figure("greedy value", plan.greedy.value, value_kind),
        improvement_over_greedy=figure("improvement over greedy", improvement, FigureKind.CHANGE),
        bookings=[
            Booking(
                user_id=option.user_id,
                format=option.format,
                tier=option.tier,
                price=figure("price", option.price, FigureKind.MONEY),
                expected=figure("expected", option.value, value_kind),
                robust=figure("robust (P20)", option.robust_value, value_kind),
            )
            for option in plan.optimal.chosen
        ],
        notes=[*plan.notes, *(f"greedy misses: {rule}" for rule in plan.greedy.unmet)],
        excluded=[str(exclusion) for exclusion in market.excluded] if market else [],
        billing=billing,
    )


# --- the server ----------------------------------------------------------------------------------


def _user_ids(user_ids: Sequence[str], param: str = "user_ids") -> list[str]:
    """Valid, distinct ids (bare or from a profile URL, as people paste them) in the order
    given; a bad one is a tool error naming the parameter."""
    from pgy_metrics.contract.params import parse_user_ref

    seen: dict[str, None] = {}
    for user_id in user_ids:
        try:
            seen[parse_user_ref(user_id, param=param)] = None
        except ParamError as error:
            raise ToolError(f"invalid parameter {param}: {error.message}") from None
    if not seen:
        raise ToolError(f"invalid parameter {param}: give at least one creator id")
    if len(seen) > MAX_CREATORS:
        raise ToolError(f"invalid parameter {param}: at most {MAX_CREATORS} creators per call")
    return list(seen)


UserId = Annotated[
    str, Field(description="The creator's user id (24 hex characters) or profile URL")
]
UserIds = Annotated[
    list[str], Field(description="Creator user ids (24 hex characters) or profile URLs")
]


def _endpoint_tool(tools: Tools, spec: EndpointSpec) -> Callable[..., Awaitable[EndpointAnswer]]:
    """A tool for ``spec`` whose signature (hence JSON schema) is the endpoint's parameters."""

    async def call_endpoint(user_id: str, **params: Any) -> EndpointAnswer:
        sent = {name: str(getattr(value, "value", value)) for name, value in params.items()}
        (uid,) = _user_ids([user_id], "user_id")
        fetched = await tools.fetch(spec.name, [(spec.name, uid, sent)])
        (result,) = fetched.results
        return EndpointAnswer(
            endpoint=result.endpoint,
            user_id=result.user_id,
            params=result.params,
            request_id=result.request_id,
            record_time=result.record_time,
            source=result.source,
            synthetic=result.synthetic,
            data=result.data,
            billing=fetched.billing,
        )

    parameters = [
        inspect.Parameter("user_id", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=UserId)
    ]
    parameters.extend(
        inspect.Parameter(
            param.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=param.default,
            annotation=Annotated[param.enum, Field(description=param.description)],
        )
        for param in spec.params
    )
    call_endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        parameters, return_annotation=EndpointAnswer
    )
    call_endpoint.__name__ = spec.name
    return call_endpoint


def _session(server: FastMCP) -> object | None:
    """The SDK's session object of the request being handled (``Context.session``: one per
    stdio connection, one per ``mcp-session-id`` over streamable HTTP); None outside a request."""
    try:
        session: object = server.get_context().session
    except ValueError:  # no request in progress
        return None
    return session


def build_server(
    make_client: Callable[[], AsyncClient],
    *,
    token: str,
    budgets: SessionBudgets | None = None,
    registry: Registry = ENDPOINTS,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: LogLevel = "WARNING",
) -> tuple[FastMCP, Tools]:
    """The MCP server and the shared state its tools use (the caller closes ``Tools``).

    ``budgets`` gives each MCP session its own ``--max-billable-calls`` (None: no limit)."""
    per_creator = ANALYSIS_SCOPE_COUNT
    server = FastMCP(
        SERVER_NAME,
        instructions=(
            "Note performance metrics of Xiaohongshu (Pugongying) creators through a pgy-metrics "
            "server. Every successful upstream call is billable; each tool says how many calls "
            "it makes, and the session may have a budget (--max-billable-calls). Read the "
            "resources pgy://endpoints and pgy://codes to cite fields and error codes."
        ),
        host=host,
        port=port,
        log_level=log_level,
    )
    tools = Tools(
        make_client,
        SessionBudgets() if budgets is None else budgets,
        token,
        registry,
        session=partial(_session, server),
    )

    for spec in registry.specs():
        server.add_tool(
            _endpoint_tool(tools, spec),
            name=spec.name,
            title=spec.title,
            description=(
                f"{spec.summary} Costs 1 billable call (the parameters not given take their "
                "defaults). Returns the answer's data exactly as the API sent it."
            ),
            annotations=READ_ONLY,
            structured_output=True,
        )

    @server.tool(
        title="Creator overview",
        description=(
            f"One creator in the {per_creator} scopes an analyst needs (daily notes 30/90 days, "
            "organic only, photo-text, video, sponsored...), summarised with units: headline "
            "figures per scope, indicators, score, tier and risk flags. Costs "
            f"{per_creator} billable calls."
        ),
        annotations=READ_ONLY,
        structured_output=True,
    )
    async def creator_overview(user_id: UserId) -> CreatorOverview:
        (uid,) = _user_ids([user_id], "user_id")
        analysis, fetched = await tools.analysed("creator_overview", [uid])
        return _overview(analysis, uid, fetched.billing)

    @server.tool(
        title="Compare creators",
        description=(
            "A handful of creators side by side: indicators of the headline scope, the score and "
            "each indicator's percentile within the group, best score first. Costs "
            f"{per_creator} billable calls per creator (at most {MAX_CREATORS} creators)."
        ),
        annotations=READ_ONLY,
        structured_output=True,
    )
    async def compare_creators(user_ids: UserIds) -> Comparison:
        analysis, fetched = await tools.analysed("compare_creators", _user_ids(user_ids))
        return _comparison(analysis, fetched.billing)

    @server.tool(
        title="Benchmark a pool",
        description=(
            "The benchmark table of a pool of creators (tier, content tag, score, read median, "
            "risk flags), from ids or a file on the machine running pgy mcp (text, CSV or XLSX "
            f"of ids or profile URLs, as pgy batch reads). Costs {per_creator} billable calls per "
            f"creator (at most {MAX_CREATORS} creators)."
        ),
        annotations=READ_ONLY,
        structured_output=True,
    )
    async def benchmark_pool(
        user_ids: Annotated[list[str] | None, Field(description="Creator ids")] = None,
        path: Annotated[str | None, Field(description="A file of creator ids")] = None,
    ) -> Benchmark:
        skipped: list[str] = []
        given = list(user_ids or [])
        if path is not None:
            from pgy_metrics.client.inputs import InputFileError, iter_user_ids

            try:
                for item in iter_user_ids(Path(path)):
                    if isinstance(item, str):
                        given.append(item)
                    else:
                        skipped.append(str(item))
            except InputFileError as error:
                raise ToolError(f"invalid parameter path: {error}") from None
        ids = _user_ids(given, "path" if path is not None and not user_ids else "user_ids")
        analysis, fetched = await tools.analysed("benchmark_pool", ids)
        return _benchmark(analysis, skipped, fetched.billing)

    from pgy_metrics.analytics.objectives import Objective

    @server.tool(
        title="Plan a campaign",
        description=(
            "Choose which candidates to book in which format within a budget, maximising the "
            "objective under the brand's rules (an integer programme), and how much more it "
            "delivers than booking greedily by value per price. Costs "
            f"{per_creator} billable calls per candidate (at most {MAX_CREATORS}); with "
            f"marketplace=true {per_creator + len(PLANNING_ENDPOINTS)}: each candidate's creator "
            "profile, data summary, fans profile and fans history are read too, so prices, "
            "followers and tags come from the profile where not given, creators not accepting "
            "orders are excluded with the reason, and rules.audience (audience targets) can be "
            "met."
        ),
        annotations=READ_ONLY,
        structured_output=True,
    )
    async def plan_campaign(
        candidates: Annotated[list[Candidate], Field(description="Creators with their prices")],
        budget: Annotated[float, Field(gt=0, description="The campaign's budget (money)")],
        objective: Annotated[Objective, Field(description="What to maximise")] = Objective.READS,
        rules: Annotated[PlanRules | None, Field(description="The brand's rules")] = None,
        marketplace: Annotated[
            bool,
            Field(
                description="Also read each candidate's profile, prices and audience "
                f"({len(PLANNING_ENDPOINTS)} more billable calls per candidate)"
            ),
        ] = False,
    ) -> CampaignPlanResult:
        from pgy_metrics.analytics.planner import PlanError

        ids = _user_ids([candidate.user_id for candidate in candidates], "candidates")
        if len(ids) != len(candidates):
            raise ToolError("invalid parameter candidates: each creator may be listed once")
        candidates = [
            candidate.model_copy(update={"user_id": uid})
            for candidate, uid in zip(candidates, ids, strict=True)
        ]
        if not marketplace:
            for candidate in candidates:
                if candidate.price_photo is None and candidate.price_video is None:
                    raise ToolError(
                        f"invalid parameter candidates: {candidate.user_id} has no price "
                        "(give price_photo and/or price_video, or marketplace=true to read "
                        "the creator profile's prices)"
                    )
            if rules is not None and rules.audience is not None:
                raise ToolError(
                    "invalid parameter rules: an audience target needs each creator's fans "
                    "profile; call with marketplace=true"
                )
        calls = _scope_calls(ids) + (_sibling_calls(ids) if marketplace else [])
        fetched = await tools.fetch("plan_campaign", calls)
        try:
            return await anyio.to_thread.run_sync(
                partial(
                    _planned,
                    fetched.results,
                    candidates,
                    budget,
                    objective,
                    rules,
                    fetched.billing,
                    marketplace=marketplace,
                )
            )
        except PlanError as error:
            raise ToolError(f"no plan: {error}") from None

    @server.resource(
        "pgy://endpoints",
        name="endpoints",
        title="Endpoints",
        description="Every endpoint: path, parameters and allowed values.",
        mime_type="text/markdown",
    )
    def endpoints_resource() -> str:
        return endpoints_markdown(registry)

    @server.resource(
        "pgy://codes",
        name="codes",
        title="Business codes",
        description="The business codes of the API: meaning and whether billed.",
        mime_type="text/markdown",
    )
    def codes_resource() -> str:
        return codes_markdown()

    for spec in registry.specs():
        server.add_resource(
            TextResource(
                uri=AnyUrl(f"pgy://endpoints/{spec.name}"),
                name=f"endpoint-{spec.name}",
                title=spec.title,
                description=spec.summary,
                mime_type="text/markdown",
                text=endpoint_markdown(spec),
            )
        )

    return server, tools


async def serve(server: FastMCP, tools: Tools, *, http: bool) -> None:
    """Run ``server`` on stdio or streamable HTTP until the client (or a signal) ends it."""
    try:
        if http:
            await server.run_streamable_http_async()
        else:
            await server.run_stdio_async()
    finally:
        await tools.aclose()
