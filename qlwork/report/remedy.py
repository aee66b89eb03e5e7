"""限期治理建议 in plain Chinese: the improvement plan (:mod:`qlwork.analysis.improvement`) as
sentences for the 体检报告单, the warning notice and the review workbook.

One sentence per suggestion, e.g. "审计巡察问题整改完成率 由 62.0% 提高到 80.0% 以上，
综合得分可达 60.35（合格）".  Per line that matters to the unit (合格线, 下一等级, 退出后 N
名): the three cheapest single-indicator improvements that cross it on their own (or,
when none can, the three that come closest), and the cheapest combination.  Values
are printed at the indicator's resolution in its own unit; scores at the published
precision.  Every number comes from the plan, which re-scored it with the engine.
"""
from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np
import pandas as pd

__all__ = ["format_value", "single_sentence", "combo_sentence", "unit_section", "plan_for_builder",
           "add_remedy_columns", "REMEDY_COLUMNS"]

#: The workbook's 限期治理建议 columns (预警名单 sheet): key → Chinese header, in order.
REMEDY_COLUMNS = {"remedy_line": "整改目标", "remedy_single": "最有效的单项改进", "remedy_n_single": "可单独达标的指标数",
                  "remedy_combo": "最省的改进组合", "remedy_total": "组合后综合得分", "remedy_grade": "组合后等级",
                  "remedy_rank": "组合后同类名次"}

_SUFFIX_UNITS = ("%", "‰")


def _decimals(step: float) -> int:
    if not step or not math.isfinite(step) or step >= 1:
        return 0
    return max(0, int(round(-math.log10(step))))


def format_value(x: float, unit: str, step: float, *, current: bool = False) -> str:
    """A raw value in its own unit at the indicator's resolution ("62.0%", "2 件", "12.39‰").

    A current value keeps up to two more decimals when it has them (12.39 with a 0.1 grid)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    nd = _decimals(step)
    if current:
        for extra in range(0, 3):
            if abs(round(x, nd + extra) - x) < 1e-9:
                break
        nd += extra
    v = f"{x + 0.0:.{nd}f}"
    unit = unit or ""
    if not unit:
        return v
    return f"{v}{unit}" if unit in _SUFFIX_UNITS else f"{v} {unit}"


def _verb(direction: int) -> tuple[str, str]:
    return ("提高到", "以上") if direction > 0 else ("降低到", "以下")


def _score(total: float, dec: int) -> str:
    return "—" if total is None or (isinstance(total, float) and math.isnan(total)) else f"{total:.{dec}f}"


def _outcome(total, grade, rank, n_peers, dec, line, capped_note=""):
    s = f"综合得分可达 {_score(total, dec)}（{grade or '—'}{capped_note}）"
    if line == "bottom_n" and rank is not None and rank >= 0:
        s += f"，同类名次第 {int(rank)}/{int(n_peers)} 名"
    return s


def single_sentence(r: Any, dec: int = 2, *, line_row: Any = None) -> str:
    """One single-indicator improvement as a sentence (crossing or, if not, its best)."""
    verb, suf = _verb(int(r["direction"]))
    cur = format_value(float(r["value"]), r["unit"], float(r["step"]), current=True)
    n = int(line_row["n_peers"]) if line_row is not None else None
    cap = _cap_note(line_row, r.get("grade"))
    if bool(r["crosses"]):
        new = format_value(float(r["target_value"]), r["unit"], float(r["step"]))
        return f"{r['name']} 由 {cur} {verb} {new}{_suffix(r, 'target_value', suf)}，" + \
            _outcome(r["total"], r["grade"], r["rank"], n, dec, r["line"], cap)
    best = format_value(float(r["best_value"]), r["unit"], float(r["step"]))
    return f"{r['name']} 即使由 {cur} {verb} {best}，综合得分也只能达到 {_score(r['total'], dec)}"


def _suffix(r, col, suf):
    """" 以上" / " 以下" — none when the value is already the end of the feasible range (e.g. 0 件)."""
    lo, hi = r.get("range_low", -math.inf), r.get("range_high", math.inf)
    v = float(r[col])
    return "" if (v <= lo or v >= hi) else f" {suf}"


def combo_sentence(rows: pd.DataFrame, line_row: Any, dec: int = 2) -> str:
    """The cheapest combination as one sentence."""
    parts = []
    for _, r in rows.iterrows():
        verb, suf = _verb(int(r["direction"]))
        parts.append(f"{r['name']} 由 {format_value(float(r['value']), r['unit'], float(r['step']), current=True)} "
                     f"{verb} {format_value(float(r['target_value']), r['unit'], float(r['step']))}"
                     f"{_suffix(r, 'target_value', suf)}")
    head = parts[0] if len(parts) == 1 else "同时将" + "、".join(parts)
    return head + "，" + _outcome(line_row["combo_total"], line_row["combo_grade"], line_row["combo_rank"],
                                 line_row["n_peers"], dec, line_row["line"],
                                 _cap_note(line_row, line_row["combo_grade"]))


def _cap_note(line_row, grade) -> str:
    if line_row is None or not bool(line_row.get("vetoed", False)):
        return ""
    return "，一票否决封顶"


def unit_section(plan, unit_id: str, *, dec: int = 2, n_top: int = 3) -> dict | None:
    """What the 限期治理建议 partial prints for one unit (None when no line matters to it)."""
    if plan is None:
        return None
    part = plan.for_unit(unit_id)
    L = part["lines"]
    if L.empty:
        return None
    S, C = part["singles"], part["combos"]
    lines = []
    for _, lr in L.iterrows():
        s = S[S["line"] == lr["line"]]
        cross = s[s["crosses"]].sort_values(["effort", "indicator_id"], kind="stable")
        item = {"label": lr["label"], "line": lr["line"], "target": float(lr["target"]), "total": float(lr["total"]),
                "gap": float(lr["target"] - lr["total"]), "reachable": bool(lr["reachable"]),
                "singles": [], "closest": [], "combo": None, "note": ""}
        if len(cross):
            item["singles"] = [single_sentence(r, dec, line_row=lr) for _, r in cross.head(n_top).iterrows()]
        else:
            near = s.sort_values(["total", "indicator_id"], ascending=[False, True], kind="stable").head(n_top)
            item["closest"] = [single_sentence(r, dec, line_row=lr) for _, r in near.iterrows()]
        c = C[C["line"] == lr["line"]]
        if len(c):
            item["combo"] = combo_sentence(c, lr, dec)
            item["combo_size"] = int(len(c))
        elif lr["status"] == "unreachable":
            item["note"] = (f"仅靠本单位自身指标无法达到：全部指标达到可行的最好值时，综合得分最高为 "
                            f"{_score(lr['combo_total'], dec)}（{lr['combo_grade'] or '—'}）。")
        elif lr["status"] == "over_cap":
            item["note"] = f"需同时改进至少 {int(lr['k_min'])} 项指标，超出设定的组合上限。"
        elif lr["status"] == "no_room":
            item["note"] = "本单位各项指标已无改进空间。"
        if lr["line"] == "bottom_n":
            item["note"] = (item["note"] + " " if item["note"] else "") + "按同类单位本期正式得分不变测算。"
        if bool(lr["vetoed"]):
            cap = plan.params.get("veto_cap") or ""
            item["note"] = (item["note"] + " " if item["note"] else "") + \
                f"本单位发生一票否决事项（{lr['veto']}），分数达到后等级仍封顶为{cap}。"
        lines.append(item)
    peer_note = {"minmax": "按同类单位最低、最高值标准化：超过同类最好水平不再加分，故最高只列到该水平；"
                           "处于同类最低值的单位，要先超过次低值才开始得分。",
                 "zscore": "按同类单位均值、标准差标准化：本单位数值变化会带动均值和标准差，得分有上限。",
                 "rank": "按同类单位排位标准化：只有超过（或追平）其他单位的数值才会加分。",
                 "target": "按距目标值标准化：达到目标值后不再加分。",
                 "goalposts": "按固定阈值标准化：达到上（下）阈值后不再加分。"}.get(plan.params.get("normalization"), "")
    return {"lines": lines, "cost": plan.params.get("cost_zh", ""), "method": peer_note,
            "public": "群众评价（获得感）保持不变，不作为本单位自身指标。"}


def plan_for_builder(result, unit_ids: Iterable[str]):
    """The plan the reports print: the warned units among ``unit_ids``, every line, the shown
    suggestions verified by the engine (None when there is nothing to plan)."""
    from ..analysis.improvement import suggest

    w = result.warnings
    if w is None or not len(w):
        return None
    warned = set(w.loc[~w["code"].isin(["missing_data", "missing_public"]), "unit_id"].astype(str))
    ids = [u for u in map(str, unit_ids) if u in warned]
    if not ids:
        return None
    plan = suggest(result, ids, verify="shown")
    plan.params["veto_cap"] = result.spec.veto_cap
    return plan


def add_remedy_columns(wt: pd.DataFrame, builder) -> pd.DataFrame:
    """The 预警名单 table (one row per warning) with the 限期治理建议 columns of its line:
    below the pass mark → 合格线, bottom N → 退出后 N 名, any other warning → the next grade."""
    plan = builder.improvement_plan() if hasattr(builder, "improvement_plan") else None
    out = wt.copy()
    for c in REMEDY_COLUMNS.values():
        out[c] = None
    if plan is None or plan.lines.empty or out.empty:
        return out
    dec = getattr(builder, "dec", 2)
    by_line = {}
    for uid, L in plan.lines.groupby("unit_id", sort=False):
        sec = unit_section(plan, uid, dec=dec, n_top=1)
        for (_, lr), item in zip(L.iterrows(), sec["lines"]):
            by_line[(uid, lr["line"])] = {
                "整改目标": lr["label"], "最有效的单项改进": (item["singles"] or ["无（单项不足以达到）"])[0],
                "可单独达标的指标数": int(lr["n_singles"]), "最省的改进组合": item["combo"] or item["note"],
                "组合后综合得分": float(lr["combo_total"]) if item["combo"] else None,
                "组合后等级": lr["combo_grade"] if item["combo"] else None,
                "组合后同类名次": int(lr["combo_rank"]) if item["combo"] else None}
    line_of = {"below_pass": "pass", "bottom_n": "bottom_n"}
    for i, (uid, code) in enumerate(zip(out["unit_id"].astype(str), out["code"].astype(str))):
        rec = by_line.get((uid, line_of.get(code, "grade")))
        if rec is None and code not in line_of:
            rec = by_line.get((uid, "pass"))
        if rec:
            for k, v in rec.items():
                out.iat[i, out.columns.get_loc(k)] = v
    return out
