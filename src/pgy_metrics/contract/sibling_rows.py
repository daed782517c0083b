"""Tidy tables of the five sibling endpoints: the columns of each and the rows of one ``data``.

The rules of ``contract.units`` carry over (docs/api.md, the sibling endpoints): every percent
string becomes a 0-1 number, 0-1 shares stay 0-1, missing is ``None`` and never 0, and a ``0``
that means "not computed" (a cost estimate, a profile median of a creator not enrolled) is
missing too. Profile,
data summary and fans summary give one row per answer; fans profile and fans history are long
tables, one row per creator x dimension x bucket (an age group, a province, a day), so the lists
of any length fit a fixed header. A dimension the answer lacks (null or an empty list) still
gets one row with an empty bucket and share: missing stays visible instead of vanishing.

Each table starts with the identifying columns: ``user_id``, the endpoint's parameters (snake
case: ``business``, ``date_type``, ``increase_type``), ``collected_at`` and ``source``.
``docs/data.md`` lists every column; a test holds the two together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pgy_metrics.contract.columns import ColumnKind
from pgy_metrics.contract.endpoints import (
    BLOGGER_PROFILE,
    DATA_SUMMARY,
    ENDPOINTS,
    FANS_HISTORY,
    FANS_PROFILE,
    FANS_SUMMARY,
)
from pgy_metrics.contract.units import Value, is_missing, number, percent, snake_case

__all__ = ["SIBLING_TABLES", "SiblingTable", "identity_columns"]

T, INT, N, F, B = (
    ColumnKind.TEXT,
    ColumnKind.INTEGER,
    ColumnKind.NUMBER,
    ColumnKind.FRACTION,
    ColumnKind.BOOLEAN,
)

_IDENTITY_KINDS = {"user_id": T, "collected_at": T, "source": T}
_IDENTITY_LABELS = {
    "user_id": "博主ID",
    "business": "笔记类别",
    "date_type": "时间范围",
    "increase_type": "粉丝数类型",
    "collected_at": "采集时间",
    "source": "数据来源",
}


def identity_columns(endpoint: str) -> tuple[str, ...]:
    """``user_id``, the endpoint's parameters in snake case, ``collected_at``, ``source``."""
    params = tuple(snake_case(param.name) for param in ENDPOINTS[endpoint].params)
    return ("user_id", *params, "collected_at", "source")


Rows = Callable[[Mapping[str, Any]], list[dict[str, Value]]]


@dataclass(frozen=True)
class SiblingTable:
    """One endpoint's tidy table: its header, each column's kind and Chinese label, and how one
    ``data`` object becomes rows (the data columns only; the writer adds the identity)."""

    endpoint: str
    data_columns: tuple[tuple[str, ColumnKind, str], ...]
    rows: Rows
    long: bool
    """One row per bucket (fans profile, history) rather than one per answer."""

    @property
    def columns(self) -> tuple[str, ...]:
        return (*identity_columns(self.endpoint), *(name for name, _, _ in self.data_columns))

    @property
    def kinds(self) -> dict[str, ColumnKind]:
        kinds = {name: _IDENTITY_KINDS.get(name, T) for name in identity_columns(self.endpoint)}
        kinds.update((name, kind) for name, kind, _ in self.data_columns)
        return kinds

    @property
    def labels_zh(self) -> dict[str, str]:
        labels = {name: _IDENTITY_LABELS[name] for name in identity_columns(self.endpoint)}
        labels.update((name, label) for name, _, label in self.data_columns)
        return labels


# --- conversions --------------------------------------------------------------------------------


def _text(value: Any) -> str | None:
    return None if is_missing(value) else str(value)


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _positive(value: Any) -> float | int | None:
    """A number where ``0`` means "not computed" (estimates, an unenrolled creator's medians)."""
    found = number(value) if isinstance(value, int | float) or value is None else None
    return found if found else None


def _joined(values: Any) -> str | None:
    if not isinstance(values, list) or not values:
        return None
    return ";".join(str(value) for value in values if not is_missing(value)) or None


def _compare(value: Any) -> float | None:
    """A ``*Compare`` percentile sent as a 0-100 number, as a 0-1 number."""
    found = number(value) if isinstance(value, int | float) or value is None else None
    return None if found is None else round(found / 100, 6)


def _first(data: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    return None


# --- 1. creator profile -------------------------------------------------------------------------

_PROFILE_COLUMNS = (
    ("name", T, "达人昵称"),
    ("red_id", T, "小红书号"),
    ("gender", T, "性别"),
    ("location", T, "所在地"),
    ("fans_count", INT, "粉丝数"),
    ("like_collect_count", INT, "获赞与收藏"),
    ("business_note_count", INT, "商业笔记数"),
    ("coop_note_num_30d", INT, "近30天合作笔记数"),
    ("picture_price", N, "图文笔记一口价(元)"),
    ("video_price", N, "视频笔记一口价(元)"),
    ("lower_price", N, "最低报价(元)"),
    ("picture_state", INT, "图文接单状态"),
    ("video_state", INT, "视频接单状态"),
    ("picture_show_state", B, "图文报价展示"),
    ("video_show_state", B, "视频报价展示"),
    ("cooper_type", INT, "合作类型"),
    ("current_level", INT, "账号等级"),
    ("low_active", B, "低活跃"),
    ("content_tags", T, "内容类目"),
    ("feature_tags", T, "内容特征"),
    ("personal_tags", T, "人设标签"),
    ("agency", T, "机构"),
    ("trade_type", T, "合作行业"),
    ("read_median", INT, "阅读中位数"),
    ("interaction_median", INT, "互动中位数(赞藏评)"),
    ("engagement_median", INT, "互动中位数"),
)


def _content_tags(value: Any) -> str | None:
    """``level1:level2/level2;level1:...`` (a level-1 tag alone when it has no level 2)."""
    if not isinstance(value, list) or not value:
        return None
    parts = []
    for group in value:
        if not isinstance(group, dict) or is_missing(group.get("taxonomy1Tag")):
            continue
        subs = "/".join(str(tag) for tag in group.get("taxonomy2Tags") or ())
        parts.append(f"{group['taxonomy1Tag']}:{subs}" if subs else str(group["taxonomy1Tag"]))
    return ";".join(parts) or None


def _profile_rows(data: Mapping[str, Any]) -> list[dict[str, Value]]:
    sign = data.get("noteSign")
    like_collect = data.get("likeCollectCountInfo")
    return [
        {
            "name": _text(data.get("name")),
            "red_id": _text(data.get("redId")),
            "gender": _text(data.get("gender")),
            "location": _text(data.get("location")),
            "fans_count": _int(_first(data, "fansCount", "fansNum")),
            "like_collect_count": _int(like_collect),
            "business_note_count": _int(data.get("businessNoteCount")),
            "coop_note_num_30d": _int(data.get("coopNoteNum30d")),
            # null = not on the marketplace: stays empty, never 0
            "picture_price": number(data.get("picturePrice")),
            "video_price": number(data.get("videoPrice")),
            "lower_price": number(data.get("lowerPrice")),
            "picture_state": _int(data.get("pictureState")),
            "video_state": _int(data.get("videoState")),
            "picture_show_state": _flag(data.get("pictureShowState")),
            "video_show_state": _flag(data.get("videoShowState")),
            "cooper_type": _int(data.get("cooperType")),
            "current_level": _int(data.get("currentLevel")),
            "low_active": _flag(data.get("lowActive")),
            "content_tags": _content_tags(data.get("contentTags")),
            "feature_tags": _joined(data.get("featureTags")),
            "personal_tags": _joined(data.get("personalTags")),
            "agency": _text(sign.get("name")) if isinstance(sign, dict) else None,
            "trade_type": _joined(str(data["tradeType"]).split())
            if isinstance(data.get("tradeType"), str)
            else None,
            # 0 for a creator not enrolled although data summary has a median: missing
            "read_median": _positive(data.get("clickMidNum")),
            "interaction_median": _positive(data.get("interMidNum")),
            "engagement_median": _positive(_first(data, "mEngagementNum", "mengagementNum")),
        }
    ]


# --- 2. data summary ----------------------------------------------------------------------------

_SUMMARY_COLUMNS = (
    ("date_key", T, "数据日期"),
    ("note_number", INT, "发布笔记数"),
    ("imp_median", INT, "曝光中位数"),
    ("read_median", INT, "阅读中位数"),
    ("interaction_median", INT, "赞藏评中位数之和"),
    ("engagement_median", INT, "互动中位数"),
    ("read_median_beyond_rate", F, "阅读中位数超过同类博主"),
    ("interaction_beyond_rate", F, "互动中位数超过同类博主"),
    ("imp_median_compare", F, "曝光中位数优于同行"),
    ("read_median_compare", F, "阅读中位数优于同行"),
    ("engagement_median_compare", F, "互动中位数优于同行"),
    ("active_day_in_last_7", INT, "近7天活跃天数"),
    ("is_active", B, "活跃"),
    ("response_rate", F, "邀约48小时回复率"),
    ("invite_num", INT, "收到邀约数"),
    ("easy_connect", B, "好联系"),
    ("fans_30_growth_rate", F, "近30天粉丝量变化幅度"),
    ("fans_30_growth_beyond_rate", F, "粉丝量变化幅度超过同类博主"),
    ("kol_advantage", T, "博主优势"),
    ("content_tag_1", T, "内容类目1"),
    ("content_tag_1_percent", F, "内容类目1占比"),
    ("content_tag_2", T, "内容类目2"),
    ("content_tag_2_percent", F, "内容类目2占比"),
    ("trade_names", T, "合作行业"),
    ("estimate_picture_cpm", N, "预估图文CPM(元/千次曝光)"),
    ("estimate_video_cpm", N, "预估视频CPM(元/千次曝光)"),
    ("estimate_picture_engage_cost", N, "预估图文互动单价(元)"),
    ("estimate_video_engage_cost", N, "预估视频互动单价(元)"),
    ("picture_case", INT, "图文合作案例数"),
    ("video_case", INT, "视频合作案例数"),
)


def _summary_rows(data: Mapping[str, Any]) -> list[dict[str, Value]]:
    found = data.get("noteType")
    tags: list[Any] = found if isinstance(found, list) else []
    row: dict[str, Value] = {
        "date_key": _text(data.get("dateKey")),
        "note_number": _int(data.get("noteNumber")),
        "imp_median": _int(data.get("mAccumImpNum")),
        "read_median": _int(_first(data, "readMedian", "mValidRawReadFeedNum")),
        "interaction_median": _int(data.get("interactionMedian")),
        "engagement_median": _int(_first(data, "mEngagementNum", "mengagementNum")),
        "read_median_beyond_rate": percent(data.get("readMedianBeyondRate")),
        "interaction_beyond_rate": percent(data.get("interactionBeyondRate")),
        "imp_median_compare": _compare(data.get("mAccumImpCompare")),
        "read_median_compare": _compare(data.get("mValidRawReadFeedCompare")),
        "engagement_median_compare": _compare(data.get("mEngagementNumCompare")),
        "active_day_in_last_7": _int(data.get("activeDayInLast7")),
        "is_active": _flag(data.get("isActive")),
        # "0.0" without a single invitation is no rate at all
        "response_rate": percent(data.get("responseRate")) if data.get("inviteNum") else None,
        "invite_num": _int(data.get("inviteNum")),
        "easy_connect": _flag(data.get("easyConnect")),
        "fans_30_growth_rate": percent(data.get("fans30GrowthRate")),
        "fans_30_growth_beyond_rate": percent(data.get("fans30GrowthBeyondRate")),
        "kol_advantage": _text(data.get("kolAdvantage")),
        "trade_names": _joined(data.get("tradeNames")),
        # 0 = not computed (a creator without a price): missing, never free
        "estimate_picture_cpm": _positive(data.get("estimatePictureCpm")),
        "estimate_video_cpm": _positive(data.get("estimateVideoCpm")),
        "estimate_picture_engage_cost": _positive(data.get("estimatePictureEngageCost")),
        "estimate_video_engage_cost": _positive(data.get("estimateVideoEngageCost")),
        "picture_case": _int(data.get("pictureCase")),
        "video_case": _int(data.get("videoCase")),
    }
    for index in range(2):
        tag = tags[index] if index < len(tags) and isinstance(tags[index], dict) else {}
        row[f"content_tag_{index + 1}"] = _text(tag.get("contentTag"))
        row[f"content_tag_{index + 1}_percent"] = percent(tag.get("percent"))
    return [{name: row[name] for name, _, _ in _SUMMARY_COLUMNS}]


# --- 3. fans summary ----------------------------------------------------------------------------

_FANS_SUMMARY_KEYS = (
    ("fans_num", "fansNum", INT, "粉丝数"),
    ("fans_increase_num", "fansIncreaseNum", INT, "近30日涨粉数"),
    ("fans_growth_rate", "fansGrowthRate", F, "粉丝量变化幅度"),
    ("fans_growth_beyond_rate", "fansGrowthBeyondRate", F, "粉丝量变化幅度超过同类博主"),
    ("active_fans_l28", "activeFansL28", INT, "近28天活跃粉丝数"),
    ("active_fans_rate", "activeFansRate", F, "活跃粉丝占比"),
    ("active_fans_beyond_rate", "activeFansBeyondRate", F, "活跃粉丝占比超过同类博主"),
    ("engage_fans_l30", "engageFansL30", INT, "近30天互动粉丝数"),
    ("engage_fans_rate", "engageFansRate", F, "互动粉丝占比"),
    ("engage_fans_beyond_rate", "engageFansBeyondRate", F, "互动粉丝占比超过同类博主"),
    ("read_fans_in_30", "readFansIn30", INT, "近30天阅读粉丝数"),
    ("read_fans_rate", "readFansRate", F, "阅读粉丝占比"),
    ("read_fans_beyond_rate", "readFansBeyondRate", F, "阅读粉丝占比超过同类博主"),
    ("pay_fans_user_num_30d", "payFansUserNum30d", INT, "近30天下单粉丝数"),
    ("pay_fans_user_rate_30d", "payFansUserRate30d", F, "下单粉丝占比"),
)


def _fans_summary_rows(data: Mapping[str, Any]) -> list[dict[str, Value]]:
    return [
        {
            column: percent(data.get(key)) if kind is F else _int(data.get(key))
            for column, key, kind, _ in _FANS_SUMMARY_KEYS
        }
    ]


# --- 4. fans profile (long) ---------------------------------------------------------------------

AUDIENCE_DIMENSIONS = ("ages", "gender", "interests", "provinces", "cities", "devices")
"""The dimensions of fans profile, in the order of the answer."""

_AUDIENCE_COLUMNS = (
    ("date_key", T, "数据日期"),
    ("dimension", T, "维度"),
    ("rank", INT, "排名"),
    ("bucket", T, "分组"),
    ("bucket_label", T, "分组名称"),
    ("share", F, "占比"),
)


def _audience_rows(data: Mapping[str, Any]) -> list[dict[str, Value]]:
    date_key = _text(data.get("dateKey"))
    rows: list[dict[str, Value]] = []
    for dimension in AUDIENCE_DIMENSIONS:
        buckets = _buckets(dimension, data.get(dimension))
        if not buckets:
            buckets = [(None, None, None)]  # missing: one empty row, never a 0 share
        for rank, (bucket, label, share) in enumerate(buckets, start=1):
            rows.append(
                {
                    "date_key": date_key,
                    "dimension": dimension,
                    "rank": rank if bucket is not None else None,
                    "bucket": bucket,
                    "bucket_label": label,
                    "share": share,
                }
            )
    return rows


def _buckets(dimension: str, value: Any) -> Sequence[tuple[str | None, str | None, Value]]:
    """(bucket, display label, 0-1 share) in the answer's order."""
    if dimension == "gender":
        if not isinstance(value, dict):
            return []
        return [(str(sex), str(sex), number(share)) for sex, share in value.items()]
    if not isinstance(value, list):
        return []
    found = []
    for entry in value:
        if not isinstance(entry, dict):
            continue
        bucket = _text(entry.get("group" if dimension == "ages" else "name"))
        label = _text(entry.get("desc")) if dimension == "devices" else bucket
        found.append((bucket, label or bucket, number(entry.get("percent"))))
    return found


# --- 5. fans history (long) ---------------------------------------------------------------------

_HISTORY_COLUMNS = (
    ("date_key", T, "日期"),
    ("num", INT, "粉丝数或新增粉丝数"),
)


def _history_rows(data: Mapping[str, Any]) -> list[dict[str, Value]]:
    points = data.get("list")
    rows: list[dict[str, Value]] = [
        {"date_key": _text(point.get("dateKey")), "num": _int(point.get("num"))}
        for point in (points if isinstance(points, list) else ())
        if isinstance(point, dict)
    ]
    return rows or [{"date_key": None, "num": None}]


SIBLING_TABLES: dict[str, SiblingTable] = {
    BLOGGER_PROFILE: SiblingTable(BLOGGER_PROFILE, _PROFILE_COLUMNS, _profile_rows, long=False),
    DATA_SUMMARY: SiblingTable(DATA_SUMMARY, _SUMMARY_COLUMNS, _summary_rows, long=False),
    FANS_SUMMARY: SiblingTable(
        FANS_SUMMARY,
        tuple((column, kind, label) for column, _, kind, label in _FANS_SUMMARY_KEYS),
        _fans_summary_rows,
        long=False,
    ),
    FANS_PROFILE: SiblingTable(FANS_PROFILE, _AUDIENCE_COLUMNS, _audience_rows, long=True),
    FANS_HISTORY: SiblingTable(FANS_HISTORY, _HISTORY_COLUMNS, _history_rows, long=True),
}
"""The tidy table of each sibling endpoint, by endpoint name."""
