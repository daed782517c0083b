"""The light install from the built wheel: ``pip install pgy-metrics`` without extras in a fresh
venv fetches from a real ``pgy serve`` (run from the project's environment), writes JSONL and CSV,
and ``pgy serve`` there says which extra to install. Prints the installed size of the plain venv
and of an ``[all]`` venv (the figures of docs/install.md).

uv builds the wheel and makes the venvs (``./dev`` provides it; ``uv run`` names it in ``UV``);
the libraries come from the package registry, or uv's cache once they are in it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import unavailable
from tests.integration.servers import ServerProcess, pgy, pgy_env

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
USER = "5d21ab6b000000001201567d"
NOT_INSTALLED = ("fastapi", "uvicorn", "sqlalchemy", "alembic", "polars", "highspy", "numpy")
INSTALL_SECONDS = 900


def _uv() -> str:
    for candidate in (os.environ.get("UV"), shutil.which("uv"), ROOT / ".tools" / "bin" / "uv"):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    unavailable("uv is not installed (./dev installs it): the wheel cannot be built")
    raise AssertionError("unreachable")


def _run(*args: str | Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(arg) for arg in args],
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} failed:\n{result.stderr}")
    return result.stdout


def _venv(uv: str, folder: Path, requirement: str) -> Path:
    """A fresh venv at ``folder`` with only ``requirement`` installed; its bin folder."""
    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV", "PYTHONPATH"}}
    _run(uv, "venv", "--quiet", "--python", sys.executable, folder, env=env)
    python = folder / "bin" / "python"
    _run(uv, "pip", "install", "--quiet", "--python", python, requirement, env=env)
    return folder / "bin"


def _megabytes(folder: Path) -> float:
    """Installed size: the bytes of every file of the venv (links to the interpreter left out)."""
    total = 0
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            total += path.stat().st_size
    return total / 1_000_000


def test_the_wheel_without_extras_fetches_from_a_real_server(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    uv = _uv()
    dist = tmp_path / "dist"
    _run(uv, "build", "--wheel", "--quiet", "--out-dir", dist, ROOT)
    (wheel,) = dist.glob("pgy_metrics-*.whl")
    light = _venv(uv, tmp_path / "light", str(wheel))

    found = _run(
        light / "python",
        "-c",
        "import importlib.util, json, sys; "
        "print(json.dumps([m for m in sys.argv[1:] if importlib.util.find_spec(m)]))",
        *NOT_INSTALLED,
    )
    assert json.loads(found) == [], "the plain install pulls in an extra's libraries"

    env = pgy_env(tmp_path / "data")
    token = pgy("token", "create", "--name", "light", env=env).stdout.strip()
    with ServerProcess(env, tmp_path / "server.log") as server:
        client_env = {**env, "PGY_TOKEN": token, "PGY_BASE_URL": server.base_url}
        answer = _run(light / "pgy", "fetch", USER, "--json", env=client_env)
        assert json.loads(answer)["code"] == 0
        ids = tmp_path / "ids.txt"
        ids.write_text(f"{USER}\n", encoding="utf-8")
        for out in (tmp_path / "pool.jsonl", tmp_path / "pool.csv"):
            _run(light / "pgy", "batch", ids, "--scopes", "core", "--out", out, env=client_env)
            assert out.read_text(encoding="utf-8").count(USER) >= 1

    served = subprocess.run(
        [light / "pgy", "serve"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert served.returncode == 2
    assert served.stderr.splitlines() == [
        "error: pgy serve needs the server extra: pip install 'pgy-metrics[server]'"
    ]

    everything = _venv(uv, tmp_path / "all", f"pgy-metrics[all] @ {wheel.as_uri()}")
    _run(everything / "pgy", "--help")
    light_mb, all_mb = _megabytes(tmp_path / "light"), _megabytes(tmp_path / "all")
    assert light_mb < all_mb
    with capsys.disabled():
        print(f"\ninstalled size: pgy-metrics {light_mb:.0f} MB, pgy-metrics[all] {all_mb:.0f} MB")
    for folder in ("light", "all"):  # hundreds of MB: not kept among pytest's temp folders
        shutil.rmtree(tmp_path / folder, ignore_errors=True)
