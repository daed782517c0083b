"""Where an answer's data came from, as every layer names it.

Our server says which source collected an answer in the ``X-Pgy-Source`` response header (the
``source`` of its snapshot); exports keep that name per row, and the analytics layer reads it
back to label a report. One source makes data up (the sandbox), so "is this synthetic?" has
three answers: yes (some data is synthetic), no (every row names a real source), and unknown
(some rows do not say where they came from, e.g. an export written before exports had the
column). Unknown is never shown as "no".
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

__all__ = ["HOSTED_SOURCE", "SOURCE_HEADER", "SYNTHETIC_SOURCE", "synthetic"]

SOURCE_HEADER: Final = "X-Pgy-Source"
"""The response header naming the source of an answer's data (our server sends it)."""

SYNTHETIC_SOURCE: Final = "sandbox"
"""The source whose data is made up: its answers are synthetic, never real creators' figures."""

HOSTED_SOURCE: Final = "hosted"
"""The source exports record for an answer whose server did not send ``X-Pgy-Source`` (the
hosted API does not): real data, collected by someone else."""


def synthetic(sources: Iterable[str | None]) -> bool | None:
    """Whether data from these sources (one per row, or the distinct ones; None or "" for a row
    that does not say) is synthetic: True if any is the sandbox (a mixed pool is synthetic), None
    (unknown) if a row does not say or there is no row, else False."""
    seen = set(sources)
    if SYNTHETIC_SOURCE in seen:
        return True
    if not seen or None in seen or "" in seen:
        return None
    return False
