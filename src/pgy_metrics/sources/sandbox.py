"""The ``sandbox`` source: deterministic synthetic note performance data (and the five sibling
endpoints' data for the same creators, at the end of this module). Nothing here is real.

Every creator, note, title and number this module produces is made up. The server marks every answer
built from it with the ``X-Pgy-Source: sandbox`` header (the server does that, not this module), so
synthetic data can never pass for Pugongying data in a demo, a test or an export.

Why it exists: demos, tests, benchmarks and local development need answers of the contract's exact
shape for any creator id, without a logged-in Pugongying account and without the network. So the
payloads keep the JSON types and key order of a real answer and every cross-check of
``contract.md`` (sums of medians, like-percentage counts, ``trunc3`` relative deviations, traffic
shares summing to 1, empty-scope rule 1), which makes the analytics layer testable against them.
Every number also has the precision a real answer gives that field (integer counts, one-decimal
percent strings, 3-decimal shares and deviations), so nothing prints as float noise.

How, and why that way:

- A creator's traits depend on ``(seed, userId)`` only (see ``creator_profile``), so the follower
  count and the content mix do not change between scopes or days.
- The creator's publishing history is one Poisson process over calendar days, generated in fixed
  blocks of days, each block seeded by ``blake2b(seed, userId, block)``. A note therefore keeps its
  id, date, type and potential from one fetch day to the next, and its counts only grow with age.
- The 24 scopes are filters and traffic views of that same set of notes, which makes them mutually
  plausible by construction: the 90-day notes include the 30-day ones, organic-only counts never
  exceed all-traffic counts, daily and sponsored notes are disjoint, a creator without videos has an
  empty ``VIDEO`` scope.
- What a real answer does not derive from the notes (percentiles against same-tier creators, video
  completion and 3-second rates, traffic-source shares) is drawn from a ``random.Random`` seeded by
  ``blake2b(seed, userId, scope, day)``. Python's ``hash()`` is never used: it is salted per
  process.

The same ``(seed, userId, scope, day)`` always gives the same ``data`` (for a given Python version),
where ``day`` is the clock's date in Asia/Shanghai, the day the hosted API counts in.
"""

from __future__ import annotations

import hashlib
import math
import random
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pgy_metrics.clock import Clock
from pgy_metrics.contract.endpoints import (
    BLOGGER_PROFILE,
    DATA_SUMMARY,
    FANS_HISTORY,
    FANS_PROFILE,
    FANS_SUMMARY,
    NOTES_RATE,
    Query,
)
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, IncreaseType, NoteType
from pgy_metrics.contract.params import Scope
from pgy_metrics.contract.provenance import SYNTHETIC_SOURCE
from pgy_metrics.sources.base import EndpointNotCollected
from pgy_metrics.sources.spec import BuildContext, SourceKind, SourceSpec

__all__ = [
    "DEFAULT_SEED",
    "GENERATORS",
    "KIND",
    "CreatorProfile",
    "SandboxSource",
    "SandboxSpec",
    "creator_profile",
]

DEFAULT_SEED = 0
"""The synthetic world everyone gets unless they ask for another (``PGY_SANDBOX_SEED``)."""

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
"""The hosted API's day. A fixed offset: China has had no daylight saving time since 1991, and this
needs no tz database (absent on some Windows installs)."""

MAX_NOTES = 15
"""Upstream lists at most this many notes of a scope: the most recent ones."""

WINDOW_DAYS: dict[DateType, int] = {DateType.DAY_30: 30, DateType.DAY_90: 90}
"""A scope covers notes published on the N days before the fetch day (the fetch day excluded)."""

COHORT_END_DAYS_BEFORE = 180
COHORT_DAYS = 60
"""The long-term cohort: notes published from 240 to 180 days before the fetch day, as in the real
fixture (fetched 2025-12-08, cohort 2025-04-12 .. 2025-06-11)."""

BLOCK_DAYS = 10
"""Length of one independently seeded block of the publishing history."""

UNIVERSE_CACHE_SIZE = 128
"""Creator-days kept in memory: the 24 scopes of a creator are usually fetched together, and
building a creator-day costs far more than deriving one scope from it."""

FOLLOWERS_MIN_LOG10 = 3.0
FOLLOWERS_MAX_LOG10 = math.log10(5_000_000)
"""Followers are log-uniform between 1k and 5M: tiny creators are as common as each decade above."""

NO_VIDEO_SHARE = 0.07
VIDEO_ONLY_SHARE = 0.03
"""Shares of creators who never post videos / only post videos (their VIDEO / PHOTO_TEXT scopes are
empty). Together with the never-sponsored creators and quiet months they make ~15-20 % of all
scopes empty, the band real crawls show."""

NEVER_SPONSORED_SMALL = 0.35
NEVER_SPONSORED_LARGE = 0.06
SMALL_CREATOR_FOLLOWERS = 10_000
"""Share of creators without any cooperation, below and above ``SMALL_CREATOR_FOLLOWERS``."""

CONTENT_TAGS: tuple[str, ...] = (
    "美妆",
    "科技数码",
    "美食",
    "穿搭",
    "旅行",
    "母婴",
    "家居",
    "健身",
    "宠物",
    "教育",
    "职场",
    "摄影",
)

_TITLES: dict[str, tuple[str, ...]] = {
    "美妆": (
        "秋冬底妆不卡粉的秘密",
        "平价口红试色合集",
        "新手也能学会的日常妆",
        "敏感肌护肤心得分享",
        "一周通勤妆容不重样",
    ),
    "科技数码": (
        "这时候买二手手机还划算吗？",
        "桌面改造｜打工人的数码好物",
        "平板到底值不值得买",
        "降噪耳机横评来了",
        "学生党笔记本怎么选",
    ),
    "美食": (
        "十分钟搞定的快手早餐",
        "在家复刻网红甜品",
        "本地人才知道的小馆子",
        "减脂期也能吃的晚餐",
        "一锅出的懒人焖饭",
    ),
    "穿搭": (
        "小个子冬季穿搭公式",
        "一衣多穿｜通勤这样搭",
        "平价大衣试穿合集",
        "梨形身材显瘦秘诀",
        "早秋配色灵感",
    ),
    "旅行": (
        "三天两晚的小众旅行地",
        "周末短途去哪儿",
        "人少景美的宝藏古镇",
        "第一次去新疆的攻略",
        "海岛旅行避坑指南",
    ),
    "母婴": (
        "新手妈妈待产包清单",
        "宝宝辅食一周不重样",
        "带娃出行必备好物",
        "孕期护肤怎么选",
        "亲子阅读书单分享",
    ),
    "家居": (
        "出租屋低成本改造",
        "小户型收纳神器",
        "卧室氛围感布置",
        "厨房清洁的小妙招",
        "冬季宿舍好物分享～",
    ),
    "健身": (
        "跟练一个月的变化",
        "在家就能做的燃脂训练",
        "新手健身房指南",
        "跑步膝盖疼怎么办",
        "体态改善的三个动作",
    ),
    "宠物": (
        "第一次养猫要准备什么",
        "狗狗挑食怎么办",
        "自制宠物零食",
        "猫咪体检记录",
        "带宠物出行攻略",
    ),
    "教育": (
        "四六级高分经验分享",
        "考研择校避坑",
        "高效学习计划表",
        "英语口语每天十分钟",
        "孩子写作业拖拉怎么办",
    ),
    "职场": (
        "应届生简历这样写",
        "面试被问缺点怎么答",
        "打工人的周末充电计划",
        "跳槽前想清楚这几点",
        "汇报PPT的小技巧",
    ),
    "摄影": (
        "手机拍出氛围感人像",
        "新手相机参数设置",
        "城市夜景拍摄攻略",
        "调色预设分享",
        "旅行照片怎么拍不游客照",
    ),
}

_TITLE_DECORATIONS: tuple[tuple[str, str], ...] = (
    ("", ""),
    ("", ""),
    ("✨", ""),
    ("", "✨"),
    ("🔥", ""),
    ("", "！"),
    ("📌", ""),
    ("", "～"),
)

_INDUSTRIES: dict[str, tuple[str, ...]] = {
    "美妆": ("美妆", "个人护理"),
    "科技数码": ("3C及电器", "互联网"),
    "美食": ("食品饮料", "餐饮"),
    "穿搭": ("服饰鞋包", "珠宝配饰"),
    "旅行": ("出行旅游", "酒店住宿"),
    "母婴": ("母婴育儿", "个人护理"),
    "家居": ("家居家装", "家用电器"),
    "健身": ("运动户外", "医疗健康"),
    "宠物": ("宠物用品", "食品饮料"),
    "教育": ("教育培训", "图书文具"),
    "职场": ("教育培训", "互联网"),
    "摄影": ("3C及电器", "出行旅游"),
}
_ALL_INDUSTRIES: tuple[str, ...] = tuple(
    dict.fromkeys(name for names in _INDUSTRIES.values() for name in names)
)

_IMG_PREFIX = "http://ci.xiaohongshu.com/notes_pre_post/1040g3k8"
_IMG_SUFFIX = "?imageView2/2/w/540/format/jpg/q/75"
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
_PERCENT_ZERO = "0.0"


def _rng(*parts: object) -> random.Random:
    """A generator seeded by a stable hash of ``parts`` (never ``hash()``, which is salted)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16).digest()
    # Not for security: reproducible synthetic numbers are the point.
    return random.Random(int.from_bytes(digest, "big"))


def _normal(rng: random.Random) -> float:
    """A standard normal draw by Box-Muller on ``random()``, whose stream Python keeps stable."""
    return math.sqrt(-2.0 * math.log(1.0 - rng.random())) * math.cos(2.0 * math.pi * rng.random())


def _spread(rng: random.Random, width: float) -> float:
    """Small symmetric noise in [-width, width): one draw, no transcendental functions."""
    return width * (2.0 * rng.random() - 1.0)


def _jitter(rng: random.Random, width: float) -> float:
    """A multiplicative noise factor in [1 - width, 1 + width): cheap, for small wobbles."""
    return 1.0 + width * (2.0 * rng.random() - 1.0)


def _pick(rng: random.Random, items: Sequence[str]) -> str:
    return items[int(rng.random() * len(items))]


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def _percent(value: float) -> str:
    """A 0-100 percentage as upstream writes it: a string with one decimal."""
    return f"{value:.1f}"


def _percentile(z: float) -> str:
    """A same-tier percentile from a standard score; never 0: nobody ranks below everyone."""
    return _percent(_clamp(50.0 * (1.0 + math.erf(z / math.sqrt(2.0))), 0.1, 99.9))


def _tier_reads(followers: int) -> float:
    """Median reads per note of creators with this many followers: the yardstick of same-tier
    percentiles. Sub-linear, because search traffic lifts small accounts more than large ones."""
    return 2.0 * math.pow(followers, 0.75)


def _median(values: Sequence[int]) -> int:
    """Integer median: the middle value, or the floor of the mean of the two middle values."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return 0
    mid = n // 2
    if n % 2:
        return ordered[mid]
    return (ordered[mid - 1] + ordered[mid]) // 2


def _beyond(value: int, median: int) -> float:
    """``trunc3(value / median - 1)`` in exact integer arithmetic (floats would misround 0.287).

    A median of 0 only occurs in empty scopes, which list no notes; 0.0 keeps it total anyway.
    """
    if median <= 0:
        return 0.0
    diff = value - median
    thousandths = abs(diff) * 1000 // median
    return (thousandths if diff >= 0 else -thousandths) / 1000


def _growth(age_days: int) -> float:
    """Share of a note's lifetime counts it has gathered at this age (most arrive in week one)."""
    return 1.0 - 0.7 * math.exp(-(age_days - 1) / 4.0)


@dataclass(frozen=True, slots=True)
class CreatorProfile:
    """Traits of one synthetic creator, fixed by ``(seed, userId)`` alone.

    They are the levers that make the 24 scopes of a creator agree with each other: a creator with
    ``video_share == 0`` has no videos in any scope, one with ``sponsored_share == 0`` never has
    sponsored notes (and ``trade_names`` is None), and reads everywhere scale with
    ``typical_reads``.
    """

    followers: int
    content_tags: tuple[str, ...]
    """Main content categories, most frequent first."""
    video_share: float
    """Share of notes that are videos: 0 means never, 1 means only videos."""
    sponsored_share: float
    """Share of notes that are sponsored (合作笔记); 0 means the creator never had a cooperation."""
    notes_per_week: float
    typical_reads: int
    """Median lifetime reads of a daily note with all traffic."""
    click_rate: float
    """Reads per impression."""
    engagement_rate: float
    """Interactions (likes + collects + comments) per read."""
    trade_names: tuple[str, ...] | None
    """Industries of past cooperations (``tradeNames``), None without sponsored notes."""


def creator_profile(user_id: str, seed: int = 0) -> CreatorProfile:
    """The traits of a synthetic creator; a pure function of ``(seed, user_id)``."""
    rng = _rng(seed, "creator", user_id)
    log_followers = FOLLOWERS_MIN_LOG10 + (FOLLOWERS_MAX_LOG10 - FOLLOWERS_MIN_LOG10) * rng.random()
    followers = round(10**log_followers)

    primary = int(rng.random() * len(CONTENT_TAGS))
    secondary = (primary + 1 + int(rng.random() * (len(CONTENT_TAGS) - 1))) % len(CONTENT_TAGS)
    tags = [CONTENT_TAGS[primary], CONTENT_TAGS[secondary]]
    if rng.random() < 0.4:
        third = CONTENT_TAGS[int(rng.random() * len(CONTENT_TAGS))]
        if third not in tags:
            tags.append(third)

    kind = rng.random()
    if kind < NO_VIDEO_SHARE:
        video_share = 0.0
    elif kind < NO_VIDEO_SHARE + VIDEO_ONLY_SHARE:
        video_share = 1.0
    else:
        video_share = 0.1 + 0.7 * rng.random()

    # Small accounts rarely get cooperations; most larger ones do, at a minority of their notes
    # (at most 40 %, so sponsored notes are fewer than daily ones).
    small = followers < SMALL_CREATOR_FOLLOWERS
    never_sponsored = NEVER_SPONSORED_SMALL if small else NEVER_SPONSORED_LARGE
    sponsored_share = 0.0 if rng.random() < never_sponsored else 0.12 + 0.28 * rng.random()

    notes_per_week = 9.0 ** rng.random()  # log-uniform, 1 to 9 notes a week
    typical_reads = max(30, round(_tier_reads(followers) * math.exp(0.6 * _normal(rng))))
    click_rate = 0.12 + 0.18 * rng.random()
    engagement_rate = 0.015 * 8.0 ** rng.random()  # log-uniform, 1.5 % to 12 %

    trade_names: tuple[str, ...] | None = None
    if sponsored_share > 0:
        names = [_pick(rng, _INDUSTRIES[tags[0]])]
        for _ in range(int(rng.random() * 3)):
            name = _pick(rng, _ALL_INDUSTRIES)
            if name not in names:
                names.append(name)
        trade_names = tuple(names)

    return CreatorProfile(
        followers=followers,
        content_tags=tuple(tags),
        video_share=video_share,
        sponsored_share=sponsored_share,
        notes_per_week=notes_per_week,
        typical_reads=typical_reads,
        click_rate=click_rate,
        engagement_rate=engagement_rate,
        trade_names=trade_names,
    )


@dataclass(frozen=True, slots=True)
class _Style:
    """Finer creator traits that only shape numbers (kept out of the public profile)."""

    like_share: float
    collect_share: float
    comment_share: float
    share_share: float
    follow_rate: float
    video_completion: float
    photo_3s_rate: float
    traffic: tuple[float, float, float, float, float, float]
    """Base weights of impressions by source: homefeed, search, follow, detail, nearby, other."""
    long_tail: float
    """Long-term reads of an old note relative to its reads in its first month."""


def _creator_style(user_id: str, seed: int) -> _Style:
    rng = _rng(seed, "style", user_id)
    collect_share = 0.12 + 0.2 * rng.random()
    comment_share = 0.04 + 0.1 * rng.random()
    search = 0.15 + 0.55 * rng.random()
    nearby = 0.0 if rng.random() < 0.7 else 0.002 + 0.02 * rng.random()
    traffic = (
        0.25 + 0.5 * rng.random(),
        search,
        0.01 + 0.06 * rng.random(),
        0.01 + 0.04 * rng.random(),
        nearby,
        0.01 + 0.04 * rng.random(),
    )
    return _Style(
        like_share=1.0 - collect_share - comment_share,
        collect_share=collect_share,
        comment_share=comment_share,
        share_share=0.03 + 0.1 * rng.random(),
        follow_rate=0.001 + 0.01 * rng.random(),
        video_completion=0.08 + 0.35 * rng.random(),
        photo_3s_rate=0.45 + 0.4 * rng.random(),
        traffic=traffic,
        long_tail=0.3 + 2.5 * search * rng.random(),
    )


@dataclass(frozen=True, slots=True)
class _Note:
    """One synthetic note with its lifetime (mature) counts; a fetch day shows them grown by age."""

    note_id: str
    day: int
    """Publication day, in days since 1970-01-01 (Shanghai dates)."""
    publish_time: str
    timestamp: int
    type: int
    cooperate: bool
    tag: str
    title: str
    img_url: str
    can_jump: bool
    imp: float
    reads: float
    likes: float
    collects: float
    comments: float
    shares: float
    follows: float
    organic: float
    """Share of the note's traffic that is organic (1.0 when never boosted)."""


def _block_notes(
    user_id: str, seed: int, block: int, profile: CreatorProfile, style: _Style
) -> list[_Note]:
    """Notes published in one block of days: a Poisson process, seeded by the block alone."""
    rng = _rng(seed, "block", user_id, block)
    rate = profile.notes_per_week / 7.0
    start = block * BLOCK_DAYS
    notes: list[_Note] = []
    t = -math.log(1.0 - rng.random()) / rate
    while t < BLOCK_DAYS:
        day = start + int(t)
        # Midnight in Shanghai is day * 86400 - 8 h in Unix time: post between 08:00 and 24:00.
        timestamp = day * 86_400 + int(rng.random() * 16 * 3_600)
        note_id = f"{timestamp:08x}000000001e0{rng.getrandbits(20):05x}"
        img = f"{rng.getrandbits(128):032x}"
        cooperate = rng.random() < profile.sponsored_share
        video = rng.random() < profile.video_share
        roll = rng.random()
        tags = profile.content_tags
        tag = tags[0] if roll < 0.6 else tags[1] if roll < 0.9 else tags[-1]
        prefix, suffix = _TITLE_DECORATIONS[int(rng.random() * len(_TITLE_DECORATIONS))]
        title = prefix + _pick(rng, _TITLES[tag]) + suffix

        reads = profile.typical_reads * math.exp(0.9 * _normal(rng)) * (0.8 if cooperate else 1.0)
        click = _clamp(profile.click_rate * _jitter(rng, 0.2), 0.04, 0.6)
        interactions = reads * min(0.35, profile.engagement_rate * math.exp(0.45 * _normal(rng)))
        if cooperate:
            organic = 0.3 + 0.6 * rng.random() if rng.random() < 0.55 else 1.0
        else:
            organic = 0.5 + 0.45 * rng.random() if rng.random() < 0.12 else 1.0
        notes.append(
            _Note(
                note_id=note_id,
                day=day,
                publish_time=date.fromordinal(day + _EPOCH_ORDINAL).isoformat(),
                timestamp=timestamp,
                type=2 if video else 1,
                cooperate=cooperate,
                tag=tag,
                title=title,
                img_url=f"{_IMG_PREFIX}{img}{_IMG_SUFFIX}",
                can_jump=rng.random() >= 0.03,
                imp=reads / click,
                reads=reads,
                likes=interactions * style.like_share * (0.85 + 0.3 * rng.random()),
                collects=interactions * style.collect_share * (0.7 + 0.6 * rng.random()),
                comments=interactions * style.comment_share * (0.5 + rng.random()),
                shares=interactions * style.share_share * (0.5 + rng.random()),
                follows=reads * style.follow_rate * (0.3 + 1.4 * rng.random()),
                organic=organic,
            )
        )
        t += -math.log(1.0 - rng.random()) / rate
    return notes


def _notes_between(
    user_id: str, seed: int, first_day: int, last_day: int, profile: CreatorProfile, style: _Style
) -> list[_Note]:
    """Notes published from ``first_day`` to ``last_day`` (inclusive), oldest first."""
    notes: list[_Note] = []
    for block in range(first_day // BLOCK_DAYS, last_day // BLOCK_DAYS + 1):
        notes.extend(
            note
            for note in _block_notes(user_id, seed, block, profile, style)
            if first_day <= note.day <= last_day
        )
    notes.sort(key=lambda note: note.timestamp)
    return notes


_Counts = tuple[int, int, int, int, int, int, int]
"""What a fetch day shows of a note: imp, reads, likes, collects, comments, shares, follows."""
_Entry = tuple[_Note, _Counts]


def _counts(note: _Note, age_days: int, organic_only: bool) -> _Counts:
    """Integer counts at this age. Imp, reads, likes and collects are at least 1, so a non-empty
    scope never has a zero median to divide by; floors of the same factor keep reads <= imp and
    organic <= all."""
    factor = _growth(age_days) * (note.organic if organic_only else 1.0)
    return (
        max(1, int(note.imp * factor)),
        max(1, int(note.reads * factor)),
        max(1, int(note.likes * factor)),
        max(1, int(note.collects * factor)),
        int(note.comments * factor),
        int(note.shares * factor),
        int(note.follows * factor),
    )


@dataclass(slots=True)
class _CreatorDay:
    """Everything of one creator on one fetch day that the 24 scopes share."""

    user_id: str
    seed: int
    day: date
    profile: CreatorProfile
    style: _Style
    notes: list[_Note]
    """Notes of the last 90 days, oldest first."""
    counts_all: list[_Counts]
    counts_organic: list[_Counts]
    long_term_common: dict[str, Any]
    long_term_cooperate: dict[str, Any]
    donor_percentiles: tuple[str, str, str, str] | None = field(default=None)
    selections: dict[tuple[Business, NoteType, AdvertiseSwitch], list[_Entry]] = field(
        default_factory=dict
    )
    """The 90-day notes of each filter, built on first use; a 30-day scope is a suffix of them."""
    market: _Market | None = field(default=None)
    """The sibling endpoints' shared state (followers, prices), built on first use."""


@dataclass(frozen=True, slots=True)
class _ScopeStats:
    """The numbers of a non-empty scope that its percentiles depend on."""

    imp_median: int
    read_median: int
    interaction_rate: float
    video_full_view_rate: float
    """0-1; 0 when the scope has no video."""


class SandboxSource:
    """Synthetic, deterministic data for any creator id: the same for the same seed, id, scope
    and Shanghai day. Never fails, never touches the network."""

    name = SYNTHETIC_SOURCE

    def __init__(self, *, clock: Clock, seed: int = DEFAULT_SEED) -> None:
        self._clock = clock
        self._seed = seed
        self._cache: OrderedDict[tuple[str, date], _CreatorDay] = OrderedDict()

    async def fetch(self, query: Query) -> dict[str, Any]:
        """The synthetic ``data`` object for the query, as of today in Shanghai.

        Each endpoint has its generator in ``GENERATORS``, all built on the same creator-day, so
        the endpoints of one synthetic creator agree with each other as the real ones do."""
        generate = GENERATORS.get(query.endpoint.name)
        if generate is None:
            raise EndpointNotCollected(query, source=self.name)
        return generate(self, query, self.today())

    async def aclose(self) -> None:
        """Nothing to release; the cache is plain memory."""
        self._cache.clear()

    def today(self) -> date:
        """The fetch day the data is computed for: the clock's date in Asia/Shanghai."""
        return self._clock.now().astimezone(SHANGHAI).date()

    def generate(self, user_id: str, scope: Scope, *, day: date) -> dict[str, Any]:
        """The ``data`` object for a given fetch day (synchronous, for tests and tools)."""
        creator_day = self._creator_day(user_id, day)
        return _scope_payload(creator_day, scope)

    def creator_day(self, user_id: str, day: date) -> _CreatorDay:
        """Everything of one creator on one fetch day that every endpoint's payload shares."""
        return self._creator_day(user_id, day)

    def _creator_day(self, user_id: str, day: date) -> _CreatorDay:
        key = (user_id, day)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        built = _build_creator_day(user_id, self._seed, day)
        self._cache[key] = built
        if len(self._cache) > UNIVERSE_CACHE_SIZE:
            self._cache.popitem(last=False)
        return built


def _build_creator_day(user_id: str, seed: int, day: date) -> _CreatorDay:
    profile = creator_profile(user_id, seed)
    style = _creator_style(user_id, seed)
    today = day.toordinal() - _EPOCH_ORDINAL
    notes = _notes_between(
        user_id, seed, today - max(WINDOW_DAYS.values()), today - 1, profile, style
    )
    counts_all = [_counts(note, today - note.day, organic_only=False) for note in notes]
    counts_organic = [_counts(note, today - note.day, organic_only=True) for note in notes]
    cohort_end = today - COHORT_END_DAYS_BEFORE
    cohort = _notes_between(user_id, seed, cohort_end - COHORT_DAYS, cohort_end, profile, style)
    start = date.fromordinal(cohort_end - COHORT_DAYS + _EPOCH_ORDINAL).isoformat()
    end = date.fromordinal(cohort_end + _EPOCH_ORDINAL).isoformat()
    return _CreatorDay(
        user_id=user_id,
        seed=seed,
        day=day,
        profile=profile,
        style=style,
        notes=notes,
        counts_all=counts_all,
        counts_organic=counts_organic,
        long_term_common=_long_term(
            [n for n in cohort if not n.cooperate],
            start,
            end,
            profile,
            style,
            _rng(seed, "cohort", user_id, Business.DAILY_NOTE, day.isoformat()),
        ),
        long_term_cooperate=_long_term(
            [n for n in cohort if n.cooperate],
            start,
            end,
            profile,
            style,
            _rng(seed, "cohort", user_id, Business.COOPERATE_NOTE, day.isoformat()),
        ),
    )


def _long_term(
    cohort: list[_Note],
    start: str,
    end: str,
    profile: CreatorProfile,
    style: _Style,
    rng: random.Random,
) -> dict[str, Any]:
    """``longTerm*NoteVo``: long-tail reads of old notes, metric fields null without notes."""
    if not cohort:
        return {
            "startPublishTime": start,
            "endPublishTime": end,
            "noteNumber": 0,
            "recentReadNum": None,
            "recentReadBeyondRate": None,
            "longTermReadNum": None,
            "longTermReadBeyondRate": None,
            "recentSearchPagePercent": None,
            "recentFindPagePercent": None,
            "recentKolHomePagePercent": None,
            "recentFollowPagePercent": None,
            "recentOtherPagePercent": None,
            "longTermSearchPagePercent": None,
            "longTermFindPagePercent": None,
            "longTermKolHomePagePercent": None,
            "longTermFollowPagePercent": None,
            "longTermOtherPagePercent": None,
        }
    reads = _median([int(note.reads) for note in cohort])
    recent = max(1, int(reads * 0.8))
    long_term = max(1, int(reads * style.long_tail))
    expected = _tier_reads(profile.followers)
    homefeed, search, follow, _detail, _nearby, _other = style.traffic
    recent_shares = _shares_100(
        (search, homefeed, 0.05 + 0.1 * rng.random(), follow, 0.03 + 0.1 * rng.random()), rng
    )
    long_shares = _shares_100(
        (search * 1.6, homefeed * 0.3, 0.05 + 0.1 * rng.random(), follow * 0.5, 0.05), rng
    )
    return {
        "startPublishTime": start,
        "endPublishTime": end,
        "noteNumber": len(cohort),
        "recentReadNum": recent,
        "recentReadBeyondRate": _percentile(
            math.log(recent / (0.8 * expected)) / 0.9 + _spread(rng, 0.1)
        ),
        "longTermReadNum": long_term,
        "longTermReadBeyondRate": _percentile(
            math.log(long_term / expected) / 1.0 + _spread(rng, 0.1)
        ),
        "recentSearchPagePercent": recent_shares[0],
        "recentFindPagePercent": recent_shares[1],
        "recentKolHomePagePercent": recent_shares[2],
        "recentFollowPagePercent": recent_shares[3],
        "recentOtherPagePercent": recent_shares[4],
        "longTermSearchPagePercent": long_shares[0],
        "longTermFindPagePercent": long_shares[1],
        "longTermKolHomePagePercent": long_shares[2],
        "longTermFollowPagePercent": long_shares[3],
        "longTermOtherPagePercent": long_shares[4],
    }


def _shares_100(weights: Sequence[float], rng: random.Random) -> list[str]:
    """Percent strings of noisy weights; the last one takes the remainder so they sum to 100."""
    noisy = [w * _jitter(rng, 0.15) for w in weights]
    total = sum(noisy)
    head = [round(100.0 * w / total, 1) for w in noisy[:-1]]
    return [_percent(v) for v in head] + [_percent(max(0.0, 100.0 - sum(head)))]


def _traffic_shares(
    weights: Sequence[float], prefix: str, rng: random.Random
) -> list[tuple[str, float]]:
    """``pagePercentVo`` shares of one side: five rounded to 3 decimals, Other = 1 - the rest.

    Upstream computes Other by float subtraction and sends the noise along
    (``0.01700000000000005`` in the real fixture). Other is rounded here to the 3 decimals the
    shares have: the same value to within 1e-16, so the sides still sum to 1, but it reads as
    ``0.017`` wherever it is printed (a JSON answer, an export, a table)."""
    noisy = [w * _jitter(rng, 0.15) if w > 0 else 0.0 for w in weights]
    # Other keeps at least 0.8 % so that rounding the five others can never push it below zero.
    noisy[5] = max(noisy[5], 0.008 * sum(noisy) / 0.992)
    total = sum(noisy)
    head = [round(w / total, 3) for w in noisy[:5]]
    other = round(1.0 - math.fsum(head), 3)
    names = ("Homefeed", "Search", "Follow", "Detail", "Nearby", "Other")
    values = [*head, other]
    return [(f"{prefix}{name}Percent", value) for name, value in zip(names, values, strict=True)]


def _scope_rng(creator: _CreatorDay, scope: Scope) -> random.Random:
    """The one generator of a scope's free numbers. Draw order: ``_stats``, ``_percentiles``,
    then traffic shares; ``_donor_percentiles`` replays the first two for the default scope."""
    return _rng(creator.seed, "scope", creator.user_id, scope.key, creator.day.isoformat())


def _percentiles(
    creator: _CreatorDay, stats: _ScopeStats | None, rng: random.Random
) -> tuple[str, str, str, str]:
    """Same-tier percentiles (imp, read, interaction, video completion) of a scope.

    Without stats (an empty default scope) they come from the creator's typical numbers, as if
    copied from a wider scope: empty scopes must still carry percentiles (contract rule 1).
    """
    profile = creator.profile
    expected_reads = _tier_reads(profile.followers)
    if stats is None:
        read_median = float(profile.typical_reads)
        imp_median = read_median / profile.click_rate
        interaction_rate = profile.engagement_rate
        completion = creator.style.video_completion if profile.video_share > 0 else 0.0
    else:
        read_median = float(stats.read_median)
        imp_median = float(stats.imp_median)
        interaction_rate = stats.interaction_rate
        completion = stats.video_full_view_rate
    noise = [_spread(rng, 0.1) for _ in range(4)]
    return (
        _percentile(math.log(imp_median * 0.2 / expected_reads) + noise[0]),
        _percentile(math.log(read_median / expected_reads) / 0.9 + noise[1]),
        _percentile(math.log(max(interaction_rate, 1e-6) / 0.04) / 0.6 + noise[2]),
        _percentile(math.log(completion / 0.2) / 0.5 + noise[3]) if completion > 0 else "0.0",
    )


def _donor_percentiles(creator: _CreatorDay) -> tuple[str, str, str, str]:
    """The percentiles an empty scope carries: those of the default scope (rule 1: not zeroed)."""
    if creator.donor_percentiles is None:
        default = Scope()
        rng = _scope_rng(creator, default)
        selected = _select(creator, default)
        stats = _stats(creator, selected, rng)[0] if selected else None
        creator.donor_percentiles = _percentiles(creator, stats, rng)
    return creator.donor_percentiles


def _select(creator: _CreatorDay, scope: Scope) -> list[_Entry]:
    """The scope's notes with the counts of its traffic view, oldest first."""
    key = (scope.business, scope.note_type, scope.advertise_switch)
    entries = creator.selections.get(key)
    if entries is None:
        cooperate = scope.business is Business.COOPERATE_NOTE
        types = {NoteType.PHOTO_TEXT: (1,), NoteType.VIDEO: (2,)}.get(scope.note_type, (1, 2))
        counts = (
            creator.counts_organic
            if scope.advertise_switch is AdvertiseSwitch.ORGANIC_ONLY
            else creator.counts_all
        )
        entries = [
            (note, count)
            for note, count in zip(creator.notes, counts, strict=True)
            if note.cooperate is cooperate and note.type in types
        ]
        creator.selections[key] = entries
    first_day = creator.day.toordinal() - _EPOCH_ORDINAL - WINDOW_DAYS[scope.date_type]
    return entries[bisect_left(entries, first_day, key=lambda entry: entry[0].day) :]


def _stats(
    creator: _CreatorDay, selected: list[_Entry], rng: random.Random
) -> tuple[_ScopeStats, float]:
    """The scope's percentile inputs and its photo-text 3-second rate (0-1, 0 without photos)."""
    style = creator.style
    videos = sum(1 for note, _ in selected if note.type == 2)
    photos = len(selected) - videos
    reads = sum(count[1] for _, count in selected)
    interactions = sum(count[2] + count[3] + count[4] for _, count in selected)
    completion = _clamp(style.video_completion * _jitter(rng, 0.15), 0.001, 0.95) if videos else 0.0
    photo_3s = _clamp(style.photo_3s_rate * _jitter(rng, 0.08), 0.001, 0.99) if photos else 0.0
    stats = _ScopeStats(
        imp_median=_median([count[0] for _, count in selected]),
        read_median=_median([count[1] for _, count in selected]),
        interaction_rate=interactions / reads,
        video_full_view_rate=completion,
    )
    return stats, photo_3s


def _content_mix(selected: Iterable[_Entry], total: int) -> list[dict[str, str]]:
    """The response's ``noteType``: the top two content tags and their share of notes."""
    tally: dict[str, int] = {}
    for note, _ in selected:
        tally[note.tag] = tally.get(note.tag, 0) + 1
    top = sorted(tally.items(), key=lambda item: -item[1])[:2]
    return [{"contentTag": tag, "percent": _percent(100.0 * n / total)} for tag, n in top]


def _scope_payload(creator: _CreatorDay, scope: Scope) -> dict[str, Any]:
    selected = _select(creator, scope)
    trade_names = list(creator.profile.trade_names) if creator.profile.trade_names else None
    if not selected:
        return _empty_payload(creator, trade_names)

    rng = _scope_rng(creator, scope)
    stats, photo_3s = _stats(creator, selected, rng)
    imp_beyond, read_beyond, interaction_beyond, video_beyond = _percentiles(creator, stats, rng)
    n = len(selected)
    counts = [count for _, count in selected]
    imp_median = stats.imp_median
    read_median = stats.read_median
    like_median = _median([c[2] for c in counts])
    collect_median = _median([c[3] for c in counts])
    comment_median = _median([c[4] for c in counts])
    interaction_median = like_median + collect_median + comment_median
    hundred = sum(1 for c in counts if c[2] >= 100)
    thousand = sum(1 for c in counts if c[2] >= 1000)

    imp_weights = list(creator.style.traffic)
    if scope.advertise_switch is AdvertiseSwitch.ALL:
        imp_weights[0] *= 1.15  # paid boost lands in the home feed
    read_weights = [
        w * k for w, k in zip(imp_weights, (0.95, 1.15, 1.1, 0.9, 1.0, 1.2), strict=True)
    ]
    page_percent = dict(
        _traffic_shares(imp_weights, "imp", rng) + _traffic_shares(read_weights, "read", rng)
    )

    notes = []
    for note, c in selected[-MAX_NOTES:]:
        interaction = c[2] + c[3] + c[4]
        notes.append(
            {
                "noteId": note.note_id,
                "date": None,
                "publishTime": note.publish_time,
                "type": note.type,
                "imgUrl": note.img_url,
                "title": note.title,
                "canJump": note.can_jump,
                "impNum": c[0],
                "impBeyondRate": _beyond(c[0], imp_median),
                "readNum": c[1],
                "readBeyondRate": _beyond(c[1], read_median),
                "interactionNum": interaction,
                "interactionBeyondRate": _beyond(interaction, interaction_median),
                "collectNum": c[3],
                "likeNum": c[2],
                "collectBeyondRate": _beyond(c[3], collect_median),
                "likeBeyondRate": _beyond(c[2], like_median),
            }
        )

    engagement = _median([c[2] + c[3] + c[4] for c in counts])
    follows = _median([c[6] for c in counts])
    return {
        "noteNumber": n,
        "videoNoteNumber": sum(1 for note, _ in selected if note.type == 2),
        "hundredLikePercent": _percent(100.0 * hundred / n),
        "thousandLikePercent": _percent(100.0 * thousand / n),
        "noteType": _content_mix(selected, n),
        "tradeNames": trade_names,
        "impMedian": imp_median,
        "impMedianBeyondRate": imp_beyond,
        "readMedian": read_median,
        "readMedianBeyondRate": read_beyond,
        "interactionMedian": interaction_median,
        "interactionRate": _percent(100.0 * stats.interaction_rate),
        "interactionBeyondRate": interaction_beyond,
        "likeMedian": like_median,
        "collectMedian": collect_median,
        "commentMedian": comment_median,
        "shareMedian": _median([c[5] for c in counts]),
        "videoFullViewRate": _nonzero_percent(stats.video_full_view_rate),
        "videoFullViewBeyondRate": video_beyond,
        "picture3sViewRate": _nonzero_percent(photo_3s),
        "notes": notes,
        "pagePercentVo": page_percent,
        "longTermCommonNoteVo": dict(creator.long_term_common),
        "longTermCooperateNoteVo": dict(creator.long_term_cooperate),
        "mengagementNum": engagement,
        "mfollowCnt": follows,
        "mEngagementNum": engagement,
        "mFollowCnt": follows,
    }


def _nonzero_percent(fraction: float) -> str:
    """A rate that exists as a percent string that is never "0.0" (which means: no such notes)."""
    if fraction <= 0:
        return _PERCENT_ZERO
    return _percent(max(0.1, 100.0 * fraction))


def _empty_payload(creator: _CreatorDay, trade_names: list[str] | None) -> dict[str, Any]:
    """An empty scope as upstream sends it (contract rule 1): zeros, nulls, and percentiles that
    are NOT zeroed but copied from the default scope, which is the trap consumers must avoid."""
    imp_beyond, read_beyond, interaction_beyond, video_beyond = _donor_percentiles(creator)
    return {
        "noteNumber": 0,
        "videoNoteNumber": 0,
        "hundredLikePercent": _PERCENT_ZERO,
        "thousandLikePercent": _PERCENT_ZERO,
        "noteType": [],
        "tradeNames": trade_names,
        "impMedian": 0,
        "impMedianBeyondRate": imp_beyond,
        "readMedian": 0,
        "readMedianBeyondRate": read_beyond,
        "interactionMedian": 0,
        "interactionRate": _PERCENT_ZERO,
        "interactionBeyondRate": interaction_beyond,
        "likeMedian": 0,
        "collectMedian": 0,
        "commentMedian": 0,
        "shareMedian": 0,
        "videoFullViewRate": _PERCENT_ZERO,
        "videoFullViewBeyondRate": video_beyond,
        "picture3sViewRate": _PERCENT_ZERO,
        "notes": None,
        "pagePercentVo": None,
        "longTermCommonNoteVo": dict(creator.long_term_common),
        "longTermCooperateNoteVo": dict(creator.long_term_cooperate),
        "mengagementNum": 0,
        "mfollowCnt": 0,
        "mEngagementNum": 0,
        "mFollowCnt": 0,
    }


# -- The sibling endpoints ---------------------------------------------------------------------
#
# Built on the same creator-day as notes rate, so one synthetic creator agrees with itself across
# endpoints exactly as a real one does (docs/api.md, "The sibling endpoints"): one follower count
# (the follower curve's value on the day before the fetch day), one 30-day growth shared by fans
# summary, data summary and the history, data-summary medians equal to the notes-rate scope of the
# same business, estimated CPM and CPE computed from the profile's prices, audience shares that are
# counts over a known total, and null prices for a creator who is not on the marketplace.

FANS_TREND_EPOCH = date(2026, 1, 1).toordinal() - _EPOCH_ORDINAL
"""The day each creator's follower curve passes through its ``followers`` trait. The curve is a
function of the calendar day only, so histories fetched on different days overlap exactly."""

HISTORY_DAYS = 1 + max(WINDOW_DAYS.values())
"""Follower totals kept per creator-day: the longest history plus the day before it (the base of
the first daily increase)."""

AUDIENCE_AGE_GROUPS: tuple[str, ...] = ("<18", "18-24", "25-34", "35-44", ">44")
_AGE_WEIGHTS = (0.06, 0.42, 0.32, 0.12, 0.08)

_PROVINCES: tuple[tuple[str, float], ...] = (
    ("广东", 13.0),
    ("江苏", 8.0),
    ("浙江", 7.5),
    ("山东", 6.0),
    ("河南", 6.0),
    ("四川", 5.5),
    ("北京", 5.0),
    ("上海", 5.0),
    ("湖北", 4.5),
    ("福建", 4.5),
    ("湖南", 4.0),
    ("河北", 3.5),
    ("安徽", 3.5),
    ("海外", 3.0),
    ("陕西", 3.0),
    ("辽宁", 2.5),
    ("广西", 2.5),
    ("重庆", 2.5),
    ("江西", 2.0),
    ("云南", 2.0),
    ("天津", 1.5),
    ("山西", 1.5),
    ("贵州", 1.5),
    ("黑龙江", 1.5),
    ("吉林", 1.0),
    ("内蒙古", 1.0),
    ("新疆", 0.8),
    ("甘肃", 0.8),
    ("海南", 0.8),
    ("香港", 0.5),
    ("宁夏", 0.3),
    ("青海", 0.2),
    ("台湾", 0.2),
    ("澳门", 0.1),
    ("西藏", 0.1),
)
_CITIES: tuple[tuple[str, float], ...] = (
    ("上海", 3.6),
    ("北京", 3.4),
    ("广州", 3.2),
    ("深圳", 3.0),
    ("杭州", 2.4),
    ("成都", 2.4),
    ("南京", 1.8),
    ("武汉", 1.8),
    ("重庆", 1.6),
    ("郑州", 1.5),
    ("西安", 1.4),
    ("苏州", 1.3),
    ("长沙", 1.2),
    ("东莞", 1.0),
)
_INTERESTS: tuple[str, ...] = (
    "生活记录",
    "美食",
    "时尚",
    "美妆",
    "娱乐",
    "家居家装",
    "旅行",
    "运动健身",
    "母婴",
    "宠物",
    "科技数码",
    "教育",
    "职场",
    "摄影",
    "情感",
    "影视",
    "游戏",
    "汽车",
    "读书",
    "音乐",
    "健康",
    "潮鞋",
    "动漫",
    "手工",
)
_DEVICES: tuple[tuple[str, str, float], ...] = (
    ("apple inc.", "苹果", 45.0),
    ("huawei", "华为", 13.0),
    ("xiaomi", "小米", 10.0),
    ("vivo", "vivo", 9.0),
    ("oppo", "oppo", 8.0),
    ("honor", "荣耀", 5.0),
    ("oneplus", "一加", 2.0),
    ("realme", "realme", 1.5),
    ("meizu", "魅族", 0.8),
    ("samsung", "三星", 0.8),
    ("iqoo", "iQOO", 0.7),
    ("lenovo", "联想", 0.3),
)
_HOME_PLACES: tuple[str, ...] = (
    "广东 广州 天河区",
    "上海 上海 徐汇区",
    "北京 北京 朝阳区",
    "浙江 杭州 西湖区",
    "四川 成都 武侯区",
    "江苏 南京 鼓楼区",
    "湖北 武汉 洪山区",
    "陕西 西安 雁塔区",
)
_FEATURE_TAGS: tuple[str, ...] = ("测评", "教程", "好物分享", "日常vlog", "探店", "干货")
_PERSONAL_TAGS: tuple[str, ...] = ("学生", "宝妈", "上班族", "设计师", "医生", "程序员")
_AGENCIES: tuple[str, ...] = ("示例文化传媒", "样例星光MCN", "沙盒内容工作室")
_ADVANTAGES: tuple[tuple[str, str], ...] = (
    ("品效型博主", "外溢指标处于前20%水位"),
    ("高互动博主", "互动中位数处于前20%水位"),
    ("高性价比博主", "预估CPM处于前20%水位"),
    ("涨粉快博主", "粉丝增速处于前20%水位"),
)

_PROFILE_TEMPLATE: tuple[tuple[str, Any], ...] = (
    ("userId", ""),
    ("valid", 0),
    ("headPhoto", ""),
    ("name", ""),
    ("redId", ""),
    ("location", ""),
    ("homePageDisplay", 0),
    ("travelAreaList", []),
    ("type", []),
    ("personalTags", []),
    ("fansCount", 0),
    ("likeCollectCountInfo", 0),
    ("businessNoteCount", 0),
    ("totalNoteCount", None),
    ("recommend", None),
    ("picturePrice", 0.0),
    ("videoPrice", 0.0),
    ("lowerPrice", 0.0),
    ("userType", 0),
    ("showPrice", None),
    ("pictureState", 0),
    ("videoState", 0),
    ("isCollect", False),
    ("cooperateState", 0),
    ("pictureInCart", False),
    ("videoInCart", False),
    ("note", None),
    ("live", None),
    ("cps", None),
    ("noteSign", None),
    ("liveSign", None),
    ("goodRecommendPermission", None),
    ("cpc", None),
    ("pictureCpcBasePrice", None),
    ("pictureCpcPerPrice", None),
    ("pictureCpcEstimateNum", None),
    ("videoCpcState", 0),
    ("videoCpcBasePrice", None),
    ("videoCpcPerPrice", None),
    ("videoCpcEstimateNum", None),
    ("pictureCpcInCart", None),
    ("videoCpcInCart", None),
    ("contentTags", []),
    ("featureTags", []),
    ("industryTag", None),
    ("gender", ""),
    ("picPriceRemind", None),
    ("videoPriceRemind", None),
    ("currentLevel", 0),
    ("nextLevel", 0),
    ("priceState", 0),
    ("resemblance", False),
    ("noteList", None),
    ("tradeType", ""),
    ("clickMidNum", 0),
    ("clickMidNumMcn", 0),
    ("interMidNum", 0),
    ("fansNum", 0),
    ("matchNoteNumber", 0),
    ("authorityList", None),
    ("processingAuthorities", None),
    ("pictureShowState", False),
    ("videoShowState", False),
    ("classifyCode", None),
    ("predictiveExposure", None),
    ("efficiencyValidUser", 0),
    ("pictureReadCost", None),
    ("videoReadCost", None),
    ("pictureClickMidNum", 0),
    ("pictureInterMidNum", 0),
    ("videoClickMidNum", 0),
    ("videoFinishRate", None),
    ("videoInterMidNum", 0),
    ("fans30GrowthRate", None),
    ("fans30GrowthNum", 0),
    ("nextPicturePrice", None),
    ("nextVideoPrice", None),
    ("fansRiseNum", None),
    ("fansEngageNum", None),
    ("overflowNum", None),
    ("newHighQuality", 0),
    ("isIndustryRecommend", None),
    ("picturePriceGtZero", False),
    ("videoPriceGtZero", False),
    ("lowActive", False),
    ("fansActiveIn28dLv", None),
    ("fansEngageNum30dLv", None),
    ("hundredLikePercent30", None),
    ("thousandLikePercent30", None),
    ("pictureHundredLikePercent30", None),
    ("pictureThousandLikePercent30", None),
    ("videoHundredLikePercent30", None),
    ("videoThousandLikePercent30", None),
    ("cooperType", 0),
    ("buyerType", 0),
    ("promiseImpNum", None),
    ("kolType", 0),
    ("showPromiseTag", 0),
    ("activityList", []),
    ("controlState", 0),
    (
        "clothingIndustryPrice",
        {
            "bizType": None,
            "industryId": 0,
            "picturePrice": 0,
            "pictureState": 0,
            "videoPrice": 0,
            "videoState": 0,
        },
    ),
    ("fbState", 0),
    ("forecastReadUvLower", 0),
    ("forecastReadUvUpper", 0),
    ("forecastGroupCoverRateLower", 0.0),
    ("forecastGroupCoverRateUpper", 0.0),
    ("intentionInfo", None),
    ("seedAndHarcest", None),
    ("liveImg", None),
    ("liveId", None),
    ("liveGMV", None),
    ("isStar", None),
    ("top2CategoryList", None),
    ("hasBuyerAuth", False),
    ("sellerRealIncomeAmt90d", 0.0),
    ("estimatePictureCpm", 0.0),
    ("estimatePictureCpmCompare", 0.0),
    ("estimateVideoCpm", 0.0),
    ("estimateVideoCpmCompare", 0.0),
    ("estimatePictureEngageCost", 0.0),
    ("estimatePictureEngageCostCompare", 0.0),
    ("estimateVideoEngageCost", 0.0),
    ("estimateVideoEngageCostCompare", 0.0),
    ("inviteReply48hNumRatio", 0.0),
    ("recommendReason", None),
    ("kolHeadLabel", 0),
    ("accumCoopImpMedinNum30d", 0),
    ("estimateCpuv30d", 0.0),
    ("accumPicCommonImpMedinNum30d", 0),
    ("accumVideoCommonImpMedinNum30d", 0),
    ("accumCommonImpMedinNum30d", 0),
    ("marketTarget", None),
    ("readMidCoop30", None),
    ("interMidCoop30", None),
    ("coopNoteNum30d", 0),
    ("specialIndustryLimit", None),
    ("kliveCnt30d", 0),
    ("avgAgmv90d", 0.0),
    ("avgLiveViewerNum", 0.0),
    ("algoRecommendReasons", None),
    ("mengagementNum", 0),
    ("mengagementNumMcn", 0),
    ("mcpuvNum30d", 0),
    ("mEngagementNum", 0),
    ("mEngagementNumMcn", 0),
    ("mCpuvNum30d", 0),
)
"""The creator-profile ``data`` keys in upstream's order, each with a neutral value of its
recorded JSON type (most are null or zero in real answers too); ``_blogger_profile`` fills in
what it knows."""

_PROFILE_CLOTHING_PRICE: dict[str, Any] = dict(_PROFILE_TEMPLATE)["clothingIndustryPrice"]


@dataclass(frozen=True, slots=True)
class _Market:
    """A creator's marketplace side and follower curve on one fetch day (sibling endpoints)."""

    totals: tuple[int, ...]
    """Follower totals of the ``HISTORY_DAYS`` days before the fetch day, oldest first; the last
    one is the follower count every endpoint shows."""
    enrolled: bool
    """On the marketplace (蒲公英 cooperation enabled): prices, order states, medians in the
    profile. A creator who never had a cooperation is not."""
    picture_price: float | None
    video_price: float | None
    growth_rate: str
    """``fansGrowthRate`` = ``fans30GrowthRate``: 100 x 30-day increase / total 30 days before."""
    growth_beyond: str

    @property
    def fans_num(self) -> int:
        return self.totals[-1]

    @property
    def increase_30(self) -> int:
        return self.totals[-1] - self.totals[-30]


def _day_unit(seed: int, user_id: str, day: int) -> float:
    """A uniform [0, 1) number per creator and calendar day (cheaper than a seeded Random)."""
    digest = hashlib.blake2b(f"{seed}\x1ffans\x1f{user_id}\x1f{day}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") / 2.0**64


def _rate_half_up(count: int, total: int) -> str:
    """``100 x count / total`` rounded half up to one decimal, exactly (upstream's rates)."""
    if total <= 0:
        return _PERCENT_ZERO
    value = (Decimal(100 * count) / Decimal(total)).quantize(Decimal("0.1"), ROUND_HALF_UP)
    return _PERCENT_ZERO if value.is_zero() else f"{value:.1f}"


def _price(value: float) -> float:
    """A price as creators set them: whole tens of CNY, at least 50, a float on the wire."""
    return float(max(50, round(value / 10.0) * 10))


def _market(creator: _CreatorDay) -> _Market:
    if creator.market is None:
        profile = creator.profile
        rng = _rng(creator.seed, "market", creator.user_id)
        trend = -0.08 + 0.58 * rng.random()  # yearly follower drift, -8 % to +50 %
        today = creator.day.toordinal() - _EPOCH_ORDINAL
        totals = tuple(
            max(
                1,
                round(
                    profile.followers
                    * math.exp(trend * (day - FANS_TREND_EPOCH) / 365.0)
                    * (1.0 + 0.002 * (2.0 * _day_unit(creator.seed, creator.user_id, day) - 1.0))
                ),
            )
            for day in range(today - HISTORY_DAYS, today)
        )
        enrolled = profile.sponsored_share > 0
        base = math.pow(profile.followers, 0.9) * (0.1 + 0.15 * rng.random())
        picture = _price(base) if enrolled and profile.video_share < 1 else None
        video = (
            _price(base * (1.1 + 0.5 * rng.random()))
            if enrolled and profile.video_share > 0
            else None
        )
        increase = totals[-1] - totals[-30]
        growth = _rate_half_up(increase, totals[-30])
        day_rng = _rng(creator.seed, "market", creator.user_id, creator.day.isoformat())
        creator.market = _Market(
            totals=totals,
            enrolled=enrolled,
            picture_price=picture,
            video_price=video,
            growth_rate=growth,
            growth_beyond=_percentile((float(growth) - 1.0) / 1.5 + _spread(day_rng, 0.2)),
        )
    return creator.market


def _split(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` by largest remainder: the parts sum exactly."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    parts = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: parts[i] - raw[i])
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _data_key(creator: _CreatorDay) -> str:
    """The data date of every dated sibling payload: the day before the fetch day."""
    return (creator.day - timedelta(days=1)).isoformat()


def _blogger_profile(source: SandboxSource, query: Query, day: date) -> dict[str, Any]:
    creator = source.creator_day(query.user_id, day)
    profile = creator.profile
    market = _market(creator)
    rng = _rng(creator.seed, "blogger", creator.user_id)
    data: dict[str, Any] = {
        key: dict(value) if isinstance(value, dict) else value for key, value in _PROFILE_TEMPLATE
    }
    place = _pick(rng, _HOME_PLACES)
    tags = profile.content_tags
    data.update(
        userId=creator.user_id,
        valid=1,
        headPhoto=f"https://sandbox.invalid/avatar/{creator.user_id}.jpg",
        name=f"沙盒博主{creator.user_id[-4:]}",
        redId=str(100_000_000 + int(rng.random() * 900_000_000)),
        location=place,
        homePageDisplay=1,
        travelAreaList=[_pick(rng, _HOME_PLACES)] if rng.random() < 0.5 else None,
        personalTags=[_pick(rng, _PERSONAL_TAGS)] if rng.random() < 0.6 else [],
        fansCount=market.fans_num,
        fansNum=market.fans_num,
        likeCollectCountInfo=round(market.fans_num * (3.0 + 12.0 * rng.random())),
        gender="女" if rng.random() < 0.7 else "男",
        featureTags=[_pick(rng, _FEATURE_TAGS)],
        contentTags=[
            {"taxonomy1Tag": tag, "taxonomy2Tags": list(_INDUSTRIES[tag][:1])} for tag in tags[:2]
        ],
        currentLevel=2 if rng.random() < 0.6 else 1,
        nextLevel=-1,
        resemblance=True,
        buyerType=1,
        cooperType=2,
        userType=1,
        kolHeadLabel=int(rng.random() * 5),
        lowActive=rng.random() < 0.05,
        picturePriceGtZero=False,
        videoPriceGtZero=False,
        # Not on the marketplace, as the real non-enrolled creator: no price, no state.
        picturePrice=None,
        videoPrice=None,
        lowerPrice=None,
        pictureState=None,
        videoState=None,
        pictureShowState=None,
        videoShowState=None,
        priceState=None,
        cooperateState=None,
        tradeType=None,
        clothingIndustryPrice=None,
    )
    if rng.random() < 0.3:
        data["noteSign"] = {"userId": f"{rng.getrandbits(96):024x}", "name": _pick(rng, _AGENCIES)}
    if not market.enrolled:
        return data

    today = creator.day.toordinal() - _EPOCH_ORDINAL
    recent = [note for note in creator.notes if note.day >= today - 30]
    daily = source.generate(creator.user_id, Scope(), day=day)
    prices = [p for p in (market.picture_price, market.video_price) if p is not None]
    picture = market.picture_price is not None
    video = market.video_price is not None
    data.update(
        picturePrice=market.picture_price,
        videoPrice=market.video_price,
        lowerPrice=min(prices),
        userType=2,
        cooperType=1,
        pictureState=1 if picture else None,
        videoState=1 if video else None,
        pictureShowState=True if picture else None,
        videoShowState=True if video else None,
        picturePriceGtZero=picture,
        videoPriceGtZero=video,
        cooperateState=1,
        priceState=1,
        businessNoteCount=sum(1 for note in creator.notes if note.cooperate)
        + int(rng.random() * 20),
        tradeType=" ".join(profile.trade_names or ()),
        clothingIndustryPrice=dict(_PROFILE_CLOTHING_PRICE),
        clickMidNum=daily["readMedian"],
        clickMidNumMcn=daily["readMedian"],
        interMidNum=daily["interactionMedian"],
        mengagementNum=daily["mEngagementNum"],
        mengagementNumMcn=daily["mEngagementNum"],
        mEngagementNum=daily["mEngagementNum"],
        mEngagementNumMcn=daily["mEngagementNum"],
        coopNoteNum30d=sum(1 for note in recent if note.cooperate),
    )
    return data


def _data_summary(source: SandboxSource, query: Query, day: date) -> dict[str, Any]:
    creator = source.creator_day(query.user_id, day)
    (business,) = query.values
    market = _market(creator)
    rates = source.generate(creator.user_id, Scope(business=Business(business)), day=day)
    rng = _rng(creator.seed, "summary", creator.user_id, business, day.isoformat())
    today = creator.day.toordinal() - _EPOCH_ORDINAL
    recent = [
        (note, count)
        for note, count in zip(creator.notes, creator.counts_all, strict=True)
        if note.day >= today - WINDOW_DAYS[DateType.DAY_30]
    ]
    imp, reads, engagement = rates["impMedian"], rates["readMedian"], rates["mEngagementNum"]

    def estimate(price: float | None, per: int, scale: float) -> float:
        return price / per * scale if price and per > 0 else 0

    picture_cpm = estimate(market.picture_price, imp, 1000.0)
    video_cpm = estimate(market.video_price, imp, 1000.0)
    picture_cpe = estimate(market.picture_price, engagement, 1.0)
    video_cpe = estimate(market.video_price, engagement, 1.0)
    invites = int(math.pow(market.fans_num, 0.4) * rng.random()) if market.enrolled else 0
    response = _percent(40.0 + 60.0 * rng.random()) if invites else _PERCENT_ZERO
    active_days = min(
        7, len({note.day for note, _ in recent if note.day >= today - 7}) + int(rng.random() * 6)
    )
    advantage, hover = _pick_pair(rng, _ADVANTAGES)

    def compare(percentile: str) -> float:
        return round(_clamp(float(percentile) + _spread(rng, 3.0), 0.0, 100.0), 2)

    def opaque(value: float) -> float:
        return round(0.5 + 4.5 * rng.random(), 2) if value else 0

    def read_cost(price: float | None) -> str:
        return _percent(100.0 * price / reads) if price and reads > 0 else _PERCENT_ZERO

    return {
        "dateKey": _data_key(creator),
        "responseRate": response,
        "fans30GrowthRate": market.growth_rate,
        "fans30GrowthBeyondRate": market.growth_beyond,
        "mEngagementNumCompare": compare(rates["interactionBeyondRate"]),
        "estimateVideoCpm": video_cpm,
        "videoReadCostCompare": 0,
        "tradeNames": list(creator.profile.trade_names or ()),
        "activeDayInLast7": active_days,
        "estimatePictureCpmCompare": opaque(picture_cpm),
        "estimateVideoCpmCompare": opaque(video_cpm),
        "estimatePictureEngageCost": picture_cpe,
        "estimateVideoEngageCost": video_cpe,
        "estimatePictureCpuvCompare": 0,
        "interactionBeyondRate": rates["interactionBeyondRate"],
        "easyConnect": invites > 0 and float(response) >= 70.0,
        "pictureReadBeyondRate": _percentile(_normal(rng)),
        "mAccumImpNum": imp,
        "mAccumImpCompare": compare(rates["impMedianBeyondRate"]),
        "picReadCostCompare": 0,
        "estimateVideoEngageCostCompare": opaque(video_cpe),
        "videoCase": int(rng.random() * 4) if market.video_price else 0,
        "noteNumber": len(recent),
        "mEngagementNumOld": 0,
        "mCpuvNum": 0,
        "estimateVideoCpuvCompare": 0,
        "videoReadBeyondRate": _percentile(_normal(rng)),
        "mValidRawReadFeedNum": reads,
        "mCpuvNumCompare": 0,
        "estimatePictureCpm": picture_cpm,
        "picReadCost": 0,
        "videoReadCostV2": 0,
        "estimatePictureCpuv": 0,
        "estimateVideoCpuv": 0,
        "interactionMedian": rates["interactionMedian"],
        "isActive": active_days >= 3,
        "inviteNum": invites,
        "videoReadCost": read_cost(market.video_price),
        "kolAdvantageHover": hover,
        "pictureCase": int(rng.random() * 4) if market.picture_price else 0,
        "noteType": _content_mix(recent, len(recent)) if recent else [],
        "readMedian": reads,
        "readMedianBeyondRate": rates["readMedianBeyondRate"],
        "pictureReadCost": read_cost(market.picture_price),
        "kolAdvantage": advantage,
        "mValidRawReadFeedCompare": compare(rates["readMedianBeyondRate"]),
        "mEngagementNum": engagement,
        "estimatePictureEngageCostCompare": opaque(picture_cpe),
    }


def _pick_pair(rng: random.Random, items: Sequence[tuple[str, str]]) -> tuple[str, str]:
    return items[int(rng.random() * len(items))]


def _fans_summary(source: SandboxSource, query: Query, day: date) -> dict[str, Any]:
    creator = source.creator_day(query.user_id, day)
    market = _market(creator)
    fans = market.fans_num
    rng = _rng(creator.seed, "fans-summary", creator.user_id, day.isoformat())
    active = round(fans * (0.3 + 0.5 * rng.random()))
    engaged = round(fans * (0.005 + 0.06 * rng.random()))
    readers = round(fans * (0.02 + 0.2 * rng.random()))
    payers = round(fans * 0.25 * rng.random() ** 2)
    return {
        "fansNum": fans,
        "fansIncreaseNum": market.increase_30,
        "fansGrowthRate": market.growth_rate,
        "fansGrowthBeyondRate": market.growth_beyond,
        "activeFansL28": active,
        "activeFansRate": _rate_half_up(active, fans),
        "activeFansBeyondRate": _percentile(_normal(rng)),
        "engageFansRate": _rate_half_up(engaged, fans),
        "engageFansL30": engaged,
        "engageFansBeyondRate": _percentile(_normal(rng)),
        "readFansIn30": readers,
        "readFansRate": _rate_half_up(readers, fans),
        "readFansBeyondRate": _percentile(_normal(rng)),
        "payFansUserRate30d": _rate_half_up(payers, fans),
        "payFansUserNum30d": payers,
    }


def _shares(
    names: Sequence[str], weights: Sequence[float], total: int, known: int, rng: random.Random
) -> list[tuple[str, float]]:
    """Noisy shares of ``known`` followers split over ``names`` (counts of ``total``), descending,
    zero counts left out: shares are counts over the followers whose attribute is known."""
    counts = _split(total, [w * _jitter(rng, 0.4) for w in weights])
    ranked = sorted(zip(names, counts, strict=True), key=lambda item: -item[1])
    return [(name, count / known) for name, count in ranked if count > 0]


def _fans_profile(source: SandboxSource, query: Query, day: date) -> dict[str, Any]:
    creator = source.creator_day(query.user_id, day)
    fans = _market(creator).fans_num
    rng = _rng(creator.seed, "fans-profile", creator.user_id, day.isoformat())
    known = max(50, round(fans * (0.55 + 0.2 * rng.random())))
    located = max(50, round(fans * (0.8 + 0.15 * rng.random())))
    ages = _split(known, [w * _jitter(rng, 0.4) for w in _AGE_WEIGHTS])
    male = _split(known, [0.05 + 0.6 * rng.random(), 1.0])[0]
    interests = _shares(
        _INTERESTS, [1.0 / (i + 2) for i in range(len(_INTERESTS))], round(known * 0.9), known, rng
    )[:20]
    provinces = _shares(
        [n for n, _ in _PROVINCES], [w for _, w in _PROVINCES], located, located, rng
    )
    cities = _shares(
        [n for n, _ in _CITIES], [w for _, w in _CITIES], round(located * 0.27), located, rng
    )[:10]
    device_names = {name: desc for name, desc, _ in _DEVICES}
    devices = _shares(
        [n for n, _, _ in _DEVICES],
        [w for _, _, w in _DEVICES],
        round(located * 0.97),
        located,
        rng,
    )[:10]
    return {
        "ages": [
            {"group": group, "percent": count / known}
            for group, count in zip(AUDIENCE_AGE_GROUPS, ages, strict=True)
        ],
        "gender": {"male": male / known, "female": (known - male) / known},
        "interests": [{"name": name, "percent": share} for name, share in interests],
        "provinces": [{"name": name, "percent": share} for name, share in provinces],
        "cities": [{"name": name, "percent": share} for name, share in cities],
        "devices": [
            {"name": name, "desc": device_names[name], "percent": share} for name, share in devices
        ],
        "dateKey": _data_key(creator),
    }


def _fans_history(source: SandboxSource, query: Query, day: date) -> dict[str, Any]:
    """The follower curve's last 30 or 90 days. ``FANS_INCREASE`` gives each day's net change,
    and ``fansNumInc`` their sum over the base of the day before the first (inferred meaning)."""
    creator = source.creator_day(query.user_id, day)
    totals = _market(creator).totals
    date_type, increase_type = query.values
    days = WINDOW_DAYS[DateType(date_type)]
    window = totals[-days:]
    if increase_type == IncreaseType.FANS_TOTAL:
        nums, base = list(window), window[0]
    else:
        before = totals[-days - 1 : -1]
        nums, base = [a - b for a, b in zip(window, before, strict=True)], before[0]
    first_day = creator.day - timedelta(days=days)
    return {
        "fansNumInc": window[-1] - base,
        "fansNumIncRate": (window[-1] - base) / base,
        "list": [
            {"num": num, "dateKey": (first_day + timedelta(days=i)).isoformat()}
            for i, num in enumerate(nums)
        ],
    }


def _notes_rate(source: SandboxSource, query: Query, day: date) -> dict[str, Any]:
    return source.generate(query.user_id, query.scope, day=day)


Generator = Callable[[SandboxSource, Query, date], dict[str, Any]]

GENERATORS: dict[str, Generator] = {
    NOTES_RATE: _notes_rate,
    BLOGGER_PROFILE: _blogger_profile,
    DATA_SUMMARY: _data_summary,
    FANS_SUMMARY: _fans_summary,
    FANS_PROFILE: _fans_profile,
    FANS_HISTORY: _fans_history,
}
"""The synthetic ``data`` of each endpoint the sandbox generates, by endpoint name."""


class SandboxSpec(SourceSpec):
    """``[[sources]] type = "sandbox"``; ``pgy serve --source sandbox`` builds the same spec."""

    type: Literal["sandbox"] = "sandbox"
    seed: int = DEFAULT_SEED


def _build(spec: SandboxSpec, context: BuildContext) -> SandboxSource:
    return SandboxSource(clock=context.clock, seed=spec.seed)


KIND = SourceKind(SandboxSpec, _build)
