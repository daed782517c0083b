"""OpenAPI operations of the registered endpoints, from their specs (one source of truth)."""

from __future__ import annotations

from typing import Any

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import EndpointSpec, Registry
from pgy_metrics.contract.history import HISTORY_PATH
from pgy_metrics.contract.params import USER_ID_EXAMPLE


def operation(spec: EndpointSpec) -> dict[str, Any]:
    """The ``get`` operation of one endpoint."""
    codes = ", ".join(f"{code.value} ({code.name.lower()})" for code in BusinessCode)
    return {
        "summary": spec.title,
        "description": (
            f"{spec.summary} Always HTTP 200; the outcome is the envelope's `code`: {codes}."
        ),
        "operationId": spec.operation_id,
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
                "schema": {
                    "type": "string",
                    "pattern": "^[0-9a-f]{24}$",
                    "example": USER_ID_EXAMPLE,
                },
            },
            *(
                {
                    "name": param.name,
                    "in": "query",
                    "required": False,
                    "description": param.description,
                    "schema": {
                        "type": "string",
                        "enum": [value.value for value in param.values],
                        "default": param.default.value,
                    },
                }
                for param in spec.params
            ),
            {
                "name": "Cache-Control",
                "in": "header",
                "required": False,
                "description": "Our extension: `max-age=N` collects anew when the stored "
                "snapshot is N seconds old or older, `no-cache` always; priced as a fresh call. "
                "Invalid values are ignored.",
                "schema": {"type": "string", "example": "max-age=3600"},
            },
        ],
        "responses": {
            "200": {
                "description": "The envelope: code, message, data, recordTime, requestId.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    }


def add_endpoints(schema: dict[str, Any], endpoints: Registry) -> dict[str, Any]:
    """``schema`` with a path for every registered endpoint, and the history extension."""
    paths = schema.setdefault("paths", {})
    for spec in endpoints.values():
        paths[spec.path] = {"get": operation(spec)}
    paths[HISTORY_PATH] = {"get": history_operation(endpoints)}
    return schema


def history_operation(endpoints: Registry) -> dict[str, Any]:
    """``GET /api/history`` (docs/api.md, History): the endpoint's parameters plus its own."""
    names = list(endpoints)
    scope: dict[str, dict[str, Any]] = {}
    for spec in endpoints.values():
        for param in spec.params:
            scope.setdefault(
                param.name,
                {
                    "name": param.name,
                    "in": "query",
                    "required": False,
                    "description": f"{param.description} (scope of the endpoint)",
                    "schema": {"type": "string", "enum": [v.value for v in param.values]},
                },
            )
    base = operation(next(iter(endpoints.values())))
    token, user_id = base["parameters"][:2]
    return {
        "summary": "History (our extension)",
        "description": (
            "Every stored collection of one creator in one scope, oldest first: data = "
            "{userId, scope, points: [{recordTime, source, data}]}. Needs the permission "
            "`history`; charged the `history` price. Always HTTP 200; the outcome is the "
            "envelope's `code`."
        ),
        "operationId": "history_v1",
        "parameters": [
            token,
            user_id,
            {
                "name": "endpoint",
                "in": "query",
                "required": False,
                "description": "The endpoint whose collections to read.",
                "schema": {"type": "string", "enum": names, "default": names[0]},
            },
            *scope.values(),
            {
                "name": "since",
                "in": "query",
                "required": False,
                "description": "Only collections from this day (YYYY-MM-DD) or ISO 8601 date "
                "and time on; without an offset, in the record-time zone.",
                "schema": {"type": "string", "example": "2026-11-01"},
            },
            {
                "name": "fields",
                "in": "query",
                "required": False,
                "description": "Comma-separated keys of data to keep.",
                "schema": {"type": "string", "example": "noteNumber,readMedian"},
            },
        ],
        "responses": base["responses"],
    }
