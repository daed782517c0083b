"""The analytics settings file (TOML): score weights, tier bands and flag thresholds.

```toml
[weights]              # indicator -> weight; when present it REPLACES the defaults (unlisted = 0)
engagement_rate_median = 2
click_through = 1

[score]
min_indicators = 4     # fewer weighted indicators available -> no score, and the reason

[tiers]
preset = "pugongying"  # or "coarse"; or give both band lists below (lower bounds, ascending)
# followers = [{name = "small", min = 0}, {name = "large", min = 50000}]
# read_median = [{name = "small", min = 0}, {name = "large", min = 3000}]

[flags]
thin_sample_notes = 10
```

Every policy number of the cohort and flag modules lives here, with its default built in, so that
an analyst can tune them without touching code and a report can print the values it used.
``load_settings`` reports every problem of a file at once, each naming the key and the allowed
values (the same habit as the server's settings file; analytics does not import server code).
``docs/benchmarking.md`` documents each setting.
"""

from __future__ import annotations

import itertools
import json
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pgy_metrics.analytics.indicators import INDICATORS
from pgy_metrics.contract.errors import SettingsFileError

__all__ = [
    "DEFAULT_WEIGHTS",
    "TIER_PRESETS",
    "AnalyticsSettings",
    "AnalyticsSettingsError",
    "Band",
    "FlagSettings",
    "ScoreSettings",
    "TierSettings",
    "load_settings",
]


class AnalyticsSettingsError(SettingsFileError):
    """The settings file has problems; ``problems`` lists each with the key it is about."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Band(_Section):
    """One tier: every value from ``min`` (inclusive) up to the next band's ``min`` is in it."""

    name: str = Field(min_length=1, max_length=40)
    min: float = Field(ge=0)
    label_zh: str | None = None
    """The tier as the Pugongying page says it (初级达人, 腰部达人, ...), for reports."""


def _bands(*rows: tuple[str, float, str]) -> tuple[Band, ...]:
    return tuple(Band(name=name, min=low, label_zh=label) for name, low, label in rows)


TIER_PRESETS: dict[str, dict[str, tuple[Band, ...]]] = {
    "pugongying": {
        "followers": _bands(
            ("nano", 0, "素人"),
            ("micro", 10_000, "初级达人"),
            ("mid", 100_000, "腰部达人"),
            ("macro", 500_000, "头部达人"),
            ("mega", 1_000_000, "超头部达人"),
        ),
        # A proxy, not a fact: median reads per note (headline scope) that a creator at each
        # follower boundary typically reaches, from the rule of thumb reads ~ 2 x followers^0.75
        # (the sandbox uses the same curve). Real accounts scatter widely around it.
        "read_median": _bands(
            ("nano", 0, "素人"),
            ("micro", 2_000, "初级达人"),
            ("mid", 11_000, "腰部达人"),
            ("macro", 38_000, "头部达人"),
            ("mega", 63_000, "超头部达人"),
        ),
    },
    "coarse": {
        "followers": _bands(
            ("small", 0, "初级达人"),
            ("medium", 100_000, "腰部达人"),
            ("large", 1_000_000, "头部达人"),
        ),
        "read_median": _bands(
            ("small", 0, "初级达人"),
            ("medium", 11_000, "腰部达人"),
            ("large", 63_000, "头部达人"),
        ),
    },
}
"""Built-in tier bands by followers and, as a proxy when followers are unknown, by read median."""

TierPreset = Literal["pugongying", "coarse"]


def _check_bands(bands: Sequence[Band], *, what: str) -> None:
    if not bands:
        raise ValueError(f"{what}: give at least one band")
    if bands[0].min != 0:
        raise ValueError(f"{what}: the first band must start at min = 0 (got {bands[0].min:g})")
    lows = [band.min for band in bands]
    if any(later <= earlier for earlier, later in itertools.pairwise(lows)):
        raise ValueError(f"{what}: min must strictly increase from one band to the next")
    names = [band.name for band in bands]
    doubled = sorted({name for name in names if names.count(name) > 1})
    if doubled:
        raise ValueError(f"{what}: band names must be unique; repeated: {', '.join(doubled)}")


class TierSettings(_Section):
    """Which bands make the tiers: a preset, or custom follower and read-median bands."""

    preset: TierPreset = "pugongying"
    followers: tuple[Band, ...] | None = None
    """Custom follower bands; given together with ``read_median`` (same names, same order)."""
    read_median: tuple[Band, ...] | None = None
    """Custom read-median bands: the proxy used for creators whose followers are unknown."""

    @model_validator(mode="after")
    def _consistent(self) -> TierSettings:
        if (self.followers is None) != (self.read_median is None):
            raise ValueError(
                "custom bands: give both followers and read_median (same tier names), so that "
                "creators tiered by the read-median proxy land in the same tiers"
            )
        if self.followers is not None and self.read_median is not None:
            _check_bands(self.followers, what="followers")
            _check_bands(self.read_median, what="read_median")
            by_followers = [band.name for band in self.followers]
            by_reads = [band.name for band in self.read_median]
            if by_followers != by_reads:
                raise ValueError(
                    "followers and read_median must name the same tiers in the same order; got "
                    f"{', '.join(by_followers)} vs {', '.join(by_reads)}"
                )
        return self

    @property
    def source(self) -> str:
        """``custom`` or the preset's name: what a report prints as the tier definition."""
        return "custom" if self.followers is not None else self.preset

    def follower_bands(self) -> tuple[Band, ...]:
        return self.followers or TIER_PRESETS[self.preset]["followers"]

    def read_median_bands(self) -> tuple[Band, ...]:
        return self.read_median or TIER_PRESETS[self.preset]["read_median"]


DEFAULT_WEIGHTS: dict[str, float] = {
    "engagement_rate_median": 2.0,
    "engagement_rate": 1.0,
    "click_through": 1.0,
    "hundred_like_ratio": 1.0,
    "thousand_like_ratio": 1.0,
    "follow_conversion": 1.0,
    "sponsored_decay": 1.0,
    "paid_boost_dependence": 1.0,
    "search_share": 0.5,
    "evergreen_share": 0.5,
    "momentum": 0.5,
}
"""Composite-score weights. ``format_fit`` is absent on purpose: it says which format suits a
creator (> 0 favours video), not how good the creator is. The confidence bounds ``*_low`` /
``*_high`` are absent too: they describe the ratio, they are not another signal."""

DEFAULT_MIN_INDICATORS = 4
"""A score from fewer weighted indicators than this says too little to rank a creator."""


class ScoreSettings(_Section):
    min_indicators: int = Field(default=DEFAULT_MIN_INDICATORS, ge=1)
    """Minimum number of weighted indicators with a value for a creator to get a score."""


class FlagSettings(_Section):
    """Thresholds of the risk flags (see ``flags.py`` and docs/benchmarking.md)."""

    thin_sample_notes: int = Field(default=10, ge=1)
    """Fewer notes than this on the headline scope -> ``thin_sample``."""
    paid_boost_heavy_above: float = Field(default=0.5, ge=0, le=1)
    """``paid_boost_dependence`` above this -> ``paid_boost_heavy``."""
    sponsored_collapse_below: float = Field(default=0.5, gt=0)
    """``sponsored_decay`` below this -> ``sponsored_collapse``."""
    one_hit_top_share_above: float = Field(default=0.5, gt=0, lt=1)
    """The top note's share of the listed notes' reads above this -> ``one_hit_wonder``."""
    one_hit_min_notes: int = Field(default=3, ge=2)
    """Notes needed before one note's dominance means anything."""
    outlier_iqr_multiplier: float = Field(default=3.0, gt=0)
    """Tukey fences at Q1 - k x IQR and Q3 + k x IQR; k = 3 marks far-out values only."""
    outlier_min_pool: int = Field(default=20, ge=4)
    """Creators with a click-through needed before the pool's quartiles are trusted."""


def _known_indicators() -> tuple[str, ...]:
    return tuple(spec.name for spec in INDICATORS)


class AnalyticsSettings(_Section):
    """The whole file, validated; ``AnalyticsSettings()`` is the built-in defaults."""

    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    score: ScoreSettings = ScoreSettings()
    tiers: TierSettings = TierSettings()
    flags: FlagSettings = FlagSettings()

    @field_validator("weights")
    @classmethod
    def _known_and_positive(cls, weights: dict[str, float]) -> dict[str, float]:
        known = _known_indicators()
        unknown = sorted(set(weights) - set(known))
        if unknown:
            shown = ", ".join(_shown_key(name) for name in unknown)
            raise ValueError(f"not an indicator: {shown}; allowed: {', '.join(known)}")
        negative = sorted(name for name, weight in weights.items() if weight < 0)
        if negative:
            raise ValueError(f"weights must be >= 0; negative: {', '.join(negative)}")
        if not any(weight > 0 for weight in weights.values()):
            raise ValueError("at least one weight must be > 0")
        return weights

    @model_validator(mode="after")
    def _reachable_minimum(self) -> AnalyticsSettings:
        weighted = sum(1 for weight in self.weights.values() if weight > 0)
        if self.score.min_indicators > weighted:
            raise ValueError(
                f"score.min_indicators is {self.score.min_indicators} but only {weighted} "
                "indicator(s) have a weight > 0: no creator could ever get a score"
            )
        return self

    @property
    def weighted(self) -> dict[str, float]:
        """The indicators that count in the score, in a fixed order (the indicators' order)."""
        return {
            name: self.weights[name]
            for name in _known_indicators()
            if self.weights.get(name, 0) > 0
        }


_SECTIONS: dict[str, type[BaseModel]] = {
    "score": ScoreSettings,
    "tiers": TierSettings,
    "flags": FlagSettings,
}


def load_settings(path: Path | str | None = None) -> AnalyticsSettings:
    """The settings from a TOML file, or the built-in defaults when ``path`` is None.

    Raises ``AnalyticsSettingsError`` listing every problem of the file at once.
    """
    if path is None:
        return AnalyticsSettings()
    path = Path(path)
    try:
        data = path.read_bytes()
        document = tomllib.loads(data.decode("utf-8"))
    except OSError as error:
        raise AnalyticsSettingsError(path, [f"cannot read the file: {error.strerror}"]) from None
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        problem = f"line {line}: not UTF-8 text (TOML files are UTF-8)"
        raise AnalyticsSettingsError(path, [problem]) from None
    except tomllib.TOMLDecodeError as error:
        raise AnalyticsSettingsError(path, [f"not valid TOML: {error}"]) from None
    except RecursionError:  # tomllib recurses once per level of nested arrays or tables
        raise AnalyticsSettingsError(path, ["not valid TOML: nested too deeply"]) from None
    try:
        return AnalyticsSettings.model_validate(document)
    except ValidationError as error:
        raise AnalyticsSettingsError(
            path, [_where(problem) for problem in error.errors()]
        ) from None


def _where(problem: Any) -> str:
    """One pydantic problem as ``key: what is wrong; allowed ...``."""
    loc = [str(part) for part in problem["loc"]]
    location = ".".join(_shown_key(part) for part in loc)
    kind = problem["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        return f"{location}: not a setting; allowed: {', '.join(allowed)}"
    message = str(problem["msg"]).removeprefix("Value error, ")
    if kind not in {"value_error", "assertion_error"} and "input" in problem:
        message += f"; got {problem['input']!r}"
    return f"{location}: {message}" if location else message


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _shown_key(name: str) -> str:
    """A key as TOML writes it: bare when it can be, else quoted, so that an empty key or one
    with a line break in it still shows where the problem is."""
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)


def _allowed_keys(parent: list[str]) -> list[str]:
    if not parent:
        return list(AnalyticsSettings.model_fields)
    section = _SECTIONS.get(parent[0])
    if section is not None and len(parent) == 1:
        return list(section.model_fields)
    return list(Band.model_fields)  # tiers.followers.N / tiers.read_median.N
