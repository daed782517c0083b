"""The HTML report in a real browser: Debian's Chromium driven by Playwright, offline.

Checks what text assertions cannot: the page runs without console errors or page errors, every
chart is laid out (visible, non-zero box) with its data marks, the Chinese labels are drawn
with a CJK font (not as empty boxes), and at 1280 and 390 px wide no chart's text runs outside
its SVG and the page has no horizontal scroll (a screenshot of each width is kept under
``$PGY_TEST_ARTIFACTS/report``, or the pytest temporary directory). The console's way of drawing
the same specs, vega-embed from the vendored scripts, is drawn here too, offline. The browser is
the system one (``PGY_CHROMIUM``, default ``/usr/bin/chromium``); Playwright never downloads its
own. The font is any that fontconfig
offers for Chinese (Debian's ``fonts-noto-cjk``). ``./dev check`` installs both unless
``PGY_NO_APT=1``; when one is missing the tests that need it skip, or fail under
``PGY_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from pgy_metrics.analytics.reports import write_html
from pgy_metrics.analytics.reports.charts import report_specs
from tests.conftest import unavailable
from tests.unit.test_reports import sample_report

CHARTS = ("quadrant", "percentiles", "heatmap", "frontier")
WIDTHS = (1280, 390)
VENDOR = (
    Path(__file__).resolve().parents[2] / "src" / "pgy_metrics" / "server" / "static" / "vendor"
)
LONG_NAME = "一个名字特别特别长的美妆博主小红书官方认证账号"
HAN = re.compile(r"[\u3400-\u9fff]")
CHINESE_LABELS = (
    "h1",
    "h2",
    'svg[data-chart="quadrant"] .role-title-text text',
    ".synthetic-banner",
)
"""Elements of the report whose own text holds Chinese: the title, a section heading, a chart
title (SVG text) and the synthetic-data banner."""


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


def _open(browser: Any, path: Path, *, width: int = 1280) -> tuple[Any, list[str]]:
    """A page on ``path`` with every console error and page error collected."""
    problems: list[str] = []
    page = browser.new_page(viewport={"width": width, "height": 900})
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


OVERFLOWING_TEXT = """
svg => {
  const frame = svg.getBoundingClientRect();
  const out = [];
  for (const text of svg.querySelectorAll("text")) {
    if (!text.textContent.trim()) continue;
    const box = text.getBoundingClientRect();
    if (box.left < frame.left - 0.5 || box.right > frame.right + 0.5 ||
        box.top < frame.top - 0.5 || box.bottom > frame.bottom + 0.5) {
      out.push(`${text.textContent} [${box.left},${box.top},${box.right},${box.bottom}] outside ` +
               `[${frame.left},${frame.top},${frame.right},${frame.bottom}]`);
    }
  }
  return out;
}
"""
"""The texts of one SVG whose drawn box is not inside the SVG's own box (what a reader sees cut)."""


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shots = os.environ.get("PGY_TEST_ARTIFACTS")
    folder = Path(shots) / "report" if shots else tmp_path_factory.mktemp("report-shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _crowded_report() -> Any:
    """The sample report with a long creator name and the hostile tag: the labels that the
    hand-drawn charts cut or piled up."""
    report = sample_report(synthetic=True, with_plan=True, creators=12)
    names = [LONG_NAME if i == 0 else f"博主{i}" for i in range(report.benchmark.height)]
    benchmark = report.benchmark.sort("score", descending=True).with_columns(
        nickname=pl.Series(names)
    )
    return replace(report, benchmark=benchmark)


@pytest.mark.integration
@pytest.mark.parametrize("width", WIDTHS)
def test_no_chart_text_leaves_its_svg_and_the_page_fits_the_width(
    browser: Any, artifacts: Path, tmp_path: Path, width: int
) -> None:
    path = write_html(_crowded_report(), tmp_path / "report.html")
    page, problems = _open(browser, path, width=width)
    try:
        page.screenshot(path=str(artifacts / f"report-{width}.png"), full_page=True)
        for name in CHARTS:
            svg = page.locator(f'svg[data-chart="{name}"]')
            assert svg.count() == 1, name
            assert svg.locator("text").count() > 0, name
            assert svg.evaluate(OVERFLOWING_TEXT) == [], name
        heatmap = page.locator('svg[data-chart="heatmap"]')
        assert LONG_NAME in heatmap.locator("text").all_text_contents()
        scroll, client = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert scroll <= client, f"{scroll} px of page in a {client} px window"
        # The check sees a cut label: a text placed past its SVG's right edge is reported.
        control = '<svg id="control" width="60" height="20"><text x="40" y="15">cut</text></svg>'
        page.evaluate(f"() => document.body.insertAdjacentHTML('beforeend', '{control}')")
        assert page.locator("#control").evaluate(OVERFLOWING_TEXT) != []
        assert problems == []
    finally:
        page.close()


@pytest.mark.integration
def test_the_console_way_draws_the_same_spec_offline(browser: Any, tmp_path: Path) -> None:
    """vega-embed from the vendored scripts draws a report spec in the page: the console's way."""
    spec = report_specs(sample_report(synthetic=True, with_plan=True))["quadrant"]
    scripts = "".join(
        f'<script src="{(VENDOR / name).as_uri()}"></script>'
        for name in ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js")
    )
    # The sample's creator tag is "<script>...</script>": inside a script element "</" must be
    # escaped, or the tag ends the script (the console must do the same, or fetch the JSON).
    inline = json.dumps(spec).replace("</", "<\\/")
    page_file = tmp_path / "embed.html"
    page_file.write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>embed</title>'
        f'{scripts}</head><body><div id="chart"></div><script>'
        f"vegaEmbed('#chart', {inline}, {{actions: false, renderer: 'svg'}})"
        ".then(() => document.body.dataset.drawn = 'yes')"
        ".catch(e => { document.body.dataset.drawn = 'no'; console.error(String(e)); });"
        "</script></body></html>",
        encoding="utf-8",
    )
    page, problems = _open(browser, page_file)
    try:
        page.wait_for_selector("body[data-drawn]")
        assert page.locator("body").get_attribute("data-drawn") == "yes", problems
        marks = page.locator('#chart svg [aria-roledescription="mark"]')
        assert marks.count() == spec["usermeta"]["pgy"]["marks"]
        assert "千次阅读成本" in page.locator("#chart svg").inner_html()
        assert problems == []
    finally:
        page.close()
