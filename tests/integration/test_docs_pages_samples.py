"""Every code sample of every endpoint's page, run as a reader would against a real server.

``pgy serve`` (sandbox source, SQLite) on loopback, a real token from ``pgy token create``; each
sample is taken from the page's HTML exactly as shown (``YOUR_TOKEN`` replaced by the token),
saved under its file name and run with its runtime: Python (``requests``, our client, the
official ``justoneapi`` SDK), Node.js, Java (single-file launch), Go (``go run``, standard library
only, no network), PHP (curl extension) and the curl + jq line. Each must exit 0 and print the
``data`` the server answers for the same call; with a wrong token each must exit non-zero and
print code 100. A missing runtime skips with the Debian package to install
(scripts/system-packages.sh installs them), and fails under ``PGY_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from pgy_metrics.contract.endpoints import ENDPOINTS
from pgy_metrics.contract.params import USER_ID_EXAMPLE
from tests.conftest import unavailable
from tests.integration.servers import ServerProcess, pgy, pgy_env

pytestmark = pytest.mark.integration

SAMPLE = re.compile(
    r'<code id="sample-(?P<key>[a-z-]+)" class="sample language-[a-z]+" data-sample="[a-z-]+" '
    r'data-filename="(?P<file>[^"]+)">(?P<code>.*?)</code>',
    re.S,
)
RUN_SECONDS = 180


@dataclass(frozen=True)
class Runtime:
    """How to run one kind of sample, and which Debian package brings what it needs."""

    programs: tuple[str, ...]
    package: str
    command: tuple[str, ...]
    """``{file}`` is the sample's file name."""


PYTHON = Runtime((), "", (sys.executable, "{file}"))
RUNTIMES: dict[str, Runtime] = {
    "curl": Runtime(("bash", "curl", "jq"), "curl jq", ("bash", "{file}")),
    "python-requests": PYTHON,
    "python-client": PYTHON,
    "python-sdk": PYTHON,
    "javascript": Runtime(("node",), "nodejs", ("node", "{file}")),
    "java": Runtime(("java", "javac"), "default-jdk-headless", ("java", "{file}")),
    "go": Runtime(("go",), "golang-go", ("go", "run", "{file}")),
    "php": Runtime(("php",), "php-cli php-curl", ("php", "{file}")),
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    folder = tmp_path_factory.mktemp("docs-samples")
    env = pgy_env(folder / "data")
    token = pgy("token", "create", "--name", "samples", env=env).stdout.strip()
    with ServerProcess(env, folder / "server.log") as process:
        yield process, token
        assert token not in process.logs()


@pytest.fixture(scope="module")
def go_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Writable GOCACHE/GOPATH/HOME for ``go run`` (shared by the module: one build cache)."""
    return tmp_path_factory.mktemp("go-home")


def samples_of(base_url: str, endpoint: str) -> dict[str, tuple[str, str]]:
    """The samples on the endpoint's page: key -> (file name, text as shown)."""
    page = httpx.get(f"{base_url}/docs/{endpoint}", timeout=30)
    assert page.status_code == 200
    return {
        match["key"]: (match["file"], html.unescape(match["code"]))
        for match in SAMPLE.finditer(page.text)
    }


def _require(runtime: Runtime) -> None:
    missing = [program for program in runtime.programs if shutil.which(program) is None]
    if missing:
        unavailable(
            f"{', '.join(missing)} not installed: install the Debian package(s) {runtime.package} "
            "(scripts/system-packages.sh does, unless PGY_NO_APT=1)"
        )
    if "php" in runtime.programs:
        modules = subprocess.run(["php", "-m"], capture_output=True, text=True, check=False)
        if "curl" not in modules.stdout.split():
            unavailable("PHP has no curl extension: install the Debian package php-curl")


def run_sample(
    key: str, file_name: str, code: str, folder: Path, go_home: Path
) -> subprocess.CompletedProcess[str]:
    runtime = RUNTIMES[key]
    _require(runtime)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file_name).write_text(code, encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("PGY_")}
    env.update(
        HOME=str(go_home),
        GOCACHE=str(go_home / "cache"),
        GOPATH=str(go_home / "path"),
        GOFLAGS="-mod=mod",
        GOPROXY="off",
        GOTOOLCHAIN="local",
        GO111MODULE="auto",
        NO_PROXY="127.0.0.1,localhost",
    )
    command = [part.replace("{file}", file_name) for part in runtime.command]
    return subprocess.run(
        command,
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )


@pytest.mark.parametrize("key", sorted(RUNTIMES))
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_every_sample_prints_the_data_of_a_real_call(
    server: tuple[ServerProcess, str], go_home: Path, tmp_path: Path, endpoint: str, key: str
) -> None:
    process, token = server
    samples = samples_of(process.base_url, endpoint)
    assert set(samples) == {*RUNTIMES, "prompt"}
    file_name, code = samples[key]
    assert "YOUR_TOKEN" in code
    assert re.search(r"\b60\b|60_000", code), "every sample sets a 60 s timeout"
    result = run_sample(key, file_name, code.replace("YOUR_TOKEN", token), tmp_path, go_home)
    assert result.returncode == 0, result.stderr + result.stdout
    spec = ENDPOINTS[endpoint]
    params = {"token": token, "userId": USER_ID_EXAMPLE}
    params.update((p.name, p.default.value) for p in spec.params)
    answer = httpx.get(process.base_url + spec.path, params=params, timeout=60).json()
    assert answer["code"] == 0
    assert json.loads(result.stdout) == answer["data"]
    assert token not in result.stderr


@pytest.mark.parametrize("key", sorted(RUNTIMES))
def test_every_sample_reports_the_code_and_message_of_a_failure(
    server: tuple[ServerProcess, str], go_home: Path, tmp_path: Path, key: str
) -> None:
    process, _ = server
    file_name, code = samples_of(process.base_url, "notes_rate")[key]
    wrong = "pgy_" + "0" * 40
    result = run_sample(key, file_name, code.replace("YOUR_TOKEN", wrong), tmp_path, go_home)
    assert result.returncode != 0
    assert "code 100" in result.stderr + result.stdout
    assert "token" in (result.stderr + result.stdout).lower()


def test_a_malformed_public_base_url_stops_serve_with_one_clear_line(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data", PGY_PUBLIC_BASE_URLS="prod=https://user:secretpw@host")
    result = pgy("serve", "--port", "0", env=env, check=False)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "error: PGY_PUBLIC_BASE_URLS: prod: the URL must be only scheme, host and optional path "
        "(no query, fragment or user:password); tokens have their own setting"
    ]
    assert "secretpw" not in result.stderr + result.stdout
    assert not (tmp_path / "data").exists()
