"""Benchmark: JSON text -> benchmark table (the analytics pipeline) vs JSON text -> dicts.

The claim under test (issue 6, item 8): turning a crawl of 100,000 creators x 4 scopes into the
cohort benchmark (tidy tables, indicators, percentiles, scores, flags) costs at most 3x what it
costs merely to parse the same JSON with ``json.loads``. The baseline is the floor every consumer
pays; everything above it is ours.

Data: the sandbox source (synthetic, deterministic) generates the ``data`` object of each creator
x scope for one fetch day, as JSON text (UTF-8 bytes, ``ensure_ascii=False``, as the API sends
it). The 4 scopes are the headline scope and the three counterparts the ranked cross-scope
indicators need: 30 days (momentum), organic only (paid-boost dependence), sponsored (sponsored
decay). Generation is not timed and is cached in the system temp folder (``--cache``), since it
takes a few minutes for 100,000 creators.

Timed, in the same process, alternating over ``--rounds`` (medians reported):

1. **Baseline**: ``json.loads`` of every payload.
2. **Pipeline**: ``json.loads`` of every payload into a ``tables.ScopeRecord``, then
   ``tables.scopes_frame`` + ``tables.notes_frame``, ``indicators.indicators_frame``,
   ``flags.flags_frame`` and ``cohorts.benchmark_frame`` (with the flags: ``flag_count``).

Both walk the payloads in chunks of ``--chunk`` creators (the parsed dicts of one chunk are kept
until it is done, then dropped): 100,000 creators' dicts at once would need ~9 GB. The pipeline
keeps each chunk's frames and builds indicators, flags and the benchmark over the whole pool
(percentiles need everyone).

Usage::

    uv run python benchmarks/analytics_pipeline.py [--creators 100000] [--rounds 3]
        [--chunk 10000] [--cache PATH] [--profile]

``--creators 2000 --rounds 1`` is a smoke run of a few seconds. ``--profile`` adds a cProfile of
one pipeline run (top functions by own time). The target (ratio <= 3) is reported, not enforced.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import multiprocessing
import os
import platform
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import polars as pl

from pgy_metrics.analytics.cohorts import benchmark_frame
from pgy_metrics.analytics.flags import flags_frame
from pgy_metrics.analytics.indicators import indicators_frame
from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES, HEADLINE_SCOPE
from pgy_metrics.analytics.settings import AnalyticsSettings
from pgy_metrics.analytics.tables import ScopeRecord, Tables, notes_frame, scopes_frame
from pgy_metrics.clock import SystemClock
from pgy_metrics.contract.params import Scope
from pgy_metrics.sources.sandbox import SandboxSource

DEFAULT_CREATORS = 100_000
DEFAULT_ROUNDS = 3
DEFAULT_CHUNK = 10_000
"""Creators per chunk: ~40,000 payloads, ~0.9 GB of parsed dicts at a time."""
TARGET_RATIO = 3.0
"""The issue's target: the pipeline at most 3x the time of json.loads alone."""
BENCH_SCOPES: tuple[Scope, ...] = (
    HEADLINE_SCOPE,
    ANALYSIS_SCOPES[1],  # DAY_30: momentum
    ANALYSIS_SCOPES[2],  # ORGANIC_ONLY: paid-boost dependence
    ANALYSIS_SCOPES[5],  # COOPERATE_NOTE: sponsored decay
)
FETCH_DAY = date(2026, 11, 26)
COLLECTED_AT = "2026-11-26T10:00:00"
SANDBOX_SEED = 0
FIRST_ID = 0x5D21AB6B0000000000000000
"""Creator ids count up from here: distinct, valid (24 lowercase hex characters)."""
CACHE_FORMAT = 1
"""Bumped when the cache file's layout changes, so an old cache is never misread."""
PROFILE_LINES = 25

Payload = tuple[str, Scope, bytes]
"""user_id, scope, the ``data`` object as JSON text."""


def creator_id(n: int) -> str:
    return f"{FIRST_ID + n:024x}"


def _generate_range(bounds: tuple[int, int]) -> bytes:
    """Worker: cache lines of creators ``[start, stop)``: ``user_id TAB scope_key TAB json``."""
    start, stop = bounds
    source = SandboxSource(clock=SystemClock(), seed=SANDBOX_SEED)
    out = io.BytesIO()
    for n in range(start, stop):
        user_id = creator_id(n)
        for scope in BENCH_SCOPES:
            data = source.generate(user_id, scope, day=FETCH_DAY)
            text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
            out.write(f"{user_id}\t{scope.key}\t{text}\n".encode())
    return out.getvalue()


def ensure_cache(path: Path, creators: int, *, say: Callable[[str], None]) -> None:
    if path.exists():
        return
    say(f"generating {creators:,} creators x {len(BENCH_SCOPES)} scopes with the sandbox ...")
    started = time.perf_counter()
    step = 1000
    ranges = [(start, min(start + step, creators)) for start in range(0, creators, step)]
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out, multiprocessing.Pool(os.cpu_count() or 1) as pool:
        for done, lines in enumerate(pool.imap(_generate_range, ranges), start=1):
            out.write(lines)
            if done % 10 == 0:
                say(f"  {min(done * step, creators):,} creators")
    partial.replace(path)
    say(f"generated in {time.perf_counter() - started:.0f} s -> {path}")


def read_cache(path: Path) -> list[Payload]:
    scopes = {scope.key: scope for scope in BENCH_SCOPES}
    payloads: list[Payload] = []
    with path.open("rb") as lines:
        for line in lines:
            user_id, key, text = line.rstrip(b"\n").split(b"\t", 2)
            payloads.append((user_id.decode(), scopes[key.decode()], text))
    return payloads


def chunks(payloads: Sequence[Payload], creators: int) -> Iterator[Sequence[Payload]]:
    size = creators * len(BENCH_SCOPES)
    for start in range(0, len(payloads), size):
        yield payloads[start : start + size]


def run_baseline(payloads: Sequence[Payload], *, chunk: int) -> float:
    started = time.perf_counter()
    for part in chunks(payloads, chunk):
        parsed = [json.loads(text) for _, _, text in part]
        del parsed
    return time.perf_counter() - started


@dataclass
class PipelineRun:
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    creators: int = 0
    scored: int = 0
    flags: dict[str, int] = field(default_factory=dict)

    def add(self, stage: str, seconds: float) -> None:
        self.stages[stage] = self.stages.get(stage, 0.0) + seconds


def run_pipeline(
    payloads: Sequence[Payload], *, chunk: int, settings: AnalyticsSettings
) -> PipelineRun:
    run = PipelineRun()
    scope_parts: list[pl.DataFrame] = []
    note_parts: list[pl.DataFrame] = []
    started = time.perf_counter()
    for part in chunks(payloads, chunk):
        mark = time.perf_counter()
        records = [
            ScopeRecord(user_id, scope, COLLECTED_AT, json.loads(text))
            for user_id, scope, text in part
        ]
        run.add("json.loads -> ScopeRecord", time.perf_counter() - mark)
        mark = time.perf_counter()
        scope_parts.append(scopes_frame(records))
        run.add("tables.scopes_frame", time.perf_counter() - mark)
        mark = time.perf_counter()
        note_parts.append(notes_frame(records))
        run.add("tables.notes_frame", time.perf_counter() - mark)
        del records
    mark = time.perf_counter()
    tables = Tables(scopes=pl.concat(scope_parts), notes=pl.concat(note_parts))
    run.add("concat chunks", time.perf_counter() - mark)
    mark = time.perf_counter()
    indicators = indicators_frame(tables.scopes)
    run.add("indicators.indicators_frame", time.perf_counter() - mark)
    mark = time.perf_counter()
    flags = flags_frame(tables, indicators, settings=settings)
    run.add("flags.flags_frame", time.perf_counter() - mark)
    mark = time.perf_counter()
    benchmark = benchmark_frame(indicators, settings=settings, flags=flags)
    run.add("cohorts.benchmark_frame", time.perf_counter() - mark)
    run.seconds = time.perf_counter() - started
    run.creators = benchmark.height
    run.scored = benchmark.get_column("score").is_not_null().sum()
    run.flags = dict(flags.group_by("flag").len().sort("flag").iter_rows())
    return run


def profile_pipeline(payloads: Sequence[Payload], *, chunk: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    run_pipeline(payloads, chunk=chunk, settings=AnalyticsSettings())
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(PROFILE_LINES)
    return out.getvalue()


def format_report(
    baselines: list[float], runs: list[PipelineRun], *, args: argparse.Namespace, payloads: int
) -> str:
    baseline = statistics.median(baselines)
    pipeline = statistics.median(run.seconds for run in runs)
    middle = sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]
    ratio = pipeline / baseline
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [line for line in cpuinfo.read_text().splitlines() if line.startswith("model name")]
        cpu = names[0].split(":", 1)[1].strip() if names else ""
    lines = [
        "Analytics pipeline: JSON text -> benchmark table vs JSON text -> dicts (json.loads)",
        f"machine: {platform.platform()}; {os.cpu_count()} CPUs{f' ({cpu})' if cpu else ''}",
        f"python {platform.python_version()}, polars {pl.__version__}",
        f"data: sandbox seed {SANDBOX_SEED}, fetch day {FETCH_DAY}, {args.creators:,} creators x "
        f"{len(BENCH_SCOPES)} scopes = {payloads:,} payloads, "
        f"{args.payload_bytes / 1e9:.2f} GB of JSON; chunks of {args.chunk:,} creators; "
        f"{args.rounds} round(s), medians",
        "",
        "| run | seconds (median) | all rounds |",
        "|---|---:|---|",
        f"| baseline: json.loads of every payload | {baseline:.2f} | "
        f"{', '.join(f'{s:.2f}' for s in baselines)} |",
        f"| pipeline: JSON text -> tables -> indicators -> flags -> benchmark | {pipeline:.2f} | "
        f"{', '.join(f'{run.seconds:.2f}' for run in runs)} |",
        "",
        f"ratio pipeline / baseline: {ratio:.2f} (target <= {TARGET_RATIO:g}: "
        f"{'met' if ratio <= TARGET_RATIO else 'NOT met'})",
        "",
        "pipeline stages (median run):",
        "",
        "| stage | seconds | share |",
        "|---|---:|---:|",
    ]
    for stage, seconds in middle.stages.items():
        lines.append(f"| {stage} | {seconds:.2f} | {seconds / middle.seconds:.0%} |")
    lines += [
        "",
        f"benchmark rows: {middle.creators:,} creators, {middle.scored:,} with a score; flags: "
        + ", ".join(f"{flag} {count:,}" for flag, count in middle.flags.items()),
    ]
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--creators", type=int, default=DEFAULT_CREATORS)
    parser.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS)
    parser.add_argument("--chunk", type=int, default=DEFAULT_CHUNK, help="creators per chunk")
    parser.add_argument("--cache", type=Path, help="generated payloads (default: in the temp dir)")
    parser.add_argument("--profile", action="store_true", help="cProfile one pipeline run")
    args = parser.parse_args(argv)
    if args.creators < 1 or args.rounds < 1 or args.chunk < 1:
        parser.error("--creators, --rounds and --chunk must be >= 1")
    if args.cache is None:
        name = f"pgy-analytics-bench-v{CACHE_FORMAT}-{args.creators}.tsv"
        args.cache = Path(tempfile.gettempdir()) / name
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    say = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    ensure_cache(args.cache, args.creators, say=say)
    payloads = read_cache(args.cache)
    args.payload_bytes = sum(len(text) for _, _, text in payloads)
    settings = AnalyticsSettings()
    baselines: list[float] = []
    runs: list[PipelineRun] = []
    for round_number in range(1, args.rounds + 1):
        gc.collect()
        say(f"round {round_number}: baseline ...")
        baselines.append(run_baseline(payloads, chunk=args.chunk))
        gc.collect()
        say(f"round {round_number}: pipeline ...")
        runs.append(run_pipeline(payloads, chunk=args.chunk, settings=settings))
    print(format_report(baselines, runs, args=args, payloads=len(payloads)))
    if args.profile:
        say("profiling one pipeline run ...")
        print("\ncProfile of one pipeline run (top by own time):\n")
        print(profile_pipeline(payloads, chunk=args.chunk))
    return 0


if __name__ == "__main__":
    sys.exit(main())
