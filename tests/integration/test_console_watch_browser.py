"""The console's interactive charts and watchlists page in a real browser: Debian's Chromium
driven by Playwright, against a real ``pgy serve`` on the sandbox source (the deployment,
tabs, axe-core check and screenshots of test_console_browser.py).

The creator page's history charts are drawn by vega-embed in the page (an SVG made by Vega
inside each chart's box, a tooltip on hover) under the console's Content Security Policy,
unchanged: no violation, no console error, no request to another host. An admin creates a
watchlist from pasted ids with one bad line (listed with its number), sees it with its next
refresh and the capacity line, opens its page (the refresh chart, drawn live) and removes it;
a holder is refused. Screenshots at 1280 and 390 px under ``$PGY_TEST_ARTIFACTS/console``.
"""

from __future__ import annotations

from typing import Any

import pytest

from pgy_metrics.contract.params import USER_ID_EXAMPLE
from tests.integration.test_console_browser import (
    OTHER_CREATOR,
    PHONE,
    Deployment,
    Tab,
    _check_and_keep,
    _sign_in,
    _tab,
    deployment,
)

pytestmark = pytest.mark.integration

__all__ = ["deployment"]  # the module-scoped server fixture, shared by import

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
DEVICES = {"desktop": (DESKTOP, 0), "phone": (PHONE, 390)}


def _watch_csp(tab: Tab) -> None:
    """Collect Content Security Policy violations as the page reports them (an event per
    blocked script, style or eval), into ``window.__csp``; read with ``_csp``."""
    tab.page.add_init_script(
        "window.__csp = [];"
        "document.addEventListener('securitypolicyviolation', e =>"
        " window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )


def _csp(tab: Tab) -> list[str]:
    return list(tab.page.evaluate("() => window.__csp || []"))


def _live_charts(tab: Tab, count: int) -> None:
    """Wait until ``count`` charts are drawn by vega-embed (an SVG of Vega's in each live box)."""
    try:
        tab.page.wait_for_function(
            f"() => document.querySelectorAll('figure.chart[data-drawn=live]').length >= {count}",
            timeout=30_000,
        )
    except Exception:
        states = tab.page.evaluate(
            "() => [...document.querySelectorAll('figure.chart')].map(f => f.dataset.drawn)"
        )
        raise AssertionError(f"charts {states}; {tab.problems}; CSP {_csp(tab)}") from None
    drawn = tab.page.locator("figure.chart.is-live .chart-live svg.marks")
    assert drawn.count() >= count
    assert tab.page.locator("figure.chart.is-live .chart-static").first.is_hidden()


@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_the_history_charts_are_interactive_under_the_csp(
    browser: Any, deployment: Deployment, device: str
) -> None:
    context, width = DEVICES[device]
    tab = _tab(browser, **context)
    _watch_csp(tab)
    try:
        _sign_in(tab, deployment, deployment.admin)
        page = tab.page
        page.goto(
            deployment.server.base_url + f"/console/creator?ref={USER_ID_EXAMPLE}",
            wait_until="load",
        )
        if page.locator("#confirm").count():
            page.click("#confirm")  # htmx swaps the result in: the charts come with it
        page.wait_for_selector("#creator")
        _live_charts(tab, 5)
        chart = page.locator('figure[data-chart="history-read_median"] .chart-live')
        point = chart.locator('path[aria-roledescription="mark"], .mark-symbol path').first
        point.scroll_into_view_if_needed()
        point.hover(force=True)
        page.wait_for_selector("#vg-tooltip-element.visible", timeout=10_000)
        tip = page.inner_text("#vg-tooltip-element")
        assert "record time" in tip
        assert _csp(tab) == []
        # the table stays, folded, for screen readers and copying
        assert page.locator("#history-table summary").is_visible()
        _check_and_keep(tab, deployment, f"creator-history-charts-{device}", width=width)
    finally:
        tab.page.context.close()


def test_an_admin_creates_a_watchlist_sees_it_and_removes_it(
    browser: Any, deployment: Deployment
) -> None:
    tab = _tab(browser, **DESKTOP)
    _watch_csp(tab)
    try:
        _sign_in(tab, deployment, deployment.admin)
        page = tab.page
        page.click("nav >> text=Watchlists")
        page.wait_for_url("**/console/watchlists")
        assert page.locator("#no-watchlists").is_visible()
        _check_and_keep(tab, deployment, "watchlists-empty-en")
        page.fill("#watch-name", "brand-a")
        page.fill("#watch-ids", f"{USER_ID_EXAMPLE}\nnot-a-creator\n{OTHER_CREATOR}\n")
        page.fill("#watch-every", "6h")
        page.click("#watch-submit")
        page.wait_for_selector("#watch-added")
        assert "2 key(s) added" in page.inner_text("#watch-added")
        skipped = page.inner_text("#watch-skipped")
        assert "line 2" in skipped and "not-a-creator" in skipped
        row = page.locator('tr[data-list="brand-a"]')
        assert row.is_visible()
        assert page.inner_text('tr[data-list="brand-a"] .next-due')[:2] == "20"
        assert "Calls needed: 8 a day" in page.inner_text("#capacity")
        _check_and_keep(tab, deployment, "watchlists-en")

        page.click('tr[data-list="brand-a"] >> a')
        page.wait_for_url("**/console/watchlists/brand-a")
        _live_charts(tab, 1)
        assert page.locator(f'a[href*="ref={USER_ID_EXAMPLE}"]').is_visible()
        assert _csp(tab) == []
        _check_and_keep(tab, deployment, "watchlist-en")
        page.click("#watch-remove")
        page.wait_for_url("**/console/watchlists?removed=brand-a")
        assert page.locator("#watch-removed").is_visible()
        assert page.locator('tr[data-list="brand-a"]').count() == 0
        assert page.locator("#no-watchlists").is_visible()
    finally:
        tab.page.context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_watchlists_page_at_phone_width(
    browser: Any, deployment: Deployment, lang: str
) -> None:
    tab = _tab(browser, **PHONE)
    try:
        _sign_in(tab, deployment, deployment.admin)
        if lang == "zh":
            tab.page.click("#lang-switch")
            tab.page.wait_for_url("**/console")
        tab.page.goto(deployment.server.base_url + "/console/watchlists", wait_until="load")
        assert tab.page.locator("h1").is_visible()
        _check_and_keep(tab, deployment, f"watchlists-{lang}-phone", width=390)
    finally:
        tab.page.context.close()


def test_a_holder_is_refused_the_watchlists_page(browser: Any, deployment: Deployment) -> None:
    tab = _tab(browser, **DESKTOP)
    try:
        _sign_in(tab, deployment, deployment.alice)
        assert tab.page.locator("nav >> text=Watchlists").count() == 0
        answer = tab.page.goto(deployment.server.base_url + "/console/watchlists")
        assert answer is not None and answer.status == 403
        assert "admin tokens" in tab.page.inner_text("#refused")
        tab.problems.clear()  # the 403 is the browser's own console line
        _check_and_keep(tab, deployment, "watchlists-refused-en")
    finally:
        tab.page.context.close()
