"""The HTTP conventions both ends share: one ``Retry-After`` parser, one idempotency-key rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from pgy_metrics.contract.http import (
    IDEMPOTENCY_KEY_MAX_CHARS,
    idempotency_key_problem,
    parse_retry_after,
)

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("3", 3.0), (" 1.5 ", 1.5), ("0", 0.0), ("120", 120.0), ("007", 7.0)],
)
def test_retry_after_reads_delta_seconds(header: str, seconds: float) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_retry_after_reads_http_dates_from_now() -> None:
    later = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=NOW) == 30.0
    assert parse_retry_after("Fri, 02 Jan 2026 03:05:05 -0000", now=NOW) == 60.0  # zone-less
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=NOW) == 0.0  # past: now
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # system clock


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "   ",
        "soon",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        "-4",
        "+4",
        "1e3",
        "1_000",
        "٣",  # an Arabic-Indic digit: float() reads it, HTTP does not
        "9" * 400,  # beyond a float
        "Wed, 32 Oct 2015 07:28:00 GMT",
    ],
)
def test_retry_after_refuses_what_is_not_a_wait(header: str | None) -> None:
    assert parse_retry_after(header, now=NOW) is None


def test_idempotency_keys_of_1_to_200_characters_pass() -> None:
    assert IDEMPOTENCY_KEY_MAX_CHARS == 200
    assert idempotency_key_problem("k") is None
    assert idempotency_key_problem("k" * IDEMPOTENCY_KEY_MAX_CHARS) is None


@pytest.mark.parametrize(
    ("key", "said"),
    [("", "got 0"), ("k" * 201, "got 201"), (7, "got int"), (None, "got NoneType")],
)
def test_idempotency_key_problems_name_the_parameter(key: object, said: str) -> None:
    for name in ("Idempotency-Key", "idempotency_key"):
        problem = idempotency_key_problem(key, name=name)
        assert problem is not None
        assert problem.startswith(f"{name} must be")
        assert "1 to 200 characters" in problem
        assert problem.endswith(f"; {said}.")
    assert idempotency_key_problem("") == "Idempotency-Key must be 1 to 200 characters long; got 0."
