"""Tokens and their plans as operators and holders see them, computed in one place.

``pgy token show`` prints a ``TokenView`` and ``GET /admin/tokens/{name}`` answers the same model;
``pgy usage`` and ``GET /admin/usage`` share ``UsageRow``; ``GET /api/balance`` answers a
``BalanceView``. Today's figures are for today's quota day (``Billing.day()``); "reserved" is what
requests still running hold (a call in flight and the credits it may cost), so that
``balance + reserved_credits`` is what the token has if every one of them fails. The figures are
read one after another, not as one snapshot: with calls in flight they may be a call apart.
"""

from __future__ import annotations

import enum
import re
from datetime import date, datetime
from typing import Final

from pydantic import BaseModel, Field

from pgy_metrics.contract.history import HISTORY, PERMISSIONS
from pgy_metrics.service.billing import Billing
from pgy_metrics.store.database import Store
from pgy_metrics.store.tokens import BillingPlan, InFlight, TokenRecord

__all__ = [
    "KEEP",
    "BalanceView",
    "EndpointPrice",
    "Keep",
    "PlanView",
    "TokenView",
    "UsageRow",
    "balance_view",
    "parse_day",
    "token_views",
    "usage_rows",
]


_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_day(value: str, *, name: str) -> str:
    """A quota day ``YYYY-MM-DD``; ``ValueError`` naming the option or parameter otherwise."""
    try:
        if _DAY.fullmatch(value):
            return date.fromisoformat(value).isoformat()
    except ValueError:
        pass
    raise ValueError(f"{name} must be a date YYYY-MM-DD such as 2026-11-26; got {value!r}")


class Keep(enum.Enum):
    """Marks a plan field that an update leaves as it is (``None`` means "no limit")."""

    KEEP = "keep"


KEEP: Final = Keep.KEEP


class PlanView(BaseModel):
    """A token's plan; ``null`` means no limit of that kind."""

    rate_limit: str | None = Field(
        description="Rate limits in `limits` syntax, e.g. `10/second;300/minute`; null: none."
    )
    daily_quota: int | None = Field(description="Successful calls per quota day; null: none.")
    balance: int | None = Field(
        description="Prepaid credits available now (in-flight reservations already deducted); "
        "null: unmetered."
    )
    endpoints: list[str] | None = Field(
        description="Endpoint names the token may call; null: all of them."
    )
    price: int | None = Field(description="Credits per fresh answer; null: the server's price.")
    cached_price: int | None = Field(
        description="Credits per answer from a cached snapshot; null: the server's price."
    )

    @classmethod
    def of(cls, plan: BillingPlan) -> PlanView:
        return cls(
            rate_limit=plan.rate_limit,
            daily_quota=plan.daily_quota,
            balance=plan.balance,
            endpoints=list(plan.endpoints) if plan.endpoints is not None else None,
            price=plan.price,
            cached_price=plan.cached_price,
        )


class TokenView(BaseModel):
    """A token as ``pgy token show`` and ``GET /admin/tokens/{name}`` describe it."""

    name: str
    admin: bool
    active: bool
    created_at: datetime
    revoked_at: datetime | None
    plan: PlanView
    day: str = Field(description="Today's quota day (YYYY-MM-DD in the quota time zone).")
    calls_today: int = Field(description="Successful (billed) calls today.")
    credits_today: int = Field(description="Credits charged today.")
    remaining_today: int | None = Field(
        description="Calls the daily quota still admits today; null: no quota."
    )
    reserved: int = Field(description="Calls in flight now.")
    reserved_credits: int = Field(description="Credits held by calls in flight now.")


class UsageRow(BaseModel):
    """One token's use on one quota day."""

    name: str
    day: str
    calls: int = Field(description="Successful (billed) calls.")
    credits: int = Field(description="Credits charged.")
    reserved: int = Field(description="Calls in flight now.")
    reserved_credits: int = Field(description="Credits held by calls in flight now.")


class EndpointPrice(BaseModel):
    price: int = Field(description="Credits per fresh answer.")
    cached_price: int = Field(description="Credits per answer from a cached snapshot.")


class BalanceView(BaseModel):
    """What a token's own holder may see of it (``GET /api/balance``)."""

    name: str
    balance: int | None = Field(description="Prepaid credits available now; null: unmetered.")
    reserved: int = Field(description="Calls in flight now.")
    reserved_credits: int = Field(description="Credits held by calls in flight now.")
    day: str = Field(description="Today's quota day (YYYY-MM-DD in the quota time zone).")
    daily_quota: int | None = Field(description="Successful calls per day; null: none.")
    calls_today: int
    credits_today: int
    remaining_today: int | None = Field(
        description="Calls the daily quota still admits today; null: no quota."
    )
    rate_limit: str | None
    endpoints: list[str] | None = Field(description="What the token may call; null: all.")
    prices: dict[str, EndpointPrice] = Field(
        description="What one successful call costs, per endpoint the token may call."
    )


async def token_views(
    records: list[TokenRecord], *, store: Store, billing: Billing
) -> list[TokenView]:
    """Views of ``records`` with today's usage and what is in flight (two queries in all)."""
    day = billing.day()
    only = records[0].id if len(records) == 1 else None
    today = {
        row.token_id: row
        for row in await store.ledger.usage(token_id=only, since=day)
        if row.day == day
    }
    held = _held_by_token(await store.tokens.in_flight(token_id=only))
    views = []
    for record in records:
        usage = today.get(record.id)
        calls, credits, slots = (usage.calls, usage.credits, usage.reserved) if usage else (0, 0, 0)
        reserved, reserved_credits = held.get(record.id, (0, 0))
        views.append(
            TokenView(
                name=record.name,
                admin=record.is_admin,
                active=record.active,
                created_at=record.created_at,
                revoked_at=record.revoked_at,
                plan=PlanView.of(record.plan),
                day=day,
                calls_today=calls,
                credits_today=credits,
                remaining_today=_remaining(record.plan, calls, slots),
                reserved=reserved,
                reserved_credits=reserved_credits,
            )
        )
    return views


async def usage_rows(
    *, store: Store, record: TokenRecord | None = None, since: str | None = None
) -> list[UsageRow]:
    """Use per token and day (of one token, or of all), oldest day first, with what is in flight.

    Tokens without any call or reservation have no rows.
    """
    token_id = record.id if record is not None else None
    names = (
        {record.id: record.name}
        if record is not None
        else {r.id: r.name for r in await store.tokens.list()}
    )
    rows: dict[tuple[int, str], list[int]] = {}
    for day in await store.ledger.usage(token_id=token_id, since=since):
        rows[(day.token_id, day.day)] = [day.calls, day.credits, 0, 0]
    for held in await store.tokens.in_flight(token_id=token_id, since=since):
        row = rows.setdefault((held.token_id, held.day), [0, 0, 0, 0])
        row[2:] = [held.calls, held.credits]
    return [
        UsageRow(
            name=names.get(token_id, f"#{token_id}"),
            day=day,
            calls=calls,
            credits=credits,
            reserved=reserved,
            reserved_credits=reserved_credits,
        )
        for (token_id, day), (calls, credits, reserved, reserved_credits) in sorted(
            rows.items(), key=lambda item: (item[0][1], names.get(item[0][0], ""))
        )
    ]


async def balance_view(record: TokenRecord, *, store: Store, billing: Billing) -> BalanceView:
    """A holder's view of their own token (read afresh, not from the authentication cache)."""
    fresh = await store.tokens.by_name(record.name) or record
    (view,) = await token_views([fresh], store=store, billing=billing)
    plan = fresh.plan
    allowed = plan.endpoints if plan.endpoints is not None else PERMISSIONS
    return BalanceView(
        name=view.name,
        balance=plan.balance,
        reserved=view.reserved,
        reserved_credits=view.reserved_credits,
        day=view.day,
        daily_quota=plan.daily_quota,
        calls_today=view.calls_today,
        credits_today=view.credits_today,
        remaining_today=view.remaining_today,
        rate_limit=plan.rate_limit,
        endpoints=view.plan.endpoints,
        prices={
            endpoint: EndpointPrice(
                price=billing.price(plan, endpoint, cached=False),
                # History never answers from a cache: it always costs its price.
                cached_price=billing.price(plan, endpoint, cached=endpoint != HISTORY),
            )
            for endpoint in allowed
            if endpoint in PERMISSIONS
        },
    )


def _held_by_token(held: list[InFlight]) -> dict[int, tuple[int, int]]:
    totals: dict[int, tuple[int, int]] = {}
    for item in held:
        calls, credits = totals.get(item.token_id, (0, 0))
        totals[item.token_id] = (calls + item.calls, credits + item.credits)
    return totals


def _remaining(plan: BillingPlan, calls: int, slots: int) -> int | None:
    """What the quota still admits: the same sum the reservation's condition checks."""
    if plan.daily_quota is None:
        return None
    return max(0, plan.daily_quota - calls - slots)
