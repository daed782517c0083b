"""The replay source: documented file naming, envelopes or bare data, clear failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pgy_metrics.contract import DateType, Scope
from pgy_metrics.contract.endpoints import notes_query
from pgy_metrics.sources.base import MalformedPayload, NotRecorded
from pgy_metrics.sources.replay import ReplaySource, recording_path

USER = "5d21ab6b000000001201567d"


def test_naming_scheme(tmp_path: Path) -> None:
    assert recording_path(tmp_path, notes_query(USER, Scope())) == (
        tmp_path / USER / "DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL.json"
    )


async def test_serves_a_saved_envelope_and_a_bare_data_object(
    tmp_path: Path, fixture_bytes: bytes
) -> None:
    path = recording_path(tmp_path, notes_query(USER, Scope()))
    path.parent.mkdir()
    path.write_bytes(fixture_bytes)
    data = json.loads(fixture_bytes)["data"]
    bare = recording_path(tmp_path, notes_query(USER, Scope(date_type=DateType.DAY_90)))
    bare.write_text(json.dumps(data), encoding="utf-8")
    source = ReplaySource(tmp_path)
    assert await source.fetch(notes_query(USER, Scope())) == data
    assert await source.fetch(notes_query(USER, Scope(date_type=DateType.DAY_90))) == data


async def test_unknown_creator_or_scope_is_a_collection_failure(
    tmp_path: Path, fixture_bytes: bytes
) -> None:
    path = recording_path(tmp_path, notes_query(USER, Scope()))
    path.parent.mkdir()
    path.write_bytes(fixture_bytes)
    source = ReplaySource(tmp_path)
    with pytest.raises(NotRecorded, match="0" * 24):
        await source.fetch(notes_query("0" * 24, Scope()))
    with pytest.raises(NotRecorded) as caught:
        await source.fetch(notes_query(USER, Scope(date_type=DateType.DAY_90)))
    assert "DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_90.ALL" in caught.value.message
    assert str(tmp_path) not in caught.value.message  # no server paths in caller-facing text


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"code": 301, "data": null, "message": "x"}', "failed answer"),
    ],
)
async def test_broken_recordings_are_malformed(
    tmp_path: Path, content: bytes, fragment: str
) -> None:
    path = recording_path(tmp_path, notes_query(USER, Scope()))
    path.parent.mkdir()
    path.write_bytes(content)
    with pytest.raises(MalformedPayload, match=fragment):
        await ReplaySource(tmp_path).fetch(notes_query(USER, Scope()))


def test_missing_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        ReplaySource(tmp_path / "nope")
