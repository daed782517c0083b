"""A database filled by the previous schema (revision 0003) upgrades on ``pgy serve``'s start and
its old data is served back through the HTTP API: snapshots (cached answer with the old
``recordTime``), tokens, ledger rows and usage; then the migration's downgrade restores 0003.

Runs on real SQLite and on a fresh PostgreSQL database (created and dropped by the fixture).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from pgy_metrics.clock import SystemClock
from pgy_metrics.contract import NOTES_RATE_PATH, Scope
from pgy_metrics.contract.endpoints import NOTES_RATE
from pgy_metrics.contract.envelope import format_record_time
from pgy_metrics.service.billing import Billing
from pgy_metrics.service.settings import Settings
from pgy_metrics.service.tokens import TokenHasher, TokenIssuer, load_pepper
from pgy_metrics.store import Store
from pgy_metrics.store.models import UTCDateTime
from pgy_metrics.store.tokens import BillingPlan
from tests.conftest import FIXTURE_3_NOTES
from tests.integration.servers import ServerProcess, pgy_env

USER = "5d21ab6b000000001201567d"
PEPPER = "upgrade-test-pepper-0123456789"
OLD_DAY = "2026-11-20"
OLD_SNAPSHOTS = sa.table(
    "snapshots",
    sa.column("user_id"),
    sa.column("scope_key"),
    sa.column("business"),
    sa.column("note_type"),
    sa.column("date_type"),
    sa.column("advertise_switch"),
    sa.column("collected_at", UTCDateTime()),
    sa.column("source"),
    sa.column("payload"),
)
"""The snapshots table as revisions 0001-0003 had it."""
OLD_LEDGER = sa.table(
    "ledger",
    *(sa.column(name) for name in ("request_id", "token_id", "kind", "amount", "endpoint")),
    *(sa.column(name) for name in ("user_id", "scope_key", "cached", "day")),
    sa.column("created_at", UTCDateTime()),
)
OLD_USAGE = sa.table(
    "usage_days", *(sa.column(n) for n in ("token_id", "day", "calls", "reserved", "credits"))
)


async def fill_the_old_way(store: Store, settings: Settings, now: datetime) -> dict[str, Any]:
    """Tokens through the issuer (the tokens table is the same at 0003); snapshots and money rows
    as the 0003-era code wrote them (raw rows, the four scope columns, a charge without
    endpoint)."""
    clock = SystemClock()
    issuer = TokenIssuer(
        store=store,
        hasher=TokenHasher(load_pepper(settings)),
        clock=clock,
        billing=Billing(settings=settings, clock=clock),
    )
    admin = await issuer.create("old-admin", is_admin=True)
    user = await issuer.create("old-user", plan=BillingPlan(balance=1000, price=5, cached_price=2))
    data = json.loads(FIXTURE_3_NOTES.read_text(encoding="utf-8"))["data"]
    older = dict(data, readMedian=1)
    scope = Scope()
    rows = [
        (now - timedelta(hours=2), json.dumps(older, ensure_ascii=False, separators=(",", ":"))),
        (now - timedelta(hours=1), json.dumps(data, ensure_ascii=False, separators=(",", ":"))),
    ]

    def write(conn: sa.Connection) -> None:
        for collected_at, payload in rows:
            conn.execute(
                OLD_SNAPSHOTS.insert().values(
                    user_id=USER,
                    scope_key=scope.key,
                    business=scope.business.value,
                    note_type=scope.note_type.value,
                    date_type=scope.date_type.value,
                    advertise_switch=scope.advertise_switch.value,
                    collected_at=collected_at,
                    source="sandbox",
                    payload=payload,
                )
            )
        for number, endpoint in enumerate((None, NOTES_RATE)):
            conn.execute(
                OLD_LEDGER.insert().values(
                    request_id=f"old-{number}",
                    token_id=user.record.id,
                    kind="charge",
                    amount=5,
                    endpoint=endpoint,
                    user_id=USER,
                    scope_key=scope.key,
                    cached=False,
                    day=OLD_DAY,
                    created_at=now - timedelta(days=7),
                )
            )
        conn.execute(
            OLD_USAGE.insert().values(
                token_id=user.record.id, day=OLD_DAY, calls=2, reserved=0, credits=10
            )
        )
        conn.execute(sa.text("UPDATE tokens SET balance = balance - 10 WHERE name = 'old-user'"))

    await store.database.write(write)
    return {"admin": admin.token, "user": user.token, "rows": rows, "scope": scope}


async def test_a_0003_database_is_served_after_the_upgrade(
    database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    settings = Settings(data_dir=data_dir, database_url=database_url, token_pepper=PEPPER)
    now = datetime.now(UTC).replace(microsecond=123456)
    store = Store(database_url)
    try:
        await store.migrate(to="0003")
        old = await fill_the_old_way(store, settings, now)
    finally:
        await store.aclose()

    env = pgy_env(data_dir, database_url, PGY_TOKEN_PEPPER=PEPPER)
    with ServerProcess(env=env, log_path=tmp_path / "serve.log") as server:
        answer = httpx.get(
            f"{server.base_url}{NOTES_RATE_PATH}",
            params={"token": old["user"], "userId": USER},
            timeout=30,
        )
        admin = {"Authorization": f"Bearer {old['admin']}"}
        usage = httpx.get(
            f"{server.base_url}/admin/usage", params={"name": "old-user"}, headers=admin
        )
        balance = httpx.get(
            f"{server.base_url}/api/balance", headers={"Authorization": f"Bearer {old['user']}"}
        )
    body = answer.json()
    newest_at, newest_payload = old["rows"][-1]
    assert body["code"] == 0, server.logs()
    assert body["data"] == json.loads(newest_payload)
    assert body["recordTime"] == format_record_time(newest_at, settings.zone)
    assert answer.headers["x-pgy-source"] == "sandbox"
    assert usage.status_code == 200, usage.text
    old_day = [row for row in usage.json() if row["day"] == OLD_DAY]
    assert old_day == [
        {
            "name": "old-user",
            "day": OLD_DAY,
            "calls": 2,
            "credits": 10,
            "reserved": 0,
            "reserved_credits": 0,
        }
    ]
    assert balance.json()["balance"] == 1000 - 10 - 2  # the old charges, then one cached answer

    store = Store(database_url)
    try:
        history = await store.snapshots.history(NOTES_RATE, USER, old["scope"].key)
        assert [(s.collected_at, s.payload) for s in history] == old["rows"]
        charges = await store.database.read(
            lambda conn: conn.execute(
                sa.select(OLD_LEDGER.c.request_id, OLD_LEDGER.c.endpoint)
                .where(OLD_LEDGER.c.kind == "charge")
                .order_by(OLD_LEDGER.c.request_id)
            ).all()
        )
        assert [endpoint for _, endpoint in charges] == [NOTES_RATE] * 3
        assert {"old-0", "old-1"} <= {request_id for request_id, _ in charges}

        await store.migrate(to="0003")  # the downgrade gives the old table back, filled
        restored = await store.database.read(
            lambda conn: conn.execute(
                sa.select(OLD_SNAPSHOTS).order_by(OLD_SNAPSHOTS.c.collected_at)
            ).all()
        )
        scope = old["scope"]
        assert [
            (r.scope_key, r.business, r.note_type, r.date_type, r.advertise_switch)
            for r in restored
        ] == [
            (
                scope.key,
                scope.business.value,
                scope.note_type.value,
                scope.date_type.value,
                scope.advertise_switch.value,
            )
        ] * 2
        assert [(r.collected_at, r.payload) for r in restored] == old["rows"]
        await store.migrate()  # and up again
        again = await store.snapshots.latest(NOTES_RATE, USER, scope.key)
        assert again is not None and again.payload == old["rows"][-1][1]
    finally:
        await store.aclose()
