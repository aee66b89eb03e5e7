"""The aggregation stage of :func:`qlwork.engine.index.compute_index`: node scores, the internal
score, the public component and the total (through the one scorer).

* **Node scores** over the whole tree — survey items included where the unit has them —
  with effective weights per availability pattern (:class:`~qlwork.engine.hierarchy.Hierarchy`);
  under imputation "none" a missing applicable *internal* indicator makes every node above it
  missing.
* **Internal score** (专业分): the tree without its survey (``public``) indicators.
* **Public component** (获得感): the survey estimate (``public=``) or the weighted mean of the
  public indicators' scores (leaf-weight shares); under imputation "none" a missing public
  indicator makes it missing (total = internal, warning ``missing_public``).
* **Total**: :func:`qlwork.engine.scorer.nominal_scores` on a design of all (period, unit) rows —
  the one scorer — plus the capped bonus.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .aggregate import aggregate_rows
from .scorer import build_design, nominal_scores, pattern_ids

__all__ = ["Aggregated", "PublicPart", "aggregate_stage", "public_stage", "total_stage"]


@dataclass(frozen=True)
class Aggregated:
    nodes: list  # inner node ids, root first (depth first)
    node_scores: np.ndarray  # rows × nodes (root column = internal)
    internal: np.ndarray  # rows
    W_int: np.ndarray  # internal effective weights per pattern (patterns × leaves)
    inv_int: np.ndarray  # pattern of each row
    n_patterns: int


@dataclass(frozen=True)
class PublicPart:
    value: np.ndarray
    se: np.ndarray
    source: str  # survey-direct / survey-eblup / argument / indicators / absent
    mode: str  # fixed / indicators / none (the scorer's public_mode)
    missing: np.ndarray  # rows without a public score while a share is configured


def aggregate_stage(prep, fw, spec, hier) -> Aggregated:
    ids = prep.ids
    N = prep.normalised
    is_pub = np.array([fw.indicators[i].public for i in ids], bool)
    present = ~np.isnan(N)
    miss_int = prep.missing & ~is_pub[None, :]
    order_nodes = [n for n in fw.depth_first() if n in fw.nodes]
    pat_all, inv_all = pattern_ids(present)
    NE = hier.node_effective(hier.center[None, :], pat_all)  # P × nodes × leaves
    node_pos = {n: k for k, n in enumerate(hier.nodes)}
    Wn = np.stack([NE[:, node_pos[n], :] for n in order_nodes], axis=1)
    node_scores = _aggregate_patterns(N, Wn, inv_all, spec.aggregation, spec.geometric_eps)
    leaf_mask = np.array([[i in set(fw.leaves_under(n)) for i in ids] for n in order_nodes], bool)
    if spec.imputation != "reweight":
        node_missing = (miss_int.astype(np.int32) @ leaf_mask.T.astype(np.int32)) > 0
        node_scores[node_missing] = np.nan
    pat_int, inv_int = pattern_ids(present & ~is_pub[None, :])
    W_int = hier.effective(hier.center[None, :], pat_int)  # P × leaves
    internal = _aggregate_patterns(N, W_int[:, None, :], inv_int, spec.aggregation, spec.geometric_eps)[:, 0]
    if spec.imputation != "reweight":
        internal[miss_int.any(axis=1)] = np.nan
    # the root column is the internal score (专业分): the index over the departments' indicators
    node_scores[:, order_nodes.index(fw.root)] = internal
    return Aggregated(order_nodes, node_scores, internal, W_int, inv_int, int(len(pat_all)))


def public_stage(prep, fw, spec, pin) -> PublicPart:
    ids = prep.ids
    N = prep.normalised
    is_pub = np.array([fw.indicators[i].public for i in ids], bool)
    n = len(N)
    if pin is not None:
        value, se, source, mode = pin.value, pin.se, pin.source, "fixed"
    elif is_pub.any() and bool((~np.isnan(N[:, is_pub])).any()):
        lw = fw.leaf_weights().reindex(ids).to_numpy()
        value = _public_from_indicators(N, prep.missing, is_pub, lw, spec.aggregation, spec.geometric_eps,
                                        spec.imputation)
        se, source, mode = np.full(n, np.nan), "indicators", "indicators"
    else:
        value, se, source, mode = np.full(n, np.nan), np.full(n, np.nan), "absent", "none"
    missing = np.zeros(n, bool) if source == "absent" else (np.isnan(value) & (float(spec.social_share) > 0))
    return PublicPart(value, se, source, mode, missing)


def total_stage(prep, agg: Aggregated, pub: PublicPart, hier, spec, bonus_rows) -> np.ndarray:
    """``(1 − s)·internal + s·public + bonus`` for every row, from the one scorer (unrounded)."""
    N = prep.normalised
    is_pub = hier.public
    X = N.copy()
    if pub.mode == "indicators":
        X[np.ix_(np.isnan(pub.value), is_pub)] = np.nan  # no public score for the row → total = internal
    design = build_design(hier, X, row_ids=np.arange(len(N)), groups=prep.groups,
                          group_labels=[str(g) for g in range(int(prep.groups.max()) + 1)],
                          grades=spec.bands(), bottom_n=spec.warnings.bottom_n, aggregation=spec.aggregation,
                          social_share=float(spec.social_share),
                          public_mode=pub.mode if pub.mode != "none" else "indicators",
                          public_values=pub.value if pub.mode == "fixed" else None, eps=spec.geometric_eps,
                          bonus=bonus_rows, decimals=spec.precision.decimals,
                          bottom_min_group=spec.warnings.min_group)
    total_raw = nominal_scores(design)[design.input_order]
    total_raw[np.isnan(agg.internal)] = np.nan
    return total_raw


def _aggregate_patterns(N, Wp, pinv, method, eps):
    """Scores of every row for every node: rows × nodes.

    ``Wp`` (patterns × nodes × indicators) holds each pattern's effective
    weights; rows are grouped by pattern and each group is one matrix product
    ``X_q @ Wp[q].T`` (arithmetic) or ``exp(log max(X_q, eps) @ Wp[q].T)``.
    A node with no available leaf (weights summing to 0) is NaN.
    """
    if method == "geometric":
        Z = np.log(np.maximum(np.where(np.isnan(N), 1.0, N), eps))
        Z = np.where(np.isnan(N), 0.0, Z)
    else:
        Z = np.where(np.isnan(N), 0.0, N)
    P, K, _ = Wp.shape
    out = np.empty((len(N), K))
    if P <= 512:
        order = np.argsort(pinv, kind="stable")
        bounds = np.searchsorted(pinv[order], np.arange(P + 1))
        for q in range(P):
            rows = order[bounds[q]:bounds[q + 1]]
            if len(rows):
                out[rows] = Z[rows] @ Wp[q].T
    else:  # many patterns: one einsum per node
        for k in range(K):
            out[:, k] = np.einsum("ij,ij->i", Z, Wp[pinv, k, :])
    if method == "geometric":
        out = np.exp(out)
    empty = Wp.sum(axis=2) <= 0  # patterns × nodes
    out[empty[pinv]] = np.nan
    return out


def _public_from_indicators(N, missing, is_pub, lw, aggregation, eps, imputation):
    """Weighted mean of the public indicators' normalised scores (weights ∝ leaf weights)."""
    avail = ~np.isnan(N) & is_pub[None, :]
    Wr = np.where(avail, lw[None, :], 0.0)
    tot = Wr.sum(axis=1, keepdims=True)
    Wr = np.divide(Wr, tot, out=np.zeros_like(Wr), where=tot > 0)
    pub = aggregate_rows(N, Wr, aggregation, eps)
    if imputation != "reweight":
        pub = np.where((missing & is_pub[None, :]).any(axis=1), np.nan, pub)
    return pub
