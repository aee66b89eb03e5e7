"""A unit against its peers in the same period (同类比较): median/MAD robust z.

For peer group g (same framework and unit type), indicator k and period t, on the
transformed scale:

    z = (y − median_g) / s_g,   s_g = 1.4826·MAD_g (1.2533·mean|y − median_g| when MAD = 0)

with s_g taken on the side of the median the value lies on (the "double MAD" of
:mod:`.robust`: a percentage with a long lower tail is judged by the spread of that tail).

Small groups: with fewer than ``min_peers`` reporting units the group's scale is shrunk
toward the framework-wide scale ``s_F`` with ``n0`` pseudo-units,
``s² = (n·s_g² + n0·s_F²)/(n + n0)``; with fewer than 3 units there is no test (a median
of two says nothing).  p = 2Φ(−|z|).

A unit that is persistently far from its peers is flagged every month: that is what the
comparison is for (the committee sees the level), while the history, shift and drift
detectors ask whether something *changed*.
"""
from __future__ import annotations

import numpy as np

from .base import Scores
from .panel import Panel, inverse
from .robust import GroupStats, p_two_sided

__all__ = ["peer_scores"]


def peer_scores(panel: Panel, peer: GroupStats, fw: GroupStats, group_fw: np.ndarray, months_idx: np.ndarray, *,
                min_peers: int = 10, n0: float = 6.0) -> Scores:
    U, K, T = panel.shape
    n = peer.n.astype(float)
    s_f = fw.sig[group_fw]

    def shrunk(sig):
        with np.errstate(invalid="ignore"):
            s = np.where(n >= min_peers, sig, np.sqrt((n * sig ** 2 + n0 * s_f ** 2) / (n + n0)))
        return np.where(n >= 3, s, np.nan)

    t = months_idx
    g = panel.group
    med_t = peer.med[:, :, t][g]           # U × K × |t| (only the evaluated periods are expanded)
    d = panel.y[:, :, t] - med_t
    s_t = np.where(d < 0, shrunk(peer.sig_lo)[:, :, t][g], shrunk(peer.sig_hi)[:, :, t][g])
    with np.errstate(invalid="ignore", divide="ignore"):
        z = d / s_t
    p = p_two_sided(z)
    exp = np.empty_like(z)
    for k, how in enumerate(panel.transforms):
        exp[:, k, :] = inverse(med_t[:, k, :], how)
    return Scores("peers", z, p, exp, {"n_peers": n[:, :, t][g]}, t)
