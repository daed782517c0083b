"""The README's shell and Python blocks, run in order as a new user pastes them, on real servers.

Every ```` ```bash ```` block of README.md runs, in the order of the file, in a temporary folder
that stands for the repository's: it holds a symbolic link to the repository's ``dev`` (so
``./dev pgy ...`` sets up and runs the locked environment exactly as a user's does) and a copy of
``examples/``; whatever the commands write stays in that folder. Every ```` ```python ```` block
runs as the README says: pasted into ``./dev python`` (the environment's Python) in the second
terminal. The test fails at the first command that fails, naming its README line, with what it
printed, and when the repository's .gitignore does not cover a file the commands wrote.

The blocks without a marker are one terminal, "the second terminal" of the README: they share
one shell session (what a block exports reaches the next blocks; the first failing command stops
the run). A comment line right above a block changes that:

- ``<!-- readme-test: background -->``: a terminal of its own whose last command starts a server
  that runs until Ctrl-C. It starts from the initial environment (nothing exported by other
  blocks), runs in the background, and the test goes on once its server answers ``/healthz`` on
  the block's ``--port``. Its processes are stopped when the test ends.
- ``<!-- readme-test: skip: REASON -->``: not run, for the reason given.

Only what must differ from a user's machine is replaced, nothing else:

- each port the README uses (``--port 8000``, ``http://127.0.0.1:8000``) becomes a free port, so
  that the test neither collides with nor calls a server already running on this machine;
- ``PGY_DATA_DIR`` (the store every server and ``pgy token`` share) is a folder of the test
  instead of the user's data directory, and the test's other ``PGY_*`` variables and the secrets
  the README exports are removed from the starting environment.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx
import pytest

from tests.integration.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
MARKER = re.compile(r"^<!--\s*readme-test:\s*(?P<mode>background|skip:\s*(?P<reason>.*?))\s*-->$")
PORT_OPTION = re.compile(r"--port (\d+)\b")
HEADER = re.compile(r"^(\$ .*\(README\.md:\d+\))$", re.MULTILINE)
"""The line printed before each command (``shell_script``)."""
LOCAL_URL = re.compile(r"\b(?:127\.0\.0\.1|localhost):(\d+)\b")
SERVER_START_SECONDS = 120.0
"""A bound on a background server's start (first use of ``./dev`` included), not a timing check."""
COMMAND_SECONDS = 900
STOP_SECONDS = 20
README_SECRETS = ("PUGONGYING_COOKIES", "JUSTONEAPI_TOKEN")

PYTHON_END = "README_PYTHON"
"""Ends the here-document that pastes a Python block into ``./dev python``."""

Mode = Literal["run", "background", "skip"]


@dataclass(frozen=True)
class Block:
    """One ```bash or ```python block of the README."""

    line: int
    """README line of the block's first command."""
    commands: list[tuple[int, str]]
    """(README line, command) for each line that is not blank or a comment."""
    mode: Mode
    reason: str = ""

    @property
    def where(self) -> str:
        return f"README.md:{self.line}"


def readme_blocks(text: str) -> list[Block]:
    """Every ```bash and ```python block with its marker; a marker must sit right above one.

    A Python block becomes one command: the block pasted into ``./dev python``, the README's way
    to run Python in the project's environment."""
    lines = text.splitlines()
    blocks: list[Block] = []
    markers = {number for number, line in enumerate(lines) if line.startswith("<!-- readme-test")}
    used: set[int] = set()
    number = 0
    while number < len(lines):
        language = lines[number].strip().removeprefix("```")
        if not lines[number].strip().startswith("```") or language not in ("bash", "python"):
            number += 1
            continue
        mode: Mode = "run"
        reason = ""
        if number > 0 and number - 1 in markers:
            used.add(number - 1)
            match = MARKER.match(lines[number - 1].strip())
            assert match, f"README.md:{number}: unreadable marker {lines[number - 1]!r}"
            mode = "background" if match["mode"] == "background" else "skip"
            reason = match["reason"] or ""
            assert mode != "skip" or reason, f"README.md:{number}: a skip must say why"
        start = number + 1
        number = start
        while lines[number].strip() != "```":
            number += 1
        body = lines[start:number]
        number += 1
        if language == "python":
            code = "\n".join(body)
            command = f"./dev python - <<'{PYTHON_END}'\n{code}\n{PYTHON_END}"
            blocks.append(Block(start + 1, [(start + 1, command)], mode, reason))
            continue
        commands = []
        for offset, line in enumerate(body):
            command = line.strip()
            if command and not command.startswith("#"):
                where = f"README.md:{start + offset + 1}"
                assert not command.endswith("\\"), f"{where}: one command per line, please"
                commands.append((start + offset + 1, command))
        blocks.append(Block(commands[0][0], commands, mode, reason))
    assert markers == used, f"markers not right above a code block: {sorted(markers - used)}"
    return blocks


def with_free_ports(blocks: list[Block]) -> list[Block]:
    """Each README port replaced by a free one wherever a command names it."""
    readme_ports = sorted(
        {
            int(port)
            for block in blocks
            if block.mode != "skip"
            for _, command in block.commands
            for port in PORT_OPTION.findall(command) + LOCAL_URL.findall(command)
        }
    )
    ports = {port: free_port() for port in readme_ports}

    def replace(command: str) -> str:
        command = PORT_OPTION.sub(lambda m: f"--port {ports[int(m[1])]}", command)
        return LOCAL_URL.sub(lambda m: m[0].replace(m[1], str(ports[int(m[1])])), command)

    return [
        Block(block.line, [(n, replace(c)) for n, c in block.commands], block.mode, block.reason)
        if block.mode != "skip"
        else block
        for block in blocks
    ]


def shell_script(block: Block, *, state: Path | None) -> str:
    """The block as a bash script that prints each command before running it and stops at the
    first failure; with ``state``, it starts from and saves the session (exports and folder)."""
    lines = ["set -e"]
    if state is not None:
        lines.append(f"if [ -f {shlex.quote(str(state))} ]; then . {shlex.quote(str(state))}; fi")
    for number, command in block.commands:
        header = f"$ {command.splitlines()[0]}    (README.md:{number})"
        lines += [f"printf '\\n%s\\n' {shlex.quote(header)} >&2", command]
    if state is not None:
        target = shlex.quote(str(state))
        lines += [f"export -p > {target}", f'printf "cd %q\\n" "$PWD" >> {target}']
    return "\n".join(lines) + "\n"


@dataclass
class Terminal:
    """A background block: its process group and its log."""

    block: Block
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """SIGTERM to the terminal's whole process group (bash, uv, the server), as Ctrl-C
        would reach them; SIGKILL for what is left after ``STOP_SECONDS``."""
        _signal_group(self.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while time.monotonic() < deadline:
            self.process.poll()  # reap bash, so that only live members keep the group
            if not _group_alive(self.process.pid):
                return
            time.sleep(0.1)
        _signal_group(self.process.pid, signal.SIGKILL)
        self.process.wait()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)


def _group_alive(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until_serving(terminal: Terminal, port: int) -> None:
    url = f"http://127.0.0.1:{port}/healthz"
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if terminal.process.poll() is not None:
            pytest.fail(
                f"{terminal.block.where}: the terminal ended before its server answered "
                f"(exit {terminal.process.returncode}):\n{terminal.output()[-6000:]}"
            )
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(
        f"{terminal.block.where}: no answer on {url} after {SERVER_START_SECONDS:.0f} s:\n"
        f"{terminal.output()[-6000:]}"
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A user's folder: the repository's ``dev`` (linked) and a copy of ``examples/``."""
    work = tmp_path / "pgy-metrics"
    work.mkdir()
    (work / "dev").symlink_to(ROOT / "dev")
    shutil.copytree(ROOT / "examples", work / "examples")
    return work


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    started: list[Terminal] = []
    try:
        yield started
    finally:
        for terminal in reversed(started):
            terminal.stop()


def starting_environment(tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PGY_") and key not in README_SECRETS
    }
    env["PGY_DATA_DIR"] = str(tmp_path / "pgy-data")
    env["XDG_STATE_HOME"] = str(tmp_path / "state")  # pgy batch's checkpoints, not the user's
    return env


def test_readme_blocks_are_marked_and_name_their_ports() -> None:
    """Every background block ends with the server it starts on an explicit port, so the test
    (and a reader) knows where it listens; every skip says why."""
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    assert [block for block in blocks if block.mode == "run"]
    for block in blocks:
        if block.mode == "background":
            last = block.commands[-1][1]
            assert " serve " in f"{last} ", f"{block.where}: a background block ends in a server"
            assert PORT_OPTION.search(last), f"{block.where}: give the server's --port"


@pytest.mark.integration
def test_every_readme_command_works_as_written(
    folder: Path, tmp_path: Path, terminals: list[Terminal]
) -> None:
    blocks = with_free_ports(readme_blocks(README.read_text(encoding="utf-8")))
    env = starting_environment(tmp_path)
    state = tmp_path / "second-terminal.sh"
    for index, block in enumerate(blocks):
        if block.mode == "skip":
            continue
        if block.mode == "background":
            log = tmp_path / f"terminal-{index}.log"
            script = tmp_path / f"terminal-{index}.sh"
            script.write_text(shell_script(block, state=None), encoding="utf-8")
            with log.open("wb") as output:
                process = subprocess.Popen(
                    ["bash", str(script)],
                    cwd=folder,
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            terminal = Terminal(block, process, log)
            terminals.append(terminal)
            match = PORT_OPTION.search(block.commands[-1][1])
            assert match is not None
            wait_until_serving(terminal, int(match[1]))
            continue
        result = subprocess.run(
            ["bash", "-c", shell_script(block, state=state)],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=COMMAND_SECONDS,
            check=False,
        )
        if result.returncode != 0:
            ran = HEADER.findall(result.stderr)
            servers = "\n".join(
                f"--- server of {terminal.block.where} ---\n{terminal.output()[-3000:]}"
                for terminal in terminals
            )
            pytest.fail(
                f"{ran[-1] if ran else block.where} failed (exit {result.returncode}):\n"
                f"{result.stderr[-8000:]}\n--- stdout ---\n{result.stdout[-4000:]}\n{servers}"
            )
    for terminal in terminals:
        assert terminal.process.poll() is None, f"{terminal.block.where}: its server stopped"
    assert_ignored_by_git(written_files(folder))


def written_files(folder: Path) -> list[str]:
    """What the commands wrote into the folder (the copied examples and the link excluded)."""
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and path.name != "dev" and not (ROOT / path.relative_to(folder)).is_file()
    )


def assert_ignored_by_git(paths: list[str]) -> None:
    """The repository's .gitignore covers every file the README's commands write."""
    assert paths, "the README's commands wrote nothing?"
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return  # not a git checkout (an unpacked archive): no .gitignore to check
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        cwd=ROOT,
        input="\n".join(paths),
        capture_output=True,
        text=True,
        check=False,
    )
    ignored = set(result.stdout.splitlines())
    assert not set(paths) - ignored, f".gitignore misses {sorted(set(paths) - ignored)}"
