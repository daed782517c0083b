"""Fixtures the integration tests share.

``browser``: Debian's Chromium driven by Playwright (``PGY_CHROMIUM``, default
``/usr/bin/chromium``); Playwright downloads nothing, and a machine without Chromium skips the
browser tests with that reason (or fails them under ``PGY_REQUIRE_SERVICES=1``). One browser per
test module: the docs pages, the report and the console tests each launch their own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import unavailable

CHROMIUM = os.environ.get("PGY_CHROMIUM", "/usr/bin/chromium")


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
