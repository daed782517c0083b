"""``Billing.day``: the quota day in the quota time zone, remembered between calls but never
stale: it turns at local midnight (DST days included) and follows a clock set backwards."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pgy_metrics.clock import FixedClock
from pgy_metrics.service.billing import Billing
from pgy_metrics.service.settings import Settings


def billing(zone: str, start: datetime) -> tuple[Billing, FixedClock]:
    clock = FixedClock(start)
    return Billing(Settings(quota_time_zone=zone), clock), clock


def test_the_day_turns_at_midnight_in_the_quota_zone() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    bill, clock = billing("Asia/Shanghai", datetime(2026, 11, 27, 23, 59, 59, tzinfo=shanghai))
    assert bill.day() == "2026-11-27"
    clock.advance(seconds=0.5)
    assert bill.day() == "2026-11-27"
    clock.advance(seconds=0.5)
    assert bill.day() == "2026-11-28"
    clock.set(datetime(2026, 11, 27, 12, tzinfo=UTC))  # backwards: 20:00 in Shanghai
    assert bill.day() == "2026-11-27"


@pytest.mark.parametrize("day", ["2026-03-08", "2026-11-01"])  # 23- and 25-hour days
def test_days_of_a_dst_change_have_their_real_length(day: str) -> None:
    zone = ZoneInfo("America/New_York")
    start = datetime.fromisoformat(day).replace(tzinfo=zone)
    bill, clock = billing("America/New_York", start)
    moment = start
    while moment.astimezone(zone).date().isoformat() == day:
        clock.set(moment)
        assert bill.day() == day
        moment += timedelta(minutes=30)
    clock.set(moment)
    assert bill.day() == (start.date() + timedelta(days=1)).isoformat()


def test_each_call_agrees_with_the_plain_computation() -> None:
    zone = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    bill, clock = billing("Asia/Shanghai", start)
    for step in range(0, 72 * 60, 17):
        moment = start + timedelta(minutes=step)
        clock.set(moment)
        assert bill.day() == moment.astimezone(zone).date().isoformat()
