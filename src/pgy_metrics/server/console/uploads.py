"""Creator lists sent to the console (an uploaded CSV/XLSX/text file, or pasted lines), read
exactly as ``pgy batch`` reads its input files: ``sheets.creator_refs`` with the contract's
``parse_user_ref`` (ids or profile URLs), each bad line kept with its number and reason.

The pools and watchlists pages both take such lists; they read them here so that one file
gives the same creators and the same messages on every page and in the CLI. The file is
written to a private temporary folder only because the sheet readers read paths; messages
name the file as the user called it, never that folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePath

from pgy_metrics.contract.params import parse_user_ref
from pgy_metrics.sheets import RowProblem, UnreadableTable, creator_refs

UPLOAD_SUFFIXES = (".csv", ".xlsx", ".txt")
"""Read by their suffix; any other name is read as text, one creator per line."""
MAX_SHOWN_NAME = 100

__all__ = ["UPLOAD_SUFFIXES", "read_creator_list", "read_pasted"]


def read_creator_list(filename: str, content: bytes) -> list[str | RowProblem]:
    """The entries of an uploaded list in file order (duplicates kept: the caller decides).
    Raises ``UnreadableTable`` naming the file as uploaded for a file that is no list (no id
    column, not UTF-8, not a workbook)."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        suffix = ".txt"
    with tempfile.TemporaryDirectory(prefix="pgy-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(content)
        shown = PurePath(filename).name[:MAX_SHOWN_NAME] or path.name
        try:
            return list(creator_refs(path, parse_user_ref))
        except UnreadableTable as error:
            text = str(error).replace(str(path), shown).replace(path.name, shown)
            raise UnreadableTable(text) from None
        except UnicodeDecodeError:
            raise UnreadableTable(f"{shown} is not UTF-8 text, CSV or XLSX") from None
        except OSError as error:
            raise UnreadableTable(f"cannot read {shown}: {error.strerror or error}") from None


def read_pasted(text: str) -> list[str | RowProblem]:
    """Pasted lines, one id or profile URL each, read as a text file of ``pgy batch``."""
    return read_creator_list("pasted.txt", text.encode("utf-8"))
