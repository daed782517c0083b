"""The account webhook (``PGY_ACCOUNT_WEBHOOK_URL``): told once per incident when an upstream
account loses its session or is risk-controlled, so that an operator logs it in again before
every account is gone.

- **Once per incident, cluster-wide.** The calls in flight on an account when its login expires
  all answer "session lost", in every process. Each report carries its incident's key
  (``sources.incidents``); the first process to *claim* the key delivers, the others do not. With
  a shared account pool the claim is Redis ``SET NX`` with the incident's expiry
  (``RedisAccountPool.claim``); in one process, a dictionary does the same (``LocalClaims``).
- **Never in the way of collection.** ``report`` only starts a background task. A delivery has a
  short timeout and a few attempts (stamina, with backoff, on a network error, HTTP 429 or 5xx);
  a failure is logged, naming the webhook's host and what failed, never its path or query (a
  Slack, Feishu or DingTalk webhook URL carries its own secret).
- **No secret in the body**: names, labels, a reason and times (``webhook_payload``); never a
  cookie, a token or the webhook URL.

The last delivery (or failed delivery) is kept for ``/status``: in Redis with a shared pool, so
that every process shows it, else in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx
import stamina
from pydantic import SecretStr

from pgy_metrics.sources.incidents import AccountIncident
from pgy_metrics.sources.pool import PoolUnavailable

__all__ = ["AccountWebhook", "Claims", "LocalClaims", "webhook_host", "webhook_payload"]

logger = logging.getLogger(__name__)

ATTEMPTS = 3
WAIT_INITIAL_SECONDS = 0.5
WAIT_MAX_SECONDS = 5.0
CLOSE_WAIT_SECONDS = 5.0
"""How long a stopping process lets deliveries in flight finish before cancelling them."""
EVENTS = {"session_lost": "account.session_lost", "risk_control": "account.risk_controlled"}


class Claims(Protocol):
    """Where incidents are claimed and the last delivery kept."""

    async def claim(self, source: str, account: str, incident: str, seconds: float) -> bool: ...

    async def remember_alert(self, document: dict[str, Any]) -> None: ...

    async def last_alert(self) -> dict[str, Any] | None: ...


class LocalClaims:
    """``Claims`` of one process (no shared pool): an incident's key until it expires."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._claimed: dict[tuple[str, str, str], float] = {}
        self._last: dict[str, Any] | None = None

    async def claim(self, source: str, account: str, incident: str, seconds: float) -> bool:
        now = self._monotonic()
        self._claimed = {key: ends for key, ends in self._claimed.items() if ends > now}
        key = (source, account, incident)
        if key in self._claimed:
            return False
        self._claimed[key] = now + seconds
        return True

    async def remember_alert(self, document: dict[str, Any]) -> None:
        self._last = document

    async def last_alert(self) -> dict[str, Any] | None:
        return self._last


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def webhook_payload(incident: AccountIncident) -> dict[str, Any]:
    """The JSON body sent for an incident: names, labels and times (UTC), never a secret.
    ``text`` is one sentence for chat webhooks that show a ``text`` field (Slack's do)."""
    what = "lost its session" if incident.label == "session_lost" else "was risk-controlled"
    action = (
        "log it in again and replace its cookies"
        if incident.label == "session_lost"
        else f"it rests until {_iso(incident.cooling_until)}"
    )
    return {
        "event": EVENTS.get(incident.label, f"account.{incident.label}"),
        "source": incident.source,
        "account": incident.account,
        "label": incident.label,
        "reason": incident.reason,
        "at": _iso(incident.at),
        "cooling_until": _iso(incident.cooling_until),
        "text": f"pgy-metrics: {incident.source} account {incident.account!r} {what}: {action}.",
    }


def webhook_host(url: str) -> str:
    """The webhook URL as logs and ``/status`` may show it: scheme, host and port only."""
    try:
        parsed = httpx.URL(url)
    except Exception:
        return "<invalid URL>"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}"


class _HideUrl(logging.Filter):
    """On the ``httpx`` logger, which logs every request's full URL at INFO: the webhook's
    URL becomes its host and ``/***`` (a logger's filter sees every record logged on it)."""

    def __init__(self, url: str, shown: str) -> None:
        super().__init__()
        self.url, self.shown = url, shown

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(self.url in str(a) for a in record.args):
            record.args = tuple(
                str(a).replace(self.url, self.shown) if self.url in str(a) else a
                for a in record.args
            )
        if isinstance(record.msg, str) and self.url in record.msg:
            record.msg = record.msg.replace(self.url, self.shown)
        return True


def _hide_in_httpx_logs(url: str, shown: str) -> None:
    httpx_logger = logging.getLogger("httpx")
    if not any(isinstance(f, _HideUrl) and f.url == url for f in httpx_logger.filters):
        httpx_logger.addFilter(_HideUrl(url, shown))


class _Retry(Exception):
    """A delivery worth another attempt; its text is safe to log (stamina logs its repr)."""


class AccountWebhook:
    """The ``IncidentSink`` of a server or worker process with ``PGY_ACCOUNT_WEBHOOK_URL``."""

    def __init__(
        self,
        url: SecretStr,
        *,
        claims: Claims,
        timeout_seconds: float,
        attempts: int = ATTEMPTS,
        wait_initial_seconds: float = WAIT_INITIAL_SECONDS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._url = url
        self._claims = claims
        self._timeout = timeout_seconds
        self._attempts = attempts
        self._wait_initial = wait_initial_seconds
        self._transport = transport
        self._tasks: set[asyncio.Task[None]] = set()
        self.host = webhook_host(url.get_secret_value())
        _hide_in_httpx_logs(str(httpx.URL(url.get_secret_value())), f"{self.host}/***")

    def report(self, incident: AccountIncident) -> None:
        """Claim and deliver in the background: returns at once, never raises."""
        try:
            task = asyncio.get_running_loop().create_task(
                self._handle(incident), name=f"account-webhook-{incident.account}"
            )
        except RuntimeError:  # no event loop: nothing to deliver with
            logger.warning(
                "account webhook: %s account %r %s not delivered (no event loop)",
                incident.source,
                incident.account,
                incident.label,
            )
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait(self) -> None:
        """Until the deliveries started so far are done (tests, and a stopping process)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        """Let deliveries in flight finish (a few seconds at most), then cancel the rest."""
        if not self._tasks:
            return
        _done, pending = await asyncio.wait(list(self._tasks), timeout=CLOSE_WAIT_SECONDS)
        for task in pending:
            task.cancel()

    async def last(self) -> dict[str, Any] | None:
        """The last delivery in the deployment, for ``/status`` (None if none or unknown)."""
        try:
            return await self._claims.last_alert()
        except PoolUnavailable:
            return None

    async def _handle(self, incident: AccountIncident) -> None:
        try:
            first = await self._claims.claim(
                incident.source, incident.account, incident.key, incident.lasts_seconds
            )
        except PoolUnavailable:
            logger.warning(
                "account webhook: %s account %r %s not delivered: the shared pool that counts "
                "each incident once cannot be reached",
                incident.source,
                incident.account,
                incident.label,
            )
            return
        except Exception:
            logger.exception("account webhook: claiming an incident failed")
            return
        if not first:
            logger.debug(
                "account webhook: %s account %r %s already reported",
                incident.source,
                incident.account,
                incident.label,
            )
            return
        await self._deliver(incident)

    async def _deliver(self, incident: AccountIncident) -> None:
        payload = webhook_payload(incident)
        tried, error = 0, None
        try:
            async with httpx.AsyncClient(
                timeout=self._timeout,
                transport=self._transport,
                follow_redirects=False,
                trust_env=False,
            ) as client:
                async for attempt in stamina.retry_context(
                    on=_Retry,
                    attempts=self._attempts,
                    timeout=None,
                    wait_initial=self._wait_initial,
                    wait_max=WAIT_MAX_SECONDS,
                ):
                    with attempt:
                        tried += 1
                        error = await self._post(client, payload)
        except _Retry as failed:
            error = str(failed)
        except Exception as failed:  # never let a webhook bug reach the collection's loop
            error = type(failed).__name__
        delivered = error is None
        if delivered:
            logger.info(
                "account webhook %s told of %s account %r: %s",
                self.host,
                incident.source,
                incident.account,
                incident.label,
            )
        else:
            logger.warning(
                "account webhook %s was not told of %s account %r %s after %d attempt(s): %s",
                self.host,
                incident.source,
                incident.account,
                incident.label,
                tried,
                error,
            )
        record = {
            "source": incident.source,
            "account": incident.account,
            "label": incident.label,
            "at": payload["at"],
            "delivered": delivered,
            "attempts": tried,
            "error": error,
        }
        with contextlib.suppress(PoolUnavailable):
            await self._claims.remember_alert(record)

    async def _post(self, client: httpx.AsyncClient, payload: dict[str, Any]) -> str | None:
        """One attempt: None when delivered, the refusal's label when it is final; ``_Retry``
        when another attempt may do better."""
        try:
            response = await client.post(self._url.get_secret_value(), json=payload)
        except httpx.HTTPError as failed:  # its text may hold the URL: only its kind is kept
            raise _Retry(type(failed).__name__) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retry(f"HTTP {response.status_code}")
        if response.status_code >= 300:
            return f"HTTP {response.status_code}"
        return None
