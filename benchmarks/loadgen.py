"""A small HTTP/1.1 keep-alive load generator on raw sockets, printing its results as JSON.

Why not wrk or an HTTP client library: a fresh machine has only our lock file, and a client
library (httpx, aiohttp) spends more CPU per request than the servers we measure, so it would
measure itself. This one keeps ``C`` connections busy with one request in flight each (no
pipelining, as real clients do), frames responses by ``Content-Length`` and checks each one, and
does as little else as it can: a prebuilt request, an ``asyncio.Protocol`` per connection and
uvloop when installed.

It runs in its own process (pin it to a different CPU from the server) and reports its own CPU use
in the measured window, and the server's when given ``--server-pid`` (Linux ``/proc``), so a run
in which the load generator rather than the server was the bottleneck can be seen as such.

Usage::

    python benchmarks/loadgen.py --port 8000 --path '/api/...?token=...' \
        --connections 32 --warmup 2 --seconds 8 --expect-prefix '{"code":0,'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import resource
import sys
import time
from array import array
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

HOST = "127.0.0.1"
DRAIN_SECONDS = 5.0
"""After the window closes, how long in-flight requests may take before they count as errors."""
CONNECT_SECONDS = 5.0
MAX_ERROR_SAMPLES = 5
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


@dataclass
class Results:
    """What one run measured; latencies in milliseconds, CPU shares in cores (1.0 = one core)."""

    connections: int
    seconds: float
    requests: int
    errors: int
    unfinished: int
    rps: float
    latency_ms: dict[str, float]
    loadgen_cpu: float
    server_cpu: float | None
    error_samples: list[str] = field(default_factory=list)


class Run:
    """Shared state of all connections: the phase, the counters and the latency samples."""

    def __init__(self, *, request: bytes, expect_prefix: bytes) -> None:
        self.request = request
        self.expect_prefix = expect_prefix
        self.sending = True
        self.measuring = False
        self.window_start_ns = 0
        self.window_end_ns = 0
        self.requests = 0
        self.errors = 0
        self.latencies_ns = array("q")
        self.error_samples: list[str] = []
        self.in_flight = 0
        self.drained = asyncio.Event()

    def landed(self) -> None:
        """One request is no longer in flight; wake the drain once the last one lands."""
        self.in_flight -= 1
        if not self.sending and self.in_flight == 0:
            self.drained.set()

    def stop_sending(self) -> None:
        self.sending = False
        if self.in_flight == 0:
            self.drained.set()

    def error(self, what: str) -> None:
        """Count an error (in the window or not: any error makes the run suspect)."""
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES:
            self.error_samples.append(what)


class Connection(asyncio.Protocol):
    """One keep-alive connection: send, read one full response, check it, send again."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.frame_end = -1
        """Where the current response ends in ``buffer`` once its head is parsed, else -1."""
        self.body_start = 0
        self.status_ok = False
        self.sent_ns = 0
        self.waiting = False
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.send()

    def send(self) -> None:
        assert self.transport is not None
        self.waiting = True
        self.run.in_flight += 1
        self.sent_ns = time.perf_counter_ns()
        self.transport.write(self.run.request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if self.frame_end < 0:
            head_end = buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            head = bytes(buffer[:head_end]).lower()
            self.status_ok = head.startswith(b"http/1.1 200 ")
            at = head.find(b"\r\ncontent-length:")
            if at < 0:
                self.fail(f"response without Content-Length: {head[:200]!r}")
                return
            line_end = head.find(b"\r\n", at + 2)
            try:
                length = int(head[at + 17 : line_end if line_end >= 0 else len(head)])
            except ValueError:
                self.fail(f"bad Content-Length: {head[:200]!r}")
                return
            self.body_start = head_end + 4
            self.frame_end = self.body_start + length
        if len(buffer) < self.frame_end:
            return
        if len(buffer) > self.frame_end:
            self.fail("more bytes than one response (the server pipelined or mis-framed)")
            return
        now = time.perf_counter_ns()
        run = self.run
        self.waiting = False
        run.landed()
        if not self.status_ok:
            run.error(f"status line {bytes(buffer[:40])!r}")
        elif not buffer.startswith(run.expect_prefix, self.body_start):
            run.error(f"unexpected body {bytes(buffer[self.body_start : self.body_start + 80])!r}")
        elif run.measuring:
            run.requests += 1
            run.latencies_ns.append(now - self.sent_ns)
        buffer.clear()
        self.frame_end = -1
        if run.sending:
            self.send()
        else:
            self.finish()

    def fail(self, what: str) -> None:
        self.run.error(what)
        self.finish()

    def finish(self) -> None:
        if self.waiting:
            self.waiting = False
            self.run.landed()
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiting:
            self.waiting = False
            self.run.landed()
            self.run.error(f"connection lost mid-response: {exc!r}")
        if not self.closed.done():
            self.closed.set_result(None)


def percentile(sorted_values: array[int], p: float) -> float:
    """Nearest-rank percentile of nanosecond samples, in milliseconds."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[rank - 1] / 1e6


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (all its threads), from ``/proc``; None elsewhere."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def drive(
    *,
    port: int,
    request: bytes,
    expect_prefix: bytes,
    connections: int,
    warmup: float,
    seconds: float,
    server_pid: int | None,
) -> Results:
    """Open the connections, warm up, measure for ``seconds``, then drain and close."""
    loop = asyncio.get_running_loop()
    run = Run(request=request, expect_prefix=expect_prefix)
    protocols: list[Connection] = []
    for _ in range(connections):
        _, protocol = await asyncio.wait_for(
            loop.create_connection(lambda: Connection(run), HOST, port), CONNECT_SECONDS
        )
        protocols.append(protocol)
    await asyncio.sleep(warmup)

    gc.collect()
    gc.disable()  # our own pauses would show up as the server's latency
    server_cpu_start = process_cpu_seconds(server_pid) if server_pid else None
    own_cpu_start = own_cpu_seconds()
    run.window_start_ns = time.perf_counter_ns()
    run.measuring = True
    await asyncio.sleep(seconds)
    run.measuring = False
    run.window_end_ns = time.perf_counter_ns()
    own_cpu = own_cpu_seconds() - own_cpu_start
    server_cpu_end = process_cpu_seconds(server_pid) if server_pid else None
    gc.enable()

    run.stop_sending()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run.drained.wait(), DRAIN_SECONDS)
    unfinished = run.in_flight
    if unfinished:
        run.error(f"{unfinished} request(s) unanswered {DRAIN_SECONDS}s after the window")
    for protocol in protocols:
        protocol.finish()
    await asyncio.wait_for(
        asyncio.gather(*(protocol.closed for protocol in protocols)), CONNECT_SECONDS
    )

    window = (run.window_end_ns - run.window_start_ns) / 1e9
    samples = array("q", sorted(run.latencies_ns))
    latency = {f"p{p:g}": percentile(samples, p) for p in PERCENTILES}
    latency["mean"] = sum(samples) / len(samples) / 1e6 if samples else math.nan
    latency["max"] = samples[-1] / 1e6 if samples else math.nan
    server_cpu = (
        (server_cpu_end - server_cpu_start) / window
        if server_cpu_start is not None and server_cpu_end is not None
        else None
    )
    return Results(
        connections=connections,
        seconds=window,
        requests=run.requests,
        errors=run.errors,
        unfinished=unfinished,
        rps=run.requests / window,
        latency_ms=latency,
        loadgen_cpu=own_cpu / window,
        server_cpu=server_cpu,
        error_samples=run.error_samples,
    )


def install_fast_loop() -> str:
    """Use uvloop when installed (it is, with uvicorn[standard]); name the loop for the report."""
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True, help="Request target, with its query string.")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument(
        "--expect-prefix", default="", help="Every response body must start with this."
    )
    parser.add_argument(
        "--server-pid", type=int, help="Report this process's CPU use in the window."
    )
    args = parser.parse_args()
    if args.connections < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--connections must be >= 1, --seconds > 0, --warmup >= 0")
    request = (
        f"GET {args.path} HTTP/1.1\r\nHost: {HOST}:{args.port}\r\n"
        "User-Agent: pgy-loadgen\r\nAccept: */*\r\n\r\n"
    ).encode("latin-1")
    loop_name = install_fast_loop()
    try:
        results = asyncio.run(
            drive(
                port=args.port,
                request=request,
                expect_prefix=args.expect_prefix.encode(),
                connections=args.connections,
                warmup=args.warmup,
                seconds=args.seconds,
                server_pid=args.server_pid,
            )
        )
    except OSError as error:  # connection refused or reset while connecting: no run to report
        print(f"loadgen: cannot reach {HOST}:{args.port}: {error!r}", file=sys.stderr)
        return 2
    report: dict[str, Any] = {"loop": loop_name, **asdict(results)}
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
