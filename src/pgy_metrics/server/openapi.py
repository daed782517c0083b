"""The OpenAPI documents, from the endpoint registry and the business codes (one source of truth).

What they say is what the server does, so that a generated client or a contract tester
(schemathesis, run in CI by ``tests/integration/test_openapi_schemathesis.py``) meets no surprise:
every endpoint answers HTTP 200 with the outcome in the envelope's ``code`` (the enum of the
response schema, with the codes table as ``x-business-codes``), ``data`` has a typed schema and
an example recorded from the hosted API (``examples/``, copies of the test fixtures shipped in the
package), and each endpoint also has a document of its own (``/openapi/<name>-en.json``) that a
reader can hand to a code generator without the admin API around it.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from typing import Any

from pgy_metrics import __version__
from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import EndpointSpec, Registry
from pgy_metrics.contract.history import HISTORY_PATH
from pgy_metrics.contract.params import USER_ID_EXAMPLE

DOCUMENT_SUFFIX = "-en.json"
"""``/openapi/<endpoint name>-en.json``: the English document of one endpoint."""

EXAMPLE_REQUEST_ID = "0123456789abcdef0123456789abcdef"
"""The request id shown in examples (a real one is 32 hex characters, new per answer)."""


def business_codes() -> list[dict[str, Any]]:
    """The codes table (``x-business-codes``): every code, its name, default message, billing."""
    return [
        {
            "code": code.value,
            "name": code.name.lower(),
            "message": code.default_message,
            "billed": code.billed,
        }
        for code in BusinessCode
    ]


def _codes_sentence() -> str:
    return ", ".join(f"{code.value} ({code.name.lower()})" for code in BusinessCode)


def envelope_schema(data: dict[str, Any]) -> dict[str, Any]:
    """The envelope around ``data`` (a schema, or a reference to one): every answer has it."""
    return {
        "type": "object",
        "required": ["code", "message", "data", "recordTime", "requestId"],
        "properties": {
            "code": {
                "type": "integer",
                "enum": [code.value for code in BusinessCode],
                "description": "The outcome: 0 is success, anything else a failure with data "
                "null (the codes table is `x-business-codes`).",
            },
            "message": {
                "type": ["string", "null"],
                "description": "null on success; one sentence saying what went wrong otherwise.",
            },
            "data": {
                "anyOf": [data, {"type": "null"}],
                "description": "The payload on code 0, null otherwise.",
            },
            "recordTime": {
                "type": ["string", "null"],
                "description": "When the data was collected: local wall time of the server's "
                "record-time zone, no offset (e.g. 2025-12-08T18:39:41.073475); null on failure.",
            },
            "requestId": {
                "type": "string",
                "description": "This answer's id (32 hex characters); quote it when reporting.",
            },
        },
    }


def _answer(description: str, data: dict[str, Any], example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": envelope_schema(data)}
    if example is not None:
        media["example"] = example
    return {
        "200": {
            "description": f"{description} Always HTTP 200: the outcome is the envelope's "
            f"`code` ({_codes_sentence()}); invalid parameters answer code 400 with a "
            "message naming the parameter and its allowed values.",
            "content": {"application/json": media},
            "x-business-codes": business_codes(),
        }
    }


# -- data schemas --------------------------------------------------------------------------------


@cache
def recorded_example(name: str) -> dict[str, Any] | None:
    """The hosted API's answer recorded for endpoint ``name`` (package data), or None."""
    resource = resources.files("pgy_metrics.server").joinpath("examples", f"{name}.json")
    if not resource.is_file():
        return None
    recorded: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return recorded


def example_answer(name: str) -> dict[str, Any] | None:
    """A successful answer of ``name`` as our server writes it, from the recorded one."""
    recorded = recorded_example(name)
    if recorded is None:
        return None
    return {
        "code": BusinessCode.SUCCESS.value,
        "message": None,
        "data": recorded["data"],
        "recordTime": recorded["recordTime"],
        "requestId": EXAMPLE_REQUEST_ID,
    }


def inferred_schema(value: Any) -> dict[str, Any]:
    """A schema of the shape of ``value`` (a recorded ``data``), for endpoints without a model.

    Types come from the recording; every value may also be null and objects may hold more keys,
    since the upstream omits figures it has not computed and adds fields over time: the schema
    tells a reader the types without refusing an answer the server passes through untouched.
    """
    if isinstance(value, dict):
        return {
            "type": ["object", "null"],
            "properties": {key: inferred_schema(item) for key, item in value.items()},
        }
    if isinstance(value, list):
        items = [inferred_schema(item) for item in value]
        merged = _merged(items) if items else {}
        return {"type": ["array", "null"], "items": merged}
    if isinstance(value, bool):
        return {"type": ["boolean", "null"]}
    if isinstance(value, int | float):  # a count here may be a fraction elsewhere: number
        return {"type": ["number", "null"]}
    if isinstance(value, str):
        return {"type": ["string", "null"]}
    return {}  # null in the recording: any type


def _merged(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """One schema for the items of an array: their types joined, objects' properties united."""
    merged: dict[str, Any] = {}
    for schema in schemas:
        if not schema:
            return {}
        if not merged:
            merged = copy.deepcopy(schema)
            continue
        types = set(merged["type"]) | set(schema["type"])
        if len(types - {"null"}) > 1:
            return {}
        merged["type"] = sorted(types, key=lambda t: t == "null")
        if "properties" in schema:
            properties = merged.setdefault("properties", {})
            for key, item in schema["properties"].items():
                properties[key] = _merged([properties[key], item]) if key in properties else item
        if "items" in schema:
            merged["items"] = _merged([merged.get("items", {}), schema["items"]])
    return merged


def data_schema_name(spec: EndpointSpec) -> str:
    """The component name of an endpoint's ``data``: ``notes_rate`` -> ``NotesRateData``."""
    return "".join(part.capitalize() for part in spec.name.split("_")) + "Data"


def data_schemas(spec: EndpointSpec) -> dict[str, dict[str, Any]]:
    """The components describing ``spec``'s data: its model's schema (and the models it nests),
    else one inferred from the recorded example, else any object."""
    name = data_schema_name(spec)
    if spec.data_model is not None:
        schema = spec.data_model.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}"
        )
        nested = schema.pop("$defs", {})
        return {**nested, name: schema}
    recorded = recorded_example(spec.name)
    if recorded is not None and isinstance(recorded.get("data"), dict):
        schema = inferred_schema(recorded["data"])
        schema["type"] = "object"
        schema["description"] = (
            f"The data of {spec.title}, as the upstream sends it (types from a recorded answer)."
        )
        return {name: schema}
    return {name: {"type": "object", "description": f"The data of {spec.title}."}}


# -- operations ------------------------------------------------------------------------------------


def _token_parameter() -> dict[str, Any]:
    return {
        "name": "token",
        "in": "query",
        "required": True,
        "description": "API token. A missing, unknown or revoked one answers code 100; past "
        "`PGY_FAILED_TOKEN_LIMIT` unknown tokens from one client address (20 a minute by "
        "default), code 302 with `Retry-After` instead.",
        "schema": {"type": "string"},
    }


def _user_id_parameter() -> dict[str, Any]:
    return {
        "name": "userId",
        "in": "query",
        "required": True,
        "description": "Creator id: 24 lowercase hex characters (anything else: code 400).",
        "schema": {"type": "string", "pattern": "^[0-9a-f]{24}$", "example": USER_ID_EXAMPLE},
    }


def operation(spec: EndpointSpec) -> dict[str, Any]:
    """The ``get`` operation of one endpoint."""
    reference = {"$ref": f"#/components/schemas/{data_schema_name(spec)}"}
    return {
        "summary": spec.title,
        "description": (
            f"{spec.summary} Always HTTP 200; the outcome is the envelope's `code`: "
            f"{_codes_sentence()}. Other methods than GET answer HTTP 405 with `Allow: GET`. "
            "A URL longer than `PGY_MAX_URL_BYTES` (8 KiB by default) answers code 400 naming "
            "its longest parameter; headers over `PGY_MAX_HEADER_BYTES` answer HTTP 431."
        ),
        "operationId": spec.operation_id,
        "tags": ["endpoints"],
        "parameters": [
            _token_parameter(),
            _user_id_parameter(),
            *(
                {
                    "name": param.name,
                    "in": "query",
                    "required": False,
                    "description": f"{param.description} Another value: code 400.",
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
        "responses": _answer(
            f"The envelope; on code 0 `data` is {spec.title}.",
            reference,
            example_answer(spec.name),
        ),
    }


HISTORY_DATA = "HistoryData"
SINCE_PATTERN = r"^(\s*[0-9]{4}-[0-9]{2}-[0-9]{2}([T ].*)?)?$"
"""What ``since`` can be (``contract.history.parse_since`` checks the date and time itself)."""
_FIELD = "[A-Za-z_][A-Za-z0-9_]{0,63}"
FIELDS_PATTERN = rf"^\s*({_FIELD})?\s*(,\s*({_FIELD})?\s*)*$"
"""What ``fields`` can be (as ``contract.history.parse_fields`` reads it)."""


def _history_data_schema(endpoints: Registry) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["userId", "scope", "points"],
        "properties": {
            "userId": {"type": "string"},
            "scope": {
                "type": "object",
                "description": "The endpoint and its parameters, defaults applied.",
                "required": ["endpoint"],
                "properties": {"endpoint": {"type": "string", "enum": list(endpoints)}},
                "additionalProperties": {"type": "string"},
            },
            "points": {
                "type": "array",
                "description": "Every stored collection, oldest first.",
                "items": {
                    "type": "object",
                    "required": ["recordTime", "source", "data"],
                    "properties": {
                        "recordTime": {"type": "string"},
                        "source": {"type": "string"},
                        "data": {
                            "type": "object",
                            "description": "The endpoint's data as collected (only `fields` "
                            "when given; a field it lacks is null).",
                        },
                    },
                },
            },
        },
    }


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
    return {
        "summary": "History (our extension)",
        "description": (
            "Every stored collection of one creator in one scope, oldest first: data = "
            "{userId, scope, points: [{recordTime, source, data}]}. Needs the permission "
            "`history`; charged the `history` price. Always HTTP 200; the outcome is the "
            "envelope's `code`. Other methods than GET answer HTTP 405 with `Allow: GET`."
        ),
        "operationId": "history_v1",
        "tags": ["endpoints"],
        "parameters": [
            _token_parameter(),
            _user_id_parameter(),
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
                "and time on; without an offset, in the record-time zone. Another value: code "
                "400.",
                "schema": {"type": "string", "pattern": SINCE_PATTERN, "example": "2026-11-01"},
            },
            {
                "name": "fields",
                "in": "query",
                "required": False,
                "description": "Comma-separated keys of data to keep (letters, digits and _). "
                "Another value: code 400.",
                "schema": {
                    "type": "string",
                    "pattern": FIELDS_PATTERN,
                    "example": "noteNumber,readMedian",
                },
            },
        ],
        "responses": _answer(
            "The envelope; on code 0 `data` is the history.",
            {"$ref": f"#/components/schemas/{HISTORY_DATA}"},
        ),
    }


def add_endpoints(schema: dict[str, Any], endpoints: Registry) -> dict[str, Any]:
    """``schema`` with a path for every registered endpoint, and the history extension."""
    paths = schema.setdefault("paths", {})
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for spec in endpoints.values():
        paths[spec.path] = {"get": operation(spec)}
        components.update(data_schemas(spec))
    paths[HISTORY_PATH] = {"get": history_operation(endpoints)}
    components[HISTORY_DATA] = _history_data_schema(endpoints)
    schema["x-business-codes"] = business_codes()
    return schema


# -- one endpoint's document -----------------------------------------------------------------------


def endpoint_document(full: dict[str, Any], spec: EndpointSpec) -> dict[str, Any]:
    """The OpenAPI document of one endpoint: its path and the components it refers to."""
    path_item = copy.deepcopy(full["paths"][spec.path])
    schemas = full.get("components", {}).get("schemas", {})
    needed: dict[str, Any] = {}
    pending = _references(path_item)
    while pending:
        name = pending.pop()
        if name in needed or name not in schemas:
            continue
        needed[name] = copy.deepcopy(schemas[name])
        pending |= _references(needed[name])
    document: dict[str, Any] = {
        "openapi": full.get("openapi", "3.1.0"),
        "info": {
            "title": f"{spec.title} (pgy-metrics)",
            "version": __version__,
            "summary": spec.summary,
            "description": f"{spec.summary}\n\nAuthentication: the `token` query parameter. "
            "Every answer is HTTP 200 with the envelope `{code, message, data, recordTime, "
            "requestId}`; decide by `code` (`x-business-codes`). Allow 60 s per call: a "
            "collection may take that long.",
        },
        "paths": {spec.path: path_item},
        "x-business-codes": business_codes(),
    }
    if needed:
        document["components"] = {"schemas": dict(sorted(needed.items()))}
    return document


def _references(node: Any) -> set[str]:
    """The component schema names ``node`` refers to (``#/components/schemas/<name>``)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                found.add(value.rsplit("/", 1)[-1])
            else:
                found |= _references(value)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item)
    return found
