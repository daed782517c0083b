"""A hostile upstream: an ASGI app that answers every request in one bad way, for the HTTP
sources' defences (``sources.http_limits``).

Modes (``HostileUpstream.mode``):

- ``drip``: a JSON-looking body sent one byte a second (no per-read timeout ever trips);
- ``huge``: 50 MB of body, streamed in 1 MB chunks with no ``Content-Length``;
- ``huge_announced``: the same, with its ``Content-Length``;
- ``gzip_bomb``: 50 MB of zeros gzipped to about 50 KB, ``Content-Encoding: gzip``;
- ``bad_utf8``: a code-0 envelope whose bytes are not valid UTF-8;
- ``redirect``: ``302`` to ``redirect_to`` (another host), which must never be asked.

``requests`` records every request's URL and headers, so a test can prove that a cookie or a
token never went to the redirect's target (a second ``HostileUpstream`` there).
"""

from __future__ import annotations

import asyncio
import datetime
import gzip
import ipaddress
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

__all__ = ["HUGE_BYTES", "HostileUpstream", "self_signed_certificate"]

HUGE_BYTES = 50 * 1024 * 1024
_MB = 1024 * 1024


@cache
def _bomb() -> bytes:
    return gzip.compress(b"\0" * HUGE_BYTES, compresslevel=9)


@dataclass
class HostileUpstream:
    mode: str = "drip"
    redirect_to: str = ""
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._answer, methods=["GET"])])

    async def _answer(self, request: Request) -> Response:
        self.requests.append((str(request.url), dict(request.headers)))
        mode = self.mode
        if mode == "drip":
            return StreamingResponse(_drip(), media_type="application/json")
        if mode in ("huge", "huge_announced"):
            headers = {"Content-Length": str(HUGE_BYTES)} if mode == "huge_announced" else {}
            return StreamingResponse(_huge(), media_type="application/json", headers=headers)
        if mode == "gzip_bomb":
            return Response(
                _bomb(), media_type="application/json", headers={"Content-Encoding": "gzip"}
            )
        if mode == "bad_utf8":
            body = b'{"code": 0, "success": true, "data": {"noteNumber": "\xff\xfe\xfd"}}'
            return Response(body, media_type="application/json")
        if mode == "redirect":
            return RedirectResponse(self.redirect_to + "/elsewhere?from=pgy", status_code=302)
        return Response(b'{"code": 0, "success": true, "data": {}}', media_type="application/json")


async def _drip() -> AsyncIterator[bytes]:
    for byte in b'{"code": 0, "success": true, "data": {"noteNumber": 1}}':
        yield bytes([byte])
        await asyncio.sleep(1)


async def _huge() -> AsyncIterator[bytes]:
    chunk = b" " * _MB
    for _ in range(HUGE_BYTES // _MB):
        yield chunk


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A key and a self-signed certificate for 127.0.0.1 (trusted by nobody), as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    key_path, cert_path = folder / "key.pem", folder / "cert.pem"
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path
