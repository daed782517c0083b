"""Console pools in process (ASGI transport, real SQLite or PostgreSQL, the sandbox source):
uploads read as ``pgy batch`` reads its inputs, bad rows kept with their line numbers, the
413 cap, CSRF, the quote equal to the charge, progress to completion, sorting and filtering,
the charts and downloads, ownership (404 for another holder), an interrupted fetch resumed
without paying twice, ``pool_members`` and the migration up and down.

The same flows in a real browser: tests/integration/test_console_pools_browser.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import openpyxl
import pytest
from sqlalchemy import inspect

from pgy_metrics.client.inputs import read_user_ids
from pgy_metrics.clock import FixedClock
from pgy_metrics.server import create_app
from pgy_metrics.server.console import pool_fetch
from pgy_metrics.server.console.pools import MAX_UPLOAD_BYTES, read_upload
from pgy_metrics.service.pools import pool_members
from pgy_metrics.service.settings import Settings
from pgy_metrics.store.database import Store
from pgy_metrics.store.pools import DONE, FETCHING, PoolRepository
from pgy_metrics.store.tokens import BillingPlan
from tests.unit.test_console import FIELD, START, Console, _console, csrf_of, sign_in

IDS = [
    "5d21ab6b000000001201567d",
    "5a1b2c3d000000000a000001",
    "5a1b2c3d000000000a000002",
]
CSV = (
    "user_id,note\n"
    f"{IDS[0]},first\n"
    "not-an-id,bad\n"
    f"https://pgy.xiaohongshu.com/solar/pre-trade/blogger-detail/{IDS[1]}?track_id=x,url\n"
    ",empty\n"
    f"https://www.xiaohongshu.com/user/profile/{IDS[2]},profile\n"
    f"{IDS[0]},again\n"
)
POOL_URL = re.compile(r"/console/pools/(\d+)$")


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    async for harness in _console(tmp_path):
        yield harness


async def _upload(
    http: httpx.AsyncClient, content: bytes, filename: str = "creators.csv", **fields: str
) -> httpx.Response:
    page = await http.get("/console/pools")
    data = {"csrf": csrf_of(page), "name": "Spring", **fields}
    return await http.post("/console/pools", data=data, files={"file": (filename, content)})


async def _uploaded(http: httpx.AsyncClient, content: bytes = CSV.encode()) -> int:
    answer = await _upload(http, content)
    assert answer.status_code == 303, answer.text[:500]
    found = POOL_URL.search(answer.headers["location"])
    assert found is not None
    return int(found.group(1))


async def _wait_done(console: Console, pool_id: int) -> None:
    repository = PoolRepository(console.app.state.runtime.store.database)
    for _ in range(2000):  # bounded: the sandbox answers at once; no timing is asserted
        pool = await repository.get(pool_id)
        assert pool is not None
        if pool.state != FETCHING:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the pool's fetch did not finish")


async def _balance(console: Console, name: str = "alice") -> int | None:
    record = await console.app.state.runtime.store.tokens.by_name(name)
    balance: int | None = record.plan.balance
    return balance


# -- upload ------------------------------------------------------------------------------------


def test_an_upload_reads_as_pgy_batch_reads_its_inputs(tmp_path: Path) -> None:
    path = tmp_path / "creators.csv"
    path.write_text(CSV, encoding="utf-8")
    expected = read_user_ids(path)
    user_ids, problems = read_upload("my list.csv", CSV.encode())
    assert user_ids == expected.user_ids == IDS
    assert [(p.line, p.reason) for p in problems] == [(p.line, p.reason) for p in expected.problems]
    assert [p.line for p in problems] == [3, 5]


async def test_a_pool_is_saved_with_its_good_rows_and_lists_the_bad_ones(
    console: Console,
) -> None:
    async with console.client() as http:
        await sign_in(http, console.holder)
        pool_id = await _uploaded(http)
        shown = await http.get(f"/console/pools/{pool_id}")
        assert shown.status_code == 200
        assert "Spring" in shown.text
        problems = shown.text[shown.text.index('id="problems"') :]
        assert re.search(r'<td class="num">3</td><td><code>not-an-id', problems)
        assert re.search(r'<td class="num">5</td>', problems)
        assert "the user id cell is empty" in problems
        assert "3 creators" in shown.text  # the quote names the valid members only
        listed = await http.get("/console/pools")
        assert f'href="/console/pools/{pool_id}"' in listed.text
    members = await PoolRepository(console.app.state.runtime.store.database).members(pool_id)
    assert [m.user_id for m in members] == IDS


async def test_an_xlsx_upload_names_sheet_rows(console: Console) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (["博主ID"], [IDS[0]], ["nope"], [IDS[1]]):
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    async with console.client() as http:
        await sign_in(http, console.holder)
        answer = await _upload(http, buffer.getvalue(), "list.xlsx")
        assert answer.status_code == 303
        shown = await http.get(answer.headers["location"])
        assert re.search(r'<td class="num">3</td><td><code>nope', shown.text)


async def test_uploads_over_the_cap_are_413_and_files_without_ids_are_refused(
    console: Console,
) -> None:
    async with console.client() as http:
        await sign_in(http, console.holder)
        big = await _upload(http, b"user_id\n" + b"x" * (MAX_UPLOAD_BYTES + 70 * 1024))
        assert big.status_code == 413
        assert "larger than 1024 KiB" in big.text
        none = await _upload(http, b"user_id\nnope\n")
        assert none.status_code == 400
        assert "no valid creator" in none.text
        headerless = await _upload(http, b"name,age\nx,1\n", "my list.csv")
        assert headerless.status_code == 400
        assert "my list.csv: no user id column" in headerless.text
        assert "pgy-pool-" not in headerless.text  # never the server's temporary path
        binary = await _upload(http, b"\xff\xfe\x00bad", "list.xlsx")
        assert binary.status_code == 400
        assert "pgy-pool-" not in binary.text
    assert await PoolRepository(console.app.state.runtime.store.database).listed(None) == []


async def test_an_upload_without_the_csrf_token_is_refused_and_saves_nothing(
    console: Console,
) -> None:
    async with console.client() as http:
        await sign_in(http, console.holder)
        answer = await http.post(
            "/console/pools", data={"name": "x"}, files={"file": ("a.csv", CSV.encode())}
        )
        assert answer.status_code == 403
        forged = await _upload(http, CSV.encode(), csrf="0" * 43)
        assert forged.status_code == 403
        pool_id = await _uploaded(http)
        fetch = await http.post(f"/console/pools/{pool_id}/fetch", data={"total": "999"})
        assert fetch.status_code == 403
    repository = PoolRepository(console.app.state.runtime.store.database)
    assert len(await repository.listed(None)) == 1
    pool = await repository.get(pool_id)
    assert pool is not None and pool.state == "new"


# -- fetch, benchmark, downloads ---------------------------------------------------------------


async def test_fetching_costs_the_quote_then_the_pool_is_benchmarked(console: Console) -> None:
    async with console.client() as http:
        await sign_in(http, console.holder)
        pool_id = await _uploaded(http)
        shown = await http.get(f"/console/pools/{pool_id}")
        form = dict(FIELD.findall(shown.text))
        total = int(form["total"])
        assert total > 0
        assert "27 calls" in shown.text  # 3 creators x (8 scopes + the profile)
        assert await _balance(console) == 100
        progress = await http.get(f"/console/pools/{pool_id}/progress")
        assert "Not fetched yet" in progress.text
        confirmed = await http.post(f"/console/pools/{pool_id}/fetch", data=form)
        assert confirmed.status_code == 303
        await _wait_done(console, pool_id)
        assert await _balance(console) == 100 - total
        finished = await http.get(f"/console/pools/{pool_id}/progress")
        assert finished.headers.get("HX-Refresh") == "true"
        assert "3 fetched, 0 failed, 0 remaining of 3" in finished.text

        page = await http.get(f"/console/pools/{pool_id}")
        assert 'id="benchmark"' in page.text
        assert 'data-chart="quadrant"' in page.text and 'data-chart="heatmap"' in page.text
        assert "http://" not in _svgs(page.text) and "https://" not in _svgs(page.text)
        assert 'id="quote"' not in page.text  # nothing left to fetch
        assert f'href="/console/plans?pool={pool_id}"' in page.text

        ascending = await http.get(
            f"/console/pools/{pool_id}", params={"sort": "user_id", "dir": "asc"}
        )
        assert _row_ids(ascending.text) == sorted(IDS)
        descending = await http.get(
            f"/console/pools/{pool_id}", params={"sort": "user_id", "dir": "desc"}
        )
        assert _row_ids(descending.text) == sorted(IDS, reverse=True)
        filtered = await http.get(f"/console/pools/{pool_id}", params={"q": IDS[2][-6:]})
        assert _row_ids(filtered.text) == [IDS[2]]

        xlsx = await http.get(f"/console/pools/{pool_id}/report.xlsx")
        assert xlsx.status_code == 200
        assert "attachment" in xlsx.headers["content-disposition"]
        assert xlsx.headers["x-content-type-options"] == "nosniff"
        book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
        assert "Benchmark" in " ".join(book.sheetnames)
        html = await http.get(f"/console/pools/{pool_id}/report.html")
        assert html.status_code == 200 and "<svg" in html.text
        assert "attachment" in html.headers["content-disposition"]
        assert "default-src 'none'" in html.headers["content-security-policy"]
    assert await _balance(console) == 100 - total  # viewing and downloading cost nothing


def _svgs(text: str) -> str:
    return " ".join(re.findall(r"<svg.*?</svg>", text, re.S)).replace("http://www.w3.org/", "")


def _row_ids(text: str) -> list[str]:
    body = text[text.index('id="benchmark"') :]
    body = body[: body.index("</table>")]
    return re.findall(r'<th scope="row"><code>([0-9a-f]{24})</code>', body)


async def test_another_holder_gets_404_on_every_pool_url_and_an_admin_sees_it(
    console: Console,
) -> None:
    async with console.client() as http:
        await sign_in(http, console.holder)
        pool_id = await _uploaded(http)
    paths = [
        f"/console/pools/{pool_id}",
        f"/console/pools/{pool_id}/progress",
        f"/console/pools/{pool_id}/report.xlsx",
        f"/console/pools/{pool_id}/report.html",
    ]
    async with console.client() as other:
        page = await sign_in(other, console.other)
        for path in paths:
            assert (await other.get(path)).status_code == 404, path
        csrf = csrf_of(await other.get("/console/pools"))
        post = await other.post(f"/console/pools/{pool_id}/fetch", data={"csrf": csrf})
        assert post.status_code == 404
        assert f"/console/pools/{pool_id}" not in (await other.get("/console/pools")).text
        missing = await other.get("/console/pools/999999")
        assert missing.status_code == 404
        assert page.status_code == 303
    async with console.client() as admin:
        await sign_in(admin, console.admin)
        assert (await admin.get(paths[0])).status_code == 200
        listed = await admin.get("/console/pools")
        assert f'href="/console/pools/{pool_id}"' in listed.text
        assert "<td>alice</td>" in listed.text  # an admin sees whose pool it is
    assert await _balance(console, "bob") == 4321


async def test_pool_members_answers_the_holder_and_admins_only(console: Console) -> None:
    async with console.client() as http:
        await sign_in(http, console.holder)
        pool_id = await _uploaded(http)
    runtime = console.app.state.runtime
    alice = await runtime.store.tokens.by_name("alice")
    bob = await runtime.store.tokens.by_name("bob")
    root = await runtime.store.tokens.by_name("root")
    assert await pool_members(runtime, pool_id, alice) == IDS
    assert await pool_members(runtime, pool_id, root) == IDS
    assert await pool_members(runtime, pool_id, bob) is None
    assert await pool_members(runtime, pool_id + 1, alice) is None


async def test_an_interrupted_fetch_resumes_without_paying_twice(console: Console) -> None:
    runtime = console.app.state.runtime
    repository = PoolRepository(runtime.store.database)
    alice = await runtime.store.tokens.by_name("alice")
    async with console.client() as http:
        await sign_in(http, console.holder)
        pool_id = await _uploaded(http)
        first = dict(FIELD.findall((await http.get(f"/console/pools/{pool_id}")).text))
        total = int(first["total"])
        # A fetch that a restart cut short: member 0 fetched and recorded, member 1 paid but
        # not recorded (the process died between the two), member 2 not started.
        now = runtime.clock.now()
        nonce = await repository.start(pool_id, nonce="crashed-nonce", now=now, stale_before=now)
        assert nonce == "crashed-nonce"
        for user_id in IDS[:2]:
            assert await pool_fetch.fetch_member(runtime, alice, pool_id, nonce, user_id) is None
        await repository.mark(pool_id, IDS[0], failed=None, now=now)
        paid = 100 - (await _balance(console) or 0)
        assert paid == total * 2 // 3

        running = await http.get(f"/console/pools/{pool_id}")
        assert 'id="interrupted"' not in running.text  # its heartbeat is still fresh
        assert "Fetching" in running.text
        console.clock.advance(seconds=pool_fetch.STALE.total_seconds() + 1)
        stopped = await http.get(f"/console/pools/{pool_id}")
        assert 'id="interrupted"' in stopped.text
        assert "Resume" in stopped.text
        form = dict(FIELD.findall(stopped.text))
        assert "2 creators" in stopped.text  # member 0 is not quoted again
        # member 1's data is in hand: its 9 calls are quoted at the cached price
        assert "9 answered from data already collected" in stopped.text
        assert int(form["total"]) <= total * 2 // 3
        resumed = await http.post(f"/console/pools/{pool_id}/fetch", data=form)
        assert resumed.status_code == 303
        await _wait_done(console, pool_id)
    pool = await repository.get(pool_id)
    assert pool is not None and pool.state == DONE and pool.done == 3
    assert await _balance(console) == 100 - total  # member 1's calls replayed, not paid again


async def test_the_creator_page_ranks_in_a_chosen_pool(console: Console) -> None:
    async with console.client() as http:
        await sign_in(http, console.holder)
        pool_id = await _uploaded(http)
        form = dict(FIELD.findall((await http.get(f"/console/pools/{pool_id}")).text))
        await http.post(f"/console/pools/{pool_id}/fetch", data=form)
        await _wait_done(console, pool_id)
        plain = await http.get("/console/creator")
        assert f'<option value="{pool_id}"' in plain.text
        other = "5a1b2c3d000000000a000009"
        quote = await http.get("/console/creator", params={"ref": other, "pool": str(pool_id)})
        fields = dict(FIELD.findall(quote.text))
        assert f'name="pool" value="{pool_id}"' in quote.text
        looked = await http.post("/console/creator", data={**fields, "pool": str(pool_id)})
        assert looked.status_code == 200
        assert 'id="pool-percentile"' in looked.text
        assert "Percentile among the 4 creators of the pool Spring" in looked.text
        default = await http.post("/console/creator", data=fields)
        assert 'id="pool-percentile"' not in default.text
    async with console.client() as bob:
        await sign_in(bob, console.other)
        page = await bob.get("/console/creator")
        assert f'<option value="{pool_id}"' not in page.text


# -- the store ---------------------------------------------------------------------------------


async def test_the_migration_adds_the_pool_tables_and_its_downgrade_drops_them(
    store: Store,
) -> None:
    def tables() -> set[str]:
        with store.engine.connect() as connection:
            return set(inspect(connection).get_table_names())

    assert {"pools", "pool_members"} <= tables()
    repository = PoolRepository(store.database)
    from datetime import UTC, datetime

    now = datetime(2026, 11, 28, tzinfo=UTC)
    pool_id = await repository.create(token_id=1, name="p", user_ids=IDS, problems="[]", now=now)
    assert await repository.member_ids(pool_id, 1) == IDS
    assert await repository.member_ids(pool_id, 2) is None
    claimed = await repository.start(pool_id, nonce="n1", now=now, stale_before=now)
    assert claimed == "n1"
    again = await repository.start(pool_id, nonce="n2", now=now, stale_before=now)
    assert again is None  # a fetch with a fresh heartbeat holds it
    await repository.mark(pool_id, IDS[1], failed="301 upstream", now=now)
    pool = await repository.get(pool_id)
    assert pool is not None and (pool.size, pool.done, pool.failed) == (3, 0, 1)
    await store.migrate(to="0006")
    assert not {"pools", "pool_members"} & tables()
    await store.migrate()
    assert await PoolRepository(store.database).listed(None) == []


async def test_a_fetch_cut_by_a_restart_is_resumed_by_the_next_process(tmp_path: Path) -> None:
    """A real cut: the fetch task is cancelled wherever it is (as a dying process leaves it),
    then a new app on the same data resumes it; the holder never pays more than the quote."""
    async for first in _console(tmp_path):
        async with first.client() as http:
            await sign_in(http, first.holder)
            pool_id = await _uploaded(http)
            form = dict(FIELD.findall((await http.get(f"/console/pools/{pool_id}")).text))
            total = int(form["total"])
            await http.post(f"/console/pools/{pool_id}/fetch", data=form)
            task = first.app.state.pool_fetches.running[pool_id]  # still running: cut it
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        holder = first.holder
    clock = FixedClock(START + timedelta(minutes=10))  # past the heartbeat and the in-flight keys
    app = create_app(Settings(data_dir=tmp_path, token_cache_seconds=0), clock=clock)
    async with app.router.lifespan_context(app):
        second = Console(app, clock, holder, "", "", "http://console.test")
        await app.state.runtime.reap()  # what the reaper does for a dead process's reservations
        repository = PoolRepository(app.state.runtime.store.database)
        async with second.client() as http:
            await sign_in(http, holder)
            page = await http.get(f"/console/pools/{pool_id}")
            pool = await repository.get(pool_id)
            assert pool is not None
            assert pool.done < 3  # the cut came before the end
            assert 'id="interrupted"' in page.text
            resumed = dict(FIELD.findall(page.text))
            answer = await http.post(f"/console/pools/{pool_id}/fetch", data=resumed)
            assert answer.status_code == 303
            await _wait_done(second, pool_id)
        pool = await repository.get(pool_id)
        assert pool is not None and pool.done == 3 and pool.state == DONE
        spent = 100 - (await _balance(second) or 0)
        assert 0 < spent <= total


async def test_failed_members_are_listed_with_the_reason_and_retried_on_resume(
    console: Console,
) -> None:
    runtime = console.app.state.runtime
    carol = (await runtime.issuer.create("carol", plan=BillingPlan(balance=10))).token
    async with console.client() as http:
        await sign_in(http, carol)
        pool_id = await _uploaded(http)
        form = dict(FIELD.findall((await http.get(f"/console/pools/{pool_id}")).text))
        assert int(form["total"]) > 10  # more than the balance: some calls will be refused
        await http.post(f"/console/pools/{pool_id}/fetch", data=form)
        await _wait_done(console, pool_id)
        page = await http.get(f"/console/pools/{pool_id}")
        failed = page.text[page.text.index('id="failed"') :]
        failed = failed[: failed.index("</table>")]
        assert "601" in failed  # the gate's insufficient-balance code, with its message
        pool = await PoolRepository(runtime.store.database).get(pool_id)
        assert pool is not None and pool.failed >= 1 and pool.done + pool.failed == 3
        assert 'id="confirm"' in page.text  # the failed ones can be fetched again
        left = await _balance(console, "carol")
        assert left is not None and 0 <= left < 10
        await runtime.issuer.topup("carol", 100)
        again = dict(FIELD.findall(page.text))
        assert await http.post(f"/console/pools/{pool_id}/fetch", data=again) is not None
        await _wait_done(console, pool_id)
        pool = await PoolRepository(runtime.store.database).get(pool_id)
        assert pool is not None and (pool.done, pool.failed) == (3, 0)
        finished = await http.get(f"/console/pools/{pool_id}")
        assert 'id="failed"' not in finished.text
        spent = 10 + 100 - (await _balance(console, "carol") or 0)
        assert spent <= int(form["total"])  # what failed was not charged


async def test_a_fetch_stops_paying_once_its_token_is_revoked(console: Console) -> None:
    runtime = console.app.state.runtime
    async with console.client() as http:
        await sign_in(http, console.holder)
        pool_id = await _uploaded(http)
    alice = await runtime.store.tokens.by_name("alice")  # what a running fetch holds
    await runtime.issuer.revoke("alice")
    fetches = pool_fetch.PoolFetches()
    assert await fetches.start(runtime, alice, pool_id)
    await fetches.running[pool_id]
    members = await PoolRepository(runtime.store.database).members(pool_id)
    assert {(m.status, m.reason) for m in members} == {("failed", pool_fetch.REVOKED)}
    assert await _balance(console) == 100
