"""How long ``pgy`` takes to start, against the eager imports it used to do, in the same run.

Each command is run as a fresh process (``python -m pgy_metrics --version``), as a user runs it.
The baseline is a process importing what every ``pgy`` start imported before commands loaded their
stacks lazily: the command modules plus the server app, Alembic and the analytics layer. A bare
``python -c pass`` is printed as the floor no command can go below.

    uv run python benchmarks/cli_startup.py [--runs 9]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

EAGER_IMPORTS = (
    "import pgy_metrics.cli.main, pgy_metrics.server.app, pgy_metrics.analytics.analysis, "
    "alembic.command"
)
"""What a ``pgy`` start cost before: every command's stack loaded up front."""

RUNS = {
    "python -c pass (floor)": [sys.executable, "-c", "pass"],
    "eager imports (before)": [sys.executable, "-c", EAGER_IMPORTS],
    "pgy --version (now)": [sys.executable, "-m", "pgy_metrics", "--version"],
}


def seconds(argv: Sequence[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True)
    return time.perf_counter() - started


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="runs of each command (median)")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be >= 1")
    for argv_ in RUNS.values():  # warm the file cache once, untimed
        seconds(argv_)
    medians = {}
    for label, command in RUNS.items():
        times = [seconds(command) for _ in range(args.runs)]
        medians[label] = statistics.median(times)
    print(f"pgy start-up, fresh processes, median of {args.runs} (python {sys.version.split()[0]})")
    print()
    print("| run | seconds |")
    print("|---|---:|")
    for label, value in medians.items():
        print(f"| {label} | {value:.3f} |")
    before, now = medians["eager imports (before)"], medians["pgy --version (now)"]
    print()
    print(f"ratio before / now: {before / now:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
