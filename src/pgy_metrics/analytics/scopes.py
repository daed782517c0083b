"""The eight scopes analysis needs: a headline scope plus the counterparts indicators compare.

Fetching all 24 scopes per creator costs three times as much and adds nothing the indicators use;
these eight cover momentum (30 vs 90 days), paid-boost dependence (organic vs all traffic), format
fit and the planner's per-format values (photo-text vs video), and sponsored decay (sponsored vs
daily notes). See ``docs/analytics-interfaces.md``.
"""

from __future__ import annotations

from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.params import ParamError, Scope

__all__ = ["ANALYSIS_SCOPES", "HEADLINE_SCOPE", "SCOPE_PRESETS", "parse_scopes"]

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

SCOPE_PRESETS: dict[str, tuple[Scope, ...]] = {
    "default": (Scope(),),
    "all": tuple(Scope.all()),
    "daily": tuple(s for s in Scope.all() if s.business is Business.DAILY_NOTE),
    "sponsored": tuple(s for s in Scope.all() if s.business is Business.COOPERATE_NOTE),
    "core": tuple(
        Scope(business, NoteType.PHOTO_TEXT_AND_VIDEO, date_type, switch)
        for business in Business
        for date_type in DateType
        for switch in AdvertiseSwitch
    ),
    "analysis": ANALYSIS_SCOPES,
}
"""Named sets of scopes: ``core`` is both kinds of notes x both windows x both traffic views;
``analysis`` the eight that ``pgy report`` and ``pgy plan`` use (above). ``pgy batch``,
``pgy watch add`` and the console's watchlists page read ``--scopes`` through ``parse_scopes``."""


def parse_scopes(text: str) -> tuple[Scope, ...]:
    """A preset name, or scope keys separated by commas."""
    if text in SCOPE_PRESETS:
        return SCOPE_PRESETS[text]
    try:
        return tuple(Scope.from_key(key.strip()) for key in text.split(",") if key.strip())
    except ParamError:
        raise ParamError(
            "scopes",
            f"--scopes must be one of {', '.join(SCOPE_PRESETS)} or scope keys separated by "
            f"commas (e.g. DAILY_NOTE.VIDEO.DAY_30.ALL); got {text!r}",
        ) from None
