"""Follow-up (回头看) and the inspection list (重点名录), from the ledger and official results.

**回头看** — the items of period P₀, looked at with the next official result P₁ (never re-scored):
for each item, the mean 0–100 score of its linked indicators in P₀ and in P₁ (the
``normalised`` build stage of each official result), the change, how many improved, and a
verdict: 已改善 (every linked indicator higher), 部分改善 (some), 未改善 (none), 无关联指标
(veto items, items of other sources), 无本期数据 (no score in P₁).  ``repeated`` says whether
the unit is warned again in P₁ (any notice code).  The item's status and lateness are those of
the ledger on ``as_of``.

Note that 0–100 scores are relative to the peers under min–max normalisation, so "improved"
means "closer to the best of the peers", the sense in which the index judges a unit.

**重点名录** — a unit is listed, with every reason that applies:

- ``overdue``: at least one item 逾期 on ``as_of`` (count and the earliest deadline);
- ``repeated``: warned (notice codes) in each of the last ``policy.repeat_periods`` periods that
  have an official result, ending with P.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from ..labels import NOTICE_CODES, WARNING_SHORT, period_label
from ..registers.ledger import split_list
from .items import LedgerPolicy

__all__ = ["follow_up", "inspection_list", "FOLLOWUP_COLUMNS", "INSPECTION_COLUMNS"]

FOLLOWUP_COLUMNS = ["item_id", "unit_id", "framework", "period", "followup_period", "warning", "klass", "indicators",
                    "n_linked", "before", "after", "change", "n_improved", "verdict", "repeated", "current_warnings",
                    "status_eff", "overdue", "days_overdue", "as_of"]

INSPECTION_COLUMNS = ["period", "as_of", "framework", "unit_id", "unit_name", "unit_type", "city", "county",
                      "township", "total", "grade", "reason_codes", "reasons", "n_overdue", "oldest_deadline",
                      "warned_periods"]


def _notice_codes(official, codes=NOTICE_CODES) -> dict[str, list[str]]:
    w = official.warnings()
    w = w[w["code"].astype(str).isin(codes)]
    return {u: list(dict.fromkeys(g["code"].astype(str))) for u, g in w.groupby(w["unit_id"].astype(str))}


def follow_up(state: pd.DataFrame, before, after, *, policy: LedgerPolicy = LedgerPolicy()) -> pd.DataFrame:
    """回头看 of the items of ``before.period`` with the official result ``after`` (module doc).

    ``state``: the ledger with its status on a date (:func:`~qlwork.followup.merge.status_as_of`)."""
    items = state[state["period"].astype(str) == str(before.period)]
    warned = _notice_codes(after, policy.codes)
    rows = []
    for r in items.to_dict("records"):
        uid, fid = str(r["unit_id"]), r.get("framework")
        if fid not in before.results:
            fid = next((f for f, res in before.results.items() if uid in res.scores.index), fid)
        ids = split_list(r.get("indicators"))
        b_vals, a_vals = [], []
        if fid in before.results and fid in after.results and ids:
            nb, na = before.results[fid].normalized, after.results[fid].normalized
            for i in ids:
                vb = float(nb.at[uid, i]) if uid in nb.index and i in nb.columns else np.nan
                va = float(na.at[uid, i]) if uid in na.index and i in na.columns else np.nan
                b_vals.append(vb)
                a_vals.append(va)
        b, a = np.array(b_vals, float), np.array(a_vals, float)
        both = ~np.isnan(b) & ~np.isnan(a)
        n_imp = int((a[both] > b[both]).sum())
        if not ids:
            verdict = "无关联指标"
        elif not both.any():
            verdict = "无本期数据"
        else:
            verdict = "已改善" if n_imp == int(both.sum()) else ("部分改善" if n_imp else "未改善")
        cur = warned.get(uid, [])
        rows.append({
            "item_id": r["item_id"], "unit_id": uid, "framework": fid, "period": str(before.period),
            "followup_period": str(after.period), "warning": r.get("warning"), "klass": r.get("klass"),
            "indicators": r.get("indicators"), "n_linked": len(ids),
            "before": float(np.mean(b[both])) if both.any() else np.nan,
            "after": float(np.nanmean(a[both])) if both.any() else np.nan,
            "change": float(np.mean(a[both] - b[both])) if both.any() else np.nan,
            "n_improved": n_imp, "verdict": verdict, "repeated": bool(cur),
            "current_warnings": "、".join(WARNING_SHORT.get(c, c) for c in cur) or None,
            "status_eff": r.get("status_eff"), "overdue": bool(r.get("overdue")),
            "days_overdue": int(r.get("days_overdue") or 0), "as_of": r.get("as_of")})
    return pd.DataFrame(rows, columns=FOLLOWUP_COLUMNS)


def inspection_list(state: pd.DataFrame, officials: Mapping[str, object], period: str, *,
                    policy: LedgerPolicy = LedgerPolicy()) -> pd.DataFrame:
    """重点名录 of ``period`` (module doc).  ``state``: the ledger on a date; ``officials``: period →
    OfficialResult, at least ``period`` (earlier ones make repeated warnings visible)."""
    cur = officials[period]
    as_of = str(state["as_of"].iloc[0]) if len(state) and "as_of" in state.columns else None
    earlier = sorted(p for p in officials if p <= period)[-policy.repeat_periods:]
    warned = {p: _notice_codes(officials[p], policy.codes) for p in earlier}
    rk = cur.ranking().set_index("unit_id")
    reasons: dict[str, dict] = {}
    od = state[state["overdue"].astype(bool)] if len(state) else state
    for uid, g in od.groupby(od["unit_id"].astype(str)) if len(od) else ():
        first = min(str(x) for x in g["deadline"])
        reasons.setdefault(uid, {"codes": [], "text": [], "n_overdue": 0, "oldest": None, "warned": None})
        reasons[uid]["codes"].append("overdue")
        reasons[uid]["text"].append(f"逾期未销号整改事项 {len(g)} 项（最早期限 {first}，截至 {as_of}）")
        reasons[uid]["n_overdue"] = int(len(g))
        reasons[uid]["oldest"] = first
    if len(earlier) >= policy.repeat_periods:
        common = set.intersection(*(set(warned[p]) for p in earlier))
        for uid in sorted(common):
            reasons.setdefault(uid, {"codes": [], "text": [], "n_overdue": 0, "oldest": None, "warned": None})
            reasons[uid]["codes"].append("repeated")
            detail = "；".join(f"{period_label(p)}：" + "、".join(WARNING_SHORT.get(c, c) for c in warned[p][uid])
                              for p in earlier)
            reasons[uid]["text"].append(f"连续 {len(earlier)} 期被预警（{detail}）")
            reasons[uid]["warned"] = "、".join(earlier)
    rows = []
    for uid, rs in sorted(reasons.items()):
        r = rk.loc[uid] if uid in rk.index else pd.Series(dtype=object)
        rows.append({"period": period, "as_of": as_of, "framework": r.get("framework"), "unit_id": uid,
                     "unit_name": r.get("unit_name"), "unit_type": r.get("unit_type"), "city": r.get("city"),
                     "county": r.get("county"), "township": r.get("township"), "total": r.get("total", np.nan),
                     "grade": r.get("grade"), "reason_codes": ";".join(rs["codes"]), "reasons": "；".join(rs["text"]),
                     "n_overdue": rs["n_overdue"], "oldest_deadline": rs["oldest"], "warned_periods": rs["warned"]})
    out = pd.DataFrame(rows, columns=INSPECTION_COLUMNS)
    out["total"] = pd.to_numeric(out["total"], errors="coerce").astype(float)
    out["n_overdue"] = out["n_overdue"].astype("int64")
    return out

