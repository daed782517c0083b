"""What a campaign planner reads from the sibling endpoints, as small pure functions of ``data``.

Each function takes one endpoint's ``data`` object exactly as the API returns it (a dict: the
client's ``EndpointResult.data`` or a stored snapshot's payload) and applies the units and
quirks of docs/siblings (the spec of the five endpoints):

- creator profile: prices in CNY, ``null`` = not on the marketplace (never 0); accepting orders
  = ``pictureState``/``videoState == 1`` with the price shown; followers from ``fansCount``
  (``fansNum`` as fallback); content tags, agency (``noteSign.name``, null = independent) and
  account health (``currentLevel``, 0 = abnormal);
- data summary: the platform's own CPM (CNY per 1,000 impressions) and cost per engagement
  (CNY per interaction) per format, where ``0`` means "not computed", never free;
- fans profile: gender, age and city shares (fractions 0-1) as an ``Audience``;
- fans history: follower momentum, the relative change over the series.

Nothing here fetches: the CLI gets the answers from the server (``Client.call``) or the store.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pgy_metrics.analytics.audience import Audience
from pgy_metrics.contract.endpoints import BLOGGER_PROFILE, DATA_SUMMARY, FANS_HISTORY, FANS_PROFILE

__all__ = [
    "ABNORMAL_LEVEL",
    "ACCEPTING_STATE",
    "FIELDS_READ",
    "PLANNING_ENDPOINTS",
    "CreatorFacts",
    "PlatformEstimates",
    "audience",
    "creator_facts",
    "follower_momentum",
    "latest_by_creator",
    "platform_estimates",
]

PLANNING_ENDPOINTS: tuple[str, ...] = (BLOGGER_PROFILE, DATA_SUMMARY, FANS_PROFILE, FANS_HISTORY)
"""The sibling endpoints a plan reads, by name (fans summary adds nothing the others lack)."""

ACCEPTING_STATE = 1
"""``pictureState``/``videoState`` value of a format open for orders (开启接单)."""

ABNORMAL_LEVEL = 0
"""``currentLevel`` of an account in abnormal health (异常): never booked."""

FIELDS_READ: Mapping[str, tuple[str, ...]] = {
    BLOGGER_PROFILE: (
        "picturePrice",
        "videoPrice",
        "pictureState",
        "videoState",
        "pictureShowState",
        "videoShowState",
        "fansCount",
        "fansNum",
        "contentTags[].taxonomy1Tag",
        "contentTags[].taxonomy2Tags",
        "featureTags",
        "personalTags",
        "noteSign.name",
        "currentLevel",
    ),
    DATA_SUMMARY: (
        "estimatePictureCpm",
        "estimateVideoCpm",
        "estimatePictureEngageCost",
        "estimateVideoEngageCost",
        "dateKey",
    ),
    FANS_PROFILE: (
        "gender.female",
        "gender.male",
        "ages[].group",
        "ages[].percent",
        "cities[].name",
        "cities[].percent",
    ),
    FANS_HISTORY: ("list[].num", "list[].dateKey"),
}
"""Every key of ``data`` this module reads, by endpoint (for switching to the typed models)."""

_FORMAT_KEYS = {"photo": "picture", "video": "video"}
"""The planner's formats and the prefix of their keys on the wire."""


def _number(value: Any) -> float | None:
    """A finite number, else None (bools, text and nulls are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _positive(value: Any) -> float | None:
    number = _number(value)
    return number if number is not None and number > 0 else None


def _texts(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str) and item)


@dataclass(frozen=True, slots=True)
class CreatorFacts:
    """What the creator profile says a planner needs, per format where it differs."""

    user_id: str
    prices: Mapping[str, float | None]
    """format -> price in CNY; None = no price (not on the marketplace, or not shown)."""
    accepting: Mapping[str, bool]
    """format -> open for orders (state 1 and the price shown)."""
    states: Mapping[str, Any]
    """format -> the raw ``pictureState``/``videoState``, for the exclusion reason."""
    followers: int | None
    content_tag: str | None
    """The first level-1 content category (``contentTags[0].taxonomy1Tag``)."""
    tags: tuple[str, ...]
    """Level-1 and level-2 content tags, then feature and persona tags, without repeats."""
    agency: str | None
    """The MCN (``noteSign.name``); None = independent."""
    level: int | None
    """Account health: 2 good, 1 normal, 0 abnormal; None = not said."""

    def unbookable(self, fmt: str) -> str | None:
        """Why ``fmt`` cannot be booked from this profile, or None when it can."""
        if self.level == ABNORMAL_LEVEL:
            return "account health abnormal (currentLevel 0)"
        key = _FORMAT_KEYS[fmt]
        if self.prices.get(fmt) is None:
            return f"no {key}Price in the profile (not on the marketplace for {fmt})"
        if not self.accepting.get(fmt):
            return f"not accepting {fmt} orders ({key}State {self.states.get(fmt)!r})"
        return None


def creator_facts(user_id: str, data: Mapping[str, Any]) -> CreatorFacts:
    """The creator profile's prices, order states, followers, tags, agency and health."""
    prices: dict[str, float | None] = {}
    accepting: dict[str, bool] = {}
    states: dict[str, Any] = {}
    for fmt, key in _FORMAT_KEYS.items():
        price = _positive(data.get(f"{key}Price"))
        shown = data.get(f"{key}ShowState")
        state = data.get(f"{key}State")
        # One client zeroes a price whose ShowState is false: a hidden price is no price.
        prices[fmt] = None if shown is False else price
        states[fmt] = state
        accepting[fmt] = state == ACCEPTING_STATE and shown is not False and price is not None
    followers = data.get("fansCount")
    if _number(followers) is None:
        followers = data.get("fansNum")
    followers_number = _number(followers)
    level = _number(data.get("currentLevel"))
    tags: list[str] = []
    first_tag: str | None = None
    content = data.get("contentTags")
    for item in content if isinstance(content, list) else []:
        if not isinstance(item, Mapping):
            continue
        top = item.get("taxonomy1Tag")
        if isinstance(top, str) and top:
            first_tag = first_tag or top
            tags.append(top)
        tags.extend(_texts(item.get("taxonomy2Tags")))
    tags.extend(_texts(data.get("featureTags")))
    tags.extend(_texts(data.get("personalTags")))
    sign = data.get("noteSign")
    agency = sign.get("name") if isinstance(sign, Mapping) else None
    return CreatorFacts(
        user_id=user_id,
        prices=prices,
        accepting=accepting,
        states=states,
        followers=int(followers_number) if followers_number is not None else None,
        content_tag=first_tag,
        tags=tuple(dict.fromkeys(tags)),
        agency=agency if isinstance(agency, str) and agency else None,
        level=int(level) if level is not None else None,
    )


@dataclass(frozen=True, slots=True)
class PlatformEstimates:
    """The platform's own cost estimates per format (None = not computed: the wire's 0)."""

    cpm: Mapping[str, float | None]
    """format -> CNY per 1,000 impressions (``estimate*Cpm``)."""
    cost_per_engagement: Mapping[str, float | None]
    """format -> CNY per interaction (``estimate*EngageCost``)."""
    date_key: str | None = None


def platform_estimates(data: Mapping[str, Any]) -> PlatformEstimates:
    """The data summary's ``estimatePictureCpm`` & co.; a 0 estimate is missing, never free."""
    names = {"photo": "Picture", "video": "Video"}
    date_key = data.get("dateKey")
    return PlatformEstimates(
        cpm={fmt: _positive(data.get(f"estimate{name}Cpm")) for fmt, name in names.items()},
        cost_per_engagement={
            fmt: _positive(data.get(f"estimate{name}EngageCost")) for fmt, name in names.items()
        },
        date_key=date_key if isinstance(date_key, str) else None,
    )


def _buckets(value: Any, key: str) -> tuple[tuple[str, float], ...]:
    if not isinstance(value, list):
        return ()
    found: list[tuple[str, float]] = []
    for item in value:
        if not isinstance(item, Mapping):
            continue
        name, percent = item.get(key), _number(item.get("percent"))
        if isinstance(name, str) and percent is not None:
            found.append((name, percent))
    return tuple(found)


def audience(data: Mapping[str, Any]) -> Audience | None:
    """The fans profile as shares (fractions 0-1); None when it says nothing usable (a small
    account's null or empty lists are missing, never 0)."""
    gender = data.get("gender")
    female = _number(gender.get("female")) if isinstance(gender, Mapping) else None
    male = _number(gender.get("male")) if isinstance(gender, Mapping) else None
    ages = _buckets(data.get("ages"), "group")
    cities = _buckets(data.get("cities"), "name")
    if female is None and male is None and not ages and not cities:
        return None
    return Audience(female=female, male=male, ages=ages, cities=cities)


def follower_momentum(data: Mapping[str, Any]) -> float | None:
    """Relative follower change over the fans history (``FANS_TOTAL``): last / first - 1, from
    ``list[].num`` sorted by ``dateKey``; None with fewer than two points or a first count of 0.

    Over ``DAY_30`` this is the 30-day growth (0.0155 for 2000 -> 2031), the same number the
    endpoint reports as ``fansNumIncRate``; computed from the curve so a reader can check it.
    """
    points = data.get("list")
    if not isinstance(points, list):
        return None
    series: list[tuple[str, float]] = []
    for point in points:
        if not isinstance(point, Mapping):
            continue
        num, day = _number(point.get("num")), point.get("dateKey")
        if num is not None and isinstance(day, str):
            series.append((day, num))
    if len(series) < 2:
        return None
    series.sort()
    first, last = series[0][1], series[-1][1]
    return last / first - 1 if first > 0 else None


def latest_by_creator(
    answers: Iterable[tuple[str, str, Mapping[str, Any]]],
) -> dict[str, dict[str, Mapping[str, Any]]]:
    """``(endpoint, user_id, data)`` in collection order -> endpoint -> user_id -> newest data."""
    found: dict[str, dict[str, Mapping[str, Any]]] = {}
    for endpoint, user_id, data in answers:
        found.setdefault(endpoint, {})[user_id] = data
    return found
