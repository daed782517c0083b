"""``pgy demo``, ``pgy report`` and ``pgy plan`` as a user runs them: real processes, a real
in-process server on loopback (the demo's), real SQLite, real files opened with openpyxl and in
Chromium."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.integration.test_report_browser import CHARTS, _open

pytestmark = pytest.mark.integration

DEMO_CREATORS = 16
DEMO_BUDGET = "30000"


def pgy(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PGY_")},
        "PGY_DATA_DIR": str(cwd / "no-server-data"),
        "COLUMNS": "120",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pgy_metrics", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"pgy {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    """One ``pgy demo`` run shared by the tests of this module (it fetches through a server)."""
    work = tmp_path_factory.mktemp("demo")
    result = pgy(
        "demo", "--out", "out", "--creators", str(DEMO_CREATORS), "--budget", DEMO_BUDGET, cwd=work
    )
    return work / "out", result


def _notice_rows(path: Path) -> list[str]:
    book = load_workbook(path, read_only=True)
    try:
        return [str(next(sheet.iter_rows(max_row=1, values_only=True))[0]) for sheet in book]
    finally:
        book.close()


def test_demo_fetches_through_the_server_and_writes_labelled_files(demo: tuple[Path, Any]) -> None:
    out, result = demo
    written = [Path(line) for line in result.stdout.splitlines()[-5:]]  # after the tables
    assert [p.name for p in written] == [
        "report.xlsx",
        "report.html",
        "report.xlsx",
        "report.html",
        "plan.csv",
    ]
    assert all((out.parent / p).is_file() for p in written)
    lines = (out / "creators.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == DEMO_CREATORS * 8  # every creator x the eight analysis scopes
    assert f"{DEMO_CREATORS * 8}/{DEMO_CREATORS * 8}" in result.stderr  # the progress bar
    assert "synthetic" in result.stderr and "proven optimal" in result.stdout + result.stderr
    assert "improvement of the optimum over greedy" in result.stdout
    for workbook in (out / "report" / "report.xlsx", out / "plan" / "report.xlsx"):
        assert all("synthetic" in row.lower() for row in _notice_rows(workbook))
    html = (out / "plan" / "report.html").read_text(encoding="utf-8")
    assert "synthetic-banner" in html and "http://" not in html and "https://" not in html
    with (out / "plan" / "plan.csv").open(encoding="utf-8") as handle:
        plan_rows = list(csv.DictReader(handle))
    assert plan_rows and sum(float(r["price"]) for r in plan_rows) <= float(DEMO_BUDGET)
    # synthetic prices and audiences from the sandbox's sibling endpoints, an audience target
    assert "from the creator profile endpoint" in result.stderr
    assert "audience of the plan (constraint): audience.gender female (min 0.7)" in result.stdout
    assert {r["price_source"] for r in plan_rows} == {"profile"}
    total = sum(float(r["value"]) for r in plan_rows)
    women = sum(float(r["value"]) * float(r["audience_gender"]) for r in plan_rows) / total
    assert women >= 0.7 - 1e-9
    book = load_workbook(out / "plan" / "report.xlsx", read_only=True)
    try:
        assert {"达人 Creators", "排除 Excluded"} <= set(book.sheetnames)
    finally:
        book.close()
    assert "demo-" not in result.stderr.split("server:")[0]  # no token echoed


def test_demo_plan_report_draws_every_chart_in_chromium(
    demo: tuple[Path, Any],
    browser: Any,
) -> None:
    out, _ = demo
    page, problems = _open(browser, out / "plan" / "report.html")
    try:
        for name in CHARTS:
            svg = page.locator(f'svg[data-chart="{name}"]')
            assert svg.is_visible(), name
            assert svg.locator(".mark").count() > 0, name
        assert problems == []
    finally:
        page.close()


def test_reports_from_the_store_and_from_the_demos_export_are_labelled_synthetic(
    demo: tuple[Path, Any], tmp_path: Path
) -> None:
    out, _ = demo
    store = out / "server" / "pgy.db"
    from_store = pgy("report", "--from", str(store), "--out", "a", cwd=tmp_path)
    assert from_store.stdout.splitlines()[-2:] == ["a/report.xlsx", "a/report.html"]
    assert "synthetic" in _notice_rows(tmp_path / "a" / "report.xlsx")[0].lower()
    from_file = pgy("report", "--from", str(out / "creators.jsonl"), "--out", "b", cwd=tmp_path)
    assert "synthetic" in from_file.stdout  # the export records source "sandbox" per line
    assert all("synthetic" in row.lower() for row in _notice_rows(tmp_path / "b" / "report.xlsx"))
    relabelled = pgy(
        "report", "--from", str(out / "creators.jsonl"), "--out", "c", "--real", cwd=tmp_path
    )
    assert "synthetic" not in relabelled.stdout
    assert not any(
        "synthetic" in row.lower() for row in _notice_rows(tmp_path / "c" / "report.xlsx")
    )


def test_report_input_errors_name_the_problem(tmp_path: Path) -> None:
    missing = pgy("report", "--from", "nope.jsonl", cwd=tmp_path, check=False)
    assert missing.returncode == 2 and "nope.jsonl: no such file" in missing.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"user_id": "x"}\n', encoding="utf-8")
    broken = pgy("report", "--from", str(bad), cwd=tmp_path, check=False)
    assert broken.returncode == 2 and "line 1" in broken.stderr
    empty = pgy("report", cwd=tmp_path, check=False)  # the default store does not exist
    assert empty.returncode == 2 and "error:" in empty.stderr


def _candidates(out: Path, path: Path, *, extra: str = "") -> list[str]:
    with (out / "candidates-synthetic.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    lines = ["user_id,price_photo,price_video,followers"]
    lines += [
        f"{r['user_id']},{r['price_photo']},{r['price_video']},{r['followers']}" for r in rows
    ]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return [r["user_id"] for r in rows]


def test_plan_prints_the_plan_beside_greedy_and_writes_the_files(
    demo: tuple[Path, Any], tmp_path: Path
) -> None:
    out, _ = demo
    candidates = tmp_path / "candidates.csv"
    _candidates(out, candidates, extra="not-an-id,100,,\n")
    rules = tmp_path / "rules.toml"
    rules.write_text("min_video_share = 0.25\nmax_creator_budget_share = 0.3\n", encoding="utf-8")
    result = pgy(
        "plan",
        str(candidates),
        "--budget",
        "20000",
        "--objective",
        "interactions",
        "--rules",
        str(rules),
        "--from",
        str(out / "server" / "pgy.db"),
        "--out",
        "p",
        cwd=tmp_path,
    )
    assert "line " in result.stderr and "not-an-id" in result.stderr  # reported, skipped
    assert "Plan: interactions, budget 20,000" in result.stdout
    assert "greedy value/price" in result.stdout and "optimal (HiGHS)" in result.stdout
    with (tmp_path / "p" / "plan.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and sum(float(r["price"]) for r in rows) <= 20000
    videos = sum(r["format"] == "video" for r in rows)
    assert videos >= 0.25 * len(rows)
    book = load_workbook(tmp_path / "p" / "report.xlsx", read_only=True)
    try:
        assert {"方案 Plan", "对比 Greedy", "前沿 Frontier"} <= set(book.sheetnames)
    finally:
        book.close()


def test_plan_refusals_name_what_to_change(demo: tuple[Path, Any], tmp_path: Path) -> None:
    out, _ = demo
    candidates = tmp_path / "candidates.csv"
    ids = _candidates(out, candidates)
    store = str(out / "server" / "pgy.db")
    rules = tmp_path / "rules.toml"
    rules.write_text(f'must_include = ["{ids[0]}", "{ids[1]}"]\n', encoding="utf-8")
    tight = pgy(
        "plan", str(candidates), "--budget", "10", "--rules", str(rules), "--from", store,
        cwd=tmp_path, check=False,
    )  # fmt: skip
    assert tight.returncode == 1 and "must_include" in tight.stderr and "budget" in tight.stderr
    rules.write_text("min_vido_share = 0.9\n", encoding="utf-8")
    typo = pgy(
        "plan", str(candidates), "--budget", "1000", "--rules", str(rules), "--from", store,
        cwd=tmp_path, check=False,
    )  # fmt: skip
    assert typo.returncode == 2 and "min_vido_share" in typo.stderr
    assert "min_video_share" in typo.stderr  # the allowed keys are listed
    objective = pgy(
        "plan", str(candidates), "--budget", "1000", "--objective", "likes", "--from", store,
        cwd=tmp_path, check=False,
    )  # fmt: skip
    assert objective.returncode == 2 and "reads" in objective.stderr
    negative = pgy(
        "plan", str(candidates), "--budget", "-5", "--from", store, cwd=tmp_path, check=False
    )
    assert negative.returncode == 2 and "--budget" in negative.stderr


def test_plan_from_the_store_reads_the_stored_profiles_and_audiences(
    demo: tuple[Path, Any], tmp_path: Path
) -> None:
    out, _ = demo
    candidates = tmp_path / "candidates.csv"
    _candidates(out, candidates)
    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[audience]\ngender = "female"\ngender_min = 0.6\nages = ["18-24", "25-34"]\n'
        "ages_min = 0.5\n",
        encoding="utf-8",
    )
    store = str(out / "server" / "pgy.db")
    result = pgy(
        "plan", str(candidates), "--budget", "20000", "--rules", str(rules), "--from", store,
        "--out", "s", cwd=tmp_path,
    )  # fmt: skip
    assert "creator profiles and audiences from the store" in result.stderr
    assert "audience of the plan (constraint)" in result.stdout
    with (tmp_path / "s" / "plan.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows and {r["price_source"] for r in rows} <= {"file", "profile"}
    total = sum(float(r["value"]) for r in rows)
    assert sum(float(r["value"]) * float(r["audience_gender"]) for r in rows) / total >= 0.6
    export = str(out / "creators.jsonl")  # an export holds no fans profiles
    refused = pgy(
        "plan", str(candidates), "--budget", "20000", "--rules", str(rules), "--from", export,
        cwd=tmp_path, check=False,
    )  # fmt: skip
    assert refused.returncode == 2 and "needs the candidates' fans profiles" in refused.stderr
