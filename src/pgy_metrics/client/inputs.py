"""Lists of creators to fetch: text, CSV or XLSX files of user ids or Pugongying profile URLs.

``read_user_ids(path)`` returns the valid ids (deduplicated, first occurrence kept, in file order)
and every line it could not use, with its line number, its text and why; ``iter_user_ids(path)``
streams the same entries without holding them (for inputs of any length). Nothing is dropped
silently: a line is either an id, a problem, or one of the ignorable kinds listed below.

- **Text** (any suffix but ``.csv``/``.xlsx``): one id or URL per line; blank lines and lines
  starting with ``#`` are ignored, as is a `` # comment`` after the value.
- **CSV** (``.csv``) and **XLSX** (``.xlsx``, first sheet): the first row is a header naming the
  id column (``ID_HEADERS``, case, spaces, ``_`` and ``-`` ignored); fully empty rows are ignored;
  a row with an empty id cell is a problem. A one-column file whose first cell is already an id or
  URL is read as having no header. Line numbers are the file's line (CSV) or the sheet's row (XLSX).

A value may be a bare id (``5d21ab6b000000001201567d``) or a profile URL, e.g.
``https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/<id>?track_id=...`` or
``https://www.xiaohongshu.com/user/profile/<id>``. Ids are checked with the contract's
``parse_user_id``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pgy_metrics.client._exceptions import PgyError
from pgy_metrics.contract.params import ParamError, parse_user_ref
from pgy_metrics.sheets import (
    ID_HEADERS,
    TEXT_PREVIEW,
    RowProblem,
    UnreadableTable,
    encoding_problem,
    listed_ids,
)

__all__ = [
    "ID_HEADERS",
    "InputFileError",
    "InputProblem",
    "ReadResult",
    "iter_user_ids",
    "parse_user_ref",
    "read_user_ids",
]


class InputFileError(PgyError, ValueError):
    """The input file cannot be read as a list of creators (no id column, unreadable file)."""


InputProblem = RowProblem
"""One line that was not used: where, what it said, why."""


@dataclass(slots=True)
class ReadResult:
    user_ids: list[str] = field(default_factory=list)
    """Valid ids, each once, in the order first seen."""
    problems: list[InputProblem] = field(default_factory=list)
    duplicates: int = 0
    """Valid ids seen again after their first line (not problems, but counted)."""


def read_user_ids(path: str | Path) -> ReadResult:
    """Read a text, CSV or XLSX list of creators (see the module doc) into memory, deduplicated.

    For very long inputs prefer ``iter_user_ids``, which holds nothing.
    """
    result, seen = ReadResult(), set[str]()
    for entry in iter_user_ids(path):
        if isinstance(entry, InputProblem):
            result.problems.append(entry)
        elif entry in seen:
            result.duplicates += 1
        else:
            seen.add(entry)
            result.user_ids.append(entry)
    return result


def iter_user_ids(path: str | Path) -> Iterator[str | InputProblem]:
    """Stream a list of creators: each valid id (repeats included) or problem, in file order.

    Nothing is held in memory, so a batch over a million-line file stays flat; ``client.batch``
    de-duplicates. Raises ``InputFileError`` (when iterated) for a file that cannot be read.
    The lines are found by ``sheets.listed_ids`` (the console's watchlist uploads use it too).
    """
    source = Path(path)
    try:
        for entry in listed_ids(source, _looks_like_id):
            yield entry if isinstance(entry, InputProblem) else _accept(*entry)
    except UnreadableTable as error:
        raise InputFileError(str(error)) from None
    except OSError as error:
        raise InputFileError(f"cannot read {source}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise InputFileError(encoding_problem(source)) from None


def _accept(line: int, text: str) -> str | InputProblem:
    try:
        return parse_user_ref(text)
    except ParamError as error:
        return InputProblem(line, text[:TEXT_PREVIEW], error.message)


def _looks_like_id(text: str) -> bool:
    try:
        parse_user_ref(text)
    except ParamError:
        return False
    return True
