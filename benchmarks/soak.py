"""Soak: a real ``pgy serve`` under a steady mixed load, measured from outside.

The claim under test (issue 17, item 7) is that the server's memory is bounded with default
settings: the in-memory snapshot cache is bounded by bytes (``PGY_SNAPSHOT_CACHE_MB``), so new
creators do not grow it without end, and nothing else leaks under hits, misses and refusals.
Measured from outside, as an operator sees it: resident memory (``VmRSS``) and open file
descriptors of the server process from ``/proc``, and each request's latency at the client.

Phases, one server process (``python -m pgy_metrics serve``, default settings, SQLite in a fresh
``PGY_DATA_DIR``, sandbox source; only ``PGY_FAILED_TOKEN_LIMIT`` is set, to empty: every bad
token comes from this one loopback address, and the load would be answered 302 after 20 of them
a minute instead of 100):

1. **Plateau.** ``--new-answers`` (12,000) new creator x scope answers (500 creators x 24 scopes)
   as fast as the server answers them; RSS after each 2,000 (the issue's figures before the
   change: 104 MB at start, 290 MB after 4,000, 554 MB after 12,000).
2. **Maximum.** ``--max-seconds`` of the mix below on ``--connections`` connections, each sending
   its next request when the last is answered: the throughput the server reaches.
3. **Steady.** ``--minutes`` (10) at ``--load`` (80 %) of that maximum, requests started on a
   fixed schedule: 70 % cached hits (200 creator x scope keys warmed first), 10 % new creators
   (each a new creator x scope: a collection, a stored snapshot, a cache entry), 10 % unknown
   tokens (code 100), 10 % bad parameters (code 400). Every answer's code is checked.

Checks (exit 1 when one misses): RSS at most ``--max-rss-mb`` (150) in every sample; RSS growth
after the warm-up (the first minute) under 10 %; open file descriptors flat after it (within 5);
p99 latency of the last minute within 1.5x that of the first; no request failed.

Usage::

    uv run python benchmarks/soak.py [--minutes 10] [--load 0.8] [--new-answers 12000]

Exits 2 if the server could not be set up. Not part of CI: figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import serve_cached as bench
from pgy_metrics.contract.endpoints import ENDPOINTS, NOTES_RATE, NOTES_RATE_PATH

HOST = "127.0.0.1"
HOT_KEYS = 200
"""Creator x scope keys answered first and then asked again and again: the cached hits."""
MIX = (("hit", 70), ("new", 10), ("bad_token", 10), ("bad_param", 10))
"""Kinds of request in the steady phase and their shares (percent)."""
EXPECTED_CODE = {"hit": 0, "new": 0, "bad_token": 100, "bad_param": 400}
SAMPLE_SECONDS = 5.0
REQUEST_SECONDS = 30.0
"""A request unanswered this long is a failure (a collection takes milliseconds here)."""
FD_SLACK = 5
GROWTH_LIMIT = 0.10
P99_RATIO_LIMIT = 1.5
MAX_ERROR_SAMPLES = 5


# -- requests ------------------------------------------------------------------------------------


class Requests:
    """Request targets of each kind; new creators never repeat within a run."""

    def __init__(self, token: str, seed: int) -> None:
        self._token = quote(token, safe="")
        self._random = random.Random(seed)
        endpoint = ENDPOINTS[NOTES_RATE]
        names = [p.name for p in endpoint.params]
        self.scopes = [
            "&".join(f"{n}={v.value}" for n, v in zip(names, values, strict=True))
            for values in itertools.product(*(p.values for p in endpoint.params))
        ]
        self._creators = itertools.count(1)
        self.hot = [self.target(self._creator(), self.scopes[n % 24]) for n in range(HOT_KEYS)]
        self._bad_params = [
            f"{NOTES_RATE_PATH}?token={self._token}&userId=not-a-creator",
            f"{NOTES_RATE_PATH}?token={self._token}&userId={'a' * 24}&noteType=NOPE",
            f"{NOTES_RATE_PATH}?token={self._token}&userId={'a' * 24}&userId={'b' * 24}",
        ]
        self._kinds = [kind for kind, _share in MIX]
        self._weights = [share for _kind, share in MIX]

    def _creator(self) -> str:
        # Apart from any creator the plateau phase asks (that one counts from 1 with 'f' first).
        return f"e{next(self._creators):023x}"

    def target(self, creator: str, scope: str) -> str:
        return f"{NOTES_RATE_PATH}?token={self._token}&userId={creator}&{scope}"

    def pick(self) -> tuple[str, str]:
        """A kind of the mix and its request target."""
        kind = self._random.choices(self._kinds, self._weights)[0]
        if kind == "hit":
            return kind, self._random.choice(self.hot)
        if kind == "new":
            return kind, self.target(self._creator(), self._random.choice(self.scopes))
        if kind == "bad_token":
            unknown = "pgy_" + "".join(self._random.choices("abcdefghijkmnpqrstuvwxyz234567", k=43))
            return kind, f"{NOTES_RATE_PATH}?token={unknown}&userId={'c' * 24}"
        return kind, self._random.choice(self._bad_params)


# -- a small keep-alive HTTP/1.1 client ------------------------------------------------------------


class Connection(asyncio.Protocol):
    """One keep-alive connection, one request in flight; answers are framed by Content-Length."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[bytes] | None = None
        self._body_at = -1
        self._length = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is no subclass

    def connection_lost(self, exc: Exception | None) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError(f"connection closed ({exc})"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._body_at < 0:
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self._buffer[:end]).lower()
            at = head.find(b"content-length:")
            if at < 0:
                self._fail("an answer without Content-Length")
                return
            line_end = head.find(b"\r\n", at)
            self._length = int(head[at + 15 : line_end if line_end >= 0 else len(head)])
            self._body_at = end + 4
        if len(self._buffer) >= self._body_at + self._length:
            body = bytes(self._buffer[self._body_at : self._body_at + self._length])
            del self._buffer[: self._body_at + self._length]
            self._body_at = -1
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(body)

    def _fail(self, why: str) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError(why))

    async def get(self, target: str) -> bytes:
        assert self.transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(f"GET {target} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
        return await asyncio.wait_for(self._waiter, REQUEST_SECONDS)


class Client:
    """A connection that reconnects when the server closed it (uvicorn closes a keep-alive
    connection idle for 5 s: between phases, or at a low rate)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection: Connection | None = None
        self.reconnects = 0

    async def get(self, target: str) -> bytes:
        connection = self.connection
        if connection is None or connection.transport is None or connection.transport.is_closing():
            if connection is not None:
                self.reconnects += 1
            loop = asyncio.get_running_loop()
            _transport, connection = await loop.create_connection(Connection, HOST, self.port)
            self.connection = connection
        return await connection.get(target)

    def close(self) -> None:
        if self.connection is not None and self.connection.transport is not None:
            self.connection.transport.close()


def clients(port: int, count: int) -> list[Client]:
    return [Client(port) for _ in range(count)]


def close(connections: list[Client]) -> None:
    for connection in connections:
        connection.close()


@dataclass
class Tally:
    """Answers of one phase: latencies (ms) by minute, counts by kind, failures."""

    started: float = field(default_factory=time.monotonic)
    latencies: dict[int, list[float]] = field(default_factory=dict)
    kinds: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    last_minute: int | None = None
    """A request sent just past the phase's end counts in its last minute."""

    def record(self, kind: str, sent: float, body: bytes | BaseException) -> None:
        done = time.monotonic()
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        want = f'{{"code":{EXPECTED_CODE[kind]},'.encode()
        if isinstance(body, BaseException) or not body.startswith(want):
            self.errors += 1
            if len(self.error_samples) < MAX_ERROR_SAMPLES:
                shown = repr(body) if isinstance(body, BaseException) else body[:160].decode()
                self.error_samples.append(f"{kind}: {shown}")
            return
        minute = int((sent - self.started) // 60)
        if self.last_minute is not None:
            minute = min(minute, self.last_minute)
        self.latencies.setdefault(minute, []).append((done - sent) * 1000)

    @property
    def answered(self) -> int:
        return sum(self.kinds.values())


async def ask(connection: Client, kind: str, target: str, tally: Tally) -> None:
    sent = time.monotonic()
    try:
        body: bytes | BaseException = await connection.get(target)
    except (OSError, TimeoutError, RuntimeError) as error:
        body = error
    tally.record(kind, sent, body)


async def closed_loop(
    connections: list[Client],
    next_request: Callable[[], tuple[str, str] | None],
    tally: Tally,
    seconds: float | None = None,
) -> None:
    """Each connection sends its next request when the last is answered, until ``next_request``
    gives None or ``seconds`` pass."""
    deadline = None if seconds is None else time.monotonic() + seconds

    async def run(connection: Client) -> None:
        while deadline is None or time.monotonic() < deadline:
            picked = next_request()
            if picked is None:
                return
            await ask(connection, *picked, tally)

    await asyncio.gather(*(run(c) for c in connections))


async def paced(
    connections: list[Client],
    requests: Requests,
    tally: Tally,
    *,
    rate: float,
    seconds: float,
    on_tick: Callable[[], None],
) -> None:
    """Requests start on a fixed schedule (``rate`` a second), whichever connection is free
    takes the next one; a late server makes requests start late, which the achieved rate shows."""
    start = tally.started = time.monotonic()
    tally.last_minute = max(0, math.ceil(seconds / 60) - 1)
    tickets = itertools.count()
    end = start + seconds

    async def run(connection: Client) -> None:
        while True:
            at = start + next(tickets) / rate
            if at >= end:
                return
            delay = at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await ask(connection, *requests.pick(), tally)

    async def sample() -> None:
        while time.monotonic() < end:
            await asyncio.sleep(SAMPLE_SECONDS)
            on_tick()

    await asyncio.gather(sample(), *(run(c) for c in connections))


# -- the server, from outside ----------------------------------------------------------------------


@dataclass
class Sample:
    seconds: float
    rss_mb: float
    fds: int


class Watched:
    """RSS and open file descriptors of the server process, from ``/proc``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.started = time.monotonic()
        self.samples: list[Sample] = []

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise bench.BenchmarkError("no VmRSS in /proc: is this Linux?")

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def sample(self) -> Sample:
        taken = Sample(time.monotonic() - self.started, self.rss_mb(), self.fds())
        self.samples.append(taken)
        return taken


def percentile(values: list[float], p: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


# -- phases ----------------------------------------------------------------------------------------


async def plateau(port: int, requests: Requests, watched: Watched, count: int) -> list[str]:
    """``count`` new creator x scope answers, all 24 scopes of each creator in turn."""
    lines = [f"{0:>7,}  {watched.sample().rss_mb:>7.1f}  (after start-up and the hot keys)"]
    creators = (f"f{n:023x}" for n in itertools.count(1))
    keys = ((c, s) for c in creators for s in requests.scopes)
    given = 0
    tally = Tally()

    def next_request() -> tuple[str, str] | None:
        nonlocal given
        if given >= count:
            return None
        given += 1
        return "new", requests.target(*next(keys))

    connections = clients(port, 16)
    try:
        while given < count:
            before, started = given, time.monotonic()

            def upto(limit: int = min(count, given + 2000)) -> tuple[str, str] | None:
                return next_request() if given < limit else None

            await closed_loop(connections, upto, tally)
            rate = (given - before) / (time.monotonic() - started)
            lines.append(f"{given:>7,}  {watched.sample().rss_mb:>7.1f}  ({rate:,.0f} answers/s)")
    finally:
        close(connections)
    if tally.errors:
        raise bench.BenchmarkError(f"plateau: {tally.errors} failed: {tally.error_samples}")
    return lines


async def soak(args: argparse.Namespace, port: int, token: str, pid: int) -> tuple[str, bool]:
    requests = Requests(token, seed=args.seed)
    watched = Watched(pid)
    out: list[str] = []
    connections = clients(port, args.connections)
    warm = Tally()
    hot = iter([("new", target) for target in requests.hot])  # their first ask collects
    await closed_loop(connections, lambda: next(hot, None), warm)
    if warm.errors:
        raise bench.BenchmarkError(f"warming the hot keys failed: {warm.error_samples}")

    if args.new_answers:
        out += ["", "Plateau: new creator x scope answers vs server RSS", "", "answers  RSS MB"]
        out += await plateau(port, requests, watched, args.new_answers)

    maximum = Tally()
    await closed_loop(connections, requests.pick, maximum, seconds=args.max_seconds)
    max_rate = maximum.answered / args.max_seconds
    rate = max_rate * args.load
    out += [
        "",
        f"Maximum: {max_rate:,.0f} req/s with the mix on {args.connections} connections "
        f"({args.max_seconds:g} s, {maximum.errors} failed); steady load {args.load:.0%}: "
        f"{rate:,.0f} req/s for {args.minutes:g} min",
    ]
    if maximum.errors:
        out.append(f"  failures: {maximum.error_samples}")

    steady = Tally()
    watched.started = steady.started
    watched.samples.clear()
    watched.sample()

    def tick() -> None:
        taken = watched.sample()
        print(
            f"  {taken.seconds:6.0f} s  RSS {taken.rss_mb:6.1f} MB  fds {taken.fds:3d}  "
            f"answered {steady.answered:,}",
            file=sys.stderr,
            flush=True,
        )

    await paced(connections, requests, steady, rate=rate, seconds=args.minutes * 60, on_tick=tick)
    close(connections)
    watched.sample()
    report, ok = judge(steady, watched, args, rate)
    reconnects = sum(c.reconnects for c in connections)
    report.append(f"connections the server closed and the client made again: {reconnects}")
    return "\n".join(out + report), ok


def judge(
    steady: Tally, watched: Watched, args: argparse.Namespace, rate: float
) -> tuple[list[str], bool]:
    """The per-minute table and the checks."""
    samples = watched.samples
    warmup = args.warmup_seconds
    lines = [
        "",
        "Steady phase, per minute (latency of answered requests, all kinds):",
        "",
        "minute  answered  req/s   p50 ms  p99 ms  RSS MB (end)  fds (end)",
    ]
    minutes = sorted(steady.latencies)
    p99s: dict[int, float] = {}
    for minute in minutes:
        values = steady.latencies[minute]
        p99s[minute] = percentile(values, 99)
        end = [s for s in samples if s.seconds <= (minute + 1) * 60] or samples[:1]
        lines.append(
            f"{minute + 1:>6}  {len(values):>8,}  {len(values) / 60:>5,.0f}  "
            f"{percentile(values, 50):>7.2f}  {p99s[minute]:>6.2f}  {end[-1].rss_mb:>12.1f}  "
            f"{end[-1].fds:>9}"
        )
    after = [s for s in samples if s.seconds >= warmup]
    at_warmup = after[0] if after else samples[-1]
    peak_rss = max(s.rss_mb for s in samples)
    growth = (max(s.rss_mb for s in after) - at_warmup.rss_mb) / at_warmup.rss_mb if after else 0
    fd_spread = max(s.fds for s in after) - min(s.fds for s in after) if after else 0
    first, last = (p99s[minutes[0]], p99s[minutes[-1]]) if minutes else (math.nan, math.nan)
    checks = [
        (
            f"RSS at most {args.max_rss_mb:g} MB (peak {peak_rss:.1f} MB)",
            peak_rss <= args.max_rss_mb,
        ),
        (
            f"RSS growth after the {warmup:g} s warm-up under {GROWTH_LIMIT:.0%} "
            f"({at_warmup.rss_mb:.1f} MB -> peak {at_warmup.rss_mb * (1 + growth):.1f} MB: "
            f"{growth:+.1%})",
            growth < GROWTH_LIMIT,
        ),
        (
            f"open file descriptors flat after the warm-up (spread {fd_spread} <= {FD_SLACK})",
            fd_spread <= FD_SLACK,
        ),
        (
            f"p99 of the last minute within {P99_RATIO_LIMIT}x the first ({last:.2f} ms vs "
            f"{first:.2f} ms: {last / first:.2f}x)",
            last <= P99_RATIO_LIMIT * first,
        ),
        (f"no failed request ({steady.errors} failed)", steady.errors == 0),
    ]
    answered = steady.answered
    lines += [
        "",
        f"answered {answered:,} in {args.minutes:g} min: {answered / (args.minutes * 60):,.0f} "
        f"req/s of {rate:,.0f} scheduled; by kind: "
        + ", ".join(f"{k} {n:,}" for k, n in sorted(steady.kinds.items())),
        f"RSS samples every {SAMPLE_SECONDS:g} s: min {min(s.rss_mb for s in samples):.1f}, "
        f"median {statistics.median(s.rss_mb for s in samples):.1f}, max {peak_rss:.1f} MB",
        "",
        *(f"[{'ok' if passed else 'MISS'}] {text}" for text, passed in checks),
    ]
    if steady.error_samples:
        lines += ["failures:", *(f"  {sample}" for sample in steady.error_samples)]
    return lines, all(passed for _text, passed in checks)


# -- set-up ----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="steady phase length")
    parser.add_argument("--load", type=float, default=0.8, help="share of the measured maximum")
    parser.add_argument("--max-seconds", type=float, default=15.0, help="maximum-throughput run")
    parser.add_argument("--warmup-seconds", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--new-answers", type=int, default=12_000, help="plateau phase; 0 skips")
    parser.add_argument("--max-rss-mb", type=float, default=150.0)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    if not (args.minutes > 0 and 0 < args.load <= 1 and args.max_seconds > 0):
        parser.error("--minutes > 0, 0 < --load <= 1, --max-seconds > 0")
    if args.warmup_seconds >= args.minutes * 60 or args.connections < 1 or args.new_answers < 0:
        parser.error("--warmup-seconds < the steady phase, --connections >= 1, --new-answers >= 0")
    return args


def start_server(
    processes: bench.Processes, env: dict[str, str], work: Path, placement: bench.Placement
) -> tuple[subprocess.Popen[bytes], int, str]:
    port = bench.free_port()
    log = work / "server.log"
    server = processes.start(bench.full_stack_argv(port), env=env, log=log, cpus=placement.server)
    deadline = time.monotonic() + bench.STARTUP_SECONDS
    while True:
        with contextlib.suppress(OSError):
            if bench.get(port, "/healthz", timeout=1.0)[0] == 200:
                break
        if server.poll() is not None or time.monotonic() > deadline:
            raise bench.BenchmarkError(f"pgy serve did not come up:\n{bench.tail(log)}")
        time.sleep(0.1)
    return server, port, bench.create_token(env)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    placement = bench.choose_placement()
    processes = bench.Processes()
    if placement.loadgen is not None:
        os.sched_setaffinity(0, placement.loadgen)
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    with bench.stop_on_signals(), tempfile.TemporaryDirectory(prefix="pgy-soak-") as tmp:
        work = Path(tmp)
        env = bench.pgy_env(work / "data")
        env["PGY_FAILED_TOKEN_LIMIT"] = ""  # every bad token comes from this one address
        try:
            server, port, token = start_server(processes, env, work, placement)
            started_rss = Watched(server.pid).rss_mb()
            report, ok = asyncio.run(soak(args, port, token, server.pid))
        except bench.BenchmarkError as error:
            print(f"soak failed to run: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted: server stopped, no figures", file=sys.stderr)
            return 130
        finally:
            processes.stop_all()
    print("Soak: pgy serve under a steady mixed load, measured from outside")
    print(*bench.machine_info(placement), sep="\n")
    print(
        "settings: defaults (SQLite, sandbox, PGY_SNAPSHOT_CACHE_MB default) except "
        "PGY_FAILED_TOKEN_LIMIT= (off: every bad token comes from one loopback address)"
    )
    print(
        f"mix: {', '.join(f'{k} {w} %' for k, w in MIX)}; {HOT_KEYS} hot keys; "
        f"{args.connections} connections"
    )
    print(f"RSS after start-up (token created, nothing answered yet): {started_rss:.1f} MB")
    print(report)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
