"""``GET /openapi/<endpoint name>-en.json``: the OpenAPI document of one endpoint.

Cut from the whole document (``/openapi.json``), so the two never disagree: the endpoint's path
and the schemas it refers to, for a reader who wants one endpoint's contract (a code generator,
the endpoint's docs page) without the admin API around it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from pgy_metrics.server.openapi import DOCUMENT_SUFFIX, endpoint_document

router = APIRouter()


@router.get("/openapi/{document}", include_in_schema=False)
async def endpoint_openapi(request: Request, document: str) -> JSONResponse:
    endpoints = request.app.state.runtime.endpoints
    name = document.removesuffix(DOCUMENT_SUFFIX) if document.endswith(DOCUMENT_SUFFIX) else None
    spec = endpoints.get(name) if name is not None else None
    if spec is None:
        known = ", ".join(f"/openapi/{known}{DOCUMENT_SUFFIX}" for known in endpoints)
        return JSONResponse(
            {"detail": f"No OpenAPI document at /openapi/{document}; there are: {known}."},
            status_code=404,
        )
    return JSONResponse(endpoint_document(request.app.openapi(), spec))
