"""The workflow layer: one function per user task, shared by the CLI, notebooks and dashboard.

::

    from qlwork import workflow as wf
    prj = wf.Project.open()
    off = wf.score(prj, "2025H2")["2025H2"]        # compute and persist the official result
    off = wf.load_result(prj.processed, "2025H2")   # read it (what every face does)
    off.ranking(); off.unit("U000123"); off.scope("宁溪县").ranking(off)

Nothing outside ``qlwork/cli.py`` imports ``qlwork.commands``; the commands parse
arguments and call these functions.
"""
from __future__ import annotations

from .official import OfficialResult, available_periods, load_result, result_dir, save_result
from .project import Project
from .scoring import RESCORE_LABEL, rescore_scope, score, score_period, what_if
from .summary import ResultSummary, load_summary

__all__ = ["Project", "OfficialResult", "load_result", "save_result", "result_dir", "available_periods", "score",
           "score_period", "rescore_scope", "what_if", "RESCORE_LABEL", "ResultSummary", "load_summary"]
