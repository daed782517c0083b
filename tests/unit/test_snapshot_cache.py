"""The in-memory snapshot cache: bounded by bytes, least recently used out, keeping only what a
cached hit answers with, and answering byte for byte as a fresh encoding of its snapshot."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pydantic import ValidationError

from pgy_metrics.cli.main import settings_problem
from pgy_metrics.clock import FixedClock
from pgy_metrics.contract import NOTES_RATE_PATH, Scope
from pgy_metrics.contract.codes import BusinessCode
from pgy_metrics.contract.endpoints import NOTES_RATE, notes_query
from pgy_metrics.contract.envelope import encode_envelope, format_record_time
from pgy_metrics.server import create_app
from pgy_metrics.server.answers import SuccessEncoder
from pgy_metrics.service.metrics import ENTRY_OVERHEAD_BYTES, Cached, MetricsService
from pgy_metrics.service.settings import Settings
from pgy_metrics.store import Store
from pgy_metrics.store.snapshots import Snapshot
from tests.fakes import CountingSource

START = datetime(2026, 11, 26, 4, 0, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Shanghai")
USERS = [f"{n:024x}" for n in range(1, 6)]


@pytest.fixture
def payload(fixture_bytes: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(fixture_bytes)["data"]
    return data


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path / 'cache.sqlite3'}")
    await store.migrate()
    yield store
    await store.aclose()


def one_entry(payload: dict[str, Any]) -> int:
    """What one answer of ``payload`` counts against the bound (the same for every creator)."""
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    prepared = SuccessEncoder(ZONE).prepare(
        _snapshot(text, collected_at=START)  # same length of prefix for any 24-hex creator
    )
    return len(prepared) + ENTRY_OVERHEAD_BYTES


def _snapshot(payload: str, *, collected_at: datetime) -> Snapshot:
    return Snapshot(
        endpoint=NOTES_RATE,
        user_id=USERS[0],
        params_key=Scope().key,
        collected_at=collected_at,
        source="counting",
        payload=payload,
        id=1,
    )


def service(store: Store, source: CountingSource, memory_bytes: int) -> MetricsService:
    return MetricsService(
        store=store,
        source=source,
        clock=FixedClock(START),
        ttl=timedelta(hours=6),
        memory_bytes=memory_bytes,
        prepare=SuccessEncoder(ZONE).prepare,
    )


def in_memory(metrics: MetricsService) -> list[str]:
    return [user for user in USERS if metrics.cached(notes_query(user, Scope())) is not None]


async def test_the_cache_keeps_what_fits_in_its_bytes_least_recently_used_out(
    sqlite_store: Store, payload: dict[str, Any]
) -> None:
    size = one_entry(payload)
    metrics = service(sqlite_store, CountingSource(payload), memory_bytes=3 * size + size // 2)
    for user in USERS[:3]:
        await metrics.get(notes_query(user, Scope()))
    assert (metrics.memory_entries, metrics.memory_used) == (3, 3 * size)
    assert metrics.cached(notes_query(USERS[0], Scope())) is not None  # now the most recent
    await metrics.get(notes_query(USERS[3], Scope()))
    # The fourth did not fit: the least recently used (the second creator) went, not the first.
    assert (metrics.memory_entries, metrics.memory_used) == (3, 3 * size)
    assert {USERS[0], USERS[2], USERS[3]} == set(in_memory(metrics))
    await metrics.get(notes_query(USERS[4], Scope()))
    assert metrics.memory_used <= 3 * size + size // 2
    assert USERS[4] in in_memory(metrics) and USERS[1] not in in_memory(metrics)


async def test_an_entry_keeps_the_prepared_answer_and_not_the_payload_text(
    sqlite_store: Store, payload: dict[str, Any]
) -> None:
    metrics = service(sqlite_store, CountingSource(payload), memory_bytes=1 << 20)
    snapshot = await metrics.get(notes_query(USERS[0], Scope()))
    entry = metrics.cached(notes_query(USERS[0], Scope()))
    assert isinstance(entry, Cached)
    assert entry.__slots__ == ("id", "collected_at", "source", "answer")  # no payload str
    assert entry.answer == SuccessEncoder(ZONE).prepare(snapshot)
    assert (entry.id, entry.collected_at, entry.source) == (snapshot.id, START, "counting")
    assert metrics.memory_used == len(entry.answer) + ENTRY_OVERHEAD_BYTES


async def test_an_entry_larger_than_the_whole_cache_is_not_kept_and_the_rest_stays(
    sqlite_store: Store, payload: dict[str, Any]
) -> None:
    size = one_entry(payload)
    big = dict(payload, padding="x" * (3 * size))
    source = CountingSource(payload)
    metrics = service(sqlite_store, source, memory_bytes=2 * size)
    await metrics.get(notes_query(USERS[0], Scope()))
    await metrics.get(notes_query(USERS[1], Scope()))
    assert in_memory(metrics) == USERS[:2]
    # A newer, huge answer of the first creator (no-cache): served, not kept, and the older
    # entry of that creator is gone too (it must not answer instead of the newer one).
    source.payload = big
    served = await metrics.serve(notes_query(USERS[0], Scope()), max_age=timedelta(0))
    assert json.loads(served.snapshot.payload)["padding"] == big["padding"]
    assert in_memory(metrics) == [USERS[1]]
    assert metrics.memory_used == size


async def test_a_zero_cache_keeps_nothing_and_hits_come_from_the_store(
    sqlite_store: Store, payload: dict[str, Any]
) -> None:
    source = CountingSource(payload)
    metrics = service(sqlite_store, source, memory_bytes=0)
    await metrics.get(notes_query(USERS[0], Scope()))
    again = await metrics.get(notes_query(USERS[0], Scope()))
    assert (metrics.memory_entries, metrics.memory_used, len(source.calls)) == (0, 0, 1)
    assert metrics.cached(notes_query(USERS[0], Scope())) is None
    assert json.loads(again.payload) == payload


def test_a_negative_cache_size_is_refused() -> None:
    with pytest.raises(ValueError, match="memory_bytes"):
        service(Store("sqlite+aiosqlite:///:memory:"), CountingSource({}), memory_bytes=-1)


# -- the setting -----------------------------------------------------------------------------------


def test_the_setting_is_megabytes_with_a_bounded_default(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path).snapshot_cache_bytes == 16 * 1024 * 1024
    assert Settings(data_dir=tmp_path, snapshot_cache_mb=0.5).snapshot_cache_bytes == 524288
    assert Settings(data_dir=tmp_path, snapshot_cache_mb=0).snapshot_cache_bytes == 0


@pytest.mark.parametrize("value", ["-1", "70000", "nan"])
def test_a_cache_size_out_of_range_names_the_variable_and_the_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PGY_SNAPSHOT_CACHE_MB", value)
    with pytest.raises(ValidationError) as raised:
        Settings(data_dir=tmp_path)
    (problem,) = raised.value.errors()
    assert settings_problem(problem) == (
        "PGY_SNAPSHOT_CACHE_MB: must be a size in megabytes from 0 (no cache) to 65536, "
        f"e.g. 16; got {float(value):g}"
    )


def test_a_cache_size_that_is_not_a_number_names_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGY_SNAPSHOT_CACHE_MB", "32MB")
    with pytest.raises(ValidationError) as raised:
        Settings(data_dir=tmp_path)
    (problem,) = raised.value.errors()
    assert settings_problem(problem).startswith("PGY_SNAPSHOT_CACHE_MB: Input should be a valid")


def test_the_old_count_setting_is_refused_with_its_replacement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGY_SNAPSHOT_MEMORY_ENTRIES", "10000")
    with pytest.raises(ValidationError) as raised:
        Settings(data_dir=tmp_path)
    (problem,) = raised.value.errors()
    text = settings_problem(problem)
    assert "PGY_SNAPSHOT_MEMORY_ENTRIES was replaced by PGY_SNAPSHOT_CACHE_MB" in text


# -- byte for byte -------------------------------------------------------------------------------


def test_a_cached_entry_encodes_exactly_as_its_snapshot_and_the_envelope() -> None:
    text = json.dumps({"名字": "蒲公英 🌼", "rate": 0.1 + 0.2, "n": [1, None]}, ensure_ascii=False)
    snapshot = _snapshot(text, collected_at=datetime(2026, 11, 26, 7, 4, 5, 123456, tzinfo=UTC))
    encoder = SuccessEncoder(ZONE)
    entry = Cached(
        id=snapshot.id,
        collected_at=snapshot.collected_at,
        source=snapshot.source,
        answer=encoder.prepare(snapshot),
    )
    envelope = encode_envelope(
        code=BusinessCode.SUCCESS,
        message=None,
        data_json=text.encode(),
        record_time=format_record_time(snapshot.collected_at, ZONE),
        request_id="r" * 32,
    )
    assert encoder(entry, "r" * 32) == encoder(snapshot, "r" * 32) == envelope


async def test_a_cached_hit_over_the_server_is_the_collected_answer_byte_for_byte(
    tmp_path: Path, payload: dict[str, Any]
) -> None:
    """Miss, then hits (with and without an idempotency key): only the request id differs,
    and the body is the stored snapshot's envelope."""
    settings = Settings(data_dir=tmp_path, token_cache_seconds=0, snapshot_cache_mb=1)
    source = CountingSource(payload)
    clock = FixedClock(datetime(2026, 11, 26, 7, 4, 5, 123456, tzinfo=UTC))
    app = create_app(settings, source=source, clock=clock)
    async with app.router.lifespan_context(app):
        token = (await app.state.runtime.issuer.create("tester")).token
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            params = {"token": token, "userId": USERS[0]}
            first = await http.get(NOTES_RATE_PATH, params=params)
            clock.advance(seconds=1)
            hit = await http.get(NOTES_RATE_PATH, params=params)
            keyed = await http.get(
                NOTES_RATE_PATH, params=params, headers={"Idempotency-Key": "k1"}
            )
            replayed = await http.get(
                NOTES_RATE_PATH, params=params, headers={"Idempotency-Key": "k1"}
            )
        service: MetricsService = app.state.runtime.service
        stored = await app.state.runtime.store.snapshots.latest(NOTES_RATE, USERS[0], Scope().key)
    assert len(source.calls) == 1 and service.memory_entries == 1
    assert stored is not None
    for response in (first, hit, keyed):
        request_id = response.headers["x-request-id"]
        assert response.content == SuccessEncoder(ZONE)(stored, request_id)
        assert response.content.replace(request_id.encode(), b"") == first.content.replace(
            first.headers["x-request-id"].encode(), b""
        )
    assert hit.headers["x-pgy-charged"] == "1" and hit.headers["x-pgy-source"] == "counting"
    assert replayed.content == keyed.content  # the stored idempotent answer: the same bytes
