"""Robust location and scale shared by the detectors.

* Scale of a column: ``σ̂ = 1.4826·MAD`` (consistent for the normal SD; Rousseeuw &
  Croux 1993); where more than half the values are equal (MAD = 0, e.g. most villages
  report 0 petitions) the mean absolute deviation from the median, ``1.2533·mean|x − m|``
  (also consistent for the normal SD, √(π/2) = 1.2533), so one unit differing from a
  tied majority is not infinitely odd; then floored at the indicator's noise floor.
* Skewed columns (percentages piled up below 100, with a long lower tail) get one scale
  per side of the median — the "double MAD": the MAD of the values at or below the
  median for a value below it, of those at or above for a value above it — so the long
  tail does not alert every unit in it while the short side stays sensitive.
* Level of a group's column for its common component: the 20 % trimmed mean, which moves
  with a group-wide change of a sparse count (the median of mostly-zero counts does not)
  and ignores the few units with anomalies.
* A z studentised by a scale estimated from few values has heavy tails: with the MAD of n
  months shrunk toward the peers' scale with n0 pseudo-months, its null is taken as
  Student's t with ``df = 0.37·n + n0`` (0.37: the Gaussian efficiency of the MAD) and the
  statistic is converted to its normal equivalent (:func:`normal_equivalent`).
* Two-sided p-values of a robust z from the standard normal; the *strength* of an alert is
  the equivalent two-sided normal |z| of its p-value, so detectors compare on one scale.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from .kernels import column_median_mad, column_stats

__all__ = ["GroupStats", "group_stats", "p_two_sided", "strength", "normal_equivalent", "MAD_TO_SD", "MEANAD_TO_SD",
           "MAD_EFFICIENCY"]

MAD_TO_SD = 1.4826
MEANAD_TO_SD = float(np.sqrt(np.pi / 2))
#: Gaussian efficiency of the MAD (36.75 %, Rousseeuw & Croux 1993): a MAD from n values is
#: worth about 0.37·n values for the scale, so a z studentised by it has heavy, t-like tails
MAD_EFFICIENCY = 0.3675


@dataclass(frozen=True)
class GroupStats:
    """Per (group, indicator, period), arrays G × K × T: median, robust SD (both sides),
    robust SD below and above the median, 20 % trimmed mean, count."""

    med: np.ndarray
    sig: np.ndarray
    sig_lo: np.ndarray
    sig_hi: np.ndarray
    trim: np.ndarray
    n: np.ndarray


def _scale(mad, mead):
    return np.where(mad > 0, MAD_TO_SD * mad, MEANAD_TO_SD * mead)


def group_stats(Y: np.ndarray, group: np.ndarray, n_groups: int, floors: np.ndarray, *,
                trim: float = 0.2, sides: bool = True) -> GroupStats:
    """Column statistics of ``Y`` (U × K × T) within each group (``group``: U codes)."""
    U, K, T = Y.shape
    shape = (n_groups, K, T)
    out = {k: np.full(shape, np.nan) for k in ("med", "sig", "sig_lo", "sig_hi", "trim")}
    cnt = np.zeros(shape, np.int64)
    fl = floors[:, None]
    for g in range(n_groups):
        idx = np.flatnonzero(group == g)
        if not len(idx):
            continue
        blk = Y[idx].reshape(len(idx), K * T)
        if sides:
            st = column_stats(blk, trim)
            with np.errstate(invalid="ignore"):
                mead = 0.5 * (st["mead_lo"] + st["mead_hi"])
            out["sig"][g] = np.fmax(_scale(st["mad"], mead).reshape(K, T), fl)
            out["sig_lo"][g] = np.fmax(_scale(st["mad_lo"], st["mead_lo"]).reshape(K, T), fl)
            out["sig_hi"][g] = np.fmax(_scale(st["mad_hi"], st["mead_hi"]).reshape(K, T), fl)
            out["trim"][g] = st["trim"].reshape(K, T)
            m, n = st["med"], st["n"]
        else:
            m, mad, n = column_median_mad(blk)
            s = MAD_TO_SD * mad
            tied = (mad == 0) & (n > 1)
            if tied.any():
                with np.errstate(invalid="ignore"):
                    s[tied] = MEANAD_TO_SD * np.nanmean(np.abs(blk[:, tied] - m[tied]), axis=0)
            out["sig"][g] = np.fmax(s.reshape(K, T), fl)
        out["med"][g] = m.reshape(K, T)
        cnt[g] = n.reshape(K, T)
    if not sides:
        out["sig_lo"] = out["sig_hi"] = out["sig"]
        out["trim"] = out["med"]
    return GroupStats(out["med"], out["sig"], out["sig_lo"], out["sig_hi"], out["trim"], cnt)


def p_two_sided(z: np.ndarray) -> np.ndarray:
    """2·(1 − Φ(|z|)) = 2Φ(−|z|), NaN where z is NaN (``scipy.special.ndtr``: no per-call checks)."""
    return 2.0 * special.ndtr(-np.abs(np.asarray(z, float)))


def normal_equivalent(z: np.ndarray, df: np.ndarray) -> np.ndarray:
    """The standard-normal quantile with the same tail probability as ``z`` under Student's t
    with ``df`` degrees of freedom: sign(z)·(−Φ⁻¹(T_df(−|z|))), so a studentised statistic
    can be read, combined and corrected like a z.  df = ∞ leaves z unchanged."""
    z = np.asarray(z, float)
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        tail = special.stdtr(np.broadcast_to(df, z.shape), -np.abs(z))
        return np.sign(z) * -special.ndtri(tail)


def strength(p: np.ndarray) -> np.ndarray:
    """Equivalent two-sided normal |z| of a p-value, −Φ⁻¹(p/2), capped at 40."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.minimum(-special.ndtri(np.asarray(p, float) / 2.0), 40.0)
