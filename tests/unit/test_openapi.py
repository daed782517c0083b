"""The OpenAPI documents tell the truth: what they say is what the server answers.

Each test holds one promise of issue 13 item 7 against the server in process (SQLite): the
envelope and its codes, typed data that the recorded answers and the sandbox's answers validate
against, the per-endpoint documents, the admin API's real error bodies, 405 with ``Allow``, and
``/status.html`` as HTML. The whole document is also run through schemathesis against a real
server (tests/integration/test_openapi_schemathesis.py).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi import FastAPI

from pgy_metrics.clock import FixedClock
from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import ENDPOINTS, EndpointSpec
from pgy_metrics.contract.history import HISTORY_PATH
from pgy_metrics.server import create_app
from pgy_metrics.server.openapi import data_schema_name
from pgy_metrics.service.settings import Settings
from pgy_metrics.sources.sandbox import SandboxSource
from tests.conftest import FIXTURES

USER = "5d21ab6b000000001201567d"
NOW = datetime(2026, 11, 27, 4, 5, 6, tzinfo=UTC)
RECORDED = {
    "notes_rate": "justoneapi-notesrate-3-notes.json",
    "blogger_profile": "justoneapi-blogger-profile.json",
    "data_summary": "justoneapi-data-summary.json",
    "fans_summary": "justoneapi-fans-summary.json",
    "fans_profile": "justoneapi-fans-profile.json",
    "fans_history": "justoneapi-fans-history.json",
}
EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "pgy_metrics" / "server" / "examples"


@dataclass
class Served:
    app: FastAPI
    http: httpx.AsyncClient
    admin: str
    holder: str

    def spec(self) -> dict[str, Any]:
        document: dict[str, Any] = self.app.openapi()
        return document

    def bearer(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.admin}"}


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    clock = FixedClock(NOW)
    app = create_app(
        Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/db.sqlite3"),
        source=SandboxSource(clock=clock),
        clock=clock,
    )
    async with app.router.lifespan_context(app):
        issuer = app.state.runtime.issuer
        admin = (await issuer.create("ops", is_admin=True)).token
        holder = (await issuer.create("shop")).token
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Served(app, http, admin, holder)


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Validator:
    """A validator of ``schema`` whose ``#/components/...`` references resolve in ``document``."""
    rooted = {**schema, "components": document.get("components", {})}
    return jsonschema.Draft202012Validator(rooted)


def _answer_schema(document: dict[str, Any], path: str) -> dict[str, Any]:
    response = document["paths"][path]["get"]["responses"]["200"]
    schema: dict[str, Any] = response["content"]["application/json"]["schema"]
    return schema


# -- the endpoints -------------------------------------------------------------------------------


def test_the_shipped_examples_are_the_recorded_fixtures_byte_for_byte() -> None:
    assert sorted(p.name for p in EXAMPLES.glob("*.json")) == sorted(f"{n}.json" for n in RECORDED)
    for name, fixture in RECORDED.items():
        assert (EXAMPLES / f"{name}.json").read_bytes() == (FIXTURES / fixture).read_bytes()


async def test_every_endpoint_answers_200_with_the_code_enum_and_the_codes_table(
    served: Served,
) -> None:
    document = served.spec()
    assert document["openapi"].startswith("3.1")
    table = [(c.value, c.name.lower(), c.default_message, c.billed) for c in BusinessCode]
    for spec in ENDPOINTS.values():
        responses = document["paths"][spec.path]["get"]["responses"]
        assert set(responses) == {"200"}
        answer = responses["200"]
        schema = answer["content"]["application/json"]["schema"]
        assert schema["required"] == ["code", "message", "data", "recordTime", "requestId"]
        assert schema["properties"]["code"]["enum"] == [code.value for code in BusinessCode]
        codes = answer["x-business-codes"]
        assert [(c["code"], c["name"], c["message"], c["billed"]) for c in codes] == table
        assert "code 400" in answer["description"]
        data = schema["properties"]["data"]["anyOf"]
        assert data[0] == {"$ref": f"#/components/schemas/{data_schema_name(spec)}"}


@pytest.mark.parametrize("name", list(RECORDED))
async def test_the_example_is_the_recorded_answer_and_valid(served: Served, name: str) -> None:
    spec = ENDPOINTS[name]
    document = served.spec()
    media = document["paths"][spec.path]["get"]["responses"]["200"]["content"]
    example = media["application/json"]["example"]
    recorded = (FIXTURES / RECORDED[name]).read_text(encoding="utf-8")
    assert example["data"] == json.loads(recorded)["data"]
    assert example["code"] == 0 and example["message"] is None
    _validator(document, _answer_schema(document, spec.path)).validate(example)
    properties = document["components"]["schemas"][data_schema_name(spec)].get("properties", {})
    assert set(example["data"]) <= set(properties) or spec.data_model is not None


async def test_the_data_schema_refuses_a_wrong_type(served: Served) -> None:
    document = served.spec()
    for spec in ENDPOINTS.values():
        validator = _validator(document, _answer_schema(document, spec.path))
        example = document["paths"][spec.path]["get"]["responses"]["200"]["content"][
            "application/json"
        ]["example"]
        key = next(iter(example["data"]))
        broken = {**example, "data": {**example["data"], key: {"not": "this"}}}
        assert not validator.is_valid(broken), spec.name
        assert not validator.is_valid({**example, "code": 7}), spec.name


@pytest.mark.parametrize("spec", list(ENDPOINTS.values()), ids=list(ENDPOINTS))
async def test_the_sandbox_answers_validate_against_the_documented_schema(
    served: Served, spec: EndpointSpec
) -> None:
    document = served.spec()
    validator = _validator(document, _answer_schema(document, spec.path))
    users = [f"{i:024x}" for i in range(1, 41, 3)]
    for user in users:
        for query in spec.scopes(user):
            params = {"token": served.holder, **query.api_params()}
            body = (await served.http.get(spec.path, params=params)).json()
            assert body["code"] == 0, body
            errors = [e.message for e in validator.iter_errors(body)]
            assert errors == [], (spec.name, query.describe(), errors[:3])


async def test_invalid_parameters_are_code_400_as_documented(served: Served) -> None:
    document = served.spec()
    spec = ENDPOINTS["notes_rate"]
    validator = _validator(document, _answer_schema(document, spec.path))
    body = (
        await served.http.get(
            spec.path, params={"token": served.holder, "userId": USER, "business": "X"}
        )
    ).json()
    assert body["code"] == 400 and "business" in body["message"]
    validator.validate(body)


async def test_history_answers_validate(served: Served) -> None:
    document = served.spec()
    validator = _validator(document, _answer_schema(document, HISTORY_PATH))
    await served.http.get(
        ENDPOINTS["fans_summary"].path, params={"token": served.admin, "userId": USER}
    )
    body = (
        await served.http.get(
            HISTORY_PATH, params={"token": served.admin, "userId": USER, "endpoint": "fans_summary"}
        )
    ).json()
    assert body["code"] == 0 and len(body["data"]["points"]) == 1
    validator.validate(body)


# -- per-endpoint documents ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ENDPOINTS))
async def test_each_endpoint_has_its_own_document(served: Served, name: str) -> None:
    spec = ENDPOINTS[name]
    response = await served.http.get(f"/openapi/{name}-en.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert list(document["paths"]) == [spec.path]
    assert document["paths"][spec.path] == served.spec()["paths"][spec.path]
    assert document["info"]["title"].startswith(spec.title)
    assert document["x-business-codes"][0]["code"] == 0
    # self-contained: every reference resolves inside it, and the example validates
    jsonschema.Draft202012Validator.check_schema(
        document["components"]["schemas"][data_schema_name(spec)]
    )
    schema = _answer_schema(document, spec.path)
    example = document["paths"][spec.path]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["example"]
    _validator(document, schema).validate(example)
    assert "TokenCreate" not in document["components"]["schemas"]


async def test_an_unknown_document_is_404_naming_the_real_ones(served: Served) -> None:
    for path in (
        "/openapi/nope-en.json",
        "/openapi/notes_rate.json",
        "/openapi/notes_rate-zz.json",
    ):
        response = await served.http.get(path)
        assert response.status_code == 404
        assert "/openapi/notes_rate-en.json" in response.json()["detail"]


# -- 405 ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "TRACE", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
async def test_other_methods_on_the_endpoints_are_405_with_allow_get(
    served: Served, method: str
) -> None:
    for path in [*(spec.path for spec in ENDPOINTS.values()), HISTORY_PATH]:
        response = await served.http.request(
            method, path, params={"token": served.holder, "userId": USER}
        )
        assert response.status_code == 405, (method, path)
        assert response.headers["allow"] == "GET"
        if method != "HEAD":
            assert response.json()["detail"].startswith(f"{method} is not allowed")
    # and GET still answers through the endpoints' layer
    ok = await served.http.get(
        ENDPOINTS["notes_rate"].path, params={"token": served.holder, "userId": USER}
    )
    assert ok.status_code == 200 and ok.json()["code"] == 0


async def test_405_on_other_routes_lists_every_method_of_the_path(served: Served) -> None:
    cases = {
        "/admin/tokens": "GET, HEAD, POST",
        "/admin/tokens/shop": "GET, HEAD, PATCH, DELETE",
        "/admin/tokens/shop/topup": "POST",
        "/status": "GET, HEAD",
        "/status.html": "GET, HEAD",
    }
    for path, allow in cases.items():
        for method in ("OPTIONS", "TRACE", "PUT"):
            response = await served.http.request(method, path, headers=served.bearer())
            assert response.status_code == 405, (method, path)
            assert response.headers["allow"] == allow, (method, path)
    assert (await served.http.request("TRACE", "/nowhere")).status_code == 404


# -- the admin API's error bodies ----------------------------------------------------------------


def _refusal_schema(document: dict[str, Any], path: str, method: str, status: str) -> Any:
    response = document["paths"][path][method]["responses"][status]
    return response["content"]["application/json"]["schema"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe\x00", b'"a string"', b"[]", b""],
    ids=["malformed", "not-utf8", "string", "array", "empty"],
)
async def test_bodies_that_are_not_an_object_are_the_documented_422(
    served: Served, body: bytes
) -> None:
    document = served.spec()
    for method, path, operation in [
        ("POST", "/admin/tokens", "/admin/tokens"),
        ("PATCH", "/admin/tokens/shop", "/admin/tokens/{name}"),
        ("POST", "/admin/tokens/shop/topup", "/admin/tokens/{name}/topup"),
    ]:
        response = await served.http.request(
            method,
            path,
            content=body,
            headers={**served.bearer(), "Content-Type": "application/json"},
        )
        if body == b"" and method == "PATCH":
            assert response.status_code in (200, 422)  # an empty PATCH changes nothing
            continue
        assert response.status_code == 422, (method, path, body, response.text)
        answer = response.json()
        assert answer["errors"] and answer["errors"][0]["location"] == "body"
        schema = _refusal_schema(document, operation, method.lower(), "422")
        _validator(document, schema).validate(answer)


async def test_every_422_has_errors_and_matches_its_schema(served: Served) -> None:
    document = served.spec()
    cases: list[tuple[str, str, str, dict[str, Any], str]] = [
        (
            "POST",
            "/admin/tokens",
            "/admin/tokens",
            {"json": {"name": "x", "endpoints": [""]}},
            "endpoints",
        ),
        ("POST", "/admin/tokens", "/admin/tokens", {"json": {"name": "-bad"}}, "name"),
        (
            "POST",
            "/admin/tokens",
            "/admin/tokens",
            {"json": {"name": "x", "rate_limit": "10 per fortnight"}},
            "rate_limit",
        ),
        (
            "POST",
            "/admin/tokens",
            "/admin/tokens",
            {"json": {"name": "x", "balance": 10**16}},
            "balance",
        ),
        (
            "POST",
            "/admin/tokens",
            "/admin/tokens",
            {"json": {"name": "x", "balance": "5"}},
            "balance",
        ),
        (
            "PATCH",
            "/admin/tokens/shop",
            "/admin/tokens/{name}",
            {"json": {"balance": 5}},
            "balance",
        ),
        (
            "POST",
            "/admin/tokens/shop/topup",
            "/admin/tokens/{name}/topup",
            {"json": {"credits": 0}},
            "credits",
        ),
        ("GET", "/admin/usage", "/admin/usage", {"params": {"since": ""}}, "since"),
        ("GET", "/admin/usage", "/admin/usage", {"params": {"since": "2026-02-30"}}, "since"),
    ]
    for method, path, operation, kwargs, field in cases:
        response = await served.http.request(method, path, headers=served.bearer(), **kwargs)
        assert response.status_code == 422, (method, path, kwargs, response.text)
        answer = response.json()
        assert [e["field"] for e in answer["errors"]] == [field], answer
        assert field in answer["detail"]
        _validator(document, _refusal_schema(document, operation, method.lower(), "422")).validate(
            answer
        )


async def test_the_schema_refuses_what_the_server_refuses(served: Served) -> None:
    document = served.spec()
    schemas = document["components"]["schemas"]
    create = jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/TokenCreate", "components": document["components"]},
        format_checker=jsonschema.FormatChecker(),
    )
    assert create.is_valid({"name": "shop-7", "endpoints": ["notes_rate"], "balance": 5.0})
    for refused in (
        {"name": "x", "endpoints": [""]},
        {"name": "-x"},
        {"name": "x", "rate_limit": "10 per second"},
        {"name": "x", "daily_quota": -1},
        {"name": "x", "balance": 10**16},
        {"name": "x", "other": 1},
    ):
        assert not create.is_valid(refused), refused
    assert "balance" not in schemas["PlanUpdate"]["properties"]
    usage = document["paths"]["/admin/usage"]["get"]["parameters"]
    since = next(p for p in usage if p["name"] == "since")
    validator = jsonschema.Draft202012Validator(
        since["schema"], format_checker=jsonschema.FormatChecker()
    )
    assert not validator.is_valid("") and validator.is_valid("2026-11-26")
    history = {p["name"]: p["schema"] for p in document["paths"][HISTORY_PATH]["get"]["parameters"]}
    for name, accepted, refused in (
        ("since", ["", "2026-11-01", "2026-11-01T08:00:00+08:00"], ["x", "01/11/2026"]),
        ("fields", ["", "noteNumber,readMedian", " a , b "], ["a b", "1a", "é"]),
    ):
        check = jsonschema.Draft202012Validator(history[name])
        assert all(check.is_valid(v) for v in accepted) and not any(
            check.is_valid(v) for v in refused
        ), name
        for value in refused:  # and the server refuses them: code 400 naming the parameter
            answer = await served.http.get(
                HISTORY_PATH, params={"token": served.admin, "userId": USER, name: value}
            )
            assert answer.json()["code"] == 400 and name in answer.json()["message"], value
    # and a whole float is accepted by the server as the schema accepts it
    response = await served.http.post(
        "/admin/tokens", json={"name": "whole", "balance": 5.0}, headers=served.bearer()
    )
    assert response.status_code == 201 and response.json()["plan"]["balance"] == 5


async def test_no_operation_answers_or_documents_a_400(served: Served) -> None:
    """FastAPI's 400 for an unreadable body is answered as the documented 422 (above)."""
    document = served.spec()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert "400" not in operation["responses"], (method, path)


# -- status --------------------------------------------------------------------------------------


async def test_status_html_is_documented_as_html_and_status_as_its_json(served: Served) -> None:
    document = served.spec()
    page = document["paths"]["/status.html"]["get"]["responses"]["200"]["content"]
    assert list(page) == ["text/html"]
    response = await served.http.get("/status.html")
    assert response.headers["content-type"].startswith("text/html")
    await served.http.get(
        ENDPOINTS["notes_rate"].path, params={"token": served.holder, "userId": USER}
    )
    await asyncio.sleep(0)
    body = (await served.http.get("/status")).json()
    schema = document["paths"]["/status"]["get"]["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    _validator(document, schema).validate(body)


async def test_a_credential_is_never_ignored_for_another(served: Served) -> None:
    """Found by schemathesis' ignored_auth: a malformed Authorization header, or a second,
    different token, used to be ignored when the other credential was valid."""
    for path in ("/admin/tokens", "/api/balance"):
        cases: list[tuple[dict[str, str], dict[str, str], str]] = [
            ({"Authorization": "Basic abc"}, {"token": served.admin}, "must be 'Bearer <token>'"),
            ({"Authorization": ""}, {"token": served.admin}, "must be 'Bearer <token>'"),
            (served.bearer(), {"token": served.holder}, "Two different tokens"),
            (served.bearer(served.holder), {"token": served.admin}, "Two different tokens"),
        ]
        for headers, params, fragment in cases:
            response = await served.http.get(path, headers=headers, params=params)
            assert response.status_code == 401, (path, headers)
            assert fragment in response.json()["detail"]
            assert served.admin not in response.text and served.holder not in response.text
        same = await served.http.get(path, headers=served.bearer(), params={"token": served.admin})
        assert same.status_code == 200
