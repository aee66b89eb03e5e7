"""Aggregation up the framework tree, collapsed to effective leaf weights.

Level-by-level aggregation with re-normalised weights (COINr ``Aggregate``:
each parent is the weighted mean of its *available* children, weights
re-scaled to sum to 1 among them) is linear in the leaf scores for the
arithmetic mean and linear in their logarithms for the geometric mean.  So
every node's score is one weighted sum over the leaves below it:

    score_node = Σ_j W[node, j] · x_j                 (arithmetic)
    score_node = exp(Σ_j W[node, j] · log max(x_j, ε)) (geometric)

where ``W[node]`` (the *effective weights*) is the product of re-normalised
local weights along each leaf's path.  It depends on the unit only through its
*availability pattern* (which indicators apply / are present), so a whole
province is scored with one matrix product per pattern, and the sensitivity
module scores thousands of weight draws as ``X @ W.T``.

Zero rule for the geometric mean: values are floored at ``eps`` (default 1
point on the 0–100 scale) before taking logs, so a single 0 does not wipe out
the whole score (the OECD/JRC Handbook §6.2 notes the geometric mean needs
strictly positive values; COINr's ``a_gmean`` rejects them instead).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from ..framework import Framework
from .hierarchy import Hierarchy

__all__ = ["AGGREGATIONS", "effective_weights", "node_weights", "aggregate_matrix", "aggregate_rows"]

AGGREGATIONS = ("arithmetic", "geometric")


def _local_array(fw: Framework, hier: Hierarchy, local_weights) -> np.ndarray:
    """Local weights as an array draws × items (D ≥ 1), framework weights where not given."""
    base = fw.local_weights()
    pos = {k: j for j, k in enumerate(hier.items)}
    if local_weights is None:
        return hier.center[None, :].copy()
    if isinstance(local_weights, pd.DataFrame):  # rows = draws, columns = ids
        unknown = [c for c in local_weights.columns if c not in base.index]
        if unknown:
            raise KeyError(f"unknown ids in local weights: {unknown}")
        out = np.repeat(hier.center[None, :], len(local_weights), axis=0)
        for c in local_weights.columns:
            out[:, pos[c]] = local_weights[c].to_numpy(dtype=float)
        return out
    lw = dict(pd.Series(local_weights, dtype=float)) if not isinstance(local_weights, Mapping) else dict(local_weights)
    unknown = [c for c in lw if c not in base.index]
    if unknown:
        raise KeyError(f"unknown ids in local weights: {unknown}")
    out = hier.center[None, :].copy()
    for k, v in lw.items():
        out[0, pos[k]] = float(v)
    return out


def node_weights(framework: Framework, local_weights=None, available=None) -> dict[str, np.ndarray]:
    """Effective leaf weights of *every* inner node: ``{node_id: (R × indicators)}``.

    Row r of ``W[node]`` sums to 1 over the leaves below ``node`` that are
    available (or is all 0 when none is).  ``R`` is the number of availability
    patterns (rows of ``available``) or of weight draws (rows of a
    ``local_weights`` DataFrame); one of them must be 1 if both are given.
    Computed by :meth:`qlwork.engine.hierarchy.Hierarchy.node_effective` — the
    arithmetic the Monte Carlo engine uses.
    """
    fw = framework
    hier = Hierarchy.from_framework(fw)
    p = len(hier.leaves)
    if available is None:
        A = np.ones((1, p), bool)
    else:
        A = np.asarray(available, bool)
        if A.ndim == 1:
            A = A[None, :]
        if A.shape[1] != p:
            raise ValueError(f"available must have {p} columns (one per indicator)")
    L = _local_array(fw, hier, local_weights)
    P, D = A.shape[0], L.shape[0]
    if P != 1 and D != 1 and P != D:
        raise ValueError("patterns and weight draws must match or one of them be 1")
    W = hier.node_effective(L, A)  # R × nodes × leaves (broadcast)
    R = max(P, D)
    W = np.broadcast_to(W, (R,) + W.shape[1:])
    return {n: np.ascontiguousarray(W[:, k, :]) for k, n in enumerate(hier.nodes) if n in fw.nodes}


def effective_weights(framework: Framework, local_weights=None, available=None) -> np.ndarray:
    """Effective leaf weights of the root: array (patterns × indicators).

    ``local_weights``: ``None`` (framework), a mapping/Series id → local weight
    (partial override; siblings are re-normalised anyway), or a DataFrame of
    draws (rows) × ids.  ``available``: bool (indicators,) or (patterns ×
    indicators); missing/not-applicable indicators get weight 0 and their
    siblings' weights are re-normalised *within their node*, level by level.
    Rows sum to 1 (0 if nothing is available).
    """
    return node_weights(framework, local_weights, available)[framework.root]


def aggregate_matrix(X, W, method: str = "arithmetic", eps: float = 1.0) -> np.ndarray:
    """Scores of units × weight sets: ``X`` (units × indicators), ``W`` (draws × indicators).

    arithmetic: ``X @ W.T``; geometric: ``exp(log(max(X, eps)) @ W.T)``.
    NaN entries of ``X`` contribute nothing — pass a ``W`` that is 0 there
    (``effective_weights(..., available=...)``) so the remaining weights sum to 1.
    """
    X = np.asarray(X, dtype=float)
    W = np.asarray(W, dtype=float)
    if W.ndim == 1:
        W = W[None, :]
    if method == "arithmetic":
        return np.where(np.isnan(X), 0.0, X) @ W.T
    if method == "geometric":
        L = np.log(np.maximum(np.where(np.isnan(X), 1.0, X), eps))
        L = np.where(np.isnan(X), 0.0, L)
        return np.exp(L @ W.T)
    raise ValueError(f"unknown aggregation {method!r}; one of {AGGREGATIONS}")


def aggregate_rows(X, W_rows, method: str = "arithmetic", eps: float = 1.0) -> np.ndarray:
    """Row-wise scores when every row has its own weights: ``Σ_j W[i,j]·X[i,j]``.

    ``W_rows`` (rows × indicators) is usually ``W_patterns[pattern_of_row]``.
    Rows whose weights are all 0 get NaN.
    """
    X = np.asarray(X, dtype=float)
    W_rows = np.asarray(W_rows, dtype=float)
    tot = W_rows.sum(axis=1)
    if method == "arithmetic":
        s = np.einsum("ij,ij->i", np.where(np.isnan(X), 0.0, X), W_rows)
    elif method == "geometric":
        L = np.log(np.maximum(np.where(np.isnan(X), 1.0, X), eps))
        s = np.exp(np.einsum("ij,ij->i", np.where(np.isnan(X), 0.0, L), W_rows))
    else:
        raise ValueError(f"unknown aggregation {method!r}; one of {AGGREGATIONS}")
    return np.where(tot > 0, s, np.nan)
