"""qlwork — 清廉指数研究工作台 (integrity-index research workbench).

Public names only; each is imported lazily from the module that owns it so
that ``import qlwork`` stays fast (the dashboard and CLI start quicker).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "load_framework": "qlwork.framework",
    "builtin_framework": "qlwork.framework",
    "Framework": "qlwork.framework",
    "Problem": "qlwork.errors",
    "QlworkError": "qlwork.errors",
    "compute_index": "qlwork.index",
    "IndexResult": "qlwork.index",
    "UnitReport": "qlwork.index",
    "effective_weights": "qlwork.aggregate",
    "aggregate_matrix": "qlwork.aggregate",
    "assign_grades": "qlwork.grading",
    "rank_within": "qlwork.grading",
    "validate": "qlwork.validate",
    "ingest": "qlwork.ingest",
    "load_values": "qlwork.ingest",
    "load_units": "qlwork.ingest",
    "generate_demo": "qlwork.demo",
    "project_root": "qlwork.paths",
    "build_review_dashboard": "qlwork.dashboard",
    "estimate_public": "qlwork.survey.pipeline",
    "lins_ccc": "qlwork.compare",
    "bland_altman": "qlwork.compare",
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
    "indicator_profile": "qlwork.profile",
    "coherence_report": "qlwork.coherence",
    "save_figure": "qlwork.plots",
    "cjk_font_family": "qlwork.fonts",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        mod = importlib.import_module(_EXPORTS[name])
        return getattr(mod, name)
    raise AttributeError(f"module 'qlwork' has no attribute {name!r}")


def __dir__():
    return __all__
