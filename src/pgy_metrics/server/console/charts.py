"""The console's charts: a Vega-Lite spec (``analytics.reports.charts``) handed to the page
twice, as a static SVG drawn on the server (``to_svg``, vl-convert: what a browser without
JavaScript shows, with a ``<title>`` tooltip per mark) and as the JSON spec that
``static/console-charts.js`` draws with vega-embed (tooltips, nothing sent anywhere).

The spec travels in the figure's ``data-spec`` attribute, HTML-escaped by Jinja like any
attribute, not in a ``<script type="application/json">`` block: the creator page's result is
swapped in by htmx, whose configuration (``allowScriptTags: false``) drops script elements
from swapped content, so a script block would vanish on the way. Every ``<`` is also written
``\\u003c`` (still the same JSON), so no creator name or tag such as ``</script>`` reaches
the page as markup whichever way the spec is embedded.

The vendored scripts are the report's (``server/static/vendor``, versions and licences in its
README), served through ``pages.STATIC``; ``base.html`` loads them on a page given ``charts``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

log = logging.getLogger("pgy_metrics.server.console")


@dataclass(frozen=True, slots=True)
class ConsoleChart:
    """One chart of a console page: the JSON spec for vega-embed, the static SVG and caption."""

    name: str
    spec_json: str
    svg: Markup
    caption: str


def spec_json(spec: dict[str, Any]) -> str:
    """The spec as JSON with no ``<`` in it at all (see the module doc); a plain ``str``, so
    the template escapes it into its attribute."""
    text = json.dumps(spec, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c")


def console_chart(name: str, spec: dict[str, Any]) -> ConsoleChart | None:
    """The chart of ``spec`` for a page; None when the spec cannot be drawn (logged), so a
    page shows its table instead of failing."""
    from pgy_metrics.analytics.reports.charts import inline_svg

    try:
        figure = inline_svg(name, spec)
    except Exception:  # vl-convert refusing a spec must not break the page
        log.exception("the console could not draw the chart %s", name)
        return None
    return ConsoleChart(name, spec_json(spec), figure.svg, figure.caption)
