"""``./dev check``'s system packages (scripts/system-packages.sh): said before done, skippable.

The script runs for real under bash; only the system tools it asks are stand-ins on ``PATH``:
``fc-list`` (which fonts cover Chinese), ``id`` (are we root), ``apt-get``, which records its
arguments instead of installing, and the samples' runtimes (``node``, ``java``, ``go``, ``php``
with its curl extension, ``curl``, ``jq``). ``PATH`` holds only the stand-ins, so a runtime left
out is missing whatever the machine has. ``PGY_CHROMIUM`` names an existing program, so
Chromium counts as present.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "system-packages.sh"
APT_RAN = "apt-get ran:"
BASH = shutil.which("bash") or "/bin/bash"


def _tool(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!{BASH}\n{body}\n", encoding="utf-8")
    path.chmod(0o755)


RUNTIMES = ("node", "javac", "go", "php", "curl", "jq")


def run(
    tmp_path: Path,
    *,
    cjk_font: bool,
    uid: int,
    runtimes: tuple[str, ...] = RUNTIMES,
    php_modules: str = "curl",
    **env: str,
) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The script with stand-in tools; returns its result and the apt-get calls it made."""
    tools = tmp_path / "bin"
    tools.mkdir(parents=True, exist_ok=True)
    calls = tmp_path / "apt-get.calls"
    _tool(tools, "fc-list", "echo 'Noto Sans CJK SC,Noto Sans CJK SC Regular'" if cjk_font else "")
    _tool(tools, "id", f'[ "$1" = -u ] && echo {uid}')
    _tool(tools, "apt-get", f'echo "$*" >> {calls}; echo "{APT_RAN} $*" >&2')
    for name in runtimes:
        _tool(tools, name, f"printf 'Core\\n{php_modules}\\njson\\n'" if name == "php" else "")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PGY_")}
    environment.update(PATH=str(tools), PGY_CHROMIUM="/bin/sh", **env)
    result = subprocess.run(
        [BASH, str(SCRIPT)], env=environment, capture_output=True, text=True, check=False
    )
    made = calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []
    return result, made


def test_as_root_it_says_what_it_installs_and_why_before_apt_get_runs(tmp_path: Path) -> None:
    result, calls = run(tmp_path, cjk_font=False, uid=0)
    assert result.returncode == 0, result.stderr
    assert calls == ["install -y -q fonts-noto-cjk"]
    announced = result.stderr.index("installing Debian packages with apt-get as root")
    why = result.stderr.index("fonts-noto-cjk  a CJK font")
    assert announced < why < result.stderr.index(APT_RAN)
    assert "PGY_NO_APT=1 skips this" in result.stderr[: result.stderr.index(APT_RAN)]
    assert result.stdout == ""


def test_pgy_no_apt_installs_nothing_and_says_the_browser_tests_skip(tmp_path: Path) -> None:
    result, calls = run(tmp_path, cjk_font=False, uid=0, PGY_NO_APT="1")
    assert result.returncode == 0
    assert calls == []
    assert "PGY_NO_APT=1, so not installing fonts-noto-cjk" in result.stderr
    skip = "the browser tests and the samples' tests skip (and fail under PGY_REQUIRE_SERVICES=1)"
    assert skip in result.stderr


def test_without_root_it_names_the_packages_and_the_command(tmp_path: Path) -> None:
    result, calls = run(tmp_path, cjk_font=False, uid=1000)
    assert result.returncode == 0
    assert calls == []
    assert "sudo apt-get install fonts-noto-cjk" in result.stderr
    assert "the browser tests and the samples' tests skip" in result.stderr


@pytest.mark.parametrize("uid", [0, 1000])
def test_nothing_missing_means_nothing_said_and_nothing_installed(tmp_path: Path, uid: int) -> None:
    result, calls = run(tmp_path, cjk_font=True, uid=uid)
    assert (result.returncode, result.stderr, calls) == (0, "", [])


def test_a_missing_runtime_of_the_samples_is_named_with_its_package(tmp_path: Path) -> None:
    result, calls = run(tmp_path, cjk_font=True, uid=0, runtimes=("node", "php", "curl", "jq"))
    assert result.returncode == 0, result.stderr
    assert calls == ["install -y -q default-jdk-headless golang-go"]
    assert "golang-go" in result.stderr and "runs the docs pages' samples (Go)" in result.stderr


def test_php_without_its_curl_extension_gets_it(tmp_path: Path) -> None:
    result, calls = run(tmp_path, cjk_font=True, uid=0, php_modules="mbstring")
    assert calls == ["install -y -q php-curl"], result.stderr
    no_php = run(tmp_path / "no-php", cjk_font=True, uid=0, runtimes=("node", "javac", "go"))[1]
    assert no_php == ["install -y -q php-cli php-curl curl jq"]
