"""Prices and days: what a call costs a token and which quota day it counts against."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from pgy_metrics.clock import Clock
from pgy_metrics.service.settings import Settings
from pgy_metrics.store.tokens import BillingPlan

DEFAULT_PRICE = 1


@dataclass(frozen=True)
class Billing:
    settings: Settings
    clock: Clock
    _today: list[tuple[datetime, datetime, str]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )
    """The last day asked for, with its bounds: every paid call asks, and it rarely changes."""

    def day(self) -> str:
        """Today in the quota time zone (``YYYY-MM-DD``): quotas reset when it changes."""
        now = self.clock.now()
        if self._today:
            start, end, day = self._today[0]
            if start <= now < end:
                return day
        zone = self.settings.quota_zone
        date = now.astimezone(zone).date()
        # Bounds in UTC, as the clock gives: comparing datetimes of two time zones asks the
        # zone for its offset each time, which cost more than the day's own computation.
        start = datetime.combine(date, time(), zone).astimezone(UTC)
        end = datetime.combine(date + timedelta(days=1), time(), zone).astimezone(UTC)
        self._today[:] = [(start, end, date.isoformat())]
        return date.isoformat()

    def price(self, plan: BillingPlan, endpoint: str, *, cached: bool) -> int:
        """Credits one successful call costs; a token's own price wins over the server's."""
        fresh = plan.price
        if fresh is None:
            fresh = self.settings.prices.get(endpoint, DEFAULT_PRICE)
        if not cached:
            return fresh
        if plan.cached_price is not None:
            return plan.cached_price
        return self.settings.cached_prices.get(endpoint, fresh)

    def hold(self, plan: BillingPlan, endpoint: str) -> int:
        """What to reserve before knowing whether the answer will be cached: the dearer one."""
        return max(
            self.price(plan, endpoint, cached=False), self.price(plan, endpoint, cached=True)
        )

    def default_plan(self) -> BillingPlan:
        """The plan of a token created without plan options (server settings; none by default)."""
        settings = self.settings
        return BillingPlan(
            rate_limit=settings.default_rate_limit,
            daily_quota=settings.default_daily_quota,
            balance=settings.default_balance,
            endpoints=tuple(settings.default_endpoints) if settings.default_endpoints else None,
        )
