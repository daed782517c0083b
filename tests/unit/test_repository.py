"""The repository stands alone: a clone in any folder runs its tests and its docs hold."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Spelled in parts so that this file does not match itself: a relative path out of the clone, or
# a path built from the folder above the repository.
OUTSIDE = ("../" + "shared", '"shared"' + " /", "parents[1]" + ".parent")


def tracked_files() -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the tracked files cannot be listed")
    return [ROOT / name for name in listed.decode().split("\0") if name]


def test_no_tracked_file_refers_to_a_folder_outside_the_repository() -> None:
    offenders = []
    for path in tracked_files():
        if path.suffix in {".lock"} or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if any(pattern in line for pattern in OUTSIDE):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == [], "files outside the repository are read:\n" + "\n".join(offenders)


def test_every_fixture_the_tests_use_is_in_the_repository() -> None:
    from tests.conftest import FIXTURE_3_NOTES, FIXTURES

    assert FIXTURES.is_relative_to(ROOT)
    assert FIXTURE_3_NOTES.is_file()
    for name in (
        "blogger-profile",
        "data-summary",
        "fans-summary",
        "fans-profile",
        "fans-history",
        "notesrate-3-notes",
    ):
        assert (FIXTURES / f"justoneapi-{name}.json").is_file(), name
