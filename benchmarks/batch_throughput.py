"""Benchmark: ``Client.batch`` vs a sequential loop with a fixed sleep, against a slow upstream.

The claim under test (issue 5, item 8): against an upstream that takes 200 ms per answer and
allows 20 requests per second, our batch reaches at least 95 % of the allowed rate with zero 302s,
and memory stays flat for a 100,000-line input.

The upstream (``slow_upstream.py``) runs under uvicorn in its own process on 127.0.0.1, pinned to
one CPU; this script runs on the other. Its limit is exact (a rolling 1 s window per token), so
every request above it is answered 302 with ``Retry-After`` and counted by the upstream itself.
Each part of the run uses its own token, so the parts cannot eat each other's window.

1. **Batch.** ``Client.batch`` as ``pgy batch`` calls it (the blocking client, a SQLite
   checkpoint), over ``--fetches`` distinct creator ids x 1 scope, with ``rate`` = the allowed
   rate and ``concurrency`` enough to cover the latency (20/s x 0.2 s = 4 calls in flight).
2. **Baseline**, in the same run: how public scripts do it: a sequential loop with plain httpx
   (one kept-alive connection) and ``time.sleep(1 / rate)`` after each request, over the first
   ``--baseline-sample`` ids of the same list (the whole list would take ~8 minutes at its rate).
   Its rate is in fetches per second, so it compares with the batch's whatever the sample size.
3. **Memory.** For each input size, a fresh process writes nothing but reads a generated text file
   of that many lines with ``read_user_ids`` and runs ``Client.batch`` over all of its ids (with a
   checkpoint, as ``pgy batch`` does) with ``max_billable_calls`` small: the first calls are really
   fetched, every further item passes through the whole scheduler (dedup, checkpoint look-up,
   budget) and comes out as ``BudgetReached``, so all 100,000 items are scheduled without 100,000
   upstream calls. It reports its resident memory after imports, after reading, while iterating
   (at 10 % and 100 % of the items) and its peak (``ru_maxrss``).

Usage::

    uv run python benchmarks/batch_throughput.py [--fetches 2000] [--baseline-sample 200]
        [--concurrency 8] [--memory-lines 10000,100000] [--memory-budget 20]

Takes about 3 minutes. Exits 1 if a fetch failed (the figures then measure the wrong thing), 2 if
the upstream could not be set up, 130 on Ctrl-C; in every case it stops the upstream first. The
targets (>= 95 % of the allowed rate, zero 302s) are reported, not enforced.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import serve_cached as bench
from pgy_metrics.client import Client
from pgy_metrics.client.inputs import iter_user_ids
from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import NOTES_RATE_PATH
from pgy_metrics.contract.params import Scope

HERE = Path(__file__).resolve().parent
HOST = bench.HOST
LATENCY = 0.2
"""Seconds the upstream takes per answer (the issue's figure)."""
ALLOWED_RATE = 20
"""Requests per second the upstream allows per token (the issue's figure)."""
TARGET_SHARE = 0.95
"""The issue's target: the batch reaches at least this share of the allowed rate."""
DEFAULT_CONCURRENCY = 8
"""``pgy batch``'s default; twice the 4 calls in flight that 20/s x 0.2 s needs."""
STARTUP_SECONDS = 30.0
MEMORY_PROBE_SECONDS = 180.0
FIRST_ID = 0x5D21AB6B0000000000000000
"""Generated creator ids count up from here: distinct, valid (24 lowercase hex characters)."""
MIB = 1024 * 1024


@dataclass
class Throughput:
    label: str
    fetches: int
    ok: int
    failed: int
    seconds: float
    server: dict[str, Any]
    retries: int | None = None
    failed_by_code: dict[str, int] | None = None

    @property
    def rate(self) -> float:
        return self.ok / self.seconds

    @property
    def rate_limited(self) -> int:
        return int(self.server["answers"].get(str(int(BusinessCode.RATE_LIMITED)), 0))


def creator_ids(count: int) -> list[str]:
    return [f"{FIRST_ID + n:024x}" for n in range(count)]


def upstream_stats(base_url: str, token: str) -> dict[str, Any]:
    response = httpx.get(f"{base_url}/_stats", params={"token": token}, timeout=10)
    response.raise_for_status()
    stats: dict[str, Any] = response.json()
    return stats


def start_upstream(
    processes: bench.Processes, *, work: Path, cpus: set[int] | None, rate: int
) -> str:
    port = bench.free_port()
    log = work / "upstream.log"
    argv = [
        sys.executable,
        str(HERE / "slow_upstream.py"),
        "--port",
        str(port),
        "--latency",
        str(LATENCY),
        "--rate",
        str(rate),
    ]
    process = processes.start(argv, env=dict(os.environ), log=log, cpus=cpus)
    base_url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            upstream_stats(base_url, "startup")
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise bench.BenchmarkError(
                    f"the upstream did not come up:\n{bench.tail(log)}"
                ) from None
            time.sleep(0.1)
        else:
            return base_url


def run_batch(
    base_url: str, ids: list[str], *, rate: float, concurrency: int, checkpoint: Path
) -> Throughput:
    token = "batch-benchmark"
    ok = failed = retries = 0
    with Client(token=token, base_url=base_url) as client:
        run = client.batch(
            ids, scopes=(Scope(),), concurrency=concurrency, rate=rate, checkpoint=checkpoint
        )
        with run:
            started = time.perf_counter()
            for item in run:
                if item.result is not None:
                    ok += 1
                    retries += item.result.retries_taken
                else:
                    failed += 1
            seconds = time.perf_counter() - started
        failed_by_code = {
            str(code) if code is not None else "transport": n
            for code, n in run.stats.failed_by_code.items()
        }
    return Throughput(
        label=f"client.batch (rate={rate:g}, concurrency={concurrency})",
        fetches=len(ids),
        ok=ok,
        failed=failed,
        seconds=seconds,
        server=upstream_stats(base_url, token),
        retries=retries,
        failed_by_code=failed_by_code,
    )


def run_baseline(base_url: str, ids: list[str], *, rate: float) -> Throughput:
    """The public-script way: one request after another, a fixed sleep after each."""
    token = "baseline-benchmark"
    ok = failed = 0
    with httpx.Client(timeout=60) as http:
        started = time.perf_counter()
        for user_id in ids:
            params = {"token": token, "userId": user_id, **Scope().api_params()}
            body = http.get(base_url + NOTES_RATE_PATH, params=params).json()
            if body.get("code") == 0:
                ok += 1
            else:
                failed += 1
            time.sleep(1 / rate)
        seconds = time.perf_counter() - started
    return Throughput(
        label=f"sequential + sleep(1/{rate:g}), first {len(ids)} ids",
        fetches=len(ids),
        ok=ok,
        failed=failed,
        seconds=seconds,
        server=upstream_stats(base_url, token),
    )


# --- memory ---------------------------------------------------------------------------------------


def current_rss() -> int:
    """Resident bytes now (Linux ``/proc``; elsewhere the peak so far)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return peak_rss()
    return pages * os.sysconf("SC_PAGE_SIZE")


def peak_rss() -> int:
    """This process's peak resident bytes.

    On Linux ``VmHWM`` of ``/proc/self/status``: the high-water mark of this program's own
    memory. Not ``ru_maxrss``: that one folds in the parent's size at the ``exec`` of a child
    started by ``subprocess`` (vfork), so it reported the benchmark's own 100,000-id list as the
    probe's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    scale = 1 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB on Linux
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def memory_probe(args: argparse.Namespace) -> int:
    """Child mode: stream the file as ``pgy batch`` does (a counting pass, then the ids straight
    into the batch), batch over all of it, print resident memory as JSON."""
    after_imports = current_rss()
    started = time.perf_counter()
    entries = Counter(type(entry) for entry in iter_user_ids(args.memory_probe))
    after_read = current_rss()
    total = entries[str]
    marks = {max(1, total // 10): "at_10pct", total: "at_100pct"}
    samples: dict[str, int] = {}
    fetched = refused = 0
    with Client(token=args.token, base_url=args.base_url) as client:
        ids = (entry for entry in iter_user_ids(args.memory_probe) if isinstance(entry, str))
        run = client.batch(
            ids,
            scopes=(Scope(),),
            concurrency=args.concurrency,
            rate=ALLOWED_RATE,
            max_billable_calls=args.memory_budget,
            checkpoint=Path(args.memory_probe).with_suffix(".checkpoint"),
        )
        with run:
            for n, item in enumerate(run, start=1):
                if item.ok:
                    fetched += 1
                else:
                    refused += 1
                if n in marks:
                    samples[marks[n]] = current_rss()
    result = {
        "lines": sum(entries.values()),
        "ids": total,
        "file_bytes": Path(args.memory_probe).stat().st_size,
        "fetched": fetched,
        "not_sent": refused,
        "after_imports": after_imports,
        "after_read": after_read,
        **samples,
        "peak": peak_rss(),
        "seconds": time.perf_counter() - started,
    }
    print(json.dumps(result))
    return 0


def run_memory(
    base_url: str, lines: int, *, work: Path, budget: int, concurrency: int
) -> dict[str, Any]:
    path = work / f"creators-{lines}.txt"
    path.write_text("".join(f"{user_id}\n" for user_id in creator_ids(lines)))
    argv = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--memory-probe",
        str(path),
        "--base-url",
        base_url,
        "--token",
        f"memory-benchmark-{lines}",
        "--memory-budget",
        str(budget),
        "--concurrency",
        str(concurrency),
    ]
    completed = subprocess.run(
        argv, capture_output=True, text=True, timeout=MEMORY_PROBE_SECONDS, check=False
    )
    if completed.returncode != 0 or not completed.stdout.strip():
        raise bench.BenchmarkError(
            f"memory probe ({lines} lines) failed ({completed.returncode}):\n"
            f"{completed.stderr[-3000:]}"
        )
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


# --- report ---------------------------------------------------------------------------------------


def format_report(
    batch: Throughput | None,
    baseline: Throughput | None,
    memory: list[dict[str, Any]],
    *,
    args: argparse.Namespace,
    placement: bench.Placement,
) -> str:
    machine = bench.machine_info(placement)
    lines = [
        "Batch throughput: client.batch vs a sequential loop with a fixed sleep, same upstream",
        *[line for line in machine if not line.startswith(("python", "placement"))],
        "placement: "
        + (
            f"upstream on CPU {bench._cpus(placement.server)}, "
            f"this benchmark (clients, memory probes) on CPU {bench._cpus(placement.loadgen)}"
            if placement.server is not None and placement.loadgen is not None
            else placement.describe()
        ),
        f"python {sys.version.split()[0]}, httpx {httpx.__version__}",
        f"upstream: slow_upstream.py under uvicorn on {HOST}, {LATENCY * 1000:.0f} ms per answer, "
        f"{ALLOWED_RATE} requests per rolling 1 s per token (code 302 + Retry-After beyond)",
    ]
    if batch is not None and baseline is not None:
        lines += _throughput_lines(batch, baseline)
    return "\n".join(lines + _memory_lines(memory, args))


def _throughput_lines(batch: Throughput, baseline: Throughput) -> list[str]:
    lines = [
        "",
        "| run | fetches | ok | failed | seconds | ok fetches/s | share of allowed | "
        "302s at upstream | peak in any 1 s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in (batch, baseline):
        lines.append(
            f"| {run.label} | {run.fetches:,} | {run.ok:,} | {run.failed} | {run.seconds:.1f} "
            f"| {run.rate:.2f} | {run.rate / ALLOWED_RATE:.1%} | {run.rate_limited} "
            f"| {run.server['peak_in_window']} |"
        )
    ratio = batch.rate / baseline.rate
    share = batch.rate / ALLOWED_RATE
    lines += [
        "",
        f"client retries taken in the batch: {batch.retries}; failed items by code: "
        f"{batch.failed_by_code or 'none'}",
        f"ratio batch / baseline (ok fetches/s): {ratio:.2f}",
        f"batch >= {TARGET_SHARE:.0%} of the allowed {ALLOWED_RATE}/s: "
        f"{'yes' if share >= TARGET_SHARE else 'no'} ({share:.1%})",
        f"zero 302s for the batch: {'yes' if batch.rate_limited == 0 else 'no'} "
        f"({batch.rate_limited}); baseline: {baseline.rate_limited}",
    ]
    return lines


def _memory_lines(memory: list[dict[str, Any]], args: argparse.Namespace) -> list[str]:
    if not memory:
        return []
    lines = [
        "",
        "Memory: a fresh process streams an N-line file (iter_user_ids: a counting pass, then "
        "the ids straight into client.batch, as pgy batch does) and runs client.batch "
        f"over all of it (checkpoint on, max_billable_calls={args.memory_budget}: the first "
        f"{args.memory_budget} are fetched, the rest scheduled and refused without a request)",
        "",
        "| input lines | file MiB | fetched | not sent | RSS after imports | after read "
        "| at 10 % of items | at 100 % | peak RSS | seconds |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in memory:
        lines.append(
            f"| {m['lines']:,} | {m['file_bytes'] / MIB:.1f} | {m['fetched']} "
            f"| {m['not_sent']:,} | {m['after_imports'] / MIB:.1f} MiB "
            f"| {m['after_read'] / MIB:.1f} MiB | {m['at_10pct'] / MIB:.1f} MiB "
            f"| {m['at_100pct'] / MIB:.1f} MiB | {m['peak'] / MIB:.1f} MiB | {m['seconds']:.1f} |"
        )
    if len(memory) >= 2:
        small, large = memory[0], memory[-1]
        extra_lines = large["lines"] - small["lines"]
        growth = large["peak"] - small["peak"]
        lines += [
            "",
            f"peak RSS {large['lines']:,} lines / {small['lines']:,} lines: "
            f"{large['peak'] / small['peak']:.2f} (+{growth / MIB:.1f} MiB, "
            f"{growth / extra_lines:.0f} bytes per extra line)",
            f"growth while iterating the {large['lines']:,}-line batch (10 % -> 100 % of items): "
            f"{(large['at_100pct'] - large['at_10pct']) / MIB:+.1f} MiB",
        ]
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fetches", type=int, default=2000, help="creators for the batch")
    parser.add_argument(
        "--baseline-sample", type=int, default=200, help="first N of them for the baseline"
    )
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument(
        "--rate",
        type=float,
        default=float(ALLOWED_RATE),
        help="the batch's rate= (default: the upstream's allowed rate)",
    )
    parser.add_argument(
        "--memory-lines", default="10000,100000", help="input sizes for the memory check"
    )
    parser.add_argument("--memory-budget", type=int, default=20, help="calls fetched per size")
    parser.add_argument(
        "--memory-only", action="store_true", help="skip the throughput runs (memory check only)"
    )
    # child mode (one memory measurement in a fresh process)
    parser.add_argument("--memory-probe", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.memory_sizes = [int(n) for n in args.memory_lines.split(",") if n.strip()]
    if (
        args.fetches < 1
        or not 1 <= args.baseline_sample <= args.fetches
        or args.concurrency < 1
        or args.rate <= 0
        or args.memory_budget < 0
        or any(n < 10 for n in args.memory_sizes)
    ):
        parser.error(
            "--fetches >= 1, 1 <= --baseline-sample <= --fetches, --concurrency >= 1, "
            "--rate > 0, --memory-budget >= 0, --memory-lines sizes >= 10 (or '' for none)"
        )
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.memory_probe:
        return memory_probe(args)
    placement = bench.choose_placement()
    if placement.loadgen is not None:
        os.sched_setaffinity(0, placement.loadgen)  # before any thread: all of ours inherit it
    processes = bench.Processes()
    ids = creator_ids(args.fetches)
    with bench.stop_on_signals(), tempfile.TemporaryDirectory(prefix="pgy-bench-") as tmp:
        work = Path(tmp)
        try:
            base_url = start_upstream(
                processes, work=work, cpus=placement.server, rate=ALLOWED_RATE
            )
            say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
            batch = baseline = None
            if not args.memory_only:
                say(f"batch: {args.fetches} fetches at rate={args.rate:g} ...")
                batch = run_batch(
                    base_url,
                    ids,
                    rate=args.rate,
                    concurrency=args.concurrency,
                    checkpoint=work / "batch.checkpoint",
                )
                say(f"baseline: first {args.baseline_sample} ids, sequential with sleep ...")
                baseline = run_baseline(base_url, ids[: args.baseline_sample], rate=ALLOWED_RATE)
            memory = []
            for lines in args.memory_sizes:
                say(f"memory: {lines:,}-line input ...")
                memory.append(
                    run_memory(
                        base_url,
                        lines,
                        work=work,
                        budget=args.memory_budget,
                        concurrency=args.concurrency,
                    )
                )
        except bench.BenchmarkError as error:
            print(f"benchmark failed: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted: upstream stopped, no figures", file=sys.stderr)
            return 130
        finally:
            processes.stop_all()
    print(format_report(batch, baseline, memory, args=args, placement=placement))
    return 1 if (batch and batch.failed) or (baseline and baseline.failed) else 0


if __name__ == "__main__":
    sys.exit(main())
