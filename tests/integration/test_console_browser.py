"""The web console (``/console``) in a real browser: Debian's Chromium driven by Playwright,
against a real ``pgy serve`` on the sandbox source.

Sign-in and sign-out (the cookie's flags read from the browser), a creator look-up whose cost is
shown and confirmed before anything is charged (the balance moves by exactly that much), a holder
who cannot reach another holder's data by typing its URL, a raw POST without the CSRF token
refused, and every page in English and Chinese, on a desktop and at a 390 px phone width, with no
console error, no request to another host and no serious or critical accessibility violation
(axe-core, run in the page). A screenshot of each page is saved under
``$PGY_TEST_ARTIFACTS/console`` (or the pytest temporary directory). The browser is the system
one (``PGY_CHROMIUM``, default ``/usr/bin/chromium``); Playwright downloads nothing.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from pgy_metrics.contract.params import USER_ID_EXAMPLE
from pgy_metrics.service.runtime import open_administration
from pgy_metrics.service.settings import Settings
from pgy_metrics.store.tokens import BillingPlan
from tests.integration import servers
from tests.integration.servers import ServerProcess, pgy_env

pytestmark = pytest.mark.integration

AXE = Path(__file__).resolve().parents[1] / "assets" / "axe-core" / "axe.min.js"
PROFILE_URL = f"https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/{USER_ID_EXAMPLE}?x=1"
OTHER_CREATOR = "5a0b1c2d3e4f5a6b7c8d9e0f"
STARTUP_SECONDS = 120.0
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@dataclass
class Deployment:
    server: ServerProcess
    alice: str
    bob: str
    admin: str
    artifacts: Path

    def balance(self, token: str) -> int:
        answer = httpx.get(
            self.server.base_url + "/api/balance",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        answer.raise_for_status()
        value: int = answer.json()["balance"]
        return value


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("console-browser")
    env = pgy_env(folder / "data")
    # In a thread of its own: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as thread:
        alice, bob, admin = thread.submit(asyncio.run, _tokens(folder / "data")).result()
    shots = os.environ.get("PGY_TEST_ARTIFACTS")
    artifacts = Path(shots) / "console" if shots else tmp_path_factory.mktemp("console-shots")
    artifacts.mkdir(parents=True, exist_ok=True)
    server = ServerProcess(env, folder / "server.log")
    with pytest.MonkeyPatch.context() as patch:
        # This module's one server may start on a machine busy with browsers: allow it longer.
        patch.setattr(servers, "STARTUP_SECONDS", STARTUP_SECONDS)
        server.start()
    try:
        yield Deployment(server, alice, bob, admin, artifacts)
    finally:
        server.stop()
    logs = server.logs()
    for token in (alice, bob, admin):
        assert token not in logs


async def _tokens(data_dir: Path) -> tuple[str, str, str]:
    """Two metered holders and an admin, made in this process (as ``pgy token create`` would:
    the same issuer on the same data directory), which spares three interpreter starts."""
    async with open_administration(Settings(data_dir=data_dir)) as issuer:
        alice = await issuer.create("alice", plan=BillingPlan(balance=1000))
        bob = await issuer.create("bob", plan=BillingPlan(balance=777))
        admin = await issuer.create("root", is_admin=True)
    return alice.token, bob.token, admin.token


@dataclass
class Tab:
    """A page with what it reported: console errors, page errors and every URL it asked."""

    page: Any
    problems: list[str]
    asked: list[str]

    def foreign(self, deployment: Deployment) -> list[str]:
        origin = deployment.server.base_url
        return [
            url
            for url in self.asked
            if not url.startswith("data:") and not url.startswith(origin + "/")
        ]


def _tab(browser: Any, **context: Any) -> Tab:
    page = browser.new_context(**context).new_page()
    tab = Tab(page, [], [])
    page.on(
        "console",
        lambda message: (
            tab.problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: tab.problems.append(f"page error: {error}"))
    page.on("request", lambda request: tab.asked.append(request.url))
    return tab


def _sign_in(tab: Tab, deployment: Deployment, token: str) -> None:
    tab.page.goto(deployment.server.base_url + "/console", wait_until="load")
    assert tab.page.url.endswith("/console/sign-in")
    tab.page.fill("#token", token)
    tab.page.click("#sign-in")
    tab.page.wait_for_url("**/console")


def _axe(tab: Tab) -> list[str]:
    """Serious and critical accessibility violations of the page (axe-core in the page)."""
    tab.page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found = tab.page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    return list(found)


def _check_and_keep(tab: Tab, deployment: Deployment, name: str, *, width: int = 0) -> None:
    """No console error, no other host, no serious accessibility violation, no sideways
    scrolling at ``width``; then a full-page screenshot named ``name``."""
    assert tab.problems == [], name
    assert tab.foreign(deployment) == [], name
    assert _axe(tab) == [], name
    if width:
        assert tab.page.evaluate("() => document.documentElement.scrollWidth") <= width, name
    tab.page.screenshot(path=str(deployment.artifacts / f"{name}.png"), full_page=True)


def test_sign_in_and_sign_out_with_a_strict_httponly_cookie(
    browser: Any, deployment: Deployment
) -> None:
    base = deployment.server.base_url
    assert f"web console: {base}/console" in deployment.server.logs()  # pgy serve says where
    tab = _tab(browser)
    try:
        tab.page.goto(base + "/", wait_until="load")
        tab.page.click('a[href="/console"]')  # the front page leads to the console
        tab.page.wait_for_url("**/console/sign-in")
        tab.problems.clear()  # the front page (not the console's) has no favicon: a 404 line
        tab.page.reload(wait_until="load")
        _check_and_keep(tab, deployment, "sign-in-en")
        tab.page.fill("#token", "pgy_this-is-not-a-token-at-all-000000")
        tab.page.click("#sign-in")
        assert tab.page.locator("#sign-in-error").is_visible()
        assert tab.page.input_value("#token") == ""  # never echoed back
        tab.problems.clear()  # the 401 of the refused sign-in is the browser's own console line
        _sign_in(tab, deployment, deployment.alice)
        cookies = {c["name"]: c for c in tab.page.context.cookies()}
        session = cookies["pgy_console"]
        assert session["httpOnly"] is True
        assert session["sameSite"] == "Strict"
        assert session["secure"] is False  # plain HTTP on loopback; HTTPS sets it (unit test)
        assert session["path"] == "/console"
        assert deployment.alice not in tab.page.content()
        assert tab.page.evaluate("() => document.cookie") == ""  # not readable by scripts
        _check_and_keep(tab, deployment, "home-en")
        tab.page.click("#sign-out")
        tab.page.wait_for_url("**/console/sign-in?out=1")
        assert "pgy_console" not in {c["name"] for c in tab.page.context.cookies()}
        tab.page.goto(deployment.server.base_url + "/console/usage", wait_until="load")
        assert tab.page.url.endswith("/console/sign-in")
        assert tab.problems == []
    finally:
        tab.page.context.close()


def test_a_creator_look_up_says_its_cost_first_and_charges_exactly_that(
    browser: Any, deployment: Deployment
) -> None:
    tab = _tab(browser)
    try:
        _sign_in(tab, deployment, deployment.alice)
        page = tab.page
        page.click("nav >> text=Creator")
        page.wait_for_url("**/console/creator")
        page.fill("#ref", PROFILE_URL)
        before = deployment.balance(deployment.alice)
        page.click("#look-up")
        page.wait_for_selector("#quote")
        total = int(page.get_attribute("input[name=total]", "value") or "")
        assert total > 0
        assert f"at most {total} credits" in page.inner_text("#quote-total")
        assert deployment.balance(deployment.alice) == before  # asked, not charged
        _check_and_keep(tab, deployment, "creator-quote-en")
        page.click("#confirm")  # htmx swaps the result in
        page.wait_for_selector("#creator")
        assert page.url.startswith(deployment.server.base_url + "/console/creator?ref=")
        assert f"Charged {total} credits" in page.inner_text("#charged")
        assert deployment.balance(deployment.alice) == before - total
        for section in ("#indicators", "#profile", "#audience", "#history-charts"):
            assert page.locator(section).is_visible(), section
        headline = page.locator("details[open]")
        assert headline.count() == 1
        assert "DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL" in headline.inner_text()
        assert "%" in headline.inner_text()  # rates written as the site writes them
        assert page.locator("details.scope").count() == 24
        _check_and_keep(tab, deployment, "creator-en")
        page.goto(deployment.server.base_url + "/console/usage", wait_until="load")
        assert str(before - total) in page.inner_text("#balance")
        _check_and_keep(tab, deployment, "usage-en")
    finally:
        tab.page.context.close()


def test_a_holder_cannot_reach_another_holders_data(browser: Any, deployment: Deployment) -> None:
    tab = _tab(browser)
    try:
        _sign_in(tab, deployment, deployment.alice)
        for path in ("/console/usage?token=bob", "/console/usage?token=root", "/console/tokens"):
            answer = tab.page.goto(deployment.server.base_url + path, wait_until="load")
            assert answer is not None
            assert answer.status == 403, path
            assert tab.page.locator("#refused").is_visible()
            text = tab.page.inner_text("main")
            assert "777" not in text  # bob's balance
            assert "bob" not in text
        tab.page.goto(deployment.server.base_url + "/console/status", wait_until="load")
        assert tab.page.locator("#accounts").count() == 0  # upstream accounts: admins only
        assert tab.page.locator("nav >> text=Tokens").count() == 0
    finally:
        tab.page.context.close()
    admin = _tab(browser)
    try:
        _sign_in(admin, deployment, deployment.admin)
        admin.page.goto(deployment.server.base_url + "/console/tokens", wait_until="load")
        assert admin.page.locator("#tokens >> text=bob").is_visible()
        _check_and_keep(admin, deployment, "tokens-en")
        admin.page.click("#tokens >> text=bob")
        admin.page.wait_for_url("**/console/usage?token=bob")
        assert "777" in admin.page.inner_text("#balance")
    finally:
        admin.page.context.close()


def test_a_raw_post_without_the_csrf_token_is_refused(browser: Any, deployment: Deployment) -> None:
    tab = _tab(browser)
    try:
        _sign_in(tab, deployment, deployment.alice)
        session = {c["name"]: c["value"] for c in tab.page.context.cookies()}["pgy_console"]
        before = deployment.balance(deployment.alice)
        base = deployment.server.base_url
        form = {"user_id": OTHER_CREATOR, "nonce": "raw-post-nonce-1", "total": "100000"}
        with httpx.Client(base_url=base, cookies={"pgy_console": session}, timeout=30) as raw:
            refused = raw.post("/console/creator", data=form)
            assert refused.status_code == 403
            assert "security token is missing or wrong" in refused.text
            out = raw.post("/console/sign-out", data={})
            assert out.status_code == 403
            assert raw.get("/console", follow_redirects=False).status_code == 200  # still in
        assert deployment.balance(deployment.alice) == before
        tab.page.goto(base + "/console/usage", wait_until="load")
        assert tab.page.url.endswith("/console/usage")
    finally:
        tab.page.context.close()


PAGES = ("/console", "/console/creator", "/console/usage", "/console/status", "/console/tokens")


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("device", ["desktop", "phone"])
def test_every_page_is_clean_accessible_local_and_fits_a_phone(
    browser: Any, deployment: Deployment, lang: str, device: str
) -> None:
    phone = device == "phone"
    tab = _tab(browser, **(PHONE if phone else {"viewport": {"width": 1280, "height": 900}}))
    try:
        _sign_in(tab, deployment, deployment.admin)
        if lang == "zh":
            tab.page.click("#lang-switch")
            tab.page.wait_for_url("**/console")
            assert tab.page.get_attribute("html", "lang") == "zh-CN"
        for path in PAGES:
            tab.page.goto(deployment.server.base_url + path, wait_until="load")
            assert tab.page.locator("h1").is_visible()
            name = path.strip("/").replace("/", "-")
            _check_and_keep(tab, deployment, f"{name}-{lang}-{device}", width=390 if phone else 0)
        # The creator page with a result (the data is collected by now: cached answers).
        tab.page.goto(
            deployment.server.base_url + f"/console/creator?ref={USER_ID_EXAMPLE}",
            wait_until="load",
        )
        if tab.page.locator("#confirm").count():
            tab.page.click("#confirm")
        tab.page.wait_for_selector("#creator")
        _check_and_keep(
            tab, deployment, f"creator-result-{lang}-{device}", width=390 if phone else 0
        )
        tab.page.click("#sign-out")
        tab.page.wait_for_url("**/console/sign-in?out=1")
        _check_and_keep(tab, deployment, f"signed-out-{lang}-{device}", width=390 if phone else 0)
    finally:
        tab.page.context.close()
