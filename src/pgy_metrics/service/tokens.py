"""API tokens: made with ``secrets``, shown once, stored as a keyed SHA-256 hash.

The key (pepper) lives outside the database, so a leaked database alone cannot be used to check
guesses. Look-ups go by hash and the final comparison is constant-time.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import os
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pgy_metrics.clock import Clock
from pgy_metrics.contract.history import PERMISSIONS
from pgy_metrics.service.billing import Billing
from pgy_metrics.service.limits import parse_rate_limit
from pgy_metrics.service.settings import Settings
from pgy_metrics.service.usage import (
    KEEP,
    BalanceView,
    Keep,
    TokenView,
    UsageRow,
    balance_view,
    token_views,
    usage_rows,
)
from pgy_metrics.store.database import Store
from pgy_metrics.store.tokens import PLAN_CHANGES, BillingPlan, TokenNameTaken, TokenRecord

TOKEN_PREFIX = "pgy_"  # noqa: S105 (a prefix, not a secret)
TOKEN_BYTES = 32
PEPPER_FILE = "token-pepper"
FIRST_ADMIN_NAME = "admin"
_TOKEN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


class UnknownToken(LookupError):
    """No token has this name."""


def validate_plan(plan: BillingPlan) -> None:
    """Refuse a plan the server could not enforce, naming the option and what it accepts."""
    if plan.rate_limit is not None:
        parse_rate_limit(plan.rate_limit)
    for option, value in (
        ("daily quota", plan.daily_quota),
        ("balance", plan.balance),
        ("price", plan.price),
        ("cached price", plan.cached_price),
    ):
        if value is not None and value < 0:
            raise ValueError(f"{option} must be a whole number >= 0; got {value}")
    if plan.endpoints is not None:
        unknown = [e for e in plan.endpoints if e not in PERMISSIONS]
        if unknown:
            raise ValueError(
                f"endpoints must be among {', '.join(PERMISSIONS)}; unknown: {', '.join(unknown)}"
            )


__all__ = [
    "Authenticator",
    "TokenHasher",
    "TokenIssuer",
    "TokenNameTaken",
    "UnknownToken",
    "load_pepper",
    "new_token",
    "validate_plan",
]


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)


def load_pepper(settings: Settings) -> bytes:
    """The hashing key: from settings, else a random one created once in the data directory."""
    if settings.token_pepper is not None:
        value = settings.token_pepper.get_secret_value()
        if len(value) < 16:
            raise ValueError("token_pepper (PGY_TOKEN_PEPPER) must be at least 16 characters")
        return value.encode()
    path = settings.data_dir / PEPPER_FILE
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race; use its key
        return _read_nonempty(path)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32))
    return path.read_bytes().strip()


def _read_nonempty(path: Path) -> bytes:
    for _ in range(50):
        value = path.read_bytes().strip()
        if value:
            return value
        time.sleep(0.02)
    raise RuntimeError(f"the token pepper file {path} is empty")


class TokenHasher:
    def __init__(self, pepper: bytes) -> None:
        if not pepper:
            raise ValueError("the token pepper must not be empty")
        self._pepper = pepper

    def hash(self, token: str) -> str:
        return hmac.new(self._pepper, token.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    record: TokenRecord
    token: str
    """The token itself: shown to its owner once, never stored."""


class TokenIssuer:
    """Create, list, revoke and top up tokens (CLI and admin API share it)."""

    def __init__(
        self, *, store: Store, hasher: TokenHasher, clock: Clock, billing: Billing
    ) -> None:
        self._store = store
        self._hasher = hasher
        self._clock = clock
        self._billing = billing

    async def create(
        self, name: str, *, is_admin: bool = False, plan: BillingPlan | None = None
    ) -> IssuedToken:
        """Create a token; without a plan it gets the server's default plan (none by default).

        A starting balance is recorded as a top-up, so the ledger always explains the balance.
        """
        if not _TOKEN_NAME.fullmatch(name):
            raise ValueError(
                "name must be 1-100 characters of letters, digits, '_', '.' or '-', "
                f"starting with a letter or digit; got {name!r}"
            )
        plan = plan if plan is not None else self._billing.default_plan()
        validate_plan(plan)
        token = new_token()
        record = await self._store.tokens.add(
            name=name,
            token_hash=self._hasher.hash(token),
            is_admin=is_admin,
            created_at=self._clock.now(),
            plan=plan,
        )
        if plan.balance:
            await self._store.ledger.topup(
                token_id=record.id, credits=plan.balance, at=self._clock.now()
            )
            record = await self._store.tokens.by_name(name) or record
        return IssuedToken(record=record, token=token)

    async def topup(self, name: str, credits: int) -> int:
        """Add credits to a token's balance; returns the new balance."""
        if credits <= 0:
            raise ValueError(f"credits must be a positive whole number; got {credits}")
        record = await self._store.tokens.by_name(name)
        if record is None:
            raise UnknownToken(f"no token named {name!r}")
        balance = await self._store.ledger.topup(
            token_id=record.id, credits=credits, at=self._clock.now()
        )
        if balance is None:
            raise UnknownToken(f"no token named {name!r}")
        return balance

    async def create_first_admin(self) -> IssuedToken | None:
        """On an empty database, make the admin token; None if any token exists already."""
        if await self._store.tokens.count() > 0:
            return None
        try:
            return await self.create(FIRST_ADMIN_NAME, is_admin=True)
        except TokenNameTaken:  # another process starting at the same time made it
            return None

    async def list(self) -> list[TokenRecord]:
        return await self._store.tokens.list()

    async def revoke(self, name: str) -> bool:
        return await self._store.tokens.revoke(name, at=self._clock.now())

    async def record(self, name: str) -> TokenRecord:
        """The token of this name, active or revoked; ``UnknownToken`` if there is none."""
        record = await self._store.tokens.by_name(name)
        if record is None:
            raise UnknownToken(f"no token named {name!r}")
        return record

    async def show(self, name: str) -> TokenView:
        """A token, its plan and today's use (``pgy token show``, ``GET /admin/tokens/NAME``)."""
        (view,) = await token_views(
            [await self.record(name)], store=self._store, billing=self._billing
        )
        return view

    async def views(self) -> builtins.list[TokenView]:
        """Every token as ``show`` describes it."""
        return await token_views(await self.list(), store=self._store, billing=self._billing)

    async def update_plan(
        self,
        name: str,
        *,
        rate_limit: str | Keep | None = KEEP,
        daily_quota: int | Keep | None = KEEP,
        endpoints: Sequence[str] | Keep | None = KEEP,
        price: int | Keep | None = KEEP,
        cached_price: int | Keep | None = KEEP,
    ) -> TokenView:
        """Change a plan: ``KEEP`` leaves a field, None lifts a limit (or restores the server's
        price). The balance is not a plan change: it moves only through ``topup`` and calls."""
        old = (await self.record(name)).plan
        plan = BillingPlan(
            rate_limit=old.rate_limit if rate_limit is KEEP else rate_limit,
            daily_quota=old.daily_quota if daily_quota is KEEP else daily_quota,
            balance=old.balance,
            endpoints=(
                old.endpoints
                if endpoints is KEEP
                else None
                if endpoints is None
                else tuple(dict.fromkeys(endpoints))
            ),
            price=old.price if price is KEEP else price,
            cached_price=old.cached_price if cached_price is KEEP else cached_price,
        )
        validate_plan(plan)
        given = dict(
            zip(
                PLAN_CHANGES, (rate_limit, daily_quota, endpoints, price, cached_price), strict=True
            )
        )
        changes = {
            field: getattr(plan, field) for field, value in given.items() if value is not KEEP
        }
        if await self._store.tokens.update_plan(name, changes=changes) is None:
            raise UnknownToken(f"no token named {name!r}")
        return await self.show(name)

    async def usage(
        self, *, name: str | None = None, since: str | None = None
    ) -> builtins.list[UsageRow]:
        """Use per token and day since ``since`` (YYYY-MM-DD), of one token or of all."""
        record = await self.record(name) if name is not None else None
        return await usage_rows(store=self._store, record=record, since=since)

    async def balance(self, record: TokenRecord) -> BalanceView:
        """What the holder of ``record`` may see of their token (``GET /api/balance``)."""
        return await balance_view(record, store=self._store, billing=self._billing)


class Authenticator:
    """Token -> active token record, with a short per-process cache of look-ups.

    The cache is keyed by the token itself (held only in this process's memory, like the request
    that carried it), so a cached look-up costs no HMAC; a miss hashes, queries by hash and
    compares the stored hash in constant time.
    """

    MAX_CACHED = 10_000

    def __init__(self, *, store: Store, hasher: TokenHasher, cache_seconds: float = 5.0) -> None:
        self._store = store
        self._hasher = hasher
        self._cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, TokenRecord | None]] = {}

    async def authenticate(self, token: str) -> TokenRecord | None:
        """The active token record, or None for an unknown or revoked token."""
        now = time.monotonic()
        cached = self._cache.get(token)
        if cached is not None and now - cached[0] < self._cache_seconds:
            record = cached[1]
        else:
            digest = self._hasher.hash(token)
            record = await self._store.tokens.by_hash(digest)
            if record is not None and not hmac.compare_digest(record.token_hash, digest):
                record = None
            if self._cache_seconds > 0:
                if len(self._cache) >= self.MAX_CACHED:
                    self._cache.clear()
                self._cache[token] = (now, record)
        return record if record is not None and record.active else None

    def forget(self) -> None:
        """Drop cached look-ups (after a revocation in this process)."""
        self._cache.clear()
