"""Candidates completed from the marketplace: the file's figures first, the creator profile's next.

A brand's candidates file may hold only creator ids. For each creator and format this module
takes the price from the file when it has one (source ``file``: a negotiated price overrides the
marketplace, and the file saying so makes the format bookable), else from the creator profile
(source ``profile``) when the creator is on the marketplace, shows the price and accepts orders
for that format. Followers and content tag likewise: the file's, else the profile's. Agency,
tags, follower momentum (fans history), audience (fans profile) and the platform's cost
estimates (data summary) come from the siblings only.

A creator with no bookable format is excluded, with the reason of each format (no price in the
file and none in the profile, not accepting orders, abnormal account health); so is a format
the file does not price and the profile cannot book, while the creator's other format stays.
Nothing is dropped silently: ``Marketplace.excluded`` lists every one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from pgy_metrics.analytics.audience import Audience
from pgy_metrics.analytics.candidates import CANDIDATE_SCHEMA
from pgy_metrics.analytics.planner import FORMATS
from pgy_metrics.analytics.profiles import (
    ABNORMAL_LEVEL,
    CreatorFacts,
    PlatformEstimates,
    audience,
    creator_facts,
    follower_momentum,
    platform_estimates,
)
from pgy_metrics.contract.endpoints import BLOGGER_PROFILE, DATA_SUMMARY, FANS_HISTORY, FANS_PROFILE

__all__ = [
    "FROM_FILE",
    "FROM_PROFILE",
    "MARKET_SCHEMA",
    "Exclusion",
    "Marketplace",
    "SiblingAnswers",
    "complete_candidates",
    "exclusions_frame",
]

FROM_FILE = "file"
FROM_PROFILE = "profile"
"""The two sources of a price (``price_<format>_source``)."""

SiblingAnswers = Mapping[str, Mapping[str, Mapping[str, Any]]]
"""endpoint name -> creator id -> the newest ``data`` of that endpoint for that creator."""

MARKET_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    **CANDIDATE_SCHEMA,
    "price_photo_source": pl.Utf8,
    "price_video_source": pl.Utf8,
    "agency": pl.Utf8,
    "tags": pl.Utf8,
    "follower_momentum": pl.Float64,
}
"""The completed candidates: the candidates file's columns, where each price came from, the
agency (null = independent or unknown), tags joined by ", ", and follower momentum (fraction)."""


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A creator (``format`` None) or one format of a creator that cannot be planned, and why."""

    user_id: str
    format: str | None
    reason: str

    def __str__(self) -> str:
        where = f" {self.format}" if self.format else ""
        return f"{self.user_id}{where}: {self.reason}"


@dataclass(frozen=True)
class Marketplace:
    """The completed candidates and what the siblings said about each creator."""

    candidates: pl.DataFrame
    """``MARKET_SCHEMA``: one row per creator with at least one bookable format."""
    excluded: list[Exclusion] = field(default_factory=list)
    audiences: dict[str, Audience] = field(default_factory=dict)
    estimates: dict[str, PlatformEstimates] = field(default_factory=dict)

    def excluded_frame(self) -> pl.DataFrame:
        return exclusions_frame(self.excluded)


def exclusions_frame(excluded: Iterable[Exclusion]) -> pl.DataFrame:
    """``user_id, format, reason``: every exclusion, creators first (format null)."""
    rows = sorted(excluded, key=lambda e: (e.format is not None, e.user_id, e.format or ""))
    return pl.DataFrame(
        {
            "user_id": [e.user_id for e in rows],
            "format": [e.format for e in rows],
            "reason": [e.reason for e in rows],
        },
        schema={"user_id": pl.Utf8, "format": pl.Utf8, "reason": pl.Utf8},
    )


def complete_candidates(
    file_frame: pl.DataFrame, siblings: SiblingAnswers, *, keep_unbookable: bool = False
) -> Marketplace:
    """The candidates file (``read_candidates(..., require_price=False).frame``) completed from
    the siblings' answers; see the module doc for which source wins. ``keep_unbookable`` keeps
    the rows of excluded creators (without prices) for a report that lists every creator."""
    profiles = siblings.get(BLOGGER_PROFILE, {})
    summaries = siblings.get(DATA_SUMMARY, {})
    fans = siblings.get(FANS_PROFILE, {})
    histories = siblings.get(FANS_HISTORY, {})
    rows: list[dict[str, Any]] = []
    excluded: list[Exclusion] = []
    columns = set(file_frame.columns)
    for row in file_frame.iter_rows(named=True):
        user_id = str(row["user_id"])
        profile = profiles.get(user_id)
        facts = creator_facts(user_id, profile) if profile is not None else None
        record: dict[str, Any] = {name: row.get(name) for name in CANDIDATE_SCHEMA}
        reasons: dict[str, str] = {}
        for fmt in FORMATS:
            price, source, reason = _price(row.get(f"price_{fmt}"), fmt, facts)
            record[f"price_{fmt}"] = price
            record[f"price_{fmt}_source"] = source
            if reason is not None:
                reasons[fmt] = reason
        if facts is not None:
            if record.get("followers") is None:
                record["followers"] = facts.followers
            if not (record.get("content_tag") if "content_tag" in columns else None):
                record["content_tag"] = facts.content_tag
            record["agency"] = facts.agency
            record["tags"] = ", ".join(facts.tags) or None
        history = histories.get(user_id)
        record["follower_momentum"] = follower_momentum(history) if history else None
        if len(reasons) == len(FORMATS):
            excluded.append(Exclusion(user_id, None, _creator_reason(reasons, facts)))
            if keep_unbookable:
                rows.append(record)
            continue
        # A format the file does not price and the profile cannot book is worth a line only
        # when the profile offers it at all (a creator who only does photo-text is no news).
        for fmt, reason in reasons.items():
            if facts is not None and facts.prices.get(fmt) is not None:
                excluded.append(Exclusion(user_id, fmt, reason))
        rows.append(record)
    frame = pl.DataFrame(rows, schema=MARKET_SCHEMA, orient="row")
    kept = set(frame.get_column("user_id").to_list())
    audiences = {
        user_id: found
        for user_id, data in fans.items()
        if user_id in kept and (found := audience(data)) is not None
    }
    estimates = {
        user_id: platform_estimates(data) for user_id, data in summaries.items() if user_id in kept
    }
    return Marketplace(frame, excluded, audiences, estimates)


def _price(
    file_price: Any, fmt: str, facts: CreatorFacts | None
) -> tuple[float | None, str | None, str | None]:
    """(price, source, why not bookable) of one format: the file's, else the profile's."""
    if file_price is not None:
        return float(file_price), FROM_FILE, None
    if facts is None:
        return None, None, f"{fmt}: no price in the file and no creator profile"
    reason = facts.unbookable(fmt)
    if reason is not None:
        return None, None, f"{fmt}: {reason}"
    return facts.prices[fmt], FROM_PROFILE, None


def _creator_reason(reasons: Mapping[str, str], facts: CreatorFacts | None) -> str:
    """One reason for a creator with no bookable format: the common cases in a few words."""
    if facts is None:
        return "no price in the file and no creator profile"
    if facts.level != ABNORMAL_LEVEL and all(facts.prices.get(f) is None for f in FORMATS):
        return "not on the marketplace (no picturePrice or videoPrice in the creator profile)"
    return "; ".join(reasons.values())
