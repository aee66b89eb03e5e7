"""Reliability of indicator groups: Cronbach's α (raw and standardised), α if deleted, and PCA per node.

Formulas (cited in :mod:`qlwork.analysis.coherence`, which re-exports these):
α = k/(k−1)·(1 − Σσ²_i/σ²_total) (Cronbach 1951); standardised α = k·r̄/(1 + (k−1)·r̄);
PCA per node: SVD of the column-standardised data (n − 1), loadings = eigenvectors × √eigenvalue.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from ..framework import Framework
from .inputs import _inputs, _need_framework, indicator_groups

__all__ = ["cronbach_alpha", "standardized_alpha", "alpha_if_deleted", "node_alpha", "pca", "node_pca", "PCAResult"]


# -------------------------------------------------------------- Cronbach's α
def _complete(M: np.ndarray, missing: str) -> np.ndarray:
    if missing == "listwise":
        return M[~np.isnan(M).any(axis=1)]
    if missing == "pairwise":
        return M
    raise QlworkError(Problem("bad_option", f"missing 只能是 listwise 或 pairwise，收到 {missing!r}",
                              "missing must be listwise or pairwise", found=missing))


def _cov(M: np.ndarray, missing: str) -> np.ndarray:
    if missing == "listwise":
        return np.atleast_2d(np.cov(M, rowvar=False, ddof=1))
    return pd.DataFrame(M).cov(min_periods=2).to_numpy()


def cronbach_alpha(X, *, missing: str = "listwise") -> float:
    """Cronbach's α of the columns of ``X`` (units × items).

    ``α = k/(k−1) · (1 − Σσ²_i / σ²_total)`` with σ²_total = Σ_ij Cov(x_i, x_j)
    (the variance of the row sums).  ``missing="listwise"`` uses complete rows
    (``psy::cronbach``); ``"pairwise"`` builds the covariance from pairwise
    complete pairs (``psych::alpha`` and COINr ``get_cronbach`` default).
    NaN when k < 2 or fewer than 2 rows.
    """
    M = _complete(np.asarray(X, dtype=float), missing)
    k = M.shape[1] if M.ndim == 2 else 0
    if k < 2 or M.shape[0] < 2:
        return np.nan
    C = _cov(M, missing)
    total = np.nansum(C)
    if not total > 0:
        return np.nan
    return float(k / (k - 1) * (1 - np.trace(C) / total))


def standardized_alpha(X, *, missing: str = "listwise") -> float:
    """Standardised α = k·r̄ / (1 + (k−1)·r̄), r̄ = mean off-diagonal correlation."""
    M = _complete(np.asarray(X, dtype=float), missing)
    k = M.shape[1]
    if k < 2 or M.shape[0] < 3:
        return np.nan
    R = pd.DataFrame(M).corr().to_numpy()
    rbar = np.nanmean(R[~np.eye(k, dtype=bool)])
    return float(k * rbar / (1 + (k - 1) * rbar))


def alpha_if_deleted(X: pd.DataFrame, *, missing: str = "listwise") -> pd.Series:
    """α of the remaining items when each column is dropped in turn (psych's ``alpha.drop``)."""
    cols = list(X.columns)
    return pd.Series({c: cronbach_alpha(X.drop(columns=c), missing=missing) for c in cols}, name="alpha_if_deleted")


def node_alpha(data, framework: Framework | None = None, *, level: str = "parent", missing: str = "listwise",
               prepare: str = "auto") -> pd.DataFrame:
    """Cronbach's α per node.

    Columns: node, name, k, n (rows used), alpha, alpha_std, mean_r
    (mean inter-item Pearson correlation), best_drop (the indicator whose
    removal raises α most) and alpha_if_best_drop.  Rule of thumb
    (Nunnally 1978): α ≥ 0.7 is acceptable for a scale; composite-indicator
    nodes often mix distinct aspects, so low α is a prompt to look, not a verdict.
    """
    inp = _inputs(data, framework, prepare)
    fw = _need_framework(inp.framework, "Cronbach α")
    groups = indicator_groups(fw, level)
    names = fw.names()
    rows = []
    for node, members in groups.groupby(groups, sort=False):
        ids = [i for i in members.index if i in inp.X.columns]
        sub = inp.X[ids]
        M = sub.to_numpy(float)
        n_used = int((~np.isnan(M).any(axis=1)).sum()) if missing == "listwise" else int(len(M))
        k = len(ids)
        a = cronbach_alpha(M, missing=missing)
        R = sub.dropna().corr().to_numpy() if missing == "listwise" else sub.corr().to_numpy()
        off = R[~np.eye(k, dtype=bool)]
        mean_r = float(np.nanmean(off)) if k > 1 and np.isfinite(off).any() else np.nan
        drop = alpha_if_deleted(sub, missing=missing) if k > 2 else pd.Series(dtype=float)
        best = drop.idxmax() if len(drop) and drop.notna().any() else None
        rows.append({"node": node, "name": names.get(node, node), "k": k, "n": n_used, "alpha": a,
                     "alpha_std": standardized_alpha(M, missing=missing), "mean_r": mean_r,
                     "best_drop": best, "alpha_if_best_drop": float(drop[best]) if best else np.nan})
    out = pd.DataFrame(rows)
    out.attrs["params"] = {"level": level, "missing": missing, "prepare": inp.prepared,
                           "formula": "α = k/(k−1)·(1 − Σσ²_i/σ²_total)"}
    return out


# -------------------------------------------------------------------- PCA
@dataclass(frozen=True, repr=False)
class PCAResult:
    """PCA per node: ``variance`` (node, component, eigenvalue, explained, cumulative),
    ``loadings`` (node, indicator_id, name, component, loading, weight), ``params``."""

    variance: pd.DataFrame
    loadings: pd.DataFrame
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.variance

    def first_components(self) -> pd.DataFrame:
        """One row per node: share of variance of PC1 and the number of eigenvalues > 1 (Kaiser)."""
        v = self.variance
        pc1 = v[v["component"] == 1].set_index("node")
        kaiser = v[v["eigenvalue"] > 1].groupby("node").size()
        return pd.DataFrame({"pc1_explained": pc1["explained"], "n_eigen_gt1": kaiser.reindex(pc1.index).fillna(0).astype(int)})

    def __repr__(self) -> str:
        f = self.first_components()
        body = ", ".join(f"{n}: PC1 {r.pc1_explained:.0%}" for n, r in f.iterrows())
        return f"PCAResult({len(f)} nodes; {body})"


def pca(X, *, missing: str = "listwise") -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and loadings of the correlation matrix of ``X`` via SVD.

    Columns are standardised (mean 0, SD 1 with n − 1); the SVD
    ``Z = U S Vᵀ`` gives eigenvalues ``S² / (n − 1)`` and loadings
    ``V · √eigenvalue`` (indicators × components).  Signs: each component's
    loadings sum to ≥ 0.  Constant columns give NaN.
    """
    M = _complete(np.asarray(X, dtype=float), "listwise" if missing == "listwise" else missing)
    if missing != "listwise":
        M = np.where(np.isnan(M), np.nanmean(M, axis=0), M)  # mean imputation for "mean"
    n, k = M.shape
    sd = M.std(axis=0, ddof=1) if n > 1 else np.zeros(k)
    if n < 3 or (sd == 0).any():
        return np.full(k, np.nan), np.full((k, k), np.nan)
    Z = (M - M.mean(axis=0)) / sd
    _, s, Vt = np.linalg.svd(Z, full_matrices=False)
    ev = s ** 2 / (n - 1)
    V = Vt.T
    sign = np.where(V.sum(axis=0) < 0, -1.0, 1.0)
    L = V * sign * np.sqrt(ev)
    if len(ev) < k:  # fewer rows than columns: pad
        ev = np.r_[ev, np.zeros(k - len(ev))]
        L = np.c_[L, np.zeros((k, k - L.shape[1]))]
    return ev, L


def node_pca(data, framework: Framework | None = None, *, level: str = "parent", missing: str = "listwise",
             prepare: str = "auto") -> PCAResult:
    """PCA within each node (variance explained and loadings), see :func:`pca`.

    ``missing``: ``"listwise"`` (complete rows) or ``"mean"`` (column means
    filled in).  A node whose first component explains most of the variance
    and whose PC1 loadings all share one sign is statistically one dimension;
    a second eigenvalue > 1 suggests the node mixes two (JRC Handbook §4.2).
    """
    if missing not in ("listwise", "mean"):
        raise QlworkError(Problem("bad_option", f"missing 只能是 listwise 或 mean，收到 {missing!r}",
                                  "missing must be listwise or mean", found=missing))
    inp = _inputs(data, framework, prepare)
    fw = _need_framework(inp.framework, "主成分分析")
    groups = indicator_groups(fw, level)
    names = fw.names()
    w = fw.local_weights()
    vrows, lrows = [], []
    for node, members in groups.groupby(groups, sort=False):
        ids = [i for i in members.index if i in inp.X.columns]
        if len(ids) < 2:
            continue
        M = inp.X[ids].to_numpy(float)
        n_used = int((~np.isnan(M).any(axis=1)).sum()) if missing == "listwise" else len(M)
        ev, L = pca(M, missing=missing)
        tot = np.nansum(ev)
        for c in range(len(ids)):
            vrows.append({"node": node, "name": names.get(node, node), "component": c + 1, "eigenvalue": ev[c],
                          "explained": ev[c] / tot if tot > 0 else np.nan,
                          "cumulative": np.nansum(ev[: c + 1]) / tot if tot > 0 else np.nan, "n": n_used})
            for j, i in enumerate(ids):
                lrows.append({"node": node, "indicator_id": i, "name": names.get(i, i), "component": c + 1,
                              "loading": L[j, c], "weight": float(w.get(i, np.nan))})
    return PCAResult(pd.DataFrame(vrows), pd.DataFrame(lrows),
                     {"level": level, "missing": missing, "prepare": inp.prepared,
                      "method": "SVD of z-scores (n−1); loadings = eigenvector·√eigenvalue; sign: Σ loadings ≥ 0"})


