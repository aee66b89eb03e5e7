"""Re-score one unit with some of its raw indicator values changed — with the engine itself.

This is the check behind every improvement suggestion and the what-if of the
dashboard's unit view.  For each scenario (unit, {indicator: new raw value}) the
unit's comparison group (its peer group in the result's period) is rebuilt from
the official result's ``raw`` stage with the unit's values replaced, and sent
through the engine's own build stages (:func:`qlwork.engine.stages.prepare`:
applicability, imputation, outlier treatment, normalisation — exactly as
``compute_index`` runs them) and the one scorer (:func:`qlwork.engine.scorer.build_design`
+ :func:`~qlwork.engine.scorer.nominal_scores`, as ``compute_index``'s total stage),
then published (half-up, the spec's decimals) and graded with the veto cap.  Many
scenarios are scored in one pass: each is a separate copy of the group, i.e. its
own comparison group.

What stays fixed: the public score (群众评价), the bonus points, the veto events and
every other unit's raw values.  Two ranks are returned: ``rank`` against the
peers' *official* published totals (peers fixed — the rule of the improvement
lines) and ``rank_rescored`` within the re-scored group (under peer-relative
normalisation the peers' scores move a little when the unit moves the group's
minimum, maximum, mean or ranks).
"""
from __future__ import annotations

import math
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from ..engine.grading import publish_units, rank_within
from ..engine.hierarchy import Hierarchy
from ..engine.rules import grade_published
from ..engine.scorer import build_design, nominal_scores
from ..engine.stages import _stages  # the build stages of prepare(), on arrays

__all__ = ["rescore", "what_if_indicator", "check_changes", "official_context"]

#: rows × indicators of the stacked copies scored per engine call (memory ≈ 8 bytes × 6 arrays each)
CHUNK_CELLS = 4_000_000


def _err(code, zh, en, **kw):
    return QlworkError(Problem(code, zh, en, **kw))


def official_context(result) -> dict:
    """Arrays of the official result that a re-scoring keeps fixed (cached on the result)."""
    key = "rescore_context"
    if key in result._cache:
        return result._cache[key]
    fw = result.framework
    ids = list(fw.indicator_ids)
    uid = result.scores.index.astype(str)
    raw = result.stages["raw"].reindex(index=uid, columns=ids)
    units = result.units.reindex(uid).copy()
    peer = units["peer_group"].astype(str).to_numpy()
    d = result.decimals
    total = result.scores["total"].reindex(uid).to_numpy(dtype=float)
    pub_mode = {"indicators": "indicators", "absent": "none"}.get(str(result.params.get("public")), "fixed")
    veto = result.ranking["veto"].reindex(uid).fillna("").astype(str).to_numpy() if "veto" in result.ranking else \
        np.full(len(uid), "", dtype=object)
    ctx = {
        "ids": ids, "uid": np.asarray(uid, dtype=object), "pos": {u: k for k, u in enumerate(uid)},
        "raw": raw.to_numpy(dtype=float), "units": units, "peer": peer,
        "normalized": result.normalized.reindex(index=uid, columns=ids).to_numpy(dtype=float),
        "public": result.scores["public"].reindex(uid).to_numpy(dtype=float),
        "bonus": result.scores["bonus"].reindex(uid).fillna(0.0).to_numpy(dtype=float)
        if "bonus" in result.scores else np.zeros(len(uid)),
        "total": total, "units_pub": publish_units(total, d), "pub_mode": pub_mode,
        "vetoed": veto != "", "hier": Hierarchy.from_framework(fw),
        "is_pub": np.array([fw.indicators[i].public for i in ids], bool),
        "members": {g: np.flatnonzero(peer == g) for g in np.unique(peer)},
    }
    result._cache[key] = ctx
    return ctx


def check_changes(result, unit_id: str, changes: Mapping[str, float]) -> dict[str, float]:
    """Validated changes: known, applicable indicators of the unit with finite values inside the
    framework's feasible range (located error in Chinese with an English gloss otherwise)."""
    fw = result.framework
    ctx = official_context(result)
    uid = str(unit_id)
    if uid not in ctx["pos"]:
        raise _err("unknown_unit", f"{result.period} 的结果中没有单位 {uid}", "unit not in the result",
                   column="unit_id", found=uid, expected="已评分的单位编码 a scored unit id")
    k = ctx["pos"][uid]
    out = {}
    for ind, v in dict(changes).items():
        ind = str(ind)
        if ind not in fw.indicators:
            raise _err("unknown_indicator", f"框架 {fw.id} 中没有指标 {ind}", "no such indicator in the framework",
                       column="indicator_id", found=ind, expected="、".join(fw.indicator_ids[:12]) + " …")
        j = ctx["ids"].index(ind)
        if math.isnan(ctx["normalized"][k, j]):
            raise _err("not_applicable", f"指标 {fw.indicators[ind].name}（{ind}）不适用于单位 {uid} 或该单位本期无此数据",
                       "the indicator does not apply to this unit or has no value", column=ind, found=uid)
        try:
            f = float(v)
        except (TypeError, ValueError):
            f = float("nan")
        lo, hi = fw.indicators[ind].valid_range
        if not math.isfinite(f) or f < lo or f > hi:
            raise _err("out_of_range", f"指标 {fw.indicators[ind].name}（{ind}）的取值 {v!r} 超出可行范围 [{lo:g}, {hi:g}]",
                       "value outside the indicator's feasible range", column=ind, found=v,
                       expected=f"{lo:g} ≤ 值 ≤ {hi:g}")
        out[ind] = f
    return out


def rescore(result, scenarios: Iterable[tuple[str, Mapping[str, float]]], *, validate: bool = True,
            peers_rescored: bool = False) -> pd.DataFrame:
    """Score each scenario ``(unit_id, {indicator_id: raw value})`` with the engine (module doc).

    Returns one row per scenario (in order): scenario, unit_id, internal, total_raw,
    total (published), grade, grade_rule, rank (peers' official totals fixed),
    rank_rescored (the group re-scored; only with ``peers_rescored=True``), n_peers,
    below_pass, bottom_n (peers fixed).

    Only the changed columns are re-normalised: the engine normalises (and imputes,
    and treats outliers) column by column within the comparison group, so the
    other columns of the group are the official ones by construction.
    """
    scen = [(str(u), dict(c)) for u, c in scenarios]
    if validate:
        scen = [(u, check_changes(result, u, c)) for u, c in scen]
    ctx = official_context(result)
    ids = ctx["ids"]
    col = {i: j for j, i in enumerate(ids)}
    rows = [None] * len(scen)
    # batches share the peer group and the set of changed columns (only those are re-normalised)
    # one-column scenarios are batched by that column; several-column ones together (union of columns)
    by_group: dict[tuple, list[int]] = {}
    for s, (u, ch) in enumerate(scen):
        cols = tuple(sorted(col[i] for i in ch))
        by_group.setdefault((ctx["peer"][ctx["pos"][u]], cols if len(cols) <= 1 else "several"), []).append(s)
    for (g, _), sidx in by_group.items():
        members = ctx["members"][g]
        n = len(members)
        for part in _chunks(sidx, scen, n, col):
            cols = sorted({col[i] for s in part for i in scen[s][1]})
            K = len(part)
            at = {s: int(np.searchsorted(members, ctx["pos"][scen[s][0]])) for s in part}
            N = np.tile(ctx["normalized"][members], (K, 1)) if peers_rescored else \
                ctx["normalized"][[members[at[s]] for s in part]].copy()
            if cols:
                X = np.tile(ctx["raw"][members][:, cols], (K, 1))
                for k, s in enumerate(part):
                    for ind, v in scen[s][1].items():
                        X[k * n + at[s], cols.index(col[ind])] = v
                Ncols = _normalise_columns(result, ctx, members, [ids[j] for j in cols], X, K)
                if peers_rescored:
                    N[:, cols] = Ncols
                else:
                    N[:, cols] = Ncols[[k * n + at[s] for k, s in enumerate(part)]]
            mem_rows = np.tile(members, K) if peers_rescored else np.array([members[at[s]] for s in part])
            tot, internal = _totals(result, ctx, N, mem_rows)
            for k, s in enumerate(part):
                r = k * n + at[s] if peers_rescored else k
                seg = tot[k * n:(k + 1) * n] if peers_rescored else None
                rows[s] = _row(result, ctx, s, scen[s][0], members, tot[r], internal[r], seg, at[s])
    return pd.DataFrame(rows, columns=["scenario", "unit_id", "internal", "total_raw", "total", "grade", "grade_rule",
                                       "rank", "rank_rescored", "n_peers", "below_pass", "bottom_n"])


def _chunks(sidx, scen, n, col):
    """Scenario batches of at most :data:`CHUNK_CELLS` stacked cells (copies × rows × union of changed columns)."""
    part, cols = [], set()
    for s in sidx:
        new = cols | {col[i] for i in scen[s][1]}
        if part and (len(part) + 1) * n * max(len(new), 1) > CHUNK_CELLS:
            yield part
            part, new = [], {col[i] for i in scen[s][1]}
        part.append(s)
        cols = new
    if part:
        yield part


def _normalise_columns(result, ctx, members, cols, X, K):
    """The engine's build stages on K stacked copies of the group, changed columns only.

    Each copy is given its own "period", so it is its own comparison group (peer
    group × period), exactly as the unit's group was in the official run.
    """
    n = len(members)
    reg = ctx["units"].iloc[members]
    row_u = np.tile(np.arange(n), K)
    row_per = np.repeat(np.arange(K), n)
    prep = _stages(result.framework, result.spec, list(cols), len(cols), ctx["uid"][members],
                   [str(k) for k in range(K)], row_u, row_per, X, {}, reg, None)
    return prep.normalised


def _totals(result, ctx, N, mem_rows):
    """(total_raw, internal) of normalised rows through the one scorer, public/bonus/veto fixed."""
    spec = result.spec
    is_pub = ctx["is_pub"]
    N = N.copy()
    pub = ctx["public"][mem_rows]
    bonus = ctx["bonus"][mem_rows]
    if ctx["pub_mode"] == "indicators":
        N[np.ix_(np.isnan(pub), is_pub)] = np.nan  # as compute_index: no public score → total = internal
    design = build_design(ctx["hier"], N, row_ids=np.arange(len(N)), groups=np.zeros(len(N), np.intp),
                          group_labels=["0"], grades=spec.bands(), bottom_n=spec.warnings.bottom_n,
                          aggregation=spec.aggregation, social_share=float(spec.social_share),
                          public_mode=ctx["pub_mode"] if ctx["pub_mode"] != "none" else "indicators",
                          public_values=pub if ctx["pub_mode"] == "fixed" else None, eps=spec.geometric_eps,
                          bonus=bonus, decimals=spec.precision.decimals, bottom_min_group=spec.warnings.min_group)
    tot = nominal_scores(design)[design.input_order]
    internal = _internal(N, ctx["hier"], spec, is_pub)
    # under imputation "none" a missing applicable internal indicator leaves the unit unscored
    if spec.imputation != "reweight":
        applicable = ~np.isnan(ctx["normalized"][mem_rows]) & ~is_pub[None, :]
        internal[(applicable & np.isnan(N)).any(axis=1)] = np.nan
    tot[np.isnan(internal)] = np.nan
    return tot, internal


def _internal(N, hier, spec, is_pub):
    """The internal score (专业分) of each row: effective internal weights of its availability pattern."""
    avail = ~np.isnan(N) & ~is_pub[None, :]
    W = hier.effective(hier.center[None, :], avail)
    X = np.where(avail, N, 0.0)
    if spec.aggregation == "geometric":
        L = np.where(avail, np.log(np.maximum(np.where(avail, N, 1.0), spec.geometric_eps)), 0.0)
        out = np.exp(np.einsum("ij,ij->i", L, W))
    else:
        out = np.einsum("ij,ij->i", X, W)
    return np.where(W.sum(axis=1) > 0, out, np.nan)


def _row(result, ctx, s, u, members, tr, internal, group_tot, at):
    spec = result.spec
    d = result.decimals
    k = ctx["pos"][u]
    units = publish_units(np.array([tr]), d)
    ok = bool(np.isfinite(units[0]))
    total = float(units[0] / 10.0 ** d) if ok else float("nan")
    vetoed = bool(ctx["vetoed"][k])
    grade, rule = grade_published(units, spec.bands(), d, np.array([vetoed]), spec.veto_cap)
    others = ctx["units_pub"][members[members != k]]
    others = others[~np.isnan(others)]
    rank = int(1 + (others > units[0]).sum()) if ok else None
    below = int((others < units[0]).sum()) if ok else 0
    n_peers = int(others.size + ok)
    rr = None
    if group_tot is not None:
        v = rank_within(pd.Series(group_tot), None, decimals=d).iloc[at]
        rr = None if pd.isna(v) else int(v)
    w = spec.warnings
    pass_units = np.ceil(np.round(spec.pass_mark * 10.0 ** d, 6))
    return (s, u, float(internal), float(tr), total, grade[0], str(rule[0]), rank, rr, n_peers,
            bool(ok and units[0] < pass_units),
            bool(ok and w.bottom_n > 0 and n_peers >= w.min_group and below < w.bottom_n))


def what_if_indicator(result, unit_id: str, changes: Mapping[str, float]) -> dict:
    """Score, grade and rank of one unit if some of its raw indicator values were different.

    For the dashboard's unit view (move an indicator, see score, grade and rank):
    ``changes`` maps indicator ids to new raw values in the indicator's own unit
    (validated against the framework's feasible range; a located error otherwise).
    ``result`` is an :class:`~qlwork.engine.result.IndexResult` or an
    :class:`~qlwork.workflow.official.OfficialResult` (the unit's framework is found).
    Returns plain values: unit_id, total_raw, total (published), grade, grade_rule,
    rank and n_peers (peers' official totals fixed), rank_rescored (the peer group
    re-scored with the change), below_pass, bottom_n, and the official total, grade
    and rank for comparison.  With no changes it returns the official numbers.
    """
    if hasattr(result, "results") and hasattr(result, "framework_of"):
        result = result.results[result.framework_of(str(unit_id))]
    row = rescore(result, [(str(unit_id), changes)], peers_rescored=True).iloc[0]
    rk = result.ranking.loc[str(unit_id)]
    out = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items() if k != "scenario"}
    out = {k: (None if (isinstance(v, float) and math.isnan(v)) else v) for k, v in out.items()}
    for k in ("rank", "rank_rescored", "n_peers"):
        out[k] = None if out[k] is None or pd.isna(out[k]) else int(out[k])
    out.update({"below_pass": bool(out["below_pass"]), "bottom_n": bool(out["bottom_n"]),
                "official_total": float(result.scores.at[str(unit_id), "total"]),
                "official_grade": None if pd.isna(rk["grade"]) else str(rk["grade"]),
                "official_rank": None if pd.isna(rk["rank"]) else int(rk["rank"]),
                "changes": check_changes(result, str(unit_id), changes)})
    return out
