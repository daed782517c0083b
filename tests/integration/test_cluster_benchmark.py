"""``benchmarks/cluster_collection.py`` runs end to end on the machine's PostgreSQL and Redis with
a tiny cluster (one account, one worker, one queue server, a few seconds), prints figures that
parse, and leaves nothing behind. Its rates are not asserted: they depend on the machine; what
must hold whatever the load is asserted (every ask code 0, no duplicate call, the clean-up)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.integration.servers import pgy_env

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "cluster_collection.py"


def figure(output: str, pattern: str) -> re.Match[str]:
    found = re.search(pattern, output, re.MULTILINE)
    assert found, f"{pattern!r} not in the output:\n{output}"
    return found


async def redis_keys(url: str, prefix: str) -> list[str]:
    import coredis

    client = coredis.Redis.from_url(url, decode_responses=True)
    return [key async for key in client.scan_iter(match=f"{prefix}:*")]


def test_the_benchmark_runs_a_tiny_cluster_and_cleans_up(
    tmp_path: Path, postgres_server_url: str, redis_url: str
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            *("--accounts", "1", "--rate", "2", "--workers", "1", "--servers", "1"),
            *("--seconds", "3", "--warmup", "1", "--askers", "3", "--latency-samples", "2"),
            *("--postgres", postgres_server_url, "--redis", redis_url),
        ],
        env=pgy_env(tmp_path / "unused"),  # no PGY_* of the caller's
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout
    assert result.returncode in (0, 1), result.stderr[-3000:]  # 2 would be a failed set-up
    share = float(figure(output, r"achieved rate / \(M x r\) \| [\d.]+ / 2 = \*\*([\d.]+)\*\*")[1])
    assert share >= 0
    over = int(figure(output, r"over-pace windows \(any account, whole run\) \| \*\*(\d+)\*\*")[1])
    assert over >= 0
    duplicates = figure(output, r"duplicate calls \(same key twice\) \| \*\*(\d+)\*\* of (\d+)")
    assert int(duplicates[1]) == 0
    assert int(duplicates[2]) > 4  # the latency phase alone makes 4 calls
    assert figure(output, r"asks not code 0 \| (\d+) of")[1] == "0"
    ratio = figure(output, r"queued / inline p50 \| \*\*([\d.]+)\*\* \(\+?(-?\d+) ms\)")
    assert float(ratio[1]) > 0
    assert figure(output, r"^targets met: (yes|NO: .+)$")
    assert (result.returncode == 0) == (figure(output, r"^targets met: (\S+)")[1] == "yes")
    # Nothing left behind: the run's database and Redis keys are gone.
    cleaned = figure(output, r"^clean-up: database (\w+) dropped, \d+ Redis keys (\S+):\* deleted")
    with psycopg.connect(postgres_server_url) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_database WHERE datname = %s", (cleaned[1],)
        ).fetchone()
    assert row == (0,)
    assert asyncio.run(redis_keys(redis_url, cleaned[2])) == []


def test_bad_options_are_refused_naming_them(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--accounts", "0", "--rate", "-1"],
        env=pgy_env(tmp_path / "unused"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--accounts must be at least 1; got 0" in result.stderr
    assert "--rate must be above 0 and at most 100; got -1" in result.stderr
    assert "Traceback" not in result.stderr
