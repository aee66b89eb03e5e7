"""Validity rules and per-respondent scores (DOMAIN.md §3.1).

Rules (all configurable, each reported with the number of respondents it
removed — sequential attribution, first failing rule wins — and how many it
flags on its own):

1. ``data_problem``: rows the reader flagged (answer outside the scale,
   unknown unit, bad period label, bad status, duplicate id);
2. ``incomplete``: status 中断 (incomplete interview);
3. ``all_dont_know``: every item answered 不了解 (nothing left to score);
4. ``straight_lining``: all answered items identical — by default only when
   all are at the *maximum* (Jiangxi treats "all 10" as invalid); ``"all_same"``
   flags any constant pattern, ``None`` disables the rule;
5. ``too_few_items``: fewer than ``min_answered`` substantive answers.

Individual don't-know answers (9 = 不了解) are dropped from that item's
denominator only; the respondent stays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .read import DEFAULT_ITEMS, ItemsSpec

__all__ = ["ValidityRules", "ValidityReport", "apply_validity", "score_responses", "RULE_NAMES"]

RULE_NAMES = {
    "data_problem": "数据问题（超出量表、未知单位、期次错误等）",
    "incomplete": "访问中断",
    "all_dont_know": "全部回答不了解",
    "straight_lining": "直线作答（所有题同一答案）",
    "too_few_items": "有效题数不足",
}


@dataclass(frozen=True)
class ValidityRules:
    """Configurable validity rules (defaults follow Jiangxi practice, DOMAIN.md §1.4)."""

    incomplete_status: tuple = ("中断",)
    straight_lining: str | None = "all_max"  # "all_max" | "all_same" | None
    min_items_for_straight: int = 3
    min_answered: int = 1
    drop_data_problems: bool = True


@dataclass(frozen=True)
class ValidityReport:
    valid: pd.Series  # bool per respondent
    reason: pd.Series  # first failing rule ('' if valid)
    counts: pd.DataFrame  # rule, rule_zh, removed, flagged
    rules: ValidityRules

    def to_frame(self) -> pd.DataFrame:
        return self.counts.copy()

    def __repr__(self) -> str:
        return (f"ValidityReport(respondents={len(self.valid)}, valid={int(self.valid.sum())}, "
                f"removed={dict(zip(self.counts['rule'], self.counts['removed']))})")


def _item_matrix(df: pd.DataFrame, items) -> np.ndarray:
    return df[list(items)].to_numpy(dtype=float)


def apply_validity(df: pd.DataFrame, items: ItemsSpec = DEFAULT_ITEMS,
                   rules: ValidityRules = ValidityRules()) -> ValidityReport:
    """Apply the validity rules; return masks and the per-rule counts."""
    A = _item_matrix(df, items.items)
    dk = np.isin(A, list(items.scale.dont_know))
    subst = np.isfinite(A) & ~dk
    n_sub = subst.sum(axis=1)
    n = len(df)
    checks: dict[str, np.ndarray] = {}
    prob = df["_problem"].astype(str).to_numpy() if "_problem" in df.columns else np.full(n, "")
    checks["data_problem"] = (prob != "") if rules.drop_data_problems else np.zeros(n, bool)
    checks["incomplete"] = df["status"].astype(str).isin(list(rules.incomplete_status)).to_numpy()
    checks["all_dont_know"] = (n_sub == 0) & dk.any(axis=1)
    if rules.straight_lining:
        mx = np.max(np.where(subst, A, -np.inf), axis=1)
        mn = np.min(np.where(subst, A, np.inf), axis=1)
        same = (mx == mn) & (n_sub >= rules.min_items_for_straight)
        if rules.straight_lining == "all_max":
            same &= mx == items.scale.max_code
        checks["straight_lining"] = same
    else:
        checks["straight_lining"] = np.zeros(n, bool)
    checks["too_few_items"] = n_sub < rules.min_answered
    reason = np.full(n, "", dtype=object)
    rows = []
    for rule, mask in checks.items():
        fresh = mask & (reason == "")
        reason[fresh] = rule
        rows.append({"rule": rule, "rule_zh": RULE_NAMES[rule], "removed": int(fresh.sum()),
                     "flagged": int(mask.sum())})
    valid = reason == ""
    rows.append({"rule": "valid", "rule_zh": "有效样本", "removed": 0, "flagged": int(valid.sum())})
    return ValidityReport(pd.Series(valid, index=df.index, name="valid"),
                          pd.Series(reason.astype(str), index=df.index, name="invalid_reason"),
                          pd.DataFrame(rows), rules)


def score_responses(df: pd.DataFrame, items: ItemsSpec = DEFAULT_ITEMS, *,
                    satisfied_threshold: float = 0.5) -> pd.DataFrame:
    """Per-respondent scores on 0–100.

    Columns: ``overall`` (all items), one column per public indicator
    (``service_sat``, ``v_sat_integrity``…; NaN when the indicator's items were
    all 不了解), ``sat_share`` (share of answered items in the satisfied codes)
    and ``satisfied`` (1 when ``sat_share ≥ satisfied_threshold``, else 0).
    Score rule: mean of mapped values (``rule="map"``, e.g. Likert
    1..5 → 0,25,50,75,100, or 10-point × 10) or 100 × satisfied share
    (``rule="rate"``).  Vectorised over respondents and items.
    """
    sc = items.scale
    A = _item_matrix(df, items.items)
    valid_code = np.isin(A, list(sc.valid))
    codes = np.array(sorted(sc.mapping))
    vals = np.array([sc.mapping[c] for c in codes], dtype=float)
    pos = np.searchsorted(codes, np.where(valid_code, A, codes[0]))
    mapped = np.where(valid_code, vals[np.clip(pos, 0, len(codes) - 1)], np.nan)
    sat = np.where(valid_code, np.isin(A, list(sc.satisfied)).astype(float), np.nan)
    item_score = sat * 100.0 if sc.rule == "rate" else mapped
    out = pd.DataFrame(index=df.index)
    col = {it: j for j, it in enumerate(items.items)}

    def rowmean(M):
        cnt = np.isfinite(M).sum(axis=1)
        s = np.nansum(M, axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(cnt > 0, s / np.maximum(cnt, 1), np.nan)

    out["overall"] = rowmean(item_score)
    for fw, ind, its in items.indicator_items():
        out[ind] = rowmean(item_score[:, [col[i] for i in its]])
    out["sat_share"] = rowmean(sat)
    out["satisfied"] = np.where(np.isfinite(out["sat_share"]), (out["sat_share"] >= satisfied_threshold).astype(float),
                                np.nan)
    return out
