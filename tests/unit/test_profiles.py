"""What the planner reads from the sibling endpoints: each pure function on the real fixtures
(an enrolled creator, 180/200 CNY) and on the shapes docs/siblings gives for the rest (a creator
not on the marketplace, hidden prices, zero estimates, empty lists)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pgy_metrics.analytics.audience import AudienceTarget
from pgy_metrics.analytics.profiles import (
    FIELDS_READ,
    audience,
    creator_facts,
    follower_momentum,
    platform_estimates,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
USER = "5d21ab6b000000001201567d"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (FIXTURES / f"justoneapi-{name}.json").read_text(encoding="utf-8")
    )["data"]
    return data


def test_profile_fixture_gives_prices_states_followers_tags_and_no_agency() -> None:
    facts = creator_facts(USER, fixture("blogger-profile"))
    assert facts.prices == {"photo": 180.0, "video": 200.0}
    assert facts.accepting == {"photo": True, "video": True}
    assert facts.followers == 2031
    assert facts.content_tag == "家居家装"
    assert facts.tags == ("家居家装", "家居用品", "测评", "学生")
    assert facts.agency is None  # noteSign null: independent
    assert facts.level == 2
    assert facts.unbookable("photo") is None and facts.unbookable("video") is None


def test_a_creator_not_on_the_marketplace_has_no_price_not_a_zero_price() -> None:
    data = {
        **fixture("blogger-profile"),
        "picturePrice": None,
        "videoPrice": None,
        "pictureState": None,
        "videoState": None,
        "pictureShowState": None,
        "videoShowState": None,
        "currentLevel": None,
        "contentTags": None,
        "noteSign": {"userId": "x" * 24, "name": "示例传媒"},
    }
    facts = creator_facts(USER, data)
    assert facts.prices == {"photo": None, "video": None}
    assert facts.accepting == {"photo": False, "video": False}
    assert "no picturePrice" in (facts.unbookable("photo") or "")
    assert facts.agency == "示例传媒"
    assert facts.content_tag is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"pictureState": 0}, "not accepting photo orders (pictureState 0)"),
        ({"pictureShowState": False}, "no picturePrice"),  # a hidden price is no price
        ({"picturePrice": 0.0}, "no picturePrice"),
        ({"currentLevel": 0}, "account health abnormal (currentLevel 0)"),
    ],
)
def test_unbookable_formats_say_why(change: dict[str, Any], reason: str) -> None:
    facts = creator_facts(USER, {**fixture("blogger-profile"), **change})
    assert reason in (facts.unbookable("photo") or "")


def test_followers_fall_back_to_fans_num() -> None:
    data = {**fixture("blogger-profile"), "fansCount": None, "fansNum": 15139}
    assert creator_facts(USER, data).followers == 15139


def test_platform_estimates_are_per_format_and_zero_is_missing() -> None:
    found = platform_estimates(fixture("data-summary"))
    assert found.cpm["photo"] == pytest.approx(180 / 7594 * 1000)
    assert found.cost_per_engagement["photo"] == pytest.approx(180 / 91)
    assert found.cpm["video"] is None and found.cost_per_engagement["video"] is None  # wire 0
    assert found.date_key == "2025-12-07"


def test_fans_profile_shares_for_a_target() -> None:
    fans = audience(fixture("fans-profile"))
    assert fans is not None
    target = AudienceTarget(
        gender="female",
        gender_min=0.7,
        ages=("18-24", "25-34"),
        ages_min=0.6,
        cities="tier1",
        cities_min=0.1,
    )
    shares = target.shares(fans)
    assert shares["gender"] == pytest.approx(0.7868589743589745)
    assert shares["ages"] == pytest.approx(0.4567307692307693 + 0.3060897435897436)
    # 广州 + 上海 + 北京 + 深圳 of the top 9 cities listed
    assert shares["cities"] == pytest.approx(0.040154 + 0.035754 + 0.033003 + 0.020902, abs=1e-6)
    assert target.fit(fans) == pytest.approx(1.0)  # meets every minimum


def test_an_empty_fans_profile_is_unknown_not_zero() -> None:
    assert audience({"ages": [], "gender": None, "cities": None, "provinces": []}) is None
    partial = audience({"gender": {"male": 0.4, "female": 0.6}, "ages": [], "cities": []})
    target = AudienceTarget(ages=("18-24",), ages_min=0.3, gender="female", gender_min=0.5)
    assert target.shares(partial) == {"gender": 0.6, "ages": None}
    assert not target.known(partial) and target.fit(partial) is None


def test_follower_momentum_from_the_history_curve() -> None:
    history = fixture("fans-history")
    assert follower_momentum(history) == pytest.approx(history["fansNumIncRate"])  # 0.0155
    shuffled = {"list": list(reversed(history["list"]))}  # order comes from dateKey
    assert follower_momentum(shuffled) == pytest.approx(31 / 2000)
    assert follower_momentum({"list": [{"num": 5, "dateKey": "2025-01-01"}]}) is None
    assert follower_momentum({"list": None}) is None


def test_every_field_read_exists_in_the_fixtures() -> None:
    names = {
        "blogger_profile": "blogger-profile",
        "data_summary": "data-summary",
        "fans_profile": "fans-profile",
        "fans_history": "fans-history",
    }
    for endpoint, fields in FIELDS_READ.items():
        data = fixture(names[endpoint])
        for name in fields:
            top = name.split(".")[0].split("[")[0]
            assert top in data, f"{endpoint}.{name}"
