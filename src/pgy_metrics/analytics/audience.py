"""Who a creator's followers are, and the audience a brand wants a plan to reach.

``Audience`` holds the shares of one creator's fans profile (fractions 0-1, as the endpoint sends
them: shares of the fans whose attribute is known, docs/siblings: fans profile). ``AudienceTarget``
is the ``[audience]`` table of the rules file: up to three dimensions, each a group of buckets and
a least share:

- ``gender`` (``female`` or ``male``) with ``gender_min``;
- ``ages`` (any of ``<18``, ``18-24``, ``25-34``, ``35-44``, ``>44``; their shares add up) with
  ``ages_min``;
- ``cities`` (``"tier1"`` = 北京, 上海, 广州, 深圳, or a list of city names) with ``cities_min``.
  The endpoint lists only a creator's top <= 10 cities, so a city outside that list counts 0:
  the share is a lower bound, and a target on it errs on the safe side.

``mode = "constraint"`` makes every dimension a rule of the plan (the plan's audience, weighted
by each booking's expected value, meets each minimum); ``mode = "objective"`` instead scales each
booking's value by how well its audience fits (``weight`` from 0, audience ignored, to 1, value
counts only in proportion to the fit). The planner (``planner.py``) turns either into its model;
this module holds no solver, so the rules file can be validated cheaply.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AGE_GROUPS",
    "TIER1_CITIES",
    "Audience",
    "AudienceTarget",
]

AGE_GROUPS: tuple[str, ...] = ("<18", "18-24", "25-34", "35-44", ">44")
"""The fans profile's age groups, in the endpoint's order."""

TIER1_CITIES: tuple[str, ...] = ("北京", "上海", "广州", "深圳")
"""The four first-tier cities (一线城市), as the fans profile names them."""

AgeGroup = Literal["<18", "18-24", "25-34", "35-44", ">44"]
Share = Annotated[float, Field(ge=0, le=1)]


@dataclass(frozen=True, slots=True)
class Audience:
    """One creator's fans by gender, age group and city (fractions 0-1; absent = unknown)."""

    female: float | None = None
    male: float | None = None
    ages: tuple[tuple[str, float], ...] = ()
    cities: tuple[tuple[str, float], ...] = ()

    def share(self, dimension: str, target: AudienceTarget) -> float | None:
        """The share of this creator's fans in ``target``'s group of ``dimension``; None when
        the fans profile does not say (never 0 for unknown)."""
        if dimension == "gender":
            return self.female if target.gender == "female" else self.male
        if dimension == "ages":
            if not self.ages:
                return None
            wanted = set(target.ages)
            return sum(percent for group, percent in self.ages if group in wanted)
        if dimension == "cities":
            if not self.cities:
                return None
            names = set(target.city_names)
            return sum(percent for name, percent in self.cities if name in names)
        raise ValueError(f"not an audience dimension: {dimension!r}")


class AudienceTarget(BaseModel):
    """The ``[audience]`` table of the rules file (see the module doc)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["constraint", "objective"] = "constraint"
    weight: Share = 0.5
    """Objective mode only: 0 ignores the audience, 1 values a booking only by its fit."""
    gender: Literal["female", "male"] | None = None
    gender_min: Share | None = None
    ages: tuple[AgeGroup, ...] = ()
    ages_min: Share | None = None
    cities: Literal["tier1"] | tuple[str, ...] | None = None
    cities_min: Share | None = None

    @model_validator(mode="after")
    def _pairs(self) -> AudienceTarget:
        pairs = (
            ("gender", self.gender is not None, self.gender_min),
            ("ages", bool(self.ages), self.ages_min),
            ("cities", bool(self.cities), self.cities_min),
        )
        for name, given, minimum in pairs:
            if given and minimum is None:
                raise ValueError(f"audience.{name} needs audience.{name}_min (a share in [0, 1])")
            if minimum is not None and not given:
                raise ValueError(f"audience.{name}_min needs audience.{name} (which group)")
        if not any(given for _, given, _ in pairs):
            raise ValueError(
                "audience: give at least one of gender (with gender_min), ages (with ages_min), "
                "cities (with cities_min)"
            )
        return self

    @property
    def city_names(self) -> tuple[str, ...]:
        if self.cities == "tier1":
            return TIER1_CITIES
        return tuple(self.cities or ())

    def dimensions(self) -> dict[str, float]:
        """dimension -> least share, for the dimensions the target sets."""
        found: dict[str, float] = {}
        if self.gender is not None and self.gender_min is not None:
            found["gender"] = self.gender_min
        if self.ages and self.ages_min is not None:
            found["ages"] = self.ages_min
        if self.cities and self.cities_min is not None:
            found["cities"] = self.cities_min
        return found

    def describe(self, dimension: str) -> str:
        """A rule name for messages and the diagnosis: ``audience.ages 18-24+25-34 (min 0.6)``."""
        minimum = self.dimensions()[dimension]
        if dimension == "gender":
            group = str(self.gender)
        elif dimension == "ages":
            group = "+".join(self.ages)
        else:
            group = "tier1" if self.cities == "tier1" else "+".join(self.city_names)
        return f"audience.{dimension} {group} (min {minimum:g})"

    def shares(self, audience: Audience | None) -> dict[str, float | None]:
        """The creator's share in each targeted group (None where the profile does not say)."""
        return {
            d: (audience.share(d, self) if audience is not None else None)
            for d in self.dimensions()
        }

    def known(self, audience: Audience | None) -> bool:
        """Whether ``audience`` says every share the target needs."""
        return all(share is not None for share in self.shares(audience).values())

    def fit(self, audience: Audience | None) -> float | None:
        """How well a creator's fans fit, 0-1: the mean over the dimensions of ``share / min``
        capped at 1 (a dimension with min 0 always fits); None when a share is unknown."""
        parts: list[float] = []
        minimums = self.dimensions()
        for dimension, share in self.shares(audience).items():
            if share is None:
                return None
            minimum = minimums[dimension]
            parts.append(1.0 if minimum <= 0 else min(1.0, share / minimum))
        return sum(parts) / len(parts)


AUDIENCE_EXPECTED: Mapping[str, str] = {
    "mode": "constraint or objective",
    "weight": "a share in [0, 1]",
    "gender": "female or male",
    "gender_min": "a share in [0, 1]",
    "ages": f"a list of age groups from {', '.join(AGE_GROUPS)}",
    "ages_min": "a share in [0, 1]",
    "cities": '"tier1" or a list of city names',
    "cities_min": "a share in [0, 1]",
}
"""What each ``[audience]`` key accepts, for the rules file's error messages."""
