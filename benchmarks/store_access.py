"""Benchmark: the store's hot path on SQLite, this tree vs another git revision, in one run.

What a request costs the store: ``reserve`` + ``capture`` (a fresh answer: two writes),
``charge`` (a cached answer: one write), ``snapshots.add`` and ``snapshots.latest`` (a miss of
the in-memory cache: one write, one read), ``tokens.by_hash`` (a token look-up after the cache
expired). Each is timed one at a time (latency: median per operation) and, for the money
writes, with 64 requests in flight (throughput: operations per second; group commit shows here).

The baseline is another revision's ``src`` (``--baseline main`` by default), exported with
``git archive`` into a temporary folder; each side runs in its own worker process (this script
with ``--worker``, ``PYTHONPATH`` pointing at its ``src``), in alternating rounds (baseline,
this, baseline, this, ...) so drift of the machine hits both; figures are medians of the rounds.
The worker speaks both store APIs (snapshots keyed by ``Scope`` before 0004, by endpoint +
``params_key`` after).

Usage::

    uv run python benchmarks/store_access.py [--baseline main] [--rounds 3] [--ops 400]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
USER = "5d21ab6b000000001201567d"
CONCURRENCY = 64
METRICS = (
    ("reserve_capture_us", "reserve + capture, one at a time (µs)", "lower"),
    ("charge_us", "charge (cached answer), one at a time (µs)", "lower"),
    ("reserve_capture_per_s", f"reserve + capture, {CONCURRENCY} in flight (/s)", "higher"),
    ("charge_per_s", f"charge, {CONCURRENCY} in flight (/s)", "higher"),
    ("snapshot_add_us", "snapshots.add (µs)", "lower"),
    ("snapshot_latest_us", "snapshots.latest (µs)", "lower"),
    ("token_by_hash_us", "tokens.by_hash (µs)", "lower"),
)


# -- the worker: runs inside one tree --------------------------------------------------------


async def _latency(ops: int, fn: Callable[[int], Awaitable[Any]]) -> float:
    samples = []
    for index in range(ops):
        started = time.perf_counter()
        await fn(index)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1e6


async def _throughput(ops: int, fn: Callable[[int], Awaitable[Any]]) -> float:
    queue = iter(range(ops))

    async def lane() -> None:
        for index in queue:
            await fn(index)

    started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(CONCURRENCY)))
    return ops / (time.perf_counter() - started)


async def measure(ops: int) -> dict[str, float]:
    from pgy_metrics.contract import Scope
    from pgy_metrics.store import Snapshot, Store
    from pgy_metrics.store.money import Charge, Reservation
    from pgy_metrics.store.tokens import BillingPlan

    keyed_by_endpoint = "endpoint" in getattr(Snapshot, "__dataclass_fields__", {})
    scope = Scope()
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="pgy-store-bench-") as tmp:
        store = Store(f"sqlite+aiosqlite:///{tmp}/store.sqlite3")
        await store.migrate()
        try:
            token = await store.tokens.add(
                name="bench",
                token_hash="0" * 64,
                is_admin=False,
                created_at=now,
                plan=BillingPlan(daily_quota=10**12, balance=0),
            )
            await store.ledger.topup(token_id=token.id, credits=10**15, at=now)
            counter = iter(range(10**9))

            def charge(request_id: str, cached: bool) -> Any:
                return Charge(
                    request_id,
                    token.id,
                    1,
                    "2026-11-27",
                    "notes_rate",
                    USER,
                    scope.key,
                    cached,
                    now,
                )

            async def reserve_capture(_: int) -> None:
                request_id = f"r{next(counter)}"
                held = await store.ledger.reserve(
                    request_id=request_id,
                    token_id=token.id,
                    day="2026-11-27",
                    price=1,
                    metered=True,
                    daily_quota=10**12,
                    at=now,
                )
                assert isinstance(held, Reservation)
                assert await store.ledger.capture(
                    charge(request_id, False), metered=True, reserved=True
                )

            async def charge_cached(_: int) -> None:
                refused = await store.ledger.charge(
                    charge(f"c{next(counter)}", True), metered=True, daily_quota=10**12
                )
                assert refused is None

            def snapshot(index: int) -> Any:
                if keyed_by_endpoint:
                    return Snapshot(
                        "notes_rate", USER, scope.key, now, "sandbox", f'{{"n":{index}}}'
                    )
                return Snapshot(USER, scope, now, "sandbox", f'{{"n":{index}}}')

            async def add(index: int) -> None:
                await store.snapshots.add(snapshot(index))

            async def latest(_: int) -> None:
                if keyed_by_endpoint:
                    found = await store.snapshots.latest("notes_rate", USER, scope.key)
                else:
                    found = await store.snapshots.latest(USER, scope)
                assert found is not None

            async def by_hash(_: int) -> None:
                assert await store.tokens.by_hash("0" * 64) is not None

            for warm in (reserve_capture, charge_cached, add, latest, by_hash):
                await _latency(20, warm)
            return {
                "reserve_capture_us": await _latency(ops, reserve_capture),
                "charge_us": await _latency(ops, charge_cached),
                "reserve_capture_per_s": await _throughput(ops * 5, reserve_capture),
                "charge_per_s": await _throughput(ops * 5, charge_cached),
                "snapshot_add_us": await _latency(ops, add),
                "snapshot_latest_us": await _latency(ops, latest),
                "token_by_hash_us": await _latency(ops, by_hash),
            }
        finally:
            await store.aclose()


# -- the driver ------------------------------------------------------------------------------


def export(revision: str, into: Path) -> Path:
    """``src`` of ``revision`` (git archive), unpacked under ``into``."""
    archive = subprocess.run(
        ["git", "archive", "--format=tar", revision, "src"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into / "src"


def run_worker(src: Path, ops: int) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(src))
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", "--ops", str(ops)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if result.returncode != 0:
        raise SystemExit(f"the worker on {src} failed:\n{result.stderr}")
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default="main", help="git revision to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ops", type=int, default=400, help="operations per latency figure")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(asyncio.run(measure(args.ops))))
        return 0
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    sides: dict[str, list[dict[str, float]]] = {args.baseline: [], "this tree": []}
    with tempfile.TemporaryDirectory(prefix="pgy-store-baseline-") as tmp:
        trees = {args.baseline: export(args.baseline, Path(tmp)), "this tree": ROOT / "src"}
        for number in range(1, args.rounds + 1):
            for side, src in trees.items():
                sides[side].append(run_worker(src, args.ops))
                print(f"round {number}/{args.rounds}: {side} done", file=sys.stderr)
    print(
        f"store_access: SQLite, {platform.machine()} {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {args.rounds} rounds (medians), {args.ops} ops per latency, "
        f"this tree at {head} (+ working changes) vs {args.baseline}"
    )
    width = max(len(label) for _, label, _ in METRICS)
    print(f"{'':{width}}  {args.baseline:>12}  {'this tree':>12}  {'change':>8}")
    for key, label, better in METRICS:
        before = statistics.median(r[key] for r in sides[args.baseline])
        after = statistics.median(r[key] for r in sides["this tree"])
        change = after / before - 1
        print(
            f"{label:{width}}  {before:12,.1f}  {after:12,.1f}  {change:+8.0%}  "
            f"({better} is better)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
