"""What it takes to pass (限期治理建议): the smallest indicator improvements that lift a unit over its line.

For every unit and every line that matters to it —

* ``pass``: the pass mark (合格线), when its published total is below it;
* ``grade``: the next grade band (下一等级), for every unit not in the top band;
* ``bottom_n``: leaving the bottom N of its peer group (退出后 N 名), when it is in
  them — the peers' official published totals stay fixed;

— this module finds, for each of the unit's own indicators, the raw value (in the
indicator's own unit, e.g. 62 % → 80 %) that crosses the line *alone*, and the
cheapest combination of indicators that crosses it, with the published total,
grade and rank it would reach.  All lines are on the **published** total
(half-up at the spec's decimals): a line ``L`` is crossed when
``publish(total) ≥ L`` (:func:`qlwork.engine.grading.publish_units`).

The total as a function of one indicator
----------------------------------------
Only unit *u*'s value of indicator *j* changes.  Its normalised score
``n_j(x)`` follows :mod:`qlwork.analysis.response` (the engine's formula with
everyone else fixed: closed form for goalposts, piecewise for min–max/target,
bounded for z-scores, a step function for ranks).  With ``w_j`` the effective
internal weight that scored the unit (:attr:`IndexResult.effective_weights`),
``s`` the social share, ``P`` the public score and ``B`` the bonus (both fixed),

* arithmetic: ``I(x) = I₀ + w_j (n_j(x) − n_j(x₀))``;
* geometric:  ``I(x) = I₀ · exp(w_j (ln max(n_j(x), ε) − ln max(n_j(x₀), ε)))``;
* total ``T(x) = (1 − s) I(x) + s P + B`` (``I(x) + B`` without a public score).

With fixed goalposts and arithmetic aggregation ``T`` is linear in ``x`` between
the goalposts, so ``x* = x₀ + d (L⁻ − T₀)(high − low) / (100 (1 − s) w_j)`` with
``L⁻`` the smallest total publishing to ``L`` (``L − ½·10⁻ᵈ``, half-up) and ``d``
the direction; in every case ``T`` is non-decreasing in the improving direction,
so the answer is found by bisection on the re-scored total, which is exact for
every normalisation and aggregation.

Values live on a **resolution grid** per indicator (counts in whole units,
percentages in 0.1, other values in 0.01 of their unit; a parameter): the
suggested value is the first grid value that crosses, and one grid step less
does not.  ``value_exact`` is the infimum over real values.  The search stays
in the indicator's feasible range (the framework's ``range``: a rate ≤ 100 %, a
count ≥ 0) and stops where the score cannot rise any more (goalpost, target,
best peer; see :meth:`ResponseModel.best_reachable`).

Cheapest combination (:class:`CostRule`)
----------------------------------------
Default: fewest indicators changed, then the least sum of normalised improvements
``Σ c_j |Δx_j| / span_j`` (``span_j`` = the goalpost span, or the peer group's
observed range without goalposts; ``c_j`` = 1 unless given).  The count ``k*`` is
exact (the gains are separable: ``Σ_j h_j(x_j)`` in ``I`` or ``ln I``, so the
fewest indicators are the ``k`` largest attainable gains).  Among combinations of
``k*`` indicators the effort is minimised exactly on the grids for ``k* ≤ 2``
(a scan of one indicator's levels against the other's); for ``k* ≥ 3`` by
allocating along each indicator's concave gain/effort envelope in order of
efficiency (exact when the gains are concave, as with goalposts, targets and
min–max away from the peer minimum), then lowering each indicator as far as the
line allows.

Survey items (群众评价 indicators) are not the unit's own indicators: they are
the public's judgement, and with the survey public source they do not enter the
total at all (the public score is the survey's overall estimate).  They are
never suggested; the public score stays fixed.  A line the unit's own indicators
cannot reach even at their feasible best is reported as unreachable with the
best total they would give.  A vetoed unit (一票否决) keeps its grade cap: a line
may be crossed on score while the grade stays at the cap, and the plan says so.

Every suggestion can be verified (``verify=True``) by re-scoring with the engine
(:func:`qlwork.analysis.rescore.rescore`: the build stages and the one scorer on
the modified data); a suggestion the engine does not confirm is moved to the
grid value the engine confirms.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from .improvement_search import CostRule, Ctx, resolution_of

__all__ = ["CostRule", "ImprovementPlan", "suggest", "improvement_lines", "LINE_KINDS", "resolution_of"]

LINE_KINDS = ("pass", "grade", "bottom_n")


@dataclass(frozen=True)
class ImprovementPlan:
    """Lines, single-indicator improvements and cheapest combinations (see the module doc).

    ``lines``: one row per (unit, line); ``singles``: per (unit, line, indicator);
    ``combos``: per (unit, line, indicator in the cheapest combination).
    """

    lines: pd.DataFrame
    singles: pd.DataFrame
    combos: pd.DataFrame
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.lines.copy()

    def for_unit(self, unit_id: str) -> dict:
        """Everything about one unit: {lines: DataFrame, singles: DataFrame, combos: DataFrame}."""
        u = str(unit_id)
        return {"lines": self.lines[self.lines["unit_id"] == u].reset_index(drop=True),
                "singles": self.singles[self.singles["unit_id"] == u].reset_index(drop=True),
                "combos": self.combos[self.combos["unit_id"] == u].reset_index(drop=True)}


# ---------------------------------------------------------------------------- lines
def improvement_lines(result, units: Iterable[str] | None = None, lines: Iterable[str] = LINE_KINDS,
                      _ctx: Ctx | None = None) -> pd.DataFrame:
    """The lines that matter to each unit: unit_id, line, target (published total to reach),
    target_units, label (Chinese), current total, grade and rank."""
    ctx = _ctx or Ctx(result, None, CostRule())
    lines = tuple(lines)
    bad = sorted(set(lines) - set(LINE_KINDS))
    if bad:
        raise QlworkError(Problem("bad_line", f"未知的整改目标线 {bad}", "unknown line kinds", column="lines",
                                  found=bad, expected="、".join(LINE_KINDS)))
    if units is None:
        sel = range(len(ctx.uid))
    else:
        units = [str(u) for u in units]
        unknown = [u for u in units if u not in ctx.pos]
        if unknown:
            raise QlworkError(Problem("unknown_unit", f"{result.period} 的结果中没有单位 {unknown[:10]}",
                                      "units not in the result", column="unit_id", found=unknown[:10],
                                      expected="已评分的单位编码 scored unit ids"))
        sel = [ctx.pos[u] for u in units]
    w = ctx.spec.warnings
    scale = 10.0 ** ctx.d
    rows = []
    for u in sel:
        u0 = ctx.u0[u]
        if not np.isfinite(u0):
            continue
        band = int(np.argmax(u0 >= ctx.lows))
        got = []
        if "pass" in lines and u0 < ctx.pass_units:
            got.append(("pass", ctx.pass_units, f"合格线 {ctx.spec.pass_mark:g} 分"))
        if "grade" in lines and band > 0:
            t = float(ctx.lows[band - 1])
            if not any(k == "pass" and tt == t for k, tt, _ in got):
                got.append(("grade", t, f"{ctx.labels[band - 1]}（{t / scale:g} 分）"))
        if "bottom_n" in lines and w.bottom_n > 0:
            arr = ctx.sorted_units[ctx.group[u]]
            if arr.size >= w.min_group and int(np.searchsorted(arr, u0, side="left")) < w.bottom_n:
                others = np.delete(arr, np.searchsorted(arr, u0, side="left"))
                t = float(others[w.bottom_n - 1] + 1) if others.size >= w.bottom_n else None
                if t is not None:
                    got.append(("bottom_n", t, f"退出同类后 {w.bottom_n} 名（超过 {others[w.bottom_n - 1] / scale:.{ctx.d}f} 分）"))
        for kind, t, label in got:
            rows.append({"unit_id": ctx.uid[u], "line": kind, "label": label, "target": t / scale, "target_units": t,
                         "total": u0 / scale, "grade": ctx.grade_of(u, u0)[0], "rank": int(ctx.rank_of(u, u0)),
                         "n_peers": int(ctx.sorted_units[ctx.group[u]].size), "vetoed": bool(ctx.vetoed[u]),
                         "veto": ctx.veto_text[u]})
    cols = ["unit_id", "line", "label", "target", "target_units", "total", "grade", "rank", "n_peers", "vetoed", "veto"]
    return pd.DataFrame(rows, columns=cols)


def _effort(ctx, qu, qj, s_new, cost):
    """Effort of moving unit qu's column qj to the flipped value s_new (the cost rule's measure)."""
    m = ctx.model
    if cost.measure == "span":
        e = (s_new - m.S[qu, qj]) / ctx.span[ctx.group[qu], qj]
    else:
        e = np.maximum(m.value(qu, qj, s_new) - ctx.N0[qu, qj], 0) / 100.0
    return ctx.icost[qj] * e


def suggest(result, units: Iterable[str] | str | None = None, *, lines: Iterable[str] = LINE_KINDS,
            cost: CostRule | None = None, resolution: float | Mapping[str, float] | None = None,
            verify: bool | str = True, n_show: int = 3) -> ImprovementPlan:
    """The improvement plan of ``units`` (default every unit; ``"warned"``: units with a warning).

    ``lines``: which lines (``pass``, ``grade``, ``bottom_n``); ``cost``: the
    :class:`CostRule` of "cheapest"; ``resolution``: grid step of raw values (one
    number, or per indicator id; default :func:`resolution_of`); ``verify``: re-score
    every suggestion with the engine (:func:`qlwork.analysis.rescore.rescore`) and
    check that it crosses its line and that one grid step less does not
    (``"shown"``: only the ``n_show`` cheapest singles of each line and the
    combinations — what the reports print).
    """
    from .improvement_search import combo, lev, singles, singles_engine

    cost = cost or CostRule()
    if isinstance(units, str) and units == "warned":
        w = result.warnings
        units = sorted(set(w.loc[~w["code"].isin(["missing_data", "missing_public"]), "unit_id"].astype(str)))
    ctx = Ctx(result, resolution, cost)
    L = improvement_lines(result, units, lines, _ctx=ctx)
    fw, m = result.framework, ctx.model
    lu = L["unit_id"].map(ctx.pos).to_numpy(dtype=np.intp)
    lt = L["target_units"].to_numpy(dtype=float)
    own = ctx.own[lu] if len(lu) else np.zeros((0, len(ctx.ids)), bool)
    li, qj = np.nonzero(own)
    qu, qt = lu[li], lt[li]
    fast = m.fast_ok[qu, qj]
    res = singles(ctx, qu, qj, qt)
    if (~fast).any():
        e = singles_engine(ctx, qu[~fast], qj[~fast], qt[~fast])
        for key in res:
            res[key] = res[key].copy()
            res[key][~fast] = e[key]
    d = m.direction[qj]
    s_new = lev(ctx, qj, res["k"])
    step = ctx.step[qj]
    s0 = m.S[qu, qj]
    effort = _effort(ctx, qu, qj, s_new, cost)
    S = pd.DataFrame({
        "unit_id": ctx.uid[qu], "line": L["line"].to_numpy()[li], "indicator_id": np.asarray(ctx.ids, dtype=object)[qj],
        "value": s0 * d + 0.0, "target_value": np.where(res["ok"], s_new * d, np.nan) + 0.0,
        "value_exact": res["exact"] * d + 0.0,
        "best_value": np.where(res["possible"], lev(ctx, qj, res["k_last"]) * d, s0 * d) + 0.0,
        "step": step, "direction": d.astype(int), "crosses": res["ok"],
        "effort": np.where(res["ok"], effort, np.nan), "total_raw": res["T"], "_k": res["k"], "_k_first": res["k_first"],
        "_target_units": qt, "_u": qu, "_j": qj, "_line": li,
    })
    S["verified"] = pd.array([pd.NA] * len(S), dtype="boolean")
    if verify and len(S):
        _verify_singles(ctx, S, cost, n_show if verify == "shown" else None)
        s_new = lev(ctx, qj, S["_k"].to_numpy())
    # cheapest combinations, one per line
    combos, comb_rows = [], []
    cross = S["crosses"].to_numpy()
    eff = S["effort"].to_numpy()
    T_single = S["total_raw"].to_numpy()
    first_single = {}
    if cost.count_first:  # one indicator suffices: the cheapest combination is the cheapest single
        for r in np.lexsort((eff, ~cross, li))[::-1]:
            if cross[r]:
                first_single[int(li[r])] = int(r)
    line_col = L["line"].to_numpy()
    for l_i in range(len(L)):
        u = int(lu[l_i])
        if l_i in first_single:
            r = first_single[l_i]
            cr = {"values": {int(qj[r]): float(s_new[r])}, "T": float(T_single[r]), "k_min": 1, "status": "ok"}
        else:
            cr = combo(ctx, u, lt[l_i], np.flatnonzero(own[l_i]), cost)
        comb_rows.append(cr)
        for j, s in (cr["values"] or {}).items():
            combos.append({"unit_id": ctx.uid[u], "line": line_col[l_i], "indicator_id": ctx.ids[j],
                           "value": m.S[u, j] * m.direction[j] + 0.0, "target_value": s * m.direction[j] + 0.0,
                           "step": ctx.step[j], "direction": int(m.direction[j]), "_line": l_i})
    C = pd.DataFrame(combos, columns=["unit_id", "line", "indicator_id", "value", "target_value", "step", "direction",
                                      "_line"])
    combo_T = np.array([r["T"] for r in comb_rows], dtype=float)
    combo_ok = np.array([r["values"] is not None for r in comb_rows], bool)
    combo_verified = np.full(len(L), np.nan)
    if verify and len(C):
        combo_T, combo_verified = _verify_combos(ctx, L, C, combo_T, combo_ok, combo_verified, S)
    return _assemble(ctx, fw, L, S, C, comb_rows, combo_T, combo_ok, combo_verified, cost, resolution, verify, lines)


def _verify_singles(ctx, S, cost, top: int | None = None):
    """Re-score each crossing single (or the ``top`` cheapest of each line) at its value and one grid
    step less; move it until the engine agrees."""
    from .improvement_search import lev
    from .rescore import rescore

    m = ctx.model
    cross = S["crosses"].to_numpy()
    if top is not None:
        rank_in_line = S.assign(_e=S["effort"]).loc[cross].groupby("_line")["_e"].rank(method="first")
        pick = np.zeros(len(S), bool)
        pick[rank_in_line.index[rank_in_line.to_numpy() <= top]] = True
        cross = cross & pick
    todo = np.flatnonzero(cross)
    k = S["_k"].to_numpy().copy()
    kf = S["_k_first"].to_numpy()
    u, j, t = S["_u"].to_numpy(), S["_j"].to_numpy(), S["_target_units"].to_numpy()
    T = S["total_raw"].to_numpy().copy()
    good = np.zeros(len(S), bool)
    for _ in range(6):
        if not todo.size:
            break
        at = [(ctx.uid[u[i]], {ctx.ids[j[i]]: float(lev(ctx, j[i], k[i]) * m.direction[j[i]])}) for i in todo]
        has_below = k[todo] - 1 >= kf[todo]
        below_i = todo[has_below]
        below = [(ctx.uid[u[i]], {ctx.ids[j[i]]: float(lev(ctx, j[i], k[i] - 1) * m.direction[j[i]])}) for i in below_i]
        out = rescore(ctx.result, at + below, validate=False)["total_raw"].to_numpy(dtype=float)
        T_at, T_below = out[:len(at)], out[len(at):]
        c_at = ctx.crosses(T_at, t[todo])
        c_below = np.zeros(len(todo), bool)
        c_below[has_below] = ctx.crosses(T_below, t[below_i])
        T[todo] = T_at
        fine = c_at & ~c_below
        good[todo[fine]] = True
        k[todo[~c_at]] += 1
        k[todo[c_at & c_below]] -= 1
        todo = todo[~fine]
    S["verified"] = pd.array(np.where(cross, good, pd.NA), dtype="boolean")
    moved = cross & (k != S["_k"].to_numpy())
    if moved.any():
        s_new = lev(ctx, j[moved], k[moved])
        S.loc[moved, "target_value"] = s_new * m.direction[j[moved]] + 0.0
        S.loc[moved, "_k"] = k[moved]
        S.loc[moved, "effort"] = _effort(ctx, u[moved], j[moved], s_new, cost)
    S["total_raw"] = T


def _verify_combos(ctx, L, C, combo_T, combo_ok, combo_verified, S):
    """Re-score every combination; one the engine does not confirm (possible only when other values of
    the group move with the unit's, e.g. outlier treatment) is raised a grid step on each of its
    indicators, towards their best values, until it is confirmed."""
    from .rescore import rescore

    best = S.set_index(["_line", "indicator_id"])["best_value"]
    combo_T = combo_T.copy()
    todo = sorted(C["_line"].unique())
    for _ in range(50):
        if not todo:
            break
        scen = [(L.at[k, "unit_id"], dict(zip(C.loc[C["_line"] == k, "indicator_id"],
                                              C.loc[C["_line"] == k, "target_value"].astype(float)))) for k in todo]
        out = rescore(ctx.result, scen, validate=False)["total_raw"].to_numpy(dtype=float)
        again = []
        for k, Tk in zip(todo, out):
            combo_T[k] = Tk
            ok = bool(ctx.crosses(np.array([Tk]), L.at[k, "target_units"])[0])
            combo_verified[k] = float(ok)
            rows = C.index[C["_line"] == k]
            if ok:
                continue
            moved = False
            for i in rows:
                d, st = C.at[i, "direction"], C.at[i, "step"]
                b = float(best[(k, C.at[i, "indicator_id"])])
                new = round(C.at[i, "target_value"] + d * st, 9)
                if (b - new) * d >= -1e-9:
                    C.at[i, "target_value"] = new
                    moved = True
            if moved:
                again.append(k)
        todo = again
    return combo_T, combo_verified


def _assemble(ctx, fw, L, S, C, comb_rows, combo_T, combo_ok, combo_verified, cost, resolution, verify, lines):
    from ..engine.grading import publish_units
    from ..engine.rules import grade_published

    d = ctx.d
    names = fw.names()
    units_of = {i: fw.indicators[i].unit for i in fw.indicator_ids}
    rlo = {i: fw.indicators[i].valid_range[0] for i in fw.indicator_ids}
    rhi = {i: fw.indicators[i].valid_range[1] for i in fw.indicator_ids}

    def published(T):
        return publish_units(np.asarray(T, dtype=float), d)

    def grade_rank(u_idx, units):
        g, _ = grade_published(units, ctx.bands, d, ctx.vetoed[u_idx], ctx.spec.veto_cap)
        r = np.zeros(len(units), np.int64)
        for grp in np.unique(ctx.group[u_idx]):
            q = ctx.group[u_idx] == grp
            arr = ctx.sorted_units[grp]
            r[q] = 1 + arr.size - np.searchsorted(arr, units[q], side="right")
        return g, r

    # singles
    su = S["_u"].to_numpy(dtype=np.intp)
    s_units = published(S["total_raw"].to_numpy())
    g, r = grade_rank(su, s_units)
    cur = ctx.u0[su]
    singles = pd.DataFrame({
        "unit_id": S["unit_id"], "line": S["line"], "indicator_id": S["indicator_id"],
        "name": S["indicator_id"].map(names), "unit": S["indicator_id"].map(units_of),
        "direction": S["direction"], "value": S["value"], "target_value": S["target_value"],
        "value_exact": S["value_exact"], "change": S["target_value"] - S["value"], "best_value": S["best_value"],
        "step": S["step"], "crosses": S["crosses"].astype(bool), "effort": S["effort"],
        "total": s_units / 10.0 ** d, "gain": (s_units - cur) / 10.0 ** d, "grade": g, "rank": r,
        "verified": S["verified"], "range_low": S["indicator_id"].map(rlo), "range_high": S["indicator_id"].map(rhi),
    })
    singles = singles.sort_values(["unit_id", "line", "crosses", "effort", "gain", "indicator_id"],
                                  ascending=[True, True, False, True, False, True], kind="stable").reset_index(drop=True)
    # combinations
    combos = C.drop(columns=["_line"]).assign(name=C["indicator_id"].map(names), unit=C["indicator_id"].map(units_of))
    combos["change"] = combos["target_value"] - combos["value"]
    combos["range_low"] = combos["indicator_id"].map(rlo)
    combos["range_high"] = combos["indicator_id"].map(rhi)
    combos = combos[["unit_id", "line", "indicator_id", "name", "unit", "direction", "value", "target_value", "change",
                     "step", "range_low", "range_high"]]
    # lines
    lu = L["unit_id"].map(ctx.pos).to_numpy(dtype=np.intp)
    c_units = published(combo_T)
    cg, cr = grade_rank(lu, c_units)
    free_grade = np.array([grade_published(np.array([v]), ctx.bands, d, np.array([False]), ctx.spec.veto_cap)[0][0]
                           if np.isfinite(v) else None for v in c_units], dtype=object)
    n_cross = singles[singles["crosses"]].groupby(["unit_id", "line"]).size()
    best1 = singles[singles["crosses"]].drop_duplicates(["unit_id", "line"]).set_index(["unit_id", "line"])["indicator_id"]
    key = list(zip(L["unit_id"], L["line"]))
    out = L.copy()
    out["reachable"] = [r["k_min"] is not None for r in comb_rows]
    out["status"] = [r["status"] for r in comb_rows]
    out["k_min"] = pd.array([r["k_min"] for r in comb_rows], dtype="Int64")
    out["n_singles"] = [int(n_cross.get(k, 0)) for k in key]
    out["best_single"] = [best1.get(k) for k in key]
    out["combo_size"] = [len(r["values"]) if r["values"] is not None else 0 for r in comb_rows]
    out["combo_total"] = c_units / 10.0 ** d
    out["combo_grade"] = cg
    out["combo_rank"] = cr
    out["grade_capped"] = out["vetoed"].to_numpy() & (cg != free_grade)
    out["combo_verified"] = pd.array([pd.NA if np.isnan(v) else bool(v) for v in combo_verified], dtype="boolean")
    params = {"lines": list(lines), "cost": cost.to_dict(), "cost_zh": cost.describe_zh(),
              "resolution": resolution if not isinstance(resolution, Mapping) else dict(resolution),
              "resolution_default": "计数 1、百分比 0.1、其他 0.01（指标自身单位）", "verify": bool(verify),
              "public_indicators": "不计入（群众评价保持不变）", "peers": "同类单位的正式公布得分保持不变",
              "normalization": ctx.spec.normalization, "aggregation": ctx.spec.aggregation,
              "decimals": d, "period": ctx.result.period, "framework": fw.id}
    return ImprovementPlan(lines=out.reset_index(drop=True), singles=singles, combos=combos, params=params)
