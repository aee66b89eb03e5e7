"""Joint oddity across indicators (多指标组合异常): robust Mahalanobis distance.

A unit can be unremarkable on each indicator and odd in combination — many disputes
"resolved" while repeat petitions pile up.  For each peer group g with at least
``min_group`` units, the indicators reported by at least ``min_coverage`` of the
unit-periods (K_g ≥ 2 of them) are turned into van der Waerden normal scores within the
group and period, ``x = Φ⁻¹(rank/(n + 1))`` (ties share their mean rank), so every margin
is standard normal whatever the indicator's distribution (zero-inflated counts,
percentages piled up at 100).

The scatter is the **Gaussian rank correlation** R of the scores (the Pearson correlation
of normal scores; Boudt, Cornelissen & Croux 2012): bounded influence and 98 % of the
Gaussian efficiency.  One reweighting step makes it robust to a cluster of odd units as
well: rows with χ²_{K_g} tail probability below ``reweight_alpha`` under R are left out
and R re-estimated (the reweighting step of MCD; Rousseeuw & Van Driessen 1999).  Then

    d² = xᵀ R⁻¹ x,   p = P(χ²_{K_g} ≥ d²),   contributions c_k = x_k·(R⁻¹x)_k  (Σ c_k = d²)

scikit-learn's ``MinCovDet`` was considered: on normal scores, whose margins are already
bounded, it buys little robustness and costs a resampling search per group (seconds per
group at province scale) plus a large dependency; R is one matrix product.  Rows with a
missing indicator are not tested (a partial vector has another null distribution).
"""
from __future__ import annotations

import numpy as np
from scipy import special, stats

from .base import Scores
from .kernels import column_ranks
from .panel import Panel

__all__ = ["joint_scores", "normal_scores", "gaussian_rank_correlation"]


def normal_scores(Y: np.ndarray) -> np.ndarray:
    """van der Waerden scores along axis 0 (units), NaN kept: Φ⁻¹(rank/(n + 1)), ties at
    their mean rank."""
    shape = Y.shape
    flat = np.ascontiguousarray(Y.reshape(shape[0], -1))
    r, n = column_ranks(flat)
    with np.errstate(invalid="ignore", divide="ignore"):
        return special.ndtri(r / (n[None, :] + 1.0)).reshape(shape)


#: rows used to estimate R at most (every k-th row beyond): a correlation from 20,000
#: rows has a standard error below 0.007
MAX_ROWS = 20_000


def _corr(X: np.ndarray) -> np.ndarray:
    Xc = X - X.mean(axis=0)
    C = Xc.T @ Xc
    d = np.sqrt(np.diag(C))
    return C / np.outer(d, d)


def gaussian_rank_correlation(X: np.ndarray, *, reweight_alpha: float = 0.001) -> tuple[np.ndarray, int]:
    """R of complete rows X (N × K), re-estimated once without the rows whose d² under the
    first R has χ²_K tail probability below ``reweight_alpha``; → (R, rows used).  At most
    :data:`MAX_ROWS` rows, taken at an even stride (deterministic)."""
    if len(X) > MAX_ROWS:
        X = X[:: int(np.ceil(len(X) / MAX_ROWS))]
    X = np.ascontiguousarray(X)
    R = _corr(X)
    if reweight_alpha > 0:
        d2 = np.einsum("ij,ij->i", X @ np.linalg.pinv(R), X)
        keep = stats.chi2.sf(d2, X.shape[1]) >= reweight_alpha
        if keep.sum() > 5 * X.shape[1]:
            return _corr(X[keep]), int(keep.sum())
    return R, len(X)


def joint_scores(panel: Panel, months_idx: np.ndarray, *, min_group: int = 30, min_coverage: float = 0.8,
                 reweight_alpha: float = 0.001, history: int = 12, min_rows_per_indicator: int = 50) -> Scores:
    """d² and p per unit and evaluated period (U × E; NaN where not tested); ``extra``:
    ``contrib`` and ``scores`` (U × K × E, NaN outside the tested indicators), ``df`` (U).

    R is estimated from the evaluated periods; a small group (fewer than
    ``min_rows_per_indicator`` unit-periods per indicator) adds up to ``history`` earlier periods."""
    U, K, T = panel.shape
    E = len(months_idx)
    d2 = np.full((U, E), np.nan)
    p = np.full((U, E), np.nan)
    contrib = np.full((U, K, E), np.nan, np.float32)
    xs = np.full((U, K, E), np.nan, np.float32)
    df = np.zeros(U, np.int64)
    groups = {}
    for g in range(len(panel.group_labels)):
        idx = np.flatnonzero(panel.group == g)
        if len(idx) < min_group:
            continue
        use = np.asarray(months_idx, np.int64)
        if len(idx) * len(use) < min_rows_per_indicator * K:
            extra = int(np.ceil(min_rows_per_indicator * K / len(idx))) - len(use)
            first = int(use.min())
            use = np.unique(np.concatenate([np.arange(max(0, first - min(history, max(extra, 0))), first), use]))
        col = {t: i for i, t in enumerate(use)}
        Yg = panel.y[np.ix_(idx, np.arange(K), use)]
        cover = np.isfinite(Yg).mean(axis=(0, 2))
        ks = np.flatnonzero(cover >= min_coverage)
        if len(ks) < 2:
            continue
        Z = normal_scores(Yg[:, ks, :])                        # n_g × K_g × |use|
        rows = np.moveaxis(Z, 2, 1).reshape(-1, len(ks))       # (unit, period) rows
        ok = np.isfinite(rows).all(axis=1)
        if ok.sum() <= 5 * len(ks):
            continue
        R, used = gaussian_rank_correlation(rows[ok], reweight_alpha=reweight_alpha)
        Rinv = np.linalg.pinv(R)
        for e, t in enumerate(months_idx):
            X = Z[:, :, col[t]]
            good = np.isfinite(X).all(axis=1)
            if not good.any():
                continue
            Xg = X[good]
            c = Xg * (Xg @ Rinv)
            d = c.sum(axis=1)
            rows_u = idx[good]
            d2[rows_u, e] = d
            p[rows_u, e] = stats.chi2.sf(d, len(ks))
            contrib[np.ix_(rows_u, ks, [e])] = c[:, :, None]
            xs[np.ix_(rows_u, ks, [e])] = Xg[:, :, None]
        df[idx] = len(ks)
        groups[panel.group_labels[g]] = {"indicators": [str(panel.indicator_ids[k]) for k in ks],
                                        "rows": int(ok.sum()), "rows_after_reweighting": used,
                                        "correlation": np.round(R, 4).tolist()}
    return Scores("joint", d2, p, None, {"contrib": contrib, "df": df, "scores": xs, "groups": groups}, months_idx)
