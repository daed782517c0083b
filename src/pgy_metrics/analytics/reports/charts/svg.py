"""Tiny SVG building blocks for the report charts: escaped elements, scales, ticks, colours.

The charts are generated in Python as inline SVG so the HTML report works offline and shows the
same numbers as the workbook, with no JavaScript charting library to vendor or trust. Every text
and attribute goes through ``markupsafe.escape`` here, so a creator tag like ``<script>`` is shown
as text, never run. The SVG carries no ``xmlns`` (inline SVG in HTML5 does not need it), so the
report holds no ``http://`` string at all.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = [
    "LinearScale",
    "LogScale",
    "Scale",
    "element",
    "interpolate_colour",
    "join",
    "linear_domain",
    "log_domain",
    "number",
    "padded_domain",
]

TICK_TARGET = 5
"""About how many ticks a linear axis gets."""


def number(value: float) -> str:
    """A coordinate as short text (2 decimals, no trailing zeros)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def element(
    tag: str,
    attrs: Mapping[str, object] | None = None,
    *children: Markup | str,
) -> Markup:
    """``<tag attrs>children</tag>``; plain-string children and all attributes are escaped."""
    parts = [f"<{tag}"]
    for name, value in (attrs or {}).items():
        if value is None:
            continue
        text = number(value) if isinstance(value, float) else str(value)
        parts.append(f' {name}="{escape(text)}"')
    body = "".join(str(escape(child)) for child in children)
    # Safe: ``tag`` and attribute names are literals of this package; every value is escaped above.
    return Markup(f"{''.join(parts)}>{body}</{tag}>")  # noqa: S704


def join(items: Iterable[Markup]) -> Markup:
    """Concatenate already-safe fragments."""
    return Markup("").join(items)


@dataclass(frozen=True, slots=True)
class LinearScale:
    """Maps ``[low, high]`` onto pixel ``[start, end]`` (``end < start`` for y axes)."""

    low: float
    high: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        span = self.high - self.low or 1.0
        return self.start + (value - self.low) / span * (self.end - self.start)

    def ticks(self) -> list[float]:
        """Round values inside the domain, about ``TICK_TARGET`` of them."""
        span = self.high - self.low
        if span <= 0:
            return [self.low]
        raw = span / TICK_TARGET
        magnitude = 10 ** math.floor(math.log10(raw))
        step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
        first = math.ceil(self.low / step) * step
        count = math.floor((self.high - first) / step + 1e-9) + 1
        return [first + i * step for i in range(count)]


@dataclass(frozen=True, slots=True)
class LogScale:
    """Log10 scale over positive values; ticks at 1, 2, 5 x powers of ten."""

    low: float
    high: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        low, high = math.log10(self.low), math.log10(self.high)
        span = high - low or 1.0
        return self.start + (math.log10(value) - low) / span * (self.end - self.start)

    def ticks(self) -> list[float]:
        decades = range(math.floor(math.log10(self.low)), math.ceil(math.log10(self.high)) + 1)
        steps = (1,) if len(decades) > TICK_TARGET else (1, 2, 5)
        values = [m * 10**d for d in decades for m in steps]
        return [v for v in values if self.low <= v <= self.high]


Scale = LinearScale | LogScale


def log_domain(values: Iterable[float]) -> tuple[float, float]:
    """Whole decades around positive ``values``."""
    positive = [v for v in values if v > 0]
    low, high = min(positive), max(positive)
    low_decade = 10 ** math.floor(math.log10(low))
    high_decade = 10 ** math.ceil(math.log10(high))
    if high_decade <= low_decade:
        high_decade = low_decade * 10
    return low_decade, high_decade


def linear_domain(values: Iterable[float], *, headroom: float = 0.08) -> tuple[float, float]:
    """From 0 (or below, for negative values) to a little above the largest value."""
    data = list(values)
    low, high = min(0.0, min(data)), max(0.0, max(data))
    if high == low:
        high = low + 1.0
    span = high - low
    return (low - span * headroom if low < 0 else low), high + span * headroom


def padded_domain(values: Iterable[float], *, padding: float = 0.08) -> tuple[float, float]:
    """Just around the data (not from 0): for axes where the spread matters, like prices."""
    data = list(values)
    low, high = min(data), max(data)
    span = high - low or abs(high) or 1.0
    return low - span * padding, high + span * padding


def interpolate_colour(start: str, end: str, share: float) -> str:
    """The colour ``share`` (0-1) of the way from ``start`` to ``end`` (``#rrggbb``)."""
    share = min(max(share, 0.0), 1.0)
    a = [int(start[i : i + 2], 16) for i in (1, 3, 5)]
    b = [int(end[i : i + 2], 16) for i in (1, 3, 5)]
    mixed = [round(x + (y - x) * share) for x, y in zip(a, b, strict=True)]
    return "#" + "".join(f"{c:02x}" for c in mixed)
