"""Objective weights from the data (客观赋权): entropy, CRITIC, PCA, equal.

``data`` is a wide table (rows = units, columns = indicators) or an array; the
weights are a Series indexed by the column names (arrays → positional).
``directions`` (+1 more is better, −1 less is better) is a mapping/Series by
column or a sequence; missing → +1.  Missing values (NaN) are ignored column
by column.

* **Entropy weight method (熵权法)** — Shannon entropy of each indicator's
  distribution over units (Zeleny 1982; the usual Chinese textbook form):
  ``p_ij = x'_ij / Σ_i x'_ij``, ``e_j = −(1/ln m_j) Σ_i p_ij ln p_ij`` with
  ``0·ln 0 = 0``, ``d_j = 1 − e_j``, ``w_j = d_j / Σ d_j``.  ``x'`` is
  ``normalization="minmax"`` (``(x − min)/(max − min)``, flipped for cost
  indicators) or ``"sum"`` (raw values; negative data is an error; a cost
  indicator is reflected ``max + min − x``), plus ``shift`` (a small positive
  shift, e.g. 0.01, avoids the zero that min-max always produces).  A constant
  indicator carries no information: weight 0, not NaN.  "Constant" means a
  range ≤ 1e-12 × the largest absolute value (:data:`CONSTANT_RTOL`), so float
  noise in a constant column is not stretched to 0…1 (entropy and CRITIC alike).
* **CRITIC** (Diakoulaki, Mavrotas & Papayannakis 1995, "Determining objective
  weights in multiple criteria problems: the CRITIC method", Computers & OR
  22(7):763–770): ``C_j = σ_j Σ_k (1 − r_jk)`` with σ the standard deviation of
  the (min-max normalised, directions flipped) indicator and r the Pearson (or
  Spearman) correlation; ``w_j = C_j / Σ C_j``.  With ``normalization=None`` the
  raw values are used with cost indicators negated.  σ uses ``ddof`` (default 1).
* **PCA weights** — from the principal components of the standardised data
  (correlation matrix).  ``variant="variance_share"`` (the common Chinese
  综合得分系数 method): keep components with eigenvalue > 1 (Kaiser) or the
  given ``n_components``; coefficient ``u_jk = loading_jk / √λ_k``; weight ∝
  ``|Σ_k λ_k u_jk| / Σ_k λ_k``.  ``variant="squared_loadings"`` (OECD/JRC 2008
  Handbook on Constructing Composite Indicators §6.1, Nicoletti et al. 2000,
  without rotation): squared loadings scaled to unit sum within each kept
  component; each indicator takes its largest scaled value times that
  component's share of the kept variance; normalised.
* **Equal weights** — 1/n per indicator, or equal within every node of a
  framework (then the leaf weights are the products).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError

__all__ = ["entropy_weights", "critic_weights", "pca_weights", "equal_weights", "ObjectiveWeights"]


@dataclass(frozen=True)
class ObjectiveWeights:
    """Weights plus the per-indicator quantities they came from (``details``)."""

    weights: pd.Series
    method: str
    details: pd.DataFrame = field(repr=False)
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        d = self.details.copy()
        d.insert(0, "weight", self.weights.reindex(d.index))
        d.index.name = "indicator"
        return d.reset_index().assign(method=self.method)

    def __repr__(self) -> str:
        ws = ", ".join(f"{k}={v:.4f}" for k, v in self.weights.items())
        return f"ObjectiveWeights({self.method}; {ws})"


def _frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pd.DataFrame):
        df = data.copy()
    else:
        arr = np.asarray(data, dtype=float)
        if arr.ndim != 2:
            raise QlworkError(Problem("bad_data", "数据必须是二维表（单位 × 指标）", "data must be 2-D (units × indicators)",
                                      found=arr.shape))
        df = pd.DataFrame(arr, columns=[str(i) for i in range(arr.shape[1])])
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        raise QlworkError(Problem("non_numeric", f"指标列不是数字：{bad}", "non-numeric indicator columns", found=bad,
                                  expected="数值列 numeric columns"))
    if df.shape[1] == 0 or df.shape[0] < 2:
        raise QlworkError(Problem("too_small", "至少需要 2 个单位和 1 个指标", "need >= 2 units and >= 1 indicator",
                                  found=df.shape))
    return df.astype(float)


def _directions(df: pd.DataFrame, directions: Any) -> np.ndarray:
    if directions is None:
        return np.ones(df.shape[1])
    if isinstance(directions, (Mapping, pd.Series)):
        s = pd.Series(directions, dtype=float)
        d = s.reindex(df.columns).fillna(1.0).to_numpy()
    else:
        d = np.asarray(directions, dtype=float)
        if d.shape != (df.shape[1],):
            raise QlworkError(Problem("bad_directions", "方向个数与指标个数不一致", "directions do not match columns",
                                      found=d.shape, expected=(df.shape[1],)))
    if not np.all(np.isin(d, (1.0, -1.0))):
        raise QlworkError(Problem("bad_directions", "方向必须是 1 或 -1", "directions must be 1 or -1", found=d.tolist()))
    return d


#: Relative spread below which an indicator counts as constant: a range of float noise
#: (e.g. 0.1 + 0.2 vs 0.3) must not be stretched to 0…1 by min-max and win the largest weight.
CONSTANT_RTOL = 1e-12


def _constant(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per column: max − min ≤ CONSTANT_RTOL · max(|min|, |max|) (or not finite)."""
    return ~((hi - lo) > CONSTANT_RTOL * np.maximum(np.abs(lo), np.abs(hi)))


def _minmax(x: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
    rng = hi - lo
    const = _constant(lo, hi)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.where(d > 0, (x - lo) / rng, (hi - x) / rng)
    z[:, const] = np.where(np.isnan(x[:, const]), np.nan, 0.0)
    return z, const


def entropy_weights(data: Any, directions: Any = None, normalization: str = "minmax", shift: float = 0.0) -> ObjectiveWeights:
    """Entropy weights (熵权法); see the module docstring for the formula."""
    df = _frame(data)
    d = _directions(df, directions)
    x = df.to_numpy()
    if normalization == "minmax":
        z, const = _minmax(x, d)
    elif normalization == "sum":
        if np.nanmin(x) < 0:
            cols = [c for c, m in zip(df.columns, np.nanmin(x, axis=0)) if m < 0]
            raise QlworkError(Problem("negative_data", f"比重法（sum）不能用于含负数的指标：{cols}",
                                      "normalization='sum' needs non-negative data", found=cols,
                                      expected="非负数据，或用 normalization='minmax'"))
        lo, hi = np.nanmin(x, axis=0), np.nanmax(x, axis=0)
        z = np.where(d > 0, x, hi + lo - x)
        const = _constant(lo, hi)
    else:
        raise QlworkError(Problem("unknown_normalization", f"未知的标准化方式 {normalization!r}",
                                  f"unknown normalization {normalization!r}", found=normalization, expected="minmax | sum"))
    z = z + shift
    have = ~np.isnan(z)
    m = have.sum(axis=0)
    tot = np.nansum(z, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(have, z, 0.0) / tot
        plogp = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)  # 0·ln 0 = 0
        e = -plogp.sum(axis=0) / np.log(m)
    e = np.where(const | (tot <= 0) | (m < 2), 1.0, e)
    div = np.clip(1.0 - e, 0.0, None)
    if div.sum() <= 0:
        raise QlworkError(Problem("no_information", "所有指标在各单位间都没有差异，熵权无法确定",
                                  "every indicator is constant; entropy weights undefined", found=list(df.columns)))
    w = div / div.sum()
    details = pd.DataFrame({"entropy": e, "divergence": div, "constant": const, "n": m}, index=df.columns)
    return ObjectiveWeights(pd.Series(w, index=df.columns, name="weight"), "entropy", details,
                            {"normalization": normalization, "shift": shift, "directions": d.tolist()})


def critic_weights(data: Any, directions: Any = None, normalization: str | None = "minmax",
                   correlation: str = "pearson", ddof: int = 1) -> ObjectiveWeights:
    """CRITIC weights (Diakoulaki et al. 1995); see the module docstring."""
    df = _frame(data)
    d = _directions(df, directions)
    x = df.to_numpy()
    if normalization == "minmax":
        z, const = _minmax(x, d)
    elif normalization is None:
        z = x * d
        const = _constant(np.nanmin(x, axis=0), np.nanmax(x, axis=0))
    else:
        raise QlworkError(Problem("unknown_normalization", f"未知的标准化方式 {normalization!r}",
                                  f"unknown normalization {normalization!r}", found=normalization, expected="minmax | None"))
    if correlation not in ("pearson", "spearman"):
        raise QlworkError(Problem("unknown_correlation", f"未知的相关系数 {correlation!r}", f"unknown correlation {correlation!r}",
                                  found=correlation, expected="pearson | spearman"))
    zf = pd.DataFrame(z, columns=df.columns)
    sd = zf.std(ddof=ddof).to_numpy()
    sd = np.where(const, 0.0, sd)
    r = zf.corr(method=correlation).to_numpy().copy()
    # a constant indicator carries no information: its σ is 0 and it must not add
    # "conflict" to the others, so its correlations are set to 1 (1 − r = 0)
    r[const, :] = 1.0
    r[:, const] = 1.0
    r = np.where(np.isnan(r), 1.0, r)
    np.fill_diagonal(r, 1.0)
    conflict = (1.0 - r).sum(axis=1)
    c = sd * conflict
    fallback = None
    if c.sum() <= 1e-15 and sd.sum() > 0:
        # every varying indicator is perfectly correlated with the others (e.g. only one
        # varies): conflict carries no information, so weights fall back to σ alone
        c = sd.copy()
        fallback = "std (no conflict information)"
    if c.sum() <= 0:
        raise QlworkError(Problem("no_information", "所有指标都没有差异，CRITIC 权重无法确定",
                                  "every indicator is constant; CRITIC weights undefined", found=list(df.columns)))
    w = c / c.sum()
    details = pd.DataFrame({"std": sd, "conflict": conflict, "information": c}, index=df.columns)
    return ObjectiveWeights(pd.Series(w, index=df.columns, name="weight"), "critic", details,
                            {"normalization": normalization, "correlation": correlation, "ddof": ddof,
                             "directions": d.tolist(), "fallback": fallback})


def pca_weights(data: Any, directions: Any = None, n_components: int | None = None,
                variant: str = "variance_share") -> ObjectiveWeights:
    """Weights from principal components of the standardised data; see the module docstring.

    Rows with any missing value are dropped (listwise) for the correlation matrix.
    """
    df = _frame(data)
    d = _directions(df, directions)
    x = (df * d).dropna()
    sd = x.std(ddof=1)
    if (sd <= 0).any():
        raise QlworkError(Problem("constant_indicator", f"主成分分析不能包含常数指标：{list(sd.index[sd <= 0])}",
                                  "PCA needs non-constant indicators", found=list(sd.index[sd <= 0])))
    if len(x) < 3:
        raise QlworkError(Problem("too_small", "主成分分析至少需要 3 个完整的单位", "PCA needs >= 3 complete rows", found=len(x)))
    r = np.corrcoef(x.to_numpy(), rowvar=False)
    lam, vec = np.linalg.eigh(r)
    order = np.argsort(lam)[::-1]
    lam, vec = lam[order], vec[:, order]
    vec = vec * np.where(vec.sum(axis=0) < 0, -1.0, 1.0)  # sign convention: loadings mostly positive
    k = int(n_components) if n_components is not None else max(1, int((lam > 1).sum()))
    lam_k, vec_k = lam[:k], vec[:, :k]
    loadings = vec_k * np.sqrt(lam_k)
    if variant == "variance_share":
        coef = loadings / np.sqrt(lam_k)  # = eigenvectors
        raw = np.abs(coef @ lam_k) / lam_k.sum()
    elif variant == "squared_loadings":
        sq = loadings ** 2
        sq = sq / sq.sum(axis=0)
        share = lam_k / lam_k.sum()
        best = sq.argmax(axis=1)
        raw = sq[np.arange(len(best)), best] * share[best]
    else:
        raise QlworkError(Problem("unknown_variant", f"未知的主成分赋权方式 {variant!r}", f"unknown PCA variant {variant!r}",
                                  found=variant, expected="variance_share | squared_loadings"))
    w = raw / raw.sum()
    details = pd.DataFrame(loadings, index=df.columns, columns=[f"PC{i + 1}_loading" for i in range(k)])
    return ObjectiveWeights(pd.Series(w, index=df.columns, name="weight"), "pca", details,
                            {"variant": variant, "n_components": k, "eigenvalues": lam.round(6).tolist(),
                             "explained": float(lam_k.sum() / lam.sum()), "rows_used": int(len(x)),
                             "directions": d.tolist()})


def equal_weights(items: Any) -> pd.Series:
    """Equal weights: over columns of a table / a list of ids, or equal *within every node*
    of a :class:`~qlwork.framework.Framework` (returned as leaf weights)."""
    from ..framework import Framework

    if isinstance(items, Framework):
        local = {}
        for nid, node in items.nodes.items():
            for c in node.children:
                local[c] = 1.0 / len(node.children)
        return items.with_weights(local, normalize=True).leaf_weights().rename("weight")
    ids = list(items.columns) if isinstance(items, pd.DataFrame) else [str(i) for i in items]
    if not ids:
        raise QlworkError(Problem("no_indicators", "没有指标", "no indicators"))
    return pd.Series(1.0 / len(ids), index=ids, name="weight")
