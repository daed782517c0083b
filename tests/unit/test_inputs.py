"""Input files of creators: text, CSV, XLSX; ids and profile URLs; bad lines with line numbers."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from pgy_metrics.analytics.candidates import CandidatesError, read_candidates
from pgy_metrics.client.inputs import (
    ID_HEADERS,
    InputFileError,
    InputProblem,
    iter_user_ids,
    parse_user_ref,
    read_user_ids,
)

A = "5d21ab6b000000001201567d"
B = "5a0b1c2d3e4f5a6b7c8d9e0f"
C = "60f1e2d3c4b5a69788796a5b"
PGY_URL = f"https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/{B}?track_id=kfx_123&source=Advertiser"
XHS_URL = f"www.xiaohongshu.com/user/profile/{C}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (A, A),
        (f"  {A}  ", A),
        (f'"{A}"', A),
        (PGY_URL, B),
        (f"https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/{B}", B),
        (f"https://www.xiaohongshu.com/user/profile/{C}?xsec_token=abc&xsec_source=pc_search", C),
        (XHS_URL, C),
        (f"https://www.xiaohongshu.com/user/profile/{C}#notes", C),
    ],
)
def test_parse_user_ref_accepts_ids_and_profile_urls(text: str, expected: str) -> None:
    assert parse_user_ref(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "5D21AB6B000000001201567D",  # upper case is not an id of the contract
        "5d21ab6b00000000120156",  # too short
        "https://www.xiaohongshu.com/explore/5d21ab6b000000001201567d",  # a note, not a profile
        f"https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/{A}ff",
        "hello",
    ],
)
def test_parse_user_ref_rejects_the_rest(text: str) -> None:
    with pytest.raises(ValueError, match="24 lowercase hex"):
        parse_user_ref(text)


def test_text_file_ids_urls_comments_blank_lines_bad_lines_and_dedupe(tmp_path: Path) -> None:
    path = tmp_path / "creators.txt"
    path.write_text(
        "\ufeff# creators for the spring campaign\n"  # 1 (BOM + comment)
        f"{A}\n"  # 2
        "\n"  # 3
        f"{PGY_URL}\n"  # 4
        "not-an-id\n"  # 5
        f"{A}   # again, a duplicate\n"  # 6
        f"   {XHS_URL}\n"  # 7
        "5d21ab6b00000000120156\n"  # 8
        f"{B}\n",  # 9 (duplicate of the URL on line 4)
        encoding="utf-8",
    )
    result = read_user_ids(path)
    assert result.user_ids == [A, B, C]
    assert result.duplicates == 2
    assert [(p.line, p.text) for p in result.problems] == [
        (5, "not-an-id"),
        (8, "5d21ab6b00000000120156"),
    ]
    assert all("24 lowercase hex" in p.reason for p in result.problems)
    assert "line 5" in str(result.problems[0])


def test_iter_user_ids_streams_every_entry_in_file_order(tmp_path: Path) -> None:
    """The streaming reader keeps repeats (the batch de-duplicates) and yields problems in
    place, so a long input is never held in memory."""
    path = tmp_path / "creators.txt"
    path.write_text(f"{A}\nbad\n{A}\n{PGY_URL}\n", encoding="utf-8")
    entries = iter_user_ids(path)
    assert next(entries) == A  # lazily: the first entry before the rest is read
    rest = list(entries)
    assert isinstance(rest[0], InputProblem) and (rest[0].line, rest[0].text) == (2, "bad")
    assert rest[1:] == [A, B]


def test_text_file_without_suffix_and_windows_newlines(tmp_path: Path) -> None:
    path = tmp_path / "creators"
    path.write_bytes(f"{A}\r\n{B}\r\n".encode())
    assert read_user_ids(path).user_ids == [A, B]


def test_every_line_is_accounted_for(tmp_path: Path) -> None:
    lines = [A, "", "# c", "bad", B, A, "x" * 300]
    path = tmp_path / "creators.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    result = read_user_ids(path)
    ignorable = sum(1 for line in lines if not line or line.startswith("#"))
    assert len(result.user_ids) + result.duplicates + len(result.problems) + ignorable == len(lines)
    assert len(result.problems[-1].text) <= 200  # long junk is shown shortened


@pytest.mark.parametrize(
    "header", ["userId", "USER_ID", "博主ID", "达人id", "id", "kol_id", "Kol-Id"]
)
def test_csv_with_an_accepted_header(tmp_path: Path, header: str) -> None:
    path = tmp_path / "creators.csv"
    path.write_text(
        f"name,{header},fans\n"  # 1
        f"alice,{A},100\n"  # 2
        f'"bob, the builder",{PGY_URL},200\n'  # 3 (quoted comma)
        "carol,,300\n"  # 4: empty id cell
        ",,\n"  # 5: a blank row, ignorable
        "dave,oops,400\n"  # 6
        f"erin,{A},500\n",  # 7: duplicate
        encoding="utf-8-sig",
    )
    result = read_user_ids(path)
    assert result.user_ids == [A, B]
    assert result.duplicates == 1
    assert [(p.line, p.reason.split(" ")[0]) for p in result.problems] == [
        (4, "the"),
        (6, "userId"),
    ]
    assert result.problems[0].reason == "the user id cell is empty"
    assert result.problems[1].text == "oops"


def test_csv_prefers_the_user_id_column_over_a_generic_id(tmp_path: Path) -> None:
    path = tmp_path / "creators.csv"
    path.write_text(f"id,userId\n1,{A}\n", encoding="utf-8")
    assert read_user_ids(path).user_ids == [A]


def test_csv_line_numbers_count_physical_lines(tmp_path: Path) -> None:
    path = tmp_path / "creators.csv"
    path.write_text(f'note,userId\n"two\nlines",{A}\n"x",bad\n', encoding="utf-8")
    result = read_user_ids(path)
    assert result.user_ids == [A]
    assert result.problems == [InputProblem(4, "bad", result.problems[0].reason)]


def test_csv_without_an_id_column_names_the_accepted_headers(tmp_path: Path) -> None:
    path = tmp_path / "creators.csv"
    path.write_text(f"name,fans\nalice,{A}\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="no user id column") as caught:
        read_user_ids(path)
    message = str(caught.value)
    assert all(name in message for name in ID_HEADERS)
    assert "'name'" in message
    assert isinstance(caught.value, ValueError)


def test_one_column_csv_without_header(tmp_path: Path) -> None:
    path = tmp_path / "creators.csv"
    path.write_text(f"{A}\n{PGY_URL}\nbad\n", encoding="utf-8")
    result = read_user_ids(path)
    assert result.user_ids == [A, B]
    assert [p.line for p in result.problems] == [3]


def test_empty_files(tmp_path: Path) -> None:
    for name in ("empty.txt", "empty.csv"):
        (tmp_path / name).write_text("", encoding="utf-8")
        result = read_user_ids(tmp_path / name)
        assert result.user_ids == []
        assert result.problems == []


def test_xlsx_with_ids_and_urls_and_row_numbers(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["昵称", "博主ID"])  # row 1
    sheet.append(["alice", A])  # row 2
    sheet.append(["bob", XHS_URL])  # row 3
    sheet.append([None, None])  # row 4: blank, ignorable
    sheet.append(["carol", None])  # row 5: empty id cell
    sheet.append(["dave", 12345])  # row 6: a number, not an id
    sheet.append(["erin", PGY_URL])  # row 7
    sheet.append(["frank", XHS_URL])  # row 8: duplicate
    path = tmp_path / "creators.xlsx"
    book.save(path)
    result = read_user_ids(path)
    assert result.user_ids == [A, C, B]
    assert result.duplicates == 1
    assert [(p.line, p.text) for p in result.problems] == [(5, "carol,"), (6, "12345")]


def test_xlsx_without_an_id_column(tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["name", "fans"])
    sheet.append(["alice", 3])
    path = tmp_path / "creators.xlsx"
    book.save(path)
    with pytest.raises(InputFileError, match="no user id column"):
        read_user_ids(path)


def test_unreadable_files_raise_input_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="cannot read"):
        read_user_ids(tmp_path / "missing.txt")
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a zip")
    with pytest.raises(InputFileError, match=r"not a readable \.xlsx"):
        read_user_ids(broken)
    latin = tmp_path / "latin.txt"
    latin.write_bytes(b"\xff\xfe\xfa\n")
    with pytest.raises(InputFileError, match="UTF-8"):
        read_user_ids(latin)


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("missing.csv", None, "cannot read"),
        ("latin.csv", b"user_id\n\xff\xfe\xfa\n", "is not UTF-8 text"),
        ("broken.xlsx", b"not a zip", r"is not a readable \.xlsx workbook"),
    ],
)
def test_batch_inputs_and_plan_candidates_refuse_a_broken_table_alike(
    tmp_path: Path, name: str, content: bytes | None, said: str
) -> None:
    # one reader (sheets.table_rows) behind both, so the same file gets the same message
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputFileError, match=said) as as_input:
        read_user_ids(path)
    with pytest.raises(CandidatesError, match=said) as as_candidates:
        read_candidates(path)
    assert str(as_input.value) == str(as_candidates.value)
