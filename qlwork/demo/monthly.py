"""Monthly and quarterly submissions of the demo, with planted anomalies in the hidden truth.

Schedule (:data:`SCHEDULE`): 信访 reports **monthly** (2024-01 … 2025-12, 24 workbooks),
宣传 **quarterly** (2024Q1 … 2025Q4), every other department per half-year.  The
half-year values of these departments' indicators are not generated separately: ingest
rolls them up from the months and quarters (:mod:`qlwork.io.rollup`), as it would for a
real province.

Model (vectorised over units × months; one seeded generator):

* monthly latent ``L_m[u, m]``: the half-year latent internal score (:mod:`.latent`)
  interpolated linearly between half-year mid-months (flat beyond the first and last);
  for the units with a big drop in the last half-year the drop is a step at 2025-07;
* per indicator ``z_k = 0.75·(L_m − 76)/8 + 0.5·e_uk + f_um + ε_ukm`` with a unit effect
  ``e_uk ~ N(0, 1)``, a unit-month factor ``f_um ~ N(0, 0.25²)`` shared by the unit's
  indicators (so indicators move together) and AR(1) noise ``ε`` (ρ = 0.3, σ = 0.35);
* links: percentages ``100 − s·exp(−0.6 z_k) − 1.0·cos(2π(month − φ_k)/12)`` (s =
  0.12·(100 − goal low), 1 decimal); counts Poisson with monthly mean
  ``0.15·hi/6·exp(−0.7 z_k)·√(staff/median)·exp(0.3·cos(2π(month − φ_k)/12))`` (bad
  counts) or ``0.55·hi/6·exp(0.3 z_k)`` (good counts); the complaint rate per 10,000
  visits as Poisson complaints over the reported visits (诊疗人次, a denominator).

Planted in the monthly 信访 series (``_truth/anomalies.csv``; months in 2025 so that a
year of history precedes them), magnitudes in robust SDs ``σ`` of the unit's
month-to-month noise on the variance-stabilised scale of the indicator (Anscombe
``2√(x + 3/8)`` for counts, the empirical logit ``log((x + ½)/(100 + ½ − x))`` for
percentages — the scales on which this generator's noise is homoscedastic; ``σ`` from
the first year, floored at the indicator's median over units, and at 1 for counts):

* ``spike`` — one month, ``m ~ U(5, 9)`` σ in the bad direction;
* ``level_shift`` — from month t₀ to the end, ``m ~ U(3, 5)`` σ;
* ``drift`` — from t₀ to the end, ``U(0.5, 0.8)`` σ more every month;
* ``joint`` — village units whose two normally concordant percentages contradict each
  other in every month (one ``+c``, the other ``−c`` cross-sectional SDs of ``z_k``,
  ``c ~ U(2, 3)``): unremarkable on each indicator, odd in combination;
* ``latent_drop`` — the monthly face of the big latent drop (all monthly indicators of
  those units from 2025-07; a real change, recorded but not tuned for);
* ``common_shock`` — **normal** behaviour: the rate of every village's repeat petitions
  triples in 2025-03, every 机关's hotline satisfaction falls 4 points in 2025-08.  Peers move
  together, so an alert there is a false alarm.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..framework import Framework
from ..periods import parse
from .latent import PERIODS

__all__ = ["SCHEDULE", "MONTHS", "QUARTERS", "monthly_latent", "fine_values", "plant_anomalies",
           "to_grain", "ANOMALY_COLUMNS", "anscombe", "inverse_anscombe"]

#: department → grain of its submissions (others: half-year)
SCHEDULE = {"信访": "M", "宣传": "Q"}
MONTHS: tuple[str, ...] = tuple(m.id for p in PERIODS for m in parse(p).months())
QUARTERS: tuple[str, ...] = tuple(q.id for p in PERIODS for q in parse(p).children("Q"))
ANOMALY_COLUMNS = ["unit_id", "indicator_id", "kind", "start", "end", "magnitude_sd", "direction", "detail"]
_MID = np.array([2.5, 8.5, 14.5, 20.5])  # half-year mid-months on the 0…23 month axis


def anscombe(x):
    """Anscombe's variance-stabilising transform for counts, 2√(x + 3/8) (Anscombe 1948)."""
    return 2.0 * np.sqrt(np.asarray(x, float) + 0.375)


def inverse_anscombe(y):
    return np.maximum((np.asarray(y, float) / 2.0) ** 2 - 0.375, 0.0)


def monthly_latent(internal: np.ndarray, big_drop: np.ndarray) -> np.ndarray:
    """Half-year latent (units × 4) → monthly latent (units × 24), see the module docstring."""
    n, T = internal.shape
    months = np.arange(T * 6)
    W = np.stack([np.interp(months, _MID[:T], np.eye(T)[i]) for i in range(T)])  # T × 24 hat weights
    lat = internal @ W
    if big_drop.any():
        W3 = np.stack([np.interp(months, _MID[:T - 1], np.eye(T - 1)[i]) for i in range(T - 1)])
        d = internal[big_drop, :T - 1] @ W3
        d[:, (T - 1) * 6:] = internal[big_drop, T - 1][:, None]
        lat[big_drop] = d
    return lat


def _ar1(rng, shape, rho=0.3, sd=0.35):
    e = rng.normal(0, sd * np.sqrt(1 - rho ** 2), shape)
    e[..., 0] = rng.normal(0, sd, shape[:-1])
    for t in range(1, shape[-1]):
        e[..., t] += rho * e[..., t - 1]
    return e


def fine_values(rng: np.random.Generator, fw: Framework, units: pd.DataFrame, lat_m: np.ndarray,
                departments=tuple(SCHEDULE)) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Monthly values (units × 24) of the indicators (and denominators) reported by
    ``departments``, plus the ``joint`` and ``common_shock`` truth rows planted while
    generating.  Not-applicable cells are NaN."""
    n, T = lat_m.shape
    z = (lat_m - 76.0) / 8.0
    types = units["unit_type"].to_numpy()
    staff = units["staff"].to_numpy(dtype=float)
    expo = np.sqrt(staff / np.median(staff))[:, None]
    moy = np.arange(T) % 12
    f = rng.normal(0, 0.25, (n, T))
    inds = [i for i in fw.indicators.values() if i.source in departments and not i.public]
    zk_all, out, truth = {}, {}, []
    for ind in inds:
        zk_all[ind.id] = 0.75 * z + 0.5 * rng.normal(0, 1, (n, 1)) + f + _ar1(rng, (n, T))
    # joint oddity: village units whose two concordant percentages contradict each other throughout
    pair = [i.id for i in inds if i.kind == "percent" and i.source == "信访" and i.direction > 0][:2]
    if fw.id == "QLV" and len(pair) == 2:
        k = max(3, round(0.012 * n))
        who = rng.choice(n, k, replace=False)
        c = rng.uniform(2, 3, k)
        sign = np.where(rng.random(k) < 0.5, 1.0, -1.0)
        for j, iid in enumerate(pair):
            sd = float(np.std(zk_all[iid]))
            zk_all[iid][who] += ((1 if j == 0 else -1) * sign * c * sd)[:, None]
        for u, cc, sg in zip(who, c, sign):
            for j, iid in enumerate(pair):
                truth.append(dict(unit_id=units["unit_id"].iloc[u], indicator_id=iid, kind="joint",
                                  start=MONTHS[0], end=MONTHS[-1], magnitude_sd=round(float(cc), 2),
                                  direction=int((1 if j == 0 else -1) * sg),
                                  detail=f"{pair[0]} 与 {pair[1]} 相互矛盾 contradict each other"))
    # normal behaviour that moves a whole peer group at once (not an anomaly): the rate of a
    # count or the level of a percentage changes for every unit of the type in one month
    shocks = {"v_petitions": ("村居", "2025-03", 3.0), "hotline_sat": ("机关", "2025-08", -4.0)}
    bump = {}
    for iid, (typ, month, size) in shocks.items():
        if iid in zk_all:
            b = np.zeros((n, T))
            b[types == typ, MONTHS.index(month)] = 1.0
            bump[iid] = (b, size)
            truth.append(dict(unit_id="", indicator_id=iid, kind="common_shock", start=month, end=month,
                              magnitude_sd=np.nan, direction=int(np.sign(size)),
                              detail=f"全部{typ}同时变化（正常，不应预警）"))
    visits = None
    for ind in inds:
        zk = zk_all[ind.id]
        lo, hi = ind.goalposts if ind.goalposts else (0.0, 100.0)
        phase = rng.uniform(0, 12)
        season = np.cos(2 * np.pi * (moy - phase) / 12)[None, :]
        b, size = bump.get(ind.id, (0.0, 0.0))
        if ind.kind == "percent":
            s = 0.12 * (100 - lo)
            v = np.round(np.clip(100 - s * np.exp(-0.6 * zk) - 1.0 * season + b * size, 0, 100), 1)
        elif ind.kind == "count" and ind.direction < 0:
            lam = 0.15 * hi / 6 * np.exp(-0.7 * zk) * expo * np.exp(0.3 * season)
            v = rng.poisson(lam * np.where(b > 0, size, 1.0)).astype(float)
        elif ind.kind == "count":
            v = rng.poisson(0.55 * hi / 6 * np.exp(0.3 * zk) * np.exp(0.2 * season)).astype(float)
        elif ind.rollup_weight:  # a rate over a reported denominator: complaints per 10,000 visits
            if visits is None:
                visits = np.round(staff[:, None] / 100 * 1.2 * np.exp(0.15 * season + rng.normal(0, 0.1, (n, T))), 2)
                visits = np.maximum(visits, 0.05)
            rate = 0.2 * hi * np.exp(-0.6 * zk)
            v = np.round(rng.poisson(rate * visits) / visits, 2)
            out[ind.rollup_weight] = visits
        else:
            v = np.round(np.clip(0.2 * hi * np.exp(-0.6 * zk), *ind.valid_range), 2)
        applies = np.array([ind.applies(t) for t in types])
        v[~applies] = np.nan
        out[ind.id] = v
    for did, d in fw.denominators.items():
        if did in out:
            out[did] = np.where(np.array([d.applies(t) for t in types])[:, None], out[did], np.nan)
    return out, truth


def _to(x, kind):
    return anscombe(x) if kind == "count" else _logit(x) if kind == "percent" else np.asarray(x, float)


def _back(y, kind):
    if kind == "count":
        return np.round(inverse_anscombe(y))
    if kind == "percent":
        e = np.exp(y)
        return np.round(np.clip((100.5 * e - 0.5) / (1 + e), 0, 100), 1)
    return np.round(y, 2)


def _logit(x):
    c = np.clip(np.asarray(x, float), 0, 100)
    return np.log((c + 0.5) / (100.5 - c))


def _scale(x: np.ndarray, kind: str) -> np.ndarray:
    """Robust SD of the month-to-month noise per unit on the stabilised scale (first year),
    floored at the median over units (and at 1 for counts)."""
    count = kind == "count"
    y = _to(x, kind)
    d = np.diff(y[:, :12], axis=1)
    with warnings.catch_warnings():  # not-applicable units are all-NaN rows
        warnings.simplefilter("ignore", RuntimeWarning)
        med = np.nanmedian(d, axis=1, keepdims=True)
        s = 1.4826 * np.nanmedian(np.abs(d - med), axis=1) / np.sqrt(2)
        floor = np.nanmedian(s) if np.isfinite(s).any() else 1.0
    s = np.fmax(s, floor)
    return np.fmax(s, 1.0) if count else s


def plant_anomalies(rng: np.random.Generator, fw: Framework, units: pd.DataFrame, vals: dict[str, np.ndarray],
                    big_drop: np.ndarray, department: str = "信访") -> list[dict]:
    """Plant spikes, level shifts and drifts into the monthly series of ``department``
    (in place) and return their truth rows (plus the ``latent_drop`` rows)."""
    n = len(units)
    T = len(MONTHS)
    uid = units["unit_id"].to_numpy()
    truth: list[dict] = []
    taken = np.zeros(n, bool)
    inds = [i for i in fw.indicators.values() if i.source == department and not i.public and i.id in vals]
    for ind in inds:
        x = vals[ind.id]
        kind = ind.kind if ind.kind in ("count", "percent") else "other"
        bad = -1.0 if ind.direction > 0 else 1.0  # the bad direction on the value scale
        sig = _scale(x, kind)
        ok = np.flatnonzero(np.isfinite(x).all(axis=1) & ~taken & ~big_drop)
        k_sp, k_ls, k_dr = (max(2, round(r * len(ok))) for r in (0.02, 0.015, 0.01))
        pick = rng.choice(ok, min(len(ok), k_sp + k_ls + k_dr), replace=False)
        taken[pick] = True
        for j, u in enumerate(pick):
            what = "spike" if j < k_sp else "level_shift" if j < k_sp + k_ls else "drift"
            y = _to(x[u], kind)
            if what == "spike":
                t0 = int(rng.integers(12, T))
                m = rng.uniform(5, 9)
                add = np.zeros(T)
                add[t0] = m
                end = t0
            elif what == "level_shift":
                t0 = int(rng.integers(12, T - 3))
                m = rng.uniform(3, 5)
                add = np.where(np.arange(T) >= t0, m, 0.0)
                end = T - 1
            else:
                t0 = int(rng.integers(12, T - 5))
                m = rng.uniform(0.5, 0.8)
                add = np.clip(np.arange(T) - t0 + 1, 0, None) * m
                end = T - 1
            y = y + bad * add * sig[u]
            new = _back(y, kind)
            got = _to(new, kind) - _to(x[u], kind)
            x[u] = new
            truth.append(dict(unit_id=uid[u], indicator_id=ind.id, kind=what, start=MONTHS[t0], end=MONTHS[end],
                              magnitude_sd=round(float(np.max(np.abs(got)) / sig[u]), 2), direction=int(bad),
                              detail=f"{ind.name}：计划 {m:.2f} σ（σ = {sig[u]:.2f}）"))
    for u in np.flatnonzero(big_drop):
        for ind in inds:
            if np.isfinite(vals[ind.id][u]).all():
                truth.append(dict(unit_id=uid[u], indicator_id=ind.id, kind="latent_drop", start="2025-07",
                                  end=MONTHS[-1], magnitude_sd=np.nan, direction=int(-ind.direction),
                                  detail="潜在廉洁水平下半年大幅下降 latent integrity fell in 2025H2"))
    return truth


def to_grain(vals: dict[str, np.ndarray], fw: Framework, grain: str) -> tuple[tuple[str, ...], dict[str, np.ndarray]]:
    """Monthly arrays (units × 24) → arrays of ``grain`` by each indicator's roll-up rule
    (the same rules as :mod:`qlwork.io.rollup`; the demo uses it for its quarterly department)."""
    k = {"M": 1, "Q": 3, "H": 6}[grain]
    ids = MONTHS if grain == "M" else QUARTERS if grain == "Q" else PERIODS
    out = {}
    for iid, x in vals.items():
        ind = fw.reported[iid]
        n, T = x.shape
        blk = x.reshape(n, T // k, k)
        method = "sum" if ind.kind == "denominator" else ind.rollup_method
        if method == "sum":
            out[iid] = blk.sum(axis=2)
        elif method == "last":
            out[iid] = blk[:, :, -1]
        elif ind.rollup_weight:
            w = vals[ind.rollup_weight].reshape(n, T // k, k)
            out[iid] = np.round((blk * w).sum(axis=2) / w.sum(axis=2), 2)
        else:
            out[iid] = np.round(blk.mean(axis=2), 2)
    return ids, out
