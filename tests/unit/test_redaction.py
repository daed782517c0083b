"""Secrets never reach a log line: access-log records and our own records are redacted."""

from __future__ import annotations

import io
import logging
import sys

import pytest

from pgy_metrics.server.redaction import REDACTED, RedactSecrets, configure, install, redact

TOKEN = "pgy_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcd"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"GET /x?token={TOKEN}&userId=1 HTTP/1.1", f"GET /x?token={REDACTED}&userId=1 HTTP/1.1"),
        (f"GET /x?userId=1&TOKEN={TOKEN}", f"GET /x?userId=1&TOKEN={REDACTED}"),
        (f"token={TOKEN}", f"token={REDACTED}"),
        (f"created {TOKEN} for alice", f"created {REDACTED} for alice"),
        ("GET /x?userId=1", "GET /x?userId=1"),
        ("token=", f"token={REDACTED}"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected
    assert TOKEN not in redact(text)


def test_handler_filter_redacts_records_propagated_from_children() -> None:
    stream = io.StringIO()
    parent = logging.getLogger("pgy_test_parent")
    parent.handlers.clear()
    handler = logging.StreamHandler(stream)
    parent.addHandler(handler)
    parent.propagate = False
    install("pgy_test_parent")
    install("pgy_test_parent")  # idempotent
    assert sum(isinstance(f, RedactSecrets) for f in handler.filters) == 1
    child = logging.getLogger("pgy_test_parent.child")
    child.warning('%s - "GET /api?token=%s&userId=1 HTTP/1.1" 200', "127.0.0.1:5", TOKEN)
    child.warning(f"token in the message itself: {TOKEN}")
    output = stream.getvalue()
    assert TOKEN not in output
    assert output.count(REDACTED) == 2


def test_configure_installs_a_redacting_handler_for_our_loggers() -> None:
    configure("info")
    ours = logging.getLogger("pgy_metrics")
    assert ours.handlers
    assert all(any(isinstance(f, RedactSecrets) for f in h.filters) for h in ours.handlers)


def test_objects_whose_text_holds_a_token_are_redacted_too() -> None:
    class Url:
        def __str__(self) -> str:
            return f"http://h/x?token={TOKEN}&userId=1"

    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "GET %s %d", (Url(), 200), None)
    RedactSecrets().filter(record)
    assert record.getMessage() == f"GET http://h/x?token={REDACTED}&userId=1 200"


def test_tracebacks_are_redacted() -> None:
    try:
        raise RuntimeError(f"boom with {TOKEN}")
    except RuntimeError:
        record = logging.LogRecord(
            "pgy_metrics", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    RedactSecrets().filter(record)
    text = logging.Formatter().format(record)
    assert "boom with ***" in text and TOKEN not in text


@pytest.mark.parametrize(
    "text",
    [
        "/api/x?token=pgy_abcdefghijklmnopqrstuvwxyz0123456789&userId=5d21",
        "GET /a?TOKEN=abc&Token=def&tOkEn=&x=token%3D",
        "token=abc def token='x' token=\"y\" token=z",
        "no secrets here",
        "bare pgy_abcdefghijklmnopqrstuvwxyz and pgy_short",
        "İstanbul token=abc&x=1 pgy_abcdefghijklmnopqrstuvwxyz",
        "ends with token=",
        "token=pgy_abcdefghijklmnopqrstuvwxyz0123456789",
    ],
)
def test_redact_agrees_with_the_one_regex(text: str) -> None:
    """The fast path gives what the single case-insensitive pattern gives."""
    from pgy_metrics.server.redaction import _SECRET, _replace

    assert redact(text) == _SECRET.sub(_replace, text)
