"""``pgy fetch --endpoint`` and ``pgy batch --endpoints`` against a real server (sandbox): every
sibling endpoint, tidy exports per endpoint (long tables for fans profile and history, shares
0-1, missing never 0), bad names refused with the allowed values, and a resumed batch that pays
nothing twice."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgy_metrics.contract.endpoints import ENDPOINTS
from pgy_metrics.contract.sibling_rows import SIBLING_TABLES
from tests.integration.servers import ServerProcess, pgy, pgy_env

pytestmark = pytest.mark.integration
USER = "5d21ab6b000000001201567d"
USERS = [USER, *(f"{0x5D21AB6B000000000000000 + i * 7919:024x}" for i in range(4))]


@pytest.fixture(scope="module")
def client_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    folder = tmp_path_factory.mktemp("siblings-cli")
    env = pgy_env(folder / "data")
    token = pgy("token", "create", "--name", "cli", env=env).stdout.strip()
    with ServerProcess(env, folder / "server.log") as server:
        yield {**env, "PGY_TOKEN": token, "PGY_BASE_URL": server.base_url}
    assert token not in server.logs()


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def test_fetch_every_endpoint_as_json_and_table(client_env: dict[str, str]) -> None:
    for name in ENDPOINTS:
        answer = pgy("fetch", USER, "--endpoint", name, "--json", env=client_env)
        envelope = json.loads(answer.stdout)
        assert envelope["code"] == 0 and isinstance(envelope["data"], dict), name
    history = pgy(
        "fetch",
        USER,
        "--endpoint",
        "fans_history",
        "--date-type",
        "DAY_90",
        "--increase-type",
        "FANS_INCREASE",
        "--json",
        env=client_env,
    )
    assert len(json.loads(history.stdout)["data"]["list"]) == 90
    profile = pgy("fetch", USER, "--endpoint", "blogger_profile", env=client_env)
    assert "fans_count" in profile.stdout and "source sandbox" in profile.stderr
    audience = pgy("fetch", USER, "--endpoint", "fans_profile", env=client_env)
    assert "provinces" in audience.stdout and "%" in audience.stdout


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("--endpoint", "fans"), ("--endpoint must be one of", "fans_profile", "notes_rate")),
        (
            ("--endpoint", "fans_profile", "--business", "DAILY_NOTE"),
            ("--business", "fans_profile"),
        ),
        (("--endpoint", "fans_history", "--date-type", "DAY_7"), ("--date-type", "DAY_30, DAY_90")),
        (("--endpoint", "fans_summary", "--scope", "x"), ("--scope", "notes_rate only")),
        (
            (
                "--increase-type",
                "FANS_TOTAL",
            ),
            ("--increase-type", "fans_history only"),
        ),
    ],
)
def test_fetch_refuses_bad_endpoint_options_with_the_allowed_values(
    client_env: dict[str, str], args: tuple[str, ...], fragments: tuple[str, ...]
) -> None:
    bad = pgy("fetch", USER, *args, env=client_env, check=False)
    assert bad.returncode == 2, bad.stderr
    for fragment in fragments:
        assert fragment in bad.stderr
    assert "Traceback" not in bad.stderr


def test_batch_over_several_endpoints_writes_one_tidy_file_each_and_resumes(
    client_env: dict[str, str], tmp_path: Path
) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(USERS) + "\n")
    out = tmp_path / "pool.csv"
    run = pgy(
        "batch",
        str(ids),
        "--endpoints",
        "notes_rate,profile,fans,data_summary.COOPERATE_NOTE",
        "--out",
        str(out),
        env=client_env,
    )
    written = run.stdout.split()
    expected = [out] + [
        tmp_path / f"pool.{name}.csv"
        for name in (
            "blogger_profile",
            "fans_summary",
            "fans_profile",
            "fans_history",
            "data_summary",
        )
    ]
    assert written == [str(path) for path in expected]
    assert "billable calls 30" in run.stderr

    assert len(_csv(out)) == len(USERS)
    profiles = _csv(tmp_path / "pool.blogger_profile.csv")
    assert list(profiles[0]) == list(SIBLING_TABLES["blogger_profile"].columns)
    assert {row["user_id"] for row in profiles} == set(USERS)
    for row in profiles:  # a creator not on the marketplace: empty price, never 0
        assert row["picture_price"] != "0" and row["picture_price"] != "0.0"
        if row["cooper_type"] == "2":
            assert row["picture_price"] == "" and row["lower_price"] == ""
    summaries = _csv(tmp_path / "pool.data_summary.csv")
    assert {row["business"] for row in summaries} == {"COOPERATE_NOTE"}

    audience = _csv(tmp_path / "pool.fans_profile.csv")
    assert list(audience[0]) == list(SIBLING_TABLES["fans_profile"].columns)
    for user in USERS:
        ages = [r for r in audience if r["user_id"] == user and r["dimension"] == "ages"]
        assert [r["bucket"] for r in ages] == ["<18", "18-24", "25-34", "35-44", ">44"]
        assert abs(sum(float(r["share"]) for r in ages) - 1) < 1e-9
    assert all(0 < float(r["share"]) <= 1 for r in audience)

    history = _csv(tmp_path / "pool.fans_history.csv")
    for user in USERS:
        points = [r for r in history if r["user_id"] == user]
        assert len(points) == 30 and {r["date_type"] for r in points} == {"DAY_30"}
        assert {r["increase_type"] for r in points} == {"FANS_TOTAL"}
    fans = {r["user_id"]: r for r in _csv(tmp_path / "pool.fans_summary.csv")}
    last = {
        r["user_id"]: r["num"]
        for r in history
        if r["date_key"] == max(h["date_key"] for h in history)
    }
    assert all(fans[user]["fans_num"] == last[user] for user in USERS)

    again = pgy(
        "batch",
        str(ids),
        "--endpoints",
        "notes_rate,profile,fans,data_summary.COOPERATE_NOTE",
        "--out",
        str(out),
        env=client_env,
    )
    assert "billable calls 0" in again.stderr and "from the checkpoint 30" in again.stderr
    assert _csv(tmp_path / "pool.fans_profile.csv") == audience


def test_batch_budget_and_jsonl_for_siblings(client_env: dict[str, str], tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(USERS) + "\n")
    out = tmp_path / "pool.jsonl"
    capped = pgy(
        "batch",
        str(ids),
        "--endpoints",
        "siblings",
        "--out",
        str(out),
        "--budget",
        "7",
        env=client_env,
        check=False,
    )
    assert capped.returncode == 1 and "billable calls 7" in capped.stderr
    assert "budget reached" in capped.stderr
    lines = [
        json.loads(line)
        for path in capped.stdout.split()
        for line in Path(path).read_text().splitlines()
    ]
    assert len(lines) == 7
    assert all(line["envelope"]["code"] == 0 and line["endpoint"] in ENDPOINTS for line in lines)


@pytest.mark.parametrize(
    ("endpoints", "fragment"),
    [
        ("fans,nope", "one of notes_rate, blogger_profile"),
        ("fans_history.DAY_7", "DAY_30, DAY_90"),
        ("fans_profile.X", "fans_profile takes no parameters"),
    ],
)
def test_batch_refuses_bad_endpoints_before_reading_the_file(
    client_env: dict[str, str], tmp_path: Path, endpoints: str, fragment: str
) -> None:
    bad = pgy(
        "batch",
        str(tmp_path / "missing.txt"),
        "--endpoints",
        endpoints,
        env=client_env,
        check=False,
    )
    assert bad.returncode == 2 and fragment in bad.stderr, bad.stderr
    assert "Traceback" not in bad.stderr
