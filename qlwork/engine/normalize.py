"""Normalisation of raw indicator values to a 0–100 "more is better" scale.

Every function works on a dense ``numpy`` array ``X`` of shape
(rows × indicators) — rows are (unit, period) pairs — and an optional integer
vector ``groups`` (one code per row) naming the comparison group (peer group ×
period).  Group statistics are computed for every group and column at once with
sorted ``ufunc.reduceat``; there is no Python loop over units.

Conventions (recorded in ``IndexResult.params``):

* **Direction.**  Indicators with direction −1 ("less is better") are flipped
  by multiplying by −1 before normalising, as COINr does (``Normalise`` with
  ``directions``; Becker et al. 2022, *COINr*, JOSS 7(78) 4567).  Goalposts and
  targets are flipped with them.
* **min–max** (OECD/JRC 2008 *Handbook on Constructing Composite Indicators*
  §5.2): ``100 · (x − min_g) / (max_g − min_g)`` within group ``g``.
  A column that is constant within a group has no spread; every unit of that
  group equals the best (and the worst) value, so all get ``constant``
  (default 100: no unit falls short of its peers).
* **z-score** (Handbook §5.2): ``z = (x − mean_g) / sd_g`` with ``ddof=1``
  (R's ``sd()``, COINr ``n_zscore``).  For grading on 0–100 it is mapped to the
  T-score scale ``50 + 10·z`` clipped to [0, 100]; the raw ``z`` is kept in
  ``IndexResult.raw_z``.  Constant column → z = 0 → 50.
* **goalposts**: ``100 · (x − low) / (high − low)`` clipped to [0, 100] with the
  framework's fixed ``goalposts`` (comparable across periods; like the UNDP HDI
  dimension indices).  An indicator without goalposts falls back to min–max.
* **distance to target** (COINr ``n_dist2targ``):
  ``100 · (x − worst_g) / (target − worst_g)`` clipped to [0, 100], where
  ``worst_g`` is the group's worst value; units at or beyond the target get
  100.  Without a ``target`` the goalposts' best end is used, else min–max.
* **rank / percentile**: ``100 · (r − 1) / (n_g − 1)`` with ``r`` the average
  rank (ties share the mean rank) among the ``n_g`` non-missing values of the
  group; a group with one value gets ``constant``.

Outlier treatment (:func:`treat_outliers`) follows COINr's default ``Treat``:
an indicator passes when ``|skew| < 2`` **or** ``kurtosis < 3.5`` (bias-
corrected "type 2" skew and excess kurtosis, as Excel's SKEW/KURT); otherwise
the extreme value(s) on the skewed side (all tied values at once) are set to
the next value inwards, one step at a time, up to ``winmax`` steps (default
``ceil(0.1·n)``); if it still fails, the *original* values are log-transformed
``log(x − min + 0.01·(max − min))`` (mirrored for negative skew).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "NORMALIZATIONS",
    "GroupIndex",
    "group_index",
    "minmax",
    "zscore",
    "zscore_to_scale",
    "goalposts",
    "distance_to_target",
    "percentile_rank",
    "normalize",
    "skew_kurt",
    "treat_outliers",
]

NORMALIZATIONS = ("minmax", "zscore", "goalposts", "target", "rank")


# --------------------------------------------------------------------- groups
@dataclass(frozen=True)
class GroupIndex:
    """Rows sorted by group: ``order`` sorts rows, ``starts`` are block starts."""

    order: np.ndarray
    starts: np.ndarray
    codes: np.ndarray  # group code per block
    inverse: np.ndarray  # block number of every (unsorted) row
    n_rows: int

    @property
    def n_groups(self) -> int:
        return len(self.starts)


def group_index(groups: np.ndarray | None, n: int) -> GroupIndex:
    """Sort rows by group once; every group statistic reuses the order."""
    if groups is None:
        g = np.zeros(n, dtype=np.int64)
    else:
        g = np.asarray(groups)
        if g.shape != (n,):
            raise ValueError(f"groups must have shape ({n},), got {g.shape}")
    codes, inverse = np.unique(g, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    counts = np.bincount(inverse, minlength=len(codes))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    return GroupIndex(order, starts, codes, inverse.astype(np.int64), n)


def _as2d(X) -> np.ndarray:
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ValueError("X must be 1-D or 2-D (rows × indicators)")
    return X


def _directions(direction, p: int) -> np.ndarray:
    if direction is None:
        return np.ones(p)
    d = np.asarray(direction, dtype=float).reshape(-1)
    if d.size == 1:
        d = np.repeat(d, p)
    if d.shape != (p,) or not np.all(np.isin(d, (1.0, -1.0))):
        raise ValueError("direction must be 1 or -1 for every indicator")
    return d


def _group_stats(X: np.ndarray, gi: GroupIndex):
    """Per group × column: min, max, count, sum, sum of squares (NaN ignored)."""
    Xs = X[gi.order]
    ok = ~np.isnan(Xs)
    Z = np.where(ok, Xs, 0.0)
    cnt = np.add.reduceat(ok.astype(np.int64), gi.starts, axis=0)
    s1 = np.add.reduceat(Z, gi.starts, axis=0)
    lo = np.fmin.reduceat(Xs, gi.starts, axis=0)  # fmin ignores NaN
    hi = np.fmax.reduceat(Xs, gi.starts, axis=0)
    return lo, hi, cnt, s1


# ------------------------------------------------------------- normalisations
def minmax(X, groups=None, direction=None, *, constant: float = 100.0) -> np.ndarray:
    """Min–max to 0–100 within each group (directions flipped first).

    ``100 · (s − min_g s) / (max_g s − min_g s)`` with ``s = direction · x``.
    Constant within a group → ``constant``.  NaN stays NaN.
    """
    X = _as2d(X)
    S = X * _directions(direction, X.shape[1])
    gi = group_index(groups, X.shape[0])
    lo, hi, _, _ = _group_stats(S, gi)
    with np.errstate(over="ignore", invalid="ignore"):
        rng = hi - lo
    L, R = lo[gi.inverse], rng[gi.inverse]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        # divide before scaling by 100 (100·(s − min) overflows near 1.8e306), and halve
        # everything when the range itself overflows (min ≈ −1e308, max ≈ 1e308)
        out = 100.0 * ((S - L) / R)
        wide = np.isinf(R)
        if wide.any():
            half = 100.0 * ((S / 2 - L / 2) / (hi / 2 - lo / 2)[gi.inverse])
            out = np.where(wide, half, out)
    out = np.where(R > 0, out, np.where(np.isnan(S), np.nan, constant))
    return out


def zscore(X, groups=None, direction=None, *, ddof: int = 1) -> np.ndarray:
    """Raw z-scores within each group: ``(s − mean_g) / sd_g`` (``ddof=1``).

    Directions flipped first.  A group with zero spread (or fewer than
    ``ddof + 1`` values) gives z = 0.
    """
    X = _as2d(X)
    S = X * _directions(direction, X.shape[1])
    gi = group_index(groups, X.shape[0])
    _, _, cnt, s1 = _group_stats(S, gi)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = s1 / cnt
    M = mean[gi.inverse]
    with np.errstate(invalid="ignore", over="ignore"):  # ±inf inputs: their z is set below
        D = np.where(np.isnan(S), 0.0, S - M)
    # squares of deviations near the float limit overflow: sum (D/a)² with a = max|D| per column
    with np.errstate(invalid="ignore"):
        a = np.max(np.where(np.isfinite(D), np.abs(D), 0.0), axis=0, initial=0.0)
    a = np.where(a > 0, a, 1.0)
    Dn = D / a
    ss = np.add.reduceat((Dn * Dn)[gi.order], gi.starts, axis=0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        sd = a * np.sqrt(ss / (cnt - ddof))
    SD = sd[gi.inverse]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        z = (S - M) / SD
    return np.where((SD > 0) & np.isfinite(SD), z, np.where(np.isnan(S), np.nan, 0.0))


def zscore_to_scale(z, center: float = 50.0, scale: float = 10.0) -> np.ndarray:
    """Map z to the grading scale: ``clip(center + scale · z, 0, 100)`` (T-score)."""
    return np.clip(center + scale * np.asarray(z, dtype=float), 0.0, 100.0)


def goalposts(X, low, high, direction=None) -> np.ndarray:
    """Fixed goalposts: ``100 · (x − low) / (high − low)`` clipped to [0, 100].

    Direction −1: ``100 · (high − x) / (high − low)``.  ``low``/``high`` are
    per indicator; a column with NaN goalposts returns NaN (caller falls back).
    """
    X = _as2d(X)
    d = _directions(direction, X.shape[1])
    lo = np.asarray(low, dtype=float).reshape(-1)
    hi = np.asarray(high, dtype=float).reshape(-1)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):  # clipped below
        up = 100.0 * (X - lo) / (hi - lo)
        down = 100.0 * (hi - X) / (hi - lo)
    return np.clip(np.where(d > 0, up, down), 0.0, 100.0)


def distance_to_target(X, target, groups=None, direction=None, *, constant: float = 100.0) -> np.ndarray:
    """Distance to target: ``100 · (s − worst_g) / (t − worst_g)`` clipped to [0, 100].

    ``s = direction · x``, ``t = direction · target`` and ``worst_g = min_g s``.
    Units at or beyond the target score 100; if the whole group is at or beyond
    the target (``t ≤ worst_g``) every unit gets ``constant``.
    """
    X = _as2d(X)
    d = _directions(direction, X.shape[1])
    S = X * d
    t = np.asarray(target, dtype=float).reshape(-1) * d
    gi = group_index(groups, X.shape[0])
    lo, _, _, _ = _group_stats(S, gi)
    L = lo[gi.inverse]
    den = t[None, :] - L
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 100.0 * (S - L) / den
    out = np.where(den > 0, out, np.where(np.isnan(S), np.nan, constant))
    return np.clip(out, 0.0, 100.0)


def percentile_rank(X, groups=None, direction=None, *, constant: float = 100.0) -> np.ndarray:
    """Percentile rank ``100 · (r − 1) / (n_g − 1)``, ties get the average rank."""
    X = _as2d(X)
    S = X * _directions(direction, X.shape[1])
    gi = group_index(groups, X.shape[0])
    df = pd.DataFrame(S)
    r = df.groupby(gi.inverse).rank(method="average").to_numpy(dtype=float)
    n = df.notna().groupby(gi.inverse).transform("sum").to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = 100.0 * (r - 1.0) / (n - 1.0)
    return np.where(n > 1, out, np.where(np.isnan(S), np.nan, constant))


def normalize(X, method: str = "minmax", *, groups=None, direction=None, low=None, high=None,
              target=None, constant: float = 100.0, z_center: float = 50.0, z_scale: float = 10.0):
    """Dispatch to one normalisation; returns ``(N, info)``.

    ``info`` records per-method details: ``fallback`` (indicator positions that
    had no goalposts/target and used min–max instead) and ``z`` (raw z-scores,
    z-score method only).
    """
    X = _as2d(X)
    p = X.shape[1]
    info: dict = {"method": method, "fallback": []}
    if method == "minmax":
        N = minmax(X, groups, direction, constant=constant)
    elif method == "zscore":
        z = zscore(X, groups, direction)
        info["z"] = z
        N = zscore_to_scale(z, z_center, z_scale)
    elif method == "goalposts":
        lo = np.full(p, np.nan) if low is None else np.asarray(low, dtype=float)
        hi = np.full(p, np.nan) if high is None else np.asarray(high, dtype=float)
        N = goalposts(X, lo, hi, direction)
        bad = ~(np.isfinite(lo) & np.isfinite(hi) & (hi > lo))
        if bad.any():
            info["fallback"] = list(np.flatnonzero(bad))
            N[:, bad] = minmax(X[:, bad], groups, _directions(direction, p)[bad], constant=constant)
    elif method == "target":
        d = _directions(direction, p)
        t = np.full(p, np.nan) if target is None else np.asarray(target, dtype=float).copy()
        # without an explicit target use the goalposts' best end
        if high is not None and low is not None:
            best = np.where(d > 0, np.asarray(high, dtype=float), np.asarray(low, dtype=float))
            t = np.where(np.isfinite(t), t, best)
        bad = ~np.isfinite(t)
        N = distance_to_target(X, np.where(bad, 0.0, t), groups, d, constant=constant)
        if bad.any():
            info["fallback"] = list(np.flatnonzero(bad))
            N[:, bad] = minmax(X[:, bad], groups, d[bad], constant=constant)
    elif method == "rank":
        N = percentile_rank(X, groups, direction, constant=constant)
    else:
        raise ValueError(f"unknown normalisation {method!r}; one of {NORMALIZATIONS}")
    return N, info


# ------------------------------------------------------------------- outliers
def skew_kurt(x) -> tuple[float, float]:
    """Bias-corrected sample skewness G1 and excess kurtosis G2 (Excel SKEW/KURT).

    G1 = √(n(n−1))/(n−2) · m3/m2^1.5 ;
    G2 = (n−1)/((n−2)(n−3)) · ((n+1)·(m4/m2² − 3) + 6)  (Joanes & Gill 1998, type 2).
    """
    x = np.asarray(x, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    if n < 4:
        return float("nan"), float("nan")
    d = x - x.mean()
    m2 = np.mean(d ** 2)
    if m2 <= 0:
        return 0.0, float("nan")
    g1 = np.mean(d ** 3) / m2 ** 1.5
    g2 = np.mean(d ** 4) / m2 ** 2 - 3.0
    G1 = math.sqrt(n * (n - 1)) / (n - 2) * g1
    G2 = (n - 1) / ((n - 2) * (n - 3)) * ((n + 1) * g2 + 6.0)
    return float(G1), float(G2)


def _passes(x, skew_max: float, kurt_max: float) -> tuple[bool, float]:
    s, k = skew_kurt(x)
    if not np.isfinite(s):
        return True, 0.0
    return bool(abs(s) < skew_max or not (k >= kurt_max)), s


def _treat_column(x: np.ndarray, method: str, skew_max: float, kurt_max: float, winmax: int | None):
    """Treat one vector; returns (treated, status, n_low, n_high)."""
    ok = ~np.isnan(x)
    n = int(ok.sum())
    passed, s = _passes(x, skew_max, kurt_max)
    if passed:
        return x, "none", 0, 0
    y = x.copy()
    lo_hit = np.zeros(x.shape, bool)
    hi_hit = np.zeros(x.shape, bool)
    if method == "winsorise":
        wm = int(math.ceil(0.1 * n)) if winmax is None else int(winmax)
        for _ in range(wm):
            v = y[ok]
            if s > 0:
                top = v.max()
                rest = v[v < top]
                if rest.size == 0:
                    break
                hit = ok & (y == top)
                y[hit] = rest.max()
                hi_hit |= hit
            else:
                bot = v.min()
                rest = v[v > bot]
                if rest.size == 0:
                    break
                hit = ok & (y == bot)
                y[hit] = rest.min()
                lo_hit |= hit
            passed, s = _passes(y, skew_max, kurt_max)
            if passed:
                # count distinct values moved (a point moved twice counts once), as COINr's summary
                return y, "winsorised", int(lo_hit.sum()), int(hi_hit.sum())
    # log transform of the original values (COINr "log_CT" fallback)
    v = x[ok]
    lo, hi = v.min(), v.max()
    pad = 0.01 * (hi - lo)
    s0, _ = skew_kurt(x)
    y = np.full_like(x, np.nan)
    if s0 >= 0:
        y[ok] = np.log(v - lo + pad)
    else:  # mirrored so a long left tail is compressed and order is kept
        y[ok] = -np.log(hi - v + pad)
    return y, "log", 0, 0


def treat_outliers(X, groups=None, *, method: str = "winsorise", skew_max: float = 2.0,
                   kurt_max: float = 3.5, winmax: int | None = None):
    """Outlier treatment per group and column; returns ``(X_treated, summary)``.

    ``method``: ``"winsorise"`` (COINr default: winsorise, log if that fails)
    or ``"log"`` (log-transform every failing indicator directly).
    ``summary`` is a DataFrame: group, column, status (none|winsorised|log),
    n_low, n_high, skew, kurtosis before treatment.  Changed cells are
    ``X_treated != X``.
    """
    if method not in ("winsorise", "log"):
        raise ValueError("outliers must be 'winsorise' or 'log'")
    X = _as2d(X)
    gi = group_index(groups, X.shape[0])
    Y = X.copy()
    rows = []
    ends = np.append(gi.starts[1:], X.shape[0])
    for b, (a, e) in enumerate(zip(gi.starts, ends)):
        idx = gi.order[a:e]
        for j in range(X.shape[1]):
            x = X[idx, j]
            s, k = skew_kurt(x)
            y, status, nl, nh = _treat_column(x, method, skew_max, kurt_max, winmax)
            Y[idx, j] = y
            rows.append({"group": gi.codes[b], "column": j, "status": status, "n_low": nl,
                         "n_high": nh, "skew": s, "kurtosis": k})
    return Y, pd.DataFrame(rows)
