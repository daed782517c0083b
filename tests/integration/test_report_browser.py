"""The HTML report in a real browser: Debian's Chromium driven by Playwright, offline.

Checks what text assertions cannot: the page runs without console errors or page errors, and
every chart is laid out (visible, non-zero box) with its data marks. The browser is the system
one (``PGY_CHROMIUM``, default ``/usr/bin/chromium``); Playwright never downloads its own. When
it is missing the test skips, or fails under ``PGY_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pgy_metrics.analytics.reports import write_html
from tests.conftest import unavailable
from tests.unit.test_reports import sample_report

CHROMIUM = os.environ.get("PGY_CHROMIUM", "/usr/bin/chromium")
CHARTS = ("quadrant", "radar", "heatmap", "frontier")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).is_file() or not os.access(CHROMIUM, os.X_OK):
        unavailable(f"no Chromium at {CHROMIUM} (set PGY_CHROMIUM or install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def _open(browser: Any, path: Path) -> tuple[Any, list[str]]:
    """A page on ``path`` with every console error and page error collected."""
    problems: list[str] = []
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "request",
        lambda request: (
            problems.append(f"request {request.url}")
            if not request.url.startswith(("file:", "data:", "about:"))
            else None
        ),
    )
    page.goto(path.as_uri(), wait_until="load")
    return page, problems


@pytest.mark.integration
def test_every_chart_renders_with_marks_and_no_errors(browser: Any, tmp_path: Path) -> None:
    path = write_html(sample_report(synthetic=True, with_plan=True), tmp_path / "report.html")
    page, problems = _open(browser, path)
    try:
        for name in CHARTS:
            svg = page.locator(f'svg[data-chart="{name}"]')
            assert svg.count() == 1, name
            assert svg.is_visible(), name
            box = svg.bounding_box()
            assert box is not None, name
            assert box["width"] > 0, name
            assert box["height"] > 0, name
            assert svg.locator(".mark").count() > 0, name
            first_mark = svg.locator(".mark").first.bounding_box()
            assert first_mark is not None, name
        assert page.locator(".synthetic-banner").is_visible()
        assert page.title().startswith("[合成数据 SYNTHETIC]")
        assert problems == []
    finally:
        page.close()


@pytest.mark.integration
def test_sorting_a_table_and_the_no_plan_note(browser: Any, tmp_path: Path) -> None:
    path = write_html(sample_report(synthetic=False, with_plan=False), tmp_path / "report.html")
    page, problems = _open(browser, path)
    try:
        assert page.locator('svg[data-chart="frontier"]').count() == 0
        assert page.locator('[data-chart-missing="frontier"]').is_visible()
        table = page.locator('table[data-table="benchmark"]')
        header = table.locator('th[data-column="score"]')
        column = table.locator("th").all_inner_texts().index(header.inner_text())
        header.click()
        cells = table.locator(f"tbody tr td:nth-child({column + 1})")
        scores = [float(value) for value in cells.evaluate_all("c => c.map(e => e.dataset.sort)")]
        assert scores == sorted(scores)
        header.click()
        scores = [float(value) for value in cells.evaluate_all("c => c.map(e => e.dataset.sort)")]
        assert scores == sorted(scores, reverse=True)
        assert problems == []
    finally:
        page.close()
