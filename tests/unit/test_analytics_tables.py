"""Tidy tables: every contract rule, the three readers (JSONL, store, exports), clear errors."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES, HEADLINE_SCOPE
from pgy_metrics.analytics.tables import (
    NOTES_SCHEMA,
    SCOPES_SCHEMA,
    ScopeRecord,
    Tables,
    TablesError,
    load,
    load_jsonl,
    load_store,
    load_tidy,
    notes_frame,
    scopes_frame,
)
from pgy_metrics.client.exports import open_export
from pgy_metrics.clock import FixedClock
from pgy_metrics.contract.columns import COLUMNS, LABELS_ZH
from pgy_metrics.contract.endpoints import NOTES_RATE
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.params import Scope
from pgy_metrics.sources.sandbox import SandboxSource
from pgy_metrics.store import Snapshot, Store

USER = "5d21ab6b000000001201567d"
OTHER_USER = "5d21ab6b000000001201567e"
COLLECTED = "2025-12-08T18:39:29.651698781"
LATER = "2025-12-09T09:00:00.000000"


@pytest.fixture
def fixture_envelope(fixture_bytes: bytes) -> dict[str, Any]:
    envelope: dict[str, Any] = json.loads(fixture_bytes)
    return envelope


@pytest.fixture
def data(fixture_envelope: dict[str, Any]) -> dict[str, Any]:
    """A fresh copy of the real 3-note answer's ``data`` for each test to change."""
    return copy.deepcopy(fixture_envelope["data"])


def record(
    data: dict[str, Any] | None,
    *,
    scope: Scope = HEADLINE_SCOPE,
    user_id: str = USER,
    collected_at: str = COLLECTED,
) -> ScopeRecord:
    return ScopeRecord(user_id, scope, collected_at, data)


def one_row(data: dict[str, Any]) -> dict[str, Any]:
    frame = scopes_frame([record(data)])
    assert frame.height == 1
    return frame.row(0, named=True)


def empty_scope(data: dict[str, Any]) -> dict[str, Any]:
    """An empty scope exactly as upstream sends one (rule 1): zeros, "0.0", nulls, and
    percentiles copied from another scope."""
    data.update(
        noteNumber=0,
        videoNoteNumber=0,
        hundredLikePercent="0.0",
        thousandLikePercent="0.0",
        noteType=[],
        impMedian=0,
        readMedian=0,
        interactionMedian=0,
        interactionRate="0.0",
        likeMedian=0,
        collectMedian=0,
        commentMedian=0,
        shareMedian=0,
        videoFullViewRate="0.0",
        picture3sViewRate="0.0",
        notes=None,
        pagePercentVo=None,
        mEngagementNum=0,
        mengagementNum=0,
        mFollowCnt=0,
        mfollowCnt=0,
    )
    return data


def jsonl_line(
    data: dict[str, Any] | None,
    *,
    scope: Scope = HEADLINE_SCOPE,
    user_id: str = USER,
    code: int = 0,
    collected_at: str = COLLECTED,
    source: str | None = None,
) -> str:
    """One line of ``pgy batch --out x.jsonl`` (client.exports.JsonlWriter), written by hand;
    without ``source``, a line as written before exports recorded it (no such field)."""
    envelope = {
        "code": code,
        "message": None if code == 0 else "collection failed, please retry",
        "data": data,
        "recordTime": collected_at,
        "requestId": "r1",
    }
    line = {
        "user_id": user_id,
        "business": scope.business.value,
        "note_type": scope.note_type.value,
        "date_type": scope.date_type.value,
        "advertise_switch": scope.advertise_switch.value,
        "collected_at": collected_at,
        **({"source": source} if source is not None else {}),
        "envelope": envelope,
    }
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"))


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# -- shape and types -----------------------------------------------------------------------------


def test_scopes_frame_has_the_contract_columns_and_types(data: dict[str, Any]) -> None:
    frame = scopes_frame([record(data)])
    assert tuple(frame.columns) == (*COLUMNS, "scope_key")
    assert frame.schema == pl.Schema(SCOPES_SCHEMA)
    row = frame.row(0, named=True)
    assert row["user_id"] == USER
    assert row["scope_key"] == HEADLINE_SCOPE.key
    assert row["collected_at"] == COLLECTED
    assert row["read_median"] == 1471
    assert row["content_tag_1"] == "美妆"


def test_no_records_give_empty_frames_with_the_schema() -> None:
    assert scopes_frame([]).schema == pl.Schema(SCOPES_SCHEMA)
    assert notes_frame([]).schema == pl.Schema(NOTES_SCHEMA)


def test_notes_frame_has_one_typed_row_per_note(data: dict[str, Any]) -> None:
    notes = notes_frame([record(data)])
    assert notes.schema == pl.Schema(NOTES_SCHEMA)
    assert notes["position"].to_list() == [0, 1, 2]
    assert notes["note_id"][0] == "691d67c4000000001e02ae6c"
    assert notes["publish_time"][0] == date(2025, 11, 19)
    assert notes["format"].to_list() == ["photo", "photo", "photo"]
    assert notes["can_jump"].to_list() == [True, True, True]
    assert notes["read_num"].to_list() == [1471, 4319, 46]
    assert notes["scope_key"].unique().to_list() == [HEADLINE_SCOPE.key]
    assert notes["collected_at"].unique().to_list() == [COLLECTED]


def test_video_notes_are_video_and_unknown_types_are_null(data: dict[str, Any]) -> None:
    data["notes"][1]["type"] = 2
    data["notes"][2]["type"] = 9
    assert notes_frame([record(data)])["format"].to_list() == ["photo", "video", None]


# -- rule 1: empty scope -------------------------------------------------------------------------


def test_empty_scope_metrics_are_null_percentiles_too_but_counts_are_kept(
    data: dict[str, Any],
) -> None:
    row = one_row(empty_scope(data))
    assert data["readMedianBeyondRate"] == "95.8"  # upstream copied it from another scope
    assert row["note_number"] == 0
    assert row["video_note_number"] == 0
    for column in (
        "read_median",
        "imp_median",
        "interaction_median",
        "m_engagement_num",
        "interaction_rate",
        "hundred_like_percent",
        "read_median_beyond_rate",
        "imp_median_beyond_rate",
        "interaction_beyond_rate",
        "video_full_view_beyond_rate",
        "read_search_percent",
    ):
        assert row[column] is None, column
    assert notes_frame([record(data)]).height == 0


def test_pandas_interop_keeps_missing_as_missing(data: dict[str, Any]) -> None:
    """``to_pandas`` (extra ``pandas``) with Arrow-backed columns: integers stay integers and a
    missing value is <NA>, never 0."""
    pd = pytest.importorskip("pandas", reason="the pandas extra is not installed")
    full = copy.deepcopy(data)
    frame = scopes_frame([record(full), record(empty_scope(data), scope=ANALYSIS_SCOPES[1])])
    table = frame.to_pandas(use_pyarrow_extension_array=True)
    assert list(table.columns) == frame.columns
    assert table["read_median"].iloc[0] == 1471
    assert table["read_median"].iloc[1] is pd.NA
    assert table["note_number"].iloc[1] == 0


# -- rule 2: missing is not zero -----------------------------------------------------------------


@pytest.mark.parametrize("marker", [None, "", "-", "暂无"])
def test_missing_markers_are_null_never_zero(data: dict[str, Any], marker: str | None) -> None:
    data.update(
        interactionRate=marker,
        hundredLikePercent=marker,
        readMedianBeyondRate=marker,
        readMedian=marker,
    )
    data["pagePercentVo"]["readSearchPercent"] = marker
    data["notes"][0]["impNum"] = marker
    row = one_row(data)
    for column in (
        "interaction_rate",
        "hundred_like_percent",
        "read_median_beyond_rate",
        "read_median",
        "read_search_percent",
    ):
        assert row[column] is None, column
    assert notes_frame([record(data)])["imp_num"].to_list() == [None, 24053, 169]


def test_video_completion_of_a_scope_without_video_is_null(data: dict[str, Any]) -> None:
    assert data["videoNoteNumber"] == 0 and data["videoFullViewRate"] == "0.0"
    assert one_row(data)["video_full_view_rate"] is None
    data.update(videoNoteNumber=1, videoFullViewRate="12.5")
    assert one_row(data)["video_full_view_rate"] == pytest.approx(0.125)


# -- rule 3: units -------------------------------------------------------------------------------


def test_units_percent_strings_fractions_and_signed_deviations(data: dict[str, Any]) -> None:
    row = one_row(data)
    assert row["interaction_rate"] == pytest.approx(0.034)  # "3.4" -> 0.034
    assert row["read_median_beyond_rate"] == pytest.approx(0.958)
    assert row["content_tag_1_percent"] == pytest.approx(0.333)
    assert row["read_search_percent"] == pytest.approx(0.572)  # already 0-1: unchanged
    assert row["imp_other_percent"] == pytest.approx(0.01700000000000005)
    notes = notes_frame([record(data)])
    # signed deviations from the creator's own median, kept as sent (not percentiles)
    assert notes["imp_beyond_rate"].to_list() == [0.0, 2.167, -0.977]
    assert notes["read_beyond_rate"].to_list() == [0.0, 1.936, -0.968]


# -- rule 4: duplicated keys ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("engagement", "follow"),
    [("mEngagementNum", "mFollowCnt"), ("mengagementNum", "mfollowCnt")],
)
def test_either_spelling_of_a_duplicated_key_is_read_alone(
    data: dict[str, Any], engagement: str, follow: str
) -> None:
    for key in ("mEngagementNum", "mengagementNum", "mFollowCnt", "mfollowCnt"):
        del data[key]
    data[engagement] = 91
    data[follow] = 2
    row = one_row(data)
    assert row["m_engagement_num"] == 91
    assert row["m_follow_cnt"] == 2


# -- rule 5: capped notes ------------------------------------------------------------------------


def test_capped_notes_are_marked_incomplete_and_medians_are_not_recomputed(
    data: dict[str, Any],
) -> None:
    complete = notes_frame([record(data)])
    assert complete["notes_complete"].to_list() == [True] * 3
    assert complete["scope_note_number"].to_list() == [3] * 3

    data["noteNumber"] = 20  # 3 of 20 notes shown
    data["notes"][0]["readNum"] = 999_999
    capped = notes_frame([record(data)])
    assert capped["notes_complete"].to_list() == [False] * 3
    assert capped["scope_note_number"].to_list() == [20] * 3
    assert one_row(data)["read_median"] == 1471  # the platform's median, as sent


# -- rule 6: two interaction medians -------------------------------------------------------------


def test_the_two_interaction_medians_are_separate_labelled_columns(data: dict[str, Any]) -> None:
    row = one_row(data)
    assert row["interaction_median"] == 75  # like + collect + comment medians: 53 + 18 + 4
    assert row["m_engagement_num"] == 91  # median of per-note interactions: 互动中位数
    assert LABELS_ZH["m_engagement_num"] == "互动中位数"
    assert LABELS_ZH["interaction_median"] != LABELS_ZH["m_engagement_num"]


# -- rule 7: long-term cohorts -------------------------------------------------------------------


def test_long_term_cohorts_carry_their_own_publish_dates(data: dict[str, Any]) -> None:
    row = one_row(data)
    assert row["long_term_common_start_publish_time"] == "2025-04-12"
    assert row["long_term_common_end_publish_time"] == "2025-06-11"
    assert row["long_term_common_long_term_read_num"] == 883
    assert row["long_term_common_recent_search_page_percent"] == pytest.approx(0.798)
    # the sponsored cohort is empty: dates kept, metrics missing
    assert row["long_term_cooperate_start_publish_time"] == "2025-04-12"
    assert row["long_term_cooperate_note_number"] == 0
    assert row["long_term_cooperate_long_term_read_num"] is None
    empty = one_row(empty_scope(data))  # cohorts are not the scope's notes: kept when it is empty
    assert empty["long_term_common_long_term_read_num"] == 883


# -- tolerated variants and clear errors ---------------------------------------------------------


def test_whole_numbers_sent_as_floats_are_integers(data: dict[str, Any]) -> None:
    data["readMedian"] = 1471.0
    data["notes"][0]["readNum"] = 1471.0
    assert one_row(data)["read_median"] == 1471
    assert notes_frame([record(data)])["read_num"][0] == 1471


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: d.update(readMedian="many"), r"line 2: field readMedian: not a number"),
        (lambda d: d.update(interactionRate="high"), r"line 2: field interactionRate"),
        (lambda d: d.update(readMedian=14.5), r"line 2: read_median must be a whole number"),
        (lambda d: d["notes"][1].update(impNum="x"), r"line 2, notes\[1\]\.impNum"),
        (lambda d: d["notes"][0].update(publishTime="19/11/2025"), r"notes\[0\]\.publishTime"),
        (lambda d: d["notes"][0].update(canJump="yes"), r"notes\[0\]\.canJump"),
        (lambda d: d.update(notes={"a": 1}), r"line 2: notes must be a list"),
        (lambda d: d["pagePercentVo"].update(readSearchPercent="57%"), r"readSearchPercent"),
    ],
)
def test_a_wrong_type_names_the_file_line_and_field(
    tmp_path: Path, data: dict[str, Any], change: Any, expected: str
) -> None:
    good = jsonl_line(copy.deepcopy(data))
    change(data)
    path = write_jsonl(tmp_path / "batch.jsonl", [good, jsonl_line(data)])
    with pytest.raises(TablesError, match=expected) as caught:
        load_jsonl(path)
    assert str(path) in str(caught.value)
    assert caught.value.origin is not None and caught.value.origin.startswith(str(path))


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"user_id": "5d21ab6b000000001201567d", ', r"line 2: not valid JSON"),
        ("[1, 2]", r"line 2: expected a JSON object"),
        ('{"user_id": "5d21ab6b000000001201567d"}', r"line 2: missing business"),
        (
            jsonl_line({"noteNumber": 1}, user_id="not-an-id"),
            r"line 2: user_id must be 24 lowercase hex",
        ),
        (
            jsonl_line({"noteNumber": 1}).replace('"DAILY_NOTE"', '"DAILY"'),
            r"line 2: business must be one of",
        ),
    ],
)
def test_a_malformed_line_names_its_number(tmp_path: Path, line: str, expected: str) -> None:
    path = write_jsonl(tmp_path / "batch.jsonl", [jsonl_line({"noteNumber": 0}), line])
    with pytest.raises(TablesError, match=expected):
        load_jsonl(path)


def test_records_without_an_origin_are_named_by_number(data: dict[str, Any]) -> None:
    bad = copy.deepcopy(data)
    bad["notes"][2]["likeNum"] = 1.5
    with pytest.raises(TablesError, match=r"^record 2, notes\[2\]\.likeNum: like_num must be"):
        notes_frame([record(data), record(bad)])
    bad = copy.deepcopy(data)
    bad["impMedian"] = 7594.5
    with pytest.raises(TablesError, match=r"^record 3: imp_median must be a whole number"):
        scopes_frame([record(data), record(data), record(bad)])
    assert issubclass(TablesError, ValueError)


# -- JSONL ---------------------------------------------------------------------------------------


def test_jsonl_round_trip_skips_and_counts_failures(tmp_path: Path, data: dict[str, Any]) -> None:
    organic = Scope(
        Business.DAILY_NOTE,
        NoteType.PHOTO_TEXT_AND_VIDEO,
        DateType.DAY_90,
        AdvertiseSwitch.ORGANIC_ONLY,
    )
    lines = [
        jsonl_line(data),
        jsonl_line(None, code=301),
        jsonl_line(empty_scope(copy.deepcopy(data)), scope=ANALYSIS_SCOPES[4]),
        "",
        jsonl_line(None, code=303, user_id=OTHER_USER),
        jsonl_line(None, code=301, scope=organic),
    ]
    path = write_jsonl(tmp_path / "batch.jsonl", lines)
    tables = load_jsonl(path)
    assert tables.skipped == {301: 2, 303: 1}
    assert tables.scopes.height == 2
    assert tables.scopes["scope_key"].to_list() == [HEADLINE_SCOPE.key, ANALYSIS_SCOPES[4].key]
    assert tables.notes.height == 3
    expected = scopes_frame(
        [record(data), record(empty_scope(copy.deepcopy(data)), scope=ANALYSIS_SCOPES[4])]
    )
    assert tables.scopes.equals(expected)
    assert load(path).scopes.equals(expected)


def test_jsonl_with_a_bom_and_crlf_lines_loads(tmp_path: Path, data: dict[str, Any]) -> None:
    path = tmp_path / "batch.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (jsonl_line(data) + "\r\n").encode())
    assert load_jsonl(path).scopes.height == 1


# -- where the data came from --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        (["sandbox", "sandbox"], True),
        (["pugongying", "sandbox"], True),  # mixed: synthetic
        ([None, "sandbox"], True),  # some rows do not say, one is synthetic: synthetic
        (["pugongying", "hosted"], False),
        (["replay", None], None),  # a row that does not say: unknown, not "real"
        ([None, None], None),  # a file from before exports recorded the source
    ],
)
def test_jsonl_sources_label_the_pool_synthetic_real_or_unknown(
    tmp_path: Path, data: dict[str, Any], sources: list[str | None], expected: bool | None
) -> None:
    lines = [
        jsonl_line(data, user_id=user, source=source)
        for user, source in zip((USER, OTHER_USER), sources, strict=True)
    ]
    tables = load_jsonl(write_jsonl(tmp_path / "batch.jsonl", lines))
    assert tables.scopes["source"].to_list() == sources
    assert tables.synthetic is expected
    assert tables.latest().synthetic is expected
    assert tables.sources == {source for source in sources if source}


def test_a_jsonl_source_that_is_not_text_names_its_line(
    tmp_path: Path, data: dict[str, Any]
) -> None:
    line = json.loads(jsonl_line(data))
    line["source"] = 3
    path = write_jsonl(tmp_path / "batch.jsonl", [json.dumps(line)])
    with pytest.raises(TablesError, match=r"batch\.jsonl line 1: source must be text or null"):
        load_jsonl(path)


def test_frames_without_a_source_column_are_of_unknown_source(data: dict[str, Any]) -> None:
    assert Tables(scopes=pl.DataFrame(), notes=pl.DataFrame()).synthetic is None
    frame = scopes_frame([record(data)]).drop("source")
    assert Tables(scopes=frame, notes=pl.DataFrame()).synthetic is None
    labelled = scopes_frame([ScopeRecord(USER, HEADLINE_SCOPE, COLLECTED, data, source="replay")])
    assert Tables(scopes=labelled, notes=pl.DataFrame()).synthetic is False


# -- latest --------------------------------------------------------------------------------------


def test_latest_keeps_the_newest_collection_per_creator_and_scope(data: dict[str, Any]) -> None:
    newer = copy.deepcopy(data)
    newer["readMedian"] = 2000
    newer["notes"] = newer["notes"][:2]
    records = [
        record(newer, collected_at=LATER),
        record(data),
        record(data, user_id=OTHER_USER),
    ]
    tables = Tables(scopes=scopes_frame(records), notes=notes_frame(records))
    latest = tables.latest()
    assert latest.scopes.height == 2
    mine = latest.scopes.filter(pl.col("user_id") == USER)
    assert mine["read_median"].to_list() == [2000]
    assert mine["collected_at"].to_list() == [LATER]
    my_notes = latest.notes.filter(pl.col("user_id") == USER)
    assert my_notes["collected_at"].unique().to_list() == [LATER]
    assert my_notes.height == 2
    assert latest.notes.filter(pl.col("user_id") == OTHER_USER).height == 3


# -- tidy exports (written by client.exports) ----------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_tidy_exports_read_back_with_their_types(
    tmp_path: Path, fixture_envelope: dict[str, Any], suffix: str
) -> None:
    empty = copy.deepcopy(fixture_envelope)
    empty_scope(empty["data"])
    sandbox = SandboxSource(clock=FixedClock(datetime(2026, 3, 2, tzinfo=UTC)))
    answers = [(HEADLINE_SCOPE, empty), (HEADLINE_SCOPE, fixture_envelope)] + [
        (
            scope,
            {**fixture_envelope, "data": sandbox.generate(OTHER_USER, scope, day=date(2026, 3, 2))},
        )
        for scope in ANALYSIS_SCOPES
    ]
    path = tmp_path / f"export{suffix}"
    with open_export(path) as export:
        for scope, envelope in answers:
            user = USER if envelope in (empty, fixture_envelope) else OTHER_USER
            export.write(user, scope, envelope)
    if suffix == ".csv":
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    tables = load_tidy(path)
    users = [USER, USER, *[OTHER_USER] * len(ANALYSIS_SCOPES)]
    expected = scopes_frame(
        ScopeRecord(user, scope, envelope["recordTime"], envelope["data"])
        for user, (scope, envelope) in zip(users, answers, strict=True)
    )
    assert tables.scopes.schema == expected.schema
    assert tables.scopes.equals(expected)
    assert tables.notes.height == 0 and tables.notes.schema == pl.Schema(NOTES_SCHEMA)
    assert tables.scopes["read_median"][0] is None  # empty field -> null, never 0
    assert load(path).scopes.equals(expected)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_tidy_exports_keep_the_source_and_older_files_without_it_are_unknown(
    tmp_path: Path, fixture_envelope: dict[str, Any], suffix: str
) -> None:
    path = tmp_path / f"export{suffix}"
    with open_export(path) as export:
        export.write(USER, HEADLINE_SCOPE, fixture_envelope, source="sandbox")
        export.write(OTHER_USER, HEADLINE_SCOPE, fixture_envelope, source="pugongying")
    tables = load_tidy(path)
    assert tables.scopes["source"].to_list() == ["sandbox", "pugongying"]
    assert tables.synthetic is True
    older = tmp_path / f"older{suffix}"  # as written before exports had the column
    frame = pl.read_parquet(path) if suffix == ".parquet" else pl.read_csv(path)
    if suffix == ".parquet":
        frame.drop("source").write_parquet(older)
    else:
        frame.drop("source").write_csv(older)
    without = load_tidy(older)
    assert without.scopes.schema == tables.scopes.schema
    assert without.scopes["source"].to_list() == [None, None]
    assert without.synthetic is None
    assert without.scopes.drop("source").equals(tables.scopes.drop("source"))


def test_a_bad_csv_value_names_its_line_and_column(
    tmp_path: Path, fixture_envelope: dict[str, Any]
) -> None:
    path = tmp_path / "export.csv"
    with open_export(path) as export:
        export.write(USER, HEADLINE_SCOPE, fixture_envelope)
        export.write(USER, HEADLINE_SCOPE, fixture_envelope)
    text = path.read_text(encoding="utf-8-sig").splitlines()
    header = text[0].split(",")
    cells = text[2].split(",")
    cells[header.index("read_median")] = "3.4%"
    path.write_text("\n".join([text[0], text[1], ",".join(cells)]) + "\n", encoding="utf-8-sig")
    with pytest.raises(TablesError, match=r"export\.csv line 3: read_median must be Int64"):
        load_tidy(path)


def test_a_file_that_is_not_a_tidy_export_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(TablesError, match="not a tidy export; missing the columns user_id"):
        load_tidy(path)


# -- the store -----------------------------------------------------------------------------------


async def test_store_round_trip_reads_snapshots_read_only(
    store: Store, data: dict[str, Any]
) -> None:
    t0 = datetime(2026, 1, 1, 8, tzinfo=UTC)
    payload = json.dumps(data, ensure_ascii=False)
    newer = copy.deepcopy(data)
    newer["readMedian"] = 2000
    snapshots = [
        Snapshot(NOTES_RATE, USER, HEADLINE_SCOPE.key, t0, "replay", payload),
        Snapshot(
            NOTES_RATE,
            USER,
            HEADLINE_SCOPE.key,
            t0 + timedelta(hours=1),
            "replay",
            json.dumps(newer),
        ),
        Snapshot(NOTES_RATE, OTHER_USER, ANALYSIS_SCOPES[1].key, t0, "sandbox", payload),
    ]
    for snapshot in snapshots:
        await store.snapshots.add(snapshot)
    url = store.url.render_as_string(hide_password=False)
    tables = load_store(url)
    assert tables.scopes.height == 3
    assert tables.scopes["collected_at"].to_list() == [
        "2026-01-01T08:00:00+00:00",
        "2026-01-01T09:00:00+00:00",
        "2026-01-01T08:00:00+00:00",
    ]
    assert tables.scopes["scope_key"].to_list() == [
        HEADLINE_SCOPE.key,
        HEADLINE_SCOPE.key,
        ANALYSIS_SCOPES[1].key,
    ]
    assert tables.notes.height == 9
    assert tables.scopes["source"].to_list() == ["replay", "replay", "sandbox"]
    assert tables.sources == {"replay", "sandbox"}
    assert tables.synthetic is True  # one sandbox snapshot makes the pool synthetic
    latest = tables.latest()
    assert latest.synthetic is True
    assert latest.scopes.filter(pl.col("user_id") == USER)["read_median"].to_list() == [2000]
    assert load(url).scopes.equals(tables.scopes)
    if store.is_sqlite:  # a plain path to the file works too
        assert load_store(Path(str(store.url.database))).scopes.equals(tables.scopes)


async def test_a_bad_snapshot_payload_names_the_snapshot(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    store = Store(f"sqlite+aiosqlite:///{path}")
    await store.migrate()
    try:
        await store.snapshots.add(
            Snapshot(
                NOTES_RATE,
                USER,
                HEADLINE_SCOPE.key,
                datetime(2026, 1, 1, tzinfo=UTC),
                "s",
                "{not json",
            )
        )
    finally:
        await store.aclose()
    with pytest.raises(TablesError, match=r"snapshot id 1: payload is not valid JSON"):
        load_store(path)


def test_a_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.sqlite3"
    with pytest.raises(TablesError, match="no SQLite database at"):
        load_store(f"sqlite+aiosqlite:///{missing}")
    assert not missing.exists()  # read-only: never created


def test_a_database_without_snapshots_is_a_clear_error(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    with pytest.raises(TablesError, match="cannot read the snapshots table"):
        load(path)


# -- load ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("creators.xlsx", "XLSX exports are for reading by people"),
        ("creators.txt", "cannot tell what"),
        ("redis://localhost/0", "cannot load redis:// URLs"),
        ("missing.jsonl", "cannot read"),
        ("missing.parquet", "no such file"),
    ],
)
def test_load_dispatch_refuses_what_it_cannot_read(
    tmp_path: Path, target: str, expected: str
) -> None:
    where = target if "://" in target else str(tmp_path / target)
    with pytest.raises(TablesError, match=expected):
        load(where)
