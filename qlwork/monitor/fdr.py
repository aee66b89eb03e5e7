"""Benjamini–Hochberg control of the false discovery rate (Benjamini & Hochberg 1995).

Within one *family* of m tests with p-values p₍₁₎ ≤ … ≤ p₍ₘ₎ the BH-adjusted p-value
(q-value) of the i-th smallest is ``q₍ᵢ₎ = min_{j ≥ i} min(1, m·p₍ⱼ₎ / j)``; rejecting every
test with q ≤ α keeps the expected share of false alerts among the alerts at most α
(under independence or positive regression dependence; Benjamini & Yekutieli 2001).

The monitor's family is one detector in one period (month): all units × indicators
tested by it then (units for the joint detector).  A province of 30,000 units × 40
indicators runs 1.2 M tests a month; without the correction a 1 % test would raise
12,000 false alerts a month.
"""
from __future__ import annotations

import numpy as np

__all__ = ["bh_adjust", "bh_by_period"]


def bh_adjust(p: np.ndarray, upto: float | None = None) -> np.ndarray:
    """BH q-values of a flat array of p-values; NaN (not tested) stays NaN and is not counted in m.

    With ``upto``, only the tests with p ≤ upto are ranked (a province month has a million
    tests and a few hundred candidates): their q-values are exact whenever q ≤ upto,
    because every term m·p₍ⱼ₎/j of a test with p₍ⱼ₎ > upto exceeds upto; the other tests
    get NaN (their q is above ``upto``)."""
    p = np.asarray(p, dtype=float)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    m = len(ok)
    if not m:
        return q
    if upto is not None:
        ok = ok[p[ok] <= upto]
        if not len(ok):
            return q
    order = ok[np.argsort(p[ok], kind="stable")]
    ranked = p[order] * m / np.arange(1, len(order) + 1)
    q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    if upto is not None:
        q[order[q[order] > upto]] = np.nan
    return q


def bh_by_period(p: np.ndarray, periods: np.ndarray, upto: float | None = None) -> np.ndarray:
    """q-values of ``p`` (… × T) with one family per index of the last axis in ``periods``
    (the other periods stay NaN); ``upto`` as in :func:`bh_adjust`."""
    q = np.full(p.shape, np.nan)
    for t in periods:
        q[..., t] = bh_adjust(p[..., t].ravel(), upto).reshape(p[..., t].shape)
    return q
