"""Limits at the edge on a real ``pgy serve``, with raw HTTP: the URL, header and body caps
(``PGY_MAX_*_BYTES``), the slowing of repeated unknown tokens from one client address
(``PGY_FAILED_TOKEN_LIMIT``) and the admin API on a listener of its own (``PGY_ADMIN_LISTEN``)."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from pgy_metrics.cli.common import load_settings, open_issuer
from pgy_metrics.contract import NOTES_RATE_PATH
from pgy_metrics.contract.history import HISTORY_PATH
from pgy_metrics.store.tokens import BillingPlan
from tests.integration.servers import ServerProcess, free_port, pgy, pgy_env

pytestmark = pytest.mark.integration

USER = "5d21ab6b000000001201567d"
FAILED_TOKEN_LIMIT = 3


async def _issue(env: dict[str, str], name: str, *, admin: bool = False) -> str:
    settings = load_settings(data_dir=Path(env["PGY_DATA_DIR"]))
    async with open_issuer(settings) as issuer:
        return (await issuer.create(name, is_admin=admin, plan=BillingPlan())).token


class Raw:
    """One answer read off a socket: status line, headers (lower-case names), body."""

    def __init__(self, data: bytes) -> None:
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in lines[1:])
        }

    def json(self) -> dict[str, object]:
        loaded: dict[str, object] = json.loads(self.body)
        return loaded


def raw(port: int, request: bytes) -> Raw:
    """Send ``request`` as it is and read until the server closes (``Connection: close``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        # The server may answer and close before reading everything: read the answer anyway.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        data = b""
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                data += chunk
    return Raw(data)


def get(path: str, *headers: bytes) -> bytes:
    start = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
    return b"".join([start, *headers, b"Connection: close\r\n\r\n"])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str, str]]:
    """A server with the default caps and a failed-token limit of 3 a minute; a data token and
    an admin token."""
    folder = tmp_path_factory.mktemp("edge")
    env = pgy_env(folder / "data", PGY_FAILED_TOKEN_LIMIT=f"{FAILED_TOKEN_LIMIT}/minute")
    with ServerProcess(env, folder / "serve.log") as server:
        token = asyncio.run(_issue(env, "reader"))
        admin = asyncio.run(_issue(env, "operator", admin=True))
        yield server, token, admin


@pytest.mark.parametrize("path", [NOTES_RATE_PATH, HISTORY_PATH])
def test_a_100000_character_user_id_gets_the_envelope_naming_it(
    served: tuple[ServerProcess, str, str], path: str
) -> None:
    server, token, _ = served
    # Over the HTTP parser's own URL limit (64 KiB): answered while the URL arrives.
    answer = raw(server.port, get(f"{path}?token={token}&userId={'a' * 100_000}"))
    assert answer.status == 200
    envelope = answer.json()
    assert envelope["code"] == 400
    assert "userId is 100000 characters long" in str(envelope["message"])
    assert "PGY_MAX_URL_BYTES" in str(envelope["message"])
    assert envelope["requestId"] == answer.headers["x-request-id"]
    assert token not in answer.body.decode()


def test_a_url_over_the_cap_but_under_the_parser_limit_gets_the_envelope(
    served: tuple[ServerProcess, str, str],
) -> None:
    server, token, _ = served
    answer = raw(server.port, get(f"{NOTES_RATE_PATH}?userId={USER}&token={token}&x={'b' * 9000}"))
    assert answer.status == 200
    envelope = answer.json()
    assert envelope["code"] == 400
    assert str(envelope["message"]).startswith("x is 9000 characters long")
    # Under the cap, the same path answers as always.
    assert (
        raw(server.port, get(f"{NOTES_RATE_PATH}?userId={USER}&token={token}")).json()["code"] == 0
    )


def test_a_long_url_elsewhere_gets_414_with_a_json_detail(
    served: tuple[ServerProcess, str, str],
) -> None:
    server, _, _ = served
    for length in (9_000, 70_000):  # the application's cap, then the parser's
        answer = raw(server.port, get(f"/status?q={'c' * length}"))
        assert answer.status == 414, answer.body[:200]
        assert f"q is {length} characters long" in str(answer.json()["detail"])


@pytest.mark.parametrize("size", [20_000, 2_000_000])
def test_headers_over_the_cap_get_431(served: tuple[ServerProcess, str, str], size: int) -> None:
    server, _, _ = served
    answer = raw(server.port, get("/healthz", b"X-Padding: " + b"p" * size + b"\r\n"))
    assert answer.status == 431
    assert "PGY_MAX_HEADER_BYTES" in str(answer.json()["detail"])
    # Headers under the cap pass.
    assert raw(server.port, get("/healthz", b"X-Padding: " + b"p" * 8000 + b"\r\n")).status == 200


def _post(path: str, body: bytes, admin: str, *, chunked: bool = False) -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {admin}\r\n"
        "Content-Type: application/json\r\nConnection: close\r\n"
    ).encode()
    if chunked:
        return head + b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    return head + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


@pytest.mark.parametrize("chunked", [False, True])
def test_an_admin_body_over_the_cap_gets_413(
    served: tuple[ServerProcess, str, str], chunked: bool
) -> None:
    server, _, admin = served
    body = json.dumps({"name": "big", "note": "n" * 70_000}).encode()
    answer = raw(server.port, _post("/admin/tokens", body, admin, chunked=chunked))
    assert answer.status == 413
    assert "PGY_MAX_BODY_BYTES" in str(answer.json()["detail"])


def test_admin_bodies_under_the_cap_are_served_on_a_kept_alive_connection(
    served: tuple[ServerProcess, str, str],
) -> None:
    server, _, admin = served
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    auth = {"Authorization": f"Bearer {admin}", "Content-Type": "application/json"}
    for name in ("kept-1", "kept-2"):  # two bodies, one connection: the counters reset
        connection.request("POST", "/admin/tokens", body=json.dumps({"name": name}), headers=auth)
        response = connection.getresponse()
        assert response.status == 201, response.read()
        response.read()
    connection.request("GET", "/admin/tokens", headers=auth)
    response = connection.getresponse()
    assert response.status == 200
    assert {"kept-1", "kept-2"} <= {token["name"] for token in json.loads(response.read())}
    connection.close()


def _call(
    port: int, token: str, *, source: str = "127.0.0.1", headers: dict[str, str] | None = None
) -> tuple[dict[str, object], dict[str, str]]:
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=30, source_address=(source, 0)
    )
    path = f"{NOTES_RATE_PATH}?userId={USER}&token={token}"
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = json.loads(response.read())
    connection.close()
    return body, {name.lower(): value for name, value in response.getheaders()}


def test_repeated_unknown_tokens_from_one_address_are_slowed_and_no_one_else(
    served: tuple[ServerProcess, str, str],
) -> None:
    server, token, _ = served
    try:  # a second address on loopback (Linux routes all of 127/8 to lo)
        socket.create_connection(
            ("127.0.0.1", server.port), source_address=("127.0.0.2", 0)
        ).close()
    except OSError as problem:
        pytest.skip(f"127.0.0.2 is not usable as a source address here: {problem}")
    bad = "pgy_" + "x" * 43
    codes = [_call(server.port, bad)[0]["code"] for _ in range(FAILED_TOKEN_LIMIT)]
    assert codes == [100] * FAILED_TOKEN_LIMIT
    slowed, headers = _call(server.port, bad)
    assert slowed["code"] == 302
    assert "unknown token" in str(slowed["message"])
    assert int(headers["retry-after"]) >= 1
    assert bad not in json.dumps(slowed)
    # The same address with a valid token is served; another address is not slowed.
    assert _call(server.port, token)[0]["code"] == 0
    assert _call(server.port, bad, source="127.0.0.2")[0]["code"] == 100
    assert _call(server.port, bad)[0]["code"] == 302
    # Behind a proxy on loopback (trusted by uvicorn's default), the forwarded address counts.
    forwarded = {"X-Forwarded-For": "10.9.9.9"}
    assert _call(server.port, bad, headers=forwarded)[0]["code"] == 100


def test_the_admin_api_only_on_its_own_listener(tmp_path: Path) -> None:
    admin_port = free_port()
    env = pgy_env(tmp_path / "data", PGY_ADMIN_LISTEN=f"127.0.0.1:{admin_port}")
    with ServerProcess(env, tmp_path / "serve.log") as server:
        admin = asyncio.run(_issue(env, "operator", admin=True))
        token = asyncio.run(_issue(env, "reader"))
        bearer = f"Authorization: Bearer {admin}\r\n".encode()
        public = raw(server.port, get("/admin/tokens", bearer))
        assert public.status == 404
        assert raw(server.port, get("/admin/tokens/reader", bearer)).status == 404
        private = raw(admin_port, get("/admin/tokens", bearer))
        assert private.status == 200
        assert "reader" in {entry["name"] for entry in json.loads(private.body)}
        # The public listener serves everything else.
        assert (
            raw(server.port, get(f"{NOTES_RATE_PATH}?userId={USER}&token={token}")).json()["code"]
            == 0
        )
        assert f"127.0.0.1:{admin_port}" in server.logs()


def test_a_bad_or_taken_admin_listen_stops_the_server_with_one_line(tmp_path: Path) -> None:
    env = pgy_env(tmp_path / "data", PGY_ADMIN_LISTEN="localhost")
    result = pgy("serve", "--port", "0", env=env, check=False)
    assert result.returncode == 2
    assert "PGY_ADMIN_LISTEN: must be HOST:PORT" in result.stderr
    assert "Traceback" not in result.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = pgy_env(tmp_path / "data", PGY_ADMIN_LISTEN=f"127.0.0.1:{port}")
        result = pgy("serve", "--port", "0", env=env, check=False)
    assert result.returncode == 2
    assert f"PGY_ADMIN_LISTEN: port {port} on 127.0.0.1 is already in use" in result.stderr


def test_many_requests_on_one_kept_alive_connection_are_all_served(
    served: tuple[ServerProcess, str, str],
) -> None:
    """The head counters start again with each request: 600 heads of about 200 bytes are more
    than any one head may be, and all of them are answered."""
    server, token, _ = served
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    padding = {"X-Padding": "p" * 60}
    codes = []
    for _ in range(600):
        connection.request("GET", f"{NOTES_RATE_PATH}?userId={USER}&token={token}", headers=padding)
        response = connection.getresponse()
        codes.append(json.loads(response.read())["code"])
    connection.close()
    assert codes == [0] * 600
