"""The sandbox's sibling endpoints agree with each other and with notes rate, as the real ones do
(docs/api.md, "The sibling endpoints"), over 1,000 synthetic creators; and each payload has the
recorded fixture's keys and JSON types."""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from pgy_metrics.clock import FixedClock
from pgy_metrics.contract.endpoints import ENDPOINTS, notes_query
from pgy_metrics.contract.enums import Business
from pgy_metrics.contract.params import Scope
from pgy_metrics.sources.sandbox import SandboxSource
from tests.conftest import FIXTURES

NOW = datetime(2026, 11, 27, 4, 5, 6, tzinfo=UTC)
DATA_DAY = (date(2026, 11, 27) - timedelta(days=1)).isoformat()
CREATORS = 1000
FIXTURE_OF = {
    "blogger_profile": "justoneapi-blogger-profile.json",
    "data_summary": "justoneapi-data-summary.json",
    "fans_summary": "justoneapi-fans-summary.json",
    "fans_profile": "justoneapi-fans-profile.json",
    "fans_history": "justoneapi-fans-history.json",
}
NULLABLE = {
    "blogger_profile": {
        "picturePrice",
        "videoPrice",
        "lowerPrice",
        "pictureState",
        "videoState",
        "pictureShowState",
        "videoShowState",
        "priceState",
        "cooperateState",
        "currentLevel",
        "contentTags",
        "featureTags",
        "personalTags",
        "travelAreaList",
        "tradeType",
        "clothingIndustryPrice",
    },
}
"""Keys a real answer has as null for some creators (a non-enrolled one: no prices, no states)."""
SUMS_TO_ONE = 1e-9


def _user(i: int) -> str:
    return f"{0x5D21AB6B000000000000000 + i * 7919:024x}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _half_up(count: int, total: int) -> str:
    value = (Decimal(100 * count) / Decimal(total)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return "0.0" if value.is_zero() else f"{value:.1f}"


def _fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / FIXTURE_OF[name]).read_bytes())["data"]
    return data


def _all(source: SandboxSource, user: str) -> dict[str, Any]:
    async def fetch() -> dict[str, Any]:
        got: dict[str, Any] = {}
        for name in FIXTURE_OF:
            for query in ENDPOINTS[name].scopes(user):
                got[f"{name}.{query.scope_key}"] = await source.fetch(query)
        for business in Business:
            query = notes_query(user, Scope(business=business))
            got[f"notes_rate.{business.value}"] = await source.fetch(query)
        return got

    return asyncio.run(fetch())


@pytest.fixture(scope="module")
def payloads() -> list[dict[str, Any]]:
    source = SandboxSource(clock=FixedClock(NOW))
    return [_all(source, _user(i)) for i in range(CREATORS)]


def test_every_identity_holds_over_a_thousand_creators(payloads: list[dict[str, Any]]) -> None:
    enrolled = 0
    for got in payloads:
        profile = got["blogger_profile.-"]
        fans = got["fans_summary.-"]
        audience = got["fans_profile.-"]
        history = got["fans_history.DAY_30.FANS_TOTAL"]
        count = fans["fansNum"]

        # One follower count everywhere; the history ends at it, on the day before.
        assert profile["fansCount"] == profile["fansNum"] == count
        assert history["list"][-1] == {"num": count, "dateKey": DATA_DAY}
        assert len(history["list"]) == 30
        assert len(got["fans_history.DAY_90.FANS_TOTAL"]["list"]) == 90
        assert got["fans_history.DAY_90.FANS_TOTAL"]["list"][-30:] == history["list"]
        first = history["list"][0]["num"]
        assert history["fansNumInc"] == count - first == fans["fansIncreaseNum"]
        assert history["fansNumIncRate"] == history["fansNumInc"] / first

        # Growth rates shared; every rate is 100 x count / fansNum, half up, one decimal.
        assert fans["fansGrowthRate"] == _half_up(history["fansNumInc"], first)
        assert abs(float(fans["fansGrowthRate"]) - 100 * history["fansNumIncRate"]) <= 0.05 + 1e-9
        for pair in (
            ("activeFansL28", "activeFansRate"),
            ("engageFansL30", "engageFansRate"),
            ("readFansIn30", "readFansRate"),
            ("payFansUserNum30d", "payFansUserRate30d"),
        ):
            assert fans[pair[1]] == _half_up(fans[pair[0]], count), pair
        increase = got["fans_history.DAY_30.FANS_INCREASE"]
        assert sum(point["num"] for point in increase["list"]) == increase["fansNumInc"]

        for business in Business:
            summary = got[f"data_summary.{business.value}"]
            notes = got[f"notes_rate.{business.value}"]
            assert summary["fans30GrowthRate"] == fans["fansGrowthRate"]
            assert summary["fans30GrowthBeyondRate"] == fans["fansGrowthBeyondRate"]
            assert summary["dateKey"] == audience["dateKey"] == DATA_DAY
            # Medians are the notes-rate scope's (same business, all types, 30 days, all traffic).
            assert summary["readMedian"] == summary["mValidRawReadFeedNum"] == notes["readMedian"]
            assert summary["mAccumImpNum"] == notes["impMedian"]
            assert summary["interactionMedian"] == notes["interactionMedian"]
            assert summary["mEngagementNum"] == notes["mEngagementNum"]
            # CPM = price / impression median x 1000; CPE = price / mEngagementNum; 0 = missing.
            for price_key, cpm_key, cpe_key in (
                ("picturePrice", "estimatePictureCpm", "estimatePictureEngageCost"),
                ("videoPrice", "estimateVideoCpm", "estimateVideoEngageCost"),
            ):
                price = profile[price_key]
                if price and summary["mAccumImpNum"]:
                    assert summary[cpm_key] == price / summary["mAccumImpNum"] * 1000
                else:
                    assert summary[cpm_key] == 0
                if price and summary["mEngagementNum"]:
                    assert summary[cpe_key] == price / summary["mEngagementNum"]
                else:
                    assert summary[cpe_key] == 0

        daily = got["data_summary.DAILY_NOTE"]
        if profile["cooperType"] == 1:  # on the marketplace: prices, states, medians
            enrolled += 1
            prices = [p for p in (profile["picturePrice"], profile["videoPrice"]) if p is not None]
            assert prices and profile["lowerPrice"] == min(prices)
            assert profile["clickMidNum"] == daily["readMedian"]
            assert profile["interMidNum"] == daily["interactionMedian"]
            assert profile["mEngagementNum"] == profile["mengagementNum"] == daily["mEngagementNum"]
            for kind in ("picture", "video"):
                offered = profile[f"{kind}Price"] is not None
                assert profile[f"{kind}State"] == (1 if offered else None)
        else:  # not on the marketplace: null prices and states, as the real one
            for key in ("picturePrice", "videoPrice", "lowerPrice", "pictureState", "videoState"):
                assert profile[key] is None, key
            assert profile["clickMidNum"] == 0 and profile["userType"] == 1
            assert daily["estimatePictureCpm"] == daily["estimatePictureEngageCost"] == 0

        # Audience shares: fractions; ages, gender and provinces sum to 1; lists descending.
        assert [a["group"] for a in audience["ages"]] == ["<18", "18-24", "25-34", "35-44", ">44"]
        assert math.fsum(a["percent"] for a in audience["ages"]) == pytest.approx(
            1, abs=SUMS_TO_ONE
        )
        gender = audience["gender"]
        assert gender["male"] + gender["female"] == pytest.approx(1, abs=SUMS_TO_ONE)
        provinces = [p["percent"] for p in audience["provinces"]]
        assert math.fsum(provinces) == pytest.approx(1, abs=SUMS_TO_ONE)
        for key, most in (("interests", 20), ("provinces", 40), ("cities", 10), ("devices", 10)):
            shares = [item["percent"] for item in audience[key]]
            assert 0 < len(shares) <= most, key
            assert shares == sorted(shares, reverse=True), key
            assert all(0 < share <= 1 for share in shares), key
        assert 0.8 < math.fsum(i["percent"] for i in audience["interests"]) < 1
    assert 0 < enrolled < CREATORS  # both kinds of creator occur


@pytest.mark.parametrize("name", list(FIXTURE_OF))
def test_each_payload_has_the_fixtures_keys_and_json_types(
    payloads: list[dict[str, Any]], name: str
) -> None:
    fixture = _fixture(name)
    nullable = NULLABLE.get(name, set())
    for got in payloads[:200]:
        for key, data in got.items():
            if not key.startswith(f"{name}."):
                continue
            assert set(data) == set(fixture), key
            for field, value in fixture.items():
                kind = _json_type(data[field])
                if value is None or (kind == "null" and field in nullable):
                    continue
                assert kind == _json_type(value), (key, field, data[field])
                if isinstance(value, list) and value and data[field]:
                    assert _json_type(data[field][0]) == _json_type(value[0]), (key, field)
                    if isinstance(value[0], dict):
                        assert set(data[field][0]) == set(value[0]), (key, field)


def test_the_same_creator_and_day_give_the_same_payloads() -> None:
    first = _all(SandboxSource(clock=FixedClock(NOW)), _user(1))
    again = _all(SandboxSource(clock=FixedClock(NOW)), _user(1))
    assert json.dumps(first) == json.dumps(again)
    later = _all(SandboxSource(clock=FixedClock(NOW + timedelta(days=1))), _user(1))
    before = first["fans_history.DAY_30.FANS_TOTAL"]["list"]
    after = later["fans_history.DAY_30.FANS_TOTAL"]["list"]
    assert after[:-1] == before[1:]  # the curve depends on the calendar day only
