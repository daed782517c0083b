"""The API's endpoints at the edge: HTTP in, the gate's outcome out as bytes.

This is the hot path, so it is a plain ASGI layer in front of the FastAPI application: requests
for a registered endpoint's path never enter the framework's routing, dependency solving or
response objects, which together cost more than half of a cached answer's time. The query
string is parsed here (every parameter's meaning is the gate's, from the endpoint registry), so
that every bad input becomes the contract's code 400 with a sentence naming the parameter and
its allowed values, never FastAPI's 422.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import EndpointSpec
from pgy_metrics.server import answers
from pgy_metrics.service.runtime import Runtime

log = logging.getLogger("pgy_metrics.server")


class EndpointsLayer:
    """Answers every registered endpoint; any other request goes on to ``app``."""

    def __init__(self, app: ASGIApp, *, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.request_ids = answers.RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = (
            self.runtime.endpoints.by_path(scope["path"]) if scope["type"] == "http" else None
        )
        if endpoint is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        request_id = self.request_ids.new()
        try:
            body, headers = await self._answer(endpoint, scope, request_id)
        except Exception:
            # The body says nothing of the cause; the traceback stays in the server's log.
            log.exception("unexpected error while answering request %s", request_id)
            self.runtime.gate.codes[BusinessCode.SERVER_ERROR] += 1
            body = answers.failure_body(
                BusinessCode.SERVER_ERROR,
                f"Internal server error; please retry later (request id {request_id}).",
                request_id=request_id,
            )
            headers = answers.headers(body, request_id)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer(
        self, endpoint: EndpointSpec, scope: Scope, request_id: str
    ) -> tuple[bytes, answers.Headers]:
        params: dict[str, str] = {}
        repeated: str | None = None
        for name, value in parse_qsl(
            scope["query_string"].decode("latin-1"), keep_blank_values=True
        ):
            if name in params and name in endpoint.single_valued and repeated is None:
                repeated = name
            params[name] = value
        outcome = await self.runtime.gate.call(
            endpoint,
            params,
            request_id=request_id,
            idempotency_key=_header(scope, b"idempotency-key"),
            repeated=repeated,
        )
        return answers.answer(outcome, request_id)


def _header(scope: Scope, name: bytes) -> str | None:
    for header, value in scope["headers"]:
        if header == name:
            return str(value.decode("latin-1"))
    return None
