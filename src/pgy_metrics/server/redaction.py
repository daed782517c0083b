"""Keep secrets out of logs: API tokens travel in the query string, so access logs redact them."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"(?i)(token=)[^&\s\"']*|pgy_[A-Za-z0-9_-]{20,}")
_OUR_TOKEN = re.compile(r"pgy_[A-Za-z0-9_-]{20,}")
_VALUE_END = re.compile(r"[&\s\"']")
_PARAMETER = "token="
REDACTED = "***"
_TRACEBACKS = logging.Formatter()


def _replace(match: re.Match[str]) -> str:
    return match.group(1) + REDACTED if match.group(1) else REDACTED


def redact(text: str) -> str:
    """Replace ``token=...`` values (any case) and anything shaped like one of our tokens.

    Every access-log line of a paid request holds a token, so this runs once per request: it
    finds ``token=`` with ``str.find`` on the lowered text rather than with the one
    case-insensitive regex, which cost several microseconds a line (``_SECRET``, still used
    where lowering would move characters)."""
    if "pgy_" in text:
        text = _OUR_TOKEN.sub(REDACTED, text)
    if "=" not in text:  # most arguments of a log line: an address, a method, a status
        return text
    lowered = text.lower()
    at = lowered.find(_PARAMETER)
    if at < 0:
        return text
    if len(lowered) != len(text):  # a character whose lower case is longer: positions move
        return _SECRET.sub(_replace, text)
    parts: list[str] = []
    kept = 0
    while at >= 0:
        start = at + len(_PARAMETER)
        end_of_value = _VALUE_END.search(text, start)
        end = end_of_value.start() if end_of_value is not None else len(text)
        parts.append(text[kept:start])
        parts.append(REDACTED)
        kept = end
        at = lowered.find(_PARAMETER, end)
    parts.append(text[kept:])
    return "".join(parts)


class RedactSecrets(logging.Filter):
    """A handler filter that redacts a record's arguments and, if need be, its message.

    Arguments are redacted one by one, keeping the tuple (uvicorn's access formatter unpacks it).
    A secret in the template itself is redacted after merging the arguments: redacting a
    template such as ``"token=%s"`` on its own would change its placeholders.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:
            # A traceback carries exception messages, which may quote a secret: format it once
            # here, redacted; formatters use this cached text instead of formatting it again.
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted_arg(a) for a in record.args)
        if isinstance(record.msg, str) and redact(record.msg) != record.msg:
            record.msg, record.args = redact(record.getMessage()), None
        return True


def _redacted_arg(value: object) -> object:
    """Strings are redacted; other objects (an ``httpx.URL``...) only if their text must be."""
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, int | float):
        return value
    text = str(value)
    redacted = redact(text)
    return value if redacted == text else redacted


def install(*logger_names: str) -> None:
    """Attach the filter once to every handler of the named loggers.

    Handlers, not loggers: a logger's own filters never see records propagated from its children,
    while a handler sees every record it writes, whoever logged it.
    """
    for name in logger_names:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactSecrets) for f in handler.filters):
                handler.addFilter(RedactSecrets())


def configure(level: str) -> None:
    """Our loggers to stderr next to uvicorn's, everything written through redacting handlers."""
    ours = logging.getLogger("pgy_metrics")
    ours.setLevel(level.upper())
    if not ours.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        ours.addHandler(handler)
        ours.propagate = False
    install("uvicorn", "uvicorn.error", "uvicorn.access", "pgy_metrics")
    # httpx/httpcore at DEBUG log whole requests and responses, upstream Set-Cookie included:
    # never below INFO, whatever the server's own level.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, logging.getLogger(noisy).level))
