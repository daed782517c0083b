"""The pure parts of ``sources.http_limits``: decoding with a cap (gzip, zlib and raw deflate,
a bomb stopped early, garbage and unknown encodings refused), where a redirect points (by host
only) and TLS failures found inside httpx's wrapped errors."""

from __future__ import annotations

import gzip
import ssl
import zlib
from typing import Any

import httpx
import pytest

from pgy_metrics.sources.http_limits import AnswerRefused, _Decoder, redirect_target, tls_problem

BODY = b'{"code": 0, "data": {"noteNumber": 12}}' * 500


def decoded(encoding: str, data: bytes, cap: int = 10**6) -> bytes:
    decoder = _Decoder(encoding, cap)
    for start in range(0, len(data), 7):  # small chunks, as a slow network gives them
        decoder.feed(data[start : start + 7])
    return decoder.body()


@pytest.mark.parametrize(
    ("encoding", "data"),
    [
        ("", BODY),
        ("identity", BODY),
        ("gzip", gzip.compress(BODY)),
        ("x-gzip", gzip.compress(BODY)),
        ("deflate", zlib.compress(BODY)),
        ("deflate", zlib.compress(BODY)[2:-4]),  # raw deflate, as some servers send it
    ],
)
def test_each_encoding_we_ask_for_is_decoded(encoding: str, data: bytes) -> None:
    assert decoded(encoding, data) == BODY


def test_a_gzip_bomb_is_refused_after_the_cap_not_inflated_whole() -> None:
    decoder = _Decoder("gzip", 4096)
    with pytest.raises(AnswerRefused) as caught:
        decoder.feed(gzip.compress(b"\0" * 20_000_000))
    assert caught.value.reason == "body_too_large"
    assert sum(len(part) for part in decoder._parts) <= 4096


def test_garbage_and_unknown_encodings_are_refused() -> None:
    with pytest.raises(AnswerRefused) as caught:
        decoded("gzip", b"this is not gzip at all")
    assert caught.value.reason == "bad_encoding"
    with pytest.raises(AnswerRefused) as unknown:
        _Decoder("br", 1024)
    assert unknown.value.reason == "bad_encoding" and "'br'" in unknown.value.detail


def test_a_redirect_is_described_by_its_host_only() -> None:
    base = "https://pgy.xiaohongshu.com"

    def target(location: str, status: int = 302) -> str | None:
        return redirect_target(base, status, httpx.Headers({"location": location}))

    assert target("/login?next=x") == "the same host"
    assert target("https://evil.example/steal?token=abc") == "evil.example"
    assert target("http://pgy.xiaohongshu.com/") == "pgy.xiaohongshu.com"  # https dropped
    assert target("/ok", status=200) is None


def test_a_tls_failure_is_found_inside_wrapped_errors() -> None:
    wrapped = httpx.ConnectError("boom")
    wrapped.__cause__ = ssl.SSLCertVerificationError("certificate verify failed")
    assert tls_problem(wrapped) == "TLS failed: the server's certificate is not trusted"
    handshake = httpx.ConnectError("boom")
    handshake.__context__ = ssl.SSLError("wrong version number")
    assert tls_problem(handshake) is not None and "handshake" in str(tls_problem(handshake))
    assert tls_problem(httpx.ConnectError("refused")) is None


async def test_on_sent_is_called_once_when_the_request_is_on_the_wire_before_the_answer() -> None:
    """The cluster's pacing records a late departure with it (``service.pace_slots``). The
    upstream answers 200 only once ``on_sent`` has been called (else 504 after 5 s)."""
    import asyncio
    import threading

    from pgy_metrics.sources.http_limits import read_capped
    from tests.upstreams.loopback import aserve_on_loopback

    on_wire = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        status = 200 if await asyncio.to_thread(on_wire.wait, 5) else 504
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    calls: list[int] = []

    def sent() -> None:
        calls.append(1)
        on_wire.set()

    async with aserve_on_loopback(app, lifespan="off") as base, httpx.AsyncClient() as client:
        answer = await read_capped(
            client, f"{base}/x", params={}, max_body_bytes=1000, deadline_seconds=10, on_sent=sent
        )
    assert answer.status_code == 200
    assert calls == [1]
