"""The audience target in the planner: as a constraint it holds in every chosen plan (and the
optimum under it matches a brute force), as a weighted objective it trades value for fit; the
rules file validates it with the key and the allowed values."""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from pgy_metrics.analytics.audience import Audience, AudienceTarget
from pgy_metrics.analytics.candidates import RulesError, load_rules, rules_from_mapping
from pgy_metrics.analytics.planner import (
    Infeasible,
    Option,
    PlanRules,
    audience_unknown,
    greedy,
    plan_audience,
    solve,
)

TOLERANCE = 1e-6
WOMEN_18_34 = AudienceTarget(gender="female", gender_min=0.7, ages=("18-24", "25-34"), ages_min=0.6)


def fans(female: float, young: float) -> Audience:
    """An audience with ``female`` women and ``young`` of it aged 18-34 (split over two groups)."""
    rest = 1 - young
    return Audience(
        female=female,
        male=1 - female,
        ages=(("<18", rest / 2), ("18-24", young / 2), ("25-34", young / 2), (">44", rest / 2)),
        cities=(("上海", 0.05), ("成都", 0.03)),
    )


def option(n: int, *, price: float, value: float, audience: Audience | None) -> Option:
    return Option(
        user_id=f"5d21ab6b{n:016x}",
        format="photo",
        price=price,
        value=value,
        robust_value=value,
        audience=audience,
        basis="COOPERATE_NOTE.PHOTO_TEXT.DAY_90.ALL",
    )


def random_pool(seed: int, n: int = 9) -> list[Option]:
    rng = random.Random(seed)
    return [
        option(
            i,
            price=rng.randint(50, 400),
            value=rng.randint(100, 5000),
            audience=fans(rng.uniform(0.3, 0.95), rng.uniform(0.3, 0.9)),
        )
        for i in range(n)
    ]


def reached(chosen: Sequence[Option], target: AudienceTarget) -> dict[str, float]:
    """The value-weighted share per dimension, computed here independently of the planner."""
    total = sum(o.value for o in chosen)
    return {
        d: sum(o.value * (o.audience.share(d, target) or 0) for o in chosen if o.audience) / total
        for d in target.dimensions()
    }


def brute_force(options: Sequence[Option], budget: float, target: AudienceTarget) -> float | None:
    best: float | None = None
    for size in range(1, len(options) + 1):
        for chosen in itertools.combinations(options, size):
            if sum(o.price for o in chosen) > budget:
                continue
            shares = reached(chosen, target)
            if any(shares[d] < m - TOLERANCE for d, m in target.dimensions().items()):
                continue
            value = sum(o.value for o in chosen)
            best = value if best is None or value > best else best
    return best


@pytest.mark.parametrize("seed", range(25))
def test_the_constraint_holds_in_the_chosen_plan_and_the_plan_is_the_true_optimum(
    seed: int,
) -> None:
    options = random_pool(seed)
    budget = 700.0
    rules = PlanRules(audience=WOMEN_18_34)
    expected = brute_force(options, budget, WOMEN_18_34)
    if expected is None:
        with pytest.raises(Infeasible):
            solve(options, budget=budget, rules=rules)
        return
    plan = solve(options, budget=budget, rules=rules)
    shares = reached(plan.chosen, WOMEN_18_34)
    assert shares["gender"] >= 0.7 - TOLERANCE and shares["ages"] >= 0.6 - TOLERANCE
    assert plan.audience == pytest.approx(shares)
    assert plan.value == pytest.approx(expected)
    assert plan.spend <= budget


def test_the_constraint_changes_the_plan_when_the_best_value_misses_the_audience() -> None:
    wide = option(1, price=100, value=1000, audience=fans(0.3, 0.4))
    fitting = option(2, price=100, value=600, audience=fans(0.9, 0.8))
    free = solve([wide, fitting], budget=100, rules=PlanRules())
    bound = solve([wide, fitting], budget=100, rules=PlanRules(audience=WOMEN_18_34))
    assert [o.user_id for o in free.chosen] == [wide.user_id]
    assert [o.user_id for o in bound.chosen] == [fitting.user_id]
    assert bound.audience["gender"] == pytest.approx(0.9)


def test_an_unreachable_target_is_diagnosed_by_name() -> None:
    options = [option(i, price=100, value=500, audience=fans(0.5, 0.5)) for i in range(3)]
    target = AudienceTarget(gender="female", gender_min=0.8)
    with pytest.raises(Infeasible) as caught:
        solve(options, budget=1000, rules=PlanRules(audience=target))
    assert caught.value.constraints == ("audience.gender female (min 0.8)",)


def test_the_objective_trades_value_for_audience_fit() -> None:
    wide = option(1, price=100, value=1000, audience=fans(0.35, 0.3))  # fit (0.5 + 0.5) / 2
    fitting = option(2, price=100, value=700, audience=fans(0.9, 0.8))  # fit 1
    options = [wide, fitting]

    def chosen(weight: float) -> str:
        target = WOMEN_18_34.model_copy(update={"mode": "objective", "weight": weight})
        plan = solve(options, budget=100, rules=PlanRules(audience=target))
        (only,) = plan.chosen
        return only.user_id

    # worth = value x ((1 - w) + w x fit): wide 1000 (1 - w/2) vs fitting 700; break-even w = 0.6
    assert chosen(0.0) == wide.user_id
    assert chosen(0.5) == wide.user_id
    assert chosen(0.7) == fitting.user_id
    assert chosen(1.0) == fitting.user_id
    target = WOMEN_18_34.model_copy(update={"mode": "objective", "weight": 0.7})
    rules = PlanRules(audience=target)
    plan = solve(options, budget=100, rules=rules)
    assert plan.value == pytest.approx(700)  # a full fit keeps its whole value
    assert rules.worth(wide, robust=False) == pytest.approx(1000 * (0.3 + 0.7 * 0.5))
    assert greedy(options, budget=100, rules=rules).chosen == plan.chosen


def test_creators_without_a_fans_profile_are_left_out_and_named() -> None:
    known = option(1, price=100, value=500, audience=fans(0.9, 0.9))
    unknown = option(2, price=100, value=5000, audience=None)
    rules = PlanRules(audience=WOMEN_18_34)
    assert audience_unknown([known, unknown], rules) == [unknown.user_id]
    plan = solve([known, unknown], budget=1000, rules=rules)
    assert [o.user_id for o in plan.chosen] == [known.user_id]
    assert audience_unknown([known, unknown], PlanRules()) == []


def test_greedy_keeps_the_target_or_says_it_missed_it() -> None:
    for seed in range(10):
        options = random_pool(seed)
        rules = PlanRules(audience=WOMEN_18_34)
        plan = greedy(options, budget=700, rules=rules)
        missed = [rule for rule in plan.unmet if rule.startswith("audience.")]
        shares = plan_audience(plan.chosen, rules)
        for dimension, minimum in WOMEN_18_34.dimensions().items():
            if shares.get(dimension, 0) < minimum - TOLERANCE:
                assert WOMEN_18_34.describe(dimension) in missed


def test_tier1_cities_count_the_four_cities() -> None:
    target = AudienceTarget(cities="tier1", cities_min=0.04)
    assert target.shares(fans(0.5, 0.5)) == {"cities": pytest.approx(0.05)}  # 上海 only
    named = AudienceTarget(cities=("成都", "上海"), cities_min=0.04)
    assert named.shares(fans(0.5, 0.5)) == {"cities": pytest.approx(0.08)}


def test_the_rules_file_reads_an_audience_table(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[audience]\nmode = "objective"\nweight = 0.3\ngender = "female"\ngender_min = 0.7\n'
        'ages = ["18-24", "25-34"]\nages_min = 0.6\ncities = "tier1"\ncities_min = 0.15\n',
        encoding="utf-8",
    )
    target = load_rules(path).audience
    assert target is not None and target.mode == "objective" and target.weight == 0.3
    assert target.dimensions() == {"gender": 0.7, "ages": 0.6, "cities": 0.15}


@pytest.mark.parametrize(
    ("audience", "message"),
    [
        ({"gender": "women", "gender_min": 0.7}, "audience.gender: Input should be 'female' or"),
        ({"gender": "female", "gender_min": 1.5}, "audience.gender_min: "),
        ({"ages": ["18-34"], "ages_min": 0.6}, "audience.ages: Input should be '<18', '18-24'"),
        ({"gender": "female"}, "audience.gender needs audience.gender_min"),
        ({"ages_min": 0.5}, "audience.ages_min needs audience.ages"),
        ({"mode": "soft", "gender": "male", "gender_min": 0.5}, "constraint or objective"),
        ({"tier1": True}, "unknown key 'audience.tier1'; allowed keys in [audience]: mode"),
        ({}, "give at least one of gender"),
    ],
)
def test_bad_audience_tables_name_the_key_and_the_allowed_values(
    audience: dict[str, object], message: str
) -> None:
    with pytest.raises(RulesError) as caught:
        rules_from_mapping({"audience": audience})
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)
