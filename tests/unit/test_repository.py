"""The repository stands alone: a clone in any folder runs its tests and its docs hold."""

from __future__ import annotations

import re
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


MARKDOWN_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
MARKDOWN_NAME = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w-]+\.md)\b")
HEADING = re.compile(r"^#{1,6} +(.+?) *$", re.MULTILINE)


def _anchor(heading: str) -> str:
    """GitHub's id of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _resolves(reference: str, where: Path) -> bool:
    for base in (where.parent, ROOT, ROOT / "docs"):
        candidate = (base / reference).resolve()
        if candidate.is_relative_to(ROOT) and candidate.exists():
            return True
    return False


def test_every_document_and_link_the_files_name_is_in_the_repository() -> None:
    """Every Markdown file a doc, docstring or comment names is a file of the repository, and
    each relative link of a Markdown file (with its #anchor) leads to one."""
    broken = []
    for path in tracked_files():
        if path.suffix not in {".md", ".py", ".toml", ".j2"} and path.name not in {"dev", "run"}:
            continue
        text = path.read_text(encoding="utf-8")
        where = path.relative_to(ROOT)
        for name in MARKDOWN_NAME.findall(text):
            if not _resolves(name, path):
                broken.append(f"{where}: names {name}, which is not in the repository")
        if path.suffix != ".md":
            continue
        for link in MARKDOWN_LINK.findall(text):
            if re.match(r"[a-z]+:", link):
                continue  # https:, mailto:
            target, _, anchor = link.partition("#")
            file = (path.parent / target).resolve() if target else path
            if not file.is_relative_to(ROOT) or not file.exists():
                broken.append(f"{where}: links {link}, which is not in the repository")
            elif anchor and file.suffix == ".md":
                headings = HEADING.findall(file.read_text(encoding="utf-8"))
                if anchor not in {_anchor(heading) for heading in headings}:
                    broken.append(f"{where}: links {link}, a heading {file.name} does not have")
    assert broken == [], "\n".join(broken)
