"""The admin API's watchlists on a real server in process (SQLite, the sandbox source): the
same operations as ``pgy watch``, admin tokens only, bad fields named; and the inline refresher
of the embedded default collecting due keys through the server's own service, charging no one."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from pgy_metrics.clock import FixedClock
from pgy_metrics.server import create_app
from pgy_metrics.service.settings import Settings
from pgy_metrics.service.watch_refresh import InlineSubmit, WatchRefresher
from pgy_metrics.sources.sandbox import SandboxSource

NOW = datetime(2026, 11, 27, 4, 5, 6, tzinfo=UTC)
USERS = [f"{index:024x}" for index in range(1, 6)]
SCOPES = ["DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL", "COOPERATE_NOTE.VIDEO.DAY_90.ALL"]


@dataclass
class Served:
    app: FastAPI
    http: httpx.AsyncClient
    clock: FixedClock
    admin: dict[str, str]
    holder: dict[str, str]


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    clock = FixedClock(NOW)
    app = create_app(
        Settings(data_dir=tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/db.sqlite3"),
        source=SandboxSource(clock=clock),
        clock=clock,
    )
    async with app.router.lifespan_context(app):
        # The server's own refresher loop (inline mode) would tick beside the ones these tests
        # drive by hand on the same fixed clock: stopped, so each tick here is the only one.
        (loop,) = [task for task in asyncio.all_tasks() if task.get_name() == "watchlists"]
        loop.cancel()
        issuer = app.state.runtime.issuer
        admin = (await issuer.create("ops", is_admin=True)).token
        holder = (await issuer.create("shop")).token
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield Served(
                app,
                http,
                clock,
                {"Authorization": f"Bearer {admin}"},
                {"Authorization": f"Bearer {holder}"},
            )


async def test_watchlists_are_added_listed_reported_and_removed_over_http(served: Served) -> None:
    http, admin = served.http, served.admin
    added = await http.post(
        "/admin/watchlists/shops",
        json={"userIds": USERS, "scopes": SCOPES, "every": "6h"},
        headers=admin,
    )
    assert added.status_code == 200, added.text
    body = added.json()
    assert (body["added"], body["already"], body["every"]) == (10, 0, "6h")
    assert body["warning"] is None  # the sandbox has no account pool to exceed

    listed = (await http.get("/admin/watchlists", headers=admin)).json()
    assert [(w["name"], w["every"], w["creators"], w["keys"]) for w in listed] == [
        ("shops", "6h", 5, 10)
    ]
    status = (await http.get("/admin/watchlists/status", headers=admin)).json()
    (shops,) = status["lists"]
    assert (shops["creators"], shops["scopes"], shops["keys"]) == (5, 2, 10)
    assert shops["nextDueAt"] is not None and shops["overdue"] == 0
    assert status["callsPerDay"] == 10 * 4 and status["capacity"] is None

    removed = await http.delete(
        "/admin/watchlists/shops", params={"userId": USERS[:2]}, headers=admin
    )
    assert removed.json() == {"name": "shops", "removed": 4, "deleted": False}
    deleted = await http.delete("/admin/watchlists/shops", headers=admin)
    assert deleted.json() == {"name": "shops", "removed": 6, "deleted": True}
    missing = await http.delete("/admin/watchlists/shops", headers=admin)
    assert (
        missing.status_code == 404 and "no watchlist is named 'shops'" in missing.json()["detail"]
    )
    unknown = await http.get("/admin/watchlists/status", params={"list": "x"}, headers=admin)
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"userIds": USERS, "every": "5x"}, "every", "should match pattern"),
        ({"userIds": USERS, "every": "30s"}, "every", "should match pattern"),
        ({"userIds": USERS, "scopes": ["nope"]}, "scopes.0", "should match pattern"),
        ({"userIds": USERS, "scopes": "analysis"}, "scopes", "valid list"),
        ({"userIds": [*USERS, "not-an-id"]}, "userIds.5", "should match pattern"),
        ({"userIds": []}, "userIds", "at least 1 item"),
    ],
)
async def test_bad_fields_are_named_with_their_allowed_values(
    served: Served, body: dict[str, object], field: str, says: str
) -> None:
    answer = await served.http.post("/admin/watchlists/shops", json=body, headers=served.admin)
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"][0]["field"] == field
    assert says in answer.json()["detail"], answer.text
    assert "Traceback" not in answer.text


async def test_only_admin_tokens_may_use_watchlists(served: Served) -> None:
    for method, path in [
        ("GET", "/admin/watchlists"),
        ("GET", "/admin/watchlists/status"),
        ("POST", "/admin/watchlists/shops"),
        ("DELETE", "/admin/watchlists/shops"),
    ]:
        refused = await served.http.request(
            method, path, headers=served.holder, json={"userIds": USERS}
        )
        assert refused.status_code == 403, (method, path)
        anonymous = await served.http.request(method, path, json={"userIds": USERS})
        assert anonymous.status_code == 401, (method, path)


async def test_the_inline_refresher_collects_due_keys_and_charges_no_token(
    served: Served,
) -> None:
    runtime = served.app.state.runtime
    await served.http.post(
        "/admin/watchlists/shops",
        json={"userIds": USERS, "every": "1h"},
        headers=served.admin,
    )
    served.clock.advance(hours=1)  # every key fell due once
    submit = InlineSubmit(runtime.service, served.clock)
    refresher = WatchRefresher(runtime.store, served.clock, submit, lookahead_seconds=0)
    assert await refresher.tick() == 5
    for _ in range(200):
        if runtime.service.source_calls == 5:
            break
        await asyncio.sleep(0.05)
    await submit.aclose()
    assert runtime.service.source_calls == 5
    status = (await served.http.get("/admin/watchlists/status", headers=served.admin)).json()
    assert status["lists"][0]["lastRefreshedAt"] is not None
    assert status["lists"][0]["overdue"] == 0

    def charged(conn: object) -> int:
        return int(conn.execute(text("SELECT count(*) FROM ledger")).scalar())  # type: ignore[attr-defined]

    assert await runtime.store.database.read(charged) == 0
    # A second tick at the same moment has nothing due; over the next period each key falls
    # due once more, at its own place in the hour.
    assert await refresher.tick() == 0
    again = 0
    for _ in range(60):
        served.clock.advance(minutes=1)
        again += await refresher.tick()
    assert again == 5
    await submit.aclose()


async def test_the_inline_refresher_does_not_collect_a_key_collected_within_half_a_period(
    served: Served,
) -> None:
    runtime = served.app.state.runtime
    await served.http.post(
        "/admin/watchlists/shops", json={"userIds": USERS[:1], "every": "1h"}, headers=served.admin
    )
    asked = await served.http.get(
        "/api/xiaohongshu-pgy/api/solar/kol/dataV3/notesRate/v1",
        params={"userId": USERS[0], "token": served.holder["Authorization"].split()[1]},
    )
    assert asked.json()["code"] == 0
    calls = runtime.service.source_calls
    served.clock.advance(minutes=61)  # due; the asker's collection is 61 minutes old
    submit = InlineSubmit(runtime.service, served.clock)
    refresher = WatchRefresher(runtime.store, served.clock, submit, lookahead_seconds=0)
    await refresher.tick()
    for _ in range(200):
        if runtime.service.source_calls > calls:
            break
        await asyncio.sleep(0.05)
    assert runtime.service.source_calls == calls + 1  # older than half a period: collected
    await submit.aclose()
