"""Limits at the edge in process: the settings that set them, the messages, the failed-token
slowing per client address and the URL and body caps (ASGI transport). Over real HTTP, with
the protocol-level caps and the admin listener: ``tests/integration/test_edge_limits.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.contract.history import HISTORY_PATH
from pgy_metrics.server import create_app
from pgy_metrics.server.caps import long_url_message
from pgy_metrics.service.settings import Settings, parse_listen
from tests.fakes import CountingSource

USER = "5d21ab6b000000001201567d"
BAD = "pgy_" + "x" * 43


def test_parse_listen_reads_host_and_port_and_names_the_form() -> None:
    assert parse_listen("127.0.0.1:9000") == ("127.0.0.1", 9000)
    assert parse_listen("[::1]:9001") == ("::1", 9001)
    for bad in ("9000", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:70000", ":9000", "host:x"):
        with pytest.raises(ValueError, match="HOST:PORT"):
            parse_listen(bad)


def test_settings_refuse_what_would_be_wrong(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="port of its own"):
        Settings(data_dir=tmp_path, port=8000, admin_listen="127.0.0.1:8000")
    with pytest.raises(ValidationError, match="admin_listen"):
        Settings(data_dir=tmp_path, admin_listen="localhost")
    with pytest.raises(ValidationError, match="failed_token_limit"):
        Settings(data_dir=tmp_path, failed_token_limit="twenty")
    with pytest.raises(ValidationError, match="max_url_bytes"):
        Settings(data_dir=tmp_path, max_url_bytes=10)
    off = Settings(data_dir=tmp_path, failed_token_limit="", admin_listen="")
    assert off.failed_token_limit is None and off.admin_address is None
    defaults = Settings(data_dir=tmp_path)
    assert (defaults.max_url_bytes, defaults.max_header_bytes, defaults.max_body_bytes) == (
        8192,
        16384,
        65536,
    )
    assert defaults.failed_token_limit == "20/minute"


def test_the_long_url_message_names_the_longest_parameter() -> None:
    message = long_url_message(b"token=abc&userId=" + b"u" * 500 + b"&x=yy", 600, 512)
    assert message.startswith("userId is 500 characters long: the URL is 600 bytes")
    assert "at most 512" in message and "PGY_MAX_URL_BYTES" in message
    assert "abc" not in message  # values are never echoed, the token least of all
    assert long_url_message(b"&&&", 600, 512).startswith("the query is too long")


@pytest.fixture
async def app(tmp_path: Path, fixture_bytes: bytes) -> AsyncIterator[Any]:
    import json

    settings = Settings(
        data_dir=tmp_path,
        token_cache_seconds=0,
        failed_token_limit="2/minute",
        max_url_bytes=1024,
        max_body_bytes=1024,
    )
    served = create_app(settings, source=CountingSource(json.loads(fixture_bytes)["data"]))
    async with served.router.lifespan_context(served):
        served.state.token = (await served.state.runtime.issuer.create("tester")).token
        served.state.admin = (
            await served.state.runtime.issuer.create("operator", is_admin=True)
        ).token
        yield served


def _client(app: Any, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 4321))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def test_unknown_tokens_past_the_limit_get_302_for_that_address_only(app: Any) -> None:
    async with _client(app, "10.0.0.1") as one, _client(app, "10.0.0.2") as other:
        for _ in range(5):  # a missing token is no guess: never counted
            missing = (await one.get(NOTES_RATE_PATH, params={"userId": USER})).json()
            assert missing["code"] == 100
        for _ in range(2):
            answer = await one.get(NOTES_RATE_PATH, params={"userId": USER, "token": BAD})
            assert answer.json()["code"] == 100
        slowed = await one.get(NOTES_RATE_PATH, params={"userId": USER, "token": BAD})
        assert slowed.json()["code"] == 302
        assert int(slowed.headers["retry-after"]) >= 1
        assert slowed.headers["ratelimit-limit"] == "2"
        history = await one.get(HISTORY_PATH, params={"userId": USER, "token": BAD})
        assert history.json()["code"] == 302  # /api/history counts in the same window
        valid = await one.get(NOTES_RATE_PATH, params={"userId": USER, "token": app.state.token})
        assert valid.json()["code"] == 0
        elsewhere = await other.get(NOTES_RATE_PATH, params={"userId": USER, "token": BAD})
        assert elsewhere.json()["code"] == 100


async def test_no_limit_when_the_setting_is_off(tmp_path: Path, fixture_bytes: bytes) -> None:
    import json

    settings = Settings(data_dir=tmp_path, failed_token_limit="")
    served = create_app(settings, source=CountingSource(json.loads(fixture_bytes)["data"]))
    async with served.router.lifespan_context(served), _client(served, "10.0.0.3") as one:
        for _ in range(25):
            answer = await one.get(NOTES_RATE_PATH, params={"userId": USER, "token": BAD})
            assert answer.json()["code"] == 100


async def test_a_url_over_the_cap_is_refused_before_anything_is_read(app: Any) -> None:
    async with _client(app, "10.0.0.4") as one:
        params = {"userId": USER, "token": app.state.token, "scope": "s" * 1100}
        answer = await one.get(NOTES_RATE_PATH, params=params)
        assert answer.status_code == 200
        envelope = answer.json()
        assert envelope["code"] == 400
        assert envelope["message"].startswith("scope is 1100 characters long")
        assert answer.headers["x-request-id"] == envelope["requestId"]
        assert app.state.runtime.gate.codes[400] == 1
        status = await one.get("/status", params={"q": "q" * 1100})
        assert status.status_code == 414
        assert status.json()["detail"].startswith("q is 1100 characters long")


async def test_admin_bodies_over_the_cap_get_413_and_smaller_ones_are_served(app: Any) -> None:
    auth = {"Authorization": f"Bearer {app.state.admin}"}
    async with _client(app, "10.0.0.5") as one:
        big = await one.post("/admin/tokens", json={"name": "n" * 2000}, headers=auth)
        assert big.status_code == 413
        assert "1024 bytes (PGY_MAX_BODY_BYTES)" in big.json()["detail"]

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as read
            for _ in range(3):
                yield b" " * 500

        streamed = await one.post(
            "/admin/tokens", content=chunks(), headers={**auth, "Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        small = await one.post("/admin/tokens", json={"name": "small"}, headers=auth)
        assert small.status_code == 201, small.text
