"""Public-satisfaction survey scoring (获得感): reading, validity rules, scoring,
weights, per-unit estimates with honest uncertainty, and small-sample shrinkage.

Submodules: :mod:`.read`, :mod:`.scoring`, :mod:`.weighting`,
:mod:`.estimates`, :mod:`.shrinkage`, :mod:`.pipeline`.
"""
from __future__ import annotations

from .estimates import (REPORTING_DEFAULTS, WeightedMean, frequency_weight_se, group_estimates,
                        proportion_interval, reporting_flags, weighted_mean)
from .shrinkage import (BetaBinomialResult, FayHerriotResult, beta_binomial, design_matrix,
                        fay_herriot)
from .weighting import RakeResult, kish, margins_from_table, poststratify, rake, rake_by

__all__ = [
    "rake", "rake_by", "RakeResult", "poststratify", "kish", "margins_from_table",
    "weighted_mean", "WeightedMean", "frequency_weight_se", "group_estimates",
    "proportion_interval", "reporting_flags", "REPORTING_DEFAULTS",
    "fay_herriot", "FayHerriotResult", "design_matrix", "beta_binomial", "BetaBinomialResult",
]
