"""Messages of real ``pgy`` processes: one exit-code table kept by every command, errors that name
options and variables (before any input is read) and URLs, retries as one status line, a server
that binds before it speaks, a front page, and defaults in --help."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from pgy_metrics.client._constants import GLOBAL_BASE_URL
from tests.integration.servers import ServerProcess, free_port, pgy, pgy_env

pytestmark = pytest.mark.integration
USER = "5d21ab6b000000001201567d"
UNREACHABLE_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:1/none"
"""Nothing listens on port 1: connecting is refused at once."""


@dataclass(frozen=True)
class Case:
    """One command run as a user would, with the exit status and a fragment of stderr expected."""

    args: tuple[str, ...]
    status: int
    says: str
    env: dict[str, str] = field(default_factory=dict)


def _cases(tmp: Path) -> dict[str, tuple[Case, Case | None]]:
    """Per command: a usage mistake (2) and a runtime failure (1; None where there is none)."""
    refused = f"http://127.0.0.1:{free_port()}"
    ids = tmp / "ids.txt"
    candidates = tmp / "candidates.csv"
    broken_config = tmp / "broken.toml"
    a_file = tmp / "a-file"
    db = {"PGY_DATABASE_URL": UNREACHABLE_DATABASE}
    api = {"PGY_TOKEN": "pgy_" + "x" * 43, "PGY_BASE_URL": refused}
    return {
        "serve": (
            Case(("serve", "--config", str(broken_config)), 2, "not valid TOML"),
            Case(("serve", "--port", "0"), 1, "the database failed", db),
        ),
        "fetch": (
            Case(("fetch", "NOTANID"), 2, "USER_ID must be", api),
            Case(("fetch", USER), 1, f"the API at {refused} failed", api),
        ),
        "batch": (
            Case(("batch", str(ids), "--out", "x.txt"), 2, "--out", api),
            Case(("batch", str(ids), "--out", str(tmp / "x.csv")), 1, refused, api),
        ),
        "token create": (
            Case(("token", "create", "--name", "a", "--rate", "lots"), 2, "--rate"),
            Case(("token", "create", "--name", "a"), 1, "PGY_DATABASE_URL", db),
        ),
        "token list": (
            Case(("token", "list", "--csv"), 2, "--csv"),
            Case(("token", "list"), 1, "Connection refused", db),
        ),
        "token show": (
            Case(("token", "show"), 2, "Missing argument 'name'"),
            Case(("token", "show", "nobody"), 1, "nobody"),
        ),
        "token update": (
            Case(("token", "update", "nobody"), 2, "nothing to change"),
            Case(("token", "update", "nobody", "--price", "3"), 1, "nobody"),
        ),
        "token topup": (
            Case(("token", "topup", "nobody", "0"), 2, "'credits'"),
            Case(("token", "topup", "nobody", "5"), 1, "nobody"),
        ),
        "token revoke": (
            Case(("token", "revoke"), 2, "Missing argument 'name'"),
            Case(("token", "revoke", "nobody"), 1, "nobody"),
        ),
        "usage": (
            Case(("usage", "--since", "yesterday"), 2, "YYYY-MM-DD"),
            Case(("usage", "--token", "nobody"), 1, "nobody"),
        ),
        "config check": (Case(("config", "check", str(broken_config)), 2, "not valid TOML"), None),
        "report": (
            Case(("report", "--from", str(tmp / "nope.jsonl")), 2, "no such file"),
            Case(("report", "--from", UNREACHABLE_DATABASE), 1, "cannot connect"),
        ),
        "plan": (
            Case(("plan", str(candidates), "--budget", "-5"), 2, "--budget"),
            Case(
                ("plan", str(candidates), "--budget", "500", "--from", UNREACHABLE_DATABASE),
                1,
                "cannot connect",
            ),
        ),
        "demo": (
            Case(("demo", "--creators", "1"), 2, "--creators"),
            Case(("demo", "--out", str(a_file)), 1, "File exists"),
        ),
    }


COMMANDS = [
    "serve",
    "fetch",
    "batch",
    "token create",
    "token list",
    "token show",
    "token update",
    "token topup",
    "token revoke",
    "usage",
    "config check",
    "report",
    "plan",
    "demo",
]


def _readable(result: subprocess.CompletedProcess[str]) -> None:
    """No traceback, no markup tag, no stamina log line: only words for a person."""
    for unwanted in ("Traceback", "[/", "[red]", "stamina", "token=..."):
        assert unwanted not in result.stderr, result.stderr


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_keeps_the_exit_code_table(tmp_path: Path, command: str) -> None:
    (tmp_path / "ids.txt").write_text(f"{USER}\n", encoding="utf-8")
    (tmp_path / "candidates.csv").write_text(f"user_id,price_photo\n{USER},100\n", "utf-8")
    (tmp_path / "broken.toml").write_text("[server\n", encoding="utf-8")
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    usage, runtime = _cases(tmp_path)[command]
    for case in (usage, runtime):
        if case is None:
            continue
        env = pgy_env(tmp_path / "data", **case.env)
        result = pgy(*case.args, env=env, check=False)
        assert result.returncode == case.status, (case.args, result.stderr)
        assert case.says in result.stderr, (case.args, result.stderr)
        _readable(result)


def test_settings_mistakes_exit_2_naming_the_variable_and_the_option(tmp_path: Path) -> None:
    port = pgy("serve", env=pgy_env(tmp_path / "data", PGY_PORT="eighty"), check=False)
    assert port.returncode == 2 and "PGY_PORT (or --port)" in port.stderr
    replay = pgy(
        "serve",
        "--source",
        "replay",
        "--replay-dir",
        str(tmp_path / "none"),
        env=pgy_env(tmp_path / "data"),
        check=False,
    )
    assert replay.returncode == 2 and "--replay-dir" in replay.stderr
    for result in (port, replay):
        _readable(result)


def test_api_options_are_checked_before_the_input_file_is_read(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data")
    missing = str(tmp_path / "not-there.txt")  # reading it would fail with "cannot read"
    for args in (("batch", missing), ("fetch", USER)):
        result = pgy(*args, env=env, check=False)
        assert result.returncode == 2, result.stderr
        assert "--token" in result.stderr and "PGY_TOKEN" in result.stderr
        assert "cannot read" not in result.stderr and "token=" not in result.stderr
        _readable(result)
    with_token = {**env, "PGY_TOKEN": "pgy_" + "x" * 43}
    for args in (("batch", missing, "--env", "mars"), ("batch", missing, "--base-url", "ftp://x")):
        result = pgy(*args, env=with_token, check=False)
        assert result.returncode == 2 and args[-2] in result.stderr, result.stderr
        assert "cannot read" not in result.stderr


def test_fetch_takes_a_profile_url_as_batch_does(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data")
    token = pgy("token", "create", "--name", "cli", env=env).stdout.strip()
    url = f"https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/{USER}?track_id=x"
    with ServerProcess(env, tmp_path / "server.log") as server:
        client_env = {**env, "PGY_TOKEN": token, "PGY_BASE_URL": server.base_url}
        result = pgy("fetch", url, "--json", env=client_env)
    assert '"code": 0' in result.stdout
    assert "calling the hosted API" not in result.stderr  # a base URL was given


def test_retries_are_one_status_line_and_the_last_line_counts_them(tmp_path: Path) -> None:
    """A replay server without recordings answers 301, which the client retries 3 times."""
    env = pgy_env(tmp_path / "data")
    token = pgy("token", "create", "--name", "cli", env=env).stdout.strip()
    (tmp_path / "recordings").mkdir()
    (tmp_path / "ids.txt").write_text(f"{USER}\n", encoding="utf-8")
    args = ("--source", "replay", "--replay-dir", str(tmp_path / "recordings"))
    with ServerProcess(env, tmp_path / "server.log", args=args) as server:
        client_env = {**env, "PGY_TOKEN": token, "PGY_BASE_URL": server.base_url}
        fetched = pgy("fetch", USER, env=client_env, check=False)
        batched = pgy(
            "batch",
            str(tmp_path / "ids.txt"),
            "--out",
            str(tmp_path / "o.jsonl"),
            env=client_env,
            check=False,
        )
    assert fetched.returncode == 1
    assert fetched.stderr.count("\n") == 1 and "code 301" in fetched.stderr
    assert "gave up after 3 retries" in fetched.stderr
    assert batched.returncode == 1
    assert "retries 3" in batched.stderr.splitlines()[-2]  # the summary, above the first failure
    assert "first failure with code 301" in batched.stderr
    for result in (fetched, batched):
        assert token not in result.stderr
        _readable(result)


def test_without_a_base_url_it_says_it_calls_the_hosted_api_and_ctrl_c_exits_130(
    tmp_path: Path,
) -> None:
    env = pgy_env(tmp_path / "data", PGY_TOKEN="pgy_" + "x" * 43)
    process = subprocess.Popen(
        [sys.executable, "-m", "pgy_metrics", "fetch", USER],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        first = process.stderr.readline()  # said before any request is sent
        process.send_signal(signal.SIGINT)
        _, rest = process.communicate(timeout=60)
    finally:
        process.kill()
    assert first.startswith(f"calling the hosted API at {GLOBAL_BASE_URL} (--env global;")
    assert "--base-url" in first and "PGY_BASE_URL" in first
    # Stopped mid-call (130), or the hosted API answered the made-up token first (1).
    assert process.returncode in (130, 1), rest
    assert "Traceback" not in rest


def test_serve_binds_before_its_banner_and_a_taken_port_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = pgy("serve", "--port", str(port), env=pgy_env(tmp_path / "data"), check=False)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: port {port} on 127.0.0.1 is already in use (another pgy serve?): choose "
        "another with --port (or PGY_PORT)"
    ]
    assert not (tmp_path / "data").exists()  # no store made, no admin token printed


def test_the_front_page_leads_to_the_docs_and_the_status(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data")
    with ServerProcess(env, tmp_path / "server.log") as server:
        page = httpx.get(server.base_url + "/", timeout=10)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        for link in ("/docs", "/status.html", "/metrics", "/openapi.json"):
            assert f'href="{link}"' in page.text
            assert httpx.get(server.base_url + link, timeout=10).status_code == 200
        assert "notesRate" in page.text
    assert f"open {server.base_url}/ in a browser" in server.logs()


def test_help_shows_defaults(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data", COLUMNS="200")
    text = pgy("serve", "--help", env=env).stdout
    assert "Interface to listen on (PGY_HOST). [default: (127.0.0.1)]" in text
    assert "[default: (8000)]" in text
    batch = pgy("batch", "--help", env=env).stdout
    assert "--checkpoint-dir" in batch and "pgy-metrics/checkpoints" in batch
