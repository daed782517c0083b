"""What a campaign plan maximises, in a module of its own.

Light on purpose (no polars, numpy or HiGHS): the ``pgy plan`` and ``pgy demo`` options are typed
with it, and every ``pgy`` command would otherwise pay for importing the solver at start-up.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["Objective"]


class Objective(StrEnum):
    """What the campaign maximises; each maps to one median column (see ``estimates.py``)."""

    READS = "reads"
    INTERACTIONS = "interactions"
    IMPRESSIONS = "impressions"
    FOLLOWS = "follows"
