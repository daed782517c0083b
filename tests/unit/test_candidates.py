"""The planner's input files: candidates (CSV/XLSX) and rules (TOML)."""

from __future__ import annotations

from pathlib import Path

import pytest
import xlsxwriter  # type: ignore[import-untyped]

from pgy_metrics.analytics.candidates import (
    CANDIDATE_SCHEMA,
    CandidatesError,
    RulesError,
    load_rules,
    read_candidates,
)
from pgy_metrics.analytics.planner import PlanRules

A = "5d21ab6b000000001201567d"
B = "5d21ab6b000000001201567e"
C = "5d21ab6b000000001201567f"


def test_csv_with_bom_urls_empty_prices_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "candidates.csv"
    path.write_text(
        "\n".join(
            [
                "User ID,price_photo,price_video,followers,tier,content_tag,notes",
                f"{A},1000,,120000,mid,beauty,x",
                f"https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/{B}?track_id=1,"
                '"2,500",3000,,,,',
                "not-an-id,100,200,,,,",
                f"{C},,,,,,",
                f"{C},-5,,,,,",
                f"{C},abc,,,,,",
                "",
                f"{A},900,,,,,",
                f"{C},,800,12.5,,,",
                f"https://www.xiaohongshu.com/user/profile/{C},,800,,micro,food,",
            ]
        )
        + "\n",
        encoding="utf-8-sig",
    )
    result = read_candidates(path)
    assert result.frame.schema == CANDIDATE_SCHEMA
    assert result.frame.rows() == [
        (A, 1000.0, None, 120000, "mid", "beauty", 2),
        (B, 2500.0, 3000.0, None, None, None, 3),
        (C, None, 800.0, None, "micro", "food", 11),
    ]
    assert [(p.line, p.reason) for p in result.problems] == [
        (
            4,
            "user_id must be 24 lowercase hex characters (e.g. 5d21ab6b000000001201567d); "
            "got 'not-an-id'.",
        ),
        (5, "no price: give price_photo and/or price_video"),
        (6, "price_photo must be a positive number (empty = format not offered)"),
        (7, "price_photo must be a number; got 'abc'"),
        (9, f"creator {A} already listed on line 2"),
        (10, "followers must be a whole number >= 0; got '12.5'"),
    ]
    assert str(result.problems[1]).startswith("line 5: no price")


def test_xlsx_rows_are_numbered_by_sheet_row(tmp_path: Path) -> None:
    path = tmp_path / "candidates.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    rows: list[list[object]] = [
        ["user_id", "price_photo", "price_video", "tier"],
        [A, 1200, None, "macro"],
        [],
        [f"https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/{B}", None, 2500.5, None],
        ["5D21", 100, None, None],
    ]
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    book.close()
    result = read_candidates(path)
    assert result.frame.select("user_id", "price_photo", "price_video", "tier", "line").rows() == [
        (A, 1200.0, None, "macro", 2),
        (B, None, 2500.5, None, 4),
    ]
    assert [p.line for p in result.problems] == [5]


@pytest.mark.parametrize("header", ["kol_id", "主页链接", "达人ID", "userId"])
def test_the_id_column_has_the_names_batch_inputs_accept(tmp_path: Path, header: str) -> None:
    # one list (sheets.ID_HEADERS) for `pgy batch` inputs and `pgy plan` candidates; the most
    # preferred name wins over `url`, which itself wins over 主页链接
    path = tmp_path / "c.csv"
    path.write_text(f"notes,url,{header},price_photo\nx,{B},{A},100\n", encoding="utf-8")
    frame = read_candidates(path).frame
    assert frame["user_id"].to_list() == [A if header != "主页链接" else B]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,price_photo\nx,1\n", "no user_id column in the header"),
        (f"user_id,price\n{A},1\n", "needs price_photo and/or price_video"),
        ("", "is empty"),
    ],
)
def test_unusable_files_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CandidatesError, match=message):
        read_candidates(path)


def test_other_suffixes_and_missing_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CandidatesError, match=r"must be a \.csv or \.xlsx file"):
        read_candidates(tmp_path / "c.txt")
    with pytest.raises(CandidatesError, match="cannot read"):
        read_candidates(tmp_path / "missing.csv")


RULES_EXAMPLE = f"""
max_creator_budget_share = 0.3
min_video_share = 0.4
max_per_any_tag = 3
exclude_flags = ["paid_boost_heavy"]
must_include = ["{A}"]
must_exclude = ["{B}"]

[tier_spend_share]
macro = [0.2, 0.5]

[tier_count_share]
micro = [0.3, 1.0]

[max_per_tag]
beauty = 2
"""


def test_rules_file_example(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(RULES_EXAMPLE, encoding="utf-8")
    assert load_rules(path) == PlanRules(
        tier_spend_share={"macro": (0.2, 0.5)},
        tier_count_share={"micro": (0.3, 1.0)},
        max_per_tag={"beauty": 2},
        max_per_any_tag=3,
        min_video_share=0.4,
        max_creator_budget_share=0.3,
        exclude_flags=frozenset({"paid_boost_heavy"}),
        must_include=(A,),
        must_exclude=(B,),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("min_video_share = 0.4\nbudget = 3\n", "unknown key 'budget'; allowed keys: "),
        ("[tier_spend_share]\nmacro = [0.6, 0.2]\n", "tier_spend_share.macro: min 0.6 is above"),
        ("[tier_spend_share]\nmacro = 0.5\n", "tier_spend_share.macro: "),
        ("min_video_share = 2\n", "min_video_share: Input should be less than or equal to 1"),
        ("must_include = ['abc']\n", "must_include: creator id must be 24 lowercase hex"),
        ("max_per_any_tag = -1\n", "(expected a whole number >= 0)"),
        ("min_video_share = \n", "is not valid TOML"),
    ],
)
def test_rules_errors_name_the_key(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    assert expected in str(caught.value)
    assert str(caught.value).startswith(str(path))


def test_unknown_key_lists_every_allowed_key(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("tier_share = 1\n", encoding="utf-8")
    with pytest.raises(RulesError) as caught:
        load_rules(path)
    for key in PlanRules.model_fields:
        assert key in str(caught.value)


DOCS = Path(__file__).resolve().parents[2] / "docs" / "planner.md"


def test_docs_rules_example_loads_and_every_key_is_documented(tmp_path: Path) -> None:
    text = DOCS.read_text(encoding="utf-8")
    example = text.split("```toml", 1)[1].split("```", 1)[0]
    path = tmp_path / "rules.toml"
    path.write_text(example, encoding="utf-8")
    assert load_rules(path).min_video_share == 0.4
    missing = [key for key in PlanRules.model_fields if f"`{key}`" not in text]
    assert not missing, f"document these rules in docs/planner.md: {missing}"
