"""``GET /api/xiaohongshu-pgy/api/solar/kol/dataV3/notesRate/v1``: the contract's endpoint.

Parameters are parsed by hand rather than by FastAPI so that every bad input becomes the contract's
code 400 with a sentence naming the parameter and its allowed values (never FastAPI's 422). The
route is a plain Starlette route: this is the hot path, and FastAPI's dependency machinery cost a
third of a cached answer's time for nothing we use; ``OPENAPI_OPERATION`` documents it instead.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.envelope import format_record_time
from pgy_metrics.contract.params import USER_ID_EXAMPLE, ParamError, Scope, parse_user_id
from pgy_metrics.server import answers
from pgy_metrics.sources.base import CollectionError

log = logging.getLogger("pgy_metrics.server")

_SINGLE_VALUED = ("token", "userId", *Scope.PARAMS)


def _enum_param(name: str, values: type[Any], default: str, doc: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": doc,
        "schema": {"type": "string", "enum": [v.value for v in values], "default": default},
    }


_OPENAPI_PARAMETERS = [
    {
        "name": "token",
        "in": "query",
        "required": True,
        "description": "API token.",
        "schema": {"type": "string"},
    },
    {
        "name": "userId",
        "in": "query",
        "required": True,
        "description": "Creator id: 24 lowercase hex characters.",
        "schema": {"type": "string", "pattern": "^[0-9a-f]{24}$", "example": USER_ID_EXAMPLE},
    },
    _enum_param("business", Business, "DAILY_NOTE", "Daily (日常) or sponsored (合作) notes."),
    _enum_param("noteType", NoteType, "PHOTO_TEXT_AND_VIDEO", "Note format filter."),
    _enum_param("dateType", DateType, "DAY_30", "Last 30 or 90 days."),
    _enum_param("advertiseSwitch", AdvertiseSwitch, "ALL", "All traffic or organic only."),
]


OPENAPI_OPERATION: dict[str, Any] = {
    "summary": "Note Performance Metrics",
    "description": (
        "Medians of impressions, reads and interactions, rates, traffic sources and recent notes "
        "of one creator in one scope. Always HTTP 200; the outcome is the envelope's `code`."
    ),
    "operationId": "notes_rate_v1",
    "parameters": _OPENAPI_PARAMETERS,
    "responses": {
        "200": {
            "description": "The envelope: code, message, data, recordTime, requestId.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
}


async def notes_rate(request: Request) -> Response:
    request_id = answers.new_request_id()
    try:
        return await _answer(request, request_id)
    except Exception:
        # The body says nothing of the cause; the traceback stays in the server's log.
        log.exception("unexpected error while answering request %s", request_id)
        return answers.failure(
            BusinessCode.SERVER_ERROR,
            f"Internal server error; please retry later (request id {request_id}).",
            request_id=request_id,
        )


async def _answer(request: Request, request_id: str) -> Response:
    runtime = request.app.state.runtime
    query = request.query_params
    try:
        for name in _SINGLE_VALUED:
            if len(query.getlist(name)) > 1:
                raise ParamError(name, f"{name} was given more than once; pass it once.")
        user_id = parse_user_id(query.get("userId"))
        scope = Scope.from_params(query)
    except ParamError as error:
        return answers.failure(BusinessCode.INVALID_PARAMS, error.message, request_id=request_id)

    token = query.get("token")
    if not token:
        return answers.failure(
            BusinessCode.INVALID_TOKEN,
            "token is required: pass your API token as the token query parameter.",
            request_id=request_id,
        )
    if await runtime.authenticator.authenticate(token) is None:
        return answers.failure(
            BusinessCode.INVALID_TOKEN,
            "The token is unknown, revoked or expired; check it or ask your operator for one.",
            request_id=request_id,
        )

    try:
        snapshot = await runtime.service.get(user_id, scope)
    except CollectionError as error:
        log.warning(
            "collection failed for %s %s from %s: %s",
            user_id,
            scope.key,
            error.source,
            error.message,
        )
        return answers.failure(BusinessCode.COLLECTION_FAILED, error.message, request_id=request_id)
    return answers.success(
        data_json=snapshot.payload_bytes,
        record_time=format_record_time(snapshot.collected_at, runtime.settings.zone),
        request_id=request_id,
        source=snapshot.source,
    )
