"""Real server processes on loopback for integration tests: ``pgy serve`` under uvicorn."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

STARTUP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def pgy_env(data_dir: Path, database_url: str | None = None, **extra: str) -> dict[str, str]:
    """Environment of a ``pgy`` process isolated in ``data_dir`` (and ``database_url``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGY_")}
    env.update(PGY_DATA_DIR=str(data_dir), PGY_TOKEN_CACHE_SECONDS="0", NO_COLOR="1")
    env["XDG_STATE_HOME"] = str(data_dir / "state")  # pgy batch's checkpoints, kept in the test
    env["COLUMNS"] = "200"
    if database_url:
        env["PGY_DATABASE_URL"] = database_url
    env.update(extra)
    return env


def pgy(*args: str, env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would (``python -m pgy_metrics`` is the ``pgy`` script)."""
    result = subprocess.run(
        [sys.executable, "-m", "pgy_metrics", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"pgy {' '.join(args)} failed:\n{result.stderr}")
    return result


@dataclass
class ServerProcess:
    """One ``pgy serve`` process; its stderr (logs and banner) goes to ``log_path``."""

    env: dict[str, str]
    log_path: Path
    args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pgy_metrics", "serve", "--port", str(self.port), *self.args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"pgy serve exited early:\n{self.logs()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"pgy serve did not come up in {STARTUP_SECONDS}s:\n{self.logs()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


@contextmanager
def fake_pugongying_process(folder: Path, latency_seconds: str) -> Iterator[str]:
    """The fake Pugongying (``tests.upstreams.fake_pugongying_process``) in a process of its own,
    so that its record of each call's time is not disturbed by the asks; its base URL. Its log
    goes to ``folder / "upstream.log"``."""
    port = free_port()
    log = (folder / "upstream.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.upstreams.fake_pugongying_process",
            str(port),
            latency_seconds,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    log.close()
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            try:
                httpx.get(base_url + "/__fake__/requests", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=15)
