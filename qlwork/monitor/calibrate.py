"""Empirical null (Efron 2004): let the bulk of a month's statistics say how wide "normal" is.

The history, shift and drift statistics are N(0, 1) under their stated model — independent
months, a baseline scale estimated without error.  Real monthly series break both a
little (month-to-month correlation widens the sum of six months by √((1+ρ)/(1−ρ)); a year
of history estimates the scale with a 30 % error), and with thousands of units a slightly
wide null raises hundreds of false alerts.  Because almost all of the tests of one
indicator in one month are null, their centre says what the null really is:

    δ₀ = median(ref),   σ₀ = max(1, 1.4826·MAD(ref))   over the units tested for (k, t)
    z' = (z − δ₀) / σ₀

``ref`` is a statistic whose theoretical null is N(0, 1): the z itself for the history
detector, the statistic at the window's first month for the shift and drift scans
(their maximum over onsets is wider by construction, so it cannot calibrate itself).
σ₀ is never below 1: the correction only makes the detector more cautious.  Centring
at δ₀ removes what is left of a shock shared by the whole indicator that month.
With fewer than ``min_tests`` tests in a family the theoretical null is kept.
"""
from __future__ import annotations

import numpy as np

from .kernels import column_median_mad

__all__ = ["empirical_null"]


def empirical_null(z: np.ndarray, ref: np.ndarray, *, min_tests: int = 50):
    """→ (calibrated z, δ₀ (K × E), σ₀ (K × E)); z and ref are U × K × E (evaluated periods).
    One pass over all (indicator, period) families at once."""
    U, K, E = z.shape
    m, mad, n = column_median_mad(ref.reshape(U, K * E))
    use = (n >= min_tests) & np.isfinite(m)
    d0 = np.where(use, m, 0.0)
    s0 = np.where(use, np.fmax(np.nan_to_num(1.4826 * mad, nan=1.0), 1.0), 1.0)
    out = (z.reshape(U, K * E) - d0) / s0
    return out.reshape(U, K, E), d0.reshape(K, E), s0.reshape(K, E)
