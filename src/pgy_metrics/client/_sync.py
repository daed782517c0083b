"""``Client``: the blocking twin. Everything but the I/O lives in ``_base``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

import httpx
import stamina

from pgy_metrics.client import _constants as C
from pgy_metrics.client._base import (
    BaseClient,
    Call,
    DataSummaryResult,
    EndpointResult,
    FansHistoryResult,
    FansProfileResult,
    FansSummaryResult,
    HistoryResult,
    NotesRateResult,
    ProfileResult,
    attach_retries,
    monotonic,
)
from pgy_metrics.client._closing import Closing
from pgy_metrics.client._exceptions import PgyError
from pgy_metrics.client.batch import DEFAULT_CONCURRENCY, Batch, BatchOptions, EndpointScope
from pgy_metrics.contract.endpoints import (
    BLOGGER_PROFILE,
    DATA_SUMMARY,
    ENDPOINTS,
    FANS_HISTORY,
    FANS_PROFILE,
    FANS_SUMMARY,
    Registry,
)
from pgy_metrics.contract.enums import AdvertiseSwitch, Business, DateType, IncreaseType, NoteType
from pgy_metrics.contract.params import Scope
from pgy_metrics.contract.siblings import (
    BloggerProfileData,
    DataSummaryData,
    FansHistoryData,
    FansProfileData,
    FansSummaryData,
)
from pgy_metrics.query_token import WITHOUT_TOKEN, QueryTokenTransport

R = TypeVar("R")


class Client(BaseClient, Closing):
    """Blocking client of the Note Performance Metrics API (ours or the hosted one).

    ``Client(token=..., base_url=...)`` or ``env="global" | "cn" | "auto"``; the token may come
    from ``PGY_TOKEN`` and the base URL from ``PGY_BASE_URL``. ``transport`` replaces the network
    (tests pass ``httpx.MockTransport``); the client owns it and closes it.
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        base_url: str | None = None,
        env: C.Environment | None = None,
        timeout: float = C.DEFAULT_TIMEOUT,
        max_retries: int = C.DEFAULT_MAX_RETRIES,
        retry_timeouts: bool | None = None,
        auto_candidates: tuple[str, ...] = C.AUTO_CANDIDATES,
        auto_cache_seconds: float = C.AUTO_CACHE_SECONDS,
        clock: Callable[[], float] = monotonic,
        transport: httpx.BaseTransport | None = None,
        proxy: str | None = None,
        endpoints: Registry = ENDPOINTS,
    ) -> None:
        super().__init__(
            token=token,
            base_url=base_url,
            env=env,
            timeout=timeout,
            max_retries=max_retries,
            retry_timeouts=retry_timeouts,
            auto_candidates=auto_candidates,
            auto_cache_seconds=auto_cache_seconds,
            clock=clock,
            endpoints=endpoints,
        )
        inner = transport if transport is not None else httpx.HTTPTransport(retries=0, proxy=proxy)
        self._http = httpx.Client(
            transport=QueryTokenTransport(inner, self._token),
            timeout=httpx.Timeout(self.timeout),
            follow_redirects=False,
            trust_env=False,
        )

    def notes_rate(
        self,
        user_id: str,
        *,
        scope: Scope | None = None,
        business: Business | str | None = None,
        note_type: NoteType | str | None = None,
        date_type: DateType | str | None = None,
        advertise_switch: AdvertiseSwitch | str | None = None,
        idempotency_key: str | None = None,
        before_attempt: Callable[[], None] | None = None,
    ) -> NotesRateResult:
        """Note Performance Metrics of one creator in one scope (the contract's defaults for any
        filter not given). Raises an ``APIError`` subclass for any code but 0.

        ``before_attempt`` runs before every attempt, retries included: the batch paces all its
        sends with it, so a retry after a 302 does not jump the rate limit."""
        call = self._prepare(
            user_id,
            scope=scope,
            business=business,
            note_type=note_type,
            date_type=date_type,
            advertise_switch=advertise_switch,
            idempotency_key=idempotency_key,
        )
        return self._run(call, self._parse, before_attempt)

    def call(
        self,
        endpoint: str,
        user_id: str,
        *,
        idempotency_key: str | None = None,
        before_attempt: Callable[[], None] | None = None,
        **params: str,
    ) -> EndpointResult:
        """Any registered endpoint by name, its parameters by their API names (the contract's
        defaults for any not given), e.g. ``call("notes_rate", uid, dateType="DAY_90")``.
        ``data`` comes back untouched; raises an ``APIError`` subclass for any code but 0."""
        call = self._prepare_call(endpoint, user_id, params, idempotency_key)
        return self._run(call, self._parse_any, before_attempt)

    def profile(
        self,
        user_id: str,
        *,
        idempotency_key: str | None = None,
        before_attempt: Callable[[], None] | None = None,
    ) -> ProfileResult:
        """Creator profile with prices (CNY; None when the creator is not on the marketplace),
        order states, level, tags and agency."""
        call = self._prepare_typed(BLOGGER_PROFILE, user_id, {}, idempotency_key)
        return self._run(call, self._typed(BloggerProfileData), before_attempt)

    def data_summary(
        self,
        user_id: str,
        *,
        business: Business | str | None = None,
        idempotency_key: str | None = None,
        before_attempt: Callable[[], None] | None = None,
    ) -> DataSummaryResult:
        """Data summary: medians, responsiveness, growth and the platform's estimated CPM and
        cost per interaction, of daily (default) or sponsored notes."""
        call = self._prepare_typed(DATA_SUMMARY, user_id, {"business": business}, idempotency_key)
        return self._run(call, self._typed(DataSummaryData), before_attempt)

    def fans_summary(
        self,
        user_id: str,
        *,
        idempotency_key: str | None = None,
        before_attempt: Callable[[], None] | None = None,
    ) -> FansSummaryResult:
        """Fans summary: follower count, 30-day growth, active / engaged / reading / paying
        follower rates (0-100 strings)."""
        call = self._prepare_typed(FANS_SUMMARY, user_id, {}, idempotency_key)
        return self._run(call, self._typed(FansSummaryData), before_attempt)

    def fans_profile(
        self,
        user_id: str,
        *,
        idempotency_key: str | None = None,
        before_attempt: Callable[[], None] | None = None,
    ) -> FansProfileResult:
        """Follower distribution: age, gender, interest, province, city and device shares (0-1)."""
        call = self._prepare_typed(FANS_PROFILE, user_id, {}, idempotency_key)
        return self._run(call, self._typed(FansProfileData), before_attempt)

    def fans_history(
        self,
        user_id: str,
        *,
        date_type: DateType | str | None = None,
        increase_type: IncreaseType | str | None = None,
        idempotency_key: str | None = None,
        before_attempt: Callable[[], None] | None = None,
    ) -> FansHistoryResult:
        """Follower history: one point per day over 30 (default) or 90 days, the total
        (default) or the day's new followers."""
        call = self._prepare_typed(
            FANS_HISTORY,
            user_id,
            {"date_type": date_type, "increase_type": increase_type},
            idempotency_key,
        )
        return self._run(call, self._typed(FansHistoryData), before_attempt)

    def history(
        self,
        user_id: str,
        *,
        endpoint: str = "notes_rate",
        since: date | datetime | str | None = None,
        fields: Iterable[str] | None = None,
        before_attempt: Callable[[], None] | None = None,
        **params: str,
    ) -> HistoryResult:
        """Every stored collection of one creator in one scope, oldest first (our server's
        history extension, ``GET /api/history``; the hosted API has none). The scope is the
        endpoint's parameters by their API names (``dateType="DAY_90"``; defaults for any not
        given); ``since`` a day or a date and time (without an offset, in the server's
        record-time zone); ``fields`` the keys of ``data`` to keep. Priced by the server's
        ``history`` price; raises an ``APIError`` subclass for any code but 0."""
        call = self._prepare_history(user_id, endpoint, since, fields, params)
        return self._run(call, self._parse_history, before_attempt)

    def _run(
        self,
        call: Call,
        parse: Callable[[Call, httpx.Response, int], R],
        before_attempt: Callable[[], None] | None,
    ) -> R:
        """Send ``call`` with the retry policy; every attempt reuses its Idempotency-Key."""
        base_url = self._ensure_base_url()
        retries = 0
        try:
            for attempt in stamina.retry_context(**self._retry_options()):
                with attempt:
                    retries = attempt.num - 1
                    if before_attempt is not None:
                        before_attempt()
                    response = self._send(base_url, call)
                    return parse(call, response, retries)
        except PgyError as error:
            attach_retries(error, retries)
            raise
        raise AssertionError("stamina ended without an attempt")  # pragma: no cover

    def batch(
        self,
        user_ids: Iterable[str],
        *,
        scopes: Iterable[Scope | EndpointScope] = (Scope(),),
        concurrency: int = DEFAULT_CONCURRENCY,
        rate: float | None = None,
        max_billable_calls: int | None = None,
        checkpoint: str | Path | None = None,
    ) -> Batch:
        """Fetch every (creator, scope); yields ``BatchItem`` as calls complete. ``scopes`` may
        mix notes-rate ``Scope``s and other endpoints' ``EndpointScope``s.

        The same scheduler as ``AsyncClient.batch`` (see docs/client.md, Batch): at most
        ``concurrency`` calls in flight (on as many threads), at most ``rate`` requests per
        second, never more than ``max_billable_calls`` billable calls, and with ``checkpoint``
        a re-run skips what was fetched and reuses the key of what was in flight."""
        options = BatchOptions.checked(
            scopes=scopes,
            concurrency=concurrency,
            rate=rate,
            max_billable_calls=max_billable_calls,
            checkpoint=checkpoint,
        )
        return Batch(self, user_ids, options)

    def _send(self, base_url: str, call: Call) -> httpx.Response:
        try:
            response = self._http.get(
                base_url + call.path, params=call.params, headers=call.headers
            )
        except httpx.TransportError as error:
            raise self._transport_error(error, base_url) from error
        return response

    def _ensure_base_url(self) -> str:
        if self._base_url is not None:
            return self._base_url
        cached = self._cached_choice()
        if cached is not None:
            self._use_base_url(cached)
            return cached
        timings: dict[str, float] = {}
        answers: dict[str, httpx.Response] = {}
        for candidate in self.auto_candidates:
            started = self._clock()
            try:
                response = self._http.get(
                    self.probe_url(candidate),
                    timeout=C.AUTO_PROBE_TIMEOUT,
                    extensions={WITHOUT_TOKEN: True},
                )
            except httpx.TransportError:
                continue
            timings[candidate] = self._clock() - started
            answers[candidate] = response
        choice = self._choose(timings)
        self._observe_probe(answers[choice])
        return choice

    def close(self) -> None:
        self._http.close()
