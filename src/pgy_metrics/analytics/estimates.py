"""What booking a creator in a format is expected to bring: the planner's values, from the tables.

**Point value.** For creator x format, the objective's median in the sponsored scope of that format
(``COOPERATE_NOTE.<PHOTO_TEXT|VIDEO>.DAY_90.ALL``) when that scope has notes, because a booking is a
sponsored note and sponsored notes often reach fewer readers than daily ones; else the daily scope
of the format (``DAILY_NOTE.<...>.DAY_90.ALL``). ``Option.basis`` holds the scope key used.

**Robust value.** A median of at most ~15 recent notes is itself uncertain, so the planner can also
maximise a pessimistic value: the 20th percentile of a bootstrap (``BOOTSTRAP_SAMPLES`` resamples,
fixed seed per creator and format) of the median of the creator's notes of that format, taken from
the notes table across scopes (deduplicated by ``note_id``, all-traffic scopes only: an
organic-only scope reports the same notes with their organic reads alone). With fewer than
``MIN_NOTES_FOR_BOOTSTRAP`` notes, or for follows (the notes carry no per-note follows), it is the
smallest of the available scope medians of the format. It never exceeds the point value.

A format with a price but no value (both scopes empty or missing) cannot be planned: its option is
dropped and reported in ``Estimates.dropped``, never valued at 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import polars as pl

from pgy_metrics.analytics.planner import FORMATS, Objective, Option, PlanError
from pgy_metrics.analytics.scopes import HEADLINE_SCOPE
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.params import Scope

__all__ = [
    "BOOTSTRAP_SAMPLES",
    "BOOTSTRAP_SEED",
    "MIN_NOTES_FOR_BOOTSTRAP",
    "NOTE_COLUMNS",
    "OBJECTIVE_COLUMNS",
    "ROBUST_PERCENTILE",
    "Dropped",
    "Estimates",
    "TablesLike",
    "estimate_options",
    "value_scopes",
]

OBJECTIVE_COLUMNS: Mapping[Objective, str] = {
    Objective.READS: "read_median",
    Objective.INTERACTIONS: "m_engagement_num",
    Objective.IMPRESSIONS: "imp_median",
    Objective.FOLLOWS: "m_follow_cnt",
}
"""The scope column each objective is valued by (``m_engagement_num``: median of per-note
interactions, contract rule 6)."""

NOTE_COLUMNS: Mapping[Objective, str] = {
    Objective.READS: "read_num",
    Objective.INTERACTIONS: "interaction_num",
    Objective.IMPRESSIONS: "imp_num",
}
"""The per-note column behind each objective's median; follows have none."""

BOOTSTRAP_SEED = 20_261_106
"""Fixed, so the same tables always give the same robust values (mixed with creator and format)."""

BOOTSTRAP_SAMPLES = 200
"""Resamples of the notes; enough for a stable 20th percentile of a median of <= 15 notes."""

ROBUST_PERCENTILE = 20.0
"""The robust value is this percentile of the bootstrapped medians: 4 in 5 resamples do better."""

MIN_NOTES_FOR_BOOTSTRAP = 5
"""Below this many notes the P20 of a bootstrapped median is little more than the smallest note
(with 3 notes it was 46 reads against a median of 1,471 on the real fixture), so the smallest
scope median is used instead."""

_NOTE_TYPES: Mapping[str, NoteType] = {"photo": NoteType.PHOTO_TEXT, "video": NoteType.VIDEO}


class TablesLike(Protocol):
    """What is read from ``tables.Tables``: the scopes and notes frames."""

    @property
    def scopes(self) -> pl.DataFrame: ...

    @property
    def notes(self) -> pl.DataFrame: ...


@dataclass(frozen=True, slots=True)
class Dropped:
    """An offered format that could not be valued, and why."""

    user_id: str
    format: str
    reason: str

    def __str__(self) -> str:
        return f"{self.user_id} {self.format}: {self.reason}"


class Estimates(list[Option]):
    """The options (a plain list, as the planner takes it) plus the formats that were dropped."""

    def __init__(self, options: Iterable[Option] = (), dropped: Iterable[Dropped] = ()) -> None:
        super().__init__(options)
        self.dropped: list[Dropped] = list(dropped)


def value_scopes(format: str) -> tuple[Scope, Scope]:
    """The scopes a format is valued from, in order of preference: sponsored, then daily."""
    note_type = _NOTE_TYPES[format]
    return (
        Scope(Business.COOPERATE_NOTE, note_type, DateType.DAY_90, AdvertiseSwitch.ALL),
        Scope(Business.DAILY_NOTE, note_type, DateType.DAY_90, AdvertiseSwitch.ALL),
    )


@dataclass
class _Inputs:
    medians: dict[tuple[str, str], tuple[int | None, float | None]] = field(default_factory=dict)
    """(user_id, scope_key) -> (note_number, objective median)."""
    notes: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    """(user_id, format) -> per-note values (deduplicated)."""
    tags: dict[str, str] = field(default_factory=dict)


def estimate_options(
    candidates: pl.DataFrame,
    tables: TablesLike,
    *,
    objective: Objective | str,
    flags: pl.DataFrame | Mapping[str, Iterable[str]] | None = None,
    tiers: pl.DataFrame | Mapping[str, str] | None = None,
) -> Estimates:
    """One ``Option`` per candidate x offered format with a value (see the module doc).

    ``candidates`` is ``read_candidates(...).frame``. ``flags`` (``flags_frame``: ``user_id``,
    ``flag``) become ``Option.flags``; ``tiers`` (``benchmark_frame``: ``user_id``, ``tier``) give
    the tier where the candidates file has none. The content tag is the file's, else the headline
    scope's top tag.
    """
    try:
        objective = Objective(objective)  # the CLI passes the option's text
    except ValueError:
        allowed = ", ".join(o.value for o in Objective)
        raise PlanError(f"objective must be one of {allowed}; got {objective!r}") from None
    inputs = _read_tables(tables, objective)
    flag_sets = _flag_sets(flags)
    tier_of = _tiers(tiers)
    options: list[Option] = []
    dropped: list[Dropped] = []
    columns = set(candidates.columns)
    for row in candidates.iter_rows(named=True):
        user_id = str(row["user_id"])
        tier = row.get("tier") if "tier" in columns else None
        tag = row.get("content_tag") if "content_tag" in columns else None
        for fmt in FORMATS:
            price = row.get(f"price_{fmt}")
            if price is None:
                continue
            found = _value(inputs, user_id, fmt)
            if found is None:
                sponsored, daily = (s.key for s in value_scopes(fmt))
                dropped.append(
                    Dropped(
                        user_id,
                        fmt,
                        f"no {OBJECTIVE_COLUMNS[objective]} in {sponsored} or {daily} "
                        "(scope missing or without notes)",
                    )
                )
                continue
            value, basis, scope_values = found
            robust = _robust(inputs, user_id, fmt, objective, value, scope_values)
            options.append(
                Option(
                    user_id=user_id,
                    format=fmt,
                    price=float(price),
                    value=value,
                    robust_value=robust,
                    tier=tier or tier_of.get(user_id),
                    content_tag=tag or inputs.tags.get(user_id),
                    flags=flag_sets.get(user_id, frozenset()),
                    basis=basis,
                )
            )
    return Estimates(options, dropped)


def _value(inputs: _Inputs, user_id: str, fmt: str) -> tuple[float, str, list[float]] | None:
    """Point value and its scope key, plus every usable scope median of the format."""
    usable: list[tuple[float, str]] = []
    for scope in value_scopes(fmt):
        note_number, median = inputs.medians.get((user_id, scope.key), (None, None))
        if note_number is not None and note_number > 0 and median is not None:
            usable.append((float(median), scope.key))
    if not usable:
        return None
    value, basis = usable[0]
    return value, basis, [v for v, _ in usable]


def _robust(
    inputs: _Inputs,
    user_id: str,
    fmt: str,
    objective: Objective,
    value: float,
    scope_values: list[float],
) -> float:
    notes = inputs.notes.get((user_id, fmt), []) if objective in NOTE_COLUMNS else []
    if len(notes) < MIN_NOTES_FOR_BOOTSTRAP:
        return min(min(scope_values), value)
    sample = np.asarray(notes, dtype=np.float64)
    rng = np.random.default_rng([BOOTSTRAP_SEED, int(user_id, 16), FORMATS.index(fmt)])
    draws = rng.integers(0, len(sample), size=(BOOTSTRAP_SAMPLES, len(sample)))
    medians = np.median(sample[draws], axis=1)
    return min(float(np.percentile(medians, ROBUST_PERCENTILE)), value)


def _latest(frame: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    return frame.sort("collected_at", nulls_last=False).unique(
        subset=keys, keep="last", maintain_order=True
    )


def _read_tables(tables: TablesLike, objective: Objective) -> _Inputs:
    inputs = _Inputs()
    scopes = tables.scopes
    column = OBJECTIVE_COLUMNS[objective]
    wanted_keys = [s.key for fmt in FORMATS for s in value_scopes(fmt)]
    if scopes.height:
        keyed = scopes.with_columns(_scope_key(scopes))
        latest = _latest(keyed, ["user_id", "scope_key"])
        chosen = latest.filter(pl.col("scope_key").is_in(wanted_keys))
        for user_id, key, note_number, median in chosen.select(
            "user_id", "scope_key", "note_number", column
        ).iter_rows():
            inputs.medians[(user_id, key)] = (note_number, median)
        headline = latest.filter(pl.col("scope_key") == HEADLINE_SCOPE.key)
        if "content_tag_1" in headline.columns:
            for user_id, tag in headline.select("user_id", "content_tag_1").iter_rows():
                if tag:
                    inputs.tags[user_id] = tag
    notes = tables.notes
    note_column = NOTE_COLUMNS.get(objective)
    needed = {"user_id", "note_id", "format", "advertise_switch", "collected_at"}
    if note_column is not None and notes.height and needed | {note_column} <= set(notes.columns):
        usable = notes.filter(
            (pl.col("advertise_switch") == AdvertiseSwitch.ALL.value)
            & pl.col(note_column).is_not_null()
            & pl.col("note_id").is_not_null()
        )
        deduplicated = _latest(usable, ["user_id", "note_id"])
        grouped = deduplicated.group_by("user_id", "format", maintain_order=True).agg(
            pl.col(note_column)
        )
        for user_id, fmt, values in grouped.iter_rows():
            inputs.notes[(user_id, fmt)] = [float(v) for v in values]
    return inputs


def _scope_key(scopes: pl.DataFrame) -> pl.Expr:
    if "scope_key" in scopes.columns:
        return pl.col("scope_key")
    return pl.concat_str(
        ["business", "note_type", "date_type", "advertise_switch"], separator="."
    ).alias("scope_key")


def _flag_sets(
    flags: pl.DataFrame | Mapping[str, Iterable[str]] | None,
) -> dict[str, frozenset[str]]:
    if flags is None:
        return {}
    if isinstance(flags, pl.DataFrame):
        grouped: dict[str, set[str]] = {}
        for user_id, flag in flags.select("user_id", "flag").iter_rows():
            grouped.setdefault(user_id, set()).add(flag)
        return {u: frozenset(f) for u, f in grouped.items()}
    return {u: frozenset(f) for u, f in flags.items()}


def _tiers(tiers: pl.DataFrame | Mapping[str, str] | None) -> dict[str, str]:
    if tiers is None:
        return {}
    if isinstance(tiers, pl.DataFrame):
        return {u: t for u, t in tiers.select("user_id", "tier").iter_rows() if t is not None}
    return dict(tiers)
