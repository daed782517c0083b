"""Benchmark: cached hits with every policy on vs the same server with policies off.

The claim under test is that enforcing a paying plan (rate limit, daily quota, prepaid balance
with a reservation before the answer and a capture after it) costs little next to answering.
Both targets are the same ``pgy serve`` (SQLite, sandbox source, default settings) on the same
data directory, asked for the same cached creator; they differ only in the token:

- ``off``: a token without a plan (no rate limit, no quota, no balance). Each success still
  writes its ledger row and counts the call, because that is bookkeeping, not a policy.
- ``on``: a token with a rate limit (checked on every call, set high enough never to refuse),
  a daily quota and a balance (both large enough never to refuse), so every call takes the full
  path: rate-limit hit, quota slot and price reserved, capture in one transaction.

Rounds alternate off/on with a new server process each, the load generator of
``serve_cached.py`` on the other CPU; the figures are medians of the rounds.

Usage::

    uv run python benchmarks/policy_overhead.py [--seconds 8] [--warmup 2] [--connections 64]
                                                [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import serve_cached as bench
from pgy_metrics.cli.common import load_settings, open_issuer
from pgy_metrics.store.tokens import BillingPlan

TARGET_RATIO = 0.6
"""The issue's target on SQLite: policies-on throughput at least 0.6 of policies-off."""
PLANS = {
    "off": BillingPlan(),
    "on": BillingPlan(rate_limit="1000000/second", daily_quota=10**12, balance=10**15),
}
LABELS = {"off": "policies off", "on": "policies on"}


async def issue_tokens(data_dir: Path) -> dict[str, str]:
    async with open_issuer(load_settings(data_dir=data_dir)) as issuer:
        return {
            name: (await issuer.create(f"bench-{name}", plan=plan)).token
            for name, plan in PLANS.items()
        }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    placement = bench.choose_placement()
    processes = bench.Processes()
    rounds: list[bench.Round] = []
    with bench.stop_on_signals(), tempfile.TemporaryDirectory(prefix="pgy-policy-") as tmp:
        work = Path(tmp)
        env = bench.pgy_env(work / "data")
        tokens = asyncio.run(issue_tokens(work / "data"))
        try:
            for number in range(1, args.rounds + 1):
                for name in PLANS:
                    print(f"round {number}/{args.rounds}: {name} ...", file=sys.stderr, flush=True)
                    rounds.append(
                        bench.run_round(
                            processes,
                            target_name=name,
                            number=number,
                            argv_for=bench.full_stack_argv,
                            request_target=bench.notes_rate_target(tokens[name]),
                            env=env,
                            work=work,
                            placement=placement,
                            args=args,
                        )
                    )
        except bench.BenchmarkError as error:
            print(f"benchmark failed: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted: servers stopped, no figures", file=sys.stderr)
            return 130
        finally:
            processes.stop_all()
    print(report(rounds, args=args, placement=placement))
    return 1 if any(r.result["errors"] for r in rounds) else 0


def report(
    rounds: list[bench.Round], *, args: argparse.Namespace, placement: bench.Placement
) -> str:
    lines = [
        "Cached hits through pgy serve (SQLite): policies on vs off, same server, same run",
        *bench.machine_info(placement),
        f"load: {args.connections} keep-alive connections, {args.warmup:g} s warm-up + "
        f"{args.seconds:g} s measured, {args.rounds} rounds alternating off/on",
        "",
        "round  target  req/s     p50 ms  p99 ms  server CPU  errors",
    ]
    for r in rounds:
        res = r.result
        cpu = res["server_cpu"]
        lines.append(
            f"{r.number:<5}  {r.target:<6}  {res['rps']:>8,.0f}  {res['latency_ms']['p50']:>6.2f}"
            f"  {res['latency_ms']['p99']:>6.2f}  {'n/a' if cpu is None else f'{cpu:.2f}':>10}"
            f"  {res['errors']:>6}"
        )
    medians = {
        name: {
            "rps": bench.median_of([r for r in rounds if r.target == name], lambda x: x["rps"]),
            "p50": bench.median_of(
                [r for r in rounds if r.target == name], lambda x: x["latency_ms"]["p50"]
            ),
            "p99": bench.median_of(
                [r for r in rounds if r.target == name], lambda x: x["latency_ms"]["p99"]
            ),
        }
        for name in PLANS
    }
    ratio = medians["on"]["rps"] / medians["off"]["rps"]
    lines += [
        "",
        f"medians of {args.rounds} rounds:",
        "",
        "| target        |    req/s | p50 ms | p99 ms |",
        "|---------------|---------:|-------:|-------:|",
    ]
    for name in PLANS:
        m = medians[name]
        lines.append(
            f"| {LABELS[name]:<13} | {m['rps']:>8,.0f} | {m['p50']:>6.2f} | {m['p99']:>6.2f} |"
        )
    lines += [
        f"| {'on / off':<13} | {ratio:>8.2f} | "
        f"{medians['on']['p50'] / medians['off']['p50']:>6.2f} | "
        f"{medians['on']['p99'] / medians['off']['p99']:>6.2f} |",
        "",
        f"throughput ratio on/off: {ratio:.2f}",
        f"ratio >= {TARGET_RATIO}: {'yes' if ratio >= TARGET_RATIO else 'no'}",
    ]
    errors = sum(r.result["errors"] for r in rounds)
    if errors:
        lines.append(f"ERRORS: {errors} failed request(s); these figures are not valid")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per run")
    parser.add_argument("--connections", type=int, default=64, help="concurrent connections")
    parser.add_argument("--rounds", type=int, default=3, help="runs per target, alternating")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.warmup < 0 or args.connections < 1 or args.rounds < 1:
        parser.error("--seconds > 0, --warmup >= 0, --connections >= 1, --rounds >= 1")
    return args


if __name__ == "__main__":
    sys.exit(main())
