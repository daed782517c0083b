"""Keep secrets out of logs: API tokens travel in the query string, so access logs redact them."""

from __future__ import annotations

import logging
import re

_TOKEN_IN_QUERY = re.compile(r"(?i)(token=)[^&\s\"']*")
_BARE_TOKEN = re.compile(r"pgy_[A-Za-z0-9_-]{20,}")
REDACTED = "***"


def redact(text: str) -> str:
    """Replace ``token=...`` query values and anything shaped like one of our tokens."""
    return _BARE_TOKEN.sub(REDACTED, _TOKEN_IN_QUERY.sub(r"\1" + REDACTED, text))


class RedactSecrets(logging.Filter):
    """A logging filter that rewrites a record's message and arguments before any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install(*logger_names: str) -> None:
    """Attach the filter to the named loggers (and their handlers, for propagated records)."""
    secret_filter = RedactSecrets()
    for name in logger_names:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(secret_filter)
        for handler in logger.handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(secret_filter)
