"""The client's retries as one status line, not one log line each.

The typed client retries through stamina, whose default hook logs ``stamina.retry_scheduled``
(a WARNING that Python prints on stderr when nothing configured logging): a slow upstream filled
the screen with them. While a command runs, ``counting_retries`` replaces that hook with a
counter that the command shows in its status line (``pgy fetch``'s spinner, ``pgy batch``'s
progress bar) and in its last line. The library itself keeps stamina's defaults.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from stamina.instrumentation import RetryDetails, get_on_retry_hooks, set_on_retry_hooks

CAUSE_CHARS = 100
"""Longest excerpt of the failure that caused a retry, in the status line."""


class RetryCounter:
    """A stamina on-retry hook: counts retries and keeps a line about the latest one.

    Called from whichever thread retries (a batch runs several); ``on_retry`` runs after each
    count, to refresh what shows it."""

    def __init__(self, on_retry: Callable[[RetryCounter], None] | None = None) -> None:
        self.count = 0
        self.latest: str | None = None
        self._on_retry = on_retry
        self._lock = threading.Lock()

    def __call__(self, details: RetryDetails) -> None:
        cause = " ".join(str(details.caused_by).split()) or type(details.caused_by).__name__
        if len(cause) > CAUSE_CHARS:
            cause = cause[: CAUSE_CHARS - 3] + "..."
        with self._lock:
            self.count += 1
            self.latest = f"retry {details.retry_num} in {details.wait_for:.1f} s: {cause}"
        if self._on_retry is not None:
            self._on_retry(self)


@contextmanager
def counting_retries(counter: RetryCounter) -> Iterator[RetryCounter]:
    """Count stamina's retries with ``counter`` instead of logging them, during the block."""
    previous = get_on_retry_hooks()
    set_on_retry_hooks([counter])
    try:
        yield counter
    finally:
        set_on_retry_hooks(previous)
