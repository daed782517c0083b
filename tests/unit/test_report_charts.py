"""The report charts' Vega-Lite specs: data in, the fields and encodings out, valid against the
Vega-Lite schema, laid out so that nothing is clipped, and drawn to SVG offline with every label.

The specs are what the console embeds with vega-embed and what the HTML report turns into SVG,
so they are checked as data here (which rows, which encodings, which settings) and as the SVG
vl-convert draws from them (each label present, marks with their tooltips). Whether a label
fits its chart in a real browser is tests/integration/test_report_browser.py.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
from importlib import resources
from typing import Any

import polars as pl
import pytest
from altair.utils.schemapi import validate_jsonschema
from altair.vegalite.v6.schema.core import load_schema

from pgy_metrics.analytics.reports.charts import (
    HEATMAP_MAX_CREATORS,
    PERCENTILE_MAX_CREATORS,
    frontier_spec,
    heatmap_spec,
    inline_svg,
    percentile_spec,
    quadrant_spec,
    report_specs,
    scope_label,
    to_svg,
)
from pgy_metrics.analytics.reports.charts.base import PADDING
from pgy_metrics.analytics.reports.data import INDICATOR_LABELS_ZH
from pgy_metrics.analytics.scopes import ANALYSIS_SCOPES
from tests.unit.test_reports import HOSTILE_TAG, sample_report

Spec = dict[str, Any]
USERS = [f"5d21ab{i:02x}00000000abcd{i:04x}" for i in range(1, 5)]
LONG_NAME = "一个名字特别特别长的美妆博主小红书官方认证账号"
"""Longer than any label the hand-drawn charts left room for."""


def _creators() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": USERS,
            "nickname": [LONG_NAME, "小美", "小美", None],
            "content_tag": [HOSTILE_TAG, "美妆", "美妆", "穿搭"],
            "read_median": [1200.0, 56_000.0, None, 800.0],
            "engagement_rate": [0.05, 0.12, 0.08, None],
            "click_through_pct": [0.9, 0.1, None, 0.5],
            "engagement_rate_pct": [0.2, None, None, 0.7],
            "score": [90.0, 80.0, 70.0, 60.0],
        }
    )


def _indicators() -> pl.DataFrame:
    rows = [
        {
            "user_id": user,
            "scope_key": scope.key,
            "collected_at": "2026-11-26T00:00:00",
            "read_median": None if (u == 1 and s == 3) else 100.0 * (u + 1) * (s + 1),
        }
        for u, user in enumerate(USERS)
        for s, scope in enumerate(ANALYSIS_SCOPES)
    ]
    # A later answer for the same creator and scope wins: here it says "missing".
    rows.append(
        {
            "user_id": USERS[0],
            "scope_key": ANALYSIS_SCOPES[0].key,
            "collected_at": "2026-11-27T00:00:00",
            "read_median": None,
        }
    )
    return pl.DataFrame(rows)


def _frontier() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "budget": [1000.0, 2000.0, 4000.0],
            "optimal_value": [10.0, None, 40.0],
            "greedy_value": [9.0, 18.0, 30.0],
        }
    )


def _data(spec: Spec) -> list[dict[str, Any]]:
    """The rows of the chart's main dataset (its data marks)."""
    (name,) = (n for n in spec["datasets"] if n not in {"medians", "corners"})
    rows: list[dict[str, Any]] = spec["datasets"][name]
    return rows


def _layers(spec: Spec) -> list[Spec]:
    return list(spec.get("layer", [spec]))


def _mark_layer(spec: Spec) -> Spec:
    (layer,) = (
        layer
        for layer in _layers(spec)
        if isinstance(layer["mark"], dict) and layer["mark"].get("ariaRoleDescription") == "mark"
    )
    return layer


@pytest.fixture(scope="module")
def specs() -> dict[str, Spec]:
    creators = _creators()
    return {
        "quadrant": quadrant_spec(creators),
        "priced": quadrant_spec(creators, {USERS[0]: 12.5, USERS[1]: 30.0}, synthetic=True),
        "percentiles": percentile_spec(creators),
        "heatmap": heatmap_spec(_indicators(), creators),
        "frontier": frontier_spec(_frontier(), "reads"),
        "empty": heatmap_spec(pl.DataFrame({"user_id": []})),
    }


@pytest.fixture(scope="module")
def svgs(specs: dict[str, Spec]) -> dict[str, str]:
    return {name: to_svg(spec) for name, spec in specs.items()}


def _texts(svg: str) -> list[str]:
    """Every ``<text>`` the SVG draws, unescaped."""
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_every_spec_is_valid_vega_lite_and_laid_out_to_fit(specs: dict[str, Spec]) -> None:
    schema = load_schema()
    for name, spec in specs.items():
        validate_jsonschema(spec, schema)  # raises with the path of the first wrong field
        assert spec["$schema"].endswith(".json")
        assert "/vega-lite/v6" in spec["$schema"]
        # pad: the canvas grows to hold every title, axis label and legend (none is cut off)
        assert spec["autosize"] == {"type": "pad", "contains": "padding"}, name
        assert spec["padding"] == PADDING
        assert spec["config"]["axis"]["labelLimit"] == 0  # no label truncated to "…"
        assert spec["config"]["legend"]["labelLimit"] == 0
        meta = spec["usermeta"]["pgy"]
        assert set(meta) == {"chart", "caption", "marks", "synthetic"}
        assert meta["caption"]
    assert specs["priced"]["title"]["subtitle"] == "合成数据 SYNTHETIC"
    assert "subtitle" not in specs["quadrant"]["title"]


def test_quadrant_reads_on_a_log_scale_and_labels_points_only_in_tooltips(
    specs: dict[str, Spec],
) -> None:
    spec = specs["quadrant"]
    rows = _data(spec)
    # the creators with both a read median and an engagement rate; the others are left out
    assert [row["user_id"] for row in rows] == USERS[:2]
    assert spec["usermeta"]["pgy"]["marks"] == 2
    assert "2 creators missing a value are not shown" in spec["usermeta"]["pgy"]["caption"]
    points = _mark_layer(spec)
    assert points["encoding"]["x"]["scale"]["type"] == "log"
    assert points["encoding"]["y"]["field"] == "y"
    tooltip = [item["field"] for item in points["encoding"]["tooltip"]]
    assert tooltip == ["creator", "user_id", "content_tag", "x_text", "y_text"]
    assert points["encoding"]["description"]["field"] == "tip"
    # no layer writes a creator's name next to its point
    assert not [
        layer
        for layer in _layers(spec)
        if layer["encoding"].get("text", {}).get("field") == "creator"
    ]
    assert rows[0]["y_text"] == "5.0%"
    priced = specs["priced"]
    assert [row["x"] for row in _data(priced)] == [12.5, 30.0]
    assert "type" not in _mark_layer(priced)["encoding"]["x"]["scale"]


def test_percentiles_leave_a_missing_value_out(specs: dict[str, Spec]) -> None:
    spec = specs["percentiles"]
    rows = _data(spec)
    assert len(rows) == 5  # 4 creators x 2 indicators, 3 of them missing
    assert spec["usermeta"]["pgy"]["marks"] == 5
    assert {row["indicator"] for row in rows} == {
        f"{INDICATOR_LABELS_ZH['click_through']} click_through",
        f"{INDICATOR_LABELS_ZH['engagement_rate']} engagement_rate",
    }
    dots = _mark_layer(spec)
    assert dots["encoding"]["x"]["scale"]["domain"] == [0, 1]
    legend = dots["encoding"]["color"]["scale"]["domain"]
    # two creators called 小美 stay two rows; the legend says who misses what
    assert legend[1].startswith(f"小美 ({USERS[1]})")
    assert legend[2].startswith(f"小美 ({USERS[2]})")
    assert legend[2].endswith("(2 项缺失 missing)")
    many = pl.concat([_creators()] * 3).with_columns(
        user_id=pl.Series([f"{i:024x}" for i in range(12)])
    )
    capped = _mark_layer(percentile_spec(many))["encoding"]["color"]["scale"]["domain"]
    assert len(capped) == PERCENTILE_MAX_CREATORS


def test_heatmap_keeps_missing_cells_apart_and_caps_its_rows(specs: dict[str, Spec]) -> None:
    spec = specs["heatmap"]
    rows = _data(spec)
    assert len(rows) == len(USERS) * len(ANALYSIS_SCOPES)
    missing = [(row["user_id"], row["scope_key"]) for row in rows if row["missing"]]
    assert missing == [
        (USERS[0], ANALYSIS_SCOPES[0].key),  # the latest answer said missing
        (USERS[1], ANALYSIS_SCOPES[3].key),
    ]
    assert all(row["value"] is None for row in rows if row["missing"])
    assert spec["usermeta"]["pgy"]["marks"] == len(rows) - 2
    layers = _layers(spec)
    assert layers[0]["encoding"]["x"]["axis"]["orient"] == "top"
    assert layers[0]["encoding"]["x"]["sort"] == [scope_label(s.key) for s in ANALYSIS_SCOPES]
    assert _mark_layer(spec)["encoding"]["color"]["scale"]["type"] == "log"
    assert [layer["mark"]["ariaRoleDescription"] for layer in layers[:2]] == ["mark", "missing"]
    many = pl.DataFrame(
        {
            "user_id": [f"{i:024x}" for i in range(HEATMAP_MAX_CREATORS + 3)],
            "scope_key": ANALYSIS_SCOPES[0].key,
            "engagement_rate": 0.1,
        }
    )
    capped = heatmap_spec(many, metric="engagement_rate")
    assert len(_data(capped)) == HEATMAP_MAX_CREATORS
    assert f"of {HEATMAP_MAX_CREATORS + 3} creators" in capped["usermeta"]["pgy"]["caption"]
    assert _mark_layer(capped)["encoding"]["color"]["scale"]["type"] == "linear"
    with pytest.raises(ValueError, match="metric must be one of"):
        heatmap_spec(many, metric="nope")


def test_frontier_has_a_gap_where_no_plan_meets_the_rules(specs: dict[str, Spec]) -> None:
    spec = specs["frontier"]
    rows = _data(spec)
    assert len(rows) == 6  # 2 series x 3 budgets, the missing value kept as null
    gap = [row for row in rows if row["value"] is None]
    assert [(row["series"], row["budget"]) for row in gap] == [("最优 optimal (MILP)", 2000.0)]
    line = _layers(spec)[0]
    assert line["mark"]["invalid"] == "break-paths-filter-domains"  # broken, not bridged or 0
    assert spec["usermeta"]["pgy"]["marks"] == 5


def test_the_svg_draws_every_label_and_cuts_none(svgs: dict[str, str]) -> None:
    quadrant = _texts(svgs["quadrant"])
    assert "阅读中位数 read_median (log scale)" in quadrant
    assert "互动率 engagement_rate" in quadrant
    assert {"阅读低·互动高", "阅读高·互动低"} <= set(quadrant)
    heatmap = _texts(svgs["heatmap"])
    assert {scope_label(s.key) for s in ANALYSIS_SCOPES} <= set(heatmap)
    assert {LONG_NAME, f"小美 ({USERS[1]})", f"小美 ({USERS[2]})", USERS[3][:8]} <= set(heatmap)
    percentiles = _texts(svgs["percentiles"])
    assert f"{LONG_NAME} · {HOSTILE_TAG}" in percentiles  # text, escaped in the SVG
    assert HOSTILE_TAG not in svgs["percentiles"]
    assert {"最优 optimal (MILP)", "贪心 greedy"} <= set(_texts(svgs["frontier"]))
    assert "the indicators frame has no read_median" in " ".join(_texts(svgs["empty"]))
    for name, svg in svgs.items():
        assert not [text for text in _texts(svg) if text.endswith("…")], name
        width, height = (float(v) for v in re.search(r'viewBox="0 0 (\S+) (\S+)"', svg).groups())
        # a translate beyond the canvas would put a whole group outside it
        for x, y in re.findall(r"translate\((-?[\d.]+),(-?[\d.]+)\)", svg.split("</defs>")[-1]):
            assert -width <= float(x) <= 2 * width and -height <= float(y) <= 2 * height, name


def test_inline_svg_tags_marks_with_their_tooltip_and_drops_the_namespace(
    specs: dict[str, Spec],
) -> None:
    chart = inline_svg("heatmap", specs["heatmap"])
    svg = str(chart.svg)
    assert svg.startswith('<svg data-chart="heatmap" class="chart" role="img"')
    assert "xmlns" not in svg
    assert "http" not in svg
    assert chart.marks == specs["heatmap"]["usermeta"]["pgy"]["marks"]
    assert svg.count('class="mark"') == chart.marks
    assert svg.count('class="missing"') == 2
    assert f"<title>{LONG_NAME} · {scope_label(ANALYSIS_SCOPES[1].key)}: 200</title>" in svg
    assert chart.caption == specs["heatmap"]["usermeta"]["pgy"]["caption"]


def test_report_specs_has_each_chart_of_a_report() -> None:
    with_plan = report_specs(sample_report())
    assert list(with_plan) == ["quadrant", "percentiles", "heatmap", "frontier"]
    assert list(report_specs(sample_report(with_plan=False))) == [
        "quadrant",
        "percentiles",
        "heatmap",
    ]
    assert all(s["usermeta"]["pgy"]["chart"] == name for name, s in with_plan.items())


VENDOR = {
    "vega.min.js": ("ea6a5936381d06f912466354e2b6a20eb66c4d41f1ca9dff1e0236dfee6ee392", "6.2.0"),
    "vega-lite.min.js": (
        "6d5035fdd429b4bc6f91f3754426c3f516f3dbd8e08b105cfc2496bed4ebd254",
        "6.4.1",
    ),
    "vega-embed.min.js": (
        "b1455caba2fb1a72fb46025ba0ba1316e2dbc7f0dd40a3f6040172bf9c08ba91",
        "7.3.0",
    ),
}


def test_the_vendored_chart_scripts_are_package_data_with_their_licences() -> None:
    folder = resources.files("pgy_metrics.server") / "static" / "vendor"
    readme = (folder / "README.md").read_text("utf-8")
    for name, (digest, version) in VENDOR.items():
        script = (folder / name).read_bytes()
        assert hashlib.sha256(script).hexdigest() == digest, name
        assert f"{digest}  {name}" in readme
        assert f"@{version}`" in readme
        assert f'"{version}"'.encode() in script, name
        licence = (folder / name.replace(".min.js", ".LICENSE")).read_text("utf-8")
        assert "University of Washington Interactive Data Lab" in licence
    # the console draws the specs altair writes: same Vega-Lite major version
    spec = quadrant_spec(_creators())
    assert "/vega-lite/v6." in spec["$schema"]


def test_importing_the_reports_loads_neither_altair_nor_vl_convert() -> None:
    """Both take about a second to load: only building or drawing a chart may pay for it (so
    ``pgy --help``, the server and ``import pgy_metrics.analytics.reports`` do not)."""
    code = (
        "import sys\n"
        "import pgy_metrics.analytics.reports, pgy_metrics.analytics.reports.charts\n"
        "from pgy_metrics.cli.main import app\n"
        "print(sorted(m for m in ('altair', 'vl_convert') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert result.stdout.strip() == "[]"


def test_drawing_a_chart_needs_no_network(specs: dict[str, Spec], tmp_path: Any) -> None:
    """vl-convert draws in a network namespace with no interface but loopback (``unshare -rn``):
    no font, schema or script is fetched, so a report is written offline."""
    unshare = shutil.which("unshare")
    if unshare is None or subprocess.run([unshare, "-rn", "true"], check=False).returncode:
        pytest.skip("no unshare -rn here (util-linux, user namespaces): cannot cut the network")
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(specs["priced"]), encoding="utf-8")
    code = (
        "import json, sys\n"
        "from pgy_metrics.analytics.reports.charts import to_svg\n"
        "print(to_svg(json.loads(open(sys.argv[1], encoding='utf-8').read())))\n"
    )
    drawn = subprocess.run(
        [unshare, "-rn", sys.executable, "-c", code, str(spec_file)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert drawn.returncode == 0, drawn.stderr
    assert drawn.stdout.startswith("<svg")
    assert "千次阅读成本 price per 1,000 expected reads" in drawn.stdout
