"""Report files: an XLSX workbook and a self-contained HTML page from one ``ReportData``.

The ``pgy report`` and ``pgy plan`` commands build a ``ReportData`` from the other analytics
modules and call ``write_report``; nothing here computes an indicator, it only lays them out.
See ``docs/reports.md``.
"""

from __future__ import annotations

from pathlib import Path

from pgy_metrics.analytics.reports.data import (
    SYNTHETIC_NOTICE,
    UNKNOWN_SOURCE_NOTICE,
    CellKind,
    PlanReport,
    ReportData,
    column_kind,
    column_label,
)
from pgy_metrics.analytics.reports.excel import SHEETS, write_xlsx
from pgy_metrics.analytics.reports.html import render_html, write_html

__all__ = [
    "HTML_NAME",
    "SHEETS",
    "SYNTHETIC_NOTICE",
    "UNKNOWN_SOURCE_NOTICE",
    "XLSX_NAME",
    "CellKind",
    "PlanReport",
    "ReportData",
    "column_kind",
    "column_label",
    "render_html",
    "write_html",
    "write_report",
    "write_xlsx",
]

XLSX_NAME = "report.xlsx"
HTML_NAME = "report.html"


def write_report(report: ReportData, out_dir: str | Path) -> list[Path]:
    """Write ``report.xlsx`` and ``report.html`` into ``out_dir`` (created if missing).

    Returns the paths written, workbook first.
    """
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_xlsx(report, folder / XLSX_NAME), write_html(report, folder / HTML_NAME)]
