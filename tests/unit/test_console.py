"""The web console in process (ASGI transport, real SQLite, the sandbox source): sessions and
their expiry, sign-out that holds server-side, CSRF on every POST, cookie flags, failed sign-ins
counted, creator references parsed from URLs, the quote equal to what the gate then charges.

The same flows in a real browser against a real ``pgy serve``: tests/integration/
test_console_browser.py.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from pgy_metrics.clock import FixedClock
from pgy_metrics.contract.endpoints import NOTES_RATE
from pgy_metrics.contract.params import USER_ID_EXAMPLE, ParamError, parse_user_ref
from pgy_metrics.server import create_app
from pgy_metrics.server.console.sessions import SESSION_COOKIE, ConsoleSessions, same_token
from pgy_metrics.server.console.text import TEXT
from pgy_metrics.service.settings import Settings
from pgy_metrics.service.tokens import TokenHasher
from pgy_metrics.store.database import Store
from pgy_metrics.store.money import Charge
from pgy_metrics.store.sessions import SessionRepository
from pgy_metrics.store.snapshots import Snapshot
from pgy_metrics.store.tokens import BillingPlan

START = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
FIELD = re.compile(r'name="(csrf|user_id|nonce|total)" value="([^"]*)"')


@dataclass
class Console:
    app: FastAPI
    clock: FixedClock
    holder: str
    other: str
    admin: str
    base_url: str

    def client(self, base_url: str | None = None) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=("10.1.2.3", 4567))
        return httpx.AsyncClient(transport=transport, base_url=base_url or self.base_url)


async def _console(tmp_path: Path, **settings: object) -> AsyncIterator[Console]:
    clock = FixedClock(START)
    app = create_app(
        Settings(data_dir=tmp_path, token_cache_seconds=0, **settings),  # type: ignore[arg-type]
        clock=clock,
    )
    async with app.router.lifespan_context(app):
        issuer = app.state.runtime.issuer
        holder = (await issuer.create("alice", plan=BillingPlan(balance=100))).token
        other = (await issuer.create("bob", plan=BillingPlan(balance=4321))).token
        admin = (await issuer.create("root", is_admin=True)).token
        yield Console(app, clock, holder, other, admin, "http://console.test")


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    async for harness in _console(tmp_path):
        yield harness


async def sign_in(http: httpx.AsyncClient, token: str) -> httpx.Response:
    form = await http.get("/console/sign-in")
    csrf = CSRF.search(form.text)
    assert csrf is not None
    return await http.post("/console/sign-in", data={"csrf": csrf.group(1), "token": token})


def csrf_of(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found is not None, page.text[:500]
    return found.group(1)


# -- sessions -----------------------------------------------------------------------------------


async def test_a_session_lasts_its_lifetime_then_is_refused(console: Console) -> None:
    async with console.client() as http:
        assert (await http.get("/console")).status_code == 303  # not signed in yet
        answer = await sign_in(http, console.holder)
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console"
        assert (await http.get("/console")).status_code == 200
        console.clock.advance(minutes=8 * 60 - 1)
        assert (await http.get("/console")).status_code == 200
        console.clock.advance(minutes=2)
        expired = await http.get("/console")
        assert expired.status_code == 303
        assert expired.headers["location"] == "/console/sign-in"


async def test_sign_out_ends_the_session_on_the_server_not_only_the_cookie(
    console: Console,
) -> None:
    async with console.client() as http:
        await sign_in(http, console.holder)
        cookie = http.cookies[SESSION_COOKIE]
        page = await http.get("/console")
        out = await http.post("/console/sign-out", data={"csrf": csrf_of(page)})
        assert out.status_code == 303
    async with console.client() as replay:  # the old cookie, kept by an attacker
        replay.cookies.set(SESSION_COOKIE, cookie)
        assert (await replay.get("/console/usage")).status_code == 303


async def test_revoking_the_token_ends_its_sessions(console: Console) -> None:
    async with console.client() as http:
        await sign_in(http, console.holder)
        assert (await http.get("/console/usage")).status_code == 200
        await console.app.state.runtime.issuer.revoke("alice")
        assert (await http.get("/console/usage")).status_code == 303


async def test_cookies_are_httponly_strict_and_secure_over_https(console: Console) -> None:
    async with console.client() as http:
        answer = await sign_in(http, console.holder)
        cookie = next(v for v in answer.headers.get_list("set-cookie") if "pgy_console=" in v)
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Secure" not in cookie  # plain HTTP: a Secure cookie would never come back
        assert "Max-Age=28800" in cookie
    async with console.client("https://console.test") as https:
        answer = await sign_in(https, console.holder)
        cookie = next(v for v in answer.headers.get_list("set-cookie") if "pgy_console=" in v)
        assert "Secure" in cookie
        assert "HttpOnly" in cookie


async def test_the_token_is_never_echoed_or_logged(
    console: Console, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = console.holder[:-4] + "abcd"
    async with console.client() as http:
        refused = await sign_in(http, wrong)
        assert refused.status_code == 401
        assert wrong not in refused.text
        ok = await sign_in(http, console.holder)
        assert console.holder not in ok.text
        assert console.holder not in str(ok.headers)
        page = await http.get("/console")
        assert console.holder not in page.text
    assert wrong not in caplog.text
    assert console.holder not in caplog.text


async def test_failed_sign_ins_count_against_the_failed_token_limit(tmp_path: Path) -> None:
    async for console in _console(tmp_path, failed_token_limit="2/minute"):
        async with console.client() as http:
            assert (await sign_in(http, "pgy_not-a-token-1")).status_code == 401
            assert (await sign_in(http, "pgy_not-a-token-2")).status_code == 401
            limited = await sign_in(http, "pgy_not-a-token-3")
            assert limited.status_code == 429
            assert "Too many sign-ins" in limited.text
            # A valid token is still accepted from the address, as the API does.
            assert (await sign_in(http, console.holder)).status_code == 303


# -- CSRF ---------------------------------------------------------------------------------------


async def test_a_post_without_the_sessions_csrf_token_is_refused_with_403(
    console: Console,
) -> None:
    async with console.client() as alice, console.client() as bob:
        await sign_in(alice, console.holder)
        await sign_in(bob, console.other)
        bobs_token = csrf_of(await bob.get("/console"))
        alices_token = csrf_of(await alice.get("/console"))
        assert alices_token != bobs_token
        form = {"user_id": USER_ID_EXAMPLE, "nonce": "n" * 16, "total": "99"}
        for given in (
            {},
            {"csrf": ""},
            {"csrf": bobs_token},
            {"csrf": alices_token[:-1] + ("0" if alices_token[-1] != "0" else "1")},
        ):
            refused = await alice.post("/console/creator", data={**form, **given})
            assert refused.status_code == 403
            assert 'id="refused"' in refused.text
            assert "security token is missing or wrong" in refused.text
        still = await alice.post("/console/sign-out", data={"csrf": bobs_token})
        assert still.status_code == 403
        assert (await alice.get("/console")).status_code == 200  # not signed out
        balance = await console.app.state.runtime.store.tokens.by_name("alice")
        assert balance.plan.balance == 100  # nothing was fetched


@pytest.mark.parametrize("path", ["/console/pools", "/console/plans", "/console/watchlists"])
async def test_every_upload_form_refuses_the_same_way(console: Console, path: str) -> None:
    """The pools, plans and watchlists forms read uploads through ``pages.checked_upload_form``:
    a body that is no form is a 400 page, one over the page's cap a 413 page read no further,
    a form without the session's CSRF token a 403 page; never a JSON error or a traceback."""
    async with console.client() as http:
        await sign_in(http, console.admin)
        token = csrf_of(await http.get("/console"))
        broken = await http.post(
            path,
            content=b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--\r\n",
            headers={"Content-Type": "multipart/form-data; boundary=x"},  # a part without a name
        )
        assert broken.status_code == 400, broken.text[broken.text.find("<main") :][:600]
        assert "could not be read" in broken.text and "<html" in broken.text
        huge = await http.post(
            path,
            files={"file": ("list.csv", b"userId\n" + b"x" * (3 * 1024 * 1024))},
            data={"csrf": token},
        )
        assert huge.status_code == 413 and "<html" in huge.text
        no_csrf = await http.post(
            path, files={"file": ("list.csv", b"userId\n")}, data={"csrf": "wrong"}
        )
        assert no_csrf.status_code == 403 and "security token" in no_csrf.text


async def test_the_sign_in_form_is_protected_too(console: Console) -> None:
    async with console.client() as http:
        refused = await http.post(
            "/console/sign-in", data={"csrf": "guess", "token": console.holder}
        )
        assert refused.status_code == 403
        assert SESSION_COOKIE not in http.cookies


def test_csrf_comparison_is_exact() -> None:
    assert same_token("abc", "abc")
    assert not same_token("abc", "abd")
    assert not same_token("abc", None)
    assert not same_token("abc", "")


# -- what each token may see --------------------------------------------------------------------


async def test_a_holder_sees_only_their_own_pages(console: Console) -> None:
    async with console.client() as http:
        await sign_in(http, console.holder)
        assert (await http.get("/console/usage")).status_code == 200
        assert (await http.get("/console/usage?token=alice")).status_code == 200
        for path in ("/console/usage?token=bob", "/console/usage?token=root", "/console/tokens"):
            refused = await http.get(path)
            assert refused.status_code == 403, path
            assert "4321" not in refused.text and "4,321" not in refused.text  # bob's balance
        status = await http.get("/console/status")
        assert status.status_code == 200
        assert (
            'id="accounts"' not in status.text and TEXT["en"]["accounts_title"] not in status.text
        )
    async with console.client() as admin:
        await sign_in(admin, console.admin)
        assert (await admin.get("/console/tokens")).status_code == 200
        bob = await admin.get("/console/usage?token=bob")
        assert bob.status_code == 200
        assert "bob" in bob.text and ("4321" in bob.text or "4,321" in bob.text)
        assert (await admin.get("/console/usage?token=nobody")).status_code == 404


# -- the creator page ---------------------------------------------------------------------------

URL_FORMS = [
    USER_ID_EXAMPLE,
    f"  {USER_ID_EXAMPLE}  ",
    f"https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/{USER_ID_EXAMPLE}",
    f"https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/{USER_ID_EXAMPLE}?track_id=x",
    f"https://www.xiaohongshu.com/user/profile/{USER_ID_EXAMPLE}?xsec_token=abc&xsec_source=pc",
    f"https://www.xiaohongshu.com/user/profile/{USER_ID_EXAMPLE}#notes",
]


@pytest.mark.parametrize("ref", URL_FORMS)
def test_creator_references_give_the_id(ref: str) -> None:
    assert parse_user_ref(ref, param="ref") == USER_ID_EXAMPLE


@pytest.mark.parametrize(
    "ref",
    [
        "https://www.xiaohongshu.com/explore/5d21ab6b000000001201567d",
        "https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/XYZ",
        "5D21AB6B000000001201567D",
        "not an id",
    ],
)
def test_other_references_are_refused_naming_the_parameter(ref: str) -> None:
    with pytest.raises(ParamError) as refused:
        parse_user_ref(ref, param="ref")
    assert refused.value.param == "ref"


async def test_a_look_up_costs_what_the_quote_said_and_a_resubmission_is_not_charged_again(
    console: Console,
) -> None:
    tokens = console.app.state.runtime.store.tokens
    async with console.client() as http:
        await sign_in(http, console.holder)
        bad = await http.get("/console/creator", params={"ref": "https://example.com/x/y"})
        assert bad.status_code == 400
        assert "blogger-detail" in bad.text
        quote = await http.get("/console/creator", params={"ref": URL_FORMS[3]})
        assert quote.status_code == 200
        form = dict(FIELD.findall(quote.text))
        total = int(form["total"])
        assert total > 0
        assert f"at most {total} credits" in quote.text
        assert (await tokens.by_name("alice")).plan.balance == 100  # nothing charged yet
        fetched = await http.post("/console/creator", data=form)
        assert fetched.status_code == 200
        assert f"Charged {total} credits" in fetched.text
        assert (await tokens.by_name("alice")).plan.balance == 100 - total
        assert 'id="indicators"' in fetched.text
        assert 'id="profile"' in fetched.text
        assert 'id="history"' in fetched.text
        again = await http.post("/console/creator", data=form)  # the same form, sent twice
        assert again.status_code == 200
        history_price = 1  # history reads stored data and is priced per call, like the API
        assert (await tokens.by_name("alice")).plan.balance == 100 - total - history_price


async def test_a_price_that_went_up_is_asked_again(console: Console) -> None:
    async with console.client() as http:
        await sign_in(http, console.holder)
        quote = await http.get("/console/creator", params={"ref": USER_ID_EXAMPLE})
        form = dict(FIELD.findall(quote.text))
        asked = await http.post("/console/creator", data={**form, "total": "1"})
        assert asked.status_code == 200
        assert "The price went up" in asked.text
        balance = (await console.app.state.runtime.store.tokens.by_name("alice")).plan.balance
        assert balance == 100


def test_both_languages_have_every_label() -> None:
    assert set(TEXT["en"]) == set(TEXT["zh"])


# -- the store's part, on SQLite and PostgreSQL -------------------------------------------------


async def test_sessions_are_stored_by_hash_and_resolve_only_while_valid(store: Store) -> None:
    clock = FixedClock(START)
    record = await store.tokens.add(
        name="carol", token_hash="h" * 64, is_admin=False, created_at=START
    )
    sessions = ConsoleSessions(
        repository=SessionRepository(store.database),
        hasher=TokenHasher(b"pepper-of-at-least-16-bytes"),
        clock=clock,
        lifetime=timedelta(minutes=30),
    )
    first = await sessions.sign_in(record)
    second = await sessions.sign_in(record)
    assert first.id != second.id and first.csrf != second.csrf
    stored = await store.database.read(
        lambda conn: [
            row[0] for row in conn.execute(text("SELECT session_hash FROM console_sessions"))
        ]
    )
    assert first.id not in stored and second.id not in stored  # only keyed hashes
    resolved = await sessions.resolve(first.id)
    assert resolved is not None and resolved.holder.name == "carol"
    assert resolved.csrf == first.csrf
    assert await sessions.resolve("not-a-session") is None
    assert await sessions.resolve(None) is None
    assert await sessions.sign_out(first.id)
    assert await sessions.resolve(first.id) is None
    assert await sessions.resolve(second.id) is not None
    clock.advance(minutes=30)
    assert await sessions.resolve(second.id) is None  # expired at its lifetime
    await sessions.sign_in(record)  # purges the expired one
    remaining = await store.database.read(
        lambda conn: conn.execute(text("SELECT count(*) FROM console_sessions")).scalar()
    )
    assert remaining == 1


async def test_the_looked_up_pool_is_the_creators_charged_to_the_token(store: Store) -> None:
    mine = await store.tokens.add(name="m", token_hash="a" * 64, is_admin=False, created_at=START)
    theirs = await store.tokens.add(name="t", token_hash="b" * 64, is_admin=False, created_at=START)
    creators = {"mine": "a" * 24, "theirs": "b" * 24}
    for index, (token, user_id) in enumerate(
        ((mine, creators["mine"]), (theirs, creators["theirs"]))
    ):
        await store.snapshots.add(
            Snapshot(
                NOTES_RATE,
                user_id,
                "DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL",
                START,
                "sandbox",
                "{}",
            )
        )
        charge = Charge(
            request_id=f"r{index}",
            token_id=token.id,
            amount=1,
            day="2026-11-28",
            endpoint=NOTES_RATE,
            user_id=user_id,
            scope_key="DAILY_NOTE.PHOTO_TEXT_AND_VIDEO.DAY_30.ALL",
            cached=False,
            at=START,
        )
        assert await store.ledger.charge(charge, metered=False, daily_quota=None) is None
    repository = SessionRepository(store.database)
    own = await repository.looked_up_snapshots(token_id=mine.id, endpoint=NOTES_RATE, creators=10)
    assert {snapshot.user_id for snapshot in own} == {creators["mine"]}
    every = await repository.looked_up_snapshots(token_id=None, endpoint=NOTES_RATE, creators=10)
    assert {snapshot.user_id for snapshot in every} == set(creators.values())
    one = await repository.looked_up_snapshots(token_id=None, endpoint=NOTES_RATE, creators=1)
    assert len({snapshot.user_id for snapshot in one}) == 1


async def test_the_language_follows_the_choice_then_the_browser(console: Console) -> None:
    async with console.client() as http:
        english = await http.get("/console/sign-in")
        assert english.headers["content-language"] == "en"
        chinese = await http.get("/console/sign-in", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
        assert chinese.headers["content-language"] == "zh"
        assert TEXT["zh"]["sign_in_title"] in chinese.text
        switched = await http.get("/console/language/zh?next=/console/sign-in")
        assert switched.status_code == 303
        assert switched.headers["location"] == "/console/sign-in"
        assert (await http.get("/console/sign-in")).headers["content-language"] == "zh"
        away = await http.get("/console/language/en?next=https://evil.example/")
        assert away.headers["location"] == "/console"  # never an open redirect


async def test_the_gate_admits_a_session_holder_with_the_api_s_own_checks(
    console: Console,
) -> None:
    """``Gate.call(holder=...)``: the console's calls pass the same permission and token checks
    as an API call with the token (600 for an endpoint the plan does not allow, 100 once the
    token is revoked)."""
    runtime = console.app.state.runtime
    issuer = runtime.issuer
    await issuer.update_plan("alice", endpoints=["blogger_profile"])
    alice = await issuer.record("alice")
    notes = runtime.endpoints[NOTES_RATE]
    params = {"userId": USER_ID_EXAMPLE}
    refused = await runtime.gate.call(notes, params, request_id="r-600", holder=alice)
    assert int(refused.code) == 600
    profile = runtime.endpoints["blogger_profile"]
    allowed = await runtime.gate.call(profile, params, request_id="r-0", holder=alice)
    assert allowed.ok and allowed.charged == 1
    await issuer.revoke("alice")
    revoked = await issuer.record("alice")
    gone = await runtime.gate.call(profile, params, request_id="r-100", holder=revoked)
    assert int(gone.code) == 100
