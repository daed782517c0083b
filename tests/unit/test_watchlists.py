"""Watchlists: periods as written, due times spread over the period, capacity arithmetic and
its warning, the store on real SQLite and PostgreSQL, the refresher's tick, and the CLI's
messages for bad input."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import inspect

from pgy_metrics.clock import FixedClock
from pgy_metrics.contract.endpoints import NOTES_RATE, Query
from pgy_metrics.contract.enums import DateType
from pgy_metrics.contract.params import Scope
from pgy_metrics.service.watch_refresh import WatchRefresher
from pgy_metrics.service.watchlists import (
    EVERY_PATTERN,
    Capacity,
    UnknownWatchlist,
    Watchlists,
    calls_per_day,
    capacity_of,
    format_period,
    is_overdue,
    max_age_for,
    next_due,
    offset_seconds,
    parse_every,
    shortfall_warning,
)
from pgy_metrics.sources.failover import FailoverSource
from pgy_metrics.sources.pugongying import PugongyingAccount, PugongyingConfig, PugongyingSource
from pgy_metrics.sources.sandbox import SandboxSource
from pgy_metrics.store import Snapshot, Store

T0 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
USERS = [f"{index:024x}" for index in range(1, 11)]
SCOPES = [(NOTES_RATE, Scope().key), (NOTES_RATE, Scope(date_type=DateType.DAY_90).key)]


# -- periods ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30m", 1800), ("6h", 21600), ("24h", 86400), ("7d", 604800), ("1m", 60), ("90s", 90)],
)
def test_periods_are_read_as_written(text: str, seconds: int) -> None:
    assert parse_every(text) == seconds
    assert re.fullmatch(EVERY_PATTERN, text)  # what the admin API's schema says


@pytest.mark.parametrize(
    "text", ["", "24", "h", "1.5h", "-1h", "6 hours", "1w", "24h30m", "6H", " 6h", "1000d", "01h"]
)
def test_a_bad_period_names_the_option_and_the_allowed_forms(text: str) -> None:
    with pytest.raises(ValueError, match="--every must be") as raised:
        parse_every(text)
    message = str(raised.value)
    assert message.startswith("--every must be") and "30m, 6h, 24h, 7d" in message
    assert repr(text) in message
    assert not re.fullmatch(EVERY_PATTERN, text)


def test_periods_shorter_than_a_minute_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1m"):
        parse_every("59s")
    with pytest.raises(ValueError, match="at least 1m"):
        parse_every("0m")
    with pytest.raises(ValueError, match=r"^every must"):
        parse_every("x", option="every")


def test_periods_are_shown_in_their_largest_unit() -> None:
    assert [format_period(s) for s in (60, 90, 1800, 86400, 172800, 604800)] == [
        "1m",
        "90s",
        "30m",
        "24h",
        "2d",
        "7d",
    ]


# -- spreading ----------------------------------------------------------------------------------


def test_due_times_are_on_one_grid_per_key_one_period_apart() -> None:
    key = (NOTES_RATE, USERS[0], Scope().key)
    first = next_due(key, 3600, after=T0)
    assert T0 < first <= T0 + timedelta(hours=1)
    second = next_due(key, 3600, after=first)
    assert second - first == timedelta(hours=1)
    # The same in every process and after a restart: from any moment inside the period.
    assert next_due(key, 3600, after=first - timedelta(minutes=59)) == first
    assert offset_seconds(key, 3600) == offset_seconds(key, 3600)


def test_ten_thousand_keys_are_spread_evenly_over_the_period() -> None:
    period = 86_400
    keys = [(NOTES_RATE, f"{index:024x}", Scope().key) for index in range(10_000)]
    hours = Counter(
        int((next_due(key, period, after=T0) - T0).total_seconds() // 3600) for key in keys
    )
    counts = [hours.get(hour, 0) for hour in range(24)]
    mean = 10_000 / 24
    assert sum(counts) == 10_000
    assert max(counts) <= 1.25 * mean and min(counts) >= 0.75 * mean, counts


def test_a_refresh_collects_unless_collected_within_half_a_period() -> None:
    assert max_age_for(3600) == timedelta(minutes=30)
    added = T0 - timedelta(days=3)
    assert not is_overdue(period_seconds=3600, added_at=added, last_collected_at=T0, now=T0)
    late = T0 - timedelta(hours=1.7)
    assert is_overdue(period_seconds=3600, added_at=added, last_collected_at=late, now=T0)
    assert is_overdue(period_seconds=3600, added_at=added, last_collected_at=None, now=T0)
    # Just added: not yet had the time to be refreshed.
    assert not is_overdue(period_seconds=3600, added_at=T0, last_collected_at=None, now=T0)


# -- capacity -----------------------------------------------------------------------------------


def _account(name: str, rate: float | None = None) -> PugongyingAccount:
    cookies = {"a1": f"{name}-a1", "access-token-pgy.xiaohongshu.com": f"{name}-access"}
    return PugongyingAccount(
        name=name,
        cookies={k: SecretStr(v) for k, v in cookies.items()},
        requests_per_second=rate,
    )


async def test_capacity_is_accounts_times_pace_times_a_day() -> None:
    config = PugongyingConfig(
        accounts=[_account("alpha"), _account("beta"), _account("gamma", 2.0)],
        requests_per_second=0.5,
    )
    source = PugongyingSource(config)
    capacity = capacity_of([source])
    assert capacity == Capacity(accounts=3, calls_per_second=3.0)
    assert capacity.calls_per_day == 259_200
    assert "3 accounts" in capacity.describe() and "259,200 calls a day" in capacity.describe()
    # A failover chain counts the accounts of its members; sources without accounts add none.
    sandbox = SandboxSource(clock=FixedClock(T0))
    assert capacity_of([FailoverSource([source, sandbox])]) == capacity
    assert capacity_of([sandbox]) is None
    await source.aclose()


def test_calls_a_day_count_each_key_once_at_its_shortest_period() -> None:
    a, b = (NOTES_RATE, USERS[0], "x"), (NOTES_RATE, USERS[1], "x")
    assert calls_per_day([(a, 86_400), (b, 86_400)]) == 2
    assert calls_per_day([(a, 86_400), (a, 3600), (b, 604_800)]) == 24 + 1 / 7


def test_the_warning_names_the_shortfall_only_when_the_lists_cannot_fit() -> None:
    one = Capacity(accounts=1, calls_per_second=0.5)  # 43,200 calls a day
    assert shortfall_warning(43_200, one) is None
    assert shortfall_warning(1_000_000, None) is None  # no account pool: nothing to exceed
    warning = shortfall_warning(60_000, one)
    assert warning is not None
    assert "need 60,000 calls a day" in warning and "43,200 calls a day" in warning
    assert "16,800 calls a day short" in warning and "139% of capacity" in warning


# -- the store and the refresher (real SQLite and PostgreSQL) -----------------------------------


class Recorded:
    def __init__(self) -> None:
        self.calls: list[tuple[Query, timedelta, datetime]] = []

    async def __call__(self, query: Query, max_age: timedelta, at: datetime) -> None:
        self.calls.append((query, max_age, at))


async def test_lists_are_added_listed_reported_and_removed(store: Store) -> None:
    clock = FixedClock(T0)
    watchlists = Watchlists(store, clock, Capacity(accounts=1, calls_per_second=0.001))
    first = await watchlists.add("shops", USERS, SCOPES, 3600)
    assert (first.added, first.already, first.previous_period) == (20, 0, None)
    again = await watchlists.add("shops", USERS[:2], SCOPES, 1800)
    assert (again.added, again.already, again.previous_period) == (0, 4, 3600)
    (shops,) = await watchlists.lists()
    assert (shops.name, shops.period_seconds, shops.keys, shops.creators) == ("shops", 1800, 20, 10)
    await store.snapshots.add(
        Snapshot(
            endpoint=NOTES_RATE,
            user_id=USERS[0],
            params_key=Scope().key,
            collected_at=T0 - timedelta(minutes=5),
            source="sandbox",
            payload="{}",
        )
    )
    clock.set(T0 + timedelta(hours=1))
    status = await watchlists.status()
    (row,) = status.lists
    assert (row.creators, row.scopes, row.keys) == (10, 2, 20)
    assert row.last_refreshed_at == T0 - timedelta(minutes=5)
    assert row.overdue == 20  # 30-min period: nobody refreshed them in 1.6 periods
    assert row.next_due_at is not None and T0 < row.next_due_at <= T0 + timedelta(minutes=30)
    assert status.calls_per_day == 20 * 48
    assert status.warning is not None and "960 calls a day" in status.warning
    assert await watchlists.remove("shops", [USERS[0]]) == 2
    assert await watchlists.remove("shops") == 18
    assert await watchlists.lists() == []
    with pytest.raises(UnknownWatchlist, match="no watchlist is named 'shops'"):
        await watchlists.remove("shops")
    with pytest.raises(UnknownWatchlist):
        await watchlists.status("shops")


async def test_each_tick_hands_over_what_falls_due_once_at_its_own_time(store: Store) -> None:
    clock = FixedClock(T0)
    period = 600
    await Watchlists(store, clock, None).add("shops", USERS, SCOPES, period)
    submitted = Recorded()
    other = Recorded()
    refresher = WatchRefresher(store, clock, submitted, lookahead_seconds=10)
    rival = WatchRefresher(store, clock, other, lookahead_seconds=10)  # another process
    ticks = 0
    while clock.now() < T0 + timedelta(seconds=2 * period):
        await refresher.tick()
        await rival.tick()
        ticks += 1
        clock.advance(seconds=10)
    calls = submitted.calls + other.calls
    per_key = Counter(query.key for query, _, _ in calls)
    assert len(per_key) == 20 and set(per_key.values()) == {2}  # once per period each
    assert {max_age for _, max_age, _ in calls} == {timedelta(seconds=period / 2)}
    for query, _, at in calls:  # each submitted at its own due second, on its grid
        assert math.isclose(
            (at.timestamp() - offset_seconds(query.key, period)) % period, 0, abs_tol=1e-3
        ) or math.isclose(
            (at.timestamp() - offset_seconds(query.key, period)) % period, period, abs_tol=1e-3
        )


async def test_a_key_overdue_after_an_outage_is_refreshed_once_not_once_per_missed_slot(
    store: Store,
) -> None:
    clock = FixedClock(T0)
    await Watchlists(store, clock, None).add("shops", USERS[:1], SCOPES[:1], 60)
    clock.advance(seconds=600)  # no tick ran for ten periods
    submitted = Recorded()
    refresher = WatchRefresher(store, clock, submitted, lookahead_seconds=10)
    assert await refresher.tick() == 1
    assert submitted.calls[0][2] == clock.now()  # now, not at a past time
    assert await refresher.tick() == 0


# -- the command line ---------------------------------------------------------------------------


def _pgy(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PGY_")}
    env.update(PGY_DATA_DIR=str(tmp_path / "data"), COLUMNS="200", NO_COLOR="1")
    return subprocess.run(
        [sys.executable, "-m", "pgy_metrics", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_cli_names_the_bad_option_and_its_allowed_values(tmp_path: Path) -> None:
    creators = tmp_path / "creators.csv"
    creators.write_text(f"userId\n{USERS[0]}\nnot-an-id\n", encoding="utf-8")
    cases = [
        (("--every", "5x"), "--every must be a whole number of 1-999 and a unit: s, m, h or d"),
        (("--every", "10s"), "--every must be at least 1m"),
        (("--scopes", "nope"), "--scopes must be one of default, all, daily"),
        (("--list", "-bad"), "--list must be 1-100 letters, digits"),
    ]
    for options, expected in cases:
        result = _pgy(tmp_path, "watch", "add", str(creators), *options)
        assert result.returncode == 2, (options, result.stderr)
        assert expected in " ".join(result.stderr.split()), (options, result.stderr)
        assert "Traceback" not in result.stderr
    added = _pgy(tmp_path, "watch", "add", str(creators), "--every", "6h")
    assert added.returncode == 0, added.stderr
    assert f"skipped {creators}:3" in added.stderr
    assert "refreshed by pgy serve" in added.stderr
    missing = _pgy(tmp_path, "watch", "remove", "nope")
    assert missing.returncode == 2 and "no watchlist is named 'nope'" in missing.stderr
    nothing = _pgy(tmp_path, "watch", "add", str(tmp_path / "absent.csv"))
    assert nothing.returncode == 2 and "cannot read" in nothing.stderr


async def test_the_migration_adds_the_tables_and_its_downgrade_drops_them(store: Store) -> None:
    def tables() -> set[str]:
        with store.engine.connect() as connection:
            return set(inspect(connection).get_table_names())

    assert {"watchlists", "watch_items"} <= tables()
    with store.engine.connect() as connection:
        indexes = {i["name"] for i in inspect(connection).get_indexes("watch_items")}
    assert "ix_watch_items_next_due_at" in indexes
    await store.migrate(to="0005")
    assert not {"watchlists", "watch_items"} & tables()
    await store.migrate()
    await Watchlists(store, FixedClock(T0), None).add("shops", USERS[:1], SCOPES, 3600)
    assert [w.keys for w in await Watchlists(store, FixedClock(T0), None).lists()] == [2]
