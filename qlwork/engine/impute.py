"""Missing-value strategies, each reporting exactly what it filled.

Methods (``IndexResult.params["imputation"]``):

* ``"none"`` — nothing is filled; a missing applicable indicator makes every
  node above it (and the total) missing for that unit, reported as a
  ``missing_data`` warning.
* ``"mean"`` / ``"median"`` — a missing applicable value is replaced by the
  mean / median of the same indicator in the same comparison group (peer group
  × period) — COINr ``Impute(imtype="i_mean_grp")`` style group imputation
  (OECD/JRC 2008 Handbook §4.1, "unconditional mean imputation").  If the
  whole group lacks the indicator nothing can be filled and it stays missing.
* ``"reweight"`` — nothing is filled; aggregation uses the available
  indicators of each node and re-normalises their weights (COINr's
  ``Aggregate`` default, dropping NaN and renormalising).

Cells where an indicator does *not apply* to the unit's type are never
imputed: their weight is always re-normalised away within the node (that is
the definition of the framework, not a statistical fill).
"""
from __future__ import annotations

import numpy as np

from .normalize import group_index

__all__ = ["IMPUTATIONS", "impute"]

IMPUTATIONS = ("none", "mean", "median", "reweight")


def impute(X, groups=None, method: str = "none", applicable=None):
    """Fill missing applicable cells of ``X`` (rows × indicators).

    Returns ``(X_filled, filled)`` where ``filled`` is a boolean array marking
    the cells that received a value.  Input is not modified.
    """
    if method not in IMPUTATIONS:
        raise ValueError(f"unknown imputation {method!r}; one of {IMPUTATIONS}")
    X = np.asarray(X, dtype=float)
    appl = np.ones(X.shape, bool) if applicable is None else np.broadcast_to(np.asarray(applicable, bool), X.shape)
    filled = np.zeros(X.shape, bool)
    if method in ("none", "reweight"):
        return X.copy(), filled
    gi = group_index(groups, X.shape[0])
    miss = np.isnan(X) & appl
    if not miss.any():
        return X.copy(), filled
    # only applicable values inform the fill
    V = np.where(appl, X, np.nan)
    if method == "mean":
        Vs = V[gi.order]
        ok = ~np.isnan(Vs)
        cnt = np.add.reduceat(ok.astype(np.int64), gi.starts, axis=0)
        s1 = np.add.reduceat(np.where(ok, Vs, 0.0), gi.starts, axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            stat = np.where(cnt > 0, s1 / np.maximum(cnt, 1), np.nan)
    else:
        ends = np.append(gi.starts[1:], X.shape[0])
        stat = np.full((gi.n_groups, X.shape[1]), np.nan)
        for b, (a, e) in enumerate(zip(gi.starts, ends)):  # loop over groups, not units
            block = V[gi.order[a:e]]
            has = (~np.isnan(block)).any(axis=0)
            if has.any():
                stat[b, has] = np.nanmedian(block[:, has], axis=0)
    fill = stat[gi.inverse]
    out = np.where(miss, fill, X)
    filled = miss & ~np.isnan(out)
    return out, filled
