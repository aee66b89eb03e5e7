"""Reports for review meetings: the Excel workbook (排行榜), per-unit health-check
reports (体检报告单), warning notices (预警通知书), analyst charts and PDFs.

Entry point: :func:`generate_reports` (writes a whole set atomically under
``data/processed/reports/<period>/<scope>/``); the pieces are usable alone.
"""
from __future__ import annotations

from .batch import ReportSet, generate_reports, swap_dirs
from .charts import export_charts
from .excel import public_table, ranking_table, warning_table, write_workbook
from .methodology import data_files_from_values, data_files_table, methodology_table, weights_table
from .notices import render_notice, warned_units, write_notice_summary, write_notices
from .pdf import find_chromium, html_to_pdf, html_to_png, htmls_to_pdf, pdf_page_count, print_pdfs
from .unit_report import UnitReportBuilder, render_unit_report, sensitivity_frame, write_unit_reports

__all__ = [
    "ReportSet", "generate_reports", "swap_dirs", "export_charts",
    "write_workbook", "ranking_table", "warning_table", "public_table",
    "methodology_table", "weights_table", "data_files_table", "data_files_from_values",
    "UnitReportBuilder", "render_unit_report", "write_unit_reports", "sensitivity_frame",
    "render_notice", "warned_units", "write_notices", "write_notice_summary",
    "find_chromium", "html_to_pdf", "htmls_to_pdf", "html_to_png", "print_pdfs", "pdf_page_count",
]
