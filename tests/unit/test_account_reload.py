"""Cookie files re-read when they change (at most once a second on use, by stamp then digest),
on the reload generation (``pgy accounts reload``) for a change a stamp cannot see, a new login
clearing a disablement, a broken file keeping the cookies, and no cookie in any log. A real
loopback fake of Pugongying (``tests.unit.test_pugongying``'s fixtures) and real files."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from pgy_metrics.contract.endpoints import notes_query
from pgy_metrics.contract.params import Scope
from pgy_metrics.service.account_reload import FileReloadSignal
from pgy_metrics.sources.base import AccountState, SessionLost
from pgy_metrics.sources.pugongying import AccountSpec, PugongyingConfig, PugongyingSource
from tests.unit.test_pugongying import (
    MARK,
    FakeMonotonic,
    base_url,
    cookies_of,
    fake,
    fake_server,
    no_retry_waits,
    no_secret_in_logs,
)
from tests.upstreams.fake_pugongying import FakePugongying

__all__ = ["base_url", "fake", "fake_server", "no_retry_waits", "no_secret_in_logs"]


def header(login: str) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies_of(login).items())


def a1(login: str) -> str:
    return cookies_of(login)["a1"]


def write(path: Path, login: str) -> None:
    """Replace the file as an operator would (a new file moved over the old one)."""
    fresh = path.with_suffix(".new")
    fresh.write_text(header(login) + "\n", encoding="utf-8")
    os.replace(fresh, path)


Build = Callable[..., PugongyingSource]


@pytest.fixture
async def build(base_url: str, tmp_path: Path) -> AsyncIterator[Build]:
    """A source with account ``alpha`` whose cookies come from ``tmp_path/alpha.cookies``, read
    through the spec as the settings file does."""
    built: list[PugongyingSource] = []

    def make(clock: FakeMonotonic, reload: FileReloadSignal | None = None) -> PugongyingSource:
        path = tmp_path / "alpha.cookies"
        if not path.exists():
            write(path, "alpha")
        spec = AccountSpec(name="alpha", cookies_file=path)
        source = PugongyingSource(
            PugongyingConfig(
                accounts=[spec.account],
                base_url=base_url,
                requests_per_second=1000.0,
                retry_attempts=1,
            ),
            monotonic=clock,
            reload=reload,
        )
        built.append(source)
        return source

    yield make
    for source in built:
        await source.aclose()


async def ask(source: PugongyingSource, index: int) -> None:
    await source.fetch(notes_query(f"{index:024x}", Scope()))


def last_a1(fake: FakePugongying) -> str | None:
    return fake.received[-1].account


async def test_a_replaced_file_is_used_after_the_next_look_at_most_a_second_later(
    fake: FakePugongying, build: Build, tmp_path: Path
) -> None:
    clock = FakeMonotonic()
    source = build(clock)
    await ask(source, 1)
    assert last_a1(fake) == a1("alpha")
    write(tmp_path / "alpha.cookies", "alpha2")
    await ask(source, 2)  # looked less than a second ago: one stat a second at most
    assert last_a1(fake) == a1("alpha")
    clock.advance(1.0)
    await ask(source, 3)
    assert last_a1(fake) == a1("alpha2")
    assert fake.received[-1].cookies == cookies_of("alpha2")  # every cookie, not only a1


async def test_a_new_login_clears_the_disablement_of_the_old_cookies(
    fake: FakePugongying, build: Build, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeMonotonic()
    source = build(clock)
    fake.set_mode(a1("alpha"), "http_401")
    with pytest.raises(SessionLost):
        await ask(source, 1)
    assert source.accounts()[0].state is AccountState.DISABLED
    clock.advance(5)
    with pytest.raises(SessionLost):  # the same cookies: still disabled, not asked again
        await ask(source, 2)
    assert len(fake.received) == 1
    write(tmp_path / "alpha.cookies", "alpha2")
    clock.advance(1)
    await ask(source, 3)
    assert last_a1(fake) == a1("alpha2")
    (alpha,) = source.accounts()
    assert (alpha.state, alpha.reason, alpha.last_failure) == (AccountState.ACTIVE, None, None)
    assert any(
        f"new cookies read from {tmp_path / 'alpha.cookies'} (a new login)" in r.getMessage()
        for r in caplog.records
    )


async def test_a_touched_file_with_the_same_cookies_is_not_a_new_login(
    fake: FakePugongying, build: Build, tmp_path: Path
) -> None:
    clock = FakeMonotonic()
    source = build(clock)
    fake.set_mode(a1("alpha"), "http_401")
    with pytest.raises(SessionLost):
        await ask(source, 1)
    write(tmp_path / "alpha.cookies", "alpha")  # a new file, the same cookies
    clock.advance(1)
    with pytest.raises(SessionLost):
        await ask(source, 2)
    assert len(fake.received) == 1  # still disabled: the digest, not the stamp, decides
    (done,) = source.reload_cookies(force=True)
    assert (done.account, done.outcome) == ("alpha", "unchanged")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("", "is empty"),
        ("this is not a cookie header", "cookies must look like 'name=value; name2=value2'"),
        ("webId=only-web-id", "has none of the login cookies"),
    ],
)
async def test_a_broken_file_keeps_the_cookies_and_says_why_without_a_value(
    fake: FakePugongying,
    build: Build,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    content: str,
    problem: str,
) -> None:
    clock = FakeMonotonic()
    source = build(clock)
    path = tmp_path / "alpha.cookies"
    path.write_text(content, encoding="utf-8")
    clock.advance(1)
    await ask(source, 1)
    assert last_a1(fake) == a1("alpha")  # half-written or wrong: the account keeps working
    warnings = [r.getMessage() for r in caplog.records if "keeps its cookies" in r.getMessage()]
    assert len(warnings) == 1 and problem in warnings[0] and str(path) in warnings[0]
    clock.advance(1)
    await ask(source, 2)  # the same broken file: not read (nor logged) again
    assert len([r for r in caplog.records if "keeps its cookies" in r.getMessage()]) == 1
    (done,) = source.reload_cookies(force=True)
    assert done.outcome == "kept" and done.problem is not None and problem in done.problem
    path.unlink()
    (done,) = source.reload_cookies(force=True)
    assert done.outcome == "kept" and "cannot read" in (done.problem or "")


async def test_the_reload_generation_reads_a_change_the_stamp_cannot_see(
    fake: FakePugongying, build: Build, tmp_path: Path
) -> None:
    clock = FakeMonotonic()
    signal = FileReloadSignal(tmp_path / "data")
    source = build(clock, reload=signal)
    await ask(source, 1)
    path = tmp_path / "alpha.cookies"
    before = os.stat(path)
    fresh = header("alphb")  # the same length: the file keeps its size
    assert len(fresh) == len(header("alpha"))
    with path.open("r+", encoding="utf-8") as rewritten:  # in place: the same inode
        rewritten.write(fresh)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # its time kept, as cp -p does
    clock.advance(5)
    await ask(source, 2)
    assert last_a1(fake) == a1("alpha")  # the stamp did not change: not read
    other_process = FileReloadSignal(tmp_path / "data")  # pgy accounts reload, elsewhere
    assert await other_process.bump_generation() == 1
    await ask(source, 3)  # no need to wait: the generation is read before every use
    assert last_a1(fake) == a1("alphb")


async def test_the_file_signal_counts_across_instances(tmp_path: Path) -> None:
    first, second = FileReloadSignal(tmp_path), FileReloadSignal(tmp_path)
    assert await first.generation() == 0
    assert await second.bump_generation() == 1
    assert await second.bump_generation() == 2
    assert await first.generation() == 2


async def test_accounts_from_an_environment_variable_are_not_reloaded(
    build: Build, monkeypatch: pytest.MonkeyPatch, base_url: str
) -> None:
    monkeypatch.setenv("PGY_TEST_ALPHA_COOKIES", header("alpha"))
    spec = AccountSpec(name="alpha", cookies_env="PGY_TEST_ALPHA_COOKIES")
    source = PugongyingSource(PugongyingConfig(accounts=[spec.account], base_url=base_url))
    try:
        (done,) = source.reload_cookies(force=True)
        assert done.outcome == "no_file"
        assert MARK not in repr(done) and MARK not in repr(spec.account)
    finally:
        await source.aclose()


async def test_a_lost_session_of_cookies_replaced_while_the_call_was_out_spares_the_new_login(
    tmp_path: Path,
) -> None:
    import asyncio

    from tests.upstreams.loopback import aserve_on_loopback

    slow = FakePugongying(latency_seconds=0.5)
    async with aserve_on_loopback(slow.app) as slow_url:
        path = tmp_path / "alpha.cookies"
        write(path, "alpha")
        source = PugongyingSource(
            PugongyingConfig(
                accounts=[AccountSpec(name="alpha", cookies_file=path).account],
                base_url=slow_url,
                requests_per_second=1000.0,
                retry_attempts=1,
            ),
            monotonic=FakeMonotonic(),
        )
        try:
            slow.set_mode(a1("alpha"), "http_401")
            out = asyncio.create_task(ask(source, 1))
            while not slow.received:  # the old cookies' call is out
                await asyncio.sleep(0.01)
            write(path, "alpha2")
            (done,) = source.reload_cookies(force=True)
            assert done.outcome == "new_login"
            with pytest.raises(SessionLost):
                await out
            assert source.accounts()[0].state is AccountState.ACTIVE  # the new login is spared
            await ask(source, 2)
            assert slow.received[-1].account == a1("alpha2")
        finally:
            await source.aclose()
