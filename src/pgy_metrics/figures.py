"""How a figure is written for a person: one rule for the ``pgy`` tables and the reports.

A leaf module (it imports nothing of the project and no third-party package), so that
``pgy fetch`` (which starts without polars), ``pgy report``, ``pgy plan`` and the XLSX/HTML
reports write the same number the same way. The precision is the data's own, as the
Pugongying pages and the exports show it: counts as integers with thousands separators
(``7,594``); rates, shares and percentiles as a percent with one decimal (``95.8%``: the API
sends its percentages as strings with one decimal); a relative change as a signed percent
(``+1.4%``); money with 2 decimals; scores and other numbers with 1 decimal. Missing is an em
dash, never 0; a yes/no is written in both languages.
"""

from __future__ import annotations

import math
from enum import StrEnum

__all__ = ["MISSING", "FigureKind", "format_figure", "yes_no"]

MISSING = "—"
"""A value that is not there (None, NaN, an infinite ratio): never written as 0."""


class FigureKind(StrEnum):
    """What a figure is, which decides how it is written (and its XLSX number format)."""

    TEXT = "text"
    INTEGER = "integer"
    """A count, a median or an expected count: thousands separators, no decimals."""
    FRACTION = "fraction"
    """A share, rate or percentile on a 0-1 scale: a percent with 1 decimal."""
    CHANGE = "change"
    """A relative change on a 0-1 scale (``0.014`` = 1.4 % more): a signed percent, 1 decimal."""
    MONEY = "money"
    """A price, budget or spend: thousands separators, 2 decimals."""
    NUMBER = "number"
    """Any other number (scores, unknown floats): 1 decimal."""


def yes_no(value: bool | None) -> str:
    """A yes/no in Chinese and English; None (not known) says so instead of guessing "no"."""
    if value is None:
        return "未知 unknown"
    return "是 yes" if value else "否 no"


def format_figure(value: object, kind: FigureKind) -> str:
    """``value`` as text for a table cell, a summary line or a chart label."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return yes_no(value)
    if not isinstance(value, int | float):
        if isinstance(value, list | tuple | frozenset | set):
            return ", ".join(str(item) for item in value)
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return MISSING
    if kind is FigureKind.FRACTION:
        return f"{value:.1%}"
    if kind is FigureKind.CHANGE:
        return f"{value:+.1%}"
    if kind is FigureKind.INTEGER:
        return f"{value:,.0f}"
    if kind is FigureKind.MONEY:
        return f"{value:,.2f}"
    if kind is FigureKind.NUMBER:
        return f"{value:,.1f}"
    return str(value)
