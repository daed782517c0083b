"""The contract as data: envelope round trip, typed models, enums, scope keys, parameter errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from pgy_metrics.contract import (
    AdvertiseSwitch,
    Business,
    BusinessCode,
    DateType,
    Envelope,
    NotesRateData,
    NoteType,
    ParamError,
    Scope,
    parse_user_id,
)
from pgy_metrics.contract.envelope import encode_envelope, format_record_time


def test_fixture_round_trips_byte_for_byte(fixture_bytes: bytes) -> None:
    envelope = Envelope.from_json(fixture_bytes)
    assert envelope.code == BusinessCode.SUCCESS
    assert envelope.ok
    assert envelope.record_time == "2025-12-08T18:39:29.651698781"
    assert envelope.to_json(indent=2).encode() == fixture_bytes


def test_fixture_data_parses_into_the_typed_model(fixture_bytes: bytes) -> None:
    data = Envelope.from_json(fixture_bytes).typed_data()
    assert data is not None
    assert data.note_number == 3
    assert data.read_median == 1471
    assert data.interaction_rate == "3.4"  # percent string, kept as sent
    assert data.engagement_median == 91
    assert data.follow_median == 1
    assert data.m_engagement_num == data.mengagement_num == 91
    assert data.picture3s_view_rate == "73.0"
    assert data.note_type[0].content_tag == "美妆"
    assert data.page_percent_vo is not None
    assert data.page_percent_vo.imp_other_percent == pytest.approx(0.017)
    assert data.notes is not None and len(data.notes) == 3
    assert data.notes[2].read_beyond_rate == -0.968
    assert data.long_term_cooperate_note_vo is not None
    assert data.long_term_cooperate_note_vo.note_number == 0
    assert data.long_term_cooperate_note_vo.recent_read_num is None
    assert data.trade_names is None
    # the raw JSON stays beside the typed view, the same object that was parsed
    assert data.raw == json.loads(fixture_bytes)["data"]
    assert list(data.raw)[:3] == ["noteNumber", "videoNoteNumber", "hundredLikePercent"]


def test_typed_model_accepts_either_spelling_of_duplicated_keys(fixture_bytes: bytes) -> None:
    raw = json.loads(fixture_bytes)["data"]
    only_lower = {k: v for k, v in raw.items() if k not in ("mEngagementNum", "mFollowCnt")}
    only_camel = {k: v for k, v in raw.items() if k not in ("mengagementNum", "mfollowCnt")}
    assert NotesRateData.from_raw(only_lower).engagement_median == 91
    assert NotesRateData.from_raw(only_camel).follow_median == 1
    neither = {k: v for k, v in only_lower.items() if k != "mengagementNum"}
    with pytest.raises(ValidationError, match="mEngagementNum"):
        NotesRateData.from_raw(neither)


def test_typed_model_is_strict_about_wire_types(fixture_bytes: bytes) -> None:
    raw = json.loads(fixture_bytes)["data"]
    with pytest.raises(ValidationError):
        NotesRateData.from_raw({**raw, "interactionRate": 3.4})  # must be the string "3.4"
    with pytest.raises(ValidationError):
        NotesRateData.from_raw({**raw, "readMedian": "1471"})


def test_typed_model_keeps_unknown_upstream_fields(fixture_bytes: bytes) -> None:
    raw = json.loads(fixture_bytes)["data"]
    data = NotesRateData.from_raw({**raw, "brandNewField": 7})
    assert data.model_extra == {"brandNewField": 7}


def test_empty_scope_is_recognised() -> None:
    raw = json.loads(
        '{"noteNumber":0,"videoNoteNumber":0,"hundredLikePercent":"0.0",'
        '"thousandLikePercent":"0.0","noteType":[],"tradeNames":null,"impMedian":0,'
        '"impMedianBeyondRate":"41.0","readMedian":0,"readMedianBeyondRate":"38.2",'
        '"interactionMedian":0,"interactionRate":"0.0","interactionBeyondRate":"50.1",'
        '"likeMedian":0,"collectMedian":0,"commentMedian":0,"shareMedian":0,'
        '"videoFullViewRate":"0.0","videoFullViewBeyondRate":"0.0","picture3sViewRate":"0.0",'
        '"notes":null,"pagePercentVo":null,"mEngagementNum":0,"mFollowCnt":0}'
    )
    assert NotesRateData.from_raw(raw).is_empty_scope


@pytest.mark.parametrize(
    ("member", "api", "upstream", "label"),
    [
        (Business.DAILY_NOTE, "DAILY_NOTE", 0, "日常笔记"),
        (Business.COOPERATE_NOTE, "COOPERATE_NOTE", 1, "合作笔记"),
        (NoteType.PHOTO_TEXT_AND_VIDEO, "PHOTO_TEXT_AND_VIDEO", 3, "图文+视频"),
        (NoteType.PHOTO_TEXT, "PHOTO_TEXT", 1, "图文"),
        (NoteType.VIDEO, "VIDEO", 2, "视频"),
        (DateType.DAY_30, "DAY_30", 1, "近30天"),
        (DateType.DAY_90, "DAY_90", 2, "近90天"),
        (AdvertiseSwitch.ALL, "ALL", 1, "全流量"),
        (AdvertiseSwitch.ORGANIC_ONLY, "ORGANIC_ONLY", 0, "仅自然流量"),
    ],
)
def test_enum_mapping_follows_the_contract_table(
    member: Business | NoteType | DateType | AdvertiseSwitch, api: str, upstream: int, label: str
) -> None:
    assert member.value == api
    assert member.upstream == upstream
    assert member.label == label


def test_there_are_24_scopes_with_unique_stable_keys() -> None:
    scopes = list(Scope.all())
    assert len(scopes) == 24
    assert len({scope.key for scope in scopes}) == 24
    assert len({tuple(scope.upstream_params().values()) for scope in scopes}) == 24
    for scope in scopes:
        assert Scope.from_key(scope.key) == scope
        assert Scope.from_params(scope.api_params()) == scope
    assert Scope().key == "DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL"
    assert Scope().upstream_params() == {
        "business": 0,
        "noteType": 3,
        "dateType": 1,
        "advertiseSwitch": 1,
    }


def test_scope_defaults_apply_to_absent_and_empty_params() -> None:
    assert Scope.from_params({}) == Scope()
    assert Scope.from_params({"business": "", "dateType": "DAY_90"}) == Scope(
        date_type=DateType.DAY_90
    )


@pytest.mark.parametrize(
    ("params", "param", "fragment"),
    [
        ({"business": "DAILY"}, "business", "DAILY_NOTE, COOPERATE_NOTE"),
        ({"noteType": "video"}, "noteType", "PHOTO_TEXT_AND_VIDEO, PHOTO_TEXT, VIDEO"),
        ({"dateType": "DAY_7"}, "dateType", "DAY_30, DAY_90"),
        ({"advertiseSwitch": "1"}, "advertiseSwitch", "ALL, ORGANIC_ONLY"),
    ],
)
def test_unknown_enum_values_name_the_parameter_and_allowed_values(
    params: dict[str, str], param: str, fragment: str
) -> None:
    with pytest.raises(ParamError) as caught:
        Scope.from_params(params)
    assert caught.value.param == param
    assert caught.value.message.startswith(param)
    assert fragment in caught.value.message
    assert repr(next(iter(params.values()))) in caught.value.message


@pytest.mark.parametrize(
    "value", [None, "", "5d21ab6b00000000120156", "5D21AB6B000000001201567D", "x" * 24]
)
def test_bad_user_ids_are_refused_with_the_expected_shape(value: str | None) -> None:
    with pytest.raises(ParamError) as caught:
        parse_user_id(value)
    assert caught.value.param == "userId"
    assert "24 lowercase hex" in caught.value.message


def test_good_user_id_passes() -> None:
    assert parse_user_id("5d21ab6b000000001201567d") == "5d21ab6b000000001201567d"


def test_encoded_envelope_splices_data_unchanged(fixture_bytes: bytes) -> None:
    data = json.loads(fixture_bytes)["data"]
    data_json = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    body = encode_envelope(
        code=0,
        message=None,
        data_json=data_json,
        record_time="2026-01-01T00:00:00.000000",
        request_id="abc",
    )
    decoded = json.loads(body)
    assert list(decoded) == ["code", "message", "data", "recordTime", "requestId"]
    assert decoded["data"] == data
    assert decoded["data"]["pagePercentVo"]["impOtherPercent"] == 0.01700000000000005
    failure = json.loads(
        encode_envelope(
            code=400,
            message='userId "x" is bad',
            data_json=None,
            record_time=None,
            request_id="r",
        )
    )
    assert failure == {
        "code": 400,
        "message": 'userId "x" is bad',
        "data": None,
        "recordTime": None,
        "requestId": "r",
    }


def test_record_time_is_local_wall_time_with_microseconds() -> None:
    moment = datetime(2026, 11, 26, 7, 4, 5, 123456, tzinfo=UTC)
    assert format_record_time(moment, ZoneInfo("Asia/Shanghai")) == "2026-11-26T15:04:05.123456"
    assert format_record_time(moment.replace(microsecond=0), ZoneInfo("UTC")).endswith(".000000")


def test_only_success_is_billed() -> None:
    assert [code for code in BusinessCode if code.billed] == [BusinessCode.SUCCESS]
    assert all(code.default_message for code in BusinessCode if code is not BusinessCode.SUCCESS)


def test_envelope_rejects_non_envelopes() -> None:
    with pytest.raises(ValueError, match="not an envelope"):
        Envelope.from_json(b'{"timestamp":"x","status":400,"error":"Bad Request"}')
    with pytest.raises(ValueError, match="not an envelope"):
        Envelope.from_json(b"[1,2]")


@pytest.mark.parametrize(
    ("base_url", "fragment"),
    [
        ("https://api.example.test", None),
        ("http://127.0.0.1:8000/prefix", None),
        ("ftp://x.test", "http(s) URL (http:// or https://) with a host"),
        ("nothing", "http(s) URL (http:// or https://) with a host"),
        ("https://x.test/?token=abc", "only scheme, host and optional path"),
        ("https://u:p@x.test", "only scheme, host and optional path"),
        ("https://x.test:notaport", "not a URL"),
    ],
)
def test_one_rule_for_base_urls(base_url: str, fragment: str | None) -> None:
    from pgy_metrics.contract.endpoints import base_url_problem

    problem = base_url_problem(base_url)
    if fragment is None:
        assert problem is None
    else:
        assert problem is not None and fragment in problem
        assert "abc" not in problem and "u:p" not in problem


def test_scope_params_may_have_the_names_the_user_typed() -> None:
    # the CLI's options, in the order of Scope.PARAMS: values read and errors named by them
    names = ("--business", "--note-type", "--date-type", "--advertise-switch")
    assert Scope.from_params({"--date-type": "DAY_90"}, names=names) == Scope(
        date_type=DateType.DAY_90
    )
    with pytest.raises(ParamError) as caught:
        Scope.from_params({"--note-type": "video", "noteType": "VIDEO"}, names=names)
    assert caught.value.param == "--note-type"
    assert caught.value.message.startswith("--note-type must be one of PHOTO_TEXT_AND_VIDEO")
