"""AHP weights from the expert questionnaires (``qlwork weights``).

Reads ``data/raw/ahp``; per framework: each expert's CR at every node, the group
judgment matrices and weights (:func:`qlwork.weights.hierarchy.hierarchy_weights`),
the hierarchical consistency; returns one row per node/indicator with local and
global weights and every choice made (the table ``qlwork score --weights`` reads).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

__all__ = ["ahp_weights", "weights_summary_zh"]


def _frameworks(raw: Path, which: str):
    from ..framework import builtin_framework, load_framework

    out, every = {}, {}
    for name in ("county", "village"):
        path = raw / f"framework_{name}.yaml"
        fw = load_framework(path if path.is_file() else builtin_framework(name))
        every[fw.id] = fw
        if which in ("all", name, fw.id):
            out[fw.id] = fw
    if not out:
        from ..errors import Problem, QlworkError

        raise QlworkError(Problem("unknown_framework", f"未知的框架 {which!r}", f"unknown framework {which!r}",
                                  found=which, expected="county | village | all | QLI | QLV"))
    return every, out



def ahp_weights(raw: str | Path, *, framework: str = "all", approach: str = "AIJ", method: str = "eigen",
                ri_table: str | None = None, inconsistent: str = "keep", blank: str = "nan"):
    """(weights table, {framework id: HierarchyResult}, questionnaires)."""
    from ..weights.ahp import DEFAULT_RI_TABLE
    from ..weights.hierarchy import hierarchy_weights
    from ..weights.questionnaire import read_questionnaires

    raw = Path(raw)
    every, fws = _frameworks(raw, framework)
    qs = read_questionnaires(raw / "ahp", blank=blank, frameworks=every.values(), strict=True)
    ri = ri_table or DEFAULT_RI_TABLE
    frames, results = [], {}
    for fid, fw in fws.items():
        h = hierarchy_weights(fw, qs, approach=approach, method=method, ri_table=ri, inconsistent=inconsistent)
        t = h.to_frame()
        t.insert(0, "framework", fid)
        for k in ("approach", "method", "ri_table", "inconsistent", "completion"):
            t[k] = h.params[k]
        t["cr_h"] = h.cr
        frames.append(t)
        results[fid] = h
    return pd.concat(frames, ignore_index=True), results, qs


def weights_summary_zh(results: dict, qs, raw: Path) -> str:
    lines = [f"读取 {len(qs.experts)} 位专家的问卷 read {len(qs.experts)} questionnaires（{raw.name}/ahp）"]
    lines += [f"  提示 note: {p}" for p in qs.problems]
    with pd.option_context("display.width", 160):
        for fid, h in results.items():
            ex = h.experts()
            lines.append(f"\n== {h.framework.name}（{fid}）==")
            lines.append("各专家一致性比率 CR per expert and node（* = CR ≥ 0.10）:")
            piv = ex.pivot(index="node", columns="expert", values="CR")
            lines.append(piv.map(lambda v: f"{v:.3f}{'*' if v >= 0.1 else ' '}").to_string())
            lines.append("\n群组判断矩阵一致性 group consistency per node:")
            lines.append(h.nodes[["node", "name", "n", "lambda_max", "CI", "RI", "CR", "consistent", "n_experts"]]
                         .round(4).to_string(index=False))
            lines.append(f"层次总排序一致性 hierarchical CR_H = {h.cr:.4f}（{'通过' if h.consistent else '未通过'}）")
            t = h.to_frame()
            lines.append("\n权重 weights（局部 local / 全局 global / 框架原值 framework）:")
            lines.append(t[["id", "name", "local_weight", "global_weight", "framework_weight"]].round(4).to_string(index=False))
    return "\n".join(lines)
