"""HTTP 405 with a true ``Allow`` header for a method a path does not have (RFC 9110).

Starlette answers 405 from the first route whose path matches, so ``Allow`` named only that
route's methods (``POST`` for ``/admin/tokens``, which has ``GET`` too). The handler here adds
the methods the OpenAPI document lists for the path. The endpoints' paths are answered by
``EndpointsLayer`` before routing, so they get a route of their own (``get_only_routes``) that
only a method other than GET reaches: such a request used to meet 404. Both run only on the
refusal path, never for a successful GET: the hot path is unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi.exception_handlers import http_exception_handler
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pgy_metrics.contract.history import HISTORY_PATH

METHOD_ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE")
_TEMPLATE_PART = re.compile(r"(\{[^/{}]+\})")


def documented_methods(paths: Mapping[str, Any], path: str) -> set[str]:
    """The methods the OpenAPI ``paths`` list for the template that ``path`` matches."""
    for template, item in paths.items():
        parts = _TEMPLATE_PART.split(template)
        pattern = "".join("[^/]+" if i % 2 else re.escape(part) for i, part in enumerate(parts))
        if re.fullmatch(pattern, path):
            return {method.upper() for method in item if method.upper() in METHOD_ORDER}
    return set()


def allowed_methods(request: Request, given: str | None) -> list[str]:
    """``given`` (the matched route's ``Allow``) and the path's documented methods; HEAD with
    GET, as Starlette serves it, except on the endpoints, which answer GET only."""
    allowed = {m.strip().upper() for m in (given or "").split(",") if m.strip()}
    allowed |= documented_methods(request.app.openapi().get("paths", {}), request.url.path)
    path = request.url.path
    endpoint = path == HISTORY_PATH or request.app.state.runtime.endpoints.by_path(path)
    if "GET" in allowed and not endpoint:
        allowed.add("HEAD")
    return sorted(allowed, key=lambda m: METHOD_ORDER.index(m) if m in METHOD_ORDER else 99)


async def http_error(request: Request, error: Exception) -> Response:
    """FastAPI's answer to an HTTP error, except 405: one sentence and the path's methods."""
    if not isinstance(error, HTTPException) or error.status_code != 405:
        return await http_exception_handler(request, error)  # type: ignore[arg-type]
    given = (error.headers or {}).get("Allow")
    allowed = allowed_methods(request, given)
    return JSONResponse(
        {
            "detail": f"{request.method} is not allowed on {request.url.path}; "
            f"allowed: {', '.join(allowed)}."
        },
        status_code=405,
        headers={"Allow": ", ".join(allowed)},
    )


async def _get_only(request: Request) -> Response:
    """Unreachable with GET (``EndpointsLayer`` answers it); the router answers the rest 405."""
    raise HTTPException(405, headers={"Allow": "GET"})


def get_only_routes(paths: Iterable[str]) -> list[Route]:
    """Routes that make any method but GET on ``paths`` a 405 with ``Allow: GET``."""
    routes = []
    for path in paths:
        route = Route(path, _get_only, methods=["GET"], include_in_schema=False)
        route.methods = {"GET"}  # no implicit HEAD: the endpoints answer GET only
        routes.append(route)
    return routes
