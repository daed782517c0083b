"""How numbers are written for people: the one rule of the ``pgy`` tables and the reports."""

from __future__ import annotations

import math

import pytest

from pgy_metrics.figures import MISSING, FigureKind, format_figure, yes_no


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (7594, FigureKind.INTEGER, "7,594"),
        (84_500.0, FigureKind.INTEGER, "84,500"),
        (0.958, FigureKind.FRACTION, "95.8%"),
        (0.01700000000000005, FigureKind.FRACTION, "1.7%"),
        (0.01408918537382009, FigureKind.CHANGE, "+1.4%"),
        (-0.05, FigureKind.CHANGE, "-5.0%"),
        (29_940, FigureKind.MONEY, "29,940.00"),
        (5000.5, FigureKind.MONEY, "5,000.50"),
        (77.94, FigureKind.NUMBER, "77.9"),
        ("美妆", FigureKind.TEXT, "美妆"),
        (["thin_sample", "one_hit_wonder"], FigureKind.TEXT, "thin_sample, one_hit_wonder"),
    ],
)
def test_each_kind_has_the_precision_of_the_data(
    value: object, kind: FigureKind, text: str
) -> None:
    assert format_figure(value, kind) == text


@pytest.mark.parametrize("value", [None, math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("kind", list(FigureKind))
def test_missing_is_a_dash_never_zero(value: object, kind: FigureKind) -> None:
    assert format_figure(value, kind) == MISSING


@pytest.mark.parametrize("kind", list(FigureKind))
def test_yes_no_in_both_languages_never_true_false(kind: FigureKind) -> None:
    assert format_figure(True, kind) == "是 yes"
    assert format_figure(False, kind) == "否 no"
    assert yes_no(None) == "未知 unknown"
