"""Units and missing values: the rules every consumer of ``data`` must keep (contract.md 1-7).

The wire mixes three units (percent strings ``"8.6"``, 0-1 numbers, signed deviations) and several
spellings of "missing" (``null``, ``""``, ``"-"``, ``"暂无"``, and zeros that mean "no notes").
``flatten_scope`` turns one ``data`` object into one tidy row: snake_case names, every percentage
as a number on a 0-1 scale, missing as ``None`` (never 0), the duplicated keys merged, recent notes
left out (they have their own table), long-term cohorts prefixed and labelled with their dates.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

MISSING_MARKERS = frozenset({"", "-", "暂无"})
"""Strings that mean "no value" on the wire (besides null)."""

Value = float | int | str | None

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


@functools.cache
def snake_case(key: str) -> str:
    """``readMedian`` -> ``read_median``, ``mEngagementNum`` -> ``m_engagement_num``,
    ``picture3sViewRate`` -> ``picture3s_view_rate``.

    Cached: the wire has a fixed set of about 70 keys and ``flatten_scope`` asks for them on every
    payload, so a regex per key per payload was most of its cost (docs/benchmarks.md).
    """
    return _CAMEL.sub("_", key).lower()


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in MISSING_MARKERS)


def percent(value: Any) -> float | None:
    """A percent string on a 0-100 scale (``"8.6"``) as a 0-1 number (0.086); missing -> None."""
    if is_missing(value):
        return None
    try:
        number = float(str(value).strip().rstrip("%"))
    except ValueError:
        raise ValueError(f"not a percentage: {value!r}") from None
    return round(number / 100, 6)


def number(value: Any) -> float | int | None:
    """A count, median, 0-1 share or signed deviation, as sent; missing -> None."""
    if is_missing(value):
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not a number: {value!r}")
    return value


PERCENT_FIELDS = frozenset(
    {
        "hundredLikePercent",
        "thousandLikePercent",
        "impMedianBeyondRate",
        "readMedianBeyondRate",
        "interactionRate",
        "interactionBeyondRate",
        "videoFullViewRate",
        "videoFullViewBeyondRate",
        "picture3sViewRate",
    }
)
"""Top-level fields sent as percent strings on a 0-100 scale."""
NUMBER_FIELDS = (
    "noteNumber",
    "videoNoteNumber",
    "impMedian",
    "readMedian",
    "interactionMedian",
    "likeMedian",
    "collectMedian",
    "commentMedian",
    "shareMedian",
)
DUPLICATED = {"mEngagementNum": "mengagementNum", "mFollowCnt": "mfollowCnt"}
"""Fields upstream sends twice, under two spellings; the first name is the column."""
COUNT_FIELDS_KEPT_WHEN_EMPTY = frozenset({"note_number", "video_note_number"})
"""Facts about an empty scope (it has 0 notes) rather than metrics of its notes."""
COHORTS = {
    "longTermCommonNoteVo": "long_term_common",
    "longTermCooperateNoteVo": "long_term_cooperate",
}
COHORT_DATES = ("startPublishTime", "endPublishTime")


def flatten_scope(data: Mapping[str, Any]) -> dict[str, Value]:
    """One ``data`` object -> one tidy row of numbers (see the module doc for the rules)."""
    row: dict[str, Value] = {}
    for key in NUMBER_FIELDS:
        row[snake_case(key)] = number(data.get(key))
    for key in sorted(PERCENT_FIELDS):
        row[snake_case(key)] = percent(data.get(key))
    for key, other in DUPLICATED.items():
        row[snake_case(key)] = number(data.get(key, data.get(other)))
    tags = data.get("noteType") or []
    for index in range(2):
        tag = tags[index] if index < len(tags) else {}
        row[f"content_tag_{index + 1}"] = (
            None if is_missing(tag.get("contentTag")) else tag["contentTag"]
        )
        row[f"content_tag_{index + 1}_percent"] = percent(tag.get("percent"))
    trades = data.get("tradeNames")
    row["trade_names"] = ";".join(trades) if trades else None
    shares = data.get("pagePercentVo") or {}
    for key in (f"{side}{page}Percent" for side in ("imp", "read") for page in _PAGES):
        row[snake_case(key)] = number(shares.get(key))
    for key, prefix in COHORTS.items():
        row.update(_cohort(data.get(key) or {}, prefix))
    return _apply_rules(row)


_PAGES = ("Homefeed", "Search", "Follow", "Detail", "Nearby", "Other")
_COHORT_NUMBERS = ("noteNumber", "recentReadNum", "longTermReadNum")
_COHORT_PERCENTS = (
    "recentReadBeyondRate",
    "longTermReadBeyondRate",
    *(
        f"{when}{page}PagePercent"
        for when in ("recent", "longTerm")
        for page in ("Search", "Find", "KolHome", "Follow", "Other")
    ),
)


def _cohort(cohort: Mapping[str, Any], prefix: str) -> dict[str, Value]:
    """A long-term cohort's columns, prefixed, with its own dates (never "last 30 days")."""
    row: dict[str, Value] = {}
    for key in COHORT_DATES:
        value = cohort.get(key)
        row[f"{prefix}_{snake_case(key)}"] = None if is_missing(value) else str(value)
    notes = number(cohort.get("noteNumber"))
    for key in _COHORT_NUMBERS:
        row[f"{prefix}_{snake_case(key)}"] = number(cohort.get(key))
    for key in _COHORT_PERCENTS:
        row[f"{prefix}_{snake_case(key)}"] = percent(cohort.get(key))
    if not notes:  # an empty cohort has no metrics, whatever came back
        for key in (*_COHORT_NUMBERS[1:], *_COHORT_PERCENTS):
            row[f"{prefix}_{snake_case(key)}"] = None
    return row


def _apply_rules(row: dict[str, Value]) -> dict[str, Value]:
    notes = row["note_number"]
    videos = row["video_note_number"]
    if notes == 0:  # rule 1: an empty scope's metrics are missing, percentiles included
        for key in row:
            if key in COUNT_FIELDS_KEPT_WHEN_EMPTY or key.startswith(tuple(COHORTS.values())):
                continue
            row[key] = None
        return row
    if videos == 0:  # rule 2: "0.0" with no video notes is missing, not zero
        row["video_full_view_rate"] = None
        row["video_full_view_beyond_rate"] = None
    if isinstance(notes, int) and isinstance(videos, int) and notes - videos == 0:
        row["picture3s_view_rate"] = None
    return row
