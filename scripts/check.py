"""Every check in one command (style rule 10): ruff lint, ruff format, mypy, then pytest.

Stops at the first failure and exits non-zero; pytest collecting no test is a failure too.
Extra arguments go to pytest.
"""

from __future__ import annotations

import subprocess
import sys

CHECKS = [
    ["ruff", "check", "."],
    ["ruff", "format", "--check", "."],
    ["mypy"],
]


def main() -> int:
    for command in CHECKS:
        print(f"$ {' '.join(command)}", flush=True)
        if subprocess.call(command) != 0:
            print(f"check failed: {' '.join(command)}", file=sys.stderr)
            return 1
    command = ["pytest", *sys.argv[1:]]
    print(f"$ {' '.join(command)}", flush=True)
    code = subprocess.call(command)
    if code == 5:
        print("check failed: pytest collected no tests", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
