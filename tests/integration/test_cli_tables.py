"""The tables of ``pgy fetch`` and ``pgy plan`` as a user reads them: 80 columns, piped.

Real processes: a ``pgy serve`` on loopback (sandbox source), ``pgy batch`` to collect a pool,
then ``pgy fetch`` and ``pgy plan`` with stdout captured through a pipe, which Rich lays out at
``$COLUMNS`` or, without it, 80 columns. A line is measured in terminal cells (a Chinese
character takes two), and no cell may have been cut short with an ellipsis.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from rich.cells import cell_len

from tests.integration.servers import ServerProcess, pgy, pgy_env

pytestmark = pytest.mark.integration

CREATORS = 12
BUDGET = "20000"
NARROW = 80
SCOPE = "DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_90.ALL"


@dataclass(frozen=True)
class Pool:
    env: dict[str, str]
    """A client's environment: token and base URL of the running server."""
    ids: list[str]
    pool: Path
    candidates: Path
    work: Path


@pytest.fixture(scope="module")
def pool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pool]:
    work = tmp_path_factory.mktemp("tables")
    env = pgy_env(work / "data")
    token = pgy("token", "create", "--name", "tables", env=env).stdout.strip()
    ids = [hashlib.blake2b(f"t{i}".encode(), digest_size=12).hexdigest() for i in range(CREATORS)]
    (work / "ids.txt").write_text("\n".join(ids) + "\n", encoding="utf-8")
    rows = ["user_id,price_photo,price_video"]
    rows += [f"{user},{1200 + 350 * i}.5,{2400 + 500 * i}" for i, user in enumerate(ids)]
    candidates = work / "candidates.csv"
    candidates.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with ServerProcess(env, work / "server.log") as server:
        client = {**env, "PGY_TOKEN": token, "PGY_BASE_URL": server.base_url}
        out = work / "pool.jsonl"
        pgy("batch", str(work / "ids.txt"), "--scopes", "analysis", "--out", str(out), env=client)
        yield Pool(client, ids, out, candidates, work)


def _columns(env: dict[str, str], columns: str | None) -> dict[str, str]:
    """The environment with ``$COLUMNS`` set, or without it (a pipe is then 80 columns)."""
    narrowed = {k: v for k, v in env.items() if k != "COLUMNS"}
    return narrowed if columns is None else {**narrowed, "COLUMNS": columns}


def _assert_readable(text: str, *, width: int | None = NARROW) -> None:
    assert "…" not in text, text
    if width is not None:
        too_long = [line for line in text.splitlines() if cell_len(line) > width]
        assert too_long == [], "\n".join(too_long)


def _row(text: str, metric: str) -> str:
    """The value cell of ``metric`` in a fetch table."""
    for line in text.splitlines():
        parts = line.split()
        if parts and parts[0] == metric:
            return parts[1]
    raise AssertionError(f"no row {metric} in:\n{text}")


@pytest.mark.parametrize("columns", ["80", None])
def test_fetch_table_fits_80_columns_with_the_site_precision(
    pool: Pool, columns: str | None
) -> None:
    env = _columns(pool.env, columns)
    user = pool.ids[0]
    answer = json.loads(pgy("fetch", user, "--scope", SCOPE, "--json", env=env).stdout)
    data = answer["data"]
    assert data["noteNumber"] > 0, "pick a creator with notes in this scope"
    table = pgy("fetch", user, "--scope", SCOPE, env=env).stdout
    _assert_readable(table)
    assert _row(table, "read_median") == f"{data['readMedian']:,}"
    assert _row(table, "imp_median") == f"{data['impMedian']:,}"
    assert _row(table, "interaction_rate") == f"{data['interactionRate']}%"
    assert _row(table, "read_median_beyond_rate") == f"{data['readMedianBeyondRate']}%"
    other = data["pagePercentVo"]["impOtherPercent"]
    assert _row(table, "imp_other_percent") == f"{other:.1%}"
    assert "中文" not in table  # the Chinese labels are the --wide column


def test_fetch_wide_adds_the_chinese_labels(pool: Pool) -> None:
    env = _columns(pool.env, "80")
    table = pgy("fetch", pool.ids[0], "--scope", SCOPE, "--wide", env=env).stdout
    _assert_readable(table, width=None)
    line = next(line for line in table.splitlines() if line.startswith("read_median "))
    assert "阅读中位数" in line
    assert max(cell_len(line) for line in table.splitlines()) > NARROW  # not squeezed into 80


def _plan(pool: Pool, *extra: str, columns: str | None = "80") -> tuple[str, list[dict[str, str]]]:
    out = pool.work / f"plan{len(extra)}{columns}"
    result = pgy(
        "plan", str(pool.candidates), "--budget", BUDGET, "--from", str(pool.pool),
        "--out", str(out), *extra, env=_columns(pool.env, columns),
    )  # fmt: skip
    with (out / "plan.csv").open(encoding="utf-8") as handle:
        return result.stdout, list(csv.DictReader(handle))


@pytest.mark.parametrize("columns", ["80", None])
def test_plan_table_fits_80_columns_with_whole_ids_and_money(
    pool: Pool, columns: str | None
) -> None:
    stdout, booked = _plan(pool, columns=columns)
    _assert_readable(stdout)
    assert booked
    lines = stdout.splitlines()
    for row in booked:
        line = next(line for line in lines if line.startswith(row["user_id"] + " "))
        assert f"{float(row['price']):,.2f}" in line  # money: 2 decimals
        assert f"{float(row['value']):,.0f}" in line  # an expected count: an integer
    assert f"budget {float(BUDGET):,.2f}" in stdout
    assert re.search(r"improvement of the optimum over greedy: [+-]\d+\.\d%", stdout), stdout
    assert "content_tag" not in stdout and "basis" not in stdout  # --wide columns


def test_plan_wide_shows_every_column(pool: Pool) -> None:
    stdout, booked = _plan(pool, "--wide")
    _assert_readable(stdout, width=None)
    header = "\n".join(stdout.splitlines()[:4])
    for name in (
        "user_id",
        "format",
        "tier",
        "content_tag",
        "price",
        "robust",
        "per 1,000",
        "basis",
    ):
        assert name in header, header
    first = next(line for line in stdout.splitlines() if line.startswith(booked[0]["user_id"]))
    assert re.search(r"(daily|sponsored) \d+d", first), first
