"""OpenAPI operations of the registered endpoints, from their specs (one source of truth)."""

from __future__ import annotations

from typing import Any

from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import EndpointSpec, Registry
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
        ],
        "responses": {
            "200": {
                "description": "The envelope: code, message, data, recordTime, requestId.",
                "content": {"application/json": {"schema": {"type": "object"}}},
            }
        },
    }


def add_endpoints(schema: dict[str, Any], endpoints: Registry) -> dict[str, Any]:
    """``schema`` with a path for every registered endpoint."""
    paths = schema.setdefault("paths", {})
    for spec in endpoints.values():
        paths[spec.path] = {"get": operation(spec)}
    return schema
