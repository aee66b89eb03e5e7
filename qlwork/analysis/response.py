"""A unit's normalised indicator score as a function of its own raw value, everyone else fixed.

For the improvement analysis (:mod:`qlwork.analysis.improvement`) the question is
always the same: if unit *u* changes indicator *j* from ``x0`` to ``x`` and no other
value in the data changes, what 0–100 score does the index engine give *u* on *j*?
Normalisation works column by column within a comparison group (peer group ×
period, :mod:`qlwork.engine.normalize`), so the answer depends only on ``x`` and on
statistics of the *other* members of *u*'s group — which this module holds for
every (unit, indicator) at once.  With ``s = direction · x`` (directions flipped as
in the engine) and "others" = the group's other non-missing values:

* **goalposts**: ``clip(100 (x − low)/(high − low), 0, 100)`` (direction −1:
  ``100 (high − x)/(high − low)``) — independent of the others;
* **min–max**: ``L = min(s, min others)``, ``H = max(s, max others)``,
  ``100 (s − L)/(H − L)`` (``constant`` when ``H = L``).  A unit at the peer minimum
  *moves* the minimum when it improves: its score stays 0 until it passes the
  second-lowest value;
* **distance to target**: ``L = min(s, min others)``, ``t = direction · target``,
  ``clip(100 (s − L)/(t − L), 0, 100)`` (``constant`` when ``t ≤ L``);
* **z-score**: with ``n_o, m_o, Q_o`` the others' count, mean and sum of squared
  deviations, ``n = n_o + 1``, ``m = (n_o m_o + s)/n``,
  ``Q = Q_o + n_o (m_o − m)² + (s − m)²``, ``z = (s − m)/√(Q/(n − 1))``,
  score ``clip(50 + 10 z, 0, 100)`` — increasing in ``s`` but bounded
  (``z < n_o/√n``): a unit cannot z-score its way past every line;
* **rank**: ``100 (less + eq/2)/(n − 1)`` with ``less``/``eq`` the number of others
  below / equal to ``s`` (average rank of ties, as ``percentile_rank``) — a step
  function that jumps at each peer's value.

These are the engine's formulas specialised to one changed cell (the engine's
group statistics with the unit's value replaced), so the result is the engine's
own number; :func:`qlwork.analysis.rescore.rescore` re-runs the engine itself to
check it (``tests/test_improvement.py`` compares the two on random groups).

The fast form holds when no other value of the group depends on ``x``: no outlier
treatment and no mean/median imputation filling the group's column
(:meth:`ResponseModel.fast`); otherwise the improvement solver re-scores with the
engine.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ResponseModel"]


@dataclass(frozen=True)
class ResponseModel:
    """Per (unit, indicator) statistics of the unit's comparison group, current period.

    Arrays are units × indicators in the order of ``unit_ids`` / ``ids`` (the
    result's score table and framework order); ``S`` holds ``direction · value``
    of the *treated* stage (what the engine normalised), NaN where the indicator
    does not apply or is missing.
    """

    method: str
    ids: tuple[str, ...]
    unit_ids: np.ndarray
    group: np.ndarray  # comparison group code per unit
    direction: np.ndarray  # (p,)
    low: np.ndarray  # goalposts (p,), NaN = none
    high: np.ndarray
    target: np.ndarray  # direction-free target in raw units (p,), NaN = none (goalposts' best end filled in)
    minmax_cols: np.ndarray  # bool (p,): columns normalised by min–max (the method or its fallback)
    constant: float
    S: np.ndarray  # units × p
    stats: dict = field(repr=False)  # name → groups × p arrays
    sorted_vals: dict = field(repr=False)  # (group, column) → sorted non-missing s values
    fast_ok: np.ndarray = field(repr=False)  # units × p: the closed form is the engine's number

    @classmethod
    def from_result(cls, result) -> "ResponseModel":
        fw = result.framework
        spec = result.spec
        ids = tuple(fw.indicator_ids)
        p = len(ids)
        uid = result.scores.index.astype(str)
        stages = result.stages or {}
        treated = stages.get("treated")
        if treated is None:
            treated = stages.get("raw")
        T = treated.reindex(index=uid, columns=list(ids)).to_numpy(dtype=float)
        Nn = result.normalized.reindex(index=uid, columns=list(ids)).to_numpy(dtype=float)
        T = np.where(np.isnan(Nn), np.nan, T)  # only cells the engine scored
        d = np.array([float(fw.indicators[i].direction) for i in ids])
        low = np.array([fw.indicators[i].goalposts[0] if fw.indicators[i].goalposts else np.nan for i in ids])
        high = np.array([fw.indicators[i].goalposts[1] if fw.indicators[i].goalposts else np.nan for i in ids])
        tgt = np.array([fw.indicators[i].target if fw.indicators[i].target is not None else np.nan for i in ids])
        best = np.where(d > 0, high, low)
        tgt = np.where(np.isfinite(tgt), tgt, best)
        method = spec.normalization
        fallback = set(result.params.get("normalization_fallback") or [])
        mm = np.array([method == "minmax" or (method in ("goalposts", "target") and i in fallback) for i in ids])
        peer = result.units["peer_group"].reindex(uid).astype(str).to_numpy() if "peer_group" in result.units.columns \
            else np.zeros(len(uid), dtype=object)
        _, group = np.unique(peer, return_inverse=True)
        group = group.astype(np.int64).reshape(-1)
        S = T * d[None, :]
        stats, sorted_vals = _group_stats(S, group)
        fast_ok = ~np.isnan(S)
        if spec.outliers != "none":
            fast_ok[:] = False
        elif spec.imputation in ("mean", "median"):
            # a filled cell of the group follows the group mean/median, which moves with x
            filled = np.zeros_like(fast_ok)
            imp = result.imputed
            if imp is not None and len(imp):
                cur = imp[imp["period"].astype(str) == str(result.period)]
                pos = {u: k for k, u in enumerate(uid)}
                col = {i: j for j, i in enumerate(ids)}
                r = cur["unit_id"].astype(str).map(pos)
                c = cur["indicator_id"].astype(str).map(col)
                ok = r.notna() & c.notna()
                filled[r[ok].astype(int).to_numpy(), c[ok].astype(int).to_numpy()] = True
            G = int(group.max()) + 1 if len(group) else 0
            gfill = np.zeros((G, p), bool)
            np.logical_or.at(gfill, group, filled)
            fast_ok &= ~gfill[group]
        return cls(method=method, ids=ids, unit_ids=np.asarray(uid, dtype=object), group=group, direction=d,
                   low=low, high=high, target=tgt, minmax_cols=mm, constant=float(spec.constant_group_score),
                   S=S, stats=stats, sorted_vals=sorted_vals, fast_ok=fast_ok)

    # ------------------------------------------------------------ per query
    def others(self, u: np.ndarray, j: np.ndarray) -> dict[str, np.ndarray]:
        """The others' statistics for queries (unit position ``u``, column ``j``)."""
        g = self.group[u]
        s0 = self.S[u, j]
        st = self.stats
        lo1, lo2, nlo = st["lo1"][g, j], st["lo2"][g, j], st["nlo"][g, j]
        hi1, hi2, nhi = st["hi1"][g, j], st["hi2"][g, j], st["nhi"][g, j]
        n = st["n"][g, j]
        lo_o = np.where((s0 == lo1) & (nlo == 1), lo2, lo1)
        hi_o = np.where((s0 == hi1) & (nhi == 1), hi2, hi1)
        n_o = n - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = st["mean"][g, j]
            sum_o = st["sum"][g, j] - s0
            mean_o = np.where(n_o > 0, sum_o / np.maximum(n_o, 1), np.nan)
            ss_o = np.where(n > 1, st["ss"][g, j] - (s0 - mean) ** 2 * n / np.maximum(n - 1, 1), 0.0)
        ss_o = np.maximum(ss_o, 0.0)
        lo_o = np.where(n_o > 0, lo_o, np.nan)
        hi_o = np.where(n_o > 0, hi_o, np.nan)
        return {"g": g, "s0": s0, "lo_o": lo_o, "hi_o": hi_o, "n_o": n_o, "sum_o": sum_o, "mean_o": mean_o,
                "ss_o": ss_o}

    def value(self, u: np.ndarray, j: np.ndarray, s: np.ndarray, oth: dict | None = None) -> np.ndarray:
        """Normalised score of unit ``u`` on column ``j`` when its flipped value becomes ``s``.

        ``u``, ``j``: integer arrays (Q,); ``s``: (Q,) or (Q, K) candidates.
        """
        u = np.asarray(u, dtype=np.intp)
        j = np.asarray(j, dtype=np.intp)
        s = np.asarray(s, dtype=float)
        two = s.ndim == 2
        o = oth if oth is not None else self.others(u, j)
        out = np.full(s.shape, np.nan)
        method = self.method
        mm = self.minmax_cols[j]
        kinds = np.where(mm, "minmax", method)
        for kind in np.unique(kinds):
            q = kinds == kind
            sq = s[q]
            oq = {k: v[q] for k, v in o.items()}

            def cq(a):  # a per-query array against (Q, K) candidates
                return a[:, None] if two else a

            jq = j[q]
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                if kind == "minmax":
                    L = np.fmin(sq, cq(oq["lo_o"]))
                    H = np.fmax(sq, cq(oq["hi_o"]))
                    R = H - L
                    v = np.where(R > 0, 100.0 * ((sq - L) / R), self.constant)
                elif kind == "goalposts":
                    d, lo, hi = cq(self.direction[jq]), cq(self.low[jq]), cq(self.high[jq])
                    x = sq * d
                    up = 100.0 * (x - lo) / (hi - lo)
                    down = 100.0 * (hi - x) / (hi - lo)
                    v = np.clip(np.where(d > 0, up, down), 0.0, 100.0)
                elif kind == "target":
                    t = cq(self.target[jq] * self.direction[jq])
                    L = np.fmin(sq, cq(oq["lo_o"]))
                    den = t - L
                    v = np.clip(np.where(den > 0, 100.0 * (sq - L) / den, self.constant), 0.0, 100.0)
                elif kind == "zscore":
                    n_o, m_o, q_o = cq(oq["n_o"]).astype(float), cq(oq["mean_o"]), cq(oq["ss_o"])
                    n = n_o + 1.0
                    m = np.where(n_o > 0, (cq(oq["sum_o"]) + sq) / n, sq)
                    Q = np.where(n_o > 0, q_o + n_o * (np.nan_to_num(m_o) - m) ** 2, 0.0) + (sq - m) ** 2
                    sd = np.sqrt(Q / (n - 1.0))
                    z = np.where((sd > 0) & np.isfinite(sd), (sq - m) / sd, 0.0)
                    v = np.clip(50.0 + 10.0 * z, 0.0, 100.0)
                elif kind == "rank":
                    v = self._rank(oq, jq, sq, two)
                else:  # pragma: no cover - the spec validates the method
                    raise ValueError(kind)
            out[q] = v
        return out

    def _rank(self, o, j, s, two):
        g, s0, n_o = o["g"], o["s0"], o["n_o"]
        out = np.empty(s.shape)
        keys = g * len(self.ids) + j
        for key in np.unique(keys):
            q = keys == key
            arr = self.sorted_vals.get((int(key) // len(self.ids), int(key) % len(self.ids)), np.array([]))
            sq = s[q]
            left = np.searchsorted(arr, sq, side="left")
            right = np.searchsorted(arr, sq, side="right")
            s0q = s0[q][:, None] if two else s0[q]
            less = left - (s0q < sq)
            eq = right - left - (s0q == sq)
            n = (n_o[q][:, None] if two else n_o[q]) + 1.0
            r = less + 1.0 + eq / 2.0
            with np.errstate(invalid="ignore", divide="ignore"):
                out[q] = np.where(n > 1, 100.0 * (r - 1.0) / (n - 1.0), self.constant)
        return out

    def best_reachable(self, u: np.ndarray, j: np.ndarray, bound: np.ndarray, step: np.ndarray,
                       oth: dict | None = None) -> np.ndarray:
        """The flipped value beyond which the score cannot rise any more, within ``bound``.

        ``bound``: the feasible limit in the improving direction (flipped; ±inf when
        the framework's range is open).  An open range is closed where the score
        saturates: the goalpost or target, the others' best value (min–max / rank),
        or — for z-scores, which only approach their bound — the others' best
        value plus ten times the group's spread.
        """
        o = oth if oth is not None else self.others(u, j)
        s0 = self.S[u, j]
        kinds = np.where(self.minmax_cols[j], "minmax", self.method)
        sat = np.full(len(u), np.inf)
        d = self.direction[j]
        gp_best = np.where(d > 0, self.high[j], -self.low[j])
        hi_o = np.where(np.isnan(o["hi_o"]), s0, o["hi_o"])
        lo_o = np.where(np.isnan(o["lo_o"]), s0, o["lo_o"])
        spread = np.maximum(hi_o - lo_o, step)
        sat = np.where(kinds == "goalposts", gp_best, sat)
        sat = np.where(kinds == "target", self.target[j] * d, sat)
        sat = np.where(kinds == "minmax", hi_o, sat)
        sat = np.where(kinds == "rank", hi_o + step, sat)
        sat = np.where(kinds == "zscore", np.maximum(hi_o, s0) + 10.0 * spread, sat)
        sat = np.where(np.isfinite(sat), sat, s0)
        return np.fmin(np.maximum(sat, s0), np.maximum(bound, s0))


def _group_stats(S: np.ndarray, group: np.ndarray):
    """Per group × column: n, sum, mean, centred sum of squares, two smallest/largest distinct
    values with the count at the extreme, and the sorted values (rank normalisation)."""
    U, p = S.shape
    G = int(group.max()) + 1 if U else 0
    ok = ~np.isnan(S)
    n = np.zeros((G, p), np.int64)
    np.add.at(n, group, ok.astype(np.int64))
    sm = np.zeros((G, p))
    np.add.at(sm, group, np.where(ok, S, 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sm / n
    dev = np.where(ok, S - mean[group], 0.0)
    ss = np.zeros((G, p))
    np.add.at(ss, group, dev * dev)
    lo1 = np.full((G, p), np.nan)
    lo2 = np.full((G, p), np.nan)
    hi1 = np.full((G, p), np.nan)
    hi2 = np.full((G, p), np.nan)
    nlo = np.zeros((G, p), np.int64)
    nhi = np.zeros((G, p), np.int64)
    sorted_vals = {}
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(G + 1))
    for g in range(G):
        rows = order[bounds[g]:bounds[g + 1]]
        block = S[rows]
        for jj in range(p):
            v = block[:, jj]
            v = np.sort(v[~np.isnan(v)])
            sorted_vals[(g, jj)] = v
            if v.size == 0:
                continue
            lo1[g, jj], hi1[g, jj] = v[0], v[-1]
            nlo[g, jj] = int(np.searchsorted(v, v[0], side="right"))
            nhi[g, jj] = int(v.size - np.searchsorted(v, v[-1], side="left"))
            above = v[v > v[0]]
            below = v[v < v[-1]]
            lo2[g, jj] = above[0] if above.size else np.nan
            hi2[g, jj] = below[-1] if below.size else np.nan
    return {"n": n, "sum": sm, "mean": mean, "ss": ss, "lo1": lo1, "lo2": lo2, "nlo": nlo,
            "hi1": hi1, "hi2": hi2, "nhi": nhi}, sorted_vals
