"""Level shifts and trend breaks in a series (持续偏移、趋势漂移): CUSUM-type scans.

For month t the window is the ``L`` months b = t − L + 1 … t (default 6); the reference
is the own-history baseline of the month b (:mod:`.history`: median m and shrunk scale s
of the B months *before* the window, so a change inside the window cannot hide in its own
reference).  Residuals are standardised and clipped at ±c (c = 3, Huber 1964), so one
spike — the history detector's business — cannot make a shift:

    e_x = clip((r_x − m)/s, −c, c)

For every candidate onset τ (b ≤ τ ≤ t − 1, at least two months):

    level(τ) = Σ_{x=τ}^{t} e_x / √(n + n²·π/(2·n_b))               (a step at τ; Page 1954)
    drift(τ) = Σ_{x=τ}^{t} (x − τ + 1)·e_x / √(Σw² + (Σw)²·π/(2·n_b))  (a ramp from τ)

These are the Gaussian log-likelihood-ratio (CUSUM / GLR) statistics for a step and for a
linear trend starting at τ (Lai 1995); the second variance term is the error of the
baseline median common to all e_x.  The statistic is the τ with the largest |·|; its
p-value is Bonferroni over the L − 1 onsets, ``min(1, (L − 1)·2Φ(−|stat|))`` —
conservative because the statistics of neighbouring onsets are positively correlated.
As in :mod:`.history`, ``studentize=True`` first reads each statistic as Student's t with
0.37·n_b + n0 degrees of freedom (the residuals are scaled by a MAD).

``ruptures`` (PELT, binary segmentation) was considered: it fits one series at a time in
Python (≈1.2 M series at province scale) and returns change points without p-values,
so a false-alarm rate could not be stated.  The scan is one compiled pass.
"""
from __future__ import annotations

import numpy as np

from .base import Scores
from .history import Baseline
from .kernels import shift_scan
from .robust import MAD_EFFICIENCY, normal_equivalent, p_two_sided

__all__ = ["shift_scores"]


def shift_scores(r: np.ndarray, base: Baseline, months_idx: np.ndarray, *, window: int = 6,
                 clip: float = 4.0, n0: float = 6.0, studentize: bool = False) -> tuple[Scores, Scores]:
    """Shift and drift statistics of the evaluated months (arrays U × K × len(months_idx));
    with ``studentize`` as normal equivalents under t with 0.37·n_b + n0 degrees of freedom
    (the scale of the residuals comes from the baseline MAD, as in :mod:`.history`)."""
    U, K, T = r.shape
    E = len(months_idx)
    N = base.m.shape[2]
    lvl, drf, lon, don, lfull, dfull = shift_scan(
        r.reshape(U * K, T), base.m.reshape(U * K, N), base.s.reshape(U * K, N), base.n.reshape(U * K, N),
        base.col, window, clip, months_idx)
    missing = ~np.isfinite(r[:, :, months_idx])  # nothing reported this month: nothing to alert on
    b = np.asarray(months_idx) - window + 1
    nb = np.full((U, K, E), np.nan)
    ok = b >= 0
    cols = base.col[np.where(ok, b, 0)]
    nb[:, :, ok & (cols >= 0)] = base.n[:, :, cols[ok & (cols >= 0)]]
    df = MAD_EFFICIENCY * nb + n0
    out = []
    for name, stat, onset, full in (("shift", lvl, lon, lfull), ("drift", drf, don, dfull)):
        stat, full = stat.reshape(U, K, E), full.reshape(U, K, E)
        if studentize:
            stat, full = normal_equivalent(stat, df), normal_equivalent(full, df)
        stat[missing] = np.nan
        p = np.minimum(1.0, (window - 1) * p_two_sided(stat))
        out.append(Scores(name, stat, p, None, {"onset": onset.reshape(U, K, E), "reference": full.reshape(U, K, E)},
                          months_idx))
    return out[0], out[1]
