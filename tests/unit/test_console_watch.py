"""The console's watchlists page and charts in process (ASGI transport, real SQLite, the sandbox
source): who may open the page, the create form's validation with the CLI's messages and bad
lines by number, uploads read as ``pgy batch`` reads them, removal behind the CSRF token, the
history and refresh chart specs, the spec embedded so that no ``</script>`` can end its block,
and the chart scripts served from the package.

The same flows in a real browser: tests/integration/test_console_watch_browser.py.
"""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from altair.utils.schemapi import validate_jsonschema
from altair.vegalite.v6.schema.core import load_schema
from markupsafe import Markup

from pgy_metrics.analytics.reports.charts import history_spec, refreshes_spec
from pgy_metrics.contract.params import USER_ID_EXAMPLE
from pgy_metrics.server.console.charts import spec_json
from pgy_metrics.server.console.pages import SECURITY_HEADERS
from pgy_metrics.server.console.watch import Entry, check_entry, read_upload
from pgy_metrics.service.pools import pools_of
from tests.unit.test_console import START, Console, _console, csrf_of, sign_in

OTHER_ID = "5d21ab6b000000001201567e"
PROFILE_URL = f"https://www.xiaohongshu.com/user/profile/{OTHER_ID}"


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[Console]:
    async for harness in _console(tmp_path):
        yield harness


# -- chart specs --------------------------------------------------------------------------------


def test_history_spec_is_valid_vega_lite_with_tooltips_and_leaves_a_gap_for_a_missing_value() -> (
    None
):
    points = [
        ("2026-11-01T08:00:00+08:00", 0.051, "5.1%"),
        ("2026-11-02T08:00:00+08:00", None, "—"),
        ("2026-11-03T08:00:00+08:00", 0.072, "7.2%"),
    ]
    spec = history_spec(
        points,
        field="interaction_rate",
        label_en="interaction rate",
        label_zh="互动率",
        scope="日常笔记",
        percent=True,
    )
    validate_jsonschema(spec, load_schema())
    rows = spec["datasets"]["history"]
    assert [row["value"] for row in rows] == [0.051, None, 0.072]  # missing is not 0
    assert spec["usermeta"]["pgy"]["marks"] == 2
    point_layer = spec["layer"][1]
    tooltips = point_layer["encoding"]["tooltip"]
    assert [tip["field"] for tip in tooltips] == ["time", "text"]
    assert spec["layer"][0]["mark"]["invalid"] == "break-paths-filter-domains"
    assert spec["layer"][0]["encoding"]["y"]["axis"]["format"] == ".1%"


def test_history_spec_without_any_value_says_so() -> None:
    spec = history_spec(
        [("2026-11-01T08:00:00+08:00", None, "—")],
        field="read_median",
        label_en="read median",
        label_zh="阅读中位数",
        scope="x",
    )
    assert spec["usermeta"]["pgy"]["marks"] == 0
    assert "no stored collection" in spec["usermeta"]["pgy"]["caption"]


def test_refreshes_spec_counts_collections_per_hour_with_empty_hours_as_zero() -> None:
    now = START + timedelta(hours=5, minutes=10)
    moments = [START + timedelta(minutes=5), START + timedelta(minutes=50), now]
    spec = refreshes_spec(moments, title="brand-a", now=now)
    validate_jsonschema(spec, load_schema())
    counts = [row["count"] for row in spec["datasets"]["refreshes"]]
    assert counts == [2, 0, 0, 0, 0, 1]
    assert spec["usermeta"]["pgy"]["caption"].startswith("3 ")
    empty = refreshes_spec([], title="brand-a", now=now)
    assert empty["usermeta"]["pgy"]["marks"] == 0


def test_the_embedded_spec_holds_no_markup_and_is_escaped_into_its_attribute() -> None:
    from pgy_metrics.server.console.charts import ConsoleChart
    from pgy_metrics.server.console.pages import PAGES

    spec = {"title": {"text": ['</script><script>alert(1)</script>" onload="x']}, "x": "a<b&c"}
    embedded = spec_json(spec)
    assert "<" not in embedded
    assert json.loads(embedded) == spec  # the same JSON once parsed
    chart = ConsoleChart("c", embedded, Markup("<svg></svg>"), "caption")
    written = PAGES.get_template("_chart.html").render(chart=chart)
    attribute = re.search(r'data-spec="([^"]*)"', written)
    assert attribute is not None
    assert json.loads(html.unescape(attribute.group(1))) == spec
    assert "<script" not in written


# -- access -------------------------------------------------------------------------------------


async def test_a_holder_is_refused_the_watchlists_pages_and_forms(console: Console) -> None:
    async with console.client() as http:
        await sign_in(http, console.holder)
        home = await http.get("/console")
        assert "/console/watchlists" not in home.text  # no nav link for a holder
        for path in ("/console/watchlists", "/console/watchlists/default"):
            refused = await http.get(path)
            assert refused.status_code == 403
            assert "admin tokens" in refused.text
        csrf = csrf_of(home)
        posted = await http.post(
            "/console/watchlists",
            data={"csrf": csrf, "name": "x", "ids": USER_ID_EXAMPLE, "every": "24h"},
        )
        assert posted.status_code == 403
        removed = await http.post("/console/watchlists/x/remove", data={"csrf": csrf})
        assert removed.status_code == 403
    assert await console.app.state.runtime.store.watchlists.lists() == []


async def test_signed_out_is_sent_to_sign_in(console: Console) -> None:
    async with console.client() as http:
        answer = await http.get("/console/watchlists")
        assert answer.status_code == 303
        assert answer.headers["location"] == "/console/sign-in"


# -- create, list, remove -----------------------------------------------------------------------


async def test_a_list_takes_a_pool_s_creators(console: Console) -> None:
    """``/console/watchlists?pool=ID`` (a pool page's "Watch these creators") preselects the
    pool; its members join the pasted ones; a pool that does not exist is a form error."""
    runtime = console.app.state.runtime
    admin = await runtime.store.tokens.by_name("root")
    pool_id = await pools_of(runtime).create(
        token_id=admin.id,
        name="spring",
        user_ids=[USER_ID_EXAMPLE, OTHER_ID],
        problems="",
        now=runtime.clock.now(),
    )
    async with console.client() as http:
        await sign_in(http, console.admin)
        page = await http.get("/console/watchlists", params={"pool": str(pool_id)})
        assert f'<option value="{pool_id}" selected>spring (2)</option>' in page.text
        form = {"csrf": csrf_of(page), "name": "spring", "ids": "", "every": "24h"}
        missing = await http.post("/console/watchlists", data={**form, "pool": "999"})
        assert missing.status_code == 400 and "there is no pool 999" in missing.text
        created = await http.post("/console/watchlists", data={**form, "pool": str(pool_id)})
        assert created.status_code == 200, created.text[:2000]
    listed = await runtime.store.watchlists.lists()
    assert [(w.name, w.creators) for w in listed] == [("spring", 2)]


async def test_an_admin_creates_a_list_with_a_bad_line_sees_it_listed_and_removes_it(
    console: Console,
) -> None:
    store = console.app.state.runtime.store
    async with console.client() as http:
        await sign_in(http, console.admin)
        page = await http.get("/console/watchlists")
        assert page.status_code == 200
        assert (
            page.headers["content-security-policy"] == (SECURITY_HEADERS["Content-Security-Policy"])
        )
        assert "No watchlists yet" in page.text
        assert "capacity not checked" in page.text  # the sandbox has no account pool
        created = await http.post(
            "/console/watchlists",
            data={
                "csrf": csrf_of(page),
                "name": "brand-a",
                "ids": f"{USER_ID_EXAMPLE}\n# a comment\nnot-an-id\n{PROFILE_URL}\n",
                "scopes": "default",
                "every": "6h",
            },
        )
        assert created.status_code == 200, created.text[:2000]
        assert "2 key(s) added" in created.text
        assert "line 3" in created.text and "not-an-id" in created.text
        assert 'data-list="brand-a"' in created.text
        assert "Calls needed: 8 a day" in created.text  # 2 keys × 4 refreshes a day
        listed = await store.watchlists.lists()
        assert [(w.name, w.period_seconds, w.creators) for w in listed] == [("brand-a", 21600, 2)]
        row = re.search(r'data-list="brand-a">.*?class="next-due">([^<]+)<', created.text, re.S)
        assert row is not None and row.group(1).startswith(str(START.year))

        one = await http.get("/console/watchlists/brand-a")
        assert one.status_code == 200
        assert f"/console/creator?ref={USER_ID_EXAMPLE}#history-title" in one.text
        assert f"/console/creator?ref={OTHER_ID}#history-title" in one.text
        assert 'data-chart="refreshes"' in one.text
        assert '<script src="/console/static/vega-embed.min.js" defer>' in one.text

        no_csrf = await http.post("/console/watchlists/brand-a/remove", data={"csrf": "x"})
        assert no_csrf.status_code == 403
        assert len(await store.watchlists.lists()) == 1
        removed = await http.post("/console/watchlists/brand-a/remove", data={"csrf": csrf_of(one)})
        assert removed.status_code == 303
        assert removed.headers["location"] == "/console/watchlists?removed=brand-a"
        assert await store.watchlists.lists() == []
        gone = await http.post("/console/watchlists/brand-a/remove", data={"csrf": csrf_of(one)})
        assert gone.status_code == 404


async def test_the_form_says_what_is_wrong_with_the_cli_s_messages(console: Console) -> None:
    async with console.client() as http:
        await sign_in(http, console.admin)
        page = await http.get("/console/watchlists")
        bad = await http.post(
            "/console/watchlists",
            data={
                "csrf": csrf_of(page),
                "name": "no spaces",
                "ids": "nothing useful",
                "scopes": "DAILY_NOTE.NOPE",
                "every": "30s",
            },
        )
        assert bad.status_code == 400
        assert "name must be 1-100 letters" in bad.text
        assert "every must be at least 1m (60s); got &#39;30s&#39;" in bad.text
        assert "scopes must be one of default, all, daily" in bad.text
        assert "line 1" in bad.text
        assert 'value="no spaces"' in bad.text  # the form keeps what was typed
        assert await console.app.state.runtime.store.watchlists.lists() == []


def test_check_entry_reads_presets_and_deduplicates() -> None:
    entry = check_entry(
        Entry(name="x", every="24h", scopes="analysis", ids=f"{USER_ID_EXAMPLE}\n{USER_ID_EXAMPLE}")
    )
    assert entry.errors == []
    assert entry.user_ids == [USER_ID_EXAMPLE]
    assert len(entry.keys) == 8
    assert entry.period == 86_400


async def test_an_uploaded_xlsx_is_read_as_pgy_batch_reads_it(console: Console) -> None:
    from openpyxl import Workbook  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    sheet.append(["博主ID", "备注"])
    sheet.append([USER_ID_EXAMPLE, "ok"])
    sheet.append(["", "empty id"])
    sheet.append([PROFILE_URL, "url"])
    body = io.BytesIO()
    book.save(body)
    async with console.client() as http:
        await sign_in(http, console.admin)
        page = await http.get("/console/watchlists")
        created = await http.post(
            "/console/watchlists",
            data={"csrf": csrf_of(page), "name": "upload", "every": "24h", "scopes": "default"},
            files={"file": ("creators.xlsx", body.getvalue(), "application/octet-stream")},
        )
        assert created.status_code == 200, created.text[:2000]
        assert "2 key(s) added" in created.text
        assert "line 3" in created.text and "the user id cell is empty" in created.text
        no_csrf = await http.post(
            "/console/watchlists",
            data={"name": "upload2", "every": "24h"},
            files={"file": ("creators.xlsx", body.getvalue(), "application/octet-stream")},
        )
        assert no_csrf.status_code == 403


def test_an_upload_without_an_id_column_names_the_file_not_a_temporary_path() -> None:
    from pgy_metrics.sheets import UnreadableTable

    with pytest.raises(UnreadableTable) as raised:
        read_upload("mine.csv", b"name,notes\nalice,x\n")
    assert str(raised.value).startswith("mine.csv: no user id column")
    assert "pgy-watch-" not in str(raised.value)


# -- scripts ------------------------------------------------------------------------------------


async def test_the_chart_scripts_are_served_from_the_package(console: Console) -> None:
    async with console.client() as http:
        for name in ("vega.min.js", "vega-lite.min.js", "vega-embed.min.js", "console-charts.js"):
            answer = await http.get(f"/console/static/{name}")
            assert answer.status_code == 200, name
            assert answer.headers["content-type"].startswith("text/javascript")
        ours = (await http.get("/console/static/console-charts.js")).text
        assert "actions: false" in ours and "ast: true" in ours


async def test_the_creator_page_charts_each_history_field_and_keeps_the_table(
    console: Console,
) -> None:
    from tests.unit.test_console import FIELD

    async with console.client() as http:
        await sign_in(http, console.holder)
        quote = await http.get("/console/creator", params={"ref": USER_ID_EXAMPLE})
        fetched = await http.post("/console/creator", data=dict(FIELD.findall(quote.text)))
        assert fetched.status_code == 200
        page = fetched.text
        for field in ("note_number", "imp_median", "read_median", "interaction_rate"):
            assert f'data-chart="history-{field}"' in page
        specs = re.findall(r'data-spec="([^"]*)"', page)
        assert len(specs) == 5
        assert all(json.loads(html.unescape(s))["usermeta"]["pgy"]["marks"] == 1 for s in specs)
        assert '<details class="history-table" id="history-table">' in page  # the table, folded
        assert 'id="history"' in page
        assert '<script src="/console/static/console-charts.js" defer>' in page
