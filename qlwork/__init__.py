"""qlwork — 清廉指数研究工作台 (integrity-index research workbench).

Public names only; each is imported lazily from the module that owns it so
that ``import qlwork`` stays fast (the dashboard and CLI start quicker).
"""
from __future__ import annotations

import importlib

from ._version import __version__  # noqa: E402

_EXPORTS = {
    "load_framework": "qlwork.framework",
    "builtin_framework": "qlwork.framework",
    "Framework": "qlwork.framework",
    "Problem": "qlwork.errors",
    "QlworkError": "qlwork.errors",
    "compute_index": "qlwork.engine.index",
    "IndexResult": "qlwork.engine.index",
    "UnitReport": "qlwork.engine.index",
    "effective_weights": "qlwork.engine.aggregate",
    "aggregate_matrix": "qlwork.engine.aggregate",
    "assign_grades": "qlwork.engine.grading",
    "rank_within": "qlwork.engine.grading",
    "validate": "qlwork.io.validate",
    "ingest": "qlwork.io.build",
    "load_values": "qlwork.io.ingest",
    "load_units": "qlwork.io.ingest",
    "generate_demo": "qlwork.demo",
    "project_root": "qlwork.paths",
    "build_review_dashboard": "qlwork.dashboard",
    "estimate_public": "qlwork.survey.pipeline",
    "lins_ccc": "qlwork.analysis.compare",
    "bland_altman": "qlwork.analysis.compare",
    "generate_reports": "qlwork.report",
    "write_workbook": "qlwork.report",
    "UnitReportBuilder": "qlwork.report",
    "ahp_weights": "qlwork.weights",
    "group_ahp": "qlwork.weights",
    "hierarchy_weights": "qlwork.weights",
    "read_questionnaires": "qlwork.weights",
    "entropy_weights": "qlwork.weights",
    "critic_weights": "qlwork.weights",
    "combine_weights": "qlwork.weights",
    "indicator_profile": "qlwork.analysis.profile",
    "coherence_report": "qlwork.analysis.coherence",
    "save_figure": "qlwork.charts.plots",
    "cjk_font_family": "qlwork.charts.fonts",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        mod = importlib.import_module(_EXPORTS[name])
        return getattr(mod, name)
    raise AttributeError(f"module 'qlwork' has no attribute {name!r}")


def __dir__():
    return __all__
