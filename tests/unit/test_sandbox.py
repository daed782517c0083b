"""The sandbox source keeps every cross-check of contract.md, on 1,000 creators x 24 scopes.

The checks live in ``check_payload`` / ``check_creator`` so that a failure names the creator, the
scope and the field. ``check_payload`` also passes on the real fixture, which keeps the checks
honest: they test what upstream does, not what the sandbox happens to do.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from pgy_metrics.clock import FixedClock
from pgy_metrics.contract.endpoints import notes_query
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.models import NotesRateData
from pgy_metrics.contract.params import Scope
from pgy_metrics.sources.base import Source
from pgy_metrics.sources.sandbox import SandboxSource, creator_profile
from tests.conftest import FIXTURE_3_NOTES

DAY = date(2025, 12, 8)
CREATORS = 1_000
SCOPES = list(Scope.all())
FIXTURE = FIXTURE_3_NOTES

TOP_KEYS = [
    "noteNumber",
    "videoNoteNumber",
    "hundredLikePercent",
    "thousandLikePercent",
    "noteType",
    "tradeNames",
    "impMedian",
    "impMedianBeyondRate",
    "readMedian",
    "readMedianBeyondRate",
    "interactionMedian",
    "interactionRate",
    "interactionBeyondRate",
    "likeMedian",
    "collectMedian",
    "commentMedian",
    "shareMedian",
    "videoFullViewRate",
    "videoFullViewBeyondRate",
    "picture3sViewRate",
    "notes",
    "pagePercentVo",
    "longTermCommonNoteVo",
    "longTermCooperateNoteVo",
    "mengagementNum",
    "mfollowCnt",
    "mEngagementNum",
    "mFollowCnt",
]
NOTE_KEYS = [
    "noteId",
    "date",
    "publishTime",
    "type",
    "imgUrl",
    "title",
    "canJump",
    "impNum",
    "impBeyondRate",
    "readNum",
    "readBeyondRate",
    "interactionNum",
    "interactionBeyondRate",
    "collectNum",
    "likeNum",
    "collectBeyondRate",
    "likeBeyondRate",
]
SOURCES = ("Homefeed", "Search", "Follow", "Detail", "Nearby", "Other")
PAGE_KEYS = [f"{side}{name}Percent" for side in ("imp", "read") for name in SOURCES]
COHORT_METRICS = [
    "recentReadNum",
    "recentReadBeyondRate",
    "longTermReadNum",
    "longTermReadBeyondRate",
    *(
        f"{period}{name}PagePercent"
        for period in ("recent", "longTerm")
        for name in ("Search", "Find", "KolHome", "Follow", "Other")
    ),
]
COHORT_KEYS = ["startPublishTime", "endPublishTime", "noteNumber", *COHORT_METRICS]
COUNT_FIELDS = [
    "noteNumber",
    "videoNoteNumber",
    "impMedian",
    "readMedian",
    "interactionMedian",
    "likeMedian",
    "collectMedian",
    "commentMedian",
    "shareMedian",
    "mengagementNum",
    "mfollowCnt",
    "mEngagementNum",
    "mFollowCnt",
]
RATE_FIELDS = [
    "hundredLikePercent",
    "thousandLikePercent",
    "interactionRate",
    "videoFullViewRate",
    "picture3sViewRate",
]
BEYOND_FIELDS = [
    "impMedianBeyondRate",
    "readMedianBeyondRate",
    "interactionBeyondRate",
    "videoFullViewBeyondRate",
]
MEDIAN_FIELDS = ["impMedian", "readMedian", "likeMedian", "collectMedian", "interactionMedian"]
# (note count field, its relative-deviation field, the median it is measured against)
NOTE_DEVIATIONS = [
    ("impNum", "impBeyondRate", "impMedian"),
    ("readNum", "readBeyondRate", "readMedian"),
    ("likeNum", "likeBeyondRate", "likeMedian"),
    ("collectNum", "collectBeyondRate", "collectMedian"),
    ("interactionNum", "interactionBeyondRate", "interactionMedian"),
]
PERCENT_TEXT = re.compile(r"\d{1,3}\.\d")
NOTE_ID = re.compile(r"[0-9a-f]{24}")
WINDOW = {DateType.DAY_30: 30, DateType.DAY_90: 90}


def user_ids(n: int, salt: str = "creator") -> list[str]:
    """Deterministic creator ids: 24 lowercase hex characters."""
    return [hashlib.blake2b(f"{salt}{i}".encode(), digest_size=12).hexdigest() for i in range(n)]


def trunc3(count: int, median: int) -> float:
    """``trunc3(count / median - 1)`` exactly: integer arithmetic, truncating toward zero."""
    thousandths = abs(count - median) * 1000 // median
    return (thousandths if count >= median else -thousandths) / 1000


def integer_median(values: list[int]) -> int:
    """What a consumer recomputes: the median, floored to an integer for an even count."""
    return math.floor(statistics.median(values))


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class PayloadChecker:
    """Collects the cross-check failures of one payload, each naming creator, scope and field."""

    def __init__(self, user_id: str, scope: Scope) -> None:
        self.where = f"creator {user_id} scope {scope.key}"
        self.failures: list[str] = []

    def check(self, ok: bool, field: str, detail: str) -> None:
        if not ok:
            self.fail(field, detail)

    def fail(self, field: str, detail: str) -> None:
        """For hot loops: the caller tests first, so the message is only built on failure."""
        self.failures.append(f"{self.where} field {field}: {detail}")


def check_payload(user_id: str, scope: Scope, day: date, data: dict[str, Any]) -> list[str]:
    """Every cross-check of contract.md on one ``data`` object; returns the failures."""
    c = PayloadChecker(user_id, scope)
    try:
        NotesRateData.from_raw(data)
    except ValueError as exc:  # pydantic.ValidationError is a ValueError
        c.check(False, "*", f"does not validate as NotesRateData: {exc}")
        return c.failures
    c.check(list(data) == TOP_KEYS, "*", f"key order {list(data)}")
    for name in COUNT_FIELDS:
        c.check(is_int(data[name]) and data[name] >= 0, name, f"not a count: {data[name]!r}")
    for name in RATE_FIELDS + BEYOND_FIELDS:
        value = data[name]
        ok = isinstance(value, str) and PERCENT_TEXT.fullmatch(value) is not None
        c.check(ok and 0 <= float(value) <= 100, name, f"not a one-decimal percent: {value!r}")
    if c.failures:
        return c.failures

    n = data["noteNumber"]
    videos = data["videoNoteNumber"]
    trade_names = data["tradeNames"]
    c.check(
        trade_names is None
        or (isinstance(trade_names, list) and all(isinstance(t, str) for t in trade_names)),
        "tradeNames",
        f"{trade_names!r}",
    )
    c.check(
        data["mEngagementNum"] == data["mengagementNum"],
        "mEngagementNum",
        f"{data['mEngagementNum']} != mengagementNum {data['mengagementNum']}",
    )
    c.check(
        data["mFollowCnt"] == data["mfollowCnt"],
        "mFollowCnt",
        f"{data['mFollowCnt']} != mfollowCnt {data['mfollowCnt']}",
    )
    check_cohorts(c, day, data)

    if n == 0:
        check_empty(c, data)
        return c.failures

    # Sums, ordering and filters.
    like, collect, comment = data["likeMedian"], data["collectMedian"], data["commentMedian"]
    c.check(
        data["interactionMedian"] == like + collect + comment,
        "interactionMedian",
        f"{data['interactionMedian']} != {like} + {collect} + {comment}",
    )
    c.check(
        data["readMedian"] <= data["impMedian"],
        "readMedian",
        f"{data['readMedian']} > impMedian {data['impMedian']}",
    )
    for name in MEDIAN_FIELDS:
        c.check(data[name] > 0, name, "0 in a non-empty scope")
    c.check(videos <= n, "videoNoteNumber", f"{videos} > noteNumber {n}")
    if scope.note_type is NoteType.PHOTO_TEXT:
        c.check(videos == 0, "videoNoteNumber", f"{videos} videos in a PHOTO_TEXT scope")
    if scope.note_type is NoteType.VIDEO:
        c.check(videos == n, "videoNoteNumber", f"{videos} of {n} notes in a VIDEO scope")
    c.check(
        (data["videoFullViewRate"] == "0.0") == (videos == 0),
        "videoFullViewRate",
        f"{data['videoFullViewRate']!r} with {videos} video notes",
    )
    if videos == 0:
        c.check(
            data["videoFullViewBeyondRate"] == "0.0",
            "videoFullViewBeyondRate",
            f"{data['videoFullViewBeyondRate']!r} without video notes",
        )
    c.check(
        (data["picture3sViewRate"] == "0.0") == (videos == n),
        "picture3sViewRate",
        f"{data['picture3sViewRate']!r} with {n - videos} photo-text notes",
    )

    # Like-percentages are whole numbers of notes (to the rounding of one decimal).
    counts = {}
    for name in ("hundredLikePercent", "thousandLikePercent"):
        notes_with = float(data[name]) * n / 100
        counts[name] = round(notes_with)
        c.check(
            abs(notes_with - round(notes_with)) <= 0.05 * n / 100 + 1e-9,
            name,
            f"{data[name]} % of {n} notes is not a whole number of notes",
        )
    c.check(
        counts["thousandLikePercent"] <= counts["hundredLikePercent"],
        "thousandLikePercent",
        f"{data['thousandLikePercent']} > hundredLikePercent {data['hundredLikePercent']}",
    )

    # The content mix (the response's noteType).
    mix = data["noteType"]
    c.check(1 <= len(mix) <= 2, "noteType", f"{len(mix)} entries")
    for entry in mix:
        percent = entry.get("percent")
        ok = isinstance(percent, str) and PERCENT_TEXT.fullmatch(percent) is not None
        c.check(ok, "noteType", f"percent {percent!r}")
        c.check(isinstance(entry.get("contentTag"), str), "noteType", f"contentTag {entry!r}")
    if all(isinstance(e.get("percent"), str) for e in mix):
        c.check(sum(float(e["percent"]) for e in mix) <= 100.1, "noteType", f"sum {mix!r}")

    check_page_percent(c, data["pagePercentVo"])
    check_notes(c, scope, day, data)
    return c.failures


def check_empty(c: PayloadChecker, data: dict[str, Any]) -> None:
    """Contract rule 1, exactly: zeros and nulls, percentiles not zeroed."""
    for name in COUNT_FIELDS:
        c.check(data[name] == 0, name, f"{data[name]!r} in an empty scope")
    for name in RATE_FIELDS:
        c.check(data[name] == "0.0", name, f"{data[name]!r} in an empty scope")
    c.check(data["noteType"] == [], "noteType", f"{data['noteType']!r} in an empty scope")
    c.check(data["notes"] is None, "notes", "not null in an empty scope")
    c.check(data["pagePercentVo"] is None, "pagePercentVo", "not null in an empty scope")
    for name in ("impMedianBeyondRate", "readMedianBeyondRate", "interactionBeyondRate"):
        c.check(data[name] != "0.0", name, "zeroed in an empty scope (must be copied)")


def check_cohorts(c: PayloadChecker, day: date, data: dict[str, Any]) -> None:
    """The long-term cohorts: fixed dates months before the day, metrics null without notes."""
    for name in ("longTermCommonNoteVo", "longTermCooperateNoteVo"):
        cohort = data[name]
        if not isinstance(cohort, dict):
            c.check(False, name, f"not an object: {cohort!r}")
            continue
        c.check(list(cohort) == COHORT_KEYS, name, f"key order {list(cohort)}")
        start = date.fromisoformat(cohort["startPublishTime"])
        end = date.fromisoformat(cohort["endPublishTime"])
        c.check(55 <= (end - start).days <= 65, name, f"cohort {start}..{end} is not ~60 days")
        c.check((day - end).days >= 90, name, f"cohort ends {end}, not months before {day}")
        number = cohort["noteNumber"]
        c.check(is_int(number) and number >= 0, name, f"noteNumber {number!r}")
        if number == 0:
            for key in COHORT_METRICS:
                c.check(cohort[key] is None, f"{name}.{key}", "not null with noteNumber 0")
            continue
        for key in ("recentReadNum", "longTermReadNum"):
            c.check(is_int(cohort[key]), f"{name}.{key}", f"{cohort[key]!r}")
        for key in COHORT_METRICS:
            if key.endswith(("BeyondRate", "PagePercent")):
                value = cohort[key]
                ok = isinstance(value, str) and PERCENT_TEXT.fullmatch(value) is not None
                c.check(ok, f"{name}.{key}", f"not a one-decimal percent: {value!r}")


def check_page_percent(c: PayloadChecker, shares: Any) -> None:
    """Traffic-source shares: 0-1 floats, each side summing to 1."""
    if not isinstance(shares, dict):
        c.check(False, "pagePercentVo", f"not an object in a non-empty scope: {shares!r}")
        return
    c.check(list(shares) == PAGE_KEYS, "pagePercentVo", f"key order {list(shares)}")
    for key, value in shares.items():
        ok = isinstance(value, float) and -1e-12 <= value <= 1
        c.check(ok, f"pagePercentVo.{key}", f"not a 0-1 float: {value!r}")
    for side in ("imp", "read"):
        total = sum(shares[f"{side}{name}Percent"] for name in SOURCES)
        c.check(abs(total - 1) <= 1e-9, f"pagePercentVo.{side}*", f"shares sum to {total!r}")


def check_notes(c: PayloadChecker, scope: Scope, day: date, data: dict[str, Any]) -> None:
    """The listed notes: shape, window, filter, relative deviations, recomputable medians."""
    n = data["noteNumber"]
    notes = data["notes"]
    if not isinstance(notes, list):
        c.check(False, "notes", f"not a list in a non-empty scope: {notes!r}")
        return
    c.check(len(notes) == min(n, 15), "notes", f"{len(notes)} notes of noteNumber {n}")
    first_day = day - timedelta(days=WINDOW[scope.date_type])
    allowed = {NoteType.PHOTO_TEXT: {1}, NoteType.VIDEO: {2}}.get(scope.note_type, {1, 2})
    for i, note in enumerate(notes):
        # 180,000 notes: test first, build the message only on failure.
        at = f"notes[{i}]"
        if list(note) != NOTE_KEYS:
            c.fail(at, f"key order {list(note)}")
            continue
        if not (isinstance(note["noteId"], str) and NOTE_ID.fullmatch(note["noteId"])):
            c.fail(f"{at}.noteId", f"{note['noteId']!r}")
        if note["date"] is not None:
            c.fail(f"{at}.date", f"{note['date']!r}")
        published = date.fromisoformat(note["publishTime"])
        if not first_day <= published < day:
            c.fail(f"{at}.publishTime", f"{published} outside {first_day}..{day}, day excluded")
        if note["type"] not in allowed:
            c.fail(f"{at}.type", f"{note['type']!r} in this scope")
        if not isinstance(note["canJump"], bool):
            c.fail(f"{at}.canJump", f"{note['canJump']!r}")
        if not (isinstance(note["imgUrl"], str) and isinstance(note["title"], str)):
            c.fail(f"{at}.imgUrl/title", f"{note['imgUrl']!r} {note['title']!r}")
        if note["readNum"] > note["impNum"]:
            c.fail(f"{at}.readNum", f"{note['readNum']} > impNum {note['impNum']}")
        for count_key, rate_key, median_key in NOTE_DEVIATIONS:
            count, rate, median = note[count_key], note[rate_key], data[median_key]
            if not is_int(count):
                c.fail(f"{at}.{count_key}", f"not an int: {count!r}")
            elif not isinstance(rate, float):
                c.fail(f"{at}.{rate_key}", f"not a float: {rate!r}")
            elif median > 0:
                expected = trunc3(count, median)
                if rate != expected or abs(rate - (count / median - 1)) >= 0.001:
                    c.fail(
                        f"{at}.{rate_key}",
                        f"{rate!r} != trunc3({count} / {median_key} {median} - 1) = {expected!r}",
                    )
    publish_times = [note["publishTime"] for note in notes]
    c.check(publish_times == sorted(publish_times), "notes", "not in publication order")
    c.check(len({note["noteId"] for note in notes}) == len(notes), "notes", "duplicate noteId")

    if len(notes) != n:
        return
    # Every note is listed: a consumer can recompute the medians and rates (rule 5).
    for key, median_key in (
        ("impNum", "impMedian"),
        ("readNum", "readMedian"),
        ("likeNum", "likeMedian"),
        ("collectNum", "collectMedian"),
        ("interactionNum", "mEngagementNum"),
    ):
        recomputed = integer_median([note[key] for note in notes])
        c.check(
            data[median_key] == recomputed,
            median_key,
            f"{data[median_key]} != median of notes[].{key} {recomputed}",
        )
    c.check(
        data["videoNoteNumber"] == sum(1 for note in notes if note["type"] == 2),
        "videoNoteNumber",
        "differs from the listed notes",
    )
    hundred = sum(1 for note in notes if note["likeNum"] >= 100)
    c.check(
        data["hundredLikePercent"] == f"{100 * hundred / n:.1f}",
        "hundredLikePercent",
        f"{data['hundredLikePercent']} but {hundred} of {n} listed notes have >= 100 likes",
    )
    rate = (
        100 * sum(note["interactionNum"] for note in notes) / sum(note["readNum"] for note in notes)
    )
    c.check(
        abs(float(data["interactionRate"]) - rate) <= 0.05 + 1e-9,
        "interactionRate",
        f"{data['interactionRate']} but the notes give {rate:.3f}",
    )


def check_creator(user_id: str, payloads: dict[Scope, dict[str, Any]]) -> list[str]:
    """Plausibility across the 24 scopes of one creator on one day."""
    failures: list[str] = []

    def check(ok: bool, scope: Scope, field: str, detail: str) -> None:
        if not ok:
            failures.append(f"creator {user_id} scope {scope.key} field {field}: {detail}")

    default = payloads[Scope()]
    for scope, data in payloads.items():
        n = data["noteNumber"]
        if scope.advertise_switch is AdvertiseSwitch.ORGANIC_ONLY:
            everything = payloads[Scope(scope.business, scope.note_type, scope.date_type)]
            check(n == everything["noteNumber"], scope, "noteNumber", "differs from ALL traffic")
            for name in ("impMedian", "readMedian", "likeMedian", "collectMedian"):
                check(
                    data[name] <= everything[name],
                    scope,
                    name,
                    f"organic {data[name]} > all traffic {everything[name]}",
                )
        if scope.date_type is DateType.DAY_90:
            recent = payloads[
                Scope(scope.business, scope.note_type, DateType.DAY_30, scope.advertise_switch)
            ]
            check(
                n >= recent["noteNumber"],
                scope,
                "noteNumber",
                f"{n} in 90 days < {recent['noteNumber']} in 30 days",
            )
        if scope.note_type is NoteType.PHOTO_TEXT_AND_VIDEO:
            photo = payloads[
                Scope(scope.business, NoteType.PHOTO_TEXT, scope.date_type, scope.advertise_switch)
            ]
            video = payloads[
                Scope(scope.business, NoteType.VIDEO, scope.date_type, scope.advertise_switch)
            ]
            check(
                n == photo["noteNumber"] + video["noteNumber"],
                scope,
                "noteNumber",
                f"{n} != photo-text {photo['noteNumber']} + video {video['noteNumber']}",
            )
            check(
                data["videoNoteNumber"] == video["noteNumber"],
                scope,
                "videoNoteNumber",
                f"{data['videoNoteNumber']} != VIDEO scope's {video['noteNumber']}",
            )
        if n == 0:
            for name in BEYOND_FIELDS:
                check(
                    data[name] == default[name],
                    scope,
                    name,
                    f"{data[name]!r} not copied from the default scope's {default[name]!r}",
                )
        for name in ("tradeNames", "longTermCommonNoteVo", "longTermCooperateNoteVo"):
            check(data[name] == default[name], scope, name, "differs between scopes")
    return failures


Generated = dict[str, dict[Scope, dict[str, Any]]]


@pytest.fixture(scope="module")
def timed_generation() -> tuple[float, Generated]:
    """1,000 creators x 24 scopes on one day, and the seconds it took (sync: no event loop)."""
    source = SandboxSource(clock=FixedClock(datetime(2025, 12, 8, 4, tzinfo=UTC)))
    started = time.perf_counter()
    payloads = {
        user_id: {scope: source.generate(user_id, scope, day=DAY) for scope in SCOPES}
        for user_id in user_ids(CREATORS)
    }
    return time.perf_counter() - started, payloads


@pytest.fixture(scope="module")
def generated(timed_generation: tuple[float, Generated]) -> Generated:
    return timed_generation[1]


def test_checks_pass_on_the_real_fixture() -> None:
    """The checks describe upstream: the real 3-note answer passes them."""
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))["data"]
    assert check_payload("5d21ab6b000000001201567d", Scope(), DAY, data) == []


def printed_decimals(value: float) -> int:
    """Decimal places of a float as JSON prints it (the shortest repr); an exponent is too many."""
    text = repr(value)
    if "e" in text or "E" in text:
        return 99
    return len(text.partition(".")[2].rstrip("0"))


def meant_decimals(value: float) -> int:
    """The fewest decimal places that give ``value`` back to within 1e-12: what the number means.

    Not ``printed_decimals``: the real answer computes Other = 1 - the rest by float subtraction
    and sends ``0.01700000000000005``, a 3-decimal share with noise in its last bits.
    """
    return next(places for places in range(13) if abs(round(value, places) - value) < 1e-12)


def float_fields(node: Any, path: str = "") -> Iterator[tuple[str, float]]:
    """``(path, value)`` of every float in a payload; list items share a path (``notes[].x``)."""
    if isinstance(node, float):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from float_fields(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for item in node:
            yield from float_fields(item, f"{path}[]")


def real_precision() -> dict[str, int]:
    """Decimal places per object of the real answer's floats. Siblings in one object share a
    unit and a precision (the traffic shares, a note's deviations); one field alone would not
    do, since the fixture's ``impNearbyPercent`` is ``0.0``."""
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))["data"]
    precision: dict[str, int] = {}
    for path, value in float_fields(data):
        family = path.rpartition(".")[0]
        precision[family] = max(precision.get(family, 0), meant_decimals(value))
    return precision


def test_numbers_have_the_precision_of_a_real_answer(generated: Generated) -> None:
    """No float noise: every float the sandbox sends prints with at most the decimals the real
    answer has for that field (and every float field is one the real answer has as a float).
    Percent strings (one decimal) and integer counts are checked field by field above."""
    precision = real_precision()
    assert precision == {"notes[]": 3, "pagePercentVo": 3}
    failures = []
    for user_id, payloads in generated.items():
        for scope, data in payloads.items():
            for path, value in float_fields(data):
                family = path.rpartition(".")[0]
                if family not in precision:
                    failures.append(f"{user_id} {scope.key} {path}: {value!r}, not a real float")
                elif printed_decimals(value) > precision[family]:
                    failures.append(
                        f"{user_id} {scope.key} {path}: {value!r} has more than "
                        f"{precision[family]} decimals"
                    )
    assert failures == [], "\n".join(failures[:30])


def test_every_payload_keeps_every_cross_check(
    generated: Generated,
) -> None:
    failures = [
        failure
        for user_id, payloads in generated.items()
        for scope, data in payloads.items()
        for failure in check_payload(user_id, scope, DAY, data)
    ]
    assert failures == [], "\n".join(failures[:30])


def test_scopes_of_a_creator_are_mutually_plausible(
    generated: Generated,
) -> None:
    failures = [
        failure
        for user_id, payloads in generated.items()
        for failure in check_creator(user_id, payloads)
    ]
    assert failures == [], "\n".join(failures[:30])


def test_sponsored_notes_are_fewer(generated: Generated) -> None:
    daily_90 = Scope(date_type=DateType.DAY_90)
    sponsored_90 = Scope(Business.COOPERATE_NOTE, date_type=DateType.DAY_90)
    fewer = sum(
        payloads[sponsored_90]["noteNumber"] < payloads[daily_90]["noteNumber"]
        for payloads in generated.values()
    )
    assert fewer >= 0.9 * CREATORS


def test_empty_scopes_share_and_rule_1(generated: Generated) -> None:
    empty = [
        (user_id, scope, data)
        for user_id, payloads in generated.items()
        for scope, data in payloads.items()
        if data["noteNumber"] == 0
    ]
    share = len(empty) / (CREATORS * len(SCOPES))
    assert 0.08 <= share <= 0.25, f"{share:.1%} of scopes are empty"
    # Rule 1 is checked field by field in check_payload/check_creator; here: it is exercised in
    # every filter, including creators whose default scope itself is empty.
    assert {scope.business for _, scope, _ in empty} == set(Business)
    assert {scope.note_type for _, scope, _ in empty} == set(NoteType)
    assert any(scope == Scope() for _, scope, _ in empty)
    for user_id, scope, data in empty[:50]:
        model = NotesRateData.from_raw(data)
        assert model.is_empty_scope, (user_id, scope.key)
        assert data["impMedianBeyondRate"] != "0.0", (user_id, scope.key)


def test_creators_without_sponsors_or_videos(
    generated: Generated,
) -> None:
    never_sponsored = no_video = 0
    for user_id, payloads in generated.items():
        profile = creator_profile(user_id)
        if profile.sponsored_share == 0:
            never_sponsored += 1
            for scope, data in payloads.items():
                assert data["tradeNames"] is None, (user_id, scope.key)
                if scope.business is Business.COOPERATE_NOTE:
                    assert data["noteNumber"] == 0, (user_id, scope.key)
        if profile.video_share == 0:
            no_video += 1
            for scope, data in payloads.items():
                assert data["videoNoteNumber"] == 0, (user_id, scope.key)
                assert data["videoFullViewRate"] == "0.0", (user_id, scope.key)
                if scope.note_type is NoteType.VIDEO:
                    assert data["noteNumber"] == 0, (user_id, scope.key)
    assert never_sponsored >= 20
    assert no_video >= 20


def test_notes_are_capped_at_15(generated: Generated) -> None:
    lengths = [
        len(data["notes"] or []) for payloads in generated.values() for data in payloads.values()
    ]
    assert max(lengths) == 15
    capped = [
        (data["noteNumber"], data["notes"])
        for payloads in generated.values()
        for data in payloads.values()
        if data["noteNumber"] > 15
    ]
    assert capped, "no scope has more than 15 notes: the cap is never exercised"
    # The listed notes are the most recent ones.
    for user_id, payloads in list(generated.items())[:50]:
        wide = payloads[Scope(date_type=DateType.DAY_90)]["notes"] or []
        narrow = payloads[Scope()]["notes"] or []
        if wide and narrow:
            assert wide[-1]["noteId"] == narrow[-1]["noteId"], user_id


def test_follower_spread() -> None:
    followers = [creator_profile(user_id).followers for user_id in user_ids(CREATORS)]
    assert sum(f < 5_000 for f in followers) >= 0.05 * CREATORS
    assert sum(f > 1_000_000 for f in followers) >= 0.05 * CREATORS
    assert min(followers) >= 1_000
    assert max(followers) <= 5_000_000


def test_creator_profile_is_pure_and_stable() -> None:
    user_id = user_ids(1)[0]
    profile = creator_profile(user_id)
    assert profile == creator_profile(user_id)
    assert creator_profile(user_id, seed=1) != profile
    assert profile.content_tags and all(isinstance(tag, str) for tag in profile.content_tags)
    with pytest.raises(AttributeError):
        profile.followers = 1  # type: ignore[misc]


def test_reads_scale_with_followers(generated: Generated) -> None:
    pairs = [
        (creator_profile(user_id).followers, payloads[Scope(date_type=DateType.DAY_90)])
        for user_id, payloads in generated.items()
    ]
    small = [d["readMedian"] for f, d in pairs if f < 10_000 and d["noteNumber"]]
    large = [d["readMedian"] for f, d in pairs if f > 1_000_000 and d["noteNumber"]]
    assert statistics.median(large) > 20 * statistics.median(small)


def test_deterministic() -> None:
    clock = FixedClock(datetime(2025, 12, 8, 4, tzinfo=UTC))
    first, second = SandboxSource(clock=clock), SandboxSource(clock=clock)
    ids = user_ids(20, salt="determinism")
    for user_id in ids:
        for scope in SCOPES:
            a = json.dumps(first.generate(user_id, scope, day=DAY), ensure_ascii=False)
            b = json.dumps(second.generate(user_id, scope, day=DAY), ensure_ascii=False)
            assert a == b, (user_id, scope.key)
    default = Scope(date_type=DateType.DAY_90)
    by_user = {json.dumps(first.generate(u, default, day=DAY)) for u in ids}
    assert len(by_user) == len(ids)
    next_day = DAY + timedelta(days=1)
    changed = sum(
        first.generate(u, default, day=DAY) != first.generate(u, default, day=next_day) for u in ids
    )
    assert changed >= len(ids) // 2
    reseeded = SandboxSource(clock=clock, seed=7)
    assert reseeded.generate(ids[0], default, day=DAY) != first.generate(ids[0], default, day=DAY)


def test_notes_keep_their_identity_across_days() -> None:
    """A note published before both days keeps its id and date; its counts never shrink."""
    source = SandboxSource(clock=FixedClock(datetime(2025, 12, 8, 4, tzinfo=UTC)))
    scope = Scope(date_type=DateType.DAY_90)
    for user_id in user_ids(30, salt="days"):
        today = source.generate(user_id, scope, day=DAY)["notes"] or []
        later = source.generate(user_id, scope, day=DAY + timedelta(days=3))["notes"] or []
        before = {note["noteId"]: note for note in today}
        for note in later:
            if note["noteId"] in before:
                old = before[note["noteId"]]
                assert note["publishTime"] == old["publishTime"]
                assert note["readNum"] >= old["readNum"]
                assert note["impNum"] >= old["impNum"]


async def test_fetch_uses_the_shanghai_day() -> None:
    # 17:30 UTC on Dec 7 is already Dec 8 in Shanghai.
    clock = FixedClock(datetime(2025, 12, 7, 17, 30, tzinfo=UTC))
    source = SandboxSource(clock=clock)
    assert isinstance(source, Source)
    assert source.name == "sandbox"
    user_id = user_ids(1)[0]
    data = await source.fetch(notes_query(user_id, Scope()))
    assert data == source.generate(user_id, Scope(), day=DAY)
    assert check_payload(user_id, Scope(), DAY, data) == []
    data["noteNumber"] = -1  # callers own the object: mutating it must not touch the cache
    assert (await source.fetch(notes_query(user_id, Scope())))["noteNumber"] != -1
    await source.aclose()


def test_fast_enough(timed_generation: tuple[float, Generated]) -> None:
    """24,000 payloads in a few seconds (about 2 s here; generous so that slow CI never flakes)."""
    seconds, payloads = timed_generation
    assert sum(len(scopes) for scopes in payloads.values()) == CREATORS * len(SCOPES)
    assert seconds < 15
