"""The self-contained HTML report of ``benchlib report`` (``figures/report.html``): :func:`build_report`."""

from __future__ import annotations

from benchlib.report_html.build import REPORT_NAME, build_report, report_context

__all__ = ["REPORT_NAME", "build_report", "report_context"]
