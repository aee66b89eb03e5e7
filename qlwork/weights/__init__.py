"""Weights (权重): AHP from expert questionnaires, objective weights and their combination.

Public names are imported lazily from the module that owns them.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "ahp_weights": "ahp", "AHPResult": "ahp", "RI_TABLES": "ahp", "DEFAULT_RI_TABLE": "ahp",
    "random_index": "ahp", "priority_vectors": "ahp", "SAATY_SCALE": "ahp",
    "aggregate_judgments": "group", "aggregate_priorities": "group", "group_ahp": "group", "GroupAHPResult": "group",
    "complete_matrix": "incomplete", "CompletionResult": "incomplete",
    "repair_consistency": "repair", "RepairResult": "repair", "inconsistency_table": "repair",
    "hierarchy_weights": "hierarchy", "HierarchyResult": "hierarchy",
    "read_questionnaire": "questionnaire", "read_questionnaires": "questionnaire",
    "QuestionnaireSet": "questionnaire", "write_questionnaire": "questionnaire",
    "entropy_weights": "objective", "critic_weights": "objective", "pca_weights": "objective",
    "equal_weights": "objective", "ObjectiveWeights": "objective",
    "combine_weights": "combine", "CombinedWeights": "combine", "fill_leaf_weights": "combine",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        mod = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(mod, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return __all__
