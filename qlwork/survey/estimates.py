"""Per-unit direct estimates: Hájek means with linearisation SEs, proportions
with Wilson / Clopper–Pearson intervals on the effective sample size, and the
minimum-reporting rule (DOMAIN.md §3.3).

Formulas
--------
- Hájek mean ``ȳ_w = Σ w_i y_i / Σ w_i``.
- Linearisation (Taylor) variance, one stage, with-replacement approximation
  (Wolter 2007, *Introduction to Variance Estimation*, §6.11; the formula of
  R ``survey::svymean`` for a one-stage design):
  ``var = n/(n−1) · Σ w_i² (y_i − ȳ_w)² / (Σ w)²``.
  This is *not* the frequency-weight formula
  ``Σ w (y − ȳ)² / (Σw − 1) / Σw``, which treats a weight of 300 as 300
  observed people and grossly understates the SE.
- Kish ``n_eff = (Σw)² / Σw²``, ``deff = n Σw² / (Σw)²``.
- Proportion intervals: statsmodels ``proportion_confint`` with
  ``count = p̂·n_eff, nobs = n_eff`` (Korn & Graubard 1998 use the effective
  size the same way for Clopper–Pearson).

Everything per unit is vectorised with ``np.bincount`` over unit codes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = [
    "WeightedMean",
    "weighted_mean",
    "frequency_weight_se",
    "group_estimates",
    "proportion_interval",
    "reporting_flags",
    "REPORTING_DEFAULTS",
]

#: Minimum-reporting rule (DOMAIN.md §3.3): flag when n < 30, n_eff < 20 or CI half-width > 10.
REPORTING_DEFAULTS = {"min_n": 30, "min_n_eff": 20.0, "max_halfwidth": 10.0}


@dataclass(frozen=True)
class WeightedMean:
    """A Hájek mean with its linearisation SE and Kish effective size."""

    mean: float
    se: float
    n: int
    n_eff: float
    deff: float
    ci_low: float
    ci_high: float
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{k: getattr(self, k) for k in
                              ("mean", "se", "n", "n_eff", "deff", "ci_low", "ci_high")}])

    def __repr__(self) -> str:
        return (f"WeightedMean(mean={self.mean:.4g}, se={self.se:.4g}, n={self.n}, "
                f"n_eff={self.n_eff:.1f}, deff={self.deff:.3f}, "
                f"CI=[{self.ci_low:.4g}, {self.ci_high:.4g}])")


def _t_quantile(df: np.ndarray | float, level: float, dist: str) -> np.ndarray:
    # imported here: scipy.stats costs 0.6 CPU-s, and the dashboard kernel, which
    # only reads published estimates through this package, must start fast (issue 18)
    from scipy import stats

    a = 1 - (1 - level) / 2
    if dist == "normal":
        return np.full(np.shape(df), stats.norm.ppf(a))
    with np.errstate(invalid="ignore"):
        return stats.t.ppf(a, np.maximum(np.asarray(df, dtype=float), 1))


def weighted_mean(y, w, *, level: float = 0.95, ci_dist: str = "t") -> WeightedMean:
    """Hájek mean of ``y`` with weights ``w`` and its linearisation SE.

    ``var = n/(n−1) · Σ w_i² (y_i − ȳ_w)² / (Σw)²`` (Wolter 2007 §6.11).
    Missing ``y`` are dropped.  CI uses t(n−1) by default (``ci_dist="normal"``
    for z).
    """
    y = np.asarray(y, dtype=float)
    w = np.asarray(w, dtype=float)
    ok = np.isfinite(y) & np.isfinite(w)
    y, w = y[ok], w[ok]
    n = len(y)
    sw = w.sum()
    if n == 0 or sw <= 0:
        nan = float("nan")
        return WeightedMean(nan, nan, n, nan, nan, nan, nan, {"level": level, "ci_dist": ci_dist})
    m = float((w * y).sum() / sw)
    var = n / (n - 1) * float((w**2 * (y - m) ** 2).sum()) / sw**2 if n > 1 else float("nan")
    se = float(np.sqrt(var))
    sw2 = float((w**2).sum())
    n_eff = sw**2 / sw2
    q = float(_t_quantile(n - 1, level, ci_dist))
    return WeightedMean(m, se, n, float(n_eff), float(n * sw2 / sw**2), m - q * se, m + q * se,
                        {"level": level, "ci_dist": ci_dist, "variance": "linearisation (with replacement)"})


def frequency_weight_se(y, w) -> float:
    """SE that treats weights as frequencies (what *not* to use for survey weights).

    ``s² = Σ w (y − ȳ_w)² / (Σw − 1)``, ``se = s / √Σw``.
    """
    y = np.asarray(y, dtype=float)
    w = np.asarray(w, dtype=float)
    m = (w * y).sum() / w.sum()
    s2 = (w * (y - m) ** 2).sum() / (w.sum() - 1)
    return float(np.sqrt(s2 / w.sum()))


def group_estimates(
    y: np.ndarray | pd.Series,
    w: np.ndarray | pd.Series,
    groups: np.ndarray | pd.Series,
    *,
    level: float = 0.95,
    ci_dist: str = "t",
) -> pd.DataFrame:
    """Hájek means with linearisation SEs for every group at once.

    Vectorised: sums ``Σw, Σwy, Σw², Σw²(y−ȳ_g)²`` are ``np.bincount`` over
    group codes.  Rows with missing ``y`` (e.g. every item 不了解) are left
    out of their group's estimate.  Returns one row per group with
    ``n, n_eff, deff, mean, se, ci_low, ci_high``.
    """
    y = np.asarray(y, dtype=float)
    w = np.asarray(w, dtype=float)
    if isinstance(groups, pd.Series) and isinstance(groups.dtype, pd.CategoricalDtype):
        codes = groups.cat.codes.to_numpy().astype(np.int64)
        names = pd.Index(groups.cat.categories)
    else:
        codes, names = pd.factorize(np.asarray(groups), sort=True)
        codes = codes.astype(np.int64)
        names = pd.Index(names)
    G = len(names)
    ok = np.isfinite(y) & np.isfinite(w) & (codes >= 0)
    c, yy, ww = codes[ok], y[ok], w[ok]
    n = np.bincount(c, minlength=G).astype(float)
    sw = np.bincount(c, weights=ww, minlength=G)
    swy = np.bincount(c, weights=ww * yy, minlength=G)
    sw2 = np.bincount(c, weights=ww * ww, minlength=G)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = swy / sw
        r = yy - mean[c]
        ss = np.bincount(c, weights=(ww * r) ** 2, minlength=G)
        var = np.where(n > 1, n / (n - 1) * ss / sw**2, np.nan)
        n_eff = sw**2 / sw2
        deff = n * sw2 / sw**2
    se = np.sqrt(var)
    q = _t_quantile(n - 1, level, ci_dist)
    out = pd.DataFrame({
        "n": n.astype(int), "n_eff": n_eff, "deff": deff, "mean": mean, "se": se,
        "ci_low": mean - q * se, "ci_high": mean + q * se,
    }, index=names)
    out.index.name = "group"
    return out


def proportion_interval(p, n_eff, *, method: str = "wilson", level: float = 0.95):
    """Interval for a weighted proportion using ``n_eff`` in place of ``n``.

    ``method``: ``"wilson"`` or ``"beta"`` (Clopper–Pearson; with n_eff this is
    the Korn–Graubard interval).  Vectorised; returns (low, high) arrays.
    """
    from statsmodels.stats.proportion import proportion_confint

    p = np.asarray(p, dtype=float)
    ne = np.asarray(n_eff, dtype=float)
    ok = np.isfinite(p) & np.isfinite(ne) & (ne > 0)
    lo = np.full(p.shape, np.nan)
    hi = np.full(p.shape, np.nan)
    if ok.any():
        cnt = np.clip(p[ok], 0, 1) * ne[ok]
        l, h = proportion_confint(cnt, ne[ok], alpha=1 - level, method=method)
        lo[ok] = np.asarray(l, dtype=float)
        hi[ok] = np.asarray(h, dtype=float)
    return lo, hi


def reporting_flags(est: pd.DataFrame, *, min_n: int = 30, min_n_eff: float = 20.0,
                    max_halfwidth: float = 10.0) -> pd.DataFrame:
    """Minimum-reporting rule: flag when n < min_n, n_eff < min_n_eff or the CI
    half-width exceeds ``max_halfwidth`` points (DOMAIN.md §3.3).

    Returns ``reportable`` (bool) and ``flag_reason`` (Chinese; empty if fine).
    """
    half = (est["ci_high"] - est["ci_low"]) / 2
    r1 = est["n"] < min_n
    r2 = est["n_eff"] < min_n_eff
    r3 = ~(half <= max_halfwidth)
    reason = np.full(len(est), "", dtype=object)
    for mask, text in ((r1, f"样本量<{min_n}"), (r2, f"有效样本量<{min_n_eff:g}"),
                       (r3, f"置信区间半宽>{max_halfwidth:g}")):
        m = mask.to_numpy()
        reason[m] = np.where(reason[m] == "", text, reason[m] + "；" + text)
    return pd.DataFrame({"reportable": ~(r1 | r2 | r3).to_numpy(), "flag_reason": reason.astype(str)},
                        index=est.index)
