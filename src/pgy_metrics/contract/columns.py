"""The tidy columns, defined once: names, kinds and Chinese labels.

Every tidy table the project writes or reads (the client's CSV/XLSX/Parquet exports, the analytics
layer's tables and reports) uses these columns in this order: who, which scope (API value names),
when and from which source first, then exactly the keys of ``units.flatten_scope``. Living in
the contract lets the client and the analytics layer share them without importing each other.
"""

from __future__ import annotations

from enum import StrEnum

from pgy_metrics.contract.units import flatten_scope

__all__ = [
    "COLUMNS",
    "COLUMN_KINDS",
    "LABELS_ZH",
    "METRIC_COLUMNS",
    "OPTIONAL_COLUMNS",
    "SCOPE_COLUMNS",
    "SOURCE_COLUMN",
    "ColumnKind",
]


SCOPE_COLUMNS: tuple[str, ...] = (
    "user_id",
    "business",
    "note_type",
    "date_type",
    "advertise_switch",
    "collected_at",
    "source",
)
"""Who, which scope (API value names), when (the envelope's ``recordTime``) and where from (the
``X-Pgy-Source`` header; see ``contract.provenance``)."""

SOURCE_COLUMN = "source"
"""Which source collected the row's data (``sandbox`` = synthetic); empty when unknown."""

OPTIONAL_COLUMNS: frozenset[str] = frozenset({SOURCE_COLUMN})
"""Columns a file written by an earlier version lacks; readers take them as empty (unknown)."""

METRIC_COLUMNS: tuple[str, ...] = tuple(flatten_scope({}))
"""Exactly the keys of ``flatten_scope``, in its order; the empty payload is the reference, so
the list does not depend on which payload happens to come first."""

COLUMNS: tuple[str, ...] = (*SCOPE_COLUMNS, *METRIC_COLUMNS)
"""The header of every tidy export."""


class ColumnKind(StrEnum):
    TEXT = "text"
    INTEGER = "integer"
    FRACTION = "fraction"
    """A share, rate or percentile as a number on a 0-1 scale (formatted as % in XLSX)."""
    NUMBER = "number"
    """A decimal in its own unit, e.g. a price in CNY (the sibling tables)."""
    BOOLEAN = "boolean"
    """true / false (the sibling tables)."""


_TEXT_METRICS = frozenset({"content_tag_1", "content_tag_2", "trade_names"})


def _kind(column: str) -> ColumnKind:
    if column in SCOPE_COLUMNS or column in _TEXT_METRICS or column.endswith("_publish_time"):
        return ColumnKind.TEXT
    if column.endswith(("_percent", "_rate")):
        return ColumnKind.FRACTION
    return ColumnKind.INTEGER


COLUMN_KINDS: dict[str, ColumnKind] = {column: _kind(column) for column in COLUMNS}
"""How each column is typed: Parquet dtype, XLSX number format."""

_BASE_LABELS: dict[str, str] = {
    "user_id": "博主ID",
    "business": "笔记类别",
    "note_type": "笔记形式",
    "date_type": "时间范围",
    "advertise_switch": "流量类型",
    "collected_at": "采集时间",
    "source": "数据来源",
    "note_number": "笔记数",
    "video_note_number": "视频笔记数",
    "imp_median": "曝光中位数",
    "read_median": "阅读中位数",
    "interaction_median": "赞藏评中位数之和",
    "like_median": "点赞中位数",
    "collect_median": "收藏中位数",
    "comment_median": "评论中位数",
    "share_median": "分享中位数",
    "hundred_like_percent": "百赞笔记比例",
    "thousand_like_percent": "千赞笔记比例",
    "imp_median_beyond_rate": "曝光中位数超过同类博主",
    "read_median_beyond_rate": "阅读中位数超过同类博主",
    "interaction_rate": "互动率",
    "interaction_beyond_rate": "互动率超过同类博主",
    "picture3s_view_rate": "图文3秒阅读率",
    "video_full_view_rate": "视频完播率",
    "video_full_view_beyond_rate": "视频完播率超过同类博主",
    "m_engagement_num": "互动中位数",
    "m_follow_cnt": "涨粉中位数",
    "content_tag_1": "内容类目1",
    "content_tag_1_percent": "内容类目1占比",
    "content_tag_2": "内容类目2",
    "content_tag_2_percent": "内容类目2占比",
    "trade_names": "合作行业",
}
_PAGE_LABELS = {
    "homefeed": "首页推荐",
    "search": "搜索",
    "follow": "关注页",
    "detail": "详情页",
    "nearby": "附近",
    "other": "其他",
    "find": "发现页",
    "kol_home": "博主主页",
}
_COHORT_LABELS = {"long_term_common": "长尾日常笔记", "long_term_cooperate": "长尾合作笔记"}
_COHORT_FIELD_LABELS = {
    "start_publish_time": "发布起始日",
    "end_publish_time": "发布截止日",
    "note_number": "笔记数",
    "recent_read_num": "近期阅读量",
    "long_term_read_num": "长期阅读量",
    "recent_read_beyond_rate": "近期阅读超过同类博主",
    "long_term_read_beyond_rate": "长期阅读超过同类博主",
}


def _label(column: str) -> str:
    if column in _BASE_LABELS:
        return _BASE_LABELS[column]
    for side, word in (("imp", "曝光"), ("read", "阅读")):
        page = column.removeprefix(f"{side}_").removesuffix("_percent")
        if column.startswith(f"{side}_") and page in _PAGE_LABELS:
            return f"{word}来源占比-{_PAGE_LABELS[page]}"
    for prefix, cohort in _COHORT_LABELS.items():
        if not column.startswith(f"{prefix}_"):
            continue
        field = column.removeprefix(f"{prefix}_")
        if field in _COHORT_FIELD_LABELS:
            return f"{cohort}-{_COHORT_FIELD_LABELS[field]}"
        for when, word in (("recent", "近期"), ("long_term", "长期")):
            page = field.removeprefix(f"{when}_").removesuffix("_page_percent")
            if field.startswith(f"{when}_") and page in _PAGE_LABELS:
                return f"{cohort}-{word}阅读来源占比-{_PAGE_LABELS[page]}"
    return column  # no label: the English name


LABELS_ZH: dict[str, str] = {column: _label(column) for column in COLUMNS}
"""The Chinese header row of XLSX exports; a column without a label shows its English name."""
