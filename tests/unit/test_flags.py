"""Risk flags: each raised with its evidence, none raised just inside its threshold."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import polars as pl
import pytest

from pgy_metrics.analytics.flags import flags_frame
from pgy_metrics.analytics.scopes import HEADLINE_SCOPE
from pgy_metrics.analytics.settings import AnalyticsSettings
from pgy_metrics.analytics.tables import NOTES_SCHEMA, Tables
from pgy_metrics.contract.enums import AdvertiseSwitch, Business

HEADLINE = HEADLINE_SCOPE.key
SPONSORED = dataclasses.replace(HEADLINE_SCOPE, business=Business.COOPERATE_NOTE).key
ORGANIC = dataclasses.replace(HEADLINE_SCOPE, advertise_switch=AdvertiseSwitch.ORGANIC_ONLY).key
COLLECTED = "2026-11-26T10:00:00"
SETTINGS = AnalyticsSettings()


def uid(n: int) -> str:
    return f"{0x5D21AB6B0000000000000000 + n:024x}"


def indicator_rows(rows: Sequence[dict[str, Any]]) -> pl.DataFrame:
    defaults: dict[str, Any] = {
        "scope_key": HEADLINE,
        "collected_at": COLLECTED,
        "note_number": 20,
        "read_median": 1000,
        "click_through": None,
        "paid_boost_dependence": None,
        "sponsored_decay": None,
        "hundred_like_ratio": None,
        "thousand_like_ratio": None,
    }
    return pl.DataFrame(
        [defaults | row for row in rows],
        schema_overrides={
            "note_number": pl.Int64,
            "read_median": pl.Int64,
            "click_through": pl.Float64,
            "paid_boost_dependence": pl.Float64,
            "sponsored_decay": pl.Float64,
            "hundred_like_ratio": pl.Float64,
            "thousand_like_ratio": pl.Float64,
        },
    )


def notes(
    user_id: str, reads: Sequence[int | None], *, collected_at: str = COLLECTED
) -> list[dict[str, Any]]:
    return [
        {
            "user_id": user_id,
            "scope_key": HEADLINE,
            "collected_at": collected_at,
            "position": position,
            "note_id": f"note{position}",
            "read_num": read_num,
        }
        for position, read_num in enumerate(reads)
    ]


def tables(note_rows: Sequence[dict[str, Any]] = ()) -> Tables:
    frame = pl.DataFrame(list(note_rows), schema={k: NOTES_SCHEMA[k] for k in _NOTE_COLUMNS})
    return Tables(scopes=pl.DataFrame(), notes=frame)


_NOTE_COLUMNS = ("user_id", "scope_key", "collected_at", "position", "note_id", "read_num")


def flagged(
    indicators: pl.DataFrame, note_rows: Sequence[dict[str, Any]] = (), **kw: Any
) -> pl.DataFrame:
    settings = kw.pop("settings", SETTINGS)
    return flags_frame(tables(note_rows), indicators, settings=settings)


def only(frame: pl.DataFrame, flag: str) -> list[dict[str, Any]]:
    return frame.filter(pl.col("flag") == flag).to_dicts()


def test_columns_and_nothing_for_a_plain_creator() -> None:
    frame = flagged(indicator_rows([{"user_id": uid(1)}]))
    assert frame.columns == ["user_id", "flag", "scope_key", "evidence", "severity"]
    assert frame.height == 0


def test_thin_sample() -> None:
    frame = flagged(
        indicator_rows(
            [{"user_id": uid(1), "note_number": 9}, {"user_id": uid(2), "note_number": 10}]
        )
    )
    assert only(frame, "thin_sample") == [
        {
            "user_id": uid(1),
            "flag": "thin_sample",
            "scope_key": HEADLINE,
            "evidence": f"only 9 notes on {HEADLINE} (threshold: at least 10): its medians and "
            "percentiles rest on too few notes to compare",
            "severity": "warn",
        }
    ]


def test_empty_scope_is_info_on_any_fetched_scope() -> None:
    frame = flagged(
        indicator_rows(
            [
                {"user_id": uid(1), "note_number": 30},
                {"user_id": uid(1), "scope_key": SPONSORED, "note_number": 0, "read_median": None},
                {"user_id": uid(2), "scope_key": SPONSORED, "note_number": 1},
            ]
        )
    )
    rows = only(frame, "empty_scope")
    assert [(row["user_id"], row["scope_key"], row["severity"]) for row in rows] == [
        (uid(1), SPONSORED, "info")
    ]
    assert rows[0]["evidence"].startswith(f"0 notes on {SPONSORED}: every metric of this scope")


def test_paid_boost_heavy() -> None:
    frame = flagged(
        indicator_rows(
            [
                {"user_id": uid(1), "paid_boost_dependence": 0.62, "read_median": 9000},
                {"user_id": uid(2), "paid_boost_dependence": 0.5},
                {"user_id": uid(3), "scope_key": ORGANIC, "paid_boost_dependence": 0.9},
            ]
        )
    )
    assert only(frame, "paid_boost_heavy") == [
        {
            "user_id": uid(1),
            "flag": "paid_boost_heavy",
            "scope_key": HEADLINE,
            "evidence": "paid_boost_dependence 0.62 is above 0.5: the organic-only read median is "
            "38.0 % of the all-traffic read median (9000 reads), so most reads are paid for",
            "severity": "warn",
        }
    ]


def test_sponsored_collapse_on_the_sponsored_row() -> None:
    frame = flagged(
        indicator_rows(
            [
                {
                    "user_id": uid(1),
                    "scope_key": SPONSORED,
                    "sponsored_decay": 0.32,
                    "read_median": 320,
                },
                {"user_id": uid(2), "scope_key": SPONSORED, "sponsored_decay": 0.5},
                {"user_id": uid(3), "sponsored_decay": 0.1},  # not the sponsored row: ignored
            ]
        )
    )
    rows = only(frame, "sponsored_collapse")
    assert [(row["user_id"], row["scope_key"]) for row in rows] == [(uid(1), SPONSORED)]
    assert rows[0]["evidence"] == (
        "sponsored_decay 0.32 is below 0.5: sponsored notes' read median (320 reads) is 32.0 % "
        "of the daily notes' read median"
    )


def test_one_hit_wonder_from_the_notes() -> None:
    creators = indicator_rows([{"user_id": uid(n)} for n in (1, 2, 3, 4)])
    note_rows = [
        *notes(uid(1), [60, 20, 15, 5]),  # top share 0.60 > 0.5
        *notes(uid(2), [50, 30, 20]),  # top share exactly 0.5: not above
        *notes(uid(3), [90, 10]),  # only 2 notes: too few to judge
        *notes(uid(4), [10, 10, 10], collected_at="2026-11-27T10:00:00"),  # the latest fetch
        *notes(uid(4), [900, 10, 10]),  # an older fetch: ignored
    ]
    rows = only(flagged(creators, note_rows), "one_hit_wonder")
    assert [row["user_id"] for row in rows] == [uid(1)]
    assert rows[0]["evidence"] == (
        "note note0 has 60 of the 100 reads of the 4 listed notes (60.0 %, threshold 50 %): "
        "reach rests on one note"
    )
    assert rows[0]["scope_key"] == HEADLINE


def test_one_hit_wonder_from_the_like_ratios() -> None:
    creators = indicator_rows(
        [
            # 10 notes, 1 reached 100 likes and it reached 1000: one hit
            {
                "user_id": uid(1),
                "note_number": 10,
                "hundred_like_ratio": 0.1,
                "thousand_like_ratio": 0.1,
            },
            # 2 reached 100 likes: not a single hit
            {
                "user_id": uid(2),
                "note_number": 10,
                "hundred_like_ratio": 0.2,
                "thousand_like_ratio": 0.1,
            },
            # 1 reached 100 but none 1000
            {
                "user_id": uid(3),
                "note_number": 10,
                "hundred_like_ratio": 0.1,
                "thousand_like_ratio": 0.0,
            },
        ]
    )
    rows = only(flagged(creators), "one_hit_wonder")
    assert [row["user_id"] for row in rows] == [uid(1)]
    assert rows[0]["evidence"] == (
        f"of 10 notes on {HEADLINE} exactly one reached 100 likes and it also reached 1000 "
        "(hundred_like_ratio 10.0 %, thousand_like_ratio 10.0 %): reach rests on one note"
    )


def test_one_hit_wonder_once_when_both_rules_hold() -> None:
    creators = indicator_rows(
        [
            {
                "user_id": uid(1),
                "note_number": 4,
                "hundred_like_ratio": 0.25,
                "thousand_like_ratio": 0.25,
            }
        ]
    )
    rows = only(flagged(creators, notes(uid(1), [70, 10, 10, 10])), "one_hit_wonder")
    assert len(rows) == 1
    assert rows[0]["evidence"].startswith("note note0 has 70 of the 100 reads")


def pool(click_throughs: Sequence[float | None]) -> pl.DataFrame:
    return indicator_rows(
        [{"user_id": uid(n), "click_through": value} for n, value in enumerate(click_throughs)]
    )


BASE_CLICK_THROUGHS: list[float | None] = [round(0.10 + 0.01 * n, 2) for n in range(20)]
"""0.10 .. 0.29; with one larger value on top (21 values, linear quantiles) Q1 = 0.15 and
Q3 = 0.25, so IQR = 0.10 and the upper fence is 0.25 + 3 x 0.10 = 0.55."""


def test_outlier_click_through_above_the_upper_fence() -> None:
    rows = only(flagged(pool([*BASE_CLICK_THROUGHS, 0.551, None])), "outlier_click_through")
    assert [row["user_id"] for row in rows] == [uid(20)]
    assert rows[0]["evidence"] == (
        "click_through 0.551 is above the pool's upper fence 0.5500 (Q3 0.2500 + 3 x IQR 0.1000, "
        "21 creators with a click-through): a hint of bought traffic or a bad payload"
    )


def test_outlier_click_through_not_raised_just_inside_the_fence() -> None:
    assert only(flagged(pool([*BASE_CLICK_THROUGHS, 0.549])), "outlier_click_through") == []


def test_outlier_click_through_below_the_lower_fence() -> None:
    # 0.40 .. 0.59 with one smaller value under them: Q1 0.44, Q3 0.54, lower fence 0.14
    values: list[float | None] = [round(0.40 + 0.01 * n, 2) for n in range(20)]
    rows = only(flagged(pool([*values, 0.12])), "outlier_click_through")
    assert [row["user_id"] for row in rows] == [uid(20)]
    assert rows[0]["evidence"].startswith(
        "click_through 0.12 is below the pool's lower fence 0.1400 (Q1 0.4400 - 3 x IQR 0.1000"
    )


def test_outlier_click_through_needs_a_pool() -> None:
    frame = flagged(pool([0.1] * 10 + [0.9]))
    assert only(frame, "outlier_click_through") == []


def test_thresholds_come_from_settings() -> None:
    settings = AnalyticsSettings.model_validate({"flags": {"thin_sample_notes": 3}})
    frame = flagged(indicator_rows([{"user_id": uid(1), "note_number": 5}]), settings=settings)
    assert only(frame, "thin_sample") == []


@pytest.mark.parametrize("missing", ["paid_boost_dependence", "sponsored_decay", "click_through"])
def test_null_indicators_raise_nothing(missing: str) -> None:
    frame = flagged(indicator_rows([{"user_id": uid(n), missing: None} for n in range(30)]))
    assert frame.height == 0
