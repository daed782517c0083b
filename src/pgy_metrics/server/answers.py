"""Turn outcomes into envelope responses: always HTTP 200, the business code in the body."""

from __future__ import annotations

import uuid

from starlette.responses import Response

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.envelope import encode_envelope

JSON = "application/json"


def new_request_id() -> str:
    return uuid.uuid4().hex


def failure(
    code: BusinessCode,
    message: str | None,
    *,
    request_id: str,
    headers: dict[str, str] | None = None,
) -> Response:
    body = encode_envelope(
        code=code,
        message=message or code.default_message,
        data_json=None,
        record_time=None,
        request_id=request_id,
    )
    return Response(body, media_type=JSON, headers={"X-Request-Id": request_id, **(headers or {})})


def success(*, data_json: bytes, record_time: str, request_id: str, source: str) -> Response:
    body = encode_envelope(
        code=BusinessCode.SUCCESS,
        message=None,
        data_json=data_json,
        record_time=record_time,
        request_id=request_id,
    )
    return Response(
        body, media_type=JSON, headers={"X-Request-Id": request_id, "X-Pgy-Source": source}
    )
