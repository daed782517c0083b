"""Tokens: random, shown once, stored as a keyed hash, revocable, names validated."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from pgy_metrics.clock import FixedClock
from pgy_metrics.service.billing import Billing
from pgy_metrics.service.settings import Settings
from pgy_metrics.service.tokens import (
    Authenticator,
    TokenHasher,
    TokenIssuer,
    TokenNameTaken,
    load_pepper,
)
from pgy_metrics.store import Store

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def issuer_for(store: Store, pepper: bytes = b"pepper-pepper-pepper") -> TokenIssuer:
    clock = FixedClock(NOW)
    return TokenIssuer(
        store=store,
        hasher=TokenHasher(pepper),
        clock=clock,
        billing=Billing(settings=Settings(), clock=clock),
    )


async def test_only_the_keyed_hash_is_stored(store: Store) -> None:
    issued = await issuer_for(store).create("alice")
    assert issued.token.startswith("pgy_") and len(issued.token) > 40
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM tokens")).mappings().all()
    assert len(rows) == 1
    assert issued.token not in repr(dict(rows[0]))
    assert rows[0]["token_hash"] == TokenHasher(b"pepper-pepper-pepper").hash(issued.token)
    assert rows[0]["token_hash"] != TokenHasher(b"another-pepper-value").hash(issued.token)


async def test_tokens_authenticate_until_revoked(store: Store) -> None:
    issuer = issuer_for(store)
    alice = await issuer.create("alice")
    bob = await issuer.create("bob")
    auth = Authenticator(store=store, hasher=TokenHasher(b"pepper-pepper-pepper"), cache_seconds=0)
    record = await auth.authenticate(alice.token)
    assert record is not None and record.name == "alice" and not record.is_admin
    assert await auth.authenticate(alice.token + "x") is None
    assert await auth.authenticate("") is None
    assert await issuer.revoke("alice") is True
    assert await issuer.revoke("alice") is False
    assert await auth.authenticate(alice.token) is None
    assert await auth.authenticate(bob.token) is not None


async def test_a_different_pepper_rejects_every_token(store: Store) -> None:
    alice = await issuer_for(store).create("alice")
    auth = Authenticator(store=store, hasher=TokenHasher(b"a-different-pepper"), cache_seconds=0)
    assert await auth.authenticate(alice.token) is None


async def test_names_are_unique_and_validated(store: Store) -> None:
    issuer = issuer_for(store)
    await issuer.create("alice")
    with pytest.raises(TokenNameTaken, match="alice"):
        await issuer.create("alice")
    for bad in ("", "has space", "-dash-first", "x" * 101):
        with pytest.raises(ValueError, match="name must be"):
            await issuer.create(bad)


async def test_first_admin_only_on_an_empty_database(store: Store) -> None:
    issuer = issuer_for(store)
    admin = await issuer.create_first_admin()
    assert admin is not None and admin.record.is_admin and admin.record.name == "admin"
    assert await issuer.create_first_admin() is None
    assert len(await issuer.list()) == 1


def test_pepper_file_is_created_once_and_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    first = load_pepper(settings)
    second = load_pepper(settings)
    assert first == second and len(first) == 64
    mode = stat.S_IMODE(os.stat(tmp_path / "data" / "token-pepper").st_mode)
    assert mode == 0o600


def test_explicit_pepper_wins_and_must_be_long(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, token_pepper="x" * 32)
    assert load_pepper(settings) == b"x" * 32
    assert not (tmp_path / "token-pepper").exists()
    with pytest.raises(ValueError, match="PGY_TOKEN_PEPPER"):
        load_pepper(Settings(data_dir=tmp_path, token_pepper="short"))
