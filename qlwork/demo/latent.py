"""Hidden latent integrity and the indicator values generated from it.

Model (all draws from one seeded generator, vectorised over units × periods):

    L[u,t] = 76 + city + county + township + type + unit + slope_u·t + ε[u,t]
             − drop[u]·1{t = last}                       (internal latent, 0–100)
    P[u,t] = 76 + 0.6·(L[u,t] − 76) + η_u + ξ[u,t] − gap[u]   (public latent, 0–100)

with region/type/unit effects normal, a positive average trend, ~1 % of units
with a large drop in the last period and ~1.5 % (``low_public``) whose public
score sits 30–40 points below the internal one.  Each indicator k sees
z_k = 0.75·z + 0.5·e_uk + 0.45·e_ukt where z = (L − 76)/8, then a kind-specific
link (see :func:`indicator_values`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..framework import Framework

__all__ = ["PERIODS", "latent_scores", "indicator_values"]

PERIODS = ("2024H1", "2024H2", "2025H1", "2025H2")
_TYPE_EFFECT = {"机关": 1.0, "村居": -2.0, "学校": 2.0, "医院": -1.0, "企业": -1.5}


def latent_scores(rng: np.random.Generator, units: pd.DataFrame, n_periods: int = len(PERIODS)) -> dict:
    """Latent internal and public scores (units × periods) and the special flags."""
    n = len(units)
    nc = int(units["city_i"].max()) + 1
    nk = int(units["county_i"].max()) + 1
    nt = int(units["township_i"].max()) + 1
    city = rng.normal(0, 3, nc)[units["city_i"].to_numpy()]
    county = rng.normal(0, 3, nk)[units["county_i"].to_numpy()]
    town = rng.normal(0, 2, nt)[units["township_i"].to_numpy()]
    typ = units["unit_type"].map(_TYPE_EFFECT).to_numpy(dtype=float)
    unit = rng.normal(0, 7, n)
    slope = rng.normal(0.8, 0.8, n)
    t = np.arange(n_periods)
    internal = 76 + (city + county + town + typ + unit)[:, None] + slope[:, None] * t + rng.normal(0, 1.5, (n, n_periods))
    # special units: big drops in the last period, low public satisfaction
    order = rng.permutation(n)
    n_drop = max(3, round(0.01 * n))
    n_low = max(5, round(0.015 * n))
    big_drop = np.zeros(n, bool)
    big_drop[order[:n_drop]] = True
    low_public = np.zeros(n, bool)
    low_public[order[n_drop:n_drop + n_low]] = True
    internal[big_drop, -1] -= rng.uniform(18, 28, n_drop)
    internal = np.clip(internal, 5, 99)
    public = 76 + 0.6 * (internal - 76) + rng.normal(0, 5, n)[:, None] + rng.normal(0, 2, (n, n_periods))
    # low-public units: make sure their internal score is decent, public far below
    internal[low_public] = np.maximum(internal[low_public], 78)
    public[low_public] = internal[low_public] - rng.uniform(30, 40, int(low_public.sum()))[:, None]
    public = np.clip(public, 3, 99)
    return {"internal": internal, "public": public, "big_drop": big_drop, "low_public": low_public}


def indicator_values(rng: np.random.Generator, fw: Framework, units: pd.DataFrame,
                     internal: np.ndarray) -> dict[str, np.ndarray]:
    """Department indicator values (units × periods) for one framework's units.

    ``units``/``internal`` are the rows of that framework.  Not-applicable cells
    are NaN.  Links by ``kind`` (direction d, goalposts (lo, hi)):

    - percent, d=+1: 100 − s·exp(−0.6 z_k), s = 0.12·(100 − lo) (near 90–100, long lower tail);
      d=−1: zero-inflated 0.2·hi·exp(−0.6 z_k)
    - rate per 100 staff: Poisson(λ·staff/100)/staff·100, λ = 0.12·hi·exp(−0.7 z_k), 35 % structural zeros;
      other rates (‰, per 10,000): zero-inflated lognormal around 0.2·hi
    - count, d=−1: zero-inflated Poisson, λ = 0.15·hi·exp(−0.7 z_k)·√(staff/median);
      d=+1: Poisson(0.55·hi·exp(0.3 z_k))
    - score: 85 + 5 z_k;  change: −3 − 6 z_k + N(0, 4);  amount: zero-inflated lognormal
    """
    n, T = internal.shape
    z = (internal - 76.0) / 8.0
    types = units["unit_type"].to_numpy()
    staff = units["staff"].to_numpy(dtype=float)
    out: dict[str, np.ndarray] = {}
    for ind in fw.indicators.values():
        if ind.public:
            continue
        lo, hi = ind.goalposts if ind.goalposts else (0.0, 100.0)
        zk = 0.75 * z + 0.5 * rng.normal(0, 1, (n, 1)) + 0.45 * rng.normal(0, 1, (n, T))
        u = rng.random((n, T))
        kind, d = ind.kind, ind.direction
        if kind == "percent" and d > 0:
            s = 0.12 * (100 - lo)
            v = np.round(np.clip(100 - s * np.exp(-0.6 * zk), 0, 100), 1)
            v[v > 99.6] = 100.0
        elif kind == "percent":
            v = np.round(np.clip(0.2 * hi * np.exp(-0.6 * zk), 0, 100), 1)
            v[u < 0.3] = 0.0
        elif kind == "rate" and "百人" in ind.unit:
            lam = 0.12 * hi * np.exp(-0.7 * zk) * staff[:, None] / 100
            cnt = rng.poisson(lam)
            cnt[u < 0.35] = 0
            v = np.round(cnt / staff[:, None] * 100, 2)
        elif kind == "rate":
            v = np.round(0.2 * hi * np.exp(-0.6 * zk + rng.normal(0, 0.4, (n, T))), 2)
            v[u < 0.2] = 0.0
        elif kind == "count" and d < 0:
            expo = np.sqrt(staff / np.median(staff))[:, None]
            cnt = rng.poisson(0.15 * hi * np.exp(-0.7 * zk) * expo)
            cnt[u < 0.3] = 0
            v = cnt.astype(float)
        elif kind == "count":
            v = rng.poisson(0.55 * hi * np.exp(0.3 * zk)).astype(float)
        elif kind == "change":
            v = np.round(np.clip(-3 - 6 * zk + rng.normal(0, 4, (n, T)), -100, 500), 1)
        elif kind == "amount":
            v = np.round(0.15 * hi * np.exp(-0.8 * zk + rng.normal(0, 0.5, (n, T))), 2)
            v[u < 0.4] = 0.0
        else:  # score and anything else on a 0–100 scale
            v = np.round(np.clip(85 + 5 * zk, 0, 100), 1)
        lo_r, hi_r = ind.valid_range
        v = np.clip(v, lo_r if np.isfinite(lo_r) else -np.inf, hi_r if np.isfinite(hi_r) else np.inf)
        applies = np.array([ind.applies(t) for t in types])
        v[~applies] = np.nan
        out[ind.id] = v
    return out
