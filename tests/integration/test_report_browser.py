"""The HTML report in a real browser: Debian's Chromium driven by Playwright, offline.

Checks what text assertions cannot: the page runs without console errors or page errors, every
chart is laid out (visible, non-zero box) with its data marks, and the Chinese labels are drawn
with a CJK font (not as empty boxes). The browser is the system one (``PGY_CHROMIUM``, default
``/usr/bin/chromium``); Playwright never downloads its own. The font is any that fontconfig
offers for Chinese (Debian's ``fonts-noto-cjk``). ``./dev check`` installs both unless
``PGY_NO_APT=1``; when one is missing the tests that need it skip, or fail under
``PGY_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pgy_metrics.analytics.reports import write_html
from tests.conftest import unavailable
from tests.unit.test_reports import sample_report

CHROMIUM = os.environ.get("PGY_CHROMIUM", "/usr/bin/chromium")
CHARTS = ("quadrant", "radar", "heatmap", "frontier")
HAN = re.compile(r"[\u3400-\u9fff]")
CHINESE_LABELS = ("h1", "h2", 'svg[data-chart="quadrant"] .chart-title', ".synthetic-banner")
"""Elements of the report whose own text holds Chinese: the title, a section heading, a chart
title (SVG text) and the synthetic-data banner."""


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


@pytest.fixture(scope="module")
def cjk_families() -> set[str]:
    """The font families fontconfig (which Chromium uses on Linux) offers for Chinese."""
    fc_list = shutil.which("fc-list")
    listed = ""
    if fc_list is not None:
        listed = subprocess.run(
            [fc_list, ":lang=zh", "family"], capture_output=True, text=True, check=False
        ).stdout
    families = {name.strip() for line in listed.splitlines() for name in line.split(",")}
    families.discard("")
    if not families:
        unavailable(
            "no CJK font: fontconfig offers none for Chinese (fc-list :lang=zh); install "
            "fonts-noto-cjk (./dev check does, unless PGY_NO_APT=1)"
        )
    return families


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


@pytest.mark.integration
def test_chinese_labels_are_drawn_with_a_cjk_font(
    browser: Any, cjk_families: set[str], tmp_path: Path
) -> None:
    """Chromium reports the platform fonts it drew each element's text with: every Chinese
    character must come from a font that has Chinese, or it shows as an empty box."""
    path = write_html(sample_report(synthetic=True, with_plan=True), tmp_path / "report.html")
    page, problems = _open(browser, path)
    try:
        devtools = page.context.new_cdp_session(page)
        devtools.send("DOM.enable")
        devtools.send("CSS.enable")
        root = devtools.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
        for selector in CHINESE_LABELS:
            han = len(HAN.findall(page.locator(selector).first.text_content() or ""))
            assert han > 0, selector
            node = devtools.send("DOM.querySelector", {"nodeId": root, "selector": selector})
            fonts = devtools.send("CSS.getPlatformFontsForNode", {"nodeId": node["nodeId"]})
            drawn = sum(
                font["glyphCount"] for font in fonts["fonts"] if font["familyName"] in cjk_families
            )
            assert drawn >= han, f"{selector}: {han} Chinese characters, fonts {fonts['fonts']}"
        assert problems == []
    finally:
        page.close()
