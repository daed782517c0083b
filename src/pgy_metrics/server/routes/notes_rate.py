"""``GET /api/xiaohongshu-pgy/api/solar/kol/dataV3/notesRate/v1``: the contract's endpoint.

This is the hot path, so it is a plain ASGI layer in front of the FastAPI application: requests
for this exact path never enter the framework's routing, dependency solving or response objects,
which together cost more than half of a cached answer's time. Parameters are parsed by hand so
that every bad input becomes the contract's code 400 with a sentence naming the parameter and its
allowed values (never FastAPI's 422). ``OPENAPI_OPERATION`` documents the endpoint instead.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import NOTES_RATE_PATH
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, NoteType
from pgy_metrics.contract.params import USER_ID_EXAMPLE, ParamError, parse_user_id
from pgy_metrics.contract.params import Scope as MetricsScope
from pgy_metrics.server import answers
from pgy_metrics.sources.base import CollectionError

if TYPE_CHECKING:
    from pgy_metrics.server.app import Runtime

log = logging.getLogger("pgy_metrics.server")

_SINGLE_VALUED = frozenset(("token", "userId", *MetricsScope.PARAMS))


def _enum_param(name: str, values: type[Any], default: str, doc: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": doc,
        "schema": {"type": "string", "enum": [v.value for v in values], "default": default},
    }


OPENAPI_OPERATION: dict[str, Any] = {
    "summary": "Note Performance Metrics",
    "description": (
        "Medians of impressions, reads and interactions, rates, traffic sources and recent notes "
        "of one creator in one scope. Always HTTP 200; the outcome is the envelope's `code`."
    ),
    "operationId": "notes_rate_v1",
    "parameters": [
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
    ],
    "responses": {
        "200": {
            "description": "The envelope: code, message, data, recordTime, requestId.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
}


class NotesRateEndpoint:
    """ASGI layer answering the endpoint; every other request goes on to ``app``."""

    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.request_ids = answers.RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != NOTES_RATE_PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        request_id = self.request_ids.new()
        try:
            body, headers = await self._answer(scope["query_string"], request_id)
        except Exception:
            # The body says nothing of the cause; the traceback stays in the server's log.
            log.exception("unexpected error while answering request %s", request_id)
            body = answers.failure_body(
                BusinessCode.SERVER_ERROR,
                f"Internal server error; please retry later (request id {request_id}).",
                request_id=request_id,
            )
            headers = answers.headers(body, request_id)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _failure(
        self, code: BusinessCode, message: str, request_id: str
    ) -> tuple[bytes, answers.Headers]:
        body = answers.failure_body(code, message, request_id=request_id)
        return body, answers.headers(body, request_id)

    async def _answer(self, query_string: bytes, request_id: str) -> tuple[bytes, answers.Headers]:
        runtime = self.runtime
        query: dict[str, str] = {}
        try:
            for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
                if name in query and name in _SINGLE_VALUED:
                    raise ParamError(name, f"{name} was given more than once; pass it once.")
                query[name] = value
            user_id = parse_user_id(query.get("userId"))
            scope = MetricsScope.from_params(query)
        except ParamError as error:
            return self._failure(BusinessCode.INVALID_PARAMS, error.message, request_id)

        token = query.get("token")
        if not token:
            return self._failure(
                BusinessCode.INVALID_TOKEN,
                "token is required: pass your API token as the token query parameter.",
                request_id,
            )
        if await runtime.authenticator.authenticate(token) is None:
            return self._failure(
                BusinessCode.INVALID_TOKEN,
                "The token is unknown, revoked or expired; check it or ask your operator for one.",
                request_id,
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
            return self._failure(BusinessCode.COLLECTION_FAILED, error.message, request_id)
        body = b"".join((snapshot.answer_prefix(runtime.settings.zone), request_id.encode(), b'"}'))
        return body, answers.headers(body, request_id, (b"x-pgy-source", snapshot.source_bytes))
