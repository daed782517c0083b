"""Exports say where each answer came from, and reports label themselves by it, end to end: a real
``pgy serve`` on the sandbox, ``pgy batch`` to JSONL and CSV, ``pgy report`` and ``pgy plan``
from those files (labelled synthetic), and from the same files without the source (unknown,
never "no")."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from pgy_metrics.analytics.reports import SYNTHETIC_NOTICE, UNKNOWN_SOURCE_NOTICE
from pgy_metrics.store.tokens import BillingPlan
from tests.integration.servers import ServerProcess, pgy, pgy_env
from tests.integration.test_money import issue

pytestmark = pytest.mark.integration
CREATORS = [f"5d21ab6b{index:016x}" for index in range(1, 13)]


def overview(path: Path) -> tuple[list[str], dict[str, object]]:
    """Each sheet's first cell, and the overview sheet's English label -> value."""
    book = load_workbook(path, read_only=True)
    try:
        first_cells = [str(next(sheet.iter_rows(max_row=1, values_only=True))[0]) for sheet in book]
        rows = list(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()
    return first_cells, {str(row[1]): row[2] for row in rows if row and row[1] is not None}


def without_source_jsonl(path: Path, target: Path) -> Path:
    """The same pool as a JSONL written before exports recorded the source."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        del record["source"]
        lines.append(json.dumps(record, ensure_ascii=False))
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def without_source_csv(path: Path, target: Path) -> Path:
    """The same pool as a tidy CSV without the ``source`` column (an older export)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = [column for column in rows[0] if column != "source"]
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return target


def test_sandbox_exports_make_synthetic_reports_and_files_without_a_source_say_unknown(
    tmp_path: Path,
) -> None:
    env = pgy_env(tmp_path / "data")
    token = asyncio.run(issue(env, "analyst", BillingPlan(balance=1000)))
    creators = tmp_path / "creators.csv"
    creators.write_text("userId\n" + "\n".join(CREATORS) + "\n", encoding="utf-8")
    jsonl, tidy = tmp_path / "pool.jsonl", tmp_path / "pool.csv"
    with ServerProcess(env, tmp_path / "server.log") as server:
        client_env = {**env, "PGY_TOKEN": token, "PGY_BASE_URL": server.base_url}
        for out in (jsonl, tidy, tidy):  # the third run answers from the CSV's checkpoint
            ran = pgy(
                "batch", str(creators), "--scopes", "analysis", "--out", str(out), env=client_env
            )
        assert "from the checkpoint 96" in ran.stderr
    records = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 96 and {record["source"] for record in records} == {"sandbox"}
    with tidy.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 96 and {row["source"] for row in rows} == {"sandbox"}

    report_env = pgy_env(tmp_path / "no-server-data")
    for name, pool in (("from-jsonl", jsonl), ("from-csv", tidy)):
        result = pgy("report", "--from", str(pool), "--out", str(tmp_path / name), env=report_env)
        assert "synthetic data (sandbox source)" in result.stdout
        first_cells, values = overview(tmp_path / name / "report.xlsx")
        assert all(cell == SYNTHETIC_NOTICE for cell in first_cells), name
        assert values["Synthetic data"] == "是 yes"
        html = (tmp_path / name / "report.html").read_text(encoding="utf-8")
        assert 'class="synthetic-banner"' in html and "[合成数据 SYNTHETIC]" in html

    candidates = tmp_path / "candidates.csv"
    candidates.write_text(
        "user_id,price_photo,price_video\n"
        + "".join(f"{user},{1000 + 100 * n},{1500 + 100 * n}\n" for n, user in enumerate(CREATORS)),
        encoding="utf-8",
    )
    plan = pgy(
        "plan", str(candidates), "--budget", "6000", "--from", str(jsonl),
        "--out", str(tmp_path / "plan"), env=report_env,
    )  # fmt: skip
    assert "synthetic data (sandbox source)" in plan.stdout
    assert overview(tmp_path / "plan" / "report.xlsx")[1]["Synthetic data"] == "是 yes"

    older = [
        without_source_jsonl(jsonl, tmp_path / "older.jsonl"),
        without_source_csv(tidy, tmp_path / "older.csv"),
    ]
    for pool in older:
        out = tmp_path / f"unknown-{pool.suffix[1:]}"
        result = pgy("report", "--from", str(pool), "--out", str(out), env=report_env)
        assert "source unknown" in result.stdout and "synthetic data" not in result.stdout
        first_cells, values = overview(out / "report.xlsx")
        assert values["Synthetic data"] == "未知 unknown"  # never "否 no"
        assert values["Notice"] == UNKNOWN_SOURCE_NOTICE
        assert SYNTHETIC_NOTICE not in first_cells
        html = (out / "report.html").read_text(encoding="utf-8")
        assert "<dd>未知 unknown</dd>" in html and "否 no" not in html
        assert "synthetic-banner" not in html.split("</style>", 1)[1]
    plan = pgy(
        "plan", str(candidates), "--budget", "6000", "--from", str(older[0]),
        "--out", str(tmp_path / "plan-unknown"), env=report_env,
    )  # fmt: skip
    assert "source unknown" in plan.stdout
    assert (
        overview(tmp_path / "plan-unknown" / "report.xlsx")[1]["Synthetic data"] == "未知 unknown"
    )
    forced = pgy(
        "report", "--from", str(older[0]), "--out", str(tmp_path / "forced"), "--synthetic",
        env=report_env,
    )  # fmt: skip
    assert forced.returncode == 0
    assert overview(tmp_path / "forced" / "report.xlsx")[0][0] == SYNTHETIC_NOTICE
