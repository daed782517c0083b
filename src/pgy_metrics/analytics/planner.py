"""The campaign planner: which creators to book, in which format, for a budget and a set of rules.

A plan books each creator at most once (photo-text or video) and maximises the expected value of
the campaign (reads, interactions, impressions or follows, as estimated by ``estimates.py``) within
a budget and the rules a brand sets (``PlanRules``): spend and head-count shares per tier, caps per
content tag, a minimum share of video, a cap on any one creator's price, flags and creators to
leave out, creators that must be in.

``solve`` finds the proven optimum (a 0-1 integer programme solved by HiGHS with a relative gap of
0); ``greedy`` is the value-per-price baseline brands use by hand, kept so every plan can show what
optimisation adds; ``frontier`` compares both across budgets. When no plan satisfies the rules,
``Infeasible`` names the rules to relax, found by a deletion filter (drop each rule group in turn
and keep it only if the rest become feasible without it). ``docs/planner.md`` has the model as
formulas.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated

import numpy as np
import numpy.typing as npt
import polars as pl
from highspy import HighsModelStatus, HighsVarType, ObjSense
from highspy._core import _Highs
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from pgy_metrics.analytics.audience import Audience, AudienceTarget
from pgy_metrics.analytics.objectives import Objective
from pgy_metrics.contract.params import ParamError, parse_user_id

__all__ = [
    "DEFAULT_TIME_LIMIT_SECONDS",
    "FORMATS",
    "Infeasible",
    "Objective",
    "Option",
    "Plan",
    "PlanError",
    "PlanRules",
    "audience_unknown",
    "frontier",
    "greedy",
    "options_frame",
    "plan_audience",
    "solve",
]

FORMATS: tuple[str, ...] = ("photo", "video")
"""The formats a creator can be booked in (photo-text note, video note)."""

DEFAULT_TIME_LIMIT_SECONDS = 60.0
"""HiGHS stops after this long; a plan found by then is returned with ``proven_optimal=False``."""

MIP_REL_GAP = 0.0
"""Relative gap HiGHS must close before it calls a plan optimal: 0, so "optimal" is proven."""

FEASIBILITY_CHECK_SECONDS = 10.0
"""Time limit of each re-solve of the infeasibility diagnosis (feasibility only, no objective)."""

BOOKED_THRESHOLD = 0.5
"""A binary column above this value is read as booked (HiGHS returns 0/1 up to tolerances)."""

SHARE_TOLERANCE = 1e-9
"""Slack for share checks in the greedy baseline: exact boundaries (1 of 2 = 0.5) count as met."""

FRONTIER_COLUMNS = ("budget", "optimal_value", "greedy_value", "robust_value")

SOLUTION_FEASIBLE = 2
"""HiGHS's ``primal_solution_status`` when it holds a feasible solution."""

VALUE_PER_PRICE_UNIT = 1000.0
"""``value_per_1k_price`` divides by price in thousands, the unit brands quote rates in."""


class PlanError(ValueError):
    """The planner cannot run on these inputs (bad budget, rules, options or files)."""


class Infeasible(PlanError):
    """No plan satisfies the rules together; ``constraints`` names the ones to relax.

    When ``conflict`` is False, relaxing any one of ``constraints`` makes a plan possible; when
    True, no single rule does and ``constraints`` is a minimal set that cannot hold together.
    """

    def __init__(self, message: str, *, constraints: Sequence[str], conflict: bool = False) -> None:
        super().__init__(message)
        self.constraints = tuple(constraints)
        self.conflict = conflict


@dataclass(frozen=True, slots=True)
class Option:
    """One way to book one creator: a format, its price and its expected value."""

    user_id: str
    format: str
    """``"photo"`` or ``"video"``."""
    price: float
    value: float
    """Point estimate of the objective for one note (a median)."""
    robust_value: float
    """A pessimistic estimate (P20 of a bootstrap), never above ``value``."""
    tier: str | None = None
    content_tag: str | None = None
    flags: frozenset[str] = frozenset()
    basis: str = ""
    """Which scope the value comes from (a ``Scope.key``), so a plan can say why."""
    audience: Audience | None = None
    """The creator's fans profile (shares), for an audience target; None = unknown."""

    def objective_value(self, *, robust: bool) -> float:
        return self.robust_value if robust else self.value


Share = Annotated[tuple[float, float], Field(description="[min, max] share, each in [0, 1]")]


class PlanRules(BaseModel):
    """The brand's rules, read from TOML (``candidates.load_rules``) or built in code.

    Shares are fractions (0.4 = 40 %). A rule left out does not constrain the plan.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier_spend_share: dict[str, Share] = Field(default_factory=dict)
    """tier -> [min, max] share of the plan's total spend."""
    tier_count_share: dict[str, Share] = Field(default_factory=dict)
    """tier -> [min, max] share of the booked creators."""
    max_per_tag: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    """content tag -> most creators with that tag."""
    max_per_any_tag: Annotated[int, Field(ge=0)] | None = None
    """Most creators with any one content tag."""
    min_video_share: Annotated[float, Field(ge=0, le=1)] | None = None
    """Least share of the booked creators booked in video."""
    max_creator_budget_share: Annotated[float, Field(gt=0, le=1)] | None = None
    """No creator may cost more than this share of the budget (their options are left out)."""
    exclude_flags: frozenset[str] = frozenset()
    """Options whose creator carries any of these risk flags are left out."""
    must_include: tuple[str, ...] = ()
    must_exclude: tuple[str, ...] = ()
    audience: AudienceTarget | None = None
    """The audience to reach (``audience.py``): a rule per dimension, or a weighted objective.
    Options whose creator has no fans profile are left out when it is set."""

    def worth(self, option: Option, *, robust: bool) -> float:
        """What the planner maximises for ``option``: its value, scaled by its audience fit
        when the audience target is an objective: ``value x ((1 - weight) + weight x fit)``."""
        value = option.objective_value(robust=robust)
        target = self.audience
        if target is None or target.mode != "objective":
            return value
        fit = target.fit(option.audience)
        return value * ((1 - target.weight) + target.weight * (fit or 0.0))

    @field_validator("tier_spend_share", "tier_count_share")
    @classmethod
    def _shares_in_order(
        cls, shares: dict[str, tuple[float, float]], info: ValidationInfo
    ) -> dict[str, tuple[float, float]]:
        for tier, (low, high) in shares.items():
            where = f"{info.field_name}.{tier}"
            if not (0 <= low <= 1 and 0 <= high <= 1):
                raise ValueError(f"{where}: shares must be in [0, 1]; got [{low:g}, {high:g}]")
            if low > high:
                raise ValueError(f"{where}: min {low:g} is above max {high:g}")
        return shares

    @field_validator("must_include", "must_exclude")
    @classmethod
    def _creator_ids(cls, ids: tuple[str, ...]) -> tuple[str, ...]:
        for user_id in ids:
            try:
                parse_user_id(user_id, param="creator id")
            except ParamError as error:
                raise ValueError(error.message) from None
        return ids

    @model_validator(mode="after")
    def _include_exclude_disjoint(self) -> PlanRules:
        both = sorted(set(self.must_include) & set(self.must_exclude))
        if both:
            raise ValueError(f"creators both in must_include and must_exclude: {', '.join(both)}")
        return self


@dataclass(frozen=True)
class Plan:
    """A set of booked options and how it was found."""

    chosen: list[Option]
    value: float
    """Sum of the optimised values (``robust_value`` when ``robust``)."""
    spend: float
    budget: float
    objective: Objective | None
    status: str
    """``optimal``, ``time_limit`` (solver), ``greedy`` or ``greedy_rules_unmet`` (baseline)."""
    solve_seconds: float
    robust: bool = False
    proven_optimal: bool = False
    gap: float | None = None
    """HiGHS's relative MIP gap at the end (0 when proven optimal); None for greedy."""
    unmet: tuple[str, ...] = field(default=())
    """Rules the greedy baseline could not meet (empty for solver plans)."""
    audience: dict[str, float] = field(default_factory=dict)
    """With an audience target: dimension -> the plan's share in the targeted group, each
    booking weighted by its expected value (what the constraint bounds)."""

    def frame(self) -> pl.DataFrame:
        """The booked options, one row each, with value per 1,000 of price."""
        return options_frame(self.chosen)


def options_frame(options: Sequence[Option]) -> pl.DataFrame:
    """Options as a table, one row each, with value per 1,000 of price (plans, the priced pool)."""
    return pl.DataFrame(
        {
            "user_id": [o.user_id for o in options],
            "format": [o.format for o in options],
            "price": [float(o.price) for o in options],
            "value": [float(o.value) for o in options],
            "robust_value": [float(o.robust_value) for o in options],
            "tier": [o.tier for o in options],
            "content_tag": [o.content_tag for o in options],
            "basis": [o.basis for o in options],
            "value_per_1k_price": [o.value / o.price * VALUE_PER_PRICE_UNIT for o in options],
        },
        schema={
            "user_id": pl.Utf8,
            "format": pl.Utf8,
            "price": pl.Float64,
            "value": pl.Float64,
            "robust_value": pl.Float64,
            "tier": pl.Utf8,
            "content_tag": pl.Utf8,
            "basis": pl.Utf8,
            "value_per_1k_price": pl.Float64,
        },
    )


# --- inputs ---------------------------------------------------------------------------------------


def _check_budget(budget: float) -> None:
    if not (isinstance(budget, int | float) and math.isfinite(budget) and budget > 0):
        raise PlanError(f"budget must be a positive number; got {budget!r}")


def _check_options(options: Sequence[Option]) -> None:
    seen: set[tuple[str, str]] = set()
    for option in options:
        where = f"option {option.user_id} {option.format}"
        if option.format not in FORMATS:
            raise PlanError(f"{where}: format must be one of {', '.join(FORMATS)}")
        if not (math.isfinite(option.price) and option.price > 0):
            raise PlanError(f"{where}: price must be a positive number; got {option.price!r}")
        if not (math.isfinite(option.value) and option.value >= 0):
            raise PlanError(f"{where}: value must be a number >= 0; got {option.value!r}")
        if not (math.isfinite(option.robust_value) and option.robust_value >= 0):
            raise PlanError(f"{where}: robust_value must be a number >= 0")
        if (option.user_id, option.format) in seen:
            raise PlanError(f"{where} appears twice; give one price per creator and format")
        seen.add((option.user_id, option.format))


def _check_tiers(options: Sequence[Option], rules: PlanRules) -> None:
    present = sorted({o.tier for o in options if o.tier is not None})
    for key in ("tier_spend_share", "tier_count_share"):
        shares: dict[str, tuple[float, float]] = getattr(rules, key)
        unknown = sorted(set(shares) - set(present))
        if unknown:
            allowed = ", ".join(present) if present else "(no candidate has a tier)"
            raise PlanError(
                f"{key} names tier(s) {', '.join(unknown)} that no candidate has; "
                f"tiers among the candidates: {allowed}"
            )


def _allowed(options: Sequence[Option], *, budget: float, rules: PlanRules) -> list[Option]:
    """The options the filter-type rules leave (flags, must_exclude, per-creator price cap)."""
    excluded = set(rules.must_exclude)
    cap = (
        rules.max_creator_budget_share * budget
        if rules.max_creator_budget_share is not None
        else math.inf
    )
    target = rules.audience
    return [
        o
        for o in options
        if o.user_id not in excluded
        and not (o.flags & rules.exclude_flags)
        and o.price <= cap
        and (target is None or target.known(o.audience))
    ]


def audience_unknown(options: Sequence[Option], rules: PlanRules) -> list[str]:
    """Creators left out because the audience target needs a share their fans profile does
    not give (or they have none), sorted."""
    target = rules.audience
    if target is None:
        return []
    return sorted({o.user_id for o in options if not target.known(o.audience)})


def plan_audience(
    chosen: Sequence[Option], rules: PlanRules, *, robust: bool = False
) -> dict[str, float]:
    """dimension -> the value-weighted share of ``chosen``'s audience in the targeted group."""
    target = rules.audience
    if target is None or not chosen:
        return {}
    weights = [o.objective_value(robust=robust) for o in chosen]
    total = sum(weights)
    found: dict[str, float] = {}
    for dimension in target.dimensions():
        shares = [o.audience.share(dimension, target) if o.audience else None for o in chosen]
        if total > 0 and all(s is not None for s in shares):
            found[dimension] = sum(w * (s or 0.0) for w, s in zip(weights, shares, strict=True))
            found[dimension] /= total
    return found


def _check_must_include(
    options: Sequence[Option], allowed: Sequence[Option], *, budget: float, rules: PlanRules
) -> None:
    """Name a must-include creator that cannot be booked at all, before any solving."""
    by_creator: dict[str, list[Option]] = defaultdict(list)
    for option in allowed:
        by_creator[option.user_id].append(option)
    for user_id in rules.must_include:
        if by_creator.get(user_id):
            continue
        own = [o for o in options if o.user_id == user_id]
        if not own:
            reason = "not among the options (not a candidate, or no estimate for it)"
        elif rules.audience is not None and not any(rules.audience.known(o.audience) for o in own):
            reason = "its fans profile does not give the shares the audience target needs"
        elif rules.max_creator_budget_share is not None and all(
            o.price > rules.max_creator_budget_share * budget for o in own
        ):
            cheapest = min(o.price for o in own)
            reason = (
                f"its cheapest option costs {cheapest:g} > max_creator_budget_share "
                f"{rules.max_creator_budget_share:g} x budget {budget:g}"
            )
        else:
            flags = sorted(set().union(*(o.flags for o in own)) & rules.exclude_flags)
            reason = f"it carries excluded flag(s) {', '.join(flags)} (exclude_flags)"
        raise Infeasible(
            f"must_include {user_id}: {reason}", constraints=(f"must_include {user_id}",)
        )
    cheapest_total = sum(min(o.price for o in by_creator[u]) for u in rules.must_include)
    if cheapest_total > budget:
        name = f"budget {budget:g}"
        raise Infeasible(
            f"{name}: must-include creators alone cost {cheapest_total:g} (each in its cheapest "
            "format); raise the budget or shorten must_include",
            constraints=(name, "must_include"),
        )


# --- the model ------------------------------------------------------------------------------------

ONE_FORMAT = "one_format"
AT_LEAST_ONE = "at_least_one"
STRUCTURAL = frozenset({ONE_FORMAT, AT_LEAST_ONE})
"""Row groups that define a plan rather than express a rule; the diagnosis never drops them."""

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int32]


@dataclass(frozen=True)
class _Row:
    """One linear constraint ``lower <= sum coefs * x[cols] <= upper`` and its rule group."""

    group: str
    lower: float
    upper: float
    cols: IntArray
    coefs: FloatArray


def _rows(
    options: Sequence[Option], *, budget: float, rules: PlanRules, robust: bool = False
) -> list[_Row]:
    """Every constraint of the model (docs/planner.md lists them as formulas)."""
    inf = math.inf
    n = len(options)
    every = np.arange(n, dtype=np.int32)
    price = np.array([o.price for o in options], dtype=np.float64)
    ones = np.ones(n, dtype=np.float64)
    rows: list[_Row] = []

    by_creator: dict[str, list[int]] = defaultdict(list)
    for j, option in enumerate(options):
        by_creator[option.user_id].append(j)
    for cols in by_creator.values():
        if len(cols) > 1:
            rows.append(_Row(ONE_FORMAT, -inf, 1, np.array(cols, np.int32), np.ones(len(cols))))
    if n and price.min() <= budget:
        rows.append(_Row(AT_LEAST_ONE, 1, inf, every, ones))
    rows.append(_Row(f"budget {budget:g}", -inf, budget, every, price))

    for key, weights in (("tier_spend_share", price), ("tier_count_share", ones)):
        shares: dict[str, tuple[float, float]] = getattr(rules, key)
        for tier, (low, high) in shares.items():
            member = np.array([o.tier == tier for o in options], dtype=np.float64)
            if low > 0:
                coefs = weights * (member - low)
                rows.append(_Row(f"{key}.{tier} (min {low:g})", 0, inf, every, coefs))
            if high < 1:
                coefs = weights * (member - high)
                rows.append(_Row(f"{key}.{tier} (max {high:g})", -inf, 0, every, coefs))

    by_tag: dict[str, list[int]] = defaultdict(list)
    for j, option in enumerate(options):
        if option.content_tag is not None:
            by_tag[option.content_tag].append(j)
    for tag, cap in rules.max_per_tag.items():
        cols = by_tag.get(tag, [])
        if cols and cap < len(cols):
            rows.append(
                _Row(
                    f"max_per_tag.{tag} (max {cap})",
                    -inf,
                    cap,
                    np.array(cols, np.int32),
                    ones[: len(cols)],
                )
            )
    if rules.max_per_any_tag is not None:
        cap = rules.max_per_any_tag
        for cols in by_tag.values():
            if cap < len(cols):
                rows.append(
                    _Row(
                        f"max_per_any_tag (max {cap})",
                        -inf,
                        cap,
                        np.array(cols, np.int32),
                        ones[: len(cols)],
                    )
                )
    if rules.min_video_share:
        share = rules.min_video_share
        video = np.array([o.format == "video" for o in options], dtype=np.float64)
        rows.append(_Row(f"min_video_share (min {share:g})", 0, inf, every, video - share))
    for user_id in rules.must_include:
        cols = by_creator.get(user_id, [])
        rows.append(
            _Row(f"must_include {user_id}", 1, inf, np.array(cols, np.int32), ones[: len(cols)])
        )
    target = rules.audience
    if target is not None and target.mode == "constraint":
        # sum_j x_j v_j (s_j - m) >= 0: the value-weighted share of the plan is at least m.
        value = np.array([o.objective_value(robust=robust) for o in options], dtype=np.float64)
        for dimension, minimum in target.dimensions().items():
            audience = np.array([_share(o, dimension, target) for o in options], dtype=np.float64)
            coefs = value * (audience - minimum)
            rows.append(_Row(target.describe(dimension), 0, inf, every, coefs))
    return rows


def _share(option: Option, dimension: str, target: AudienceTarget) -> float:
    """The option's audience share (known: options without one are filtered out before)."""
    share = option.audience.share(dimension, target) if option.audience else None
    return share if share is not None else 0.0


@dataclass(frozen=True)
class _Outcome:
    status: HighsModelStatus
    booked: list[int]
    gap: float
    seconds: float


def _new_highs(*, time_limit: float) -> _Highs:
    """A silent HiGHS instance.

    The core class, not ``highspy.Highs``: the wrapper's constructor prints HiGHS's banner to
    stdout before any option can be set, which would corrupt a CLI's piped output.
    """
    highs = _Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("mip_rel_gap", MIP_REL_GAP)
    highs.setOptionValue("time_limit", float(time_limit))
    return highs


def _run(costs: FloatArray, rows: Sequence[_Row], *, time_limit: float) -> _Outcome:
    """Maximise ``costs @ x`` over binary ``x`` subject to ``rows``."""
    n = len(costs)
    highs = _new_highs(time_limit=time_limit)
    empty_int = np.zeros(0, dtype=np.int32)
    highs.addCols(
        n, costs, np.zeros(n), np.ones(n), 0, np.zeros(n, dtype=np.int32), empty_int, np.zeros(0)
    )
    highs.changeColsIntegrality(
        n,
        np.arange(n, dtype=np.int32),
        np.full(n, HighsVarType.kInteger.value, dtype=np.uint8),
    )
    if rows:
        starts = np.cumsum([0] + [len(r.cols) for r in rows[:-1]]).astype(np.int32)
        highs.addRows(
            len(rows),
            np.array([r.lower for r in rows], dtype=np.float64),
            np.array([r.upper for r in rows], dtype=np.float64),
            int(sum(len(r.cols) for r in rows)),
            starts,
            np.concatenate([r.cols for r in rows]).astype(np.int32),
            np.concatenate([r.coefs for r in rows]).astype(np.float64),
        )
    highs.changeObjectiveSense(ObjSense.kMaximize)
    started = time.perf_counter()
    highs.run()
    seconds = time.perf_counter() - started
    status = highs.getModelStatus()
    info = highs.getInfo()
    has_solution = info.primal_solution_status == SOLUTION_FEASIBLE
    values = highs.getSolution().col_value if has_solution else []
    booked = [j for j, v in enumerate(values) if v > BOOKED_THRESHOLD]
    gap = float(info.mip_gap) if has_solution else math.inf
    return _Outcome(status, booked, gap, seconds)


def _diagnose(options: Sequence[Option], rows: Sequence[_Row], *, time_limit: float) -> Infeasible:
    """Which rules to relax, found by re-solving with rule groups dropped.

    First each group is dropped on its own: the groups whose removal alone makes a plan possible
    are the answer ("relax one of"). When no single group does (several conflicts overlap), a
    deletion filter finds a minimal conflicting set instead: each group is dropped in turn and
    stays dropped if the rest remain infeasible without it; what is left cannot hold together,
    and at least one of it must be relaxed (other conflicts may remain).
    """
    groups = list(dict.fromkeys(r.group for r in rows if r.group not in STRUCTURAL))
    zero = np.zeros(len(options))

    def infeasible_with(active: Iterable[str]) -> bool:
        keep = set(active) | STRUCTURAL
        outcome = _run(zero, [r for r in rows if r.group in keep], time_limit=time_limit)
        return outcome.status == HighsModelStatus.kInfeasible

    singles = [g for g in groups if not infeasible_with(x for x in groups if x != g)]
    if len(singles) == 1:
        return Infeasible(f"no plan satisfies the rules; relax {singles[0]}", constraints=singles)
    if singles:
        message = "no plan satisfies the rules; relaxing any one of these makes a plan possible: "
        return Infeasible(message + "; ".join(singles), constraints=singles)
    needed = list(groups)
    for group in groups:
        trial = [g for g in needed if g != group]
        if infeasible_with(trial):
            needed = trial
    return Infeasible(
        "no plan satisfies these rules together and no single rule explains it; relax at least "
        "one of: " + "; ".join(needed),
        constraints=needed,
        conflict=True,
    )


def solve(
    options: Sequence[Option],
    *,
    budget: float,
    rules: PlanRules,
    robust: bool = False,
    objective: Objective | None = None,
    time_limit: float = DEFAULT_TIME_LIMIT_SECONDS,
) -> Plan:
    """The plan of greatest total value that satisfies every rule, proven optimal by HiGHS.

    ``robust`` maximises the pessimistic values instead. ``objective`` only labels the plan.
    Raises ``PlanError`` for bad inputs and ``Infeasible`` (naming the rules to relax) when no plan
    satisfies the rules together.
    """
    _check_budget(budget)
    _check_options(options)
    _check_tiers(options, rules)
    allowed = _allowed(options, budget=budget, rules=rules)
    _check_must_include(options, allowed, budget=budget, rules=rules)
    rows = _rows(allowed, budget=budget, rules=rules, robust=robust)
    costs = np.array([rules.worth(o, robust=robust) for o in allowed], dtype=np.float64)
    outcome = _run(costs, rows, time_limit=time_limit)
    if outcome.status == HighsModelStatus.kInfeasible:
        raise _diagnose(allowed, rows, time_limit=min(time_limit, FEASIBILITY_CHECK_SECONDS))
    if outcome.status not in (HighsModelStatus.kOptimal, HighsModelStatus.kTimeLimit) or (
        outcome.status == HighsModelStatus.kTimeLimit and not math.isfinite(outcome.gap)
    ):
        raise PlanError(
            f"HiGHS stopped without a plan ({outcome.status.name}) after "
            f"{outcome.seconds:.1f} s; raise time_limit (now {time_limit:g} s)"
        )
    chosen = [allowed[j] for j in outcome.booked]
    proven = outcome.status == HighsModelStatus.kOptimal
    return Plan(
        chosen=chosen,
        value=sum(rules.worth(o, robust=robust) for o in chosen),
        spend=sum(o.price for o in chosen),
        budget=budget,
        objective=objective,
        status="optimal" if proven else "time_limit",
        solve_seconds=outcome.seconds,
        robust=robust,
        proven_optimal=proven,
        gap=0.0 if proven else outcome.gap,
        audience=plan_audience(chosen, rules, robust=robust),
    )


# --- the greedy baseline --------------------------------------------------------------------------


class _Tally:
    """Running totals of a greedy plan, enough to check every rule after each addition."""

    def __init__(self, rules: PlanRules, *, robust: bool = False) -> None:
        self.rules = rules
        self.robust = robust
        self.chosen: list[Option] = []
        self.spend = 0.0
        self.count = 0
        self.video = 0
        self.spend_by_tier: dict[str | None, float] = defaultdict(float)
        self.count_by_tier: dict[str | None, int] = defaultdict(int)
        self.count_by_tag: dict[str | None, int] = defaultdict(int)

    def add(self, option: Option, sign: int = 1) -> None:
        if sign > 0:
            self.chosen.append(option)
        else:
            self.chosen.remove(option)
        self.spend += sign * option.price
        self.count += sign
        self.video += sign * (option.format == "video")
        self.spend_by_tier[option.tier] += sign * option.price
        self.count_by_tier[option.tier] += sign
        self.count_by_tag[option.content_tag] += sign

    def caps_hold(self, budget: float) -> bool:
        """Budget and tag caps: rules an addition can only break, never repair."""
        if self.spend > budget:
            return False
        for tag, n in self.count_by_tag.items():
            if tag is None:
                continue
            if n > self.rules.max_per_tag.get(tag, n):
                return False
            if self.rules.max_per_any_tag is not None and n > self.rules.max_per_any_tag:
                return False
        return True

    def tier_budgets_hold(self, budget: float) -> bool:
        """Each tier's spend within its maximum share of the budget (the by-hand tier budget)."""
        return all(
            self.spend_by_tier.get(tier, 0.0) <= high * budget + SHARE_TOLERANCE
            for tier, (_, high) in self.rules.tier_spend_share.items()
        )

    def unmet_shares(self, *, spend_shares: bool = True) -> dict[str, float]:
        """Share rules not met now, with how far off each is (in share units)."""
        off: dict[str, float] = {}
        totals = (("tier_spend_share", self.spend, self.spend_by_tier),) if spend_shares else ()
        counted = (("tier_count_share", float(self.count), self.count_by_tier),)
        for key, total, part in (*totals, *counted):
            shares: dict[str, tuple[float, float]] = getattr(self.rules, key)
            for tier, (low, high) in shares.items():
                if total <= 0:
                    continue
                share = part.get(tier, 0) / total
                if share < low - SHARE_TOLERANCE:
                    off[f"{key}.{tier} (min {low:g})"] = low - share
                if share > high + SHARE_TOLERANCE:
                    off[f"{key}.{tier} (max {high:g})"] = share - high
        video = self.rules.min_video_share
        if video and self.count and self.video / self.count < video - SHARE_TOLERANCE:
            off[f"min_video_share (min {video:g})"] = video - self.video / self.count
        target = self.rules.audience
        if target is not None and target.mode == "constraint" and self.chosen:
            reached = plan_audience(self.chosen, self.rules, robust=self.robust)
            for dimension, minimum in target.dimensions().items():
                share = reached.get(dimension)
                if share is not None and share < minimum - SHARE_TOLERANCE:
                    off[target.describe(dimension)] = minimum - share
        return off


def greedy(
    options: Sequence[Option],
    *,
    budget: float,
    rules: PlanRules,
    robust: bool = False,
    objective: Objective | None = None,
) -> Plan:
    """The by-hand baseline: book the best value per price first while the rules allow.

    In the order a planner works by hand, options sorted by value / price (ties: higher value,
    then id and format):

    1. must-include creators, each in its best format that fits the budget and tag caps;
    2. tier minimums as budgets: for each tier with a minimum spend share ``a``, its best options
       until the tier has spent ``a x budget``;
    3. everything else in order.

    In steps 2 and 3 an option is booked when the budget and tag caps still hold, every tier stays
    within its maximum spend share of the budget, and the head-count shares (tier count shares,
    video share) end up no further from being met than before (the sum of the shortfalls, in share
    units; while the plan is empty any option that fits is booked). Every rule is checked on the
    final plan; those unmet are listed in ``Plan.unmet`` and the status is ``greedy_rules_unmet``.
    """
    started = time.perf_counter()
    _check_budget(budget)
    _check_options(options)
    _check_tiers(options, rules)
    allowed = _allowed(options, budget=budget, rules=rules)
    worth: Callable[[Option], float] = lambda o: rules.worth(o, robust=robust)  # noqa: E731
    order = sorted(allowed, key=lambda o: (-worth(o) / o.price, -worth(o), o.user_id, o.format))
    tally = _Tally(rules, robust=robust)
    chosen: list[Option] = []
    booked: set[str] = set()
    unmet: list[str] = []

    def shortfall() -> float:
        return sum(tally.unmet_shares(spend_shares=False).values()) if chosen else math.inf

    def try_add(option: Option, *, forced: bool = False) -> bool:
        if option.user_id in booked:
            return False
        before = shortfall()
        tally.add(option)
        if tally.caps_hold(budget) and (
            forced or (tally.tier_budgets_hold(budget) and shortfall() <= before + SHARE_TOLERANCE)
        ):
            chosen.append(option)
            booked.add(option.user_id)
            return True
        tally.add(option, -1)
        return False

    for user_id in rules.must_include:
        own = [o for o in order if o.user_id == user_id]
        if not any(try_add(o, forced=True) for o in own):
            unmet.append(f"must_include {user_id}")
    for tier, (low, _) in rules.tier_spend_share.items():
        for option in order:
            if tally.spend_by_tier.get(tier, 0.0) >= low * budget:
                break
            if option.tier == tier:
                try_add(option)
    for option in order:
        try_add(option)
    unmet.extend(tally.unmet_shares())
    if not chosen and any(o.price <= budget for o in allowed):
        unmet.append(AT_LEAST_ONE)
    return Plan(
        chosen=chosen,
        value=sum(worth(o) for o in chosen),
        spend=sum(o.price for o in chosen),
        budget=budget,
        objective=objective,
        status="greedy_rules_unmet" if unmet else "greedy",
        solve_seconds=time.perf_counter() - started,
        robust=robust,
        unmet=tuple(unmet),
        audience=plan_audience(chosen, rules, robust=robust),
    )


# --- across budgets -------------------------------------------------------------------------------


def frontier(
    options: Sequence[Option],
    *,
    budgets: Iterable[float],
    rules: PlanRules,
    time_limit: float = DEFAULT_TIME_LIMIT_SECONDS,
) -> pl.DataFrame:
    """Optimal, greedy and robust-optimal value per budget: what each extra budget buys.

    ``optimal_value`` and ``robust_value`` are null where no plan satisfies the rules,
    ``greedy_value`` where the baseline leaves a rule unmet.
    """
    rows: list[dict[str, float | None]] = []
    for budget in budgets:
        point = _value_or_none(options, budget=budget, rules=rules, robust=False, limit=time_limit)
        robust = _value_or_none(options, budget=budget, rules=rules, robust=True, limit=time_limit)
        baseline = greedy(options, budget=budget, rules=rules)
        rows.append(
            {
                "budget": float(budget),
                "optimal_value": point,
                "greedy_value": None if baseline.unmet else baseline.value,
                "robust_value": robust,
            }
        )
    schema = dict.fromkeys(FRONTIER_COLUMNS, pl.Float64)
    return pl.DataFrame(rows, schema=schema)


def _value_or_none(
    options: Sequence[Option], *, budget: float, rules: PlanRules, robust: bool, limit: float
) -> float | None:
    try:
        return solve(options, budget=budget, rules=rules, robust=robust, time_limit=limit).value
    except Infeasible:
        return None
