"""Sensitivity and uncertainty of ranks and grades (敏感性与不确定性分析).

Main entry: :func:`run` (an IndexResult) or :func:`run_arrays`.  See
``docs/sensitivity.md`` for the methods, formulas and the benchmark.
"""
from __future__ import annotations

from .api import DEFAULT_CHUNK, make_design, run, run_arrays, run_design
from .draws import BLOCK, AHPJudgments, Dirichlet, Fixed, Hierarchy, UniformPerturbation, WeightModel
from .engine import Design, Methods
from .summaries import RankStatistics, SensitivityResult, rank_statistics

__all__ = [
    "run", "run_arrays", "run_design", "make_design", "DEFAULT_CHUNK", "BLOCK",
    "Hierarchy", "WeightModel", "Fixed", "Dirichlet", "UniformPerturbation", "AHPJudgments",
    "Design", "Methods", "SensitivityResult", "RankStatistics", "rank_statistics",
    "tipping_points", "TippingResult", "sobol_indices", "SobolResult", "saltelli_indices",
]


def __getattr__(name):
    if name in ("tipping_points", "TippingResult"):
        from . import tipping

        return getattr(tipping, name)
    if name in ("sobol_indices", "SobolResult", "saltelli_indices"):
        from . import sobol

        return getattr(sobol, name)
    raise AttributeError(name)
