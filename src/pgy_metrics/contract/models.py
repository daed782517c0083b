"""Typed views of the ``data`` object, exactly as upstream sends it.

Types follow the wire, not what would be convenient: top-level rates and percentiles are
strings with one decimal on a 0-100 scale, ``pagePercentVo`` shares are 0-1 numbers and
``notes[].*BeyondRate`` are signed relative deviations. Converting units is the consumer's job
(the analytics layer), because a typed view that silently converted would break the
byte-for-byte pass-through the contract promises. Attribute names are the upstream keys in
snake_case; unknown keys are kept (``extra="allow"``) so that a new upstream field never makes a
valid answer look malformed.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator
from pydantic.alias_generators import to_camel

_CONFIG = ConfigDict(
    alias_generator=to_camel, populate_by_name=True, extra="allow", strict=True, frozen=True
)


class ContentTagShare(BaseModel):
    """One entry of the content-category mix (the response's ``noteType``, not the request's)."""

    model_config = _CONFIG

    content_tag: str
    percent: str


class RecentNote(BaseModel):
    """One of the (at most ~15) most recent notes of the scope."""

    model_config = _CONFIG

    note_id: str
    date: str | None = None
    publish_time: str | None = None
    type: int
    img_url: str | None = None
    title: str | None = None
    can_jump: bool | None = None
    imp_num: int | None = None
    imp_beyond_rate: float | None = None
    read_num: int | None = None
    read_beyond_rate: float | None = None
    interaction_num: int | None = None
    interaction_beyond_rate: float | None = None
    collect_num: int | None = None
    like_num: int | None = None
    collect_beyond_rate: float | None = None
    like_beyond_rate: float | None = None


class PagePercent(BaseModel):
    """Traffic-source shares (0-1) of impressions and reads; each side sums to 1."""

    model_config = _CONFIG

    imp_homefeed_percent: float | None = None
    imp_search_percent: float | None = None
    imp_follow_percent: float | None = None
    imp_detail_percent: float | None = None
    imp_nearby_percent: float | None = None
    imp_other_percent: float | None = None
    read_homefeed_percent: float | None = None
    read_search_percent: float | None = None
    read_follow_percent: float | None = None
    read_detail_percent: float | None = None
    read_nearby_percent: float | None = None
    read_other_percent: float | None = None


class LongTermCohort(BaseModel):
    """Long-tail reads of notes published in a fixed ~60-day cohort months before the fetch.

    Metric fields are ``None`` when ``note_number`` is 0. Label figures with the cohort's own dates.
    """

    model_config = _CONFIG

    start_publish_time: str | None = None
    end_publish_time: str | None = None
    note_number: int
    recent_read_num: int | None = None
    recent_read_beyond_rate: str | None = None
    long_term_read_num: int | None = None
    long_term_read_beyond_rate: str | None = None
    recent_search_page_percent: str | None = None
    recent_find_page_percent: str | None = None
    recent_kol_home_page_percent: str | None = None
    recent_follow_page_percent: str | None = None
    recent_other_page_percent: str | None = None
    long_term_search_page_percent: str | None = None
    long_term_find_page_percent: str | None = None
    long_term_kol_home_page_percent: str | None = None
    long_term_follow_page_percent: str | None = None
    long_term_other_page_percent: str | None = None


class KeepsRaw(BaseModel):
    """A typed view of a ``data`` object that keeps the object itself, as received, beside it:
    the notes-rate model and every sibling model (``contract.siblings``) share it."""

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> Self:
        """Validate ``raw`` (a decoded JSON object) and keep it beside the typed view."""
        model = cls.model_validate(raw)
        model._raw = raw
        return model

    @property
    def raw(self) -> dict[str, Any]:
        """The JSON object exactly as received (key order and types preserved)."""
        return self._raw


class NotesRateData(KeepsRaw):
    """The ``data`` of a successful Note Performance Metrics answer, with the raw JSON beside it.

    Build it with ``NotesRateData.from_raw(obj)`` to keep ``raw``: the exact object received, which
    is what stores, exports and pass-through answers use.
    """

    model_config = _CONFIG

    note_number: int
    video_note_number: int
    hundred_like_percent: str
    thousand_like_percent: str
    note_type: list[ContentTagShare]
    trade_names: list[str] | None = None
    imp_median: int
    imp_median_beyond_rate: str
    read_median: int
    read_median_beyond_rate: str
    interaction_median: int
    interaction_rate: str
    interaction_beyond_rate: str
    like_median: int
    collect_median: int
    comment_median: int
    share_median: int
    video_full_view_rate: str
    video_full_view_beyond_rate: str
    picture3s_view_rate: str = Field(alias="picture3sViewRate")
    notes: list[RecentNote] | None = None
    page_percent_vo: PagePercent | None = None
    long_term_common_note_vo: LongTermCohort | None = None
    long_term_cooperate_note_vo: LongTermCohort | None = None
    # Upstream sends each of these twice with two spellings; both are kept as sent.
    m_engagement_num: int | None = None
    mengagement_num: int | None = Field(default=None, alias="mengagementNum")
    m_follow_cnt: int | None = None
    mfollow_cnt: int | None = Field(default=None, alias="mfollowCnt")

    @model_validator(mode="after")
    def _one_spelling_at_least(self) -> Self:
        if self.m_engagement_num is None and self.mengagement_num is None:
            raise ValueError("mEngagementNum (or mengagementNum) is required")
        if self.m_follow_cnt is None and self.mfollow_cnt is None:
            raise ValueError("mFollowCnt (or mfollowCnt) is required")
        return self

    @property
    def engagement_median(self) -> int:
        """Median of per-note interactions (互动中位数), whichever spelling upstream used."""
        value = self.m_engagement_num if self.m_engagement_num is not None else self.mengagement_num
        assert value is not None  # guaranteed by the validator
        return value

    @property
    def follow_median(self) -> int:
        """Median of new follows per note, whichever spelling upstream used."""
        value = self.m_follow_cnt if self.m_follow_cnt is not None else self.mfollow_cnt
        assert value is not None  # guaranteed by the validator
        return value

    @property
    def is_empty_scope(self) -> bool:
        """No notes in this scope: every metric is missing, whatever numbers came back."""
        return self.note_number == 0
