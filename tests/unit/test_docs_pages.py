"""The ``/docs`` pages from the registry and the settings: every endpoint (a test-only one too)
has its page in English and Chinese with its parameters, defaults, values, codes, base URLs and
samples; the latest successful example appears after a first call, never with a token."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from justoneapi import JustOneAPIClient
from pydantic import ValidationError

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import ENDPOINTS, EndpointSpec
from pgy_metrics.contract.params import USER_ID_EXAMPLE
from pgy_metrics.server import create_app
from pgy_metrics.server.docs_pages.routes import inline_code
from pgy_metrics.server.docs_pages.samples import render_samples, sdk_method
from pgy_metrics.server.docs_pages.text import CODES_ZH, TEXT
from pgy_metrics.service.settings import Settings
from pgy_metrics.sources.sandbox import GENERATORS
from pgy_metrics.store.database import Store
from pgy_metrics.store.snapshots import Snapshot
from tests.unit.test_endpoint_registry import ECHO, REGISTRY, _echo

ORIGIN = "http://127.0.0.1:8123"
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.I)


@pytest.fixture(autouse=True)
def echo_generator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(GENERATORS, ECHO.name, _echo)


@dataclass
class Served:
    app: FastAPI
    http: httpx.AsyncClient
    token: str


@asynccontextmanager
async def _serve(tmp_path: Path, **settings: Any) -> AsyncIterator[Served]:
    app = create_app(
        Settings(data_dir=tmp_path, token_cache_seconds=0, **settings),
        endpoints_registry=REGISTRY,
    )
    async with app.router.lifespan_context(app):
        issued = await app.state.runtime.issuer.create("docs")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN) as http:
            yield Served(app, http, issued.token)


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    async with _serve(tmp_path) as each:
        yield each


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


async def test_the_index_lists_every_endpoint_a_test_only_one_too(served: Served) -> None:
    page = await served.http.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for spec in REGISTRY.values():
        assert f'href="/docs/{spec.name}"' in page.text
        assert spec.title in page.text and spec.path in page.text
    zh = await served.http.get("/docs", params={"lang": "zh"})
    assert all(spec.title_zh in zh.text for spec in REGISTRY.values())
    assert 'href="/docs/test_echo?lang=zh"' in zh.text


@pytest.mark.parametrize("spec", REGISTRY.values(), ids=lambda spec: spec.name)
@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_each_page_says_what_the_registry_says(
    served: Served, spec: EndpointSpec, lang: str
) -> None:
    zh = lang == "zh"
    page = await served.http.get(f"/docs/{spec.name}", params={"lang": lang})
    assert page.status_code == 200
    text = _text(page.text)
    assert (spec.title_zh if zh else spec.title) in text
    assert (spec.summary_zh if zh else spec.summary).replace("``", "") in text
    assert "``" not in page.text  # the specs' reStructuredText marks are <code>
    assert f"GET {spec.path}" in text
    for param in spec.params:
        row = re.search(rf'<tr data-param="{param.name}">(.*?)</tr>', page.text, re.S)
        assert row, param.name
        cells = _text(row.group(1))
        assert (param.description_zh if zh else param.description).replace("``", "") in cells
        assert re.search(rf'class="default">{param.default.value}<', row.group(1))
        for value in param.values:
            assert value.value in cells and str(value.label) in cells
    for code in BusinessCode:
        assert f'data-code="{code.value}"' in page.text
    assert (CODES_ZH[BusinessCode.PERMISSION_DENIED] if zh else "not allowed") in text
    assert f"{ORIGIN}{spec.path}" in text  # the request's own origin by default
    assert EXTERNAL.search(page.text) is None, "no asset from another host"
    assert "<script src" not in page.text and '<link rel="stylesheet"' not in page.text
    assert page.headers["content-language"] == lang
    script = page.text[page.text.rindex("<script>") :]
    assert "&&" in script and "&amp;" not in script  # the inline script is not HTML-escaped


@pytest.mark.parametrize(
    ("lang", "healthy", "no_data"),
    [
        ("en", "at least 97.5 % of upstream calls succeeded", "fewer than 10 upstream calls"),
        ("zh", "上游调用成功率不低于 97.5%", "时间窗口内上游调用少于 10 次"),
    ],
)
async def test_the_five_health_labels_are_explained(
    served: Served, lang: str, healthy: str, no_data: str
) -> None:
    page = await served.http.get(f"/docs/notes_rate?lang={lang}")
    legend = re.search(r'<ul class="legend" id="legend">(.*?)</ul>', page.text, re.S)
    assert legend
    labels = re.findall(r'data-label="([^"]+)"', legend.group(1))
    assert labels == ["Healthy", "Available", "Limited", "Mostly unavailable", "No data"]
    assert healthy in legend.group(1) and no_data in legend.group(1)


async def test_the_language_switch_leads_to_the_same_page_in_the_other_language(
    served: Served,
) -> None:
    english = await served.http.get("/docs/test_echo")
    assert re.search(r'id="lang-switch"[^>]*href="/docs/test_echo\?lang=zh"', english.text)
    chinese = await served.http.get("/docs/test_echo?lang=zh")
    assert re.search(r'id="lang-switch"[^>]*href="/docs/test_echo"', chinese.text)
    assert '<html lang="zh-CN">' in chinese.text and "口味" in chinese.text


async def test_bad_language_and_unknown_endpoint_say_what_there_is(served: Served) -> None:
    bad = await served.http.get("/docs/notes_rate", params={"lang": "fr"})
    assert (bad.status_code, bad.text) == (400, "lang must be one of: en, zh (default en).")
    missing = await served.http.get("/docs/nope")
    assert missing.status_code == 404
    assert "No endpoint named 'nope'" in missing.text and "test_echo" in missing.text


async def test_the_frameworks_cdn_pages_are_gone_and_openapi_stays(served: Served) -> None:
    assert "swagger" not in (await served.http.get("/docs")).text.lower()
    assert (await served.http.get("/redoc")).status_code == 404
    assert (await served.http.get("/openapi.json")).status_code == 200
    page = await served.http.get("/docs/notes_rate")
    assert re.search(r'id="openapi" href="/openapi(\.json|/notes_rate-en\.json)"', page.text)


async def test_the_per_endpoint_openapi_document_is_linked_once_the_server_has_it(
    served: Served,
) -> None:
    async def document(name: str) -> dict[str, str]:
        return {"endpoint": name}

    before = await served.http.get("/docs/test_echo")
    served.app.add_api_route("/openapi/{name}-en.json", document)
    after = await served.http.get("/docs/test_echo")
    if 'href="/openapi/test_echo-en.json"' not in before.text:  # not yet served by the app
        assert 'id="openapi" href="/openapi.json"' in before.text
    assert 'id="openapi" href="/openapi/test_echo-en.json"' in after.text


async def test_the_latest_successful_example_appears_after_a_first_call(served: Served) -> None:
    before = await served.http.get("/docs/test_echo")
    assert "No successful call yet." in before.text
    answer = await served.http.get(
        ECHO.path, params={"token": served.token, "userId": USER_ID_EXAMPLE, "flavour": "SOUR"}
    )
    assert answer.json()["code"] == 0
    after = await served.http.get("/docs/test_echo")
    assert "No successful call yet." not in after.text
    example = re.search(r'<code id="example-json"[^>]*>(.*?)</code>', after.text, re.S)
    assert example
    shown = html.unescape(example.group(1))
    assert '"flavour": "SOUR"' in shown and '"code": 0' in shown
    assert f"Creator {USER_ID_EXAMPLE}" in after.text
    assert 'id="synthetic"' in after.text  # the sandbox's data is marked
    assert served.token not in after.text
    chinese = await served.http.get("/docs/test_echo?lang=zh")
    assert "合成数据" in chinese.text and f"博主 {USER_ID_EXAMPLE}" in chinese.text
    other = await served.http.get("/docs/notes_rate")
    assert "No successful call yet." in other.text  # per endpoint


async def test_an_operator_can_hide_the_examples(tmp_path: Path) -> None:
    async with _serve(tmp_path, docs_show_examples=False) as served:
        await served.http.get(ECHO.path, params={"token": served.token, "userId": USER_ID_EXAMPLE})
        page = await served.http.get("/docs/test_echo")
        assert "This server does not show examples." in page.text
        assert 'id="example-json"' not in page.text and '"day"' not in page.text


async def test_configured_base_urls_are_listed_timed_and_used(tmp_path: Path) -> None:
    bases = "prod-global=https://api.example.com,prod-cn=https://cn.example.com/pgy/"
    async with _serve(tmp_path, public_base_urls=bases) as served:
        page = await served.http.get("/docs/notes_rate")
        rows = re.findall(r'<tr data-base="([^"]+)" data-name="([^"]+)">', page.text)
        assert rows == [
            ("https://api.example.com", "prod-global"),
            ("https://cn.example.com/pgy", "prod-cn"),
        ]
        assert page.text.count('class="duration"') == 2 and 'id="measure"' in page.text
        assert "https://api.example.com/api/xiaohongshu-pgy" in page.text  # samples use it
        assert 'id="samples-base" data-base="https://api.example.com"' in page.text
        assert ORIGIN not in page.text


async def test_one_base_url_is_not_timed(served: Served) -> None:
    page = await served.http.get("/docs/notes_rate")
    assert 'class="duration"' not in page.text and 'id="measure"' not in page.text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("prod", "each item must be name=URL"),
        ("a=ftp://x", "a: the URL must be an http(s) URL"),
        ("a=https://user:pw@h", "a: the URL must be only scheme, host and optional path"),
        ("a=https://h,a=https://i", "the name 'a' is given twice"),
        ("bad name=https://h", "each item must be name=URL"),
    ],
)
def test_public_base_urls_are_checked_with_a_clear_message(value: str, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(public_base_urls=value)
    assert message in str(caught.value)
    assert "pw" not in caught.value.errors()[0]["msg"]


def test_public_base_urls_keep_their_order_and_lose_a_trailing_slash() -> None:
    settings = Settings(public_base_urls=" b=https://b.example/ , a=http://a.example:8000")
    assert settings.public_bases == (("b", "https://b.example"), ("a", "http://a.example:8000"))
    assert Settings().public_bases == ()


def test_every_code_has_a_chinese_meaning_and_both_languages_have_every_word() -> None:
    assert set(CODES_ZH) == set(BusinessCode)
    assert set(TEXT["en"]) == set(TEXT["zh"])
    assert not [key for key in TEXT["en"] if hasattr(dict, key)], "t.<key> would find the method"


@pytest.mark.parametrize(
    ("lang", "copy", "values"), [("en", "Copy", "Available values"), ("zh", "复制", "可选值")]
)
async def test_headings_and_buttons_read_as_words(
    served: Served, lang: str, copy: str, values: str
) -> None:
    page = await served.http.get(f"/docs/notes_rate?lang={lang}")
    assert "built-in method" not in page.text
    assert f"<th>{values}</th>" in page.text
    buttons = re.findall(r'<button type="button" class="copy"[^>]*>([^<]*)</button>', page.text)
    assert len(buttons) == 9 and set(buttons) == {copy}


@pytest.mark.parametrize("spec", ENDPOINTS.values(), ids=lambda spec: spec.name)
def test_the_sdk_sample_calls_a_method_the_official_sdk_has(spec: EndpointSpec) -> None:
    method = sdk_method(spec)
    assert method is not None
    with JustOneAPIClient(token="t", base_url=ORIGIN) as client:
        assert callable(getattr(client.xiaohongshu_pgy, method))  # type: ignore[attr-defined]


@pytest.mark.parametrize("zh", [False, True])
def test_the_prompt_says_endpoint_auth_parameters_codes_and_timeout(zh: bool) -> None:
    spec = ENDPOINTS["notes_rate"]
    prompt = next(s for s in render_samples(spec, ORIGIN, zh=zh) if s.key == "prompt").code
    assert f"GET {ORIGIN}{spec.path}?userId={USER_ID_EXAMPLE}" in prompt
    assert "token=YOUR_TOKEN" in prompt
    for param in spec.params:
        assert param.name in prompt and all(value.value in prompt for value in param.values)
    assert all(f"- {code.value}" in prompt for code in BusinessCode)
    assert ("60 秒" if zh else "60 seconds") in prompt


def test_samples_never_hold_a_real_token_unless_given_one() -> None:
    for sample in render_samples(ECHO, ORIGIN):
        assert "YOUR_TOKEN" in sample.code
    given = render_samples(ECHO, ORIGIN, token="pgy_x'y")
    php = next(s for s in given if s.key == "php").code
    assert "'pgy_x\\'y'" in php  # quoted for its language
    curl = next(s for s in given if s.key == "curl").code
    assert "token=pgy_x%27y" in curl  # URL-encoded inside a quoted shell word


async def test_the_newest_snapshot_of_an_endpoint_is_any_creators_on_both_backends(
    store: Store,
) -> None:
    """The store's query behind the latest example, on SQLite and PostgreSQL."""
    assert await store.snapshots.newest_of_endpoint("notes_rate") is None
    at = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    rows = [
        ("notes_rate", "a" * 24, "K1", at, "sandbox"),
        ("notes_rate", "b" * 24, "K2", at + timedelta(minutes=5), "justoneapi"),
        ("notes_rate", "c" * 24, "K1", at + timedelta(minutes=1), "sandbox"),
        ("fans_summary", "d" * 24, "-", at + timedelta(minutes=9), "sandbox"),
    ]
    for endpoint, user_id, key, when, source in rows:
        await store.snapshots.add(Snapshot(endpoint, user_id, key, when, source, '{"n": 1}'))
    newest = await store.snapshots.newest_of_endpoint("notes_rate")
    assert newest is not None
    assert (newest.user_id, newest.params_key, newest.source) == ("b" * 24, "K2", "justoneapi")
    assert await store.snapshots.newest_of_endpoint("fans_history") is None


def test_inline_code_marks_become_code_and_the_rest_is_escaped() -> None:
    assert str(inline_code("a ``<b>`` & ``c``")) == "a <code>&lt;b&gt;</code> &amp; <code>c</code>"
