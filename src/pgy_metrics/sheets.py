"""Rows of the spreadsheets people keep creator lists in: CSV (UTF-8, BOM allowed) and XLSX.

A leaf module (it imports nothing of the project) so that the client's input files and the
analytics layer's candidates files, which may not import each other, read rows the same way: each
row with the line (CSV) or sheet row (XLSX) a user would look for, every cell as text.
"""

from __future__ import annotations

import csv
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ID_HEADERS",
    "TEXT_PREVIEW",
    "Row",
    "RowProblem",
    "UnreadableTable",
    "csv_rows",
    "encoding_problem",
    "id_column",
    "listed_ids",
    "normalise_header",
    "table_rows",
    "xlsx_rows",
]

Row = tuple[int, list[str]]
"""(1-based line or sheet row, the cells as text)."""


TEXT_PREVIEW = 200
"""Characters of a row's text kept in its ``RowProblem``."""

QUOTED_PREFIX = 20
"""Characters of a row's text that, found quoted in its reason, mean the reason shows it."""


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One line or row that was not used: where, what it said, why (never dropped silently)."""

    line: int
    """1-based line of a text or CSV file, or row of the XLSX sheet."""
    text: str
    reason: str

    def describe(self) -> str:
        """The reason, then the text in quotes unless the reason quotes it already (a parser's
        ``got 'NOTANID'.`` said it once; saying it twice only adds noise)."""
        quoted = repr(self.text[:QUOTED_PREFIX])[:-1]  # the opening quote and the first chars
        if self.text and quoted in self.reason:
            return self.reason
        return f"{self.reason} ({self.text!r})"

    def __str__(self) -> str:
        return f"line {self.line}: {self.describe()}"


class UnreadableTable(ValueError):
    """The file cannot be read as a table (missing, not UTF-8, not a workbook); the message names
    it and says why."""


def csv_rows(source: Path) -> Iterator[Row]:
    """Each row with its physical line number (a quoted field may span lines)."""
    with source.open(encoding="utf-8-sig", newline="") as file:
        reader = csv.reader(file)
        try:
            for cells in reader:
                yield reader.line_num, cells
        except csv.Error as error:
            # The one csv.Error a UTF-8 file can still raise is a cell over the field size limit
            # (131,072 characters): no creator list has one, so the file is not what it seems.
            raise UnreadableTable(
                f"{source}: line {reader.line_num} is not a readable CSV row ({error})"
            ) from None


def encoding_problem(source: Path) -> str:
    """Why ``source`` is not UTF-8 text, naming the first line that is not and, when it is
    recognisable, what the file is instead (Excel's "Unicode text" is UTF-16; a Chinese Windows
    save is GBK): the fix is to save it again as UTF-8, which the message says.

    Read line by line (a decoder's error position is within a chunk, not the file)."""
    with source.open("rb") as file:
        head = file.read(2)
        if head in (b"\xff\xfe", b"\xfe\xff"):
            return f"{source} is UTF-16 text, not UTF-8: {SAVE_AS_UTF8}"
        file.seek(0)
        for number, raw in enumerate(file, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                guess = ""
                try:
                    raw.decode("gbk")
                    guess = " (it reads as GBK, a Chinese Windows encoding)"
                except UnicodeDecodeError:
                    pass
                return f"{source}: line {number} is not UTF-8 text{guess}: {SAVE_AS_UTF8}"
    return f"{source} is not UTF-8 text: {SAVE_AS_UTF8}"


SAVE_AS_UTF8 = 'save it as UTF-8 (in Excel: "CSV UTF-8")'


def _cell_text(value: Any) -> str:
    """Excel stores 12345 as 12345.0: a whole float is written without its ``.0``."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def xlsx_rows(source: Path) -> Iterator[Row]:
    """The first sheet's rows with their row numbers; empty rows are left out."""
    from openpyxl import load_workbook  # type: ignore[import-untyped]
    from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]

    try:
        book = load_workbook(source, read_only=True, data_only=True)
    except OSError:
        raise  # table_rows says "cannot read"
    except (*_DAMAGED, InvalidFileException) as error:
        raise UnreadableTable(
            f"{source} is not a readable .xlsx workbook: {_shortened(error)}"
        ) from None
    row = 0
    try:
        if not book.worksheets:
            raise UnreadableTable(f"{source} is not a readable .xlsx workbook: it has no sheet")
        for cells in book.worksheets[0].iter_rows():
            numbered = [cell for cell in cells if getattr(cell, "row", None) is not None]
            if numbered:
                row = numbered[0].row
                yield row, [_cell_text(cell.value) for cell in cells]
    except _DAMAGED as error:
        # The sheet itself is read lazily, so a damaged one fails here, after its good rows.
        raise UnreadableTable(
            f"{source}: the sheet is damaged after row {row}: "
            f"{type(error).__name__}: {_shortened(error)}"
        ) from None
    finally:
        book.close()


def _shortened(error: Exception) -> str:
    """A library's reason, cut: zipfile quotes a damaged header's bytes, thousands of them."""
    text = str(error)
    return text if len(text) <= TEXT_PREVIEW else text[:TEXT_PREVIEW] + "..."


_DAMAGED: tuple[type[Exception], ...] = (
    KeyError,
    ValueError,
    TypeError,
    AttributeError,
    IndexError,
    EOFError,
    RuntimeError,  # zipfile: NotImplementedError (a newer zip version), an encrypted member
    SyntaxError,  # xml.etree's ParseError
    OverflowError,
    struct.error,
    zipfile.BadZipFile,
    zlib.error,
)
"""What openpyxl, zipfile and the XML parser raise for a damaged workbook (each one found by
``tests/unit/test_fuzz_sheets.py``): a compressed member whose bytes were changed is a
``zlib.error``, a sheet whose XML was cut short a ``ParseError``, a missing part a ``KeyError``."""


def table_rows(source: Path) -> Iterator[Row]:
    """The rows with any text of a ``.xlsx`` file, or else of a CSV file, each with its line or
    sheet row. Raises ``UnreadableTable`` (when iterated) for a file that cannot be read."""
    read = xlsx_rows if source.suffix.lower() == ".xlsx" else csv_rows
    try:
        for number, cells in read(source):
            if any(cell.strip() for cell in cells):
                yield number, cells
    except OSError as error:
        raise UnreadableTable(f"cannot read {source}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise UnreadableTable(encoding_problem(source)) from None


def normalise_header(header: str) -> str:
    """Header names compared ignoring case, spaces, ``_`` and ``-`` (``User ID`` = ``user_id``)."""
    return re.sub(r"[\s_\-]", "", header.strip().strip("\ufeff")).lower()


ID_HEADERS: tuple[str, ...] = (
    "userId",
    "user_id",
    "博主ID",
    "达人ID",
    "id",
    "kol_id",
    "blogger_id",
    "url",
    "主页链接",
)
"""Accepted names of the creator-id column, in order of preference (an id column may hold profile
URLs), compared by ``normalise_header``: the same for ``pgy batch`` inputs and ``pgy plan``
candidates, so one creator list serves both."""

_ID_RANK = {normalise_header(name): rank for rank, name in enumerate(ID_HEADERS)}


def id_column(header: Sequence[str]) -> int | None:
    """Index of the creator-id column in ``header`` (the most preferred of ``ID_HEADERS``, then
    the leftmost), or None when it has none."""
    ranked = [
        (_ID_RANK[normalise_header(cell)], index)
        for index, cell in enumerate(header)
        if normalise_header(cell) in _ID_RANK
    ]
    return min(ranked)[1] if ranked else None


COMMENT = "#"
HEADER_SHOWN = 40
"""Characters of each header cell quoted when the header has no id column."""

Listed = tuple[int, str] | RowProblem
"""A creator list's entry: (line, the text of its id cell), or a line that has none."""


def listed_ids(source: Path, looks_like_id: Callable[[str], bool]) -> Iterator[Listed]:
    """The id cells of a creator list, in file order, each with its line (the rules of
    ``client.inputs``, which checks each text as an id; the console's watchlists read uploads
    through the same function): a ``.csv``/``.xlsx`` table's id column (``ID_HEADERS``; a
    one-column table whose first cell ``looks_like_id`` has no header) with a ``RowProblem``
    for a row whose id cell is empty, else one value per line of UTF-8 text (blank lines and
    ``#`` comments ignored). Raises ``UnreadableTable`` (when iterated) for a file that cannot
    be read or a table without an id column; ``OSError`` and ``UnicodeDecodeError`` for text."""
    if source.suffix.lower() in (".csv", ".xlsx"):
        yield from _table_ids(table_rows(source), source, looks_like_id)
        return
    with source.open(encoding="utf-8-sig") as lines:
        for number, raw in enumerate(lines, start=1):
            text = _strip_comment(raw).strip()
            if text:
                yield number, text


def _strip_comment(line: str) -> str:
    """Drop a whole-line ``#`` comment or a `` #`` comment after the value (a URL's ``#fragment``,
    with no space before it, is kept)."""
    if line.lstrip().startswith(COMMENT):
        return ""
    return re.split(r"\s#", line, maxsplit=1)[0]


def _table_ids(
    rows: Iterator[Row], source: Path, looks_like_id: Callable[[str], bool]
) -> Iterator[Listed]:
    first = next(rows, None)
    if first is None:
        return
    number, header = first
    column = id_column(header)
    if column is None:
        filled = [cell for cell in header if cell.strip()]
        if len(filled) == 1 and looks_like_id(filled[0]):
            column = next(i for i, cell in enumerate(header) if cell.strip())
            yield number, header[column]  # no header: the first row is data
        else:
            accepted = ", ".join(ID_HEADERS)
            found = ", ".join(repr(cell[:HEADER_SHOWN]) for cell in header if cell.strip())
            found = found[:TEXT_PREVIEW]  # a header row may be anything, of any length
            raise UnreadableTable(
                f"{source.name}: no user id column in the header (line {number}); "
                f"name it one of {accepted} (found {found})"
            )
    for number, cells in rows:
        text = cells[column].strip() if column < len(cells) else ""
        if not text:
            shown = ",".join(cells)[:TEXT_PREVIEW]
            yield RowProblem(number, shown, "the user id cell is empty")
            continue
        yield number, text
