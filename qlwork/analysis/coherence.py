"""Statistical coherence of a framework: correlations, Cronbach's α, PCA, effective weights.

Checks a composite indicator's structure against its data, following the
JRC/OECD *Handbook on Constructing Composite Indicators* (2008, §§ 4–5) and
COINr's analysis functions (``get_corr``, ``get_cronbach``, ``get_PCA``).
Everything comes back as tidy tables for notebooks and reports.

Inputs
------
``data`` is either a :class:`qlwork.engine.index.IndexResult` (its ``normalized``
indicator table — 0–100, directions already applied — its node ``scores`` and
``leaf_weights`` are used), or a wide DataFrame units × indicators (raw or
normalised).  For a DataFrame a :class:`~qlwork.framework.Framework` gives the
tree; by default (``prepare="auto"``) each column is multiplied by its
declared direction and min–max scaled to 0–100 (the transformation does not
change correlations; it makes Cronbach's α and node scores meaningful across
units of measurement).  Node scores for a DataFrame are weighted arithmetic
means with weights re-normalised over available children (COINr's
``Aggregate`` rule, via :func:`qlwork.engine.aggregate.node_weights`).

Formulas
--------
- Cronbach's α (Cronbach 1951): ``α = k/(k−1) · (1 − Σσ²_i / σ²_total)``,
  σ²_total = variance of the row sums = sum of the covariance matrix;
  standardised α = ``k·r̄ / (1 + (k−1)·r̄)`` with r̄ the mean inter-item
  correlation (as ``psych::alpha`` ``std.alpha``).
- PCA per node: SVD of the column-standardised data (z-scores, n − 1);
  eigenvalues ``s²/(n−1)``; loadings = eigenvectors × √eigenvalue (the
  correlation of each indicator with the component); each component's sign
  is fixed so that its loadings sum to a positive number.
- Wrong direction: an indicator whose correlation with the *rest* of its node
  (the mean of its siblings, so it is not correlated with itself — the
  "corrected item–total correlation") is negative after directions are
  applied is flagged (JRC Handbook §4.1: indicators in one dimension should
  be positively associated).
- Effective weights (Paruolo, Saisana & Saltelli 2013, *J. R. Stat. Soc. A*
  176(3), "Ratings and rankings: voodoo or science?"; JRC COIN audits): the
  importance of indicator *i* for the index *y* is the first-order effect
  ``S_i = Var(E[y|x_i]) / Var(y)``; with a linear fit it equals the squared
  Pearson correlation ``r²(x_i, y)``.  ``r2_share = r² / Σr²`` is compared
  with the nominal weight (normalised to sum 1): ``ratio = r2_share / w``;
  a ratio far from 1 means the indicator drives the index much more or
  less than its weight says.  Also reported is the exact variance
  decomposition of a linear index ``y = Σ w_i x_i``:
  ``Var(y) = Σ_i w_i Cov(x_i, y)``, so ``variance_share_i = w_i Cov(x_i, y)
  / Var(y)`` sums to 1 (Euler allocation; it can be negative for an
  indicator working against the rest).  Both use complete rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from ..framework import Framework
from .inputs import ResultView, _drop_empty, _inputs, _is_result, _need_framework, _subset_framework, indicator_groups, restrict  # noqa: F401
from .reliability import PCAResult, alpha_if_deleted, cronbach_alpha, node_alpha, node_pca, pca, standardized_alpha  # noqa: F401

__all__ = [
    "correlation_matrix", "correlations", "node_scores", "node_correlations", "direction_check",
    "cronbach_alpha", "standardized_alpha", "alpha_if_deleted", "node_alpha",
    "pca", "node_pca", "PCAResult", "effective_weights", "coherence_report", "CoherenceReport",
    "indicator_groups", "restrict", "ResultView",
]

METHODS = ("pearson", "spearman")


# ----------------------------------------------------------- correlations
def _check_method(method: str) -> str:
    if method not in METHODS:
        raise QlworkError(Problem("bad_option", f"相关方法只能是 pearson 或 spearman，收到 {method!r}",
                                  "method must be pearson or spearman", found=method))
    return method


def correlation_matrix(data, framework: Framework | None = None, *, method: str = "pearson",
                       min_periods: int = 3, prepare: str = "auto") -> pd.DataFrame:
    """Square correlation matrix of the indicators (pairwise complete observations).

    Same as R ``cor(X, use = "pairwise.complete.obs", method = ...)`` and
    COINr's ``get_corr``.  Spearman = Pearson on average ranks (ties averaged).
    """
    inp = _inputs(data, framework, prepare)
    return inp.X.corr(method=_check_method(method), min_periods=min_periods)


def _pair_counts(X: pd.DataFrame) -> np.ndarray:
    M = X.notna().to_numpy(float)
    return M.T @ M


def correlations(data, framework: Framework | None = None, *, methods: Iterable[str] = METHODS,
                 level: str = "parent", prepare: str = "auto", min_periods: int = 3) -> pd.DataFrame:
    """Every pair of indicators, tidy: within and across nodes, Pearson and Spearman.

    Columns: indicator_a, indicator_b, name_a, name_b, node_a, node_b,
    same_node, method, r, n (pairwise complete units).  One row per unordered
    pair and method, in framework order.
    """
    inp = _inputs(data, framework, prepare)
    X = inp.X
    cols = list(X.columns)
    k = len(cols)
    ia, ib = np.triu_indices(k, 1)
    n = _pair_counts(X)[ia, ib].astype(int)
    names = inp.framework.names() if inp.framework is not None else {}
    groups = indicator_groups(inp.framework, level) if inp.framework is not None else pd.Series(dtype=object)
    frames = []
    for m in methods:
        R = X.corr(method=_check_method(m), min_periods=min_periods).to_numpy()
        a = np.array(cols, dtype=object)[ia]
        b = np.array(cols, dtype=object)[ib]
        na = groups.reindex(a).to_numpy() if len(groups) else np.full(len(a), None)
        nb = groups.reindex(b).to_numpy() if len(groups) else np.full(len(a), None)
        frames.append(pd.DataFrame({
            "indicator_a": a, "indicator_b": b,
            "name_a": [names.get(x, x) for x in a], "name_b": [names.get(x, x) for x in b],
            "node_a": na, "node_b": nb, "same_node": (na == nb) & pd.notna(na),
            "method": m, "r": R[ia, ib], "n": n}))
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    out.attrs["params"] = {"methods": list(methods), "level": level, "prepare": inp.prepared,
                           "missing": "pairwise complete", "min_periods": min_periods}
    return out


# ------------------------------------------------------------ node scores
def node_scores(data, framework: Framework | None = None, *, prepare: str = "auto") -> pd.DataFrame:
    """Scores of every inner node (units × node ids, root included).

    For an IndexResult its own ``scores`` are returned.  For a DataFrame: the
    weighted arithmetic mean of the (prepared) indicators, weights
    re-normalised over available children, level by level.
    """
    inp = _inputs(data, framework, prepare)
    if inp.scores is not None:
        return inp.scores
    fw = _need_framework(inp.framework, "节点得分")
    return _aggregate(inp.X, fw)


def _aggregate(X: pd.DataFrame, fw: Framework) -> pd.DataFrame:
    from ..engine.aggregate import node_weights

    X = X.reindex(columns=fw.indicator_ids)
    V = X.to_numpy(float)
    A = ~np.isnan(V)
    pats, inv = np.unique(A, axis=0, return_inverse=True)
    inv = np.asarray(inv).ravel()
    W = node_weights(fw, available=pats)
    V0 = np.where(A, V, 0.0)
    out = {}
    for n in fw.node_ids:
        Wr = W[n][inv]  # (units × indicators): each unit's pattern's weights
        s = np.einsum("ij,ij->i", V0, Wr)
        out[n] = np.where(Wr.sum(axis=1) > 0, s, np.nan)
    return pd.DataFrame(out, index=X.index)


def _corr_vec(x: np.ndarray, y: np.ndarray, method: str) -> float:
    ok = ~(np.isnan(x) | np.isnan(y))
    if ok.sum() < 3:
        return np.nan
    a, b = x[ok], y[ok]
    if method == "spearman":
        a = pd.Series(a).rank().to_numpy()
        b = pd.Series(b).rank().to_numpy()
    if a.std() == 0 or b.std() == 0:
        return np.nan
    return float(np.corrcoef(a, b)[0, 1])


def node_correlations(data, framework: Framework | None = None, *, method: str = "pearson",
                      level: str = "parent", prepare: str = "auto") -> pd.DataFrame:
    """Correlation of each indicator with its own node, the rest of the node, its goal and the index.

    Columns: indicator_id, name, node, node_name, k (indicators in node),
    r_node (with the node score, which contains the indicator), r_rest (with
    the equally weighted mean of the node's *other* indicators — corrected
    item–total correlation; NaN for single-indicator nodes), r_level1 (with
    its level-1 goal score), r_index (with the root score).
    """
    _check_method(method)
    inp = _inputs(data, framework, prepare)
    fw = _need_framework(inp.framework, "节点相关分析")
    S = inp.scores if inp.scores is not None else _aggregate(inp.X, fw)
    X = inp.X
    groups = indicator_groups(fw, level)
    names = fw.names()
    root_col = next((c for c in ("total_raw", "total") if c in S.columns), fw.root)
    rows = []
    for node, members in groups.groupby(groups, sort=False):
        ids = [i for i in members.index if i in X.columns]
        M = X[ids].to_numpy(float)
        for j, i in enumerate(ids):
            others = np.delete(M, j, axis=1)
            rest = np.nanmean(others, axis=1) if others.shape[1] else np.full(len(M), np.nan)
            if others.shape[1]:
                rest = np.where(np.isnan(others).all(axis=1), np.nan, rest)
            l1 = fw.level1_of(i)
            rows.append({
                "indicator_id": i, "name": names.get(i, i), "node": node, "node_name": names.get(node, node),
                "k": len(ids),
                "r_node": _corr_vec(M[:, j], S[node].to_numpy(float), method) if node in S.columns else np.nan,
                "r_rest": _corr_vec(M[:, j], rest, method),
                "r_level1": _corr_vec(M[:, j], S[l1].to_numpy(float), method) if l1 in S.columns else np.nan,
                "r_index": _corr_vec(M[:, j], S[root_col].to_numpy(float), method) if root_col in S.columns else np.nan,
            })
    out = pd.DataFrame(rows)
    out.attrs["params"] = {"method": method, "level": level, "prepare": inp.prepared, "index_column": root_col}
    return out


def direction_check(data, framework: Framework | None = None, *, method: str = "pearson",
                    threshold: float = 0.0, level: str = "parent", prepare: str = "auto") -> pd.DataFrame:
    """Indicators that move against their own node — a sign of a wrong direction.

    :func:`node_correlations` plus ``flag`` (``r_rest < threshold``, or
    ``r_node < threshold`` for a single-indicator node never flagged) and a
    Chinese ``reason``.  Directions must already be applied (default
    ``prepare="auto"`` does it from the framework).
    """
    t = node_correlations(data, framework, method=method, level=level, prepare=prepare)
    flag = (t["r_rest"] < threshold).fillna(False).astype(bool)
    t["flag"] = flag
    t["reason"] = np.where(
        flag, [f"与同节点其他指标负相关（r = {r:.2f}），请核对方向（正向/逆向）是否设反" if pd.notna(r) else ""
               for r in t["r_rest"]], "")
    t.attrs["params"] = {**t.attrs.get("params", {}), "threshold": threshold, "rule": f"r_rest < {threshold}"}
    return t


# -------------------------------------------------------- effective weights
def effective_weights(data, framework: Framework | None = None, *, weights: pd.Series | None = None,
                      index: pd.Series | str | None = None, prepare: str = "auto",
                      low: float = 0.5, high: float = 2.0) -> pd.DataFrame:
    """How much each indicator really drives the index, against its nominal weight.

    Not to be confused with :func:`qlwork.engine.aggregate.effective_weights` (the
    nominal leaf weights after re-normalisation).  ``weights``: nominal leaf
    weights (default: the IndexResult's ``leaf_weights`` or the framework's);
    ``index``: the index scores (a Series, or a column name of the
    IndexResult's scores; default ``"total"`` / the root score).

    Columns: indicator_id, name, nominal_weight (normalised to sum 1 over the
    indicators present), r (Pearson with the index), r2, r2_share, ratio
    (r2_share / nominal_weight), variance_share (w_i·Cov(x_i, y)/Var(y)),
    flag ("偏高"/"偏低"/"" when ratio > ``high`` or < ``low``).  Formulas and
    sources in the module docstring.  ``r`` uses pairwise complete units;
    ``variance_share`` complete rows (NaN when fewer than 3).
    """
    inp = _inputs(data, framework, prepare)
    X = inp.X
    if isinstance(index, pd.Series):
        y = index.reindex(X.index).astype(float)
        ycol = index.name or "index"
    else:
        if inp.scores is not None:
            ycol = index or next(c for c in ("total_raw", "total", inp.framework.root) if c in inp.scores.columns)
            S = inp.scores
        else:
            fw = _need_framework(inp.framework, "有效权重")
            ycol = index or fw.root
            S = _aggregate(X, fw)
        if ycol not in S.columns:
            raise QlworkError(Problem("unknown_column", f"得分表中没有列 {ycol!r}", "no such score column",
                                      found=ycol, expected=list(map(str, S.columns))))
        y = S[ycol].astype(float)
    w = weights if weights is not None else inp.weights
    if w is None:
        raise QlworkError(Problem("no_weights", "需要名义权重（weights 或 framework）", "nominal weights needed"))
    w = pd.Series(w, dtype=float).reindex(X.columns).fillna(0.0)
    w = w / w.sum()
    M = X.to_numpy(float)
    yv = y.to_numpy(float)
    # r: pairwise complete (indicators that apply to some unit types only are
    # missing elsewhere); the variance decomposition needs complete rows.
    r = np.array([_corr_vec(M[:, j], yv, "pearson") for j in range(M.shape[1])])
    if np.isfinite(r).sum() == 0:
        raise QlworkError(Problem("too_few_units", "没有足够的单位同时有指标值和指数得分，无法估计有效权重",
                                  "fewer than 3 units with both indicator and index values", expected="≥ 3"))
    r2 = r ** 2
    share = r2 / np.nansum(r2)
    ok = ~(np.isnan(M).any(axis=1) | np.isnan(yv))
    n_complete = int(ok.sum())
    vshare = np.full(M.shape[1], np.nan)
    if n_complete >= 3:
        Mc = M[ok] - M[ok].mean(axis=0)
        yc = yv[ok] - yv[ok].mean()
        vy = yc @ yc / (n_complete - 1)
        if vy > 0:
            vshare = w.to_numpy() * (Mc.T @ yc / (n_complete - 1)) / vy
    names = inp.framework.names() if inp.framework is not None else {}
    wv = w.to_numpy()
    ratio = np.where(wv > 0, share / np.where(wv > 0, wv, 1), np.nan)
    out = pd.DataFrame({
        "indicator_id": list(X.columns), "name": [names.get(c, c) for c in X.columns],
        "nominal_weight": wv, "r": r, "r2": r2, "r2_share": share, "ratio": ratio,
        "variance_share": vshare,
    })
    out["flag"] = np.where(out["ratio"] > high, "偏高", np.where(out["ratio"] < low, "偏低", ""))
    out.attrs["params"] = {"index": str(ycol), "n_complete": n_complete, "prepare": inp.prepared, "low": low, "high": high,
                           "r_missing": "pairwise complete", "variance_share_missing": "complete rows (NaN if < 3)",
                           "importance": "r² (linear main effect, Paruolo et al. 2013)",
                           "variance_share": "w_i·Cov(x_i,y)/Var(y)"}
    return out


# ------------------------------------------------------------------ report
@dataclass(frozen=True, repr=False)
class CoherenceReport:
    """All coherence tables for one framework and data set."""

    correlations: pd.DataFrame
    node_correlations: pd.DataFrame
    alpha: pd.DataFrame
    pca: PCAResult
    effective_weights: pd.DataFrame
    params: dict

    @property
    def flagged(self) -> pd.DataFrame:
        """Indicators negatively correlated with the rest of their node."""
        return self.node_correlations[self.node_correlations["flag"]]

    def to_frame(self) -> pd.DataFrame:
        """One row per node: k, α, standardised α, mean within-node r, PC1 share, flags."""
        a = self.alpha.set_index("node")
        f = self.pca.first_components()
        nc = self.node_correlations.groupby("node")["flag"].sum()
        within = self.correlations[(self.correlations["same_node"]) & (self.correlations["method"] == "pearson")]
        mr = within.groupby("node_a")["r"].mean()
        out = pd.DataFrame({
            "name": a["name"], "k": a["k"], "alpha": a["alpha"], "alpha_std": a["alpha_std"],
            "mean_r_within": mr.reindex(a.index), "pc1_explained": f["pc1_explained"].reindex(a.index),
            "n_eigen_gt1": f["n_eigen_gt1"].reindex(a.index), "n_wrong_direction": nc.reindex(a.index).fillna(0).astype(int),
        })
        out.index.name = "node"
        return out.reset_index()

    def __repr__(self) -> str:
        t = self.to_frame()
        return (f"CoherenceReport({len(t)} nodes, {len(self.node_correlations)} indicators; "
                f"α range {t['alpha'].min():.2f}–{t['alpha'].max():.2f}; "
                f"{int(self.node_correlations['flag'].sum())} wrong-direction flags; "
                f"{int((self.effective_weights['flag'] != '').sum())} weight mismatches)")


def coherence_report(data, framework: Framework | None = None, *, level: str = "parent",
                     missing: str = "listwise", prepare: str = "auto", threshold: float = 0.0) -> CoherenceReport:
    """Run every coherence check and return a :class:`CoherenceReport`."""
    kw = dict(prepare=prepare)
    return CoherenceReport(
        correlations=correlations(data, framework, level=level, **kw),
        node_correlations=direction_check(data, framework, level=level, threshold=threshold, **kw),
        alpha=node_alpha(data, framework, level=level, missing=missing, **kw),
        pca=node_pca(data, framework, level=level, missing=missing if missing == "listwise" else "mean", **kw),
        effective_weights=effective_weights(data, framework, **kw),
        params={"level": level, "missing": missing, "prepare": prepare, "threshold": threshold},
    )
