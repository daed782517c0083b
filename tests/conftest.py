"""Shared fixtures: real SQLite in a temp folder, the machine's PostgreSQL, loopback servers.

PostgreSQL tests read ``PGY_TEST_POSTGRES_URL`` (default the local server's ``test`` database),
create a throw-away database for the session and drop it afterwards. When the server cannot be
reached they skip with the reason, unless ``PGY_REQUIRE_SERVICES=1`` (as in CI), where they fail.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pgy_metrics.server.redaction import RedactSecrets
from pgy_metrics.store import Store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
"""Real payloads recorded from the hosted API, copied into the repository (see its README)."""
FIXTURE_3_NOTES = FIXTURES / "justoneapi-notesrate-3-notes.json"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def services_required() -> bool:
    return os.environ.get("PGY_REQUIRE_SERVICES") == "1"


def unavailable(reason: str) -> None:
    """Skip, or fail when CI requires the machine's services."""
    if services_required():
        pytest.fail(f"{reason} (PGY_REQUIRE_SERVICES=1, so this is a failure, not a skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def fixture_bytes() -> bytes:
    if not FIXTURE_3_NOTES.exists():
        pytest.fail(f"fixture missing from the repository: {FIXTURE_3_NOTES}")
    return FIXTURE_3_NOTES.read_bytes()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """A psycopg URL of the machine's PostgreSQL (admin database), checked to be reachable."""
    import psycopg

    url = os.environ.get("PGY_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    url = url.replace("postgresql+psycopg://", "postgresql://")
    try:
        with psycopg.connect(url, connect_timeout=3) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as error:
        unavailable(f"PostgreSQL at PGY_TEST_POSTGRES_URL is unreachable: {error}")
    return url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"pgy_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_server_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = postgres_server_url.rpartition("/")
    try:
        yield f"{base.replace('postgresql://', 'postgresql+psycopg://')}/{name}"
    finally:
        with psycopg.connect(postgres_server_url, autocommit=True) as connection:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.fixture
def redis_url() -> str:
    """The machine's Redis (``PGY_TEST_REDIS_URL``), answering PING; skipped (or failed under
    ``PGY_REQUIRE_SERVICES=1``) when unreachable."""
    url = os.environ.get("PGY_TEST_REDIS_URL", DEFAULT_REDIS)
    parsed = urlsplit(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=3) as conn:
            conn.sendall(b"PING\r\n")
            if not conn.recv(64).startswith(b"+PONG"):
                raise OSError("no PONG")
    except OSError as error:
        unavailable(f"Redis at PGY_TEST_REDIS_URL is unreachable: {error}")
    return url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each test using this runs on real SQLite and on the machine's PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'store.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A migrated store on each backend of ``database_url``."""
    store = Store(database_url)
    await store.migrate()
    yield store
    await store.aclose()


# -- no secret in any log, over the whole suite --------------------------------------------------

LEAKED_TOKEN = re.compile(r"pgy_[A-Za-z0-9_-]{43}")
"""The shape of a real API token (the issuer's format); none may ever be logged."""
TEST_SECRETS = (
    "THIS-IS-A-SECRET",  # tests/fakes.py ExplodingSource
    "relay-secret-token",  # tests/integration/test_upstream_relay.py
    "jo-RELAY-TOKEN",  # tests/unit/test_justoneapi_source.py
    "relay-token-that-must-not-leak",  # tests/unit/test_config.py
    "-a1-secret-",  # tests/integration/test_upstream_pugongying.py cookies
)


class _SecretScanner(logging.Handler):
    """Formats every record as a production handler would (redaction filter included) and
    remembers any that shows a secret."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.addFilter(RedactSecrets())
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)
        if LEAKED_TOKEN.search(text) or any(secret in text for secret in TEST_SECRETS):
            self.leaks.append(text[:500])


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log() -> Iterator[None]:
    """A log capture over the whole suite: no record may show a token, cookie or relay token."""
    scanner = _SecretScanner()
    watched = [logging.getLogger(), logging.getLogger("pgy_metrics")]
    for logger in watched:
        logger.addHandler(scanner)
    try:
        yield
    finally:
        for logger in watched:
            logger.removeHandler(scanner)
    assert not scanner.leaks, "secrets reached log records:\n" + "\n".join(scanner.leaks)
