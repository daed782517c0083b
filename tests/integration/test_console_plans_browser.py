"""The console's plan page in a real browser: Debian's Chromium driven by Playwright, against a
real ``pgy serve`` on the sandbox source (the deployment and helpers of
test_console_browser.py).

A holder looks a few creators up first (the creator page: cost shown, then confirmed), so that
data exists; a plan with an infeasible rule shows the planner's diagnosis; the same plan without
it shows the plan table, the budget frontier chart and the gain over greedy, and the workbook it
offers opens with openpyxl and holds the plan's rows. A raw POST without the CSRF token is
refused, another holder gets a 404 on the workbook's URL, and each page has no console error, no
request to another host, no serious or critical axe-core violation, and fits 1280 and 390 px
(screenshots under ``$PGY_TEST_ARTIFACTS/console``).
"""

from __future__ import annotations

import io
from typing import Any

import httpx
import openpyxl
import pytest

from pgy_metrics.analytics.reports import SHEETS
from tests.integration.test_console_browser import (
    PHONE,
    Deployment,
    Tab,
    _check_and_keep,
    _sign_in,
    _tab,
    deployment,
)

pytestmark = pytest.mark.integration

__all__ = ["deployment"]  # the module-scoped fixture: one server for this module

CREATORS = ("5d21ab6b000000001201567d", "5a0b1c2d3e4f5a6b7c8d9e01", "5a0b1c2d3e4f5a6b7c8d9e02")
NOT_LOOKED_UP = "5a0b1c2d3e4f5a6b7c8d9e03"
BUDGET = "60000"


def _look_up(tab: Tab, deployment: Deployment, user_id: str) -> None:
    """Pay for a creator's data the way a holder does: the creator page, its quote, confirm."""
    page = tab.page
    page.goto(deployment.server.base_url + f"/console/creator?ref={user_id}", wait_until="load")
    if page.locator("#confirm").count():
        page.click("#confirm")
    page.wait_for_selector("#creator")


def _fill_plan(tab: Tab, *, max_per_any_tag: str = "") -> None:
    page = tab.page
    page.fill("#creators", "\n".join((*CREATORS, NOT_LOOKED_UP)))
    page.fill("#budget", BUDGET)
    page.select_option("#objective", "reads")
    page.fill("#max_per_any_tag", max_per_any_tag)
    page.click("#plan")
    page.wait_for_load_state("load")


def _workbook_ids(content: bytes) -> list[str]:
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    rows = list(book[SHEETS["plan"]].iter_rows(values_only=True))
    top = next(i for i, row in enumerate(rows) if any("user_id" in str(c) for c in row))
    column = next(i for i, cell in enumerate(rows[top]) if "user_id" in str(cell))
    return sorted(str(row[column]) for row in rows[top + 1 :] if row[column])


def test_a_holder_plans_from_looked_up_creators_and_downloads_the_workbook(
    browser: Any, deployment: Deployment
) -> None:
    base = deployment.server.base_url
    tab = _tab(browser, viewport={"width": 1280, "height": 900}, accept_downloads=True)
    try:
        _sign_in(tab, deployment, deployment.alice)
        for user_id in CREATORS:
            _look_up(tab, deployment, user_id)
        page = tab.page
        page.click("nav >> text=Plans")
        page.wait_for_url("**/console/plans")
        _check_and_keep(tab, deployment, "plans-en")
        before = deployment.balance(deployment.alice)

        _fill_plan(tab, max_per_any_tag="0")
        page.wait_for_selector("#infeasible-message")
        assert "relax max_per_any_tag" in page.inner_text("#infeasible-message")
        assert page.locator("#download").count() == 0
        _check_and_keep(tab, deployment, "plans-infeasible-en")

        _fill_plan(tab)
        page.wait_for_selector("#plan-table")
        chosen = sorted(page.locator("#plan-table tbody th code").all_inner_texts())
        assert chosen and NOT_LOOKED_UP not in chosen
        assert page.locator('#frontier svg[data-chart="frontier"]').count() == 1  # the fallback
        page.wait_for_selector("#frontier figure.is-live .chart-live svg.marks")  # drawn live
        assert "greedy" in page.inner_text("#gain")
        assert page.locator(f'#missing a[href="/console/creator?ref={NOT_LOOKED_UP}"]').count()
        assert deployment.balance(deployment.alice) == before  # planning charged nothing
        _check_and_keep(tab, deployment, "plans-result-en")

        with page.expect_download() as waiting:
            page.click("#download")
        download = waiting.value
        assert download.suggested_filename.endswith(".xlsx")
        path = download.path()
        assert path is not None
        assert _workbook_ids(path.read_bytes()) == chosen
        url = page.get_attribute("#download", "href") or ""
        assert url.startswith("/console/plans/")

        session = {c["name"]: c["value"] for c in page.context.cookies()}["pgy_console"]
        with httpx.Client(base_url=base, cookies={"pgy_console": session}, timeout=60) as raw:
            form = {"creators": CREATORS[0], "budget": BUDGET}
            refused = raw.post("/console/plans", data=form, files={"candidates": ("", b"")})
            assert refused.status_code == 403
            assert "security token is missing or wrong" in refused.text
            assert raw.get(url).status_code == 200  # the holder's own session may
    finally:
        tab.page.context.close()

    other = _tab(browser)
    try:
        _sign_in(other, deployment, deployment.bob)
        answer = other.page.goto(base + url, wait_until="load")
        assert answer is not None
        assert answer.status == 404
        assert other.page.locator("#refused").is_visible()
        other.problems.clear()  # the 404 is the browser's own console line
        other.page.goto(base + "/console/plans", wait_until="load")
        _fill_plan(other)  # bob paid for none of these creators: all listed, none planned
        other.page.wait_for_selector("#nothing")
        assert other.page.locator("#plan-table").count() == 0
        assert other.problems == []
    finally:
        other.page.context.close()


def test_the_plan_page_fits_a_phone_in_chinese(browser: Any, deployment: Deployment) -> None:
    tab = _tab(browser, **PHONE)
    try:
        _sign_in(tab, deployment, deployment.alice)
        tab.page.click("#lang-switch")
        tab.page.wait_for_url("**/console")
        tab.page.goto(deployment.server.base_url + "/console/plans", wait_until="load")
        assert tab.page.get_attribute("html", "lang") == "zh-CN"
        _check_and_keep(tab, deployment, "plans-zh-phone", width=390)
        for user_id in CREATORS:
            _look_up(tab, deployment, user_id)  # cached by now (the other test paid for them)
        tab.page.goto(deployment.server.base_url + "/console/plans", wait_until="load")
        _fill_plan(tab)
        tab.page.wait_for_selector("#plan-table")
        assert "预算前沿" in tab.page.inner_text("#frontier-title")
        _check_and_keep(tab, deployment, "plans-result-zh-phone", width=390)
    finally:
        tab.page.context.close()
