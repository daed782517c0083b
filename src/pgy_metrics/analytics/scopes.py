"""The eight scopes analysis needs: a headline scope plus the counterparts indicators compare.

Fetching all 24 scopes per creator costs three times as much and adds nothing the indicators use;
these eight cover momentum (30 vs 90 days), paid-boost dependence (organic vs all traffic), format
fit and the planner's per-format values (photo-text vs video), and sponsored decay (sponsored vs
daily notes). See ``docs/analytics-interfaces.md``.
"""

from __future__ import annotations

from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.params import Scope

__all__ = ["ANALYSIS_SCOPES", "HEADLINE_SCOPE"]

HEADLINE_SCOPE = Scope(
    Business.DAILY_NOTE, NoteType.PHOTO_TEXT_AND_VIDEO, DateType.DAY_90, AdvertiseSwitch.ALL
)
"""The scope a creator is ranked on: daily notes, both formats, 90 days, all traffic."""

ANALYSIS_SCOPES: tuple[Scope, ...] = (
    HEADLINE_SCOPE,
    Scope(Business.DAILY_NOTE, NoteType.PHOTO_TEXT_AND_VIDEO, DateType.DAY_30, AdvertiseSwitch.ALL),
    Scope(
        Business.DAILY_NOTE,
        NoteType.PHOTO_TEXT_AND_VIDEO,
        DateType.DAY_90,
        AdvertiseSwitch.ORGANIC_ONLY,
    ),
    Scope(Business.DAILY_NOTE, NoteType.PHOTO_TEXT, DateType.DAY_90, AdvertiseSwitch.ALL),
    Scope(Business.DAILY_NOTE, NoteType.VIDEO, DateType.DAY_90, AdvertiseSwitch.ALL),
    Scope(
        Business.COOPERATE_NOTE,
        NoteType.PHOTO_TEXT_AND_VIDEO,
        DateType.DAY_90,
        AdvertiseSwitch.ALL,
    ),
    Scope(Business.COOPERATE_NOTE, NoteType.PHOTO_TEXT, DateType.DAY_90, AdvertiseSwitch.ALL),
    Scope(Business.COOPERATE_NOTE, NoteType.VIDEO, DateType.DAY_90, AdvertiseSwitch.ALL),
)
