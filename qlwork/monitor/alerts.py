"""From detector statistics to the alert table (超常预警表) that a person reads.

An alert is a prompt to look, never a grade change: nothing here feeds the index.

A cell becomes an alert when its detector's BH-adjusted p-value (:mod:`.fdr`, one family
per detector and period) is at most ``fdr`` and its strength (equivalent normal |z|) is
at least ``min_strength``.  Columns (:data:`ALERT_COLUMNS`, Chinese headers in
:data:`ALERT_LABELS_ZH`): unit, indicator, period, detector, evidence (a Chinese sentence
with the numbers behind the alert), strength, plus the value, what was expected, z, p, q,
direction and whether the direction is the bad one for integrity.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .. import periods as P
from .base import DETECTOR_ZH, DETECTORS, Scores
from .fdr import bh_by_period
from .panel import Panel
from .robust import strength

__all__ = ["ALERT_COLUMNS", "ALERT_LABELS_ZH", "assemble_alerts", "empty_alerts"]

ALERT_COLUMNS = ["unit_id", "unit_name", "unit_type", "peer_group", "indicator_id", "indicator_name", "period",
                 "period_label", "detector", "detector_zh", "value", "expected", "measure", "z", "p_value",
                 "q_value", "strength", "direction", "worse", "onset", "evidence"]
ALERT_LABELS_ZH = {
    "unit_id": "单位编码", "unit_name": "单位名称", "unit_type": "单位类型", "peer_group": "同类组",
    "indicator_id": "指标编码", "indicator_name": "指标名称", "period": "期别", "period_label": "期别名称",
    "detector": "检测方法编码", "detector_zh": "检测方法", "value": "本期值", "expected": "参照值", "measure": "计量单位",
    "z": "统计量", "p_value": "p 值", "q_value": "q 值（BH 校正）", "strength": "强度（等效 |z|）",
    "direction": "方向", "worse": "是否变差", "onset": "起始期", "evidence": "依据",
}


def empty_alerts() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("value", "expected", "z", "p_value", "q_value",
                                                               "strength") else "bool" if c == "worse" else "object")
                         for c in ALERT_COLUMNS})


def _num(v: np.ndarray) -> pd.Series:
    """Numbers as a person writes them: whole numbers without decimals, others to 2 decimals
    (vectorised: a province month can have hundreds of thousands of alerts)."""
    v = np.asarray(v, float)
    r = np.round(v, 2)
    whole = np.isfinite(r) & (np.abs(r - np.round(r)) < 1e-9) & (np.abs(r) < 1e15)
    out = pd.Series(r).astype(str)
    out[whole] = pd.Series(np.round(r[whole]).astype(np.int64)).astype(str).to_numpy()
    out[~np.isfinite(r)] = "—"
    return out


def _signed(z: np.ndarray) -> pd.Series:
    return pd.Series(np.round(np.asarray(z, float), 1)).map("{:+.1f}".format)


def assemble_alerts(panel: Panel, scores: dict[str, Scores], months_idx: np.ndarray, *, fdr: float,
                    min_strength: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """→ (alert table, tests per detector and period: tests, alerts).  Score arrays cover the
    evaluated periods ``months_idx`` (last axis)."""
    parts, counts = [], []
    units = panel.units.set_index("unit_id")
    names = units["unit_name"].astype(str).to_dict() if "unit_name" in units else {}
    utype = units["unit_type"].astype(str).to_dict() if "unit_type" in units else {}
    ind = panel.indicators.set_index("indicator_id")
    E = len(months_idx)
    for det in DETECTORS:
        sc = scores.get(det)
        if sc is None:
            continue
        q = bh_by_period(sc.p, np.arange(E), upto=fdr)
        cand = np.isfinite(q)                      # q ≤ fdr (bh_by_period leaves the rest NaN)
        st = np.full(sc.p.shape, np.nan)
        st[cand] = strength(sc.p[cand])
        flag = cand.copy()
        flag[cand] = st[cand] >= min_strength
        for e, t in enumerate(months_idx):
            counts.append({"detector": det, "period": panel.periods[t], "tests": int(np.isfinite(sc.p[..., e]).sum()),
                           "alerts": int(flag[..., e].sum())})
        if not flag.any():
            continue
        if det == "joint":
            parts.append(_joint_rows(panel, sc, flag, q, st, names, utype, ind))
        else:
            parts.append(_cell_rows(panel, sc, det, flag, q, st, names, utype, ind))
    tab = pd.concat(parts, ignore_index=True) if parts else empty_alerts()
    if len(tab):
        tab = tab.sort_values(["period", "strength", "unit_id"], ascending=[True, False, True],
                              kind="stable").reset_index(drop=True)
    return tab[ALERT_COLUMNS], pd.DataFrame(counts, columns=["detector", "period", "tests", "alerts"])


def _cell_rows(panel, sc, det, flag, q, st, names, utype, ind) -> pd.DataFrame:
    u, k, t = np.nonzero(flag)          # t: position among the evaluated periods
    tt = sc.t_idx[t]                    # … on the panel's time axis
    uid = panel.unit_ids[u]
    iid = panel.indicator_ids[k]
    z = sc.z[u, k, t]
    val = panel.x[u, k, tt]
    exp = sc.expected[u, k, t] if sc.expected is not None else np.full(len(u), np.nan)
    measure = ind["unit"].reindex(iid).to_numpy()
    direction = ind["direction"].reindex(iid).to_numpy()
    onset = sc.extra.get("onset")
    pers = np.array(list(panel.periods) + [""], dtype=object)
    on = pers[onset[u, k, t]] if onset is not None else np.full(len(u), "", dtype=object)  # −1 → ""
    nref = sc.extra.get("n") if det == "history" else sc.extra.get("n_peers")
    nref = nref[u, k, t] if nref is not None else np.full(len(u), np.nan)
    glab = np.array(panel.group_names, dtype=object)[panel.group[u]]
    per = np.array(panel.periods, dtype=object)[tt]
    plab = {x: P.label_zh(x) for x in panel.periods}
    iname = ind["name"].reindex(iid).to_numpy()
    ev = _evidence(det, pd.Series([plab[x] for x in per]), val, exp, pd.Series(measure).fillna(""), z,
                   pd.Series(on), nref, pd.Series(glab), pd.Series(iname))
    return pd.DataFrame({
        "unit_id": uid, "unit_name": pd.Series(uid).map(names).fillna("").to_numpy(),
        "unit_type": pd.Series(uid).map(utype).fillna("").to_numpy(),
        "peer_group": glab, "indicator_id": iid, "indicator_name": iname,
        "period": per, "period_label": [plab[x] for x in per], "detector": det,
        "detector_zh": DETECTOR_ZH[det], "value": val, "expected": exp, "measure": measure, "z": z,
        "p_value": sc.p[u, k, t], "q_value": q[u, k, t], "strength": st[u, k, t],
        "direction": np.where(z > 0, "偏高", "偏低"), "worse": (np.sign(z) * direction) < 0, "onset": on,
        "evidence": ev})


def _evidence(det, plabel, v, e, m, z, onset, n, group, name) -> np.ndarray:
    """One Chinese sentence per alert with the numbers behind it (vectorised over alerts)."""
    vs = _num(v) + m
    es = _num(e) + m
    zs = _signed(z)
    head = plabel + name + " " + vs
    if det == "history":
        nn = pd.Series(np.nan_to_num(np.asarray(n, float)).astype(int)).astype(str)
        out = head + "；按本单位前 " + nn + " 期（已剔除季节与同类共同变化）应约为 " + es + "，稳健 z = " + zs
    elif det == "peers":
        nn = pd.Series(np.nan_to_num(np.asarray(n, float)).astype(int)).astype(str)
        out = head + "；同类（" + group + "，" + nn + " 个单位）中位数 " + es + "，稳健 z = " + zs
    else:
        up = pd.Series(np.asarray(z, float) > 0)
        labels = {o: (P.label_zh(o) if o else "近期") for o in pd.unique(onset)}
        start = onset.map(labels)
        if det == "shift":
            out = "自" + start + "起持续" + up.map({True: "偏高", False: "偏低"}) + "：" + head + "，此前水平约 " + es + \
                "，CUSUM 统计量 " + zs
        else:
            out = "自" + start + "起逐期" + up.map({True: "上升", False: "下降"}) + "：" + head + "，此前水平约 " + es + \
                "，漂移统计量 " + zs
    return out.to_numpy(dtype=object)


def _joint_rows(panel, sc, flag, q, st, names, utype, ind) -> pd.DataFrame:
    u, t = np.nonzero(flag)
    contrib = sc.extra["contrib"]
    xs = sc.extra["scores"]
    rows = []
    for a, b in zip(u, t):
        c = contrib[a, :, b].astype(float)
        x = xs[a, :, b].astype(float)
        bt = sc.t_idx[b]
        order = [k for k in np.argsort(-np.nan_to_num(c, nan=-np.inf)) if np.isfinite(c[k])][:2]
        ids = [str(panel.indicator_ids[k]) for k in order]
        nm = [ind.loc[i, "name"] for i in ids]
        maxabs = float(np.nanmax(np.abs(x)))
        lead = f"各指标单看均不突出（同类中最大 |z| = {maxabs:.1f}），" if maxabs < 3 else ""
        per = panel.periods[bt]
        ev = (f"{lead}{P.label_zh(per)}多项指标组合异常：马氏距离² = {sc.z[a, b]:.1f}"
              f"（{int(sc.extra['df'][a])} 个指标），主要来自 " + "、".join(
                  f"{n}（同类 z = {x[k]:+.1f}）" for n, k in zip(nm, order)))
        rows.append({
            "unit_id": panel.unit_ids[a], "unit_name": names.get(panel.unit_ids[a], ""),
            "unit_type": utype.get(panel.unit_ids[a], ""), "peer_group": panel.group_names[panel.group[a]],
            "indicator_id": "+".join(ids), "indicator_name": "＋".join(nm) + "（组合）", "period": per,
            "period_label": P.label_zh(per), "detector": "joint", "detector_zh": DETECTOR_ZH["joint"],
            "value": np.nan, "expected": np.nan, "measure": "", "z": float(sc.z[a, b]), "p_value": float(sc.p[a, b]),
            "q_value": float(q[a, b]), "strength": float(st[a, b]), "direction": "组合", "worse": False, "onset": "",
            "evidence": ev})
    return pd.DataFrame(rows, columns=ALERT_COLUMNS)
