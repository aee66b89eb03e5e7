"""Rules applied after aggregation: bonus, veto, published precision, grades, ranks, warnings.

Order (every step recorded in the result's spec):

1. **Bonus** (加分): the unit's bonus points of the period, summed and capped at
   ``spec.bonus_cap`` (the framework's cap, e.g. 5), are added to the aggregated
   total: ``total_raw = (1 − s)·internal + s·public + bonus``.
2. **Published precision**: ``total = publish(total_raw)`` — half-up to
   ``spec.precision.decimals`` on the 1e-6 grid (:func:`qlwork.engine.grading.publish_units`).
   Grades, ranks, ties, bottom N, change and below-pass all use the published total.
3. **Grade** from the bands; a **veto** (一票否决) event caps it at ``spec.veto_cap``
   (the lowest grade unless configured) and the grade rule is recorded as ``veto``.
4. **Ranks** within the peer group and within the region (competition ranking,
   ties share the best rank).
5. **Warnings** by :class:`qlwork.spec.WarningRules`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..labels import WARNING_LABELS, period_label
from .grading import bottom_n_mask, publish_units, rank_within

__all__ = ["bonus_by_row", "veto_by_row", "grade_published", "rank_and_warn", "WARNING_ORDER"]

WARNING_ORDER = tuple(WARNING_LABELS)


def bonus_by_row(bonus, row_units, row_periods, current, cap: float) -> tuple[np.ndarray, np.ndarray, list]:
    """(capped bonus per row, uncapped sum per row, detail text per row).

    ``bonus``: None, a Series unit_id → points (current period), or a table
    (unit_id[, period], points[, item]) — one row per bonus item, as the bonus register.
    """
    n = len(row_units)
    tot = np.zeros(n)
    detail = [""] * n
    if bonus is None:
        return tot, tot.copy(), detail
    if isinstance(bonus, pd.Series):
        df = pd.DataFrame({"unit_id": bonus.index.astype(str), "points": bonus.to_numpy(dtype=float)})
    else:
        df = bonus.copy()
    if "points" not in df.columns:
        col = next((c for c in ("bonus", "score", "value") if c in df.columns), None)
        if col is None:
            raise ValueError("bonus table needs a points column")
        df = df.rename(columns={col: "points"})
    per = df["period"].astype(str) if "period" in df.columns else pd.Series(str(current), index=df.index)
    df = df.assign(_k=list(zip(per.to_numpy(), df["unit_id"].astype(str).to_numpy())))
    sums = df.groupby("_k")["points"].sum()
    item = "item" if "item" in df.columns else None
    det = (df.groupby("_k").apply(lambda g: "；".join(f"{r[item]} +{r['points']:g}" if item else f"+{r['points']:g}"
                                                     for _, r in g.iterrows()), include_groups=False)
           if len(df) else pd.Series(dtype=str))
    keys = list(zip(np.asarray(row_periods).astype(str), np.asarray(row_units).astype(str)))
    raw = np.array([float(sums.get(k, 0.0)) for k in keys])
    detail = [str(det.get(k, "")) for k in keys]
    return np.minimum(raw, float(cap)), raw, detail


def veto_by_row(veto, row_units, row_periods, current) -> list[str]:
    """Veto events per row as text ('' = none).

    ``veto``: None, unit ids (list/Series), a boolean Series by unit_id (current
    period), or a table (unit_id[, period][, veto_id / name]) — the veto register.
    """
    n = len(row_units)
    out = [""] * n
    if veto is None:
        return out
    keys = list(zip(np.asarray(row_periods).astype(str), np.asarray(row_units).astype(str)))
    ev: dict = {}
    if isinstance(veto, pd.DataFrame):
        per = veto["period"].astype(str) if "period" in veto.columns else pd.Series(str(current), index=veto.index)
        det_col = next((c for c in ("name", "veto_id", "detail", "event") if c in veto.columns), None)
        for p_, (_, r) in zip(per.to_numpy(), veto.iterrows()):
            k = (p_, str(r["unit_id"]))
            d = str(r[det_col]) if det_col else "一票否决"
            ev[k] = (ev[k] + "；" + d) if k in ev else d
    else:
        s = pd.Series(veto) if not isinstance(veto, pd.Series) else veto
        ids = s.index[s.to_numpy()] if s.dtype == bool else s.to_numpy()
        for u in ids:
            ev[(str(current), str(u))] = "一票否决"
    return [ev.get(k, "") for k in keys]


def grade_published(units: np.ndarray, bands, decimals: int, vetoed: np.ndarray, cap_label: str) -> tuple[np.ndarray, np.ndarray]:
    """(grade label, grade rule) from published units; veto caps the grade at ``cap_label``."""
    labels = [lab for lab, _ in bands]
    scale = 10.0 ** decimals
    lows = np.array([np.ceil(np.round(lo * scale, 6)) if np.isfinite(lo) else -np.inf for _, lo in bands])
    nan = np.isnan(units)
    idx = np.argmax(np.where(nan, -np.inf, units)[:, None] >= lows[None, :], axis=1)
    cap_i = labels.index(cap_label)
    capped = vetoed & ~nan
    idx = np.where(capped, np.maximum(idx, cap_i), idx)
    grade = np.where(nan, None, np.asarray(labels, dtype=object)[idx])
    rule = np.where(vetoed, "veto", np.where(nan, "missing", "score-cutoff"))
    return grade, rule


def rank_and_warn(total: np.ndarray, uids: np.ndarray, peer: np.ndarray, region: np.ndarray | None, *, spec,
                  change: np.ndarray, prev_total: np.ndarray, prev_period, current: str, vetoed_text: list,
                  missing: np.ndarray, ids: list, missing_public: np.ndarray, divergence: np.ndarray | None,
                  missing_reason: str, bands):
    """Ranks, grades and warnings of the current period from published totals.

    Returns ``(ranking DataFrame indexed by unit id, warnings DataFrame)``.
    """
    d = int(spec.precision.decimals)
    uidx = pd.Index(uids, name="unit_id", dtype=object)
    tot = pd.Series(total, index=uidx)
    peer_s = pd.Series(peer, index=uidx)
    rank = rank_within(tot, peer_s, decimals=d)
    n_peers = tot.notna().groupby(peer_s.to_numpy()).transform("sum").astype("Int64")
    if region is not None:
        no_region = pd.isna(region) | (pd.Series(region).astype(str).str.strip().eq("").to_numpy())
        rank_reg = rank_within(tot.where(~no_region), pd.Series(np.asarray(region).astype(str), index=uidx), decimals=d)
    else:
        rank_reg = pd.Series(pd.NA, index=uidx, dtype="Int64")
    vetoed = np.array([bool(v) for v in vetoed_text])
    units_pub = publish_units(total, d)
    grade, rule = grade_published(units_pub, bands, d, vetoed, spec.veto_cap)
    ranking = pd.DataFrame({"rank": rank.to_numpy(), "n_peers": n_peers.to_numpy(), "rank_in_region": rank_reg.to_numpy(),
                            "grade": grade, "grade_rule": rule, "change": change,
                            "veto": np.asarray(vetoed_text, dtype=object)}, index=uidx)
    for c in ("rank", "n_peers", "rank_in_region"):
        ranking[c] = ranking[c].astype("Int64")

    w = spec.warnings
    pass_units = np.ceil(np.round(spec.pass_mark * 10.0 ** d, 6))
    with np.errstate(invalid="ignore"):
        below = (units_pub < pass_units) if w.below_pass else np.zeros(len(total), bool)
        drop = (np.round(change * 10.0 ** d) < -np.round(w.drop_points * 10.0 ** d)) if w.large_drop \
            else np.zeros(len(total), bool)
    bott = (bottom_n_mask(tot, peer_s, w.bottom_n, decimals=d, min_group=w.min_group).to_numpy()
            if w.bottom_n > 0 else np.zeros(len(total), bool))
    rk = rank.to_numpy()
    npeer = n_peers.to_numpy()
    rows = []
    fmt = f"{{:.{d}f}}"
    low = spec.veto_cap
    for i in np.flatnonzero(vetoed):
        rows.append((uids[i], current, "veto", WARNING_LABELS["veto"].format(g=low), vetoed_text[i]))
    for i in np.flatnonzero(below):
        rows.append((uids[i], current, "below_pass", WARNING_LABELS["below_pass"],
                     f"综合得分 {fmt.format(total[i])} < {spec.pass_mark:g}"))
    for i in np.flatnonzero(bott):
        rows.append((uids[i], current, "bottom_n", WARNING_LABELS["bottom_n"].format(n=w.bottom_n),
                     f"同类名次 {rk[i]}/{npeer[i]}"))
    for i in np.flatnonzero(drop):
        rows.append((uids[i], current, "large_drop", WARNING_LABELS["large_drop"].format(d=f"{w.drop_points:g}"),
                     f"{period_label(prev_period)} {fmt.format(prev_total[i])} → {period_label(current)} {fmt.format(total[i])}"
                     f"（{change[i]:+.{d}f}）"))
    if divergence is not None and w.divergence:
        for i in np.flatnonzero(divergence):
            rows.append((uids[i], current, "divergence", WARNING_LABELS["divergence"], "群众评价显著低于按专业分预期的水平"))
    if w.missing_data:
        for i in np.flatnonzero(missing.any(axis=1)):
            lst = [ids[j] for j in np.flatnonzero(missing[i])]
            rows.append((uids[i], current, "missing_data", missing_reason, "缺失指标 missing: " + "、".join(lst)))
    if w.missing_public:
        for i in np.flatnonzero(missing_public):
            rows.append((uids[i], current, "missing_public", WARNING_LABELS["missing_public"], "综合得分 = 专业分"))
    warnings = pd.DataFrame(rows, columns=["unit_id", "period", "code", "reason_zh", "detail"])
    if len(warnings):
        upos = {u: k for k, u in enumerate(uids)}
        code_order = {c: k for k, c in enumerate(WARNING_ORDER)}
        warnings = warnings.assign(_u=warnings["unit_id"].map(upos), _c=warnings["code"].map(code_order)) \
            .sort_values(["_u", "_c"], kind="stable").drop(columns=["_u", "_c"]).reset_index(drop=True)
    return ranking, warnings
