"""Fuzzed query parameters: any query string is parsed into a ``Query`` or refused with a
``ParamError`` that names the parameter and what it accepts; nothing else ever escapes.

The layers under test are the endpoints' query-string reader (``server.routes.endpoints._query``,
bytes in) and the registry's parser (``EndpointSpec.parse`` over ``contract.params``). The same
through a real server over HTTP is ``tests/integration/test_fuzz_http.py``.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import example, given
from hypothesis import strategies as st

from pgy_metrics.contract.endpoints import ENDPOINTS, EndpointSpec, Query
from pgy_metrics.contract.params import ParamError, Scope
from pgy_metrics.server.routes.endpoints import _query
from tests.fuzzing import fuzz, outcome, seeded

SPECS = ENDPOINTS.specs()
USER_ID = "5d21ab6b000000001201567d"

# Text that looks like a query: the parameters' names and values, separators, escapes, junk.
_NAMES = sorted({"token", "userId", *(p.name for spec in SPECS for p in spec.params)})
_VALUES = sorted({m.value for spec in SPECS for p in spec.params for m in p.enum})
_PIECES = st.one_of(
    st.sampled_from([*_NAMES, *_VALUES, USER_ID, "=", "&", "%", "%00", "%ff", "%e4%b8", "+", ";"]),
    st.text(max_size=12),
)
query_text = st.lists(_PIECES, max_size=24).map("".join)
query_bytes = st.one_of(st.binary(max_size=200), query_text.map(lambda t: t.encode("utf-8")))
param_values = st.one_of(
    st.none(), st.text(max_size=60), st.sampled_from([*_VALUES, USER_ID, "", " ", "\x00"])
)


def _check(spec: EndpointSpec, params: dict[str, str | None]) -> None:
    query, error = outcome(lambda: spec.parse(params), ParamError)
    if error is not None:
        names = {"userId", *(p.name for p in spec.params)}
        assert error.param in names, error.param
        assert error.param in error.message
        assert error.message == str(error)
        if error.param == "userId":
            assert "24 lowercase hex characters" in error.message
        else:
            (param,) = (p for p in spec.params if p.name == error.param)
            assert all(member.value in error.message for member in param.enum)
        return
    assert isinstance(query, Query)
    assert query.user_id == params.get("userId")
    for param, value in zip(spec.params, query.values, strict=True):
        assert value == (params.get(param.name) or param.default)


@seeded
@fuzz(300)
@given(spec=st.sampled_from(SPECS), data=st.data())
@example(spec=ENDPOINTS["notes_rate"], data=None)
def test_any_parameter_values_parse_or_name_the_parameter(
    spec: EndpointSpec, data: st.DataObject | None
) -> None:
    if data is None:  # the pinned example: every parameter absent but the id
        _check(spec, {"userId": USER_ID})
        return
    names = ["userId", *(p.name for p in spec.params)]
    params = data.draw(st.dictionaries(st.sampled_from([*names, "other"]), param_values))
    _check(spec, params)


@seeded
@fuzz(300)
@given(raw=query_bytes, spec=st.sampled_from(SPECS))
@example(raw=b"userId=" + b"a" * 100_000, spec=ENDPOINTS["notes_rate"])
@example(raw=b"userId=%ff%fe&business=%00", spec=ENDPOINTS["notes_rate"])
@example(raw=b"\xff\xfe=\x00&&=&userId", spec=ENDPOINTS["notes_rate"])
def test_any_query_string_parses_or_names_the_parameter(raw: bytes, spec: EndpointSpec) -> None:
    params, repeated = _query({"query_string": raw}, spec.single_valued)
    assert repeated is None or repeated in spec.single_valued
    _check(spec, dict(params))


@seeded
@fuzz(300)
@given(raw=query_text)
def test_query_reader_agrees_with_parse_qsl(raw: str) -> None:
    """The hand-written reader (the hot path) reads the pairs ``parse_qsl`` reads."""
    encoded = raw.encode("latin-1", errors="replace")
    params, _ = _query({"query_string": encoded}, frozenset())
    expected = dict(parse_qsl(encoded.decode("latin-1"), keep_blank_values=True))
    assert params == expected


@seeded
@fuzz(200)
@given(key=st.one_of(st.text(max_size=80), st.sampled_from(_VALUES).map(lambda v: f"{v}.{v}")))
@example(key="DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL")
@example(key="...")  # found: read as the default scope (an empty part meant the default)
def test_any_scope_key_is_a_scope_or_a_param_error(key: str) -> None:
    scope, error = outcome(lambda: Scope.from_key(key), ParamError)
    if error is not None:
        assert error.param in {"scope", *Scope.PARAMS}
        return
    assert scope is not None and scope.key == key


@seeded
@fuzz(200)
@given(spec=st.sampled_from(SPECS), key=st.text(max_size=80))
@example(spec=ENDPOINTS["fans_profile"], key="-")
@example(spec=ENDPOINTS["data_summary"], key="")  # found: read as the DAILY_NOTE key
def test_any_stored_scope_key_is_a_query_or_a_param_error(spec: EndpointSpec, key: str) -> None:
    query, error = outcome(lambda: spec.from_scope_key(USER_ID, key), ParamError)
    if error is not None:
        assert error.param in {"scope", *(p.name for p in spec.params)}
        return
    assert query is not None and query.scope_key == key
