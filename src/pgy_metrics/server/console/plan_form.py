"""The plan form of the console (``/console/plans``): read and check every field, with the
messages of ``pgy plan``.

The rules come from a TOML field (the syntax of a rules file) and/or structured fields for the
common rules (tier spend share, video share, creators per content tag, budget share per creator,
flags to exclude, an audience gender target). Both are checked by the analytics layer's own
rules reader (``candidates.rules_from_text`` and ``rules_from_mapping``, what ``load_rules``
runs on a file), so a value refused in a rules file is refused here with the same words; each
structured field is checked on its own so that its message sits next to it. The creators are ids
or profile URLs one per line and/or an uploaded candidates file (``read_candidates``: the same
columns and line-numbered problems as ``pgy plan``'s file, prices optional).

Nothing here touches the store or the network: ``parse`` is a function of the submitted form.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pgy_metrics.analytics.objectives import Objective
from pgy_metrics.contract.params import ParamError, parse_user_ref

if TYPE_CHECKING:
    import polars as pl

    from pgy_metrics.analytics.candidates import CandidateProblem
    from pgy_metrics.analytics.planner import PlanRules

MAX_CREATORS = 300
"""Creators one plan may hold: more is refused with a message (the solver's time and the
page's size stay bounded; a larger pool is a ``pgy plan`` job)."""
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
"""The largest candidates file read."""
MAX_RULES_CHARS = 20_000
UPLOAD_SUFFIXES = (".csv", ".xlsx")

STRUCTURED_FIELDS = (
    "tier",
    "tier_min",
    "tier_max",
    "min_video_share",
    "max_per_any_tag",
    "max_creator_budget_share",
    "exclude_flags",
    "audience_gender",
    "audience_gender_min",
)
"""The form's fields for the common rules (the rest is written in the TOML field)."""


@dataclass
class PlanRequest:
    """A checked plan form; ``errors`` (field -> message) is empty when it can be planned."""

    values: dict[str, Any] = field(default_factory=dict)
    """What was submitted, to fill the form again (never the upload's content)."""
    errors: dict[str, str] = field(default_factory=dict)
    user_ids: list[str] = field(default_factory=list)
    candidates: pl.DataFrame | None = None
    """The candidates (``CANDIDATE_SCHEMA``): the file's rows, then the listed ids."""
    problems: list[CandidateProblem] = field(default_factory=list)
    """Rows of the file that were skipped, with their line numbers."""
    budget: float = 0.0
    objective: Objective = Objective.READS
    rules: PlanRules | None = None


def _first(form: Mapping[str, Sequence[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0].strip()


def parse(
    form: Mapping[str, Sequence[str]],
    upload: tuple[str, bytes] | None = None,
) -> PlanRequest:
    """Check the form (``name -> values``) and the optional upload (file name, content)."""
    from pgy_metrics.analytics.candidates import RulesError, rules_from_mapping, rules_from_text

    request = PlanRequest()
    values = request.values
    errors = request.errors
    for name in ("creators", "budget", "objective", "rules", *STRUCTURED_FIELDS):
        values[name] = _first(form, name)
    values["exclude_flags"] = [flag for flag in form.get("exclude_flags", []) if flag]

    # -- creators ------------------------------------------------------------------------------
    listed: list[str] = []
    for number, line in enumerate(values["creators"].splitlines(), start=1):
        if not line.strip():
            continue
        try:
            user_id = parse_user_ref(line.strip()[:2000], param="creators")
        except ParamError as error:
            errors.setdefault("creators", f"creators line {number}: {error.message}")
            continue
        if user_id not in listed:
            listed.append(user_id)
    file_frame = None
    if upload is not None and upload[1]:
        file_frame = _read_upload(request, *upload)
    if "creators" not in errors and "candidates" not in errors:
        _gather(request, listed, file_frame)

    # -- budget and objective ------------------------------------------------------------------
    try:
        budget = float(values["budget"].replace(",", ""))
    except ValueError:
        budget = math.nan
    if not (math.isfinite(budget) and budget > 0):
        errors["budget"] = f"budget must be a positive number; got {values['budget']!r}"
    request.budget = budget
    try:
        request.objective = Objective(values["objective"] or Objective.READS.value)
    except ValueError:
        allowed = ", ".join(item.value for item in Objective)
        errors["objective"] = f"objective must be one of {allowed}; got {values['objective']!r}"

    # -- rules ---------------------------------------------------------------------------------
    structured = _structured(values)
    if "tier" in structured and not values["tier"]:
        errors["tier"] = "tier_spend_share: choose the tier the shares apply to"
        del structured["tier"]
    merged: dict[str, Any] = {}
    for name, (key, part) in structured.items():
        try:
            rules_from_mapping({key: part}, origin="rules")
        except RulesError as error:
            errors[name] = str(error)
        merged[key] = part
    text = values["rules"]
    written: dict[str, Any] = {}
    if len(text) > MAX_RULES_CHARS:
        errors["rules"] = f"rules: longer than {MAX_RULES_CHARS} characters"
    elif text:
        try:
            rules_from_text(text, origin="rules")
            import tomllib

            written = tomllib.loads(text)
        except RulesError as error:
            errors["rules"] = str(error)
    both = sorted(set(written) & set(merged))
    if both and "rules" not in errors:
        errors["rules"] = (
            f"rules: {', '.join(both)} set both in the TOML and in the fields above; keep one"
        )
    if not any(name in errors for name in ("rules", *STRUCTURED_FIELDS)):
        try:
            request.rules = rules_from_mapping({**written, **merged}, origin="rules")
        except RulesError as error:
            errors["rules"] = str(error)
    return request


def _read_upload(request: PlanRequest, name: str, content: bytes) -> pl.DataFrame | None:
    """The uploaded candidates file through ``read_candidates`` (prices optional); messages name
    the file as it was uploaded, never the temporary copy."""
    from pgy_metrics.analytics.candidates import CandidatesError, read_candidates

    shown = Path(name.replace("\\", "/")).name[:200] or "candidates"
    suffix = Path(shown).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        request.errors["candidates"] = f"{shown}: candidates must be a .csv or .xlsx file"
        return None
    if len(content) > MAX_UPLOAD_BYTES:
        request.errors["candidates"] = (
            f"{shown}: larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"
        )
        return None
    with tempfile.TemporaryDirectory(prefix="pgy-console-plan-") as folder:
        path = Path(folder) / f"candidates{suffix}"
        path.write_bytes(content)
        try:
            found = read_candidates(path, require_price=False)
        except CandidatesError as error:
            request.errors["candidates"] = str(error).replace(str(path), shown)
            return None
    request.problems = list(found.problems)
    request.values["file_name"] = shown
    return found.frame


def _gather(request: PlanRequest, listed: list[str], file_frame: pl.DataFrame | None) -> None:
    import polars as pl

    from pgy_metrics.analytics.campaign import candidates_of

    in_file = file_frame.get_column("user_id").to_list() if file_frame is not None else []
    extra = [user_id for user_id in listed if user_id not in set(in_file)]
    ids = [*in_file, *extra]
    if not ids:
        request.errors["creators"] = (
            "creators: give at least one creator id or profile URL, or a candidates file"
        )
        return
    if len(ids) > MAX_CREATORS:
        request.errors["creators"] = (
            f"creators: at most {MAX_CREATORS} creators per plan; got {len(ids)} "
            "(plan a larger pool with pgy plan)"
        )
        return
    frames = [frame for frame in (file_frame, candidates_of(extra)) if frame is not None]
    request.candidates = pl.concat(frames, how="vertical") if len(frames) > 1 else frames[0]
    request.user_ids = ids


def _typed(text: str) -> Any:
    """A field's text as the same text after ``key =`` in a rules file reads (``0.4`` a number,
    ``3`` a whole number), else the text itself: either way the rules reader then checks it, so
    a field and a rules file refuse the same input with the same message."""
    import tomllib

    if "\n" in text or "\r" in text:
        return text
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text


def _structured(values: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """The structured fields that were filled: field -> (rules key, value for the key), the
    values read as a rules file reads them (``_typed``)."""
    found: dict[str, tuple[str, Any]] = {}
    for name in ("min_video_share", "max_per_any_tag", "max_creator_budget_share"):
        if values.get(name):
            found[name] = (name, _typed(values[name]))
    tier = values.get("tier")
    if tier or values.get("tier_min") or values.get("tier_max"):
        low = _typed(values.get("tier_min") or "0")
        high = _typed(values.get("tier_max") or "1")
        found["tier"] = ("tier_spend_share", {tier or "": [low, high]})
    if values.get("exclude_flags"):
        found["exclude_flags"] = ("exclude_flags", list(values["exclude_flags"]))
    if values.get("audience_gender") or values.get("audience_gender_min"):
        target: dict[str, Any] = {}
        if values.get("audience_gender"):
            target["gender"] = values["audience_gender"]
        if values.get("audience_gender_min"):
            target["gender_min"] = _typed(values["audience_gender_min"])
        found["audience_gender"] = ("audience", target)
    return found
