"""The typed models of the five sibling endpoints (contract/siblings.py): each recorded fixture
parses and writes back byte for byte through the envelope, units and nulls stay as on the wire,
and every synthetic payload of the sandbox parses too."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from pgy_metrics.clock import FixedClock
from pgy_metrics.contract.endpoints import ENDPOINTS, SIBLING_SPECS
from pgy_metrics.contract.envelope import Envelope
from pgy_metrics.contract.siblings import (
    BloggerProfileData,
    DataSummaryData,
    FansHistoryData,
    FansProfileData,
    FansSummaryData,
    WireModel,
)
from pgy_metrics.sources.sandbox import SandboxSource
from tests.conftest import FIXTURES

FIXTURE_OF = {
    "blogger_profile": "justoneapi-blogger-profile.json",
    "data_summary": "justoneapi-data-summary.json",
    "fans_summary": "justoneapi-fans-summary.json",
    "fans_profile": "justoneapi-fans-profile.json",
    "fans_history": "justoneapi-fans-history.json",
}


def _bytes(endpoint: str) -> bytes:
    return (FIXTURES / FIXTURE_OF[endpoint]).read_bytes()


def _model(endpoint: str) -> type[WireModel]:
    model = ENDPOINTS[endpoint].data_model
    assert isinstance(model, type) and issubclass(model, WireModel)
    return model


def test_every_sibling_spec_names_its_typed_model() -> None:
    assert {spec.name: spec.data_model for spec in SIBLING_SPECS} == {
        "blogger_profile": BloggerProfileData,
        "data_summary": DataSummaryData,
        "fans_summary": FansSummaryData,
        "fans_profile": FansProfileData,
        "fans_history": FansHistoryData,
    }


@pytest.mark.parametrize("endpoint", sorted(FIXTURE_OF))
def test_fixture_round_trips_byte_for_byte_through_the_typed_model(endpoint: str) -> None:
    recorded = _bytes(endpoint)
    envelope = Envelope.from_json(recorded)
    assert envelope.data is not None
    model = _model(endpoint).from_raw(envelope.data)
    assert model.raw is envelope.data
    rebuilt = Envelope.from_raw({**envelope.raw, "data": model.wire()})
    assert rebuilt.to_json(indent=2).encode() == recorded


def test_round_trip_keeps_scrambled_key_order_and_int_or_float_spelling() -> None:
    raw = json.loads(_bytes("data_summary"))["data"]
    wire = DataSummaryData.from_raw(raw).wire()
    assert list(wire) == list(raw)
    assert wire["mAccumImpCompare"] == 95 and isinstance(wire["mAccumImpCompare"], int)
    assert isinstance(wire["mValidRawReadFeedCompare"], float)


def test_profile_fields_keep_their_units_and_nulls() -> None:
    raw = json.loads(_bytes("blogger_profile"))["data"]
    profile = BloggerProfileData.from_raw(raw)
    assert (profile.picture_price, profile.video_price, profile.lower_price) == (
        180.0,
        200.0,
        180.0,
    )
    assert profile.on_marketplace and profile.picture_state == 1 and profile.current_level == 2
    assert profile.fans_count == profile.fans_num == 2031
    assert profile.note_sign is None and profile.content_tags is not None
    assert profile.content_tags[0].taxonomy1_tag == "家居家装"
    assert profile.m_engagement_num == profile.mengagement_num == 91
    # The ~100 always-empty keys pass through unnamed, as sent.
    assert profile.model_extra is not None and "fans30GrowthRate" in profile.model_extra

    # A creator not on the marketplace: prices null, never 0.
    off = BloggerProfileData.from_raw(
        {**raw, "picturePrice": None, "videoPrice": None, "lowerPrice": None, "pictureState": None}
    )
    assert off.picture_price is None and off.video_price is None and not off.on_marketplace


def test_rates_stay_percent_strings_and_shares_fractions() -> None:
    summary = FansSummaryData.from_raw(json.loads(_bytes("fans_summary"))["data"])
    assert summary.active_fans_rate == "58.2" and summary.active_fans_l28 == 1182
    audience = FansProfileData.from_raw(json.loads(_bytes("fans_profile"))["data"])
    assert audience.ages is not None and [a.group for a in audience.ages] == [
        "<18",
        "18-24",
        "25-34",
        "35-44",
        ">44",
    ]
    assert abs(sum(a.percent for a in audience.ages) - 1) < 1e-9
    assert audience.gender is not None and audience.gender.female is not None
    assert 0 < audience.gender.female < 1
    history = FansHistoryData.from_raw(json.loads(_bytes("fans_history"))["data"])
    assert history.fans_num_inc_rate == 0.0155 and history.points is not None
    assert history.points[-1].num - history.points[0].num == history.fans_num_inc == 31


@pytest.mark.parametrize(
    ("model", "change"),
    [
        (BloggerProfileData, {"picturePrice": "180"}),
        (FansSummaryData, {"activeFansRate": 58.2}),
        (FansHistoryData, {"fansNumIncRate": "0.0155"}),
        (FansProfileData, {"ages": [{"group": "<18"}]}),
    ],
)
def test_models_are_strict_about_wire_types(model: type[WireModel], change: dict[str, Any]) -> None:
    endpoint = next(spec.name for spec in SIBLING_SPECS if spec.data_model is model)
    raw = {**json.loads(_bytes(endpoint))["data"], **change}
    with pytest.raises(ValidationError):
        model.from_raw(raw)


def test_every_sandbox_payload_parses_into_its_model_and_writes_back_unchanged() -> None:
    source = SandboxSource(clock=FixedClock(datetime(2026, 11, 27, 4, 5, 6, tzinfo=UTC)))

    async def every_payload() -> list[tuple[str, dict[str, Any]]]:
        found = []
        for i in range(60):
            user = f"{0x5D21AB6B000000000000000 + i * 7919:024x}"
            for spec in SIBLING_SPECS:
                for query in spec.scopes(user):
                    found.append((spec.name, await source.fetch(query)))
        return found

    payloads = asyncio.run(every_payload())
    off_marketplace = 0
    for endpoint, data in payloads:
        model = _model(endpoint).from_raw(data)
        assert json.dumps(model.wire(), ensure_ascii=False) == json.dumps(data, ensure_ascii=False)
        if isinstance(model, BloggerProfileData) and not model.on_marketplace:
            off_marketplace += 1
            assert model.picture_price is None and model.lower_price is None
    assert off_marketplace > 0, "the sandbox has creators not on the marketplace"
