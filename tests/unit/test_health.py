"""Health: labels by ratio and volume, shared buckets, only upstream outcomes, the status pages."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from pgy_metrics.clock import FixedClock
from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.server import create_app
from pgy_metrics.service.health import HealthRecorder, Label, label_for
from pgy_metrics.service.settings import Settings
from pgy_metrics.sources.base import Outcome
from pgy_metrics.store import Store
from pgy_metrics.store.tokens import BillingPlan
from tests.fakes import CountingSource, FailingSource

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
USER = "5d21ab6b000000001201567d"


@pytest.mark.parametrize(
    ("ok", "failed", "label"),
    [
        (0, 0, Label.NO_DATA),
        (9, 0, Label.NO_DATA),
        (0, 9, Label.NO_DATA),
        (39, 1, Label.HEALTHY),  # 97.5 %
        (79, 1, Label.HEALTHY),
        (38, 1, Label.AVAILABLE),  # 97.4 %
        (77, 3, Label.AVAILABLE),  # 96.25 %
        (9, 1, Label.AVAILABLE),  # 90 %
        (13, 7, Label.LIMITED),  # 65 %
        (12, 7, Label.MOSTLY_UNAVAILABLE),
        (0, 10, Label.MOSTLY_UNAVAILABLE),
    ],
)
def test_labels_follow_the_hosted_thresholds(ok: int, failed: int, label: Label) -> None:
    assert label_for(ok, failed) is label


async def test_buckets_are_shared_and_windowed_and_labels_remember_when_they_changed(
    store: Store,
) -> None:
    clock = FixedClock(START)
    first = HealthRecorder(store=store, clock=clock, endpoint="notes_rate", window_minutes=60)
    second = HealthRecorder(store=store, clock=clock, endpoint="notes_rate", window_minutes=60)
    for _ in range(20):
        first.record(Outcome("pugongying", "acct-1", True, None, 0.1))
        second.record(Outcome("pugongying", "acct-1", True, None, 0.1))
    await first.flush()
    await second.flush()
    healths = {h.subject: h for h in await first.current()}
    assert healths["notes_rate/pugongying/acct-1"].ok == 40
    assert healths["notes_rate/pugongying/acct-1"].label is Label.HEALTHY
    assert healths["notes_rate/pugongying/acct-1"].changed_at == START
    clock.advance(minutes=10)
    for _ in range(40):
        first.record(Outcome("pugongying", "acct-1", False, "risk_control", 0.1))
    await first.flush()
    after = {h.subject: h for h in await first.current()}["notes_rate/pugongying/acct-1"]
    assert (after.ok, after.failed, after.label) == (40, 40, Label.MOSTLY_UNAVAILABLE)
    assert after.changed_at == START.replace(minute=10)
    clock.advance(minutes=55)  # the first 40 successes leave the 60-minute window
    late = {h.subject: h for h in await first.current()}["notes_rate/pugongying/acct-1"]
    assert (late.ok, late.failed) == (0, 40)


async def test_a_failed_flush_keeps_the_counts(store: Store) -> None:
    recorder = HealthRecorder(store=store, clock=FixedClock(START), endpoint="notes_rate")
    recorder.record(Outcome("justoneapi", None, False, "timeout", 1.0))
    await store.aclose()
    broken = Store("postgresql+psycopg://nobody@127.0.0.1:1/none")
    recorder.store = broken
    with pytest.raises(OperationalError):
        await recorder.flush()
    assert recorder.pending == 1
    await broken.aclose()


@pytest.fixture
def payload(fixture_bytes: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture_bytes)["data"]
    return data


async def _serve(tmp_path: Path, source: Any) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:
    settings = Settings(data_dir=tmp_path, token_cache_seconds=0, cache_ttl_seconds=1)
    clock = FixedClock(START)
    app = create_app(settings, source=source, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
            yield app, http


async def test_only_upstream_outcomes_count_and_the_pages_show_them(
    tmp_path: Path, payload: dict[str, Any]
) -> None:
    source = FailingSource(payload)
    async for app, http in _serve(tmp_path, source):
        runtime = app.state.runtime
        token = (await runtime.issuer.create("t")).token
        broke = (await runtime.issuer.create("broke", plan=BillingPlan(balance=0))).token
        for index in range(12):
            await http.get(NOTES_RATE_PATH, params={"token": token, "userId": f"{index:024x}"})
        for _ in range(5):  # a caller's mistakes and a 601: not upstream outcomes
            await http.get(NOTES_RATE_PATH, params={"token": token, "userId": "bad"})
            await http.get(NOTES_RATE_PATH, params={"token": broke, "userId": USER})
        await runtime.health.flush()
        status = (await http.get("/status")).json()
        subjects = {s["subject"]: s for s in status["subjects"]}
        assert subjects["notes_rate"]["failed"] == 12 and subjects["notes_rate"]["ok"] == 0
        assert subjects["notes_rate"]["label"] == "Mostly unavailable"
        assert subjects["notes_rate/failing"]["failed"] == 12
        assert status["window_minutes"] == 60
        page = await http.get("/status.html")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "Mostly unavailable" in page.text and "notes_rate/failing" in page.text
        assert token not in page.text and token not in json.dumps(status)


async def test_prometheus_metrics(tmp_path: Path, payload: dict[str, Any]) -> None:
    async for app, http in _serve(tmp_path, CountingSource(payload)):
        token = (await app.state.runtime.issuer.create("t")).token
        for _ in range(3):
            await http.get(NOTES_RATE_PATH, params={"token": token, "userId": USER})
        await http.get(NOTES_RATE_PATH, params={"token": token, "userId": "bad"})
        await http.get(NOTES_RATE_PATH, params={"userId": USER})
        response = await http.get("/metrics")
        assert response.status_code == 200
        text = response.text
        assert 'pgy_requests_total{code="0"} 3.0' in text
        assert 'pgy_requests_total{code="400"} 1.0' in text
        assert 'pgy_requests_total{code="100"} 1.0' in text
        assert "pgy_cache_hits_total 2.0" in text
        assert "pgy_upstream_collections_total 1.0" in text
        assert "pgy_single_flight_joins_total 0.0" in text
        assert 'pgy_upstream_latency_seconds_count{source="counting"} 1.0' in text
        assert token not in text
