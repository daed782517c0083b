"""Vega-Lite spec -> static SVG, offline, and that SVG made fit to inline in the HTML report.

``to_svg`` is vl-convert: Vega and Vega-Lite run in an engine embedded in the wheel, so no
browser, no Node.js and no network are needed, and the SVG it gives is the one vega-embed would
draw in the console. vl-convert is imported inside ``to_svg`` (its engine starts on the first
call, about a second): importing this module costs nothing.

``inline_svg`` turns that standalone SVG into the report's figure: every data mark (the items
whose ``aria-roledescription`` is ``base.MARK_ROLE``) gets ``class="mark"`` and a ``<title>``
with its description, which the browser shows as a tooltip with no script at all; a heat-map
cell without a value gets ``class="missing"`` instead. The ``xmlns`` declarations go (inline SVG
in HTML5 needs none), so the report holds no ``http://`` string. ElementTree escapes every text
and attribute it writes, so a creator tag like ``<script>`` stays text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

from markupsafe import Markup

from pgy_metrics.analytics.reports.charts.base import MARK_ROLE, MISSING_ROLE

__all__ = ["Chart", "inline_svg", "to_svg"]

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
_SCHEMA_VERSION = re.compile(r"/vega-lite/v(\d+\.\d+)")


@dataclass(frozen=True, slots=True)
class Chart:
    """One figure of the HTML report: its inline SVG, caption and number of data marks."""

    name: str
    svg: Markup
    caption: str
    marks: int


def _vl_version(spec: Mapping[str, Any]) -> str | None:
    """The Vega-Lite version the spec was written for (altair's ``$schema``), when vl-convert
    has it; otherwise vl-convert's default."""
    import vl_convert

    match = _SCHEMA_VERSION.search(str(spec.get("$schema", "")))
    if match and match.group(1) in vl_convert.get_vegalite_versions():
        return match.group(1)
    return None


def to_svg(spec: Mapping[str, Any]) -> str:
    """The standalone SVG document of a Vega-Lite ``spec`` (all data inline), drawn offline."""
    import vl_convert

    plain = json.loads(json.dumps(spec))  # plain JSON types only, whatever built the spec
    version = _vl_version(spec)
    if version is None:
        return str(vl_convert.vegalite_to_svg(plain))
    return str(vl_convert.vegalite_to_svg(plain, vl_version=version))


def _tag(element: ET.Element) -> str:
    return element.tag.rpartition("}")[2]


def _mark_data_items(root: ET.Element) -> int:
    """Class and ``<title>`` on each data item; returns how many ``mark`` items there are."""
    marks = 0
    for group in root.iter(f"{{{SVG_NS}}}g"):
        if "role-mark" not in group.get("class", "").split():
            continue
        for item in list(group):
            role = item.get("aria-roledescription")
            if role not in {MARK_ROLE, MISSING_ROLE}:
                continue
            item.set("class", "mark" if role == MARK_ROLE else "missing")
            marks += role == MARK_ROLE
            label = item.get("aria-label")
            if label:
                tooltip = ET.Element(f"{{{SVG_NS}}}title")
                tooltip.text = label
                item.insert(0, tooltip)
    return marks


def inline_svg(name: str, spec: Mapping[str, Any]) -> Chart:
    """The report's figure for ``spec``: ``<svg data-chart="name" class="chart" role="img">``
    with a ``<title>``, its data marks tagged, and the caption from ``usermeta.pgy``."""
    meta = spec.get("usermeta", {}).get("pgy", {})
    ET.register_namespace("", SVG_NS)
    ET.register_namespace("xlink", XLINK_NS)
    root = ET.fromstring(to_svg(spec))  # noqa: S314 - our own engine's output, not user XML
    marks = _mark_data_items(root)
    # Ours first, so ``<svg data-chart="...">`` finds the chart; Vega's own class is dropped.
    vega = {k: v for k, v in root.attrib.items() if k not in {"class", "version"}}
    root.attrib.clear()
    root.attrib.update({"data-chart": name, "class": "chart", "role": "img", **vega})
    heading = spec.get("title", {})
    lines = heading.get("text", []) if isinstance(heading, dict) else heading
    title = ET.Element(f"{{{SVG_NS}}}title")
    title.text = " ".join(lines) if isinstance(lines, list) else str(lines)
    root.insert(0, title)
    text = ET.tostring(root, encoding="unicode", short_empty_elements=False)
    text = text.replace(f' xmlns="{SVG_NS}"', "", 1).replace(f' xmlns:xlink="{XLINK_NS}"', "", 1)
    # Safe: ElementTree escaped every text and attribute value it serialised.
    svg = Markup(text)  # noqa: S704
    return Chart(name, svg, str(meta.get("caption", "")), marks)
