r"""One-at-a-time tipping points in closed form (临界权重).

How far must one weight move — its siblings rescaled proportionally so the
group still sums to 1 — before a unit changes rank (crosses a peer) or grade
(crosses a band)?  Linear (arithmetic) aggregation only.

Derivation.  Let item k (a level-1 goal, any inner node or an indicator) have
local weight :math:`l_k` under parent P.  Move it to :math:`l_k + δ` and scale
every sibling c by :math:`(1 − l_k − δ)/(1 − l_k)`, so
:math:`δ ∈ [−l_k, 1 − l_k]`.  With within-node renormalisation over the
unit's available children (the index's rule), P's score for unit i is

.. math::

   y_P(δ) = \frac{(l_k + δ) y_k + f (1 − l_k − δ) A}{(l_k + δ) + f (1 − l_k − δ) B}
          = \frac{l_k y_k + A + δ (y_k − f A)}{l_k + B + δ (1 − f B)},

with :math:`f = 1/(1 − l_k)`, :math:`A = Σ_{c≠k} l_c y_c`, :math:`B = Σ_{c≠k} l_c`
over the available siblings (if k itself is unavailable the ratio is
:math:`A/B`, constant).  P's effective weight :math:`M_i` in the unit's total
and the rest :math:`R_i = \text{internal}_i − M_i y_P` do not depend on δ, and
the total is :math:`(1 − s)\,\text{internal} + s\,\text{public}`.  Hence the
total is linear-fractional in δ:

.. math::

   T_i(δ) = \frac{α_i + β_i δ}{γ_i + ε_i δ},\quad
   α = a_0 γ + m (l_k y_k + A),\; β = a_0 ε + m (y_k − f A),\;
   γ = l_k + B,\; ε = 1 − f B,

where :math:`a_0 = (1 − s) R_i + s\,\text{public}_i` and :math:`m = (1 − s) M_i`
(for a unit without a public score :math:`a_0 = R_i`, :math:`m = M_i`).  With
complete data :math:`ε = 0` and the total is linear in δ.

* Units i and j tie where :math:`(α_i + β_i δ)(γ_j + ε_j δ) = (α_j + β_j δ)(γ_i + ε_i δ)`,
  a quadratic :math:`q_2 δ^2 + q_1 δ + q_0 = 0` with
  :math:`q_2 = β_i ε_j − β_j ε_i`, :math:`q_1 = α_i ε_j + β_i γ_j − α_j ε_i − β_j γ_i`,
  :math:`q_0 = α_i γ_j − α_j γ_i`.  The rank tipping point is the root nearest
  0 on each side inside the feasible interval (denominators are positive there).
* The score crosses band c where :math:`δ = (c γ − α)/(β − c ε)`.

When the public score is built from several public indicators whose mix the
moved weight changes (s > 0), the total is no longer linear-fractional and the
function refuses (use the Monte Carlo instead).  Reference for the one-at-a-time
design: Saltelli et al. (2008) *Global Sensitivity Analysis: The Primer*, §1.2;
for weight tipping points in composite indicators: Paruolo, Saisana & Saltelli
(2013) J. R. Stat. Soc. A 176(3).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from .engine import Design, Methods, nominal

__all__ = ["tipping_points", "TippingResult", "score_path"]


@dataclass(frozen=True)
class TippingResult:
    """Tidy table, one row per (unit, weight): the smallest weight moves that change rank or grade."""

    table: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def nearest(self, n: int = 20) -> pd.DataFrame:
        """The (unit, weight) pairs closest to tipping (smallest |Δ| either way)."""
        t = self.table
        d = np.fmin(t["rank_delta_up"].abs(), t["rank_delta_down"].abs())
        return t.loc[d.sort_values(kind="stable").index[:n]]

    def __repr__(self) -> str:
        return f"TippingResult({self.table['unit_id'].nunique()} units × {self.table['weight_id'].nunique()} weights)"


def _coefficients(design: Design, item: str):
    """(α, β, γ, ε) per unit for moving item ``item`` (design order), plus l_k."""
    hier = design.hier
    if item not in hier.items:
        raise QlworkError(Problem("unknown_weight_id", f"框架中没有权重编号 {item!r}", "no such node or indicator",
                                  found=item, expected=list(hier.items)))
    k = hier.items.index(item)
    parent_n = next(n for n, g in enumerate(hier.groups) if k in g)
    sibs = hier.groups[parent_n]
    lk = float(design.center[k])
    if not lk < 1:
        raise QlworkError(Problem("single_child", f"{item} 是唯一的子项，权重无法移动",
                                  "the item is an only child: its weight cannot move", found=item))
    X = design.variants[0]
    leaves = np.asarray(hier.leaves)
    avail = ~np.isnan(X)
    int_avail = avail & ~hier.public
    Xf = np.where(avail, X, 0.0)
    center = design.center[None, :]
    U = design.n_units
    # node score y_c of every sibling c (internal tree) and its availability
    ys, av = [], []
    for c in sibs:
        leaf_mask = _leaves_under(hier, hier.items[c])
        sub = int_avail & leaf_mask[None, :]
        w = _subtree_weights(hier, hier.items[c], sub)
        ys.append((w * Xf).sum(axis=1))
        av.append(sub.any(axis=1))
    ys, av = np.stack(ys, 1), np.stack(av, 1)
    pos = int(np.flatnonzero(sibs == k)[0])
    lc = design.center[sibs]
    others = np.ones(len(sibs), bool)
    others[pos] = False
    A = (np.where(av[:, others], ys[:, others], 0.0) * lc[others]).sum(1)
    B = (av[:, others] * lc[others]).sum(1)
    yk, ak = ys[:, pos], av[:, pos]
    f = 1.0 / (1.0 - lk)
    # effective weight M of the parent in the internal total, and R = internal − M y_P
    W_root = hier.effective(center, int_avail)  # units × leaves
    pnode = hier.nodes[parent_n]
    pitem = hier.group_item[parent_n]
    pmask = _leaves_under(hier, hier.items[pitem]) if pitem >= 0 else np.ones(len(leaves), bool)
    M = W_root[:, pmask].sum(1)
    internal = (W_root * Xf).sum(1)
    yP0 = np.divide(np.where(ak, lk * yk, 0.0) + A, np.where(ak, lk, 0.0) + B,
                    out=np.zeros(U), where=(np.where(ak, lk, 0.0) + B) > 0)
    R = internal - M * yP0
    s = float(design.nominal_share)
    pub = _public_nominal(design, avail, Xf)
    has = ~np.isnan(pub)
    if s > 0 and design.public_mode == "indicators" and has.any() and _moves_public_mix(hier, k, sibs):
        raise QlworkError(Problem("tipping_public_mix", f"移动 {item} 会改变群众评价各指标的比重，总分不再是线性分式",
                                  "moving this weight changes the public-indicator mix; use the Monte Carlo",
                                  found=item))
    a0 = np.where(has, (1 - s) * R + s * np.nan_to_num(pub), R)
    m = np.where(has, (1 - s) * M, M)
    gamma = np.where(ak, lk + B, B)
    eps = np.where(ak, 1.0 - f * B, 0.0)
    num0 = np.where(ak, lk * yk + A, A)
    num1 = np.where(ak, yk - f * A, 0.0)
    only_k = ak & (B <= 0)  # only k available under P: y_P = y_k whatever δ
    gamma = np.where(only_k, 1.0, gamma)
    eps = np.where(only_k, 0.0, eps)
    num0 = np.where(only_k, yk, num0)
    num1 = np.where(only_k, 0.0, num1)
    none = ~ak & (B <= 0)  # P unavailable for the unit: M = 0, the total does not depend on δ
    gamma = np.where(none, 1.0, gamma)
    eps = np.where(none, 0.0, eps)
    num0 = np.where(none, 0.0, num0)
    num1 = np.where(none, 0.0, num1)
    alpha = a0 * gamma + m * num0
    beta = a0 * eps + m * num1
    return alpha, beta, gamma, eps, lk, pnode


def _public_nominal(design: Design, avail, Xf):
    hier = design.hier
    if design.public_mode == "fixed" and design.public_values is not None:
        return design.public_values
    if not hier.public.any():
        return np.full(design.n_units, np.nan)
    lw = hier.leaf_from_local(design.center) * (avail & hier.public)
    tot = lw.sum(1)
    return np.where(tot > 0, (lw * Xf).sum(1) / np.where(tot > 0, tot, 1.0), np.nan)


def _moves_public_mix(hier, k, sibs) -> bool:
    under_k = _leaves_under(hier, hier.items[k]) & hier.public
    under_sib = np.zeros(len(hier.leaves), bool)
    for c in sibs:
        if c != k:
            under_sib |= _leaves_under(hier, hier.items[c])
    return bool(under_k.any() and (under_sib & hier.public).any())


def _leaves_under(hier, item: str) -> np.ndarray:
    pos = hier.items.index(item)
    return (hier.path == pos).any(axis=1)


def _subtree_weights(hier, item: str, sub_avail: np.ndarray) -> np.ndarray:
    """Effective leaf weights of the subtree rooted at ``item`` (units × leaves, 0 outside)."""
    w = hier.effective(hier.center[None, :], sub_avail)  # renormalised at every level above too
    tot = w.sum(1, keepdims=True)
    return np.divide(w, tot, out=np.zeros_like(w), where=tot > 0)


def score_path(design: Design, item: str, delta) -> np.ndarray:
    """Exact total scores (units × len(delta)) when ``item`` moves by ``delta`` (closed form)."""
    a, b, g, e, _, _ = _coefficients(design, item)
    d = np.atleast_1d(np.asarray(delta, float))[None, :]
    return (a[:, None] + b[:, None] * d) / (g[:, None] + e[:, None] * d)


def _nearest_roots(q2, q1, q0, lo, hi, tol=1e-12):
    """Per row/col: nearest positive and negative roots of q2 x² + q1 x + q0 inside (lo, hi)."""
    inf = np.inf
    with np.errstate(divide="ignore", invalid="ignore"):
        lin = np.abs(q2) <= 1e-14 * (np.abs(q1) + np.abs(q0) + 1e-300)
        r_lin = np.where(np.abs(q1) > 0, -q0 / q1, np.nan)
        disc = q1 * q1 - 4 * q2 * q0
        sq = np.sqrt(np.where(disc >= 0, disc, np.nan))
        # numerically stable quadratic roots
        qq = -0.5 * (q1 + np.copysign(sq, q1))
        r1 = np.where(lin, r_lin, qq / q2)
        r2 = np.where(lin, np.nan, q0 / qq)
    up = np.full(q0.shape, inf)
    dn = np.full(q0.shape, -inf)
    for r in (r1, r2):
        ok = np.isfinite(r) & (r > lo) & (r < hi)
        up = np.where(ok & (r > tol), np.minimum(up, r), up)
        dn = np.where(ok & (r < -tol), np.maximum(dn, r), dn)
    return up, dn


def tipping_points(design_or_result, weights: Sequence[str] | None = None, *, units: Sequence[str] | None = None,
                   max_pairs: int = 200_000_000) -> TippingResult:
    """Closed-form one-at-a-time tipping points (arithmetic aggregation).

    ``design_or_result``: an engine :class:`Design` or an IndexResult.
    ``weights``: ids of nodes/indicators to move (default: the level-1 goals).
    ``units``: unit ids to report (default all; each is compared with every
    peer).  Columns: unit_id, weight_id, parent, weight (nominal local),
    rank, rank_delta_up / rank_delta_down (smallest move up / down that
    changes the rank; ±inf if none is feasible), rank_weight_up/down (the
    weight at the tipping point), rank_after_up/down (rank just beyond it),
    grade, grade_delta_up/down, grade_after_up/down.
    """
    design = design_or_result
    if not isinstance(design, Design):
        from .from_index import design_from_index

        design = design_from_index(design_or_result)
    if design.nominal_aggregation != "arithmetic":
        raise QlworkError(Problem("tipping_needs_linear", "临界权重的闭式解只适用于算术加权",
                                  "closed-form tipping points need arithmetic aggregation",
                                  found=design.nominal_aggregation, expected="arithmetic"))
    hier = design.hier
    if weights is None:
        root_n = len(hier.nodes) - 1
        weights = [hier.items[i] for i in hier.groups[root_n]]
    nom_s, nom_r = nominal(design, Methods(aggregations=("arithmetic",), social_share=design.nominal_share))
    sel = np.arange(design.n_units)
    if units is not None:
        pos = {u: i for i, u in enumerate(design.unit_ids)}
        bad = [u for u in units if u not in pos]
        if bad:
            raise QlworkError(Problem("unknown_unit", f"单位不存在：{bad[:5]}", "unknown unit ids", found=bad[:5]))
        sel = np.array([pos[u] for u in units], dtype=np.intp)
    sizes = np.bincount(design.groups, minlength=len(design.group_labels))
    npairs = int(sizes[design.groups[sel]].sum()) * len(weights)
    if npairs > max_pairs:
        raise QlworkError(Problem("too_many_pairs", f"需比较 {npairs:,} 对单位，请用 units= 指定关注的单位",
                                  "too many unit pairs; pass units=", found=npairs, expected=f"≤ {max_pairs:,}"))
    glabels = np.asarray(design.grade_labels)
    from .engine import grade_index

    g_nom = grade_index(design, nom_s[None, :])[0]
    cuts = _continuous_cuts(design)
    rows = []
    gslices = design.group_slices()
    for item in weights:
        a, b, g, e, lk, parent = _coefficients(design, item)
        lo, hi = -lk, 1.0 - lk
        for gi, sl in enumerate(gslices):
            mine = sel[(sel >= sl.start) & (sel < sl.stop)]
            if mine.size == 0:
                continue
            peers = np.arange(sl.start, sl.stop)
            step = max(1, 2_000_000 // max(peers.size, 1))
            for b0 in range(0, mine.size, step):
                ii = mine[b0: b0 + step][:, None]
                jj = peers[None, :]
                q2 = b[ii] * e[jj] - b[jj] * e[ii]
                q1 = a[ii] * e[jj] + b[ii] * g[jj] - a[jj] * e[ii] - b[jj] * g[ii]
                q0 = a[ii] * g[jj] - a[jj] * g[ii]
                q0 = np.where(ii == jj, np.nan, q0)
                up, dn = _nearest_roots(q2, q1, q0, lo, hi)
                j_up = np.argmin(up, axis=1)
                j_dn = np.argmax(dn, axis=1)
                d_up = up[np.arange(len(ii)), j_up]
                d_dn = dn[np.arange(len(ii)), j_dn]
                i1 = ii[:, 0]
                # beyond the tie the unit is ahead of j iff its score grows faster there
                after_up = _rank_after(nom_r[i1], a, b, g, e, i1, peers[j_up], d_up)
                after_dn = _rank_after(nom_r[i1], a, b, g, e, i1, peers[j_dn], d_dn)
                # grade bands: α + βδ = c(γ + εδ)
                gu = np.full(i1.size, np.inf)
                gd = np.full(i1.size, -np.inf)
                for c in cuts:
                    with np.errstate(divide="ignore", invalid="ignore"):
                        dc = (c * g[i1] - a[i1]) / (b[i1] - c * e[i1])
                    ok = np.isfinite(dc) & (dc > lo) & (dc < hi)
                    gu = np.where(ok & (dc > 1e-12), np.minimum(gu, dc), gu)
                    gd = np.where(ok & (dc < -1e-12), np.maximum(gd, dc), gd)
                # a vetoed unit's grade is capped: it is reported without grade tipping points
                capped = design.grade_cap[i1] >= 0 if design.grade_cap is not None else np.zeros(i1.size, bool)
                gu = np.where(capped, np.inf, gu)
                gd = np.where(capped, -np.inf, gd)
                ga_up = _grade_after(design, a, b, g, e, i1, gu)
                ga_dn = _grade_after(design, a, b, g, e, i1, gd)
                for r, u in enumerate(i1):
                    rows.append((design.unit_ids[u], item, parent, lk, int(nom_r[u]), d_up[r], d_dn[r],
                                 lk + d_up[r] if np.isfinite(d_up[r]) else np.nan,
                                 lk + d_dn[r] if np.isfinite(d_dn[r]) else np.nan, after_up[r], after_dn[r],
                                 glabels[g_nom[u]], gu[r], gd[r], ga_up[r], ga_dn[r]))
    cols = ["unit_id", "weight_id", "parent", "weight", "rank", "rank_delta_up", "rank_delta_down",
            "rank_weight_up", "rank_weight_down", "rank_after_up", "rank_after_down", "grade",
            "grade_delta_up", "grade_delta_down", "grade_after_up", "grade_after_down"]
    table = pd.DataFrame(rows, columns=cols)
    params = {"weights": list(weights), "aggregation": "arithmetic", "rescaling": "siblings proportional",
              "social_share": design.nominal_share, "rank_ties": "min"}
    return TippingResult(table, params)


def _rank_after(rank0, a, b, g, e, i, j, d):
    """Rank of i just beyond the tie at δ = d with unit j (±1 from the nominal rank)."""
    out = np.full(i.size, np.nan)
    fin = np.isfinite(d)
    if not fin.any():
        return out
    step = np.where(d > 0, 1e-9, -1e-9)
    dd = np.where(fin, d + step * np.maximum(1.0, np.abs(d)), 0.0)
    si = (a[i] + b[i] * dd) / (g[i] + e[i] * dd)
    sj = (a[j] + b[j] * dd) / (g[j] + e[j] * dd)
    s0i, s0j = a[i] / g[i], a[j] / g[j]
    was_behind = s0j > s0i
    now_ahead = si > sj
    delta = np.where(was_behind & now_ahead, -1, np.where(~was_behind & ~now_ahead, 1, 0))
    return np.where(fin, rank0 + delta, np.nan)


def _grade_after(design, a, b, g, e, i, d):
    out = np.full(i.size, None, dtype=object)
    fin = np.isfinite(d)
    if not fin.any():
        return out
    step = np.where(d > 0, 1e-9, -1e-9)
    dd = np.where(fin, d + step * np.maximum(1.0, np.abs(d)), 0.0)
    s = (a[i] + b[i] * dd) / (g[i] + e[i] * dd)
    gi = (s[:, None] < _continuous_cuts(design)[None, :]).sum(axis=1)
    labels = np.asarray(design.grade_labels, dtype=object)
    return np.where(fin, labels[gi], None)


def _continuous_cuts(design) -> np.ndarray:
    """Cut-offs on the continuous score: a score publishes at or above cut ``c`` (half-up to
    ``d`` decimals) from ``c − ½·10^-d`` on; at the 1e-6 grid the cuts themselves."""
    d = int(design.decimals)
    cu = np.asarray(design.cut_units, dtype=float) / 10.0 ** d
    return cu - (0.5 / 10.0 ** d if d < 6 else 0.0)
