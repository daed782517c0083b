"""The endpoints' query-string reader gives exactly what ``parse_qsl`` gives (it replaced it on
the hot path), and finds repeated single-valued parameters."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from pgy_metrics.server.routes.endpoints import _query

CASES = [
    "",
    "token=pgy_abc&userId=5d21ab6b000000001201567d",
    "userId=5d21ab6b000000001201567d&business=1&noteType=2",
    "a=1&&b=2&",
    "flag&empty=&=novalue&==x",
    "name=%E8%92%B2%E5%85%AC%E8%8B%B1&plus=a+b&pct=100%25",
    "bad=%zz&half=%E8&raw=\xe9",
    "k%3Dq=v%26w&sp%20ace=1",
    "a=1;b=2",
    "userId=1&userId=2&userId=3",
]


@pytest.mark.parametrize("query", CASES)
def test_same_pairs_as_parse_qsl(query: str) -> None:
    scope = {"query_string": query.encode("latin-1")}
    expected = dict(parse_qsl(query, keep_blank_values=True))
    params, _ = _query(scope, frozenset())
    assert params == expected


def test_the_first_repeated_single_valued_parameter_is_named() -> None:
    scope = {"query_string": b"userId=1&token=t&x=1&x=2&token=u&userId=2"}
    params, repeated = _query(scope, frozenset({"userId", "token"}))
    assert repeated == "token"
    assert params == {"userId": "2", "token": "u", "x": "2"}


def test_a_repeated_other_parameter_is_not_reported() -> None:
    _, repeated = _query({"query_string": b"x=1&x=2"}, frozenset({"userId"}))
    assert repeated is None
