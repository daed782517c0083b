"""Benchmark: cached hits through the full stack vs a bare ASGI app returning the same bytes.

The claim under test is that a cached answer costs little beyond the HTTP server itself. So the
baseline is not "some fast server" but the floor of *our* server: the same uvicorn, options, worker
count, event loop, HTTP parser and access log, serving the exact bytes of a cached hit from a
plain ASGI function (``bare_app.py``). Everything the full stack spends above that floor is ours.

Both targets run in this one invocation with the same load (``loadgen.py``, its own process, a
different CPU from the server), one server process at a time, pinned to the same CPU, in
alternating rounds (bare, full, bare, full, ...) so drift of the machine hits both; the figures are
the medians of the rounds. The full stack is started exactly as a user starts it
(``python -m pgy_metrics serve --port P``, default settings, sandbox source, SQLite in a fresh
``PGY_DATA_DIR``) and its token is made with the CLI.

Usage::

    uv run python benchmarks/serve_cached.py [--seconds 8] [--warmup 2] [--connections 128]
                                             [--rounds 3]

Exits 1 if any request of any run failed (a run with errors measures the wrong thing), 2 if a
server could not be set up. The target (throughput ratio >= 0.5) is reported, not enforced.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.metadata
import importlib.util
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import quote

from pgy_metrics.contract.endpoints import NOTES_RATE_PATH
from pgy_metrics.contract.params import USER_ID_EXAMPLE

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"
TARGET_RATIO = 0.5
"""The issue's target: full-stack requests/s at least half the bare app's."""
SUCCESS_PREFIX = '{"code":0,'
"""Every answer, from either target, must start so: a success envelope."""
STARTUP_SECONDS = 30.0
STOP_SECONDS = 10.0
CLI_SECONDS = 60.0
LOADGEN_SLACK_SECONDS = 30.0
"""Beyond warm-up + window: connecting, draining and start-up of the load generator process."""
LOG_TAIL_CHARS = 3000
DEFAULT_CONNECTIONS = 128
"""Headroom to keep even the bare app CPU-bound. On a quiet 2-vCPU machine 16 connections already
saturate it, but while other work ran there, 32 left it at ~60 % of a CPU (waiting on cross-CPU
wake-ups), which understates the baseline and flatters the ratio; 128 stayed saturated. At
saturation latency is mostly queueing (p50 ~ connections / req/s), for both targets alike."""
SATURATED_CPU = 0.9
"""Below this share of a CPU in the window a server was waiting, not working: its req/s is a lower
bound of its capacity, so the report says so."""
TARGETS = ("bare", "full")
LABELS = {"bare": "bare ASGI app", "full": "full stack (pgy serve)"}


class BenchmarkError(Exception):
    """Set-up failed (a server did not start, the CLI failed, a reply was not a cached hit)."""


@dataclass
class Captured:
    """A cached hit's response as the full stack sent it: what the bare app will send back."""

    body: bytes
    headers: list[tuple[str, str]]


@dataclass
class Round:
    target: str
    number: int
    result: dict[str, Any]


@dataclass
class Placement:
    """Which CPUs the server and the load generator may use (None: no pinning available)."""

    server: set[int] | None
    loadgen: set[int] | None

    def describe(self) -> str:
        if self.server is None or self.loadgen is None:
            return "not pinned (no sched_setaffinity or a single CPU)"
        return f"server on CPU {_cpus(self.server)}, load generator on CPU {_cpus(self.loadgen)}"


@dataclass
class Processes:
    """Every child process started, so all are stopped at the end, even on Ctrl-C or error."""

    started: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(
        self, argv: Sequence[str], *, env: dict[str, str], log: Path, cpus: set[int] | None
    ) -> subprocess.Popen[bytes]:
        with log.open("ab") as sink:
            process = subprocess.Popen(
                argv,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                preexec_fn=_pin(cpus),  # safe: this process has no threads
            )
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            stop(process)
        self.started.clear()


def _cpus(cpus: set[int]) -> str:
    return ",".join(str(cpu) for cpu in sorted(cpus))


def _pin(cpus: set[int] | None) -> Callable[[], None] | None:
    """Pin the child before it starts: every thread it makes later inherits the CPU set."""
    if cpus is None:
        return None

    def pin() -> None:
        os.sched_setaffinity(0, cpus)

    return pin


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down cleanly), then SIGKILL if it has not gone in time."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def choose_placement() -> Placement:
    """First allowed CPU for the server, second for the load generator; the same for every run."""
    if not hasattr(os, "sched_getaffinity"):
        return Placement(None, None)
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        return Placement(None, None)
    return Placement({allowed[0]}, {allowed[1]})


def pgy_env(data_dir: Path) -> dict[str, str]:
    """Our environment without any ``PGY_*`` setting except a fresh data directory: defaults."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PGY_")}
    env["PGY_DATA_DIR"] = str(data_dir)
    return env


def get(
    port: int, target: str, *, timeout: float = 5.0
) -> tuple[int, list[tuple[str, str]], bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        connection.close()


def wait_ready(process: subprocess.Popen[bytes], port: int, target: str, log: Path) -> bytes:
    """Poll until ``target`` answers a success envelope; that first answer also warms the cache."""
    deadline = time.monotonic() + STARTUP_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError(f"server exited with {process.returncode}:\n{tail(log)}")
        try:
            status, _, body = get(port, target, timeout=2.0)
        except OSError as error:
            last = repr(error)
        else:
            if status == 200 and body.startswith(SUCCESS_PREFIX.encode()):
                return body
            last = f"HTTP {status}: {body[:200]!r}"
        time.sleep(0.1)
    raise BenchmarkError(f"server not ready in {STARTUP_SECONDS:g}s ({last}):\n{tail(log)}")


def tail(log: Path) -> str:
    return log.read_text("utf-8", errors="replace")[-LOG_TAIL_CHARS:]


def notes_rate_target(token: str) -> str:
    return f"{NOTES_RATE_PATH}?token={quote(token, safe='')}&userId={USER_ID_EXAMPLE}"


def create_token(env: dict[str, str]) -> str:
    """``pgy token create``, as a user runs it; it prints only the token on stdout."""
    result = subprocess.run(
        [sys.executable, "-m", "pgy_metrics", "token", "create", "--name", "benchmark"],
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_SECONDS,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise BenchmarkError(f"pgy token create failed:\n{result.stderr}")
    return result.stdout.strip()


def full_stack_argv(port: int) -> list[str]:
    return [sys.executable, "-m", "pgy_metrics", "serve", "--port", str(port)]


def bare_app_argv(port: int, response_dir: Path) -> list[str]:
    return [
        sys.executable,
        str(HERE / "bare_app.py"),
        "--port",
        str(port),
        "--response-dir",
        str(response_dir),
    ]


def capture_cached_hit(
    processes: Processes, *, env: dict[str, str], work: Path, placement: Placement
) -> tuple[str, Captured]:
    """Start the full stack, make a token, fetch twice; the second answer is the cached hit."""
    port = free_port()
    log = work / "setup-full.log"
    process = processes.start(full_stack_argv(port), env=env, log=log, cpus=placement.server)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                if get(port, "/healthz", timeout=1.0)[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise BenchmarkError(f"pgy serve did not come up:\n{tail(log)}")
            time.sleep(0.1)
        target = notes_rate_target(create_token(env))
        first = wait_ready(process, port, target, log)  # a miss: collected from the sandbox
        status, headers, body = get(port, target)
    finally:
        stop(process)
    if status != 200 or not body.startswith(SUCCESS_PREFIX.encode()):
        raise BenchmarkError(f"the second request did not succeed: HTTP {status} {body[:200]!r}")
    if json.loads(first)["recordTime"] != json.loads(body)["recordTime"]:
        raise BenchmarkError("the second answer was collected again: it is not a cached hit")
    kept = [(name, value) for name, value in headers if name.lower() not in ("date", "server")]
    return target, Captured(body=body, headers=kept)


def run_round(
    processes: Processes,
    *,
    target_name: str,
    number: int,
    argv_for: Callable[[int], list[str]],
    request_target: str,
    env: dict[str, str],
    work: Path,
    placement: Placement,
    args: argparse.Namespace,
) -> Round:
    """One server process, warmed with one request, under one load-generator run, then stopped."""
    port = free_port()
    log = work / f"{target_name}-{number}.log"
    server = processes.start(argv_for(port), env=env, log=log, cpus=placement.server)
    try:
        wait_ready(server, port, request_target, log)
        loadgen = [
            sys.executable,
            str(HERE / "loadgen.py"),
            "--port",
            str(port),
            "--path",
            request_target,
            "--connections",
            str(args.connections),
            "--warmup",
            str(args.warmup),
            "--seconds",
            str(args.seconds),
            "--expect-prefix",
            SUCCESS_PREFIX,
            "--server-pid",
            str(server.pid),
        ]
        completed = subprocess.run(
            loadgen,
            env=env,
            capture_output=True,
            text=True,
            timeout=args.warmup + args.seconds + LOADGEN_SLACK_SECONDS,
            check=False,
            preexec_fn=_pin(placement.loadgen),  # safe: this process has no threads
        )
        if not completed.stdout.strip():
            raise BenchmarkError(
                f"load generator failed ({completed.returncode}):\n{completed.stderr[-3000:]}"
            )
        result: dict[str, Any] = json.loads(completed.stdout)
    finally:
        stop(server)
    if server.returncode not in (0, -signal.SIGTERM):
        result["errors"] += 1
        result["error_samples"].append(f"server exited with {server.returncode}")
    return Round(target=target_name, number=number, result=result)


def median_of(rounds: list[Round], pick: Callable[[dict[str, Any]], float]) -> float:
    return statistics.median(pick(r.result) for r in rounds)


def code_version() -> str:
    """The commit measured (figures belong to a version of the code), if this is a git checkout."""
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown (not a git checkout)"
    return f"git {described.stdout.strip()}"


def machine_info(placement: Placement) -> list[str]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    parser = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return [
        f"code: {code_version()}",
        f"machine: {platform.platform()}; {os.cpu_count()} CPUs{f' ({model})' if model else ''}",
        f"python {platform.python_version()}, uvicorn {importlib.metadata.version('uvicorn')} "
        f"(loop auto -> {loop}, http auto -> {parser}), "
        f"fastapi {importlib.metadata.version('fastapi')}",
        f"placement: {placement.describe()}",
    ]


def format_report(
    rounds: list[Round], *, args: argparse.Namespace, captured: Captured, placement: Placement
) -> str:
    """The per-round rows, the medians table with the ratios, and every caveat that applies."""
    lines = [
        "Cached hits: full stack (pgy serve) vs bare ASGI app with the same bytes, same uvicorn",
        *machine_info(placement),
        f"load: {args.connections} keep-alive connections, {args.warmup:g} s warm-up + "
        f"{args.seconds:g} s measured, {args.rounds} rounds alternating bare/full; "
        f"response body {len(captured.body):,} bytes",
        "",
        "round  target  req/s     p50 ms  p99 ms  server CPU  loadgen CPU  errors",
    ]
    for r in rounds:
        res = r.result
        server_cpu = res["server_cpu"]
        lines.append(
            f"{r.number:<5}  {r.target:<6}  {res['rps']:>8,.0f}  {res['latency_ms']['p50']:>6.2f}"
            f"  {res['latency_ms']['p99']:>6.2f}  "
            f"{'n/a' if server_cpu is None else f'{server_cpu:.2f}':>10}  "
            f"{res['loadgen_cpu']:>11.2f}  {res['errors']:>6}"
        )
    summary: dict[str, dict[str, float]] = {}
    for name in TARGETS:
        mine = [r for r in rounds if r.target == name]
        summary[name] = {
            "rps": median_of(mine, lambda res: res["rps"]),
            "p50": median_of(mine, lambda res: res["latency_ms"]["p50"]),
            "p99": median_of(mine, lambda res: res["latency_ms"]["p99"]),
            "errors": sum(r.result["errors"] for r in mine),
        }
    bare, full = summary["bare"], summary["full"]
    ratio = full["rps"] / bare["rps"]
    lines += [
        "",
        f"medians of {args.rounds} rounds:",
        "",
        "| target                 |    req/s | p50 ms | p99 ms | errors |",
        "|------------------------|---------:|-------:|-------:|-------:|",
    ]
    for name in TARGETS:
        s = summary[name]
        lines.append(
            f"| {LABELS[name]:<22} | {s['rps']:>8,.0f} | {s['p50']:>6.2f} | {s['p99']:>6.2f} "
            f"| {s['errors']:>6.0f} |"
        )
    lines += [
        f"| {'full / bare':<22} | {ratio:>8.2f} | {full['p50'] / bare['p50']:>6.2f} "
        f"| {full['p99'] / bare['p99']:>6.2f} |        |",
        "",
        f"throughput ratio full/bare: {ratio:.2f} (latency ratios above: full/bare, >1 = slower)",
        f"ratio >= {TARGET_RATIO}: {'yes' if ratio >= TARGET_RATIO else 'no'}",
    ]
    idle = [
        r
        for r in rounds
        if r.result["server_cpu"] is not None and r.result["server_cpu"] < SATURATED_CPU
    ]
    if idle:
        lines.append(
            f"note: {len(idle)} run(s) kept the server below {SATURATED_CPU:.0%} of a CPU "
            f"({', '.join(f'{r.target} round {r.number}' for r in idle)}): their req/s is a lower "
            "bound, not the server's capacity (if the bare app's, the ratio is overstated); "
            "try more --connections."
        )
    errors = sum(r.result["errors"] for r in rounds)
    if errors:
        lines.append(f"ERRORS: {errors} failed request(s); these figures are not valid:")
        lines += [
            f"  {r.target} round {r.number}: {sample}"
            for r in rounds
            for sample in r.result["error_samples"]
        ]
    return "\n".join(lines)


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """Make SIGTERM and SIGINT raise ``KeyboardInterrupt`` here, so the servers are stopped.

    SIGINT is reset to Python's handler because a shell starting us in the background leaves it
    ignored, and Ctrl-C must still stop everything.
    """

    def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous_term = signal.signal(signal.SIGTERM, on_sigterm)
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous_term)
        signal.signal(signal.SIGINT, previous_int)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds per run")
    parser.add_argument(
        "--connections", type=int, default=DEFAULT_CONNECTIONS, help="concurrent connections"
    )
    parser.add_argument("--rounds", type=int, default=3, help="runs per target, alternating")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.warmup < 0 or args.connections < 1 or args.rounds < 1:
        parser.error("--seconds > 0, --warmup >= 0, --connections >= 1, --rounds >= 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    placement = choose_placement()
    processes = Processes()
    with stop_on_signals(), tempfile.TemporaryDirectory(prefix="pgy-bench-") as tmp:
        work = Path(tmp)
        env = pgy_env(work / "data")
        try:
            request_target, captured = capture_cached_hit(
                processes, env=env, work=work, placement=placement
            )
            response_dir = work / "response"
            response_dir.mkdir()
            (response_dir / "body").write_bytes(captured.body)
            (response_dir / "headers.json").write_text(json.dumps(captured.headers))
            argv_for: dict[str, Callable[[int], list[str]]] = {
                "bare": lambda port: bare_app_argv(port, response_dir),
                "full": full_stack_argv,
            }
            rounds: list[Round] = []
            for number in range(1, args.rounds + 1):
                for name in TARGETS:
                    print(f"round {number}/{args.rounds}: {name} ...", file=sys.stderr, flush=True)
                    rounds.append(
                        run_round(
                            processes,
                            target_name=name,
                            number=number,
                            argv_for=argv_for[name],
                            request_target=request_target,
                            env=env,
                            work=work,
                            placement=placement,
                            args=args,
                        )
                    )
        except BenchmarkError as error:
            print(f"benchmark failed: {error}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("interrupted: servers stopped, no figures", file=sys.stderr)
            return 130
        finally:
            processes.stop_all()
    print(format_report(rounds, args=args, captured=captured, placement=placement))
    return 1 if any(r.result["errors"] for r in rounds) else 0


if __name__ == "__main__":
    sys.exit(main())
