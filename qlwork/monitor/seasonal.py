"""The common component of a peer group: seasonality and shared shocks (STL).

A unit's monthly value mixes its own level, the season (more petitions after the Spring
Festival) and shocks that hit all its peers at once (a province-wide campaign).  Only the
first is the unit's own business.  For each peer group g and indicator k the group's
level series ``c[g, k, t]`` — the 20 % trimmed mean on the transformed scale, which
follows a group-wide rise in a sparse count where the median of mostly zeros stays at
zero, and ignores the few units with anomalies — is decomposed by STL (Cleveland
et al. 1990; ``statsmodels.tsa.seasonal.STL``, robust, period 12 for months, 4 for
quarters) into trend + seasonal + remainder, and

    common[g, k, t] = seasonal + remainder = c − trend

is removed from every member's series before its own history is examined:
``r[u, k, t] = y[u, k, t] − common[g(u), k, t]``.  The group trend stays in ``r``: a slow
shared trend changes each unit's level too little per month to matter, while the
remainder carries the shared shocks that would otherwise alert a whole group at once.

Choices, each a parameter (:class:`~qlwork.monitor.api.MonitorParams`): a group with
fewer than ``min_group`` reporting units in a month borrows the framework-wide level
series (its own median would mostly be noise); series shorter than two seasonal cycles
have no identifiable season, so ``common = c − median_t(c)`` (shared shocks only);
``common="none"`` switches the adjustment off, ``"seasonal"`` keeps STL's seasonal part
only.  Gaps in a median series are filled linearly before STL and left as 0 after it.

Per-series STL on every unit (1.2 M series at province scale, ≈2 ms each) would take
40 minutes; the group series are a few hundred (well under a second).
"""
from __future__ import annotations

import warnings

import numpy as np

from .robust import GroupStats

__all__ = ["common_component", "SEASONAL_PERIOD"]

SEASONAL_PERIOD = {"M": 12, "Q": 4, "H": 2}


def _decompose(c: np.ndarray, period: int, how: str) -> np.ndarray:
    """c − trend (or the seasonal part only) of one median series with gaps filled."""
    ok = np.isfinite(c)
    if ok.sum() < 3:
        return np.zeros_like(c)
    t = np.arange(len(c))
    filled = np.interp(t, t[ok], c[ok])
    if len(c) < 2 * period or how == "shocks":
        out = filled - np.median(filled)
    else:
        from statsmodels.tsa.seasonal import STL

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = STL(filled, period=period, robust=True).fit()
        out = res.seasonal if how == "seasonal" else filled - res.trend
    out = np.where(ok, out, 0.0)
    return out


def common_component(peer: GroupStats, fw: GroupStats, group_fw: np.ndarray, grain: str, *,
                     min_group: int = 10, how: str = "stl") -> np.ndarray:
    """``common[g, k, t]`` (G × K × T) for every peer group.

    ``peer``/``fw``: statistics of the peer groups and of the framework-wide groups;
    ``group_fw[g]``: the framework group of peer group g; ``how``: ``"stl"`` (seasonal +
    remainder), ``"seasonal"`` (seasonal only), ``"shocks"`` (c − median, no season),
    ``"none"`` (zeros).
    """
    G, K, T = peer.med.shape
    out = np.zeros((G, K, T))
    if how == "none":
        return out
    period = SEASONAL_PERIOD.get(grain, 12)
    for g in range(G):
        for k in range(K):
            c = peer.trim[g, k].copy()
            small = peer.n[g, k] < min_group
            if small.all() and not (peer.n[g, k] > 0).any():
                continue
            c[small] = fw.trim[group_fw[g], k][small]
            out[g, k] = _decompose(c, period, how)
    return out
