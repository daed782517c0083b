"""The ``/docs`` pages in a real browser: Debian's Chromium driven by Playwright, on a real
``pgy serve`` whose one source is the loopback fake of the hosted API (so it can be made to fail).

Checks what text assertions cannot: every tab switches (click and keyboard), copy puts the sample
on the clipboard, the health widget shows the label ``/status`` gives and follows it when the
source fails, the latest example appears after a first call, the language switch works, the
base URLs are timed, a phone's width needs no sideways scrolling, and no page has a console error
or asks a host that is not one of the configured base URLs. A screenshot of each page is saved
under ``$PGY_TEST_ARTIFACTS/docs-pages`` (or the pytest temporary directory). The browser is the
system one (``PGY_CHROMIUM``, default ``/usr/bin/chromium``); Playwright downloads nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from pgy_metrics.contract.endpoints import ENDPOINTS, NOTES_RATE_PATH
from pgy_metrics.contract.params import USER_ID_EXAMPLE
from tests.integration.servers import ServerProcess, free_port, pgy, pgy_env
from tests.upstreams.fake_hosted_api import FakeHostedApi
from tests.upstreams.loopback import serve_on_loopback

pytestmark = pytest.mark.integration

RELAY_TOKEN = "relay-token-for-docs-pages"
WAIT_SECONDS = 20.0
FASTEST = "() => document.getElementById('fastest').dataset.fastest"
"""True once the page has timed every base URL and recommended one."""


@dataclass
class Deployment:
    server: ServerProcess
    token: str
    fake: FakeHostedApi
    origins: set[str]
    """The configured base URLs' origins: the only hosts a page may ask."""
    artifacts: Path


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp("docs-browser")
    fake = FakeHostedApi(token=RELAY_TOKEN)
    with serve_on_loopback(fake.app) as upstream:
        config = folder / "pgy.toml"
        config.write_text(
            f'[[sources]]\ntype = "justoneapi"\ntoken_env = "DOCS_RELAY_TOKEN"\n'
            f'base_url = "{upstream}"\nattempts = 1\n',
            encoding="utf-8",
        )
        port = free_port()
        bases = f"loopback=http://127.0.0.1:{port},localhost=http://localhost:{port}"
        env = pgy_env(
            folder / "data",
            DOCS_RELAY_TOKEN=RELAY_TOKEN,
            PGY_HEALTH_FLUSH_SECONDS="0.2",
            PGY_PUBLIC_BASE_URLS=bases,
        )
        token = pgy("token", "create", "--name", "docs", env=env).stdout.strip()
        shots = os.environ.get("PGY_TEST_ARTIFACTS")
        artifacts = (
            Path(shots) / "docs-pages" if shots else tmp_path_factory.mktemp("docs-pages-shots")
        )
        artifacts.mkdir(parents=True, exist_ok=True)
        server = ServerProcess(env, folder / "server.log", args=("--config", str(config)))
        server.port = port
        with server:
            yield Deployment(
                server,
                token,
                fake,
                {f"http://127.0.0.1:{port}", f"http://localhost:{port}"},
                artifacts,
            )
            assert token not in server.logs()
            assert RELAY_TOKEN not in server.logs()


def _open(
    browser: Any, deployment: Deployment, path: str, **context: Any
) -> tuple[Any, list[str], list[str]]:
    """A page on ``path``: every console error and page error, and every URL it asked."""
    problems: list[str] = []
    asked: list[str] = []
    page = browser.new_context(**context).new_page()
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("request", lambda request: asked.append(request.url))
    page.goto(deployment.server.base_url + path, wait_until="load")
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-health]')].every(e => e.dataset.label)"
    )
    return page, problems, asked


def _foreign(asked: list[str], deployment: Deployment) -> list[str]:
    def origin(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}"

    allowed = deployment.origins
    return [url for url in asked if not url.startswith("data:") and origin(url) not in allowed]


def _call(deployment: Deployment, user_id: str = USER_ID_EXAMPLE) -> dict[str, Any]:
    """One fresh collection (``no-cache``), as a caller would make it."""
    answer: dict[str, Any] = httpx.get(
        deployment.server.base_url + NOTES_RATE_PATH,
        params={"token": deployment.token, "userId": user_id},
        headers={"Cache-Control": "no-cache"},
        timeout=30,
    ).json()
    return answer


def _status_label(deployment: Deployment, subject: str) -> dict[str, Any] | None:
    report = httpx.get(deployment.server.base_url + "/status", timeout=10).json()
    return next((item for item in report["subjects"] if item["subject"] == subject), None)


def _wait_for_label(deployment: Deployment, accept: Any) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        item = _status_label(deployment, "notes_rate")
        if item is not None and accept(item["label"]):
            return item
        time.sleep(0.2)
    raise AssertionError(f"/status never gave an accepted label: {item}")


PAGES = ["/docs", *(f"/docs/{name}" for name in ENDPOINTS)]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_page_loads_clean_asks_no_other_host_and_is_kept_as_a_screenshot(
    browser: Any, deployment: Deployment, lang: str
) -> None:
    for path in PAGES:
        page, problems, asked = _open(browser, deployment, f"{path}?lang={lang}")
        try:
            assert page.locator("h1").is_visible()
            if path != "/docs":
                page.wait_for_function(FASTEST)
            assert problems == [], path
            assert _foreign(asked, deployment) == [], path
            name = path.strip("/").replace("/", "-")
            page.screenshot(path=str(deployment.artifacts / f"{name}-{lang}.png"), full_page=True)
        finally:
            page.close()
    assert len(list(deployment.artifacts.glob(f"*-{lang}.png"))) == len(PAGES)


def test_a_phone_needs_no_sideways_scrolling(browser: Any, deployment: Deployment) -> None:
    page, problems, _ = _open(
        browser,
        deployment,
        "/docs/notes_rate",
        viewport={"width": 375, "height": 740},
        is_mobile=True,
        has_touch=True,
    )
    try:
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375
        for table in ("params", "codes", "bases"):  # no sideways scrolling inside them either
            inner = page.evaluate(f"() => document.getElementById('{table}').scrollWidth")
            assert inner <= 375, table
        assert page.locator('[role="tab"]').first.is_visible()
        shot = deployment.artifacts / "docs-notes_rate-phone.png"
        page.screenshot(path=str(shot), full_page=True)
        assert problems == []
    finally:
        page.close()


def test_every_tab_switches_by_click_and_by_keyboard(browser: Any, deployment: Deployment) -> None:
    page, problems, _ = _open(browser, deployment, "/docs/notes_rate")
    try:
        tabs = page.locator('[role="tab"]')
        keys = [tabs.nth(i).get_attribute("aria-controls") for i in range(tabs.count())]
        assert len(keys) == 9
        for index in range(tabs.count()):
            tabs.nth(index).click()
            for other, panel in enumerate(keys):
                selected = other == index
                assert tabs.nth(other).get_attribute("aria-selected") == str(selected).lower()
                assert page.locator(f"#{panel}").is_visible() is selected
        tabs.first.focus()
        page.keyboard.press("ArrowRight")
        assert page.evaluate("() => document.activeElement.id") == tabs.nth(1).get_attribute("id")
        assert page.locator(f"#{keys[1]}").is_visible()
        page.keyboard.press("End")
        assert page.locator(f"#{keys[-1]}").is_visible()
        page.keyboard.press("ArrowRight")  # wraps around
        assert page.locator(f"#{keys[0]}").is_visible()
        page.keyboard.press("ArrowLeft")
        page.keyboard.press("Home")
        assert tabs.first.get_attribute("tabindex") == "0"
        assert tabs.nth(1).get_attribute("tabindex") == "-1"  # one tab stop for the list
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == keys[0]
        assert problems == []
    finally:
        page.close()


def test_copy_puts_each_sample_on_the_clipboard(browser: Any, deployment: Deployment) -> None:
    page, problems, _ = _open(
        browser,
        deployment,
        "/docs/fans_history",
        permissions=["clipboard-read", "clipboard-write"],
    )
    try:
        page.wait_for_function(FASTEST)  # the samples take the fastest base URL first
        tabs = page.locator('[role="tab"]')
        for index in range(tabs.count()):
            tabs.nth(index).click()
            panel = page.locator(f"#{tabs.nth(index).get_attribute('aria-controls')}")
            shown = panel.locator("code").text_content()
            assert shown
            assert panel.locator("button.copy").text_content() == "Copy"
            panel.locator("button.copy").click()
            page.wait_for_function(
                "(panel) => document.getElementById(panel).querySelector('button.copy')"
                ".textContent === 'Copied'",
                arg=panel.get_attribute("id"),
            )
            assert page.evaluate("() => navigator.clipboard.readText()") == shown
        assert problems == []
    finally:
        page.close()


def test_the_language_switch_goes_both_ways(browser: Any, deployment: Deployment) -> None:
    page, problems, _ = _open(browser, deployment, "/docs/data_summary")
    try:
        assert page.locator("h1").text_content() == ENDPOINTS["data_summary"].title
        page.locator("#lang-switch").click()
        page.wait_for_url("**/docs/data_summary?lang=zh")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.locator("h1").text_content() == ENDPOINTS["data_summary"].title_zh
        assert page.locator("#tab-prompt").text_content() == "AI 助手提示词"
        page.locator("#lang-switch").click()
        page.wait_for_url("**/docs/data_summary")
        assert page.locator("h1").text_content() == ENDPOINTS["data_summary"].title
        assert problems == []
    finally:
        page.close()


def test_each_base_url_is_timed_and_the_fastest_recommended(
    browser: Any, deployment: Deployment
) -> None:
    page, problems, asked = _open(browser, deployment, "/docs/notes_rate")
    try:
        page.wait_for_function(FASTEST)
        durations = page.locator("#bases td.duration").all_text_contents()
        assert len(durations) == 2 and all(d.isdigit() for d in durations), durations
        fastest = page.locator("#fastest").get_attribute("data-fastest")
        assert fastest in {"loopback", "localhost"}
        assert f"Recommended: {fastest}" in (page.locator("#fastest").text_content() or "")
        assert {f"{origin}/healthz" for origin in deployment.origins} <= set(asked)
        chosen = page.locator(f'#bases tr[data-name="{fastest}"]').get_attribute("data-base")
        other = next(origin for origin in deployment.origins if origin != chosen)
        assert page.locator("#samples-base").get_attribute("data-base") == chosen
        samples = page.locator("code.sample[data-sample]").all_text_contents()
        assert len(samples) == 9
        assert all(chosen in text and other not in text for text in samples)
        assert problems == []
    finally:
        page.close()


def test_the_latest_example_appears_after_a_first_call(
    browser: Any, deployment: Deployment
) -> None:
    page, problems, _ = _open(browser, deployment, "/docs/notes_rate")
    try:
        assert page.locator("#no-example").text_content() == "No successful call yet."
        assert _call(deployment)["code"] == 0
        page.reload(wait_until="load")
        assert page.locator("#no-example").count() == 0
        assert f"Creator {USER_ID_EXAMPLE}" in (page.locator("#example-meta").text_content() or "")
        assert "justoneapi" in (page.locator("#example-meta").text_content() or "")
        assert page.locator("#synthetic").count() == 0  # a real source, not the sandbox
        assert '"code": 0' in (page.locator("#example-json").text_content() or "")
        assert deployment.token not in page.content()
        assert problems == []
    finally:
        page.close()


def _widget_label(page: Any) -> str:
    """What the widget shows once the page's script has filled it (Python-side polling: the
    page's timers are Playwright's fake clock here)."""
    deadline = time.monotonic() + WAIT_SECONDS
    widget = page.locator('#health [data-health="notes_rate"]')
    while time.monotonic() < deadline:
        label = widget.get_attribute("data-label")
        if label:
            return label
        time.sleep(0.1)
    raise AssertionError("the health widget was never filled")


def test_the_health_widget_shows_the_status_label_and_follows_a_failing_source(
    browser: Any, deployment: Deployment
) -> None:
    page, problems, _ = _open(browser, deployment, "/docs/fans_summary")
    try:
        assert page.locator("[data-health]").text_content() == "No data"  # never called
    finally:
        page.close()
    for number in range(12):
        assert _call(deployment, f"{number:024x}")["code"] == 0
    healthy = _wait_for_label(deployment, lambda label: label == "Healthy")
    page = browser.new_context().new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: problems.append(message.text) if message.type == "error" else None,
    )
    page.clock.install()  # the widget's 30 s refresh, made to pass at once below
    page.goto(deployment.server.base_url + "/docs/notes_rate", wait_until="load")
    try:
        assert _widget_label(page) == "Healthy"
        assert (
            page.locator("#health-since").get_attribute("data-changed-at")
            == (healthy["changed_at"])
        )
        deployment.fake.always("http_502")
        for number in range(12):
            assert _call(deployment, f"{number + 100:024x}")["code"] != 0
        failing = _wait_for_label(deployment, lambda label: label != "Healthy")
        page.clock.run_for(31_000)  # the next refresh: no reload, the open page follows
        deadline = time.monotonic() + WAIT_SECONDS
        while _widget_label(page) == "Healthy" and time.monotonic() < deadline:
            time.sleep(0.1)
        widget = page.locator('#health [data-health="notes_rate"]')
        assert widget.text_content() == failing["label"]
        assert (
            page.locator("#health-since").get_attribute("data-changed-at")
            == (failing["changed_at"])
        )
        page.screenshot(path=str(deployment.artifacts / "docs-notes_rate-failing.png"))
        assert problems == []
    finally:
        deployment.fake.reset()
        page.close()
