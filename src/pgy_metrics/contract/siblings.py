"""Typed views of the ``data`` of the five sibling endpoints (docs/api.md), wire-exact.

As for notes rate (``contract.models``), types follow the wire and nothing converts units: prices
are CNY floats and **null** for a creator not on the marketplace (never 0); data-summary and
fans-summary rates are percent strings on a 0-100 scale with one decimal; fans-profile shares and
``fansNumIncRate`` are 0-1 fractions; ``estimate*`` costs are numbers where ``0`` means "not
computed" (missing, never free). Converting is the consumer's job (``contract.sibling_rows`` for
the tidy exports). Attribute names are the upstream keys in snake_case; every key the design does
not name is kept as sent (``extra="allow"``), and only keys seen filled in a real payload are
named, so the ~100 always-empty profile keys pass through untouched.

Every model remembers the order of the keys it was given and writes them back in that order:
``model.wire()`` (``model_dump`` by alias, unset keys left out) is the JSON object received, which
is how the fixtures round-trip byte for byte (upstream sends data summary in scrambled order).
``from_raw`` keeps the decoded object itself as ``raw``.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    ValidatorFunctionWrapHandler,
    model_serializer,
    model_validator,
)
from pydantic.alias_generators import to_camel

from pgy_metrics.contract.models import ContentTagShare, KeepsRaw

__all__ = [
    "AgeShare",
    "Agency",
    "BloggerProfileData",
    "ClothingIndustryPrice",
    "ContentTagGroup",
    "DataSummaryData",
    "DeviceShare",
    "FansHistoryData",
    "FansProfileData",
    "FansSummaryData",
    "FollowerPoint",
    "GenderShares",
    "NamedShare",
]

Number = int | float
"""A JSON number kept as sent: ``95`` stays an int and ``85.4`` a float (one field may be either
from one creator to the next), so writing it back never turns ``0`` into ``0.0``."""


class WireModel(KeepsRaw):
    """A typed view that writes back exactly the keys it was given, in their order."""

    # defer_build: the validators are built on first use, not at import. The client (and so
    # every ``pgy`` start, ``--help`` included) imports these models; building all of them up
    # front cost about 17 ms of each start.
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        strict=True,
        frozen=True,
        defer_build=True,
    )

    _order: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _remember_order(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Self:
        model: Self = handler(value)
        if isinstance(value, dict):
            model._order = tuple(value)
        return model

    @model_serializer(mode="wrap")
    def _in_wire_order(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        dumped: dict[str, Any] = handler(self)
        if not info.by_alias or not self._order:
            return dumped
        ordered = {key: dumped[key] for key in self._order if key in dumped}
        ordered.update((key, value) for key, value in dumped.items() if key not in ordered)
        return ordered

    def wire(self) -> dict[str, Any]:
        """The object as upstream sent it, rebuilt from the model (keys, order and types)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


# --- 1. creator profile -------------------------------------------------------------------------


class ContentTagGroup(WireModel):
    """A level-1 content category (内容类目) with its level-2 tags."""

    taxonomy1_tag: str = Field(alias="taxonomy1Tag")
    taxonomy2_tags: list[str] | None = Field(default=None, alias="taxonomy2Tags")


class Agency(WireModel):
    """An MCN agency (``noteSign``) or live-streaming agency (``liveSign``); both may be ``""``."""

    user_id: str | None = None
    name: str | None = None


class ClothingIndustryPrice(WireModel):
    """The apparel-industry price (CNY); all zeros in the only filled sample."""

    biz_type: Any = None
    industry_id: Number | None = None
    picture_price: Number | None = None
    picture_state: int | None = None
    video_price: Number | None = None
    video_state: int | None = None


class BloggerProfileData(WireModel):
    """Creator profile (达人档案与合作报价): ``blogger_profile``'s ``data``.

    Prices are CNY per note and ``None`` when the creator is not on the marketplace; ``None``
    is "no price", never "price 0". ``fans30GrowthRate``, ``fans30GrowthNum`` and the
    ``estimate*`` keys of this object are stale look-alikes (never filled): take growth from fans
    summary and cost estimates from data summary; they are kept as sent, not named here.
    """

    user_id: str
    name: str | None = None
    head_photo: str | None = None
    red_id: str | None = None
    """小红书号: a string even when all digits."""
    gender: str | None = None
    """``"女"``, ``"男"`` or ``"未知"``."""
    location: str | None = None
    """"province city district", space separated."""
    travel_area_list: list[str] | None = None
    fans_count: int | None = None
    """Followers; equal to ``fans_num`` and to fans summary's ``fansNum``."""
    fans_num: int | None = None
    like_collect_count_info: Number | str | None = None
    """Likes + collects received (a number; one client also saw ``"80.0w"``)."""
    business_note_count: int | None = None
    picture_price: Number | None = None
    """CNY per photo-text note (图文一口价); None = not on the marketplace."""
    video_price: Number | None = None
    """CNY per video note (视频一口价); None = not on the marketplace."""
    lower_price: Number | None = None
    """CNY, the lower of the two prices; None = not on the marketplace."""
    picture_state: int | None = None
    """``1`` = accepting photo-text orders; anything else (None included) = not bookable."""
    video_state: int | None = None
    picture_show_state: bool | None = None
    video_show_state: bool | None = None
    price_state: int | None = None
    cooperate_state: int | None = None
    cooper_type: int | None = None
    """``1`` enrolled creator, ``2`` not enrolled."""
    user_type: int | None = None
    current_level: int | None = None
    """Account health: ``0`` abnormal (异常), ``1`` normal (普通), ``2`` good (优秀)."""
    content_tags: list[ContentTagGroup] | None = None
    feature_tags: list[str] | None = None
    personal_tags: list[str] | None = None
    note_sign: Agency | None = None
    """The MCN agency; None = independent (无机构)."""
    live_sign: Agency | None = None
    trade_type: str | None = None
    """Industries cooperated with, one space-separated string."""
    click_mid_num: int | None = None
    """Read median; 0 for a non-enrolled creator (missing, not zero reads)."""
    click_mid_num_mcn: int | None = None
    inter_mid_num: int | None = None
    m_engagement_num: int | None = None
    mengagement_num: int | None = Field(default=None, alias="mengagementNum")
    coop_note_num30d: int | None = Field(default=None, alias="coopNoteNum30d")
    clothing_industry_price: ClothingIndustryPrice | None = None
    picture_price_gt_zero: bool | None = None
    video_price_gt_zero: bool | None = None
    low_active: bool | None = None
    is_collect: bool | None = None
    """Favourited by the logged-in brand account (account-specific)."""
    picture_in_cart: bool | None = None
    video_in_cart: bool | None = None

    @property
    def on_marketplace(self) -> bool:
        """Whether the creator has a price for at least one note format."""
        return self.picture_price is not None or self.video_price is not None


# --- 2. data summary ----------------------------------------------------------------------------


class DataSummaryData(WireModel):
    """Data summary (数据概览): ``data_summary``'s ``data``, wide or narrow shape, every key
    optional. String rates are 0-100 with one decimal and no ``%``; ``*Compare`` numbers are
    percentiles 0-100; ``estimate*Cpm`` is CNY per 1000 impressions and ``estimate*EngageCost``
    CNY per interaction, ``0`` meaning "not computed" (missing, never free)."""

    date_key: str | None = None
    note_number: int | None = None
    note_type: list[ContentTagShare] | None = None
    trade_names: list[str] | None = None
    read_median: int | None = None
    m_valid_raw_read_feed_num: int | None = None
    read_median_beyond_rate: str | None = None
    m_accum_imp_num: int | None = None
    """Impression median (曝光中位数)."""
    interaction_median: int | None = None
    interaction_beyond_rate: str | None = None
    m_engagement_num: int | None = None
    mengagement_num: int | None = Field(default=None, alias="mengagementNum")
    m_accum_imp_compare: Number | None = None
    m_valid_raw_read_feed_compare: Number | None = None
    m_engagement_num_compare: Number | None = None
    m_cpuv_num: Number | None = None
    m_cpuv_num_compare: Number | None = None
    m_engagement_num_old: int | None = None
    active_day_in_last7: int | None = Field(default=None, alias="activeDayInLast7")
    is_active: bool | None = None
    response_rate: str | None = None
    """Invitations answered within 48 h, % 0-100 (``"0.0"`` without invitations)."""
    invite_num: int | None = None
    easy_connect: bool | None = None
    fans30_growth_rate: str | None = Field(default=None, alias="fans30GrowthRate")
    fans30_growth_beyond_rate: str | None = Field(default=None, alias="fans30GrowthBeyondRate")
    kol_advantage: str | None = None
    kol_advantage_hover: str | None = None
    estimate_picture_cpm: Number | None = None
    estimate_video_cpm: Number | None = None
    estimate_picture_engage_cost: Number | None = None
    estimate_video_engage_cost: Number | None = None
    estimate_picture_cpuv: Number | None = None
    estimate_video_cpuv: Number | None = None
    picture_read_cost: str | None = None
    """Unit unclear (probably fen); ``"0.0"`` = none."""
    video_read_cost: str | None = None
    picture_read_beyond_rate: str | None = None
    video_read_beyond_rate: str | None = None
    picture_case: int | None = None
    video_case: int | None = None


# --- 3. fans summary ----------------------------------------------------------------------------


class FansSummaryData(WireModel):
    """Fans summary (粉丝表现摘要): ``fans_summary``'s ``data``. Every ``*Rate`` is a percent
    string on a 0-100 scale (``100 × count / fansNum``, one decimal); ``*BeyondRate`` a
    percentile."""

    fans_num: int | None = None
    fans_increase_num: int | None = None
    """Net new followers over 30 days (may be negative)."""
    fans_growth_rate: str | None = None
    fans_growth_beyond_rate: str | None = None
    active_fans_l28: int | None = Field(default=None, alias="activeFansL28")
    active_fans_rate: str | None = None
    active_fans_beyond_rate: str | None = None
    engage_fans_l30: int | None = Field(default=None, alias="engageFansL30")
    engage_fans_rate: str | None = None
    engage_fans_beyond_rate: str | None = None
    read_fans_in30: int | None = Field(default=None, alias="readFansIn30")
    read_fans_rate: str | None = None
    read_fans_beyond_rate: str | None = None
    pay_fans_user_num30d: int | None = Field(default=None, alias="payFansUserNum30d")
    pay_fans_user_rate30d: str | None = Field(default=None, alias="payFansUserRate30d")


# --- 4. fans profile ----------------------------------------------------------------------------


class AgeShare(WireModel):
    """One age group (``"<18"``, ``"18-24"``, ``"25-34"``, ``"35-44"``, ``">44"``)."""

    group: str
    percent: Number
    """Fraction 0-1 of the followers whose age is known."""


class GenderShares(WireModel):
    male: Number | None = None
    female: Number | None = None
    """Fractions 0-1; they sum to 1 (to float error)."""


class NamedShare(WireModel):
    """One interest, province or city and its share (fraction 0-1)."""

    name: str
    percent: Number


class DeviceShare(WireModel):
    """One phone brand: ``name`` the raw maker (``"apple inc."``), ``desc`` the display name."""

    name: str
    desc: str | None = None
    percent: Number


class FansProfileData(WireModel):
    """Follower distribution (粉丝画像): ``fans_profile``'s ``data``. Shares are unrounded
    fractions 0-1 of the followers whose attribute is known (not of ``fansNum``); a list may be
    null or empty for a small account, which is missing, not 0 %."""

    ages: list[AgeShare] | None = None
    gender: GenderShares | None = None
    interests: list[NamedShare] | None = None
    """Top 20, descending; sums to less than 1."""
    provinces: list[NamedShare] | None = None
    cities: list[NamedShare] | None = None
    """Top ≤ 10, descending; a share of all followers with a known place (sums to ~0.27)."""
    devices: list[DeviceShare] | None = None
    date_key: str | None = None


# --- 5. fans history ----------------------------------------------------------------------------


class FollowerPoint(WireModel):
    """One day of the curve: the follower total (``FANS_TOTAL``) or the day's net new followers
    (``FANS_INCREASE``), which may be negative."""

    num: int
    date_key: str


class FansHistoryData(WireModel):
    """Follower growth history (粉丝趋势): ``fans_history``'s ``data``. ``fansNumIncRate`` is a
    0-1 fraction (not a percent string, unlike everywhere else)."""

    fans_num_inc: int | None = None
    fans_num_inc_rate: Number | None = None
    points: list[FollowerPoint] | None = Field(default=None, alias="list")
    """Ascending by day, ending at day D-1 (``list`` on the wire)."""
