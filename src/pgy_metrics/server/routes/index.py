"""``GET /``: a page that says what this server is and where everything is.

Someone who opens the server's address in a browser (as ``pgy serve`` invites) used to meet
``{"detail":"Not Found"}``. The page is static, built once per process: serving it costs one
write, no store or source is touched, and it holds nothing secret (no token, no settings).
"""

from __future__ import annotations

import html

from fastapi import APIRouter
from starlette.responses import HTMLResponse

from pgy_metrics import __version__
from pgy_metrics.contract.endpoints import NOTES_RATE_PATH
from pgy_metrics.contract.params import USER_ID_EXAMPLE

router = APIRouter()

LINKS: tuple[tuple[str, str], ...] = (
    ("/console", "the web console: sign in with a token, look up creators, see usage and status"),
    ("/docs", "the API's pages: every endpoint, its parameters, codes and runnable samples"),
    ("/status.html", "upstream health, as the hosted API's status page shows it (JSON: /status)"),
    ("/metrics", "Prometheus metrics"),
    ("/healthz", "liveness; /readyz: readiness (the store answers)"),
    ("/openapi.json", "the OpenAPI document (the admin API too: tokens, plans, balances)"),
)
"""Where a visitor may go, in the order the page lists them."""


def _page() -> str:
    example = f"{NOTES_RATE_PATH}?token=YOUR_TOKEN&userId={USER_ID_EXAMPLE}"
    items = "".join(
        f'<li><a href="{html.escape(href)}">{html.escape(href)}</a>: {html.escape(text)}</li>'
        for href, text in LINKS
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>pgy-metrics</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 50rem; color: #111;
  line-height: 1.5; padding: 0 1rem; }}
code {{ background: #f3f4f6; padding: .1rem .3rem; border-radius: .2rem;
  overflow-wrap: anywhere; }}
</style></head><body>
<h1>pgy-metrics {html.escape(__version__)}</h1>
<p>A self-hosted Xiaohongshu Pugongying Note Performance Metrics API. The endpoint:</p>
<p><code>GET {html.escape(example)}</code></p>
<p>A token comes from <code>pgy token create --name NAME</code> on the server's machine, or
from the admin API.</p>
<ul>{items}</ul>
</body></html>
"""


PAGE = _page()


@router.get("/", include_in_schema=False)
async def index() -> HTMLResponse:
    return HTMLResponse(PAGE)
