"""Candidates completed from the sibling endpoints: the file's price wins, else the profile's;
unbookable creators and formats are excluded with their reasons; costs are set beside the
platform's estimates with the 10 % flag; the report shows the sources and the exclusions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from openpyxl import load_workbook

from pgy_metrics.analytics.candidates import read_candidates
from pgy_metrics.analytics.costs import cost_frame
from pgy_metrics.analytics.marketplace import FROM_FILE, FROM_PROFILE, complete_candidates
from pgy_metrics.analytics.planner import Option
from pgy_metrics.analytics.profiles import platform_estimates
from pgy_metrics.analytics.reports import ReportData, write_xlsx
from pgy_metrics.analytics.reports.excel import SHEETS
from pgy_metrics.analytics.reports.html import render_html

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ENROLLED = "5d21ab6b000000001201567d"
NOT_ENROLLED = "5662e3c1b8ce1a26f2c10712"
VIDEO_CLOSED = "5d21ab6b000000001201567e"
NO_PROFILE = "5d21ab6b000000001201567f"


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (FIXTURES / f"justoneapi-{name}.json").read_text(encoding="utf-8")
    )["data"]
    return data


def siblings() -> dict[str, dict[str, dict[str, Any]]]:
    profile = fixture("blogger-profile")
    not_enrolled = {
        **profile,
        "picturePrice": None,
        "videoPrice": None,
        "pictureState": None,
        "videoState": None,
        "pictureShowState": None,
        "videoShowState": None,
    }
    video_closed = {**profile, "videoState": 0, "fansCount": 50_000}
    return {
        "blogger_profile": {
            ENROLLED: profile,
            NOT_ENROLLED: not_enrolled,
            VIDEO_CLOSED: video_closed,
        },
        "data_summary": {ENROLLED: fixture("data-summary")},
        "fans_profile": {ENROLLED: fixture("fans-profile")},
        "fans_history": {ENROLLED: fixture("fans-history")},
    }


def ids_file(tmp_path: Path, text: str) -> pl.DataFrame:
    path = tmp_path / "ids.csv"
    path.write_text(text, encoding="utf-8")
    return read_candidates(path, require_price=False).frame


def test_an_ids_only_file_takes_prices_followers_and_tags_from_the_profile(
    tmp_path: Path,
) -> None:
    frame = ids_file(
        tmp_path, f"user_id\n{ENROLLED}\n{NOT_ENROLLED}\n{VIDEO_CLOSED}\n{NO_PROFILE}\n"
    )
    market = complete_candidates(frame, siblings())
    rows = {row["user_id"]: row for row in market.candidates.iter_rows(named=True)}
    assert set(rows) == {ENROLLED, VIDEO_CLOSED}
    enrolled = rows[ENROLLED]
    assert (enrolled["price_photo"], enrolled["price_video"]) == (180.0, 200.0)
    assert enrolled["price_photo_source"] == enrolled["price_video_source"] == FROM_PROFILE
    assert enrolled["followers"] == 2031 and enrolled["content_tag"] == "家居家装"
    assert enrolled["agency"] is None and "测评" in enrolled["tags"]
    assert enrolled["follower_momentum"] == pytest.approx(0.0155)
    closed = rows[VIDEO_CLOSED]
    assert closed["price_video"] is None and closed["price_video_source"] is None
    assert closed["followers"] == 50_000
    reasons = {(e.user_id, e.format): e.reason for e in market.excluded}
    assert "not on the marketplace" in reasons[(NOT_ENROLLED, None)]
    assert reasons[(NO_PROFILE, None)] == "no price in the file and no creator profile"
    assert reasons[(VIDEO_CLOSED, "video")] == "video: not accepting video orders (videoState 0)"
    assert set(market.audiences) == {ENROLLED} and set(market.estimates) == {ENROLLED}
    excluded = market.excluded_frame()
    assert excluded.columns == ["user_id", "format", "reason"]
    assert excluded["format"].to_list()[:2] == [None, None]  # whole creators first


def test_the_file_overrides_the_profile_and_says_so(tmp_path: Path) -> None:
    frame = ids_file(
        tmp_path,
        "user_id,price_photo,followers,content_tag\n"
        f"{ENROLLED},150,3000,家居\n{NOT_ENROLLED},90,,\n",
    )
    market = complete_candidates(frame, siblings())
    rows = {row["user_id"]: row for row in market.candidates.iter_rows(named=True)}
    assert rows[ENROLLED]["price_photo"] == 150.0
    assert rows[ENROLLED]["price_photo_source"] == FROM_FILE
    assert rows[ENROLLED]["price_video_source"] == FROM_PROFILE  # the file has no video price
    assert rows[ENROLLED]["followers"] == 3000 and rows[ENROLLED]["content_tag"] == "家居"
    # a negotiated price books a creator the marketplace does not list
    assert rows[NOT_ENROLLED]["price_photo_source"] == FROM_FILE
    assert not any(e.user_id == NOT_ENROLLED and e.format is None for e in market.excluded)


def test_costs_sit_beside_the_platform_estimates_and_flag_gaps_above_ten_percent() -> None:
    scopes = pl.DataFrame(
        {
            "user_id": [ENROLLED, ENROLLED],
            "scope_key": [
                "COOPERATE_NOTE.PHOTO_TEXT.DAY_90.ALL",
                "DAILY_NOTE.VIDEO.DAY_90.ALL",
            ],
            "collected_at": ["2025-12-08T10:00:00", "2025-12-08T10:00:00"],
            "read_median": [1471, 1000],
            "m_engagement_num": [91, 50],
            "imp_median": [7594, 4000],
        }
    )

    def booking(fmt: str, basis: str, price: float) -> Option:
        return Option(ENROLLED, fmt, price, 1.0, 1.0, basis=basis)

    options = [
        booking("photo", "COOPERATE_NOTE.PHOTO_TEXT.DAY_90.ALL", 180.0),
        booking("video", "DAILY_NOTE.VIDEO.DAY_90.ALL", 200.0),
    ]
    estimates = {ENROLLED: platform_estimates(fixture("data-summary"))}
    photo, video = cost_frame(options, scopes, estimates).iter_rows(named=True)
    assert photo["cost_per_read"] == pytest.approx(180 / 1471)
    assert photo["cost_per_engagement"] == pytest.approx(180 / 91)
    assert photo["cpm"] == pytest.approx(photo["platform_cpm"])  # same medians: no gap
    assert photo["cpm_gap"] == pytest.approx(0) and photo["estimate_gap_flag"] is False
    assert video["platform_cpm"] is None and video["cpm_gap"] is None  # the wire's 0
    assert video["estimate_gap_flag"] is None  # nothing to compare with
    cheaper = [booking("photo", "COOPERATE_NOTE.PHOTO_TEXT.DAY_90.ALL", 250.0)]
    (row,) = cost_frame(cheaper, scopes, estimates).iter_rows(named=True)
    assert row["cpm_gap"] == pytest.approx(250 / 180 - 1) and row["estimate_gap_flag"] is True


def test_the_report_has_the_creators_and_excluded_sheets_with_the_price_sources(
    tmp_path: Path,
) -> None:
    from pgy_metrics.analytics.reports import PlanReport

    frame = ids_file(tmp_path, f"user_id\n{ENROLLED}\n{NOT_ENROLLED}\n")
    market = complete_candidates(frame, siblings())
    empty = pl.DataFrame({"user_id": [ENROLLED]})
    report = ReportData(
        title="t",
        generated_at="2025-12-08T10:00:00",
        synthetic=False,
        source_label="test",
        scopes=empty,
        indicators=empty,
        benchmark=empty,
        flags=pl.DataFrame(
            {"user_id": [], "flag": []}, schema={"user_id": pl.Utf8, "flag": pl.Utf8}
        ),
        plan=PlanReport(
            plan_table=empty,
            greedy_table=empty,
            frontier=pl.DataFrame({"budget": [1.0]}),
            excluded=market.excluded_frame(),
        ),
        creators=market.candidates,
    )
    book = load_workbook(write_xlsx(report, tmp_path / "r.xlsx"), read_only=True)
    assert SHEETS["creators"] in book.sheetnames and SHEETS["excluded"] in book.sheetnames
    creators = list(book[SHEETS["creators"]].iter_rows(values_only=True))
    labels, header = list(creators[0]), list(creators[1])  # real data: no notice row
    assert labels[header.index("price_photo_source")] == "图文报价来源"
    assert creators[2][header.index("price_photo_source")] == FROM_PROFILE
    excluded = list(book[SHEETS["excluded"]].iter_rows(values_only=True))
    assert excluded[2][0] == NOT_ENROLLED and "not on the marketplace" in excluded[2][2]
    book.close()
    html = render_html(report)
    assert 'data-table="creators"' in html and 'data-table="excluded"' in html
