"""Fuzzed creator lists: the files ``pgy batch`` (``client.inputs``) and ``pgy plan``
(``analytics.candidates``) read, through the one table reader (``sheets``).

Whatever the file holds (BOMs, NULs, huge cells, UTF-16 or GBK, formulas, a damaged or cut
workbook, nothing at all), reading it gives the rows it could use and a problem per row it could
not (with its line and why), or one error naming the file; never another exception. The CLI
commands over a few generated files are ``tests/integration/test_fuzz_cli.py``.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from openpyxl import Workbook  # type: ignore[import-untyped]

from pgy_metrics.analytics.candidates import CandidatesError, read_candidates
from pgy_metrics.client.inputs import InputFileError, InputProblem, read_user_ids
from tests.fuzzing import fuzz, seeded

USER_ID = "5d21ab6b000000001201567d"
HEADERS = ["user_id", "userId", "博主ID", "price_photo", "price_video", "followers", "tier", "x"]


def cells(user_id: str) -> Any:
    """Cells of a creators file: ids, prices, formulas, BOMs, NULs, quotes, huge ones."""
    return st.one_of(
        st.sampled_from(
            [user_id, "", " ", "100", "1,000", "-1", "nan", "inf", "1e309", "=1+1", "=HYPERLINK(1)"]
        ),
        st.sampled_from(["\ufeff", "\x00", '"', "\n", "\r", ",", "#"]),
        st.text(max_size=30),
        st.integers(0, 3).map(lambda n: "a" * (70_000 * n)),  # 140,000 > csv's field limit
    )


encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "gbk", "latin-1"])


def _csv_bytes(header: list[str], body: list[list[str]], encoding: str, quoted: bool) -> bytes:
    lines = []
    for row in [header, *body]:
        if quoted:
            row = ['"' + cell.replace('"', '""') + '"' for cell in row]
        lines.append(",".join(row))
    return "\n".join(lines).encode(encoding, errors="replace")


def _xlsx_bytes(header: list[str], body: list[list[str]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in [header, *body]:
        # openpyxl refuses control characters in cells: they are what a sheet cannot hold
        sheet.append([cell.translate(_CONTROL) if isinstance(cell, str) else cell for cell in row])
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


_CONTROL = dict.fromkeys([*range(0, 9), 11, 12, *range(14, 32)])


def _damaged(data: bytes, cuts: list[tuple[int, int]]) -> bytes:
    """The workbook with bytes changed at (position, value) pairs, or cut short."""
    changed = bytearray(data)
    for position, value in cuts:
        if value < 0:
            return bytes(changed[: position % max(len(changed), 1)])
        changed[position % len(changed)] = value
    return bytes(changed)


@st.composite
def files(draw: Any, user_id: str = USER_ID) -> tuple[str, bytes]:
    """A creators file (name, bytes): CSV, text or XLSX, in any encoding, maybe damaged."""
    header = draw(st.lists(st.one_of(st.sampled_from(HEADERS), st.text(max_size=10)), max_size=6))
    body = draw(st.lists(st.lists(cells(user_id), max_size=6), max_size=8))
    kind = draw(st.sampled_from(["csv", "csv", "txt", "xlsx", "xlsx-damaged", "raw"]))
    if kind == "raw":
        return draw(st.sampled_from(["list.csv", "list.xlsx", "list.txt"])), draw(st.binary())
    if kind.startswith("xlsx"):
        data = _xlsx_bytes(header, body)
        if kind == "xlsx-damaged":
            cuts = st.tuples(st.integers(0, 10**6), st.integers(-1, 255))
            data = _damaged(data, draw(st.lists(cuts, min_size=1, max_size=6)))
        return "list.xlsx", data
    encoding, quoted = draw(encodings), draw(st.booleans())
    return f"list.{kind}", _csv_bytes(header, body, encoding, quoted)


def _good_or_named(path: Path, read: Any, error_type: type[Exception]) -> Any:
    try:
        return read(path)
    except error_type as error:
        message = str(error)
        assert path.name in message, message
        assert "Traceback" not in message
        assert len(message) < 2000
        return None


def _check_problems(problems: list[InputProblem], lines: int) -> None:
    for problem in problems:
        assert 1 <= problem.line <= lines + 1, problem
        assert problem.reason
        assert str(problem).startswith(f"line {problem.line}: ")


GOOD_XLSX = _xlsx_bytes(["user_id", "price_photo"], [[USER_ID, "100"]])


@seeded
@fuzz(200)
@given(file=files())
@example(file=("list.csv", b"user_id\n" + b"a" * 140_000 + b"\n"))  # found: csv.Error escaped
@example(file=("list.xlsx", _damaged(GOOD_XLSX, [(1500, 0)])))  # found: zlib.error escaped
@example(file=("list.csv", "user_id\n5d21ab6b000000001201567d\n".encode("utf-16")))
@example(file=("list.csv", "博主ID\n5d21ab6b000000001201567d\n".encode("gbk")))
@example(file=("list.csv", b"\xef\xbb\xbfuser_id\x00,price_photo\n" + USER_ID.encode() + b",1\n"))
@example(file=("list.csv", b"x," + b"a" * 70_000 + b"\n"))  # found: the whole header quoted
@example(file=("list.csv", b""))
@example(file=("list.xlsx", b""))
def test_any_creators_file_reads_or_names_the_file(
    tmp_path_factory: Any, file: tuple[str, bytes]
) -> None:
    name, data = file
    path = tmp_path_factory.mktemp("inputs") / name
    path.write_bytes(data)
    # csv counts a lone CR as a line end too, as Excel does (and old Mac files use)
    lines = data.count(b"\n") + data.count(b"\r") + 1 if not name.endswith(".xlsx") else 10**6
    as_input = _good_or_named(path, read_user_ids, InputFileError)
    if as_input is not None:
        _check_problems(as_input.problems, lines)
    if name.endswith((".csv", ".xlsx")):
        for require_price in (True, False):
            found = _good_or_named(
                path,
                lambda p, price=require_price: read_candidates(p, require_price=price),
                CandidatesError,
            )
            if found is not None:
                _check_problems(found.problems, lines)
                assert set(found.frame["user_id"].to_list()) <= set(
                    as_input.user_ids if as_input else []
                )


@seeded
@fuzz(100)
@given(damage=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1))
@example(damage=[(1500, 0)])
@example(damage=[(GOOD_XLSX.find(b"PK\x01\x02") + 6, 64)])  # found: NotImplementedError (zip 6.4)
# found: zipfile's message quoted 4,000 bytes of a header whose name length was changed
@example(damage=[(GOOD_XLSX.find(b"xl/workbook.xml") - 3, 16)])
def test_a_damaged_workbook_names_the_file(tmp_path_factory: Any, damage: Any) -> None:
    """Byte changes inside the zip's compressed members reach zlib and the XML parser."""
    path = tmp_path_factory.mktemp("damaged") / "creators.xlsx"
    path.write_bytes(_damaged(GOOD_XLSX, damage))
    _good_or_named(path, read_user_ids, InputFileError)
    _good_or_named(path, read_candidates, CandidatesError)


def test_a_workbook_whose_sheet_xml_is_cut_names_the_file_and_row(tmp_path: Path) -> None:
    book = _xlsx_bytes(["user_id"], [[USER_ID]] * 50)
    with zipfile.ZipFile(io.BytesIO(book)) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet][: len(parts[sheet]) // 2]
    path = tmp_path / "cut.xlsx"
    with zipfile.ZipFile(path, "w") as cut:
        for name, data in parts.items():
            cut.writestr(name, data)
    with pytest.raises(InputFileError, match=r"cut\.xlsx: the sheet is damaged after row"):
        read_user_ids(path)


def test_wrong_encodings_say_which_line_and_what_to_do(tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(f"user_id\n{USER_ID}\n博主\n".encode("gbk"))
    utf16 = tmp_path / "utf16.txt"
    utf16.write_bytes(f"{USER_ID}\n".encode("utf-16"))
    for path, said in (
        (gbk, "gbk.csv: line 3 is not UTF-8 text (it reads as GBK"),
        (utf16, "utf16.txt is UTF-16 text, not UTF-8"),
    ):
        with pytest.raises(InputFileError) as refused:
            read_user_ids(path)
        assert said in str(refused.value) and "CSV UTF-8" in str(refused.value)
