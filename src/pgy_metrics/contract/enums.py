"""The scope filters: API value name, Pugongying's upstream number and Chinese label.

The API speaks names (``DAILY_NOTE``), Pugongying speaks numbers (``business=0``) and people read
Chinese labels (日常笔记). One table per filter keeps the three in step; nobody else redefines them.
"""

from __future__ import annotations

from enum import StrEnum


class Business(StrEnum):
    """Which notes: the creator's own daily notes or sponsored (brand cooperation) notes.

    Notes rate and data summary take it with the same values and upstream numbers."""

    DAILY_NOTE = "DAILY_NOTE"
    COOPERATE_NOTE = "COOPERATE_NOTE"

    @property
    def upstream(self) -> int:
        return _BUSINESS[self][0]

    @property
    def label(self) -> str:
        return _BUSINESS[self][1]


class NoteType(StrEnum):
    """Which formats: photo-text and video together, photo-text only, or video only."""

    PHOTO_TEXT_AND_VIDEO = "PHOTO_TEXT_AND_VIDEO"
    PHOTO_TEXT = "PHOTO_TEXT"
    VIDEO = "VIDEO"

    @property
    def upstream(self) -> int:
        return _NOTE_TYPE[self][0]

    @property
    def label(self) -> str:
        return _NOTE_TYPE[self][1]


class DateType(StrEnum):
    """Which window: notes published in the last 30 or 90 days (notes rate), or the last 30 or
    90 days of the follower history (fans history, same values and numbers)."""

    DAY_30 = "DAY_30"
    DAY_90 = "DAY_90"

    @property
    def upstream(self) -> int:
        return _DATE_TYPE[self][0]

    @property
    def label(self) -> str:
        return _DATE_TYPE[self][1]


class AdvertiseSwitch(StrEnum):
    """Which traffic: all of it (paid boost included) or organic traffic only."""

    ALL = "ALL"
    ORGANIC_ONLY = "ORGANIC_ONLY"

    @property
    def upstream(self) -> int:
        return _ADVERTISE_SWITCH[self][0]

    @property
    def label(self) -> str:
        return _ADVERTISE_SWITCH[self][1]


class IncreaseType(StrEnum):
    """Which follower series the growth history gives: the daily total or the daily net new
    followers (the fans-history endpoint). That ``2`` means new followers upstream is inferred:
    only ``1`` was ever recorded."""

    FANS_TOTAL = "FANS_TOTAL"
    FANS_INCREASE = "FANS_INCREASE"

    @property
    def upstream(self) -> int:
        return _INCREASE_TYPE[self][0]

    @property
    def label(self) -> str:
        return _INCREASE_TYPE[self][1]


_BUSINESS: dict[Business, tuple[int, str]] = {
    Business.DAILY_NOTE: (0, "日常笔记"),
    Business.COOPERATE_NOTE: (1, "合作笔记"),
}
_NOTE_TYPE: dict[NoteType, tuple[int, str]] = {
    NoteType.PHOTO_TEXT_AND_VIDEO: (3, "图文+视频"),
    NoteType.PHOTO_TEXT: (1, "图文"),
    NoteType.VIDEO: (2, "视频"),
}
_DATE_TYPE: dict[DateType, tuple[int, str]] = {
    DateType.DAY_30: (1, "近30天"),
    DateType.DAY_90: (2, "近90天"),
}
_ADVERTISE_SWITCH: dict[AdvertiseSwitch, tuple[int, str]] = {
    AdvertiseSwitch.ALL: (1, "全流量"),
    AdvertiseSwitch.ORGANIC_ONLY: (0, "仅自然流量"),
}
_INCREASE_TYPE: dict[IncreaseType, tuple[int, str]] = {
    IncreaseType.FANS_TOTAL: (1, "总粉丝数"),
    IncreaseType.FANS_INCREASE: (2, "新增粉丝数"),
}
