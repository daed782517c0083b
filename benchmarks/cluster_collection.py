"""Benchmark: collection on a cluster (N queue servers, K workers, M paced accounts) vs its pace.

The claims under test (issue 12, item 8): with M Pugongying accounts paced at r requests a second,
K ``pgy worker`` processes and N ``pgy serve --collect queue`` servers sharing one PostgreSQL and
one Redis, against an upstream that answers in 300 ms,

- the upstream sees at least **0.95 x M x r** calls a second while the asks saturate the pool;
- **no** 1-second window in which an account sees more than ``ceil(r)`` calls;
- **no** duplicate call (one creator x scope key called twice);
- and what a queued collection adds to an ask's p50 latency against an inline one (``pgy serve
  --collect inline`` on the same cluster, same upstream): reported as a ratio and in ms.

Everything runs on this machine, as a user would run it:

- a fresh PostgreSQL database (``pgy_bench_<random>``, dropped at the end) on the server of
  ``--postgres`` and a fresh Redis key prefix (its keys deleted at the end) on ``--redis``;
- the upstream (``pugongying_upstream.py``) in its own process: it records the arrival time,
  account and key of every call, so every figure below is what the upstream itself saw;
- one settings file with the M accounts (one cookie file each), used by every process;
- K workers (``pgy worker --config``), N queue servers and one inline server
  (``pgy serve --config --collect queue|inline``), a token from ``pgy token create``.

Two phases, in this order:

1. **Latency** (the baseline measured in the same run). ``--latency-samples`` asks, one at a
   time, each for a new creator, alternating the inline server and a queue server (so both see the
   same machine load), spaced so that no account's pace ever delays one. p50 of each, their ratio
   and difference.
2. **Saturation.** ``--askers`` loops, each asking for a new creator x scope key (two scopes
   alternate) ``--asks-per-key`` times at once, on different queue servers (so the queueing lock
   and the cluster's single-flight are exercised), then the next key, for ``--warmup`` +
   ``--seconds``. The **steady window** is the ``--seconds`` after the warm-up; the achieved
   rate is the upstream calls that *arrived* in it divided by its length. Every ask must answer
   code 0. Duplicates and over-pace windows are counted over the whole run (both phases).

An over-pace window is a window of 1 s (for r < 1: ``ceil(1/r)`` s, the pool's own window)
starting at any call of an account that holds more than ``ceil(r)`` (below 1/s: one) calls of
that account: the strictest reading (a sliding window), so aligned windows can only do better.
"Closest approach" is the smallest span of ``ceil(r) + 1`` consecutive calls of one account minus
the window: negative means an over-pace window, and its size is the margin left.

Usage::

    uv run python benchmarks/cluster_collection.py [--accounts 3] [--rate 2] [--workers 2]
        [--servers 2] [--seconds 60] [--warmup 10] [--askers 24] [--asks-per-key 2]
        [--latency-samples 12] [--worker-concurrency 4]

Takes about 2 minutes with the defaults on a quiet machine (5 on a loaded one, where each ``pgy``
process may take a minute or two to start). Exits 1 if a target is missed or an ask failed, 2 if
the cluster could not be set up (PostgreSQL or Redis unreachable, a process did not start), 130
on Ctrl-C; in every case it stops its processes and removes its database and Redis keys first.
``--keep-logs DIR`` keeps the processes' logs and the upstream's record of calls (``calls.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

import serve_cached as bench
from pgy_metrics.contract.endpoints import NOTES_RATE_PATH

HERE = Path(__file__).resolve().parent
HOST = bench.HOST
LATENCY = 0.3
"""Seconds the upstream takes per answer (the issue's figure)."""
TARGET_SHARE = 0.95
"""The issue's target: achieved upstream rate / (M x r)."""
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
STARTUP_SECONDS = 180.0
"""Generous: on a busy 2-core machine a worker has taken over a minute to start."""
ASK_TIMEOUT_SECONDS = 90.0
"""Above the servers' 50 s collection wait: a server answers 301 before the client gives up."""
SCOPES = ("DAILY_NOTE", "COOPERATE_NOTE")
"""The two ``business`` values the saturation phase alternates: keys are creator x scope."""
FIRST_ID = 0x6A1B00000000000000000000
"""Creator ids count up from here (24 lowercase hex characters)."""


class BenchmarkError(Exception):
    """The cluster could not be set up."""


@dataclass
class Ask:
    """One ask as the driver saw it."""

    key: tuple[str, str]
    server: str
    started: float
    seconds: float
    code: int | None
    message: str = ""


@dataclass
class Cluster:
    """What the phases need: where to ask, with which token."""

    token: str
    inline: str
    queued: list[str]
    upstream: str
    upstream_nice: int | None


@dataclass
class Ids:
    """Fresh creator ids: every ask of the run is for a key nobody asked before."""

    counter: itertools.count[int] = field(default_factory=lambda: itertools.count(FIRST_ID))

    def next(self) -> str:
        return f"{next(self.counter):024x}"


def pace_window(rate: float) -> tuple[int, int]:
    """(calls, seconds) the pool allows an account (``service.pace_slots.window``, in whole s)."""
    if rate >= 1:
        return math.ceil(rate), 1
    return 1, math.ceil(1 / rate)


# -- set-up -------------------------------------------------------------------------------------


def create_database(server_url: str) -> str:
    """A new database on ``server_url``'s server; its SQLAlchemy URL."""
    import psycopg
    from psycopg import sql

    name = f"pgy_bench_{uuid.uuid4().hex[:12]}"
    try:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as error:
        raise BenchmarkError(f"PostgreSQL at --postgres cannot be used: {error}") from None
    base = server_url.rpartition("/")[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"


def drop_database(server_url: str, database_url: str) -> None:
    import psycopg
    from psycopg import sql

    name = database_url.rpartition("/")[2]
    with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


async def _redis_keys(redis_url: str, prefix: str, *, delete: bool) -> int:
    import coredis

    client: Any = coredis.Redis.from_url(redis_url, connect_timeout=5, stream_timeout=5)
    found = [key async for key in client.scan_iter(match=f"{prefix}:*")]
    if delete and found:
        await client.delete(found)
    return len(found)


def check_redis(redis_url: str) -> None:
    try:
        asyncio.run(_redis_keys(redis_url, "pgy-bench-probe", delete=False))
    except Exception as error:
        raise BenchmarkError(f"Redis at --redis cannot be used: {error}") from None


def write_config(work: Path, *, upstream: str, accounts: int, rate: float) -> Path:
    """The settings file every process uses: M accounts, each its own cookie file and ``a1``."""
    lines = [
        "[[sources]]",
        'type = "pugongying"',
        f'base_url = "{upstream}"',
        f"requests_per_second = {rate}",
        f"burst = {max(1, math.ceil(rate))}",
        "timeout_seconds = 10",
        "retry_attempts = 1",
    ]
    for index in range(accounts):
        name = f"account{index + 1}"
        cookies = work / f"{name}.cookies"
        cookies.write_text(
            f"a1={name}-a1; webId={name}-web; access-token-pgy.xiaohongshu.com={name}-access; "
            f"solar.beaker.session.id={name}-session\n",
            encoding="utf-8",
        )
        lines += ["", "[[sources.accounts]]", f'name = "{name}"', f'cookies_file = "{cookies}"']
    config = work / "pgy.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


def wait_for(process: subprocess.Popen[bytes], log: Path, ready: Any, what: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError(f"{what} exited with {process.returncode}:\n{bench.tail(log)}")
        if ready():
            return
        time.sleep(0.1)
    raise BenchmarkError(f"{what} did not start in {STARTUP_SECONDS:g}s:\n{bench.tail(log)}")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


UPSTREAM_NICE = -10
"""The upstream's scheduling priority, if this user may raise it (root may): the upstream stands
for a server on other machines, whose clock does not stop when ours is busy. At normal priority,
on this 2-core machine with a load of 11, the upstream recorded some calls up to 1.6 s after
the worker had sent them (p90 0.09 s), and the figures measured the machine, not the pace."""


def _upstream_priority() -> None:
    with contextlib.suppress(PermissionError):
        os.nice(UPSTREAM_NICE)


def upstream_niceness(pid: int) -> int | None:
    """The upstream's niceness as the kernel has it (field 19 of /proc/PID/stat)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[16])


def start_cluster(
    processes: bench.Processes, *, work: Path, env: dict[str, str], args: argparse.Namespace
) -> Cluster:
    port = bench.free_port()
    upstream = f"http://{HOST}:{port}"
    log = work / "upstream.log"
    argv = [sys.executable, str(HERE / "pugongying_upstream.py"), "--port", str(port)]
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [*argv, "--latency", str(LATENCY)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            preexec_fn=_upstream_priority,  # safe: this process has no threads
        )
    processes.started.append(process)
    process_pid = process.pid
    wait_for(process, log, lambda: answers(upstream + "/_calls"), "the upstream")
    config = write_config(work, upstream=upstream, accounts=args.accounts, rate=args.rate)
    result = subprocess.run(
        # A plan option (a rate no ask reaches): no quota, unmetered.
        [
            sys.executable,
            "-m",
            "pgy_metrics",
            "token",
            "create",
            "--name",
            "bench",
            "--rate",
            "1000/second",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise BenchmarkError(f"pgy token create failed:\n{result.stderr}")
    token = result.stdout.strip()
    pgy = [sys.executable, "-m", "pgy_metrics"]
    workers = []
    for number in range(1, args.workers + 1):
        log = work / f"worker{number}.log"
        worker_argv = [*pgy, "worker", "--config", str(config)]
        worker_argv += ["--concurrency", str(args.worker_concurrency)]
        workers.append((processes.start(worker_argv, env=env, log=log, cpus=None), log, number))
    for process, log, number in workers:
        ready = log  # bound now: the check below must not see the loop's last log

        def worker_started(path: Path = ready) -> bool:
            return "Starting worker on queues" in bench.tail(path)

        wait_for(process, log, worker_started, f"pgy worker {number}")
    servers: list[tuple[str, str]] = [
        (f"queue{n}", "queue") for n in range(1, args.servers + 1)
    ] + [("inline", "inline")]
    urls: dict[str, str] = {}
    started: list[tuple[subprocess.Popen[bytes], Path, str, int]] = []
    for name, mode in servers:  # all at once, then wait: start-up is slow on a busy machine
        port = bench.free_port()
        log = work / f"server-{name}.log"
        argv = [*pgy, "serve", "--port", str(port), "--config", str(config), "--collect", mode]
        started.append((processes.start(argv, env=env, log=log, cpus=None), log, name, port))
    for process, log, name, port in started:
        url = f"http://{HOST}:{port}"
        wait_for(process, log, lambda u=url: answers(u + "/healthz"), f"pgy serve ({name})")
        urls[name] = url
    return Cluster(
        token=token,
        inline=urls["inline"],
        queued=[urls[f"queue{n}"] for n in range(1, args.servers + 1)],
        upstream=upstream,
        upstream_nice=upstream_niceness(process_pid),
    )


# -- the phases ---------------------------------------------------------------------------------


async def ask(
    client: httpx.AsyncClient, cluster: Cluster, server: str, key: tuple[str, str]
) -> Ask:
    user, business = key
    started = time.time()
    begun = time.perf_counter()
    try:
        response = await client.get(
            server + NOTES_RATE_PATH,
            params={"token": cluster.token, "userId": user, "business": business},
        )
        document = response.json()
        code, message = document.get("code"), str(document.get("message") or "")
    except (httpx.HTTPError, ValueError) as error:
        code, message = None, f"{type(error).__name__}: {error}"
    return Ask(key, server, started, time.perf_counter() - begun, code, message)


async def latency_phase(cluster: Cluster, ids: Ids, args: argparse.Namespace) -> list[Ask]:
    """One ask at a time, inline and queued alternating, spaced below every account's pace."""
    calls, seconds = pace_window(args.rate)
    spacing = seconds / calls + 0.05  # one account alone could take every ask and stay paced
    done: list[Ask] = []
    async with httpx.AsyncClient(timeout=ASK_TIMEOUT_SECONDS) as client:
        for index in range(2 * args.latency_samples):
            queued = cluster.queued[(index // 2) % len(cluster.queued)]
            # inline, queued, queued, inline, ...: neither always goes first after a pause
            server = cluster.inline if index % 4 in (0, 3) else queued
            begun = time.perf_counter()
            done.append(await ask(client, cluster, server, (ids.next(), SCOPES[0])))
            await asyncio.sleep(max(0.0, spacing - (time.perf_counter() - begun)))
    return done


async def saturation_phase(
    cluster: Cluster, ids: Ids, args: argparse.Namespace
) -> tuple[list[Ask], float, float]:
    """``--askers`` loops of new keys until the window ends; the window's (start, end) epoch."""
    started = time.time()
    window_start = started + args.warmup
    window_end = window_start + args.seconds
    servers = itertools.cycle(range(len(cluster.queued)))
    done: list[Ask] = []
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    async with httpx.AsyncClient(timeout=ASK_TIMEOUT_SECONDS, limits=limits) as client:

        async def asker() -> None:
            while time.time() < window_end:
                key = (ids.next(), SCOPES[next(scopes) % len(SCOPES)])
                first = next(servers)
                asks = [
                    ask(client, cluster, cluster.queued[(first + n) % len(cluster.queued)], key)
                    for n in range(args.asks_per_key)
                ]
                done.extend(await asyncio.gather(*asks))

        scopes = itertools.count()
        await asyncio.gather(*(asker() for _ in range(args.askers)))
    return done, window_start, window_end


def upstream_calls(cluster: Cluster) -> list[tuple[float, str, str]]:
    response = httpx.get(cluster.upstream + "/_calls", timeout=30)
    response.raise_for_status()
    return [(float(at), str(account), str(key)) for at, account, key in response.json()]


# -- the figures --------------------------------------------------------------------------------


@dataclass
class Pace:
    """Per account: calls, over-pace windows, most calls in one window, closest approach."""

    calls: dict[str, int]
    over: dict[str, int]
    busiest: dict[str, int]
    closest: dict[str, float]


def pace_of(calls: list[tuple[float, str, str]], rate: float) -> Pace:
    allowed, seconds = pace_window(rate)
    times: dict[str, list[float]] = defaultdict(list)
    for at, account, _ in calls:
        times[account].append(at)
    result = Pace({}, {}, {}, {})
    for account, found in sorted(times.items()):
        found.sort()
        over = busiest = 0
        for index, start in enumerate(found):
            inside = sum(1 for at in found[index : index + allowed + 50] if at < start + seconds)
            busiest = max(busiest, inside)
            over += inside > allowed
        spans = [found[i + allowed] - found[i] for i in range(len(found) - allowed)]
        result.calls[account] = len(found)
        result.over[account] = over
        result.busiest[account] = busiest
        result.closest[account] = (min(spans) - seconds) if spans else math.inf
    return result


def percentile(values: Sequence[float], share: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


@dataclass
class Figures:
    lines: list[str]
    missed: list[str]


def figures(
    *,
    args: argparse.Namespace,
    latency: list[Ask],
    saturation: list[Ask],
    window: tuple[float, float],
    calls: list[tuple[float, str, str]],
    cluster: Cluster,
    load: tuple[tuple[float, float, float], tuple[float, float, float]],
) -> Figures:
    missed: list[str] = []
    capacity = args.accounts * args.rate
    allowed, seconds = pace_window(args.rate)
    start, end = window
    in_window = [at for at, _, _ in calls if start <= at < end]
    achieved = len(in_window) / (end - start)
    share = achieved / capacity
    pace = pace_of(calls, args.rate)
    # The latency phase spaces its asks on purpose: the closest approach is the saturated part's.
    closest = pace_of([c for c in calls if c[0] >= start - args.warmup], args.rate).closest
    over = sum(pace.over.values())
    per_key = Counter(key for _, _, key in calls)
    duplicates = sum(count - 1 for count in per_key.values() if count > 1)
    inline = [a.seconds * 1000 for a in latency if a.server == cluster.inline]
    queued = [a.seconds * 1000 for a in latency if a.server != cluster.inline]
    inline_p50, queued_p50 = statistics.median(inline), statistics.median(queued)
    failed = [a for a in latency + saturation if a.code != 0]
    keys = {a.key for a in saturation}
    sat_ms = [a.seconds * 1000 for a in saturation]
    lines = [
        "Collection on a cluster: queue servers + workers + a paced account pool vs its pace",
        *bench.machine_info(bench.Placement(None, None))[:2],
        f"load average (1, 5, 15 min): {_load(load[0])} at start, {_load(load[1])} at the end "
        f"({os.cpu_count()} CPUs)",
        f"cluster: M={args.accounts} accounts at r={args.rate:g}/s (pool capacity "
        f"{capacity:g} calls/s, at most {allowed} per account in any {seconds} s), "
        f"K={args.workers} workers x {args.worker_concurrency} jobs, N={args.servers} queue "
        "servers + 1 inline server; PostgreSQL + Redis of this machine; upstream latency "
        f"{LATENCY * 1000:.0f} ms (its own process, niceness {cluster.upstream_nice}; "
        "pgy processes at the default 0)",
        f"saturation: {args.askers} askers x {args.asks_per_key} concurrent asks per key, "
        f"{args.warmup:g} s warm-up + {args.seconds:g} s steady window; "
        f"{len(keys)} keys, {len(saturation)} asks",
        "",
        "| measure | value | target |",
        "|---|---:|---:|",
        f"| upstream calls in the steady window | {len(in_window)} in {end - start:.1f} s | |",
        f"| achieved rate / (M x r) | {achieved:.2f} / {capacity:g} = **{share:.3f}** "
        f"| >= {TARGET_SHARE} |",
        f"| over-pace windows (any account, whole run) | **{over}** | 0 |",
        f"| duplicate calls (same key twice) | **{duplicates}** of {len(calls)} calls | 0 |",
        f"| asks not code 0 | {len(failed)} of {len(latency) + len(saturation)} | 0 |",
        f"| p50 inline ask, idle pool ({len(inline)} asks) | {inline_p50:.0f} ms | |",
        f"| p50 queued ask, idle pool ({len(queued)} asks) | {queued_p50:.0f} ms | |",
        f"| queued / inline p50 | **{queued_p50 / inline_p50:.2f}** "
        f"({queued_p50 - inline_p50:+.0f} ms) | reported |",
        f"| p50 / p99 ask under saturation | {percentile(sat_ms, 0.5):.0f} / "
        f"{percentile(sat_ms, 0.99):.0f} ms | |",
        "",
        "per account: calls (whole run), most calls in one window, over-pace windows, "
        "closest approach under saturation (s; < 0 is over pace)",
    ]
    for account in sorted(pace.calls):
        lines.append(
            f"  {account or '(none)'}: {pace.calls[account]} calls, busiest {pace.busiest[account]}"
            f", over {pace.over[account]}, closest {closest.get(account, math.inf):+.3f}"
        )
    if share < TARGET_SHARE:
        missed.append(f"achieved rate share {share:.3f} < {TARGET_SHARE}")
    if over:
        missed.append(f"{over} over-pace window(s)")
    if duplicates:
        missed.append(f"{duplicates} duplicate call(s)")
    if failed:
        missed.append(f"{len(failed)} ask(s) not code 0")
        samples = Counter(f"code {a.code}: {a.message[:160]}" for a in failed)
        lines += ["", "failed asks (by answer):"]
        lines += [f"  {count} x {text}" for text, count in samples.most_common(5)]
    lines += ["", "targets met: " + ("yes" if not missed else "NO: " + "; ".join(missed))]
    return Figures(lines, missed)


def _load(values: tuple[float, float, float]) -> str:
    return ", ".join(f"{value:.2f}" for value in values)


# -- main ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=3, help="M: upstream accounts")
    parser.add_argument("--rate", type=float, default=2.0, help="r: each account's calls/s")
    parser.add_argument("--workers", type=int, default=2, help="K: pgy worker processes")
    parser.add_argument("--servers", type=int, default=2, help="N: queue servers")
    parser.add_argument("--seconds", type=float, default=60.0, help="steady window (s)")
    parser.add_argument("--warmup", type=float, default=10.0, help="unmeasured start (s)")
    parser.add_argument(
        "--askers", type=int, default=None, help="concurrent keys (default 4 x M x ceil(r))"
    )
    parser.add_argument("--asks-per-key", type=int, default=2, help="concurrent asks per key")
    parser.add_argument("--latency-samples", type=int, default=12, help="asks per mode")
    parser.add_argument(
        "--worker-concurrency", type=int, default=4, help="jobs per worker (pgy worker's default)"
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("PGY_TEST_POSTGRES_URL", DEFAULT_POSTGRES),
        help="a PostgreSQL server (libpq URL) where a database may be created",
    )
    parser.add_argument(
        "--redis", default=os.environ.get("PGY_TEST_REDIS_URL", DEFAULT_REDIS), help="Redis URL"
    )
    parser.add_argument(
        "--keep-logs",
        type=Path,
        default=None,
        help="a folder to keep the processes' logs and settings in (default: a temporary one)",
    )
    args = parser.parse_args(argv)
    problems = [
        f"{name} must be at least {low}; got {getattr(args, attr)}"
        for name, attr, low in (
            ("--accounts", "accounts", 1),
            ("--workers", "workers", 1),
            ("--servers", "servers", 1),
            ("--asks-per-key", "asks_per_key", 1),
            ("--latency-samples", "latency_samples", 1),
            ("--worker-concurrency", "worker_concurrency", 1),
        )
        if getattr(args, attr) < low
    ]
    if not 0 < args.rate <= 100:
        problems.append(f"--rate must be above 0 and at most 100; got {args.rate:g}")
    if args.seconds <= 0 or args.warmup < 0:
        problems.append("--seconds must be above 0 and --warmup at least 0")
    if args.askers is not None and args.askers < 1:
        problems.append(f"--askers must be at least 1; got {args.askers}")
    if problems:
        parser.error("; ".join(problems))
    if args.askers is None:
        args.askers = 4 * args.accounts * math.ceil(args.rate)
    args.postgres = args.postgres.replace("postgresql+psycopg://", "postgresql://", 1)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    processes = bench.Processes()
    prefix = f"pgy-bench-{uuid.uuid4().hex[:12]}"
    load_start = os.getloadavg()
    database_url: str | None = None
    with bench.stop_on_signals(), tempfile.TemporaryDirectory(prefix="pgy-cluster-bench-") as tmp:
        work = Path(tmp) if args.keep_logs is None else args.keep_logs
        work.mkdir(parents=True, exist_ok=True)
        try:
            check_redis(args.redis)
            database_url = create_database(args.postgres)
            env = bench.pgy_env(work / "data")
            env.update(
                PGY_DATABASE_URL=database_url,
                PGY_REDIS_URL=args.redis,
                PGY_REDIS_KEY_PREFIX=prefix,
                NO_COLOR="1",
            )
            print("starting the cluster ...", file=sys.stderr, flush=True)
            cluster = start_cluster(processes, work=work, env=env, args=args)
            ids = Ids()
            print("latency phase ...", file=sys.stderr, flush=True)
            latency = asyncio.run(latency_phase(cluster, ids, args))
            print(
                f"saturation phase ({args.warmup:g} + {args.seconds:g} s) ...",
                file=sys.stderr,
                flush=True,
            )
            saturation, *window = asyncio.run(saturation_phase(cluster, ids, args))
            calls = upstream_calls(cluster)
            (work / "calls.json").write_text(json.dumps(calls), encoding="utf-8")
        except BenchmarkError as error:
            print(f"benchmark failed: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted: processes stopped, no figures", file=sys.stderr)
            return 130
        finally:
            processes.stop_all()
            removed = []
            if database_url is not None:
                drop_database(args.postgres, database_url)
                removed.append(f"database {database_url.rpartition('/')[2]} dropped")
            try:
                deleted = asyncio.run(_redis_keys(args.redis, prefix, delete=True))
                removed.append(f"{deleted} Redis keys {prefix}:* deleted")
            except Exception as error:  # reported, not fatal: the figures stand
                print(f"note: Redis keys {prefix}:* not removed: {error}", file=sys.stderr)
    result = figures(
        args=args,
        latency=latency,
        saturation=saturation,
        window=(window[0], window[1]),
        calls=calls,
        cluster=cluster,
        load=(load_start, os.getloadavg()),
    )
    print("\n".join(result.lines))
    print(f"clean-up: {', '.join(removed)}")
    return 1 if result.missed else 0


if __name__ == "__main__":
    sys.exit(main())
