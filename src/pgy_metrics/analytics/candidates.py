"""The planner's two input files: the candidates (who, at what price) and the rules (TOML).

**Candidates** (``.csv`` or ``.xlsx``, first sheet; the first row is a header, column names are
matched ignoring case, spaces, ``_`` and ``-``):

| column | required | meaning |
|---|---|---|
| ``user_id`` | yes | creator id (24 lowercase hex) or a Pugongying / Xiaohongshu profile URL; |
| | | the column may have any name of ``sheets.ID_HEADERS``, as in ``pgy batch`` inputs |
| ``price_photo`` | one of the two | price of one photo-text note; empty = format not offered |
| ``price_video`` | one of the two | price of one video note; empty = format not offered |
| ``followers`` | no | follower count (whole number >= 0), used for tiers |
| ``tier`` | no | the creator's tier, overriding any computed tier |
| ``content_tag`` | no | the creator's content category, overriding the scope's top tag |

A row that cannot be used (bad id, a price that is not a positive number, no price at all, a
creator already listed) is skipped and reported with its line number; nothing is dropped
silently. Fully blank rows are ignored.

**Rules** (``load_rules``): a TOML file whose keys are the fields of ``planner.PlanRules``; an
unknown key or a bad value is refused with the key's name and what it accepts.
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import ValidationError

from pgy_metrics.analytics.audience import AUDIENCE_EXPECTED, AudienceTarget
from pgy_metrics.analytics.planner import PlanError, PlanRules
from pgy_metrics.contract.params import ParamError, parse_user_ref
from pgy_metrics.sheets import (
    ID_HEADERS,
    TEXT_PREVIEW,
    RowProblem,
    UnreadableTable,
    id_column,
    normalise_header,
    table_rows,
)

__all__ = [
    "CANDIDATE_COLUMNS",
    "CANDIDATE_SCHEMA",
    "CandidateFile",
    "CandidateProblem",
    "CandidatesError",
    "RulesError",
    "load_rules",
    "parse_user_ref",
    "read_candidates",
    "rules_from_mapping",
    "rules_from_text",
]

CANDIDATE_SCHEMA: dict[str, pl.DataType | type[pl.DataType]] = {
    "user_id": pl.Utf8,
    "price_photo": pl.Float64,
    "price_video": pl.Float64,
    "followers": pl.Int64,
    "tier": pl.Utf8,
    "content_tag": pl.Utf8,
    "line": pl.Int64,
}
"""The frame ``read_candidates`` returns; ``line`` is the row's line (CSV) or row (XLSX)."""

CANDIDATE_COLUMNS: tuple[str, ...] = tuple(c for c in CANDIDATE_SCHEMA if c != "line")
"""Columns a candidates file may have (``user_id`` and at least one price required)."""


class CandidatesError(PlanError):
    """The candidates file cannot be read at all (unreadable, no id or price column)."""


class RulesError(PlanError):
    """The rules file is not valid TOML or a key has a value the planner does not accept."""


CandidateProblem = RowProblem
"""One row that was skipped: where, what it said, why."""


@dataclass(frozen=True)
class CandidateFile:
    """The usable candidates (``CANDIDATE_SCHEMA``) and every row that was skipped."""

    frame: pl.DataFrame
    problems: list[CandidateProblem] = field(default_factory=list)


def read_candidates(path: str | Path, *, require_price: bool = True) -> CandidateFile:
    """Read a candidates CSV (UTF-8, BOM allowed) or XLSX file (see the module doc).

    ``require_price=False`` reads the same format as a plain creators file (``pgy report
    --creators``: followers, tiers, tags; prices optional).
    """
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise CandidatesError(f"{source}: candidates must be a .csv or .xlsx file")
    try:
        rows = list(table_rows(source))
    except UnreadableTable as error:
        raise CandidatesError(str(error)) from None
    if not rows:
        raise CandidatesError(f"{source} is empty: expected a header row and one row per creator")
    _, header = rows[0]
    columns = _columns(header, source, require_price=require_price)
    records: list[dict[str, Any]] = []
    problems: list[CandidateProblem] = []
    seen: dict[str, int] = {}
    for line, cells in rows[1:]:
        try:
            record = _record(cells, columns, require_price=require_price)
        except ValueError as error:
            problems.append(CandidateProblem(line, ",".join(cells)[:TEXT_PREVIEW], str(error)))
            continue
        if record["user_id"] in seen:
            reason = f"creator {record['user_id']} already listed on line {seen[record['user_id']]}"
            problems.append(CandidateProblem(line, ",".join(cells)[:TEXT_PREVIEW], reason))
            continue
        seen[record["user_id"]] = line
        records.append({**record, "line": line})
    frame = pl.DataFrame(records, schema=CANDIDATE_SCHEMA, orient="row")
    return CandidateFile(frame=frame, problems=problems)


def _columns(header: Sequence[str], source: Path, *, require_price: bool) -> dict[str, int]:
    """Column name -> index, for the columns this reader knows (others are ignored)."""
    user_id = id_column(header)
    if user_id is None:
        raise CandidatesError(
            f"{source}: no user_id column in the header; accepted names: {', '.join(ID_HEADERS)}"
        )
    columns = {"user_id": user_id}
    wanted = {normalise_header(name): name for name in CANDIDATE_COLUMNS if name != "user_id"}
    for index, cell in enumerate(header):
        name = wanted.get(normalise_header(cell))
        if name is not None and name not in columns:
            columns[name] = index
    if require_price and "price_photo" not in columns and "price_video" not in columns:
        raise CandidatesError(f"{source}: the header needs price_photo and/or price_video")
    return columns


def _cell(cells: Sequence[str], columns: dict[str, int], name: str) -> str:
    index = columns.get(name)
    if index is None or index >= len(cells):
        return ""
    return cells[index].strip()


def _price(text: str, name: str) -> float | None:
    if text == "":
        return None
    try:
        price = float(text.replace(",", ""))
    except ValueError:
        raise ValueError(f"{name} must be a number; got {text!r}") from None
    if not (math.isfinite(price) and price > 0):
        raise ValueError(f"{name} must be a positive number (empty = format not offered)")
    return price


def _record(
    cells: Sequence[str], columns: dict[str, int], *, require_price: bool
) -> dict[str, Any]:
    try:
        user_id = parse_user_ref(_cell(cells, columns, "user_id"), param="user_id")
    except ParamError as error:
        raise ValueError(error.message) from None
    photo = _price(_cell(cells, columns, "price_photo"), "price_photo")
    video = _price(_cell(cells, columns, "price_video"), "price_video")
    if require_price and photo is None and video is None:
        raise ValueError("no price: give price_photo and/or price_video")
    followers_text = _cell(cells, columns, "followers").replace(",", "")
    followers: int | None = None
    if followers_text:
        try:
            value = float(followers_text)
        except ValueError:
            value = math.nan
        if not (value.is_integer() and value >= 0):
            raise ValueError(f"followers must be a whole number >= 0; got {followers_text!r}")
        followers = int(value)
    return {
        "user_id": user_id,
        "price_photo": photo,
        "price_video": video,
        "followers": followers,
        "tier": _cell(cells, columns, "tier") or None,
        "content_tag": _cell(cells, columns, "content_tag") or None,
    }


# --- rules ----------------------------------------------------------------------------------------

RULE_KEYS: tuple[str, ...] = tuple(PlanRules.model_fields)
"""The keys a rules file may hold (the fields of ``PlanRules``)."""


def load_rules(path: str | Path) -> PlanRules:
    """Read the planner's rules from TOML; errors name the key and what it accepts.

    Example::

        max_creator_budget_share = 0.3
        min_video_share = 0.4
        max_per_any_tag = 3
        exclude_flags = ["paid_boost_heavy"]
        must_include = ["5d21ab6b000000001201567d"]

        [tier_spend_share]
        macro = [0.2, 0.5]

        [max_per_tag]
        beauty = 2
    """
    source = Path(path)
    try:
        data = source.read_bytes()
    except OSError as error:
        raise RulesError(f"cannot read {source}: {error.strerror or error}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise RulesError(
            f"{source}: line {line} is not UTF-8 text (TOML files are UTF-8)"
        ) from None
    return rules_from_text(text, origin=str(source))


def rules_from_text(text: str, *, origin: str = "rules") -> PlanRules:
    """``PlanRules`` from TOML text, as ``load_rules`` reads a file (the console's rules
    field uses it): the same checks and messages, each starting with ``origin``."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RulesError(f"{origin} is not valid TOML: {error}") from None
    except RecursionError:  # tomllib recurses once per level of nested arrays or tables
        raise RulesError(f"{origin} is not valid TOML: nested too deeply") from None
    return rules_from_mapping(raw, origin=origin)


def rules_from_mapping(raw: dict[str, Any], *, origin: str = "rules") -> PlanRules:
    """``PlanRules`` from already-parsed data (a TOML table, a JSON body), with named errors."""
    try:
        return PlanRules.model_validate(raw)
    except ValidationError as error:
        raise RulesError(f"{origin}: " + "; ".join(_rule_problems(error))) from None


_EXPECTED = {
    "tier_spend_share": "a table of tier = [min, max], shares in [0, 1]",
    "tier_count_share": "a table of tier = [min, max], shares in [0, 1]",
    "max_per_tag": "a table of content tag = whole number >= 0",
    "max_per_any_tag": "a whole number >= 0",
    "min_video_share": "a share in [0, 1]",
    "max_creator_budget_share": "a share in (0, 1]",
    "exclude_flags": "a list of flag names",
    "must_include": "a list of creator ids (24 lowercase hex characters)",
    "must_exclude": "a list of creator ids (24 lowercase hex characters)",
    "audience": "a table with mode, weight, gender, gender_min, ages, ages_min, cities, cities_min",
}

AUDIENCE_KEYS: tuple[str, ...] = tuple(AudienceTarget.model_fields)
"""The keys of the rules file's ``[audience]`` table."""


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _shown_key(name: str) -> str:
    """A key as TOML writes it: bare when it can be, else quoted (an empty key, a line break)."""
    return name if _BARE_KEY.fullmatch(name) else json.dumps(name)


def _rule_problems(error: ValidationError) -> list[str]:
    problems: list[str] = []
    for item in error.errors():
        location = [str(part) for part in item["loc"]]
        key = location[0] if location else ""
        where = ".".join(location[:2]) if len(location) > 1 else key
        shown = ".".join(_shown_key(part) for part in location[:2])
        nested = key == "audience" and len(location) > 1
        if item["type"] == "extra_forbidden":
            if nested:
                problems.append(
                    f"unknown key {where!r}; allowed keys in [audience]: {', '.join(AUDIENCE_KEYS)}"
                )
            else:
                problems.append(f"unknown key {key!r}; allowed keys: {', '.join(RULE_KEYS)}")
            continue
        message = str(item["msg"]).removeprefix("Value error, ")
        expected = AUDIENCE_EXPECTED.get(location[1]) if nested else _EXPECTED.get(key)
        suffix = f" (expected {expected})" if expected else ""
        if message.startswith((f"{key}.", f"{key}:")):
            problems.append(f"{message}{suffix}")  # the validator named the key already
        else:
            problems.append(f"{shown or 'rules'}: {message}{suffix}")
    return problems
