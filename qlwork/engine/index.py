"""The index engine: ``compute_index(data, framework, spec) -> IndexResult``.

A short pipeline over named stages (COINr's build, :mod:`qlwork.engine.stages`):

1. **raw → imputed → treated → normalised** (:func:`qlwork.engine.stages.prepare`),
   every (period, unit) row in one vectorised pass; comparison groups are
   peer group × period.
2. **aggregated** — node scores over the whole tree (survey items included, so a
   goal such as 民心清朗 shows the survey items that carry most of its weight);
   the internal score (专业分) over the tree without its survey (``public``)
   indicators; the public score (获得感) from the survey estimate or from the
   public indicators; the total ``(1 − s)·internal + s·public + bonus`` from
   :func:`qlwork.engine.scorer.scores_for` — the one scorer that the Monte
   Carlo engine and the dashboard's what-if also run.  Under imputation
   "none" a missing applicable internal indicator makes every node above it
   missing, and a missing public indicator makes the public score missing
   (total = internal, with a ``missing_public`` warning).
3. **rules** (:mod:`qlwork.engine.rules`) — bonus (capped), published precision
   (half-up, default 2 decimals), grade with veto cap, ranks within peer group
   and region, change against the previous period, warnings from the spec.

Every choice comes from the :class:`~qlwork.spec.IndexSpec` (``spec=``, or the
framework's defaults plus keyword overrides) and is recorded in
``IndexResult.spec`` and ``IndexResult.params``.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from ..framework import Framework, load_framework
from ..labels import WARNING_LABELS
from ..spec import IndexSpec, spec_for
from .aggregate import effective_weights
from .aggregated import aggregate_stage, public_stage, total_stage
from .grading import publish
from .hierarchy import Hierarchy
from .result import SCORE_LABELS, IndexResult, UnitReport
from .rules import bonus_by_row, rank_and_warn, veto_by_row
from .stages import ALL_GROUP, SINGLE_PERIOD, Prepared, prepare

__all__ = ["compute_index", "IndexResult", "UnitReport", "WARNING_CODES", "SCORE_LABELS", "ALL_GROUP",
           "SINGLE_PERIOD", "resolve_spec", "MISSING_REWEIGHTED"]

#: Warning reason codes → Chinese reason (one home: :data:`qlwork.labels.WARNING_LABELS`).
WARNING_CODES = WARNING_LABELS

#: Reason of a ``missing_data`` warning under imputation="reweight" (scores exist).
MISSING_REWEIGHTED = "指标数据缺失，已按可得指标重新分配权重计算"

#: keyword → spec field of the legacy keyword interface (still the convenient one in notebooks)
_SIMPLE = {"normalization": "normalization", "aggregation": "aggregation", "imputation": "imputation",
           "social_share": "social_share", "pass_mark": "pass_mark", "region": "region", "eps": "geometric_eps",
           "constant": "constant_group_score", "veto_grade": "veto_grade", "bonus_cap": "bonus_cap",
           "public_source": "public_source"}


def _err(code, zh, en, **kw):
    return QlworkError(Problem(code, zh, en, **kw))


def resolve_spec(fw: Framework, spec=None, *, weights=None, peer_group=None, **options):
    """``(spec, framework with the spec's weights, weight-source label, peer-group Series or None)``.

    ``spec``: an :class:`IndexSpec`, a mapping of (partial) spec fields, or None
    (the framework's defaults).  ``options`` are the keyword shortcuts of
    :func:`compute_index` (normalization=…, bottom_n=…, decimals=…).
    """
    over: dict = {}
    if isinstance(spec, IndexSpec):
        over = spec.to_dict()
    elif spec is not None:
        over = dict(spec)
    unknown = sorted(set(options) - set(_SIMPLE) - {"outliers", "grades", "bottom_n", "drop_points", "decimals",
                                                     "warnings", "sensitivity"})
    if unknown:
        raise _err("bad_option", f"未知的参数 {unknown}", "unknown keyword arguments", found=unknown,
                   expected="、".join(sorted(set(_SIMPLE) | {"outliers", "grades", "bottom_n", "drop_points", "decimals"})))
    for k, f in _SIMPLE.items():
        if k in options and options[k] is not None:
            over[f] = options[k]
    if "outliers" in options:
        o = options["outliers"]
        o = "none" if o in (None, "none") else o
        if isinstance(o, str) and o.startswith("winsor"):
            o = "winsorise"
        over["outliers"] = o
    if options.get("grades") is not None:
        g = options["grades"]
        items = list(g.items()) if hasattr(g, "items") else [tuple(x) for x in g]
        over["grades"] = [(str(lab), (0.0 if lo is None or not math.isfinite(float(lo)) else float(lo))) for lab, lo in items]
    warn = dict(over.get("warnings") or {})
    if options.get("bottom_n") is not None:
        warn["bottom_n"] = int(options["bottom_n"])
    if options.get("drop_points") is not None:
        warn["drop_points"] = float(options["drop_points"])
    if options.get("warnings"):
        warn.update(options["warnings"])
    if warn:
        over["warnings"] = warn
    if options.get("decimals") is not None:
        over["precision"] = {**dict(over.get("precision") or {}), "decimals": int(options["decimals"])}
    pg_series = None
    if peer_group is not None:
        if isinstance(peer_group, str):
            over["peer_group"] = "all" if peer_group in ("all", ALL_GROUP) else peer_group
        else:
            pg_series = peer_group
            over["peer_group"] = "custom"
    elif "peer_group" in options:
        over["peer_group"] = "all"
    # weights: explicit argument > spec
    fw_w, source = fw, "framework"
    if weights is not None:
        if isinstance(weights, Framework):
            fw_w, source = weights, "framework override"
        elif isinstance(weights, pd.Series) and set(map(str, weights.index)) == set(fw.indicator_ids):
            s = weights.astype(float)
            s.index = s.index.map(str)
            fw_w, source = fw.with_leaf_weights(s), "leaf weights"
        else:
            s = pd.Series(weights, dtype=float) if not isinstance(weights, pd.Series) else weights.astype(float)
            fw_w, source = fw.with_weights({str(k): float(v) for k, v in s.items()}, normalize=True), "local weights"
        over["weights"] = {"source": "explicit", "values": {k: float(v) for k, v in fw_w.local_weights().items()},
                           "method": source}
    spec_obj = spec_for(fw, over)
    if weights is None and spec_obj.weights.source != "framework" and spec_obj.weights.values:
        fw_w = fw.with_weights(dict(spec_obj.weights.values), normalize=True)
        source = f"spec ({spec_obj.weights.method or spec_obj.weights.source})"
    return spec_obj, fw_w, source, pg_series


def compute_index(data, framework, spec=None, *, period=None, units=None, public=None, veto=None, bonus=None,
                  previous=None, weights=None, peer_group=None, **options) -> IndexResult:
    """Score every unit up the framework tree; see the module docstring for the steps.

    Parameters
    ----------
    data : long DataFrame (unit_id, period, indicator_id, value[, source, file, sheet, row, column])
        or wide DataFrame (index = unit ids, columns = indicator ids; one period).
    framework : Framework, YAML path, built-in name or nested mapping.
    spec : IndexSpec or mapping of spec fields (default: the framework's defaults).
    period : the period to rank/grade (default: the latest in the data).
    units : registry (unit_id index or column; unit_name, unit_type, city, county, township).
    public : the survey output of ``qlwork survey`` (long, ``overall`` + item rows), a table
        unit_id[, period], public[, public_se], or a Series unit_id → 0–100 / (period, unit_id) → 0–100.
    veto : the veto register (unit_id[, period], veto_id/name), unit ids, or a boolean Series.
    bonus : the bonus register (unit_id[, period], points[, item]) or a Series unit_id → points.
    previous : an earlier IndexResult to compute ``change`` against.
    weights : local weights by id, effective leaf weights (Series over all indicators) or a Framework.
    peer_group : registry column, "all", or a Series unit_id → group.
    options : spec shortcuts — normalization, aggregation, imputation, outliers, social_share, grades,
        pass_mark, bottom_n, drop_points, region, eps, constant, decimals, veto_grade, bonus_cap.
    """
    t0 = time.perf_counter()
    fw0 = load_framework(framework)
    spec, fw, weight_source, pg_series = resolve_spec(fw0, spec, weights=weights, peer_group=peer_group, **options)
    prep, current, pin = prepare(data, fw, spec, units=units, period=period, public=public, peer_group=pg_series)
    return _score(prep, current, pin, fw, spec, weight_source, veto=veto, bonus=bonus, previous=previous,
                  public_arg=public, t0=t0)


def _score(prep: Prepared, current, pin, fw, spec, weight_source, *, veto, bonus, previous, public_arg, t0):
    ids = prep.ids
    N = prep.normalised
    periods = prep.periods
    row_u, row_per = prep.row_u, prep.row_per
    units_u, reg = prep.units_u, prep.reg
    cur_i = periods.index(current)
    hier = Hierarchy.from_framework(fw)

    # ---- aggregated (node scores, internal), public component, bonus/veto, total from the one scorer
    agg = aggregate_stage(prep, fw, spec, hier)
    pub = public_stage(prep, fw, spec, pin)
    row_units = units_u[row_u]
    row_periods = np.asarray(periods, dtype=object)[row_per]
    bonus_rows, bonus_raw, bonus_detail = bonus_by_row(bonus, row_units, row_periods, current, spec.bonus_cap)
    veto_rows = veto_by_row(veto, row_units, row_periods, current)
    total_raw = total_stage(prep, agg, pub, hier, spec, bonus_rows)
    d = spec.precision.decimals
    total = publish(total_raw, d)
    order_nodes, node_scores, internal = agg.nodes, agg.node_scores, agg.internal
    W_int, inv_int = agg.W_int, agg.inv_int
    s_share = float(spec.social_share)
    pub_se, pub_source, missing_public = pub.se, pub.source, pub.missing
    pub = pub.value
    is_pub = np.array([fw.indicators[i].public for i in ids], bool)
    missing = prep.missing
    survey_items = pin is not None and bool(pin.items)

    # ---- tables: history (all periods) and the current period
    order = np.argsort(row_per, kind="stable")
    cols = order_nodes + ["internal", "public", "bonus", "total_raw", "total"]
    allv = np.column_stack([node_scores, internal, pub, bonus_rows, total_raw, total])
    midx = pd.MultiIndex(levels=[pd.Index(periods, dtype=object), pd.Index(units_u, dtype=object)],
                         codes=[row_per[order], row_u[order]], names=["period", "unit_id"], verify_integrity=False)
    hist = pd.DataFrame(allv[order], index=midx, columns=cols)
    normalized_hist = pd.DataFrame(N[order], index=midx, columns=ids)
    cur_rows = np.flatnonzero(row_per == cur_i)
    cur_u = row_u[cur_rows]
    uidx = pd.Index(units_u[cur_u], name="unit_id", dtype=object)
    scores = pd.DataFrame(allv[cur_rows], index=uidx, columns=cols)
    normalized = pd.DataFrame(N[cur_rows], index=uidx, columns=ids)
    raw_z = None
    if "z" in prep.ninfo:
        raw_z = pd.DataFrame(np.where(prep.appl, prep.ninfo["z"], np.nan)[cur_rows], index=uidx, columns=ids)
    stages = {name: pd.DataFrame(a[cur_rows], index=uidx, columns=ids)
              for name, a in (("raw", prep.raw), ("imputed", prep.imputed), ("treated", prep.treated), ("normalised", N))}
    eff = pd.DataFrame(W_int[inv_int[cur_rows]], index=uidx, columns=ids)

    # ---- change against the previous period (published totals)
    prev_period = None
    prev_rows = None
    if previous is not None:
        prev_tot = previous.scores["total"].reindex(uidx).to_numpy(dtype=float)
        prev_period = previous.period
    elif cur_i > 0:
        prev_period = periods[cur_i - 1]
        by_unit = np.full(len(units_u), np.nan)
        prev_rows = row_per == cur_i - 1
        by_unit[row_u[prev_rows]] = total[prev_rows]
        prev_tot = by_unit[cur_u]
    else:
        prev_tot = np.full(len(cur_u), np.nan)
    tot = total[cur_rows]
    change = np.round(tot - prev_tot, d)
    change_rule = "total"
    if prev_rows is not None and pub_source != "absent":
        # like with like: where the public component exists in only one of the two periods,
        # the change is measured on the internal score
        has_p = ~np.isnan(pub)
        by_unit_int = np.full(len(units_u), np.nan)
        by_unit_has = np.zeros(len(units_u), bool)
        by_unit_int[row_u[prev_rows]] = publish(internal[prev_rows], d)
        by_unit_has[row_u[prev_rows]] = has_p[prev_rows]
        mixed = has_p[cur_rows] != by_unit_has[cur_u]
        if mixed.any():
            change = np.where(mixed, np.round(publish(internal[cur_rows], d) - by_unit_int[cur_u], d), change)
            change_rule = "total; internal where the public component exists in only one of the two periods"

    # ---- divergence: the one definition (qlwork.analysis.compare.divergence), low public only
    div_flag = None
    div_table = None
    peer_cur = reg["peer_group"].to_numpy()[cur_u]
    if spec.warnings.divergence and s_share >= 0 and np.isfinite(pub_se[cur_rows]).any():
        div_table, div_flag = _divergence(uidx, internal[cur_rows], pub[cur_rows], pub_se[cur_rows], peer_cur,
                                          spec.warnings.divergence_alpha)

    # ---- ranks, grades, warnings (current period)
    rc = spec.region
    region = reg[rc].to_numpy()[cur_u] if rc and rc in reg.columns else None
    miss_warn = (missing & ~is_pub[None, :]) if survey_items else missing
    missing_reason = MISSING_REWEIGHTED if spec.imputation == "reweight" else WARNING_LABELS["missing_data"]
    ranking, warnings = rank_and_warn(
        tot, uidx.to_numpy(), peer_cur, region, spec=spec, change=change, prev_total=prev_tot,
        prev_period=prev_period, current=current, vetoed_text=[veto_rows[r] for r in cur_rows],
        missing=miss_warn[cur_rows], ids=ids, missing_public=missing_public[cur_rows], divergence=div_flag,
        missing_reason=missing_reason, bands=spec.bands())
    ranking["bonus_detail"] = [bonus_detail[r] for r in cur_rows]

    # ---- what was filled / treated
    per_arr = np.asarray(periods, dtype=object)
    ids_arr = np.asarray(ids, dtype=object)
    fr, fc = np.nonzero(prep.filled)
    imputed = pd.DataFrame({"unit_id": units_u[row_u[fr]], "period": per_arr[row_per[fr]],
                            "indicator_id": ids_arr[fc], "method": spec.imputation, "value": prep.imputed[fr, fc]})
    tr, tc = np.nonzero(prep.treated_mask)
    outl = pd.DataFrame({"unit_id": units_u[row_u[tr]], "period": per_arr[row_per[tr]],
                         "indicator_id": ids_arr[tc], "original": prep.imputed[tr, tc], "treated": prep.treated[tr, tc],
                         "treatment": spec.outlier_rule or ""})
    int_w = pd.Series(effective_weights(fw, None, ~is_pub & ~prep.absent)[0], index=ids, name="internal_weight")
    vetoed_units = sorted(u for u, v in zip(uidx, ranking["veto"]) if v)
    params = {
        "framework": fw.id, "framework_version": fw.version, "framework_fingerprint": fw.fingerprint(),
        "spec_fingerprint": spec.fingerprint(),
        "period": current, "periods": periods, "previous_period": prev_period,
        "normalization": spec.normalization, "aggregation": spec.aggregation, "imputation": spec.imputation,
        "outliers": spec.outlier_rule, "peer_group": spec.peer_group, "comparison_groups": "peer group × period",
        "region": spec.region, "weights": weight_source, "social_share": s_share, "public": pub_source,
        "public_detail": (pin.source if pin.source.startswith("survey") else spec.public_source) if pin is not None else None,
        "grades": [[lab, (lo if math.isfinite(lo) else None)] for lab, lo in spec.bands()], "pass_mark": spec.pass_mark,
        "bottom_n": spec.warnings.bottom_n, "bottom_min_group": spec.warnings.min_group,
        "drop_points": spec.warnings.drop_points, "rank_ties": "min", "change_rule": change_rule,
        "decimals": d, "rounding": "half-up on the 1e-6 grid", "veto_grade": spec.veto_cap, "bonus_cap": spec.bonus_cap,
        "geometric_eps": spec.geometric_eps, "constant_group_score": spec.constant_group_score,
        "zscore_scale": "clip(50 + 10·z, 0, 100), sd ddof=1" if spec.normalization == "zscore" else None,
        "normalization_fallback": [ids[j] for j in prep.ninfo.get("fallback", [])],
        "absent_indicators": [ids[j] for j in np.flatnonzero(prep.absent)],
        "public_indicators": [ids[j] for j in np.flatnonzero(is_pub)],
        "survey_items": sorted(pin.items) if pin is not None else [],
        "ignored_not_applicable_values": prep.n_ignored_na,
        "n_units": int(len(scores)), "n_rows": int(len(N)), "n_patterns": int(agg.n_patterns),
        "n_imputed": int(prep.filled.sum()), "n_outliers_changed": int(prep.treated_mask.sum()),
        "outlier_summary": prep.outlier_summary,
        "leaf_weights": {k: float(v) for k, v in fw.leaf_weights().items()},
        "veto_units": vetoed_units,
        "bonus_over_cap": int((bonus_raw[cur_rows] > spec.bonus_cap + 1e-12).sum()),
        "seconds": round(time.perf_counter() - t0, 4),
        **prep.info,
    }
    pse = pd.Series(pub_se[cur_rows], index=uidx, name="public_se") if np.isfinite(pub_se).any() else None
    return IndexResult(
        scores=scores, normalized=normalized, leaf_weights=fw.leaf_weights().reindex(ids), framework=fw,
        units=reg, params=params, imputed=imputed, outliers=outl, warnings=warnings, period=current,
        history=hist, ranking=ranking, raw_z=raw_z, normalized_history=normalized_hist, internal_weights=int_w,
        spec=spec, stages=stages, effective_weights=eff, public_se=pse, divergence=div_table,
    )


def _divergence(uidx, internal, public, se, peer, alpha):
    """Per-unit divergence table and the low-public flag (NaN rows not tested)."""
    from ..analysis.compare import divergence

    df = pd.DataFrame({"unit_id": uidx.to_numpy(), "internal": internal, "public": public, "public_se": se,
                       "unit_type": peer})
    ok = df[["internal", "public", "public_se"]].notna().all(axis=1) & (df["public_se"] > 0)
    flag = np.zeros(len(df), bool)
    sub = df[ok]
    if len(sub) < 5:
        return None, flag
    import warnings

    with warnings.catch_warnings():
        # a peer group whose public scores lie exactly on a line gives a zero robust scale: no evidence either way
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            from statsmodels.tools.sm_exceptions import ConvergenceWarning

            warnings.simplefilter("ignore", ConvergenceWarning)
        except ImportError:  # pragma: no cover
            pass
        t = divergence(sub.reset_index(drop=True), alpha=alpha)
    flag[np.flatnonzero(ok.to_numpy())] = t["flag_low_public"].to_numpy(dtype=bool)
    return t.set_index("unit_id"), flag
