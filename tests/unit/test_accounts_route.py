"""``POST /admin/accounts/reload`` in process (ASGI transport), and the account webhook on
``/status``: admin only, the generation raised where every process reads it (here the data
directory: no Redis), this process's accounts re-read at once, no cookie in any answer."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pgy_metrics.server import create_app
from pgy_metrics.service.account_reload import FileReloadSignal
from pgy_metrics.service.settings import Settings
from pgy_metrics.sources.pugongying import AccountSpec, PugongyingConfig, PugongyingSource
from tests.unit.test_pugongying import MARK, cookies_of

HOOK = "https://hooks.example.com/services/hook-key-1a2b"


def write(path: Path, login: str) -> None:
    fresh = path.with_suffix(".new")
    fresh.write_text("; ".join(f"{k}={v}" for k, v in cookies_of(login).items()), "utf-8")
    os.replace(fresh, path)


@pytest.fixture
async def http(tmp_path: Path, database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    settings = Settings(data_dir=tmp_path, database_url=database_url, account_webhook_url=HOOK)
    write(tmp_path / "alpha.cookies", "alpha")
    source = PugongyingSource(
        PugongyingConfig(
            accounts=[AccountSpec(name="alpha", cookies_file=tmp_path / "alpha.cookies").account],
            base_url="http://127.0.0.1:9",
        ),
        reload=FileReloadSignal(tmp_path),
    )
    app = create_app(settings, source=source)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        admin = (await runtime.issuer.create("ops", is_admin=True)).token
        plain = (await runtime.issuer.create("shop")).token
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client, {"admin": admin, "plain": plain}


async def test_reload_is_admin_only_and_re_reads_this_processs_cookie_files(
    http: tuple[httpx.AsyncClient, Any], tmp_path: Path
) -> None:
    client, tokens = http
    refused = await client.post(
        "/admin/accounts/reload", headers={"Authorization": f"Bearer {tokens['plain']}"}
    )
    assert refused.status_code == 403
    assert (await client.post("/admin/accounts/reload")).status_code == 401
    assert not (tmp_path / "accounts-reload-generation").exists()  # nothing was raised

    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    write(tmp_path / "alpha.cookies", "alpha2")
    first = await client.post("/admin/accounts/reload", headers=admin)
    assert first.status_code == 200
    assert first.json() == {
        "generation": 1,
        "signal": "data_dir",
        "accounts": [
            {"source": "pugongying", "account": "alpha", "outcome": "new_login", "problem": None}
        ],
    }
    again = (await client.post("/admin/accounts/reload", headers=admin)).json()
    assert (again["generation"], again["accounts"][0]["outcome"]) == (2, "unchanged")
    (tmp_path / "alpha.cookies").write_text("garbage", "utf-8")
    kept = (await client.post("/admin/accounts/reload", headers=admin)).json()["accounts"][0]
    assert kept["outcome"] == "kept"
    assert "cookies must look like 'name=value; name2=value2'" in kept["problem"]
    assert await FileReloadSignal(tmp_path).generation() == 3  # what other processes read
    assert MARK not in first.text + str(again) + str(kept)

    spec = (await client.get("/openapi.json")).json()
    assert set(spec["paths"]["/admin/accounts/reload"]) == {"post"}


async def test_status_shows_the_webhooks_host_and_no_incident_yet(
    http: tuple[httpx.AsyncClient, Any],
) -> None:
    client, _tokens = http
    status = (await client.get("/status")).json()
    assert status["account_webhook"] == {"host": "https://hooks.example.com", "last": None}
    page = (await client.get("/status.html")).text
    assert "Account webhook https://hooks.example.com: no incident yet" in page
    assert "hook-key-1a2b" not in str(status) + page
