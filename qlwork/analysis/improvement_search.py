"""Search primitives of the improvement analysis (:mod:`qlwork.analysis.improvement`).

:class:`Ctx` holds the arrays of one result; :func:`singles` bisects, for many
(unit, indicator, line) queries at once, over each indicator's resolution grid on
the re-scored total; :func:`combo` finds the cheapest combination for one
unit-line under a :class:`CostRule`.  The formulas are in the module doc of
:mod:`qlwork.analysis.improvement`.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..engine.grading import publish_units
from ..engine.rules import grade_published
from ..errors import Problem, QlworkError
from .response import ResponseModel

__all__ = ["CostRule", "Ctx", "resolution_of", "singles", "combo", "levels", "lev", "MAX_LEVELS", "TOP_FOR_COMBOS"]

#: grid levels of one indicator used by the combination search (a coarser stride beyond)
MAX_LEVELS = 2000
#: combinations of ≥ 3 indicators are searched among this many indicators with the largest gains
TOP_FOR_COMBOS = 8


@dataclass(frozen=True)
class CostRule:
    """The cost that "cheapest" minimises (recorded in every plan).

    ``count_first``: fewest indicators changed first (default), then effort;
    ``measure``: effort of one indicator — ``"span"`` = ``|Δx| / span`` (goalpost
    span, else the peer group's range) or ``"points"`` = gain in its 0–100 score / 100;
    ``indicator_costs``: a multiplier per indicator id (default 1: all equally hard);
    ``max_indicators``: the largest combination offered (None: no limit).
    """

    count_first: bool = True
    measure: str = "span"
    indicator_costs: Mapping[str, float] | None = None
    max_indicators: int | None = None

    def __post_init__(self):
        if self.measure not in ("span", "points"):
            raise ValueError("CostRule.measure must be 'span' or 'points'")
        if self.max_indicators is not None and int(self.max_indicators) < 1:
            raise ValueError("CostRule.max_indicators must be ≥ 1")
        for k, v in dict(self.indicator_costs or {}).items():
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ValueError(f"CostRule.indicator_costs[{k!r}] must be a positive number")

    def describe_zh(self) -> str:
        m = "各指标改进量占其目标值区间（无目标值时为同类单位取值范围）的比例之和" if self.measure == "span" \
            else "各指标标准化得分提高量之和"
        extra = "（部分指标按指定难度系数加权）" if self.indicator_costs else ""
        cap = f"；组合最多 {self.max_indicators} 项指标" if self.max_indicators else ""
        return (f"先比较需改动的指标个数，个数相同再比较{m}{extra}" if self.count_first else f"只比较{m}{extra}") + cap

    def to_dict(self) -> dict:
        return {"count_first": self.count_first, "measure": self.measure,
                "indicator_costs": dict(self.indicator_costs or {}), "max_indicators": self.max_indicators}


def resolution_of(fw, ind_id: str, resolution: float | Mapping[str, float] | None = None) -> float:
    """Grid step of an indicator's raw value: counts 1, percentages 0.1, everything else 0.01."""
    if isinstance(resolution, Mapping) and ind_id in resolution:
        return _step(resolution[ind_id], ind_id)
    if resolution is not None and not isinstance(resolution, Mapping):
        return _step(resolution, ind_id)
    ind = fw.indicators[ind_id]
    if ind.kind == "count":
        return 1.0
    if ind.kind == "percent" or ind.unit in ("%", "‰"):
        return 0.1
    return 0.01


def _step(v, ind_id) -> float:
    try:
        f = float("nan") if isinstance(v, (bool, str)) else float(v)
    except (TypeError, ValueError):
        f = float("nan")
    if not (math.isfinite(f) and f > 0):
        raise QlworkError(Problem("bad_resolution", f"指标 {ind_id} 的取值步长 {v!r} 无效",
                                  "the resolution of an indicator must be a positive number", column=ind_id,
                                  found=v, expected="正数，如 0.1 a positive number"))
    return f


# ---------------------------------------------------------------------------- context
class Ctx:
    """Arrays of one result that every step needs (positions follow result.scores)."""

    def __init__(self, result, resolution, cost: CostRule):
        fw, spec = result.framework, result.spec
        self.result, self.fw, self.spec = result, fw, spec
        if "response_model" not in result._cache:  # the group statistics, once per result
            result._cache["response_model"] = ResponseModel.from_result(result)
        self.model = m = result._cache["response_model"]
        self.ids = list(m.ids)
        uid = result.scores.index.astype(str)
        self.uid = np.asarray(uid, dtype=object)
        self.pos = {u: k for k, u in enumerate(uid)}
        self.d = result.decimals
        sc = result.scores.reindex(uid)
        self.T0 = sc["total_raw"].to_numpy(dtype=float)
        self.I0 = sc["internal"].to_numpy(dtype=float)
        self.P = sc["public"].to_numpy(dtype=float)
        share = float(spec.social_share)
        self.c = np.where(np.isfinite(self.P), 1.0 - share, 1.0)
        self.u0 = publish_units(self.T0, self.d)
        self.W = result.effective_weights.reindex(index=uid, columns=self.ids).fillna(0.0).to_numpy(dtype=float)
        self.N0 = result.normalized.reindex(index=uid, columns=self.ids).to_numpy(dtype=float)
        self.geo = spec.aggregation == "geometric"
        self.eps = float(spec.geometric_eps)
        veto = result.ranking["veto"].reindex(uid).fillna("").astype(str).to_numpy() if "veto" in result.ranking \
            else np.full(len(uid), "")
        self.veto_text = veto
        self.vetoed = veto != ""
        self.bands = spec.bands()
        self.labels = [lab for lab, _ in self.bands]
        scale = 10.0 ** self.d
        self.lows = np.array([np.ceil(np.round(lo * scale, 6)) if np.isfinite(lo) else -np.inf for _, lo in self.bands])
        self.pass_units = float(np.ceil(np.round(spec.pass_mark * scale, 6)))
        is_pub = np.array([fw.indicators[i].public for i in self.ids])
        # the unit's own, reported values: not survey items, not cells imputed for it, with a weight
        raw = result.stages.get("raw") if result.stages else None
        reported = ~np.isnan(raw.reindex(index=uid, columns=self.ids).to_numpy(dtype=float)) if raw is not None \
            else np.ones_like(self.W, bool)
        self.own = ~is_pub[None, :] & ~np.isnan(m.S) & reported & (self.W > 0)
        self.step = np.array([resolution_of(fw, i, resolution) for i in self.ids])
        rng = [fw.indicators[i].valid_range for i in self.ids]
        dirs = m.direction
        self.bound = np.array([hi if dd > 0 else -lo for (lo, hi), dd in zip(rng, dirs)])  # flipped limit
        gp_span = m.high - m.low
        st = m.stats
        obs_span = st["hi1"] - st["lo1"]  # groups × p, flipped values
        self.span = np.where(np.isfinite(gp_span)[None, :] & (gp_span[None, :] > 0), gp_span[None, :], obs_span)
        self.span = np.where(self.span > 0, self.span, self.step[None, :])
        ic = dict(cost.indicator_costs or {})
        self.icost = np.array([float(ic.get(i, 1.0)) for i in self.ids])
        self.cost = cost
        # peers' published totals per peer group (sorted) — the bottom-N line and the rank reached
        self.group = m.group
        self.sorted_units = {g: np.sort(self.u0[(self.group == g) & np.isfinite(self.u0)])
                             for g in np.unique(self.group)}

    # totals ----------------------------------------------------------------
    def gain(self, u, j, n):
        """Separable gain of indicator j at normalised score n (in I, or ln I when geometric)."""
        if self.geo:
            return self.W[u, j] * (np.log(np.maximum(n, self.eps)) - np.log(np.maximum(self.N0[u, j], self.eps)))
        return self.W[u, j] * (n - self.N0[u, j])

    def total(self, u, H):
        """Total (unrounded) of unit u after gains summing to H."""
        if self.geo:
            return self.T0[u] + self.c[u] * self.I0[u] * np.expm1(H)
        return self.T0[u] + self.c[u] * H

    def crosses(self, T, target):
        """publish(T) ≥ target (published units), without building the published value:
        ``⌊(rint(T·10⁶) + q/2)/q⌋ ≥ t ⇔ rint(T·10⁶) ≥ t·q − q/2`` with ``q = 10^(6−d)``
        (:func:`qlwork.engine.grading.publish_units`); NaN never crosses."""
        q = 10.0 ** (6 - self.d)
        with np.errstate(invalid="ignore"):
            return np.rint(np.asarray(T, dtype=float) * 1e6) >= np.asarray(target, dtype=float) * q - q / 2.0

    def grade_of(self, u, units):
        units = np.atleast_1d(np.asarray(units, dtype=float))
        g, _ = grade_published(units, self.bands, self.d, np.broadcast_to(self.vetoed[u], units.shape),
                               self.spec.veto_cap)
        return g

    def rank_of(self, u, units):
        arr = self.sorted_units[self.group[u]]
        return 1 + arr.size - np.searchsorted(arr, units, side="right")


# ---------------------------------------------------------------------------- singles
def levels(ctx, u, j):
    """(first, last) grid level above the current value and the flipped value of a level."""
    s0 = ctx.model.S[u, j]
    st = ctx.step[j]
    oth = ctx.model.others(u, j)
    best = ctx.model.best_reachable(u, j, ctx.bound[j], st, oth)
    k_first = np.floor(s0 / st + 1e-9) + 1
    k_last = np.minimum(np.ceil(best / st - 1e-9), np.floor(ctx.bound[j] / st + 1e-9))
    return k_first, k_last, oth


def lev(ctx, j, k):
    """Flipped value of grid level k of column j (k · step, float noise rounded away)."""
    return np.round(k * ctx.step[j], 9)


def singles(ctx, q_u, q_j, q_t):
    """Vectorised bisection over grid levels for queries (unit, column, target units)."""
    m = ctx.model
    k_first, k_last, oth = levels(ctx, q_u, q_j)
    possible = k_last >= k_first

    def T_at(k):
        s = lev(ctx, q_j, k)
        n = m.value(q_u, q_j, s, oth)
        return ctx.total(q_u, ctx.gain(q_u, q_j, n)), n

    kl = np.where(possible, k_last, k_first)
    T_best, n_best = T_at(kl)
    T_best = np.where(possible, T_best, ctx.T0[q_u])
    ok = possible & ctx.crosses(T_best, q_t)
    lo = k_first - 1
    hi = kl.copy()
    while True:
        live = ok & (hi - lo > 1)
        if not live.any():
            break
        mid = np.floor((lo + hi) / 2)
        Tm, _ = T_at(mid)
        c = ctx.crosses(Tm, q_t)
        hi = np.where(live & c, mid, hi)
        lo = np.where(live & ~c, mid, lo)
    k = np.where(ok, hi, kl)
    T, n = T_at(k)
    T = np.where(possible, T, ctx.T0[q_u])
    # the infimum over real values: bisection between the last failing level (or x0) and the first crossing
    s_hi = lev(ctx, q_j, k)
    s_lo = np.maximum(lev(ctx, q_j, k - 1), m.S[q_u, q_j])
    for _ in range(48):
        mid = (s_lo + s_hi) / 2
        c = ctx.crosses(ctx.total(q_u, ctx.gain(q_u, q_j, m.value(q_u, q_j, mid, oth))), q_t)
        s_hi = np.where(ok & c, mid, s_hi)
        s_lo = np.where(ok & ~c, mid, s_lo)
    return {"k": k, "ok": ok, "possible": possible, "k_first": k_first, "k_last": kl, "T": T, "n": n,
            "exact": np.where(ok, s_hi, np.nan)}


# ---------------------------------------------------------------------------- combinations
def _curves(ctx, u, cand, measure):
    """Per candidate column: flipped levels, gains H and efforts E (index 0 = no change).

    Every candidate's grid (at most :data:`MAX_LEVELS` levels; a coarser stride
    beyond, always ending at the best level) is scored in one call."""
    m = ctx.model
    uu = np.full(len(cand), u)
    jj = np.asarray(cand, dtype=np.intp)
    k_first, k_last, oth = levels(ctx, uu, jj)
    room = k_last >= k_first
    if not room.any():
        return {}
    L = np.where(room, k_last - k_first + 1, 1)
    stride = np.maximum(1, np.ceil(L / MAX_LEVELS))
    width = int(np.max(np.ceil(L / stride))) + 1  # enough to reach the best level (then repeated)
    i = np.arange(width)[None, :]
    ks = np.minimum(k_first[:, None] + i * stride[:, None], k_last[:, None])  # pads with the best level
    S = np.concatenate([m.S[u, jj][:, None], lev(ctx, jj[:, None], ks)], axis=1)
    n = m.value(uu, jj, S, oth)
    n[:, 0] = ctx.N0[u, jj]
    out = {}
    for a, j in enumerate(jj):
        if not room[a]:
            continue
        s, na = S[a], n[a]
        H = np.maximum.accumulate(ctx.gain(u, j, na))
        if measure == "span":
            E = ctx.icost[j] * (s - s[0]) / ctx.span[ctx.group[u], j]
        else:
            E = ctx.icost[j] * np.maximum(na - na[0], 0.0) / 100.0
        out[int(j)] = (s, H, E)
    return out


def _required(ctx, u, target, Hmax):
    """Smallest total gain H with publish(total(H)) ≥ target (bisection), or None."""
    if not ctx.crosses(ctx.total(u, Hmax), target):
        return None
    lo, hi = 0.0, float(Hmax)
    for _ in range(120):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        if ctx.crosses(ctx.total(u, mid), target):
            hi = mid
        else:
            lo = mid
    return hi


def _pair(cur, R):
    """Exact least effort for two indicators on their grids: {col: level index}, effort."""
    (ja, (sa, Ha, Ea)), (jb, (sb, Hb, Eb)) = cur
    if len(Ha) > len(Hb):
        (ja, sa, Ha, Ea), (jb, sb, Hb, Eb) = (jb, sb, Hb, Eb), (ja, sa, Ha, Ea)
    idx = np.searchsorted(Hb, R - Ha, side="left")
    ok = idx < len(Hb)
    if not ok.any():
        return None, np.inf
    eff = np.where(ok, Ea + Eb[np.minimum(idx, len(Hb) - 1)], np.inf)
    i = int(np.argmin(eff))
    return {ja: i, jb: int(idx[i])}, float(eff[i])


def _hull(H, E):
    """Vertices of the upper concave envelope of gain H against effort E, from the no-change point.

    Points that do not raise the gain are dropped, then every interior point that
    is not strictly above the chord of its neighbours (slope in ≤ slope out) is
    removed, all at once, until none is left — such a point is never on the upper
    envelope, and an envelope vertex always is strictly above that chord.
    """
    keep = np.flatnonzero(np.concatenate([[True], np.diff(np.maximum.accumulate(H)) > 0]))
    for _ in range(10_000):
        if keep.size <= 2:
            break
        h, e = H[keep], E[keep]
        dh, de = np.diff(h), np.diff(e)
        # slope_in <= slope_out  ⇔  dh_in·de_out <= dh_out·de_in  (de > 0); a relative 1e-9 lets the
        # float noise of a straight stretch collapse in one pass (its points are not vertices)
        lhs, rhs = dh[:-1] * de[1:], dh[1:] * de[:-1]
        drop = lhs <= rhs + 1e-9 * np.abs(rhs)
        if not drop.any():
            break
        keep = np.concatenate([keep[:1], keep[1:-1][~drop], keep[-1:]])
    return keep


def _greedy(curves, cols, R, hulls):
    """Allocate along the concave envelopes in order of gain per effort, then trim."""
    slope, col, lev_ = [], [], []
    for j in cols:
        s, H, E = curves[j]
        v = hulls[j]
        de = np.diff(E[v])
        with np.errstate(divide="ignore", invalid="ignore"):
            slope.append(np.where(de > 0, np.diff(H[v]) / de, np.inf))
        col.append(np.full(len(v) - 1, j))
        lev_.append(v[1:])
    slope, col, lev_ = np.concatenate(slope), np.concatenate(col), np.concatenate(lev_)
    order = np.argsort(-slope, kind="stable")
    level = {j: 0 for j in cols}
    got = 0.0
    for o in order:
        j, b = int(col[o]), int(lev_[o])
        H = curves[j][1]
        rest = got - H[level[j]]
        if rest + H[b] >= R:  # the last segment: only as far as the line needs
            level[j] = min(b, int(np.searchsorted(H, R - rest, side="left")))
            break
        got = rest + H[b]
        level[j] = b
    return _trim(curves, level, R)


def _trim(curves, level, R):
    """Lower each indicator to the smallest level that still reaches R (two passes)."""
    for _ in range(2):
        for j in sorted(level, key=lambda i: -curves[i][2][level[i]]):
            rest = sum(curves[i][1][level[i]] for i in level if i != j)
            need = np.searchsorted(curves[j][1], R - rest, side="left")
            if need < len(curves[j][1]):
                level[j] = min(level[j], int(need))
    return {j: k for j, k in level.items() if k > 0}


def combo(ctx, u, target, cand, cost) -> dict:
    """Cheapest combination for one unit-line.

    Returns ``{"values": {col: flipped value} | None, "T": total (at the combination, or
    with every candidate at its best when there is none), "k_min": fewest indicators
    or None, "status": ok | unreachable | over_cap | no_room}``.
    """
    curves = _curves(ctx, u, cand, cost.measure)
    cols = [j for j in curves if curves[j][1][-1] > 0]
    if not cols:
        return {"values": None, "T": ctx.T0[u], "k_min": None, "status": "no_room"}
    hmax = {j: curves[j][1][-1] for j in cols}
    R = _required(ctx, u, target, sum(hmax.values()))
    if R is None:
        return {"values": None, "T": ctx.total(u, sum(hmax.values())), "k_min": None, "status": "unreachable"}
    order = sorted(cols, key=lambda j: -hmax[j])
    k_min = next(k for k in range(1, len(order) + 1) if sum(hmax[j] for j in order[:k]) >= R)
    if cost.max_indicators is not None and k_min > cost.max_indicators:
        return {"values": None, "T": ctx.total(u, sum(hmax.values())), "k_min": k_min, "status": "over_cap"}
    best, best_eff = None, np.inf
    hulls = {j: _hull(curves[j][1], curves[j][2]) for j in cols} if (k_min >= 3 or not cost.count_first) else {}
    if not cost.count_first:
        best = _greedy(curves, cols, R, hulls)
    else:
        pool = order if k_min <= 2 else order[:max(TOP_FOR_COMBOS, k_min)]
        for sub in itertools.combinations(pool, k_min):
            if sum(hmax[j] for j in sub) < R:
                continue
            if k_min == 1:
                lv = {sub[0]: int(np.searchsorted(curves[sub[0]][1], R, side="left"))}
            elif k_min == 2:
                lv, _ = _pair([(j, curves[j]) for j in sub], R)
                if lv is None:
                    continue
                lv = _trim(curves, lv, R)
            else:
                lv = _greedy(curves, list(sub), R, hulls)
            eff = sum(curves[j][2][k] for j, k in lv.items())
            if eff < best_eff - 1e-12:
                best, best_eff = lv, eff
    # float sums may fall an ulp short of the line: raise the changed indicator with most room a level
    for _ in range(5):
        H = sum(curves[j][1][k] for j, k in best.items())
        if ctx.crosses(ctx.total(u, H), target):
            break
        j = max(best, key=lambda i: curves[i][1][-1] - curves[i][1][best[i]])
        best[j] = min(best[j] + 1, len(curves[j][1]) - 1)
    H = sum(curves[j][1][k] for j, k in best.items())
    return {"values": {j: float(curves[j][0][k]) for j, k in best.items()}, "T": ctx.total(u, H), "k_min": k_min,
            "status": "ok"}


def singles_engine(ctx, q_u, q_j, q_t):
    """:func:`singles` with the total re-scored by the engine at every step (outlier treatment or
    group imputation: other values of the group move with the unit's value)."""
    from .rescore import rescore

    m = ctx.model
    k_first, k_last, _ = levels(ctx, q_u, q_j)
    possible = k_last >= k_first
    kl = np.where(possible, k_last, k_first)

    def T_at(idx, k):
        if not len(idx):
            return np.array([])
        x = lev(ctx, q_j[idx], k[idx]) * m.direction[q_j[idx]]
        scen = [(ctx.uid[q_u[i]], {ctx.ids[q_j[i]]: float(v)}) for i, v in zip(idx, x)]
        return rescore(ctx.result, scen, validate=False)["total_raw"].to_numpy(dtype=float)

    allq = np.flatnonzero(possible)
    T_best = ctx.T0[q_u].copy()
    T_best[allq] = T_at(allq, kl)
    ok = possible & ctx.crosses(T_best, q_t)
    lo, hi = k_first - 1, kl.copy()
    while True:
        live = np.flatnonzero(ok & (hi - lo > 1))
        if not live.size:
            break
        mid = np.floor((lo + hi) / 2)
        c = ctx.crosses(T_at(live, mid), q_t[live])
        hi[live] = np.where(c, mid[live], hi[live])
        lo[live] = np.where(c, lo[live], mid[live])
    k = np.where(ok, hi, kl)
    T = ctx.T0[q_u].copy()
    T[allq] = T_at(allq, k)
    n = m.value(q_u, q_j, lev(ctx, q_j, k))
    return {"k": k, "ok": ok, "possible": possible, "k_first": k_first, "k_last": kl, "T": T, "n": n,
            "exact": np.full(len(q_u), np.nan)}
