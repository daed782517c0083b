"""Fuzzed replay folders: whatever a recording holds, or whatever sits where it should be, a
fetch answers the data or a ``CollectionError`` naming the recording, never another exception
(which the server would answer as a 500 and log as a traceback)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from pgy_metrics.contract.endpoints import ENDPOINTS, Query
from pgy_metrics.sources.base import CollectionError
from pgy_metrics.sources.replay import ReplaySource, recording_name
from tests.fuzzing import fuzz, outcome, seeded

USER_ID = "5d21ab6b000000001201567d"
QUERIES = [next(spec.scopes(USER_ID)) for spec in ENDPOINTS.specs()]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
envelopes = st.fixed_dictionaries(
    {"code": json_values, "data": json_values}, optional={"message": json_values}
)
contents = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    envelopes.map(lambda v: json.dumps(v).encode()),
    st.integers(1, 20_000).map(lambda n: b"[" * n),
    st.integers(1, 20_000).map(lambda n: b'{"a":' * n),
    st.sampled_from([b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"1" * 5000, b"NaN", b""]),
)


def _fetch(folder: Path, query: Query) -> dict[str, Any]:
    return asyncio.run(ReplaySource(folder).fetch(query))


def _refused(folder: Path, query: Query) -> CollectionError | None:
    data, error = outcome(lambda: _fetch(folder, query), CollectionError)
    if error is not None:
        assert error.source == "replay"
        assert recording_name(query) in error.message or query.user_id in error.message
        assert str(folder) not in error.message  # no server paths in caller-facing text
        assert len(error.message) < 1000
        return error
    assert isinstance(data, dict)
    return None


@seeded
@fuzz(200)
@given(content=contents, query=st.sampled_from(QUERIES))
@example(content=b"[" * 100_000, query=QUERIES[0])  # found: RecursionError from json
@example(content=b'{"code": 0, "data": []}', query=QUERIES[0])
@example(content=b'{"code": false, "data": {}}', query=QUERIES[0])  # found: false read as 0
# found: the whole code (30,000 characters here) was quoted in the error
@example(content=b'{"code": [' + b"1," * 10_000 + b'1], "data": 1}', query=QUERIES[0])
def test_any_recording_is_data_or_a_collection_error(
    tmp_path_factory: Any, content: bytes, query: Query
) -> None:
    folder = tmp_path_factory.mktemp("replay")
    path = folder / recording_name(query)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    error = _refused(folder, query)
    if error is None:
        document = json.loads(content)  # bytes: json reads UTF-8, -16 and -32
        assert isinstance(document, dict)


Shape = str
SHAPES: list[Shape] = [
    "directory",  # found: IsADirectoryError escaped
    "creator-is-a-file",  # found: NotADirectoryError escaped
    "dangling-link",
    "link-loop",  # found: OSError (too many levels of symbolic links) escaped
    "missing",
    "unreadable-fifo-free",
]


@seeded
@fuzz(60)
@given(
    shape=st.sampled_from(SHAPES),
    query=st.sampled_from(QUERIES),
    others=st.lists(st.text(min_size=1, max_size=30), max_size=5),
)
@example(shape="directory", query=QUERIES[0], others=[])
@example(shape="creator-is-a-file", query=QUERIES[1], others=[])
@example(shape="link-loop", query=QUERIES[0], others=[])
def test_anything_in_place_of_a_recording_is_a_collection_error(
    tmp_path_factory: Any, shape: Shape, query: Query, others: list[str]
) -> None:
    folder = tmp_path_factory.mktemp("replay")
    for name in others:  # any other names in the folder change nothing
        safe = name.replace("/", "_").replace("\x00", "_")
        if safe not in (".", ".."):
            with contextlib.suppress(OSError):  # a name the file system refuses (too long)
                (folder / safe).write_bytes(b"{}")
    path = folder / recording_name(query)
    creator = path.parent
    if shape == "creator-is-a-file":
        if creator.is_dir():
            shutil.rmtree(creator)
        creator.write_bytes(b"{}")
    else:
        creator.mkdir(exist_ok=True)
        if shape == "directory":
            path.mkdir()
        elif shape == "dangling-link":
            path.symlink_to(folder / "nowhere.json")
        elif shape == "link-loop":
            path.symlink_to(path)
        elif shape == "unreadable-fifo-free":
            path.write_bytes(b"{}")
    error = _refused(folder, query)
    assert (error is None) == (shape == "unreadable-fifo-free")


def test_a_recording_with_code_false_is_a_failed_answer(tmp_path: Path) -> None:
    """Found by the fuzzer: ``false == 0`` in Python, so ``"code": false`` passed as a success."""
    path = tmp_path / recording_name(QUERIES[0])
    path.parent.mkdir()
    path.write_bytes(b'{"code": false, "data": {}}')
    error = _refused(tmp_path, QUERIES[0])
    assert error is not None and "failed answer (code False)" in error.message
