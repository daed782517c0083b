"""The planner: the MILP optimum against brute force, the greedy baseline, diagnosis, validation."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Sequence

import numpy as np
import pytest

from pgy_metrics.analytics.planner import (
    FORMATS,
    Infeasible,
    Objective,
    Option,
    Plan,
    PlanError,
    PlanRules,
    frontier,
    greedy,
    solve,
)

TIERS = ("nano", "micro", "macro")
TAGS = ("beauty", "food", "travel")
TOLERANCE = 1e-6
BRUTE_FORCE_SEEDS = range(240)


def creator(n: int, seed: int = 0) -> str:
    return f"5d21ab6b{seed:08x}{n:08x}"


def option(
    n: int,
    fmt: str = "photo",
    *,
    price: float = 100,
    value: float = 1000,
    robust: float | None = None,
    tier: str | None = "micro",
    tag: str | None = "beauty",
    flags: frozenset[str] = frozenset(),
) -> Option:
    return Option(
        user_id=creator(n),
        format=fmt,
        price=price,
        value=value,
        robust_value=value if robust is None else robust,
        tier=tier,
        content_tag=tag,
        flags=flags,
        basis="COOPERATE_NOTE.PHOTO_TEXT.DAY_90.ALL",
    )


# --- random instances and an independent brute force ---------------------------------------------


def random_instance(seed: int) -> tuple[list[Option], float, PlanRules, bool]:
    rng = random.Random(seed)
    options: list[Option] = []
    for i in range(rng.randint(6, 9)):
        offered = [f for f in FORMATS if rng.random() < 0.75] or [rng.choice(FORMATS)]
        tier = rng.choice(TIERS)
        tag = rng.choice((*TAGS, None))
        flags = frozenset({"thin_sample"}) if rng.random() < 0.15 else frozenset()
        for fmt in offered:
            value = float(rng.randint(500, 20_000))
            options.append(
                Option(
                    user_id=creator(i, seed),
                    format=fmt,
                    price=float(rng.randint(100, 2_000)),
                    value=value,
                    robust_value=float(round(value * rng.uniform(0.4, 1.0))),
                    tier=tier,
                    content_tag=tag,
                    flags=flags,
                )
            )
    cheapest: dict[str, float] = {}
    for o in options:
        cheapest[o.user_id] = min(cheapest.get(o.user_id, math.inf), o.price)
    budget = float(round(sum(cheapest.values()) * rng.uniform(0.2, 0.8)))
    tiers = sorted({o.tier for o in options if o.tier})
    tags = sorted({o.content_tag for o in options if o.content_tag})
    ids = sorted(cheapest)
    rules: dict[str, object] = {}

    def share_pair() -> tuple[float, float]:
        low = rng.choice((0.0, 0.1, 0.2, 0.3, 0.5))
        return low, rng.choice([h for h in (0.4, 0.5, 0.7, 1.0) if h >= low])

    if rng.random() < 0.4:
        rules["tier_spend_share"] = {rng.choice(tiers): share_pair()}
    if rng.random() < 0.3:
        rules["tier_count_share"] = {rng.choice(tiers): share_pair()}
    if tags and rng.random() < 0.4:
        rules["max_per_tag"] = {rng.choice(tags): rng.randint(0, 2)}
    if rng.random() < 0.2:
        rules["max_per_any_tag"] = rng.randint(1, 3)
    if rng.random() < 0.3:
        rules["min_video_share"] = rng.choice((0.25, 0.34, 0.5))
    if rng.random() < 0.2:
        rules["max_creator_budget_share"] = rng.choice((0.3, 0.5, 0.8))
    if rng.random() < 0.3:
        rules["exclude_flags"] = ["thin_sample"]
    picked = rng.sample(ids, 2)
    if rng.random() < 0.3:
        rules["must_include"] = [picked[0]]
    if rng.random() < 0.3:
        rules["must_exclude"] = [picked[1]]
    return options, budget, PlanRules.model_validate(rules), rng.random() < 0.3


def allowed_options(options: Sequence[Option], budget: float, rules: PlanRules) -> list[Option]:
    cap = (rules.max_creator_budget_share or math.inf) * budget
    return [
        o
        for o in options
        if o.user_id not in rules.must_exclude
        and not (o.flags & rules.exclude_flags)
        and o.price <= cap
    ]


def feasible(
    plan: Sequence[Option], *, allowed: Sequence[Option], budget: float, rules: PlanRules
) -> bool:
    """Every rule, checked directly on a set of booked options."""
    eps = 1e-9
    users = [o.user_id for o in plan]
    if len(set(users)) != len(users) or any(o not in allowed for o in plan):
        return False
    if not plan and any(o.price <= budget for o in allowed):
        return False  # a plan books someone when anyone fits
    spend = sum(o.price for o in plan)
    if spend > budget + eps:
        return False
    for tier, (low, high) in rules.tier_spend_share.items():
        part = sum(o.price for o in plan if o.tier == tier)
        if part < low * spend - eps or part > high * spend + eps:
            return False
    for tier, (low, high) in rules.tier_count_share.items():
        part = sum(1 for o in plan if o.tier == tier)
        if part < low * len(plan) - eps or part > high * len(plan) + eps:
            return False
    for tag in {o.content_tag for o in plan if o.content_tag}:
        count = sum(1 for o in plan if o.content_tag == tag)
        if count > rules.max_per_tag.get(tag, count):
            return False
        if rules.max_per_any_tag is not None and count > rules.max_per_any_tag:
            return False
    if rules.min_video_share:
        videos = sum(1 for o in plan if o.format == "video")
        if videos < rules.min_video_share * len(plan) - eps:
            return False
    return set(rules.must_include) <= set(users)


def brute_force(
    options: Sequence[Option], *, budget: float, rules: PlanRules, robust: bool
) -> float | None:
    """The best total value over every assignment (each creator: nothing or one format)."""
    allowed = allowed_options(options, budget, rules)
    by_creator: dict[str, list[Option | None]] = {}
    for o in allowed:
        by_creator.setdefault(o.user_id, [None]).append(o)
    best: float | None = None
    for choice in itertools.product(*by_creator.values()):
        plan = [o for o in choice if o is not None]
        if not feasible(plan, allowed=allowed, budget=budget, rules=rules):
            continue
        total = sum(o.robust_value if robust else o.value for o in plan)
        if best is None or total > best:
            best = total
    return best


def test_optimum_equals_brute_force_on_random_instances() -> None:
    solved = infeasible = greedy_compared = 0
    for seed in BRUTE_FORCE_SEEDS:
        options, budget, rules, robust = random_instance(seed)
        best = brute_force(options, budget=budget, rules=rules, robust=robust)
        if best is None:
            with pytest.raises(Infeasible) as caught:
                solve(options, budget=budget, rules=rules, robust=robust)
            assert caught.value.constraints, f"seed {seed}: nothing named"
            infeasible += 1
            continue
        plan = solve(options, budget=budget, rules=rules, robust=robust)
        allowed = allowed_options(options, budget, rules)
        assert plan.proven_optimal and plan.status == "optimal" and plan.gap == 0.0
        assert feasible(plan.chosen, allowed=allowed, budget=budget, rules=rules), seed
        assert plan.value == pytest.approx(best, abs=TOLERANCE), f"seed {seed}"
        baseline = greedy(options, budget=budget, rules=rules, robust=robust)
        if not baseline.unmet:
            assert feasible(baseline.chosen, allowed=allowed, budget=budget, rules=rules), seed
            assert baseline.value <= plan.value + TOLERANCE, f"seed {seed}"
            greedy_compared += 1
        solved += 1
    assert solved >= 150 and infeasible >= 5 and greedy_compared >= 100, (
        solved,
        infeasible,
        greedy_compared,
    )


def test_relaxing_any_named_constraint_makes_a_plan_possible() -> None:
    """On random infeasible instances, each rule named (unless it is a joint conflict) is a fix."""
    checked = 0
    for seed in BRUTE_FORCE_SEEDS:
        options, budget, rules, _ = random_instance(seed)
        try:
            solve(options, budget=budget, rules=rules)
        except Infeasible as error:
            if error.conflict or not str(error).startswith("no plan satisfies"):
                continue  # a joint conflict, or a must-include problem found before solving
            named = error.constraints
        else:
            continue
        for name in named:
            relaxed = _without(rules, name, budget)
            if relaxed is None:
                continue
            rules_without, budget_without = relaxed
            assert (
                brute_force(options, budget=budget_without, rules=rules_without, robust=False)
                is not None
            ), f"seed {seed}: relaxing {name} leaves no plan"
            checked += 1
    assert checked >= 5


def _without(rules: PlanRules, name: str, budget: float) -> tuple[PlanRules, float] | None:
    """The rules with the named group relaxed (None for groups not a single rule)."""
    data = rules.model_dump()
    if name.startswith("budget"):
        # the per-creator cap scales with the budget, so relaxing only the budget row is not a
        # change of inputs the brute force can express
        return None if rules.max_creator_budget_share else (rules, budget * 1e6)
    if name.startswith("must_include "):
        data["must_include"] = [u for u in data["must_include"] if u != name.split()[1]]
    elif name.startswith(("tier_spend_share.", "tier_count_share.")):
        key, rest = name.split(".", 1)
        tier, bound = rest.split(" (")
        low, high = data[key][tier]
        data[key][tier] = (0.0, high) if bound.startswith("min") else (low, 1.0)
    elif name.startswith("max_per_tag."):
        data["max_per_tag"].pop(name.split(".", 1)[1].split(" (")[0])
    elif name.startswith("max_per_any_tag"):
        data["max_per_any_tag"] = None
    elif name.startswith("min_video_share"):
        data["min_video_share"] = None
    else:
        return None
    return PlanRules.model_validate(data), budget


# --- infeasibility names the rule to relax -------------------------------------------------------


def test_must_include_costing_more_than_the_budget_names_the_budget() -> None:
    options = [option(1, price=700), option(2, price=500), option(3, price=50)]
    rules = PlanRules(must_include=(creator(1), creator(2)))
    with pytest.raises(Infeasible) as caught:
        solve(options, budget=1000, rules=rules)
    assert str(caught.value).startswith("budget 1000: must-include creators alone cost 1200")


def test_tier_minimum_out_of_reach_is_named() -> None:
    options = [
        option(1, price=5000, tier="macro"),
        option(2, price=200, tier="micro"),
        option(3, price=300, tier="micro"),
    ]
    rules = PlanRules(tier_spend_share={"macro": (0.4, 1.0)})
    with pytest.raises(Infeasible) as caught:
        solve(options, budget=1000, rules=rules)
    assert "tier_spend_share.macro (min 0.4)" in caught.value.constraints
    assert "tier_spend_share.macro (min 0.4)" in str(caught.value)


def test_conflicting_must_include_and_count_share_names_both() -> None:
    options = [option(1, price=100, tier="macro")] + [
        option(n, price=300, tier="micro") for n in range(2, 8)
    ]
    rules = PlanRules(must_include=(creator(1),), tier_count_share={"macro": (0.0, 0.2)})
    with pytest.raises(Infeasible) as caught:
        solve(options, budget=1000, rules=rules)
    assert set(caught.value.constraints) == {
        "budget 1000",
        f"must_include {creator(1)}",
        "tier_count_share.macro (max 0.2)",
    }
    assert "relaxing any one of these makes a plan possible" in str(caught.value)
    assert not caught.value.conflict


def test_video_share_needs_a_video_creator_in_budget() -> None:
    options = [option(1, "photo", price=100), option(2, "video", price=900)]
    rules = PlanRules(min_video_share=0.5)
    with pytest.raises(Infeasible) as caught:
        solve(options, budget=500, rules=rules)
    assert "min_video_share (min 0.5)" in caught.value.constraints


@pytest.mark.parametrize(
    ("rules", "reason"),
    [
        (PlanRules(must_include=(creator(9),)), "not among the options"),
        (
            PlanRules(must_include=(creator(1),), exclude_flags=frozenset({"thin_sample"})),
            "excluded flag(s) thin_sample",
        ),
        (
            PlanRules(must_include=(creator(1),), max_creator_budget_share=0.1),
            "costs 500 > max_creator_budget_share 0.1 x budget 1000",
        ),
    ],
)
def test_must_include_that_cannot_be_booked_is_named(rules: PlanRules, reason: str) -> None:
    options = [option(1, price=500, flags=frozenset({"thin_sample"})), option(2)]
    with pytest.raises(Infeasible) as caught:
        solve(options, budget=1000, rules=rules)
    assert str(caught.value).startswith("must_include ")
    assert reason in str(caught.value)


# --- input validation ----------------------------------------------------------------------------


@pytest.mark.parametrize("budget", [0, -5, math.nan, math.inf])
def test_budget_must_be_positive(budget: float) -> None:
    with pytest.raises(PlanError, match="budget must be a positive number"):
        solve([option(1)], budget=budget, rules=PlanRules())
    with pytest.raises(PlanError, match="budget must be a positive number"):
        greedy([option(1)], budget=budget, rules=PlanRules())


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"tier_spend_share": {"macro": (0.5, 1.2)}}, "macro: shares must be in [0, 1]"),
        ({"tier_count_share": {"macro": (0.6, 0.4)}}, "macro: min 0.6 is above max 0.4"),
        ({"min_video_share": 1.5}, "less than or equal to 1"),
        ({"max_creator_budget_share": 0}, "greater than 0"),
        ({"max_per_tag": {"food": -1}}, "greater than or equal to 0"),
        ({"must_include": ["5D21"]}, "24 lowercase hex characters"),
        (
            {"must_include": [creator(1)], "must_exclude": [creator(1)]},
            "both in must_include and must_exclude",
        ),
        ({"tier_share": {}}, "Extra inputs are not permitted"),
    ],
)
def test_rules_are_validated(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        PlanRules.model_validate(data)


def test_unknown_tier_is_named_with_the_tiers_present() -> None:
    options = [option(1, tier="macro"), option(2, tier="micro")]
    with pytest.raises(PlanError) as caught:
        solve(options, budget=1000, rules=PlanRules(tier_spend_share={"mcaro": (0.1, 0.5)}))
    assert str(caught.value) == (
        "tier_spend_share names tier(s) mcaro that no candidate has; "
        "tiers among the candidates: macro, micro"
    )


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (option(1, price=0), "price must be a positive number"),
        (option(1, value=-1), "value must be a number >= 0"),
        (option(1, "reel"), "format must be one of photo, video"),
        (option(2), "appears twice"),
    ],
)
def test_options_are_validated(bad: Option, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        solve([option(2), bad], budget=1000, rules=PlanRules())


# --- the plan itself ------------------------------------------------------------------------------


def test_one_format_per_creator_and_the_better_one_wins() -> None:
    options = [option(1, "photo", price=100, value=900), option(1, "video", price=100, value=1200)]
    plan = solve(options, budget=1000, rules=PlanRules(), objective=Objective.READS)
    assert [(o.user_id, o.format) for o in plan.chosen] == [(creator(1), "video")]
    assert (plan.value, plan.spend, plan.objective) == (1200, 100, Objective.READS)


def test_robust_plan_maximises_robust_values_and_never_beats_the_point_optimum() -> None:
    options = [
        option(1, price=500, value=5000, robust=1000),
        option(2, price=500, value=4000, robust=3500),
        option(3, price=500, value=3000, robust=2900),
    ]
    point = solve(options, budget=1000, rules=PlanRules())
    robust = solve(options, budget=1000, rules=PlanRules(), robust=True)
    assert {o.user_id for o in point.chosen} == {creator(1), creator(2)}
    assert {o.user_id for o in robust.chosen} == {creator(2), creator(3)}
    assert robust.value == 6400 and robust.robust
    assert robust.value <= point.value


def test_per_creator_budget_cap_and_exclusions_remove_options() -> None:
    options = [
        option(1, price=900, value=100_000),
        option(2, price=100, value=10, flags=frozenset({"paid_boost_heavy"})),
        option(3, price=100, value=20),
        option(4, price=100, value=30),
    ]
    rules = PlanRules(
        max_creator_budget_share=0.5,
        exclude_flags=frozenset({"paid_boost_heavy"}),
        must_exclude=(creator(4),),
    )
    plan = solve(options, budget=1000, rules=rules)
    assert [o.user_id for o in plan.chosen] == [creator(3)]


def test_frame_columns() -> None:
    plan = solve([option(1, price=250, value=1000, robust=800)], budget=1000, rules=PlanRules())
    frame = plan.frame()
    assert frame.columns == [
        "user_id",
        "format",
        "price",
        "value",
        "robust_value",
        "tier",
        "content_tag",
        "basis",
        "value_per_1k_price",
    ]
    assert frame.row(0) == (
        creator(1),
        "photo",
        250.0,
        1000.0,
        800.0,
        "micro",
        "beauty",
        "COOPERATE_NOTE.PHOTO_TEXT.DAY_90.ALL",
        4000.0,
    )
    assert Plan([], 0, 0, 1, None, "optimal", 0).frame().height == 0


def test_solver_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    solve([option(1), option(2)], budget=1000, rules=PlanRules())
    captured = capfd.readouterr()
    assert captured.out == "" and captured.err == ""


def test_greedy_books_by_value_per_price_and_reports_unmet_rules() -> None:
    options = [
        option(1, price=100, value=1000),  # 10 per unit
        option(2, price=600, value=4800),  # 8
        option(3, price=400, value=3000),  # 7.5
    ]
    plan = greedy(options, budget=1000, rules=PlanRules())
    assert [o.user_id for o in plan.chosen] == [creator(1), creator(2)]
    assert plan.status == "greedy" and plan.unmet == ()
    best = solve(options, budget=1000, rules=PlanRules())
    assert best.value == 7800 > plan.value == 5800
    stuck = greedy(
        [option(1, "photo", price=100), option(2, "video", price=900)],
        budget=500,
        rules=PlanRules(min_video_share=0.5),
    )
    assert stuck.status == "greedy_rules_unmet"
    assert "min_video_share (min 0.5)" in stuck.unmet


def test_greedy_books_must_include_first() -> None:
    options = [option(1, price=100, value=1000), option(2, price=900, value=900)]
    plan = greedy(options, budget=950, rules=PlanRules(must_include=(creator(2),)))
    assert [o.user_id for o in plan.chosen] == [creator(2)]


def test_frontier_rows_per_budget() -> None:
    rng = np.random.default_rng(7)
    options = [
        option(n, fmt, price=float(rng.integers(100, 900)), value=float(rng.integers(500, 9000)))
        for n in range(8)
        for fmt in FORMATS
    ]
    frame = frontier(options, budgets=[50, 500, 1500, 3000], rules=PlanRules())
    assert frame.columns == ["budget", "optimal_value", "greedy_value", "robust_value"]
    first = frame.row(0)
    assert first == (50.0, 0.0, 0.0, 0.0)  # nobody fits: the empty plan
    optimal = frame["optimal_value"].to_list()
    assert optimal == sorted(optimal)
    for _, best, baseline, robust in frame.iter_rows():
        assert baseline <= best + TOLERANCE and robust <= best + TOLERANCE
