"""``GET /docs`` and ``GET /docs/{endpoint}``: the API's pages, in English or Chinese.

Rendered on the server from the endpoint registry and the settings (one source of truth), with
the CSS and the script inline, so a page asks no other host for anything; the only requests it
makes are to ``/status`` (the health widget) and, where the operator configured several base
URLs, one ``/healthz`` to each to time them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Match

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import EndpointSpec
from pgy_metrics.contract.envelope import format_record_time
from pgy_metrics.contract.params import USER_ID_EXAMPLE
from pgy_metrics.contract.provenance import SYNTHETIC_SOURCE
from pgy_metrics.server.docs_pages.samples import code_texts, render_samples
from pgy_metrics.server.docs_pages.text import LANGUAGES, TEXT
from pgy_metrics.service.health import MIN_CALLS, THRESHOLDS, Label

if TYPE_CHECKING:
    from pgy_metrics.service.runtime import Runtime
    from pgy_metrics.store.snapshots import Snapshot

router = APIRouter()

HEALTH_REFRESH_MS = 30_000
"""How often an open page asks ``/status`` again."""

_STATIC = files("pgy_metrics.server.docs_pages") / "static"
_CSS = (_STATIC / "docs.css").read_text(encoding="utf-8")
_JS = (_STATIC / "docs.js").read_text(encoding="utf-8")
_PAGES = Environment(
    loader=PackageLoader("pgy_metrics.server.docs_pages", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def inline_code(text: str) -> Markup:
    """The registry's ````name```` marks (reStructuredText, as the specs write them) as
    ``<code>``, the rest escaped."""
    parts = str(text).split("``")
    return Markup("").join(
        Markup("<code>{}</code>").format(part) if odd else escape(part)
        for odd, part in ((index % 2 == 1, part) for index, part in enumerate(parts))
    )


_PAGES.filters["code"] = inline_code


@dataclass(frozen=True, slots=True)
class Example:
    """The latest successful answer of an endpoint as the page shows it (never a token)."""

    json: str
    meta: str
    synthetic: bool


def _language(request: Request) -> str | None:
    lang = request.query_params.get("lang") or "en"
    return lang if lang in LANGUAGES else None


def _bad_language() -> Response:
    return PlainTextResponse(
        f"lang must be one of: {', '.join(LANGUAGES)} (default en).", status_code=400
    )


def _bases(request: Request, runtime: Runtime) -> list[tuple[str, str]]:
    """``PGY_PUBLIC_BASE_URLS``, or the origin this request came to."""
    configured = list(runtime.settings.public_bases)
    if configured:
        return configured
    return [(request.url.hostname or "this server", str(request.base_url).rstrip("/"))]


def _openapi_href(request: Request, spec: EndpointSpec) -> str:
    """The endpoint's own OpenAPI document where the server has one, else the whole one."""
    own = f"/openapi/{spec.name}-en.json"
    scope = {"type": "http", "path": own, "method": "GET", "root_path": ""}
    for route in request.app.router.routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return own
    return "/openapi.json"


def _common(request: Request, lang: str, runtime: Runtime, endpoint: str = "") -> dict[str, Any]:
    other = "en" if lang == "zh" else "zh"
    switch = request.url.path + ("" if other == "en" else "?" + urlencode({"lang": other}))
    text = TEXT[lang]
    return {
        "lang": lang,
        "other_lang": other,
        "switch_href": switch,
        "query": "?lang=zh" if lang == "zh" else "",
        "t": text,
        "css": _CSS,
        "js": _JS,
        "config": {
            "endpoint": endpoint,
            "health_refresh_ms": HEALTH_REFRESH_MS,
            "text": {
                "copy": text["copy_label"],
                **{
                    key: text[key]
                    for key in (
                        "copied",
                        "copy_failed",
                        "health_since",
                        "measuring",
                        "unreachable",
                        "fastest",
                    )
                },
            },
        },
    }


def _page(template: str, values: dict[str, Any]) -> HTMLResponse:
    return HTMLResponse(
        _PAGES.get_template(template).render(**values),
        headers={"Cache-Control": "no-cache", "Content-Language": values["lang"]},
    )


@router.get("/docs", include_in_schema=False)
async def index(request: Request) -> Response:
    lang = _language(request)
    if lang is None:
        return _bad_language()
    runtime: Runtime = request.app.state.runtime
    zh = lang == "zh"
    endpoints = [
        {
            "name": spec.name,
            "title": spec.title_zh if zh else spec.title,
            "summary": spec.summary_zh if zh else spec.summary,
            "path": spec.path,
        }
        for spec in runtime.endpoints.values()
    ]
    return _page("index.html", {**_common(request, lang, runtime), "endpoints": endpoints})


@router.get("/docs/{name}", include_in_schema=False)
async def endpoint_page(request: Request, name: str) -> Response:
    lang = _language(request)
    if lang is None:
        return _bad_language()
    runtime: Runtime = request.app.state.runtime
    spec = runtime.endpoints.get(name)
    if spec is None:
        known = ", ".join(runtime.endpoints)
        return PlainTextResponse(
            f"No endpoint named {name!r}; the endpoints are: {known} (see /docs).",
            status_code=404,
        )
    zh = lang == "zh"
    text = TEXT[lang]
    bases = _bases(request, runtime)
    show = runtime.settings.docs_show_examples
    example = await _example(runtime, spec, lang) if show else None
    hours = spec.ttl_seconds / 3600
    if runtime.settings.cache_ttl_seconds is not None:
        hours = runtime.settings.cache_ttl_seconds / 3600
    values = {
        **_common(request, lang, runtime, spec.name),
        "spec": spec,
        "title": spec.title_zh if zh else spec.title,
        "summary": spec.summary_zh if zh else spec.summary,
        "health_note": text["health_note"].format(minutes=runtime.settings.health_window_minutes),
        "ttl_text": text["ttl_value"].format(hours=f"{hours:g}"),
        "bases": bases,
        "legend": _legend(lang),
        "user_id": USER_ID_EXAMPLE,
        "params": [
            {
                "name": param.name,
                "default": param.default.value,
                "description": param.description_zh if zh else param.description,
                "choices": [
                    (value.value, str(getattr(value, "label", ""))) for value in param.values
                ],
            }
            for param in spec.params
        ],
        "codes": code_texts(zh),
        "samples": render_samples(spec, bases[0][1], zh=zh),
        "openapi_href": _openapi_href(request, spec),
        "show_examples": show,
        "example": example,
    }
    return _page("endpoint.html", values)


def _legend(lang: str) -> list[tuple[str, str]]:
    """The five labels and what each means, from the thresholds ``/status`` applies."""
    text = TEXT[lang]
    legend = [
        (label.value, text["label_at_least"].format(percent=f"{threshold * 100:g}"))
        for threshold, label in THRESHOLDS
    ]
    lowest = f"{THRESHOLDS[-1][0] * 100:g}"
    legend.append((Label.MOSTLY_UNAVAILABLE.value, text["label_below"].format(percent=lowest)))
    legend.append((Label.NO_DATA.value, text["label_no_data"].format(calls=MIN_CALLS)))
    return legend


async def _example(runtime: Runtime, spec: EndpointSpec, lang: str) -> Example | None:
    snapshot = await runtime.store.snapshots.newest_of_endpoint(spec.name)
    if snapshot is None:
        return None
    return _as_example(snapshot, runtime, lang)


def _as_example(snapshot: Snapshot, runtime: Runtime, lang: str) -> Example:
    """The envelope the call answered (its request id left out: it names one call), with who
    and when. A snapshot holds only ``data``: no token is anywhere near it."""
    record_time = format_record_time(snapshot.collected_at, runtime.settings.zone)
    envelope = {
        "code": BusinessCode.SUCCESS.value,
        "message": None,
        "data": json.loads(snapshot.payload),
        "recordTime": record_time,
    }
    meta = TEXT[lang]["example_meta"].format(
        user_id=snapshot.user_id, when=record_time, source=snapshot.source
    )
    return Example(
        json=json.dumps(envelope, ensure_ascii=False, indent=2),
        meta=meta,
        synthetic=snapshot.source == SYNTHETIC_SOURCE,
    )
