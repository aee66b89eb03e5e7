"""AHP over a whole framework (层次总排序): local weights of every node from the
questionnaires, global leaf weights by distributive synthesis, and the
hierarchical consistency ratio (层次总排序一致性检验).

* Local weights: for every inner node, :func:`qlwork.weights.group_ahp` on the
  experts' matrices for that node (AIJ or AIP, with the chosen handling of
  inconsistent experts).  A node with one child has local weight 1.
* Global weights (distributive synthesis, Saaty 1980 §2): the weight of an
  indicator is the product of the local weights on its path from the root.
* Hierarchical consistency (Saaty 1980 §3.3; 层次总排序一致性检验 in Chinese
  textbooks): for the inner nodes ``p`` at one level with global weight ``W_p``
  (root: 1), ``CR_level = Σ_p W_p CI_p / Σ_p W_p RI_p``; for the whole hierarchy
  ``CR_H = Σ_all p W_p CI_p / Σ_all p W_p RI_p``.  Nodes with ≤ 2 children
  contribute 0 to both sums, and so do nodes without judgments (their weights
  come from the framework or are equal; they have no CI, and counting them as
  CI = 0 would deflate CR_H).  Accepted when < 0.10.

The result plugs into :func:`qlwork.engine.index.compute_index` as
``weights=result.leaf_weights`` (index = indicator ids) or
``weights=result.local_weights`` (node and indicator ids), or via
``result.framework_with_weights()``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from ..framework import Framework
from .ahp import CR_THRESHOLD, DEFAULT_RI_TABLE, as_matrix, random_index
from .group import GroupAHPResult, group_ahp
from .questionnaire import QuestionnaireSet

__all__ = ["hierarchy_weights", "HierarchyResult"]

MISSING_RULES = ("framework", "equal", "error")


@dataclass(frozen=True)
class HierarchyResult:
    """Local and global AHP weights of a framework and its consistency."""

    framework: Framework = field(repr=False)
    local_weights: pd.Series  # every non-root node and indicator id → weight within its parent
    leaf_weights: pd.Series  # indicator id → global weight (sums to 1)
    nodes: pd.DataFrame  # one row per inner node: n, λmax, CI, RI, CR, consistent, global weight, source
    node_results: Mapping[str, GroupAHPResult] = field(repr=False)
    cr_levels: Mapping[int, float] = field(default_factory=dict)
    cr: float = 0.0
    params: dict = field(default_factory=dict)

    @property
    def consistent(self) -> bool:
        return bool(self.cr < self.params.get("threshold", CR_THRESHOLD))

    def framework_with_weights(self) -> Framework:
        """The framework with these local weights (for compute_index(framework=...))."""
        return self.framework.with_weights(self.local_weights.to_dict(), normalize=True)

    def experts(self) -> pd.DataFrame:
        """Per-expert consistency at every node (node, expert, λmax, CI, CR, consistent, weight used)."""
        parts = [r.experts.assign(node=k) for k, r in self.node_results.items()]
        if not parts:
            return pd.DataFrame(columns=["node", "expert", "CR"])
        df = pd.concat(parts, ignore_index=True)
        return df[["node"] + [c for c in df.columns if c != "node"]]

    def to_frame(self) -> pd.DataFrame:
        """One row per node/indicator: parent, level, local weight, global weight, framework weight."""
        fw = self.framework
        glob = _global(fw, self.local_weights)
        rows = []
        for i in fw.depth_first():
            if i == fw.root:
                continue
            it = fw.item(i)
            rows.append({"id": i, "name": fw.name_of(i), "parent": it.parent, "is_indicator": i in fw.indicators,
                         "local_weight": float(self.local_weights[i]), "global_weight": float(glob[i]),
                         "framework_weight": float(it.weight)})
        return pd.DataFrame(rows)

    def __repr__(self) -> str:
        ok = "通过 consistent" if self.consistent else "未通过 NOT consistent"
        return (f"HierarchyResult(framework={self.framework.id}, nodes={len(self.nodes)}, "
                f"indicators={len(self.leaf_weights)}, CR_H={self.cr:.4f} {ok}, "
                f"approach={self.params.get('approach')}, ri_table={self.params.get('ri_table')})")


def _global(fw: Framework, local: pd.Series) -> pd.Series:
    out: dict[str, float] = {}

    def walk(i: str, w: float) -> None:
        out[i] = w
        if i in fw.nodes:
            for c in fw.nodes[i].children:
                walk(c, w * float(local[c]))

    walk(fw.root, 1.0)
    return pd.Series(out, dtype=float)


def _judgments_for(judgments: Any, fw: Framework) -> tuple[dict[str, Any], Any]:
    """node id → {expert → matrix}; plus expert weights found in a QuestionnaireSet."""
    if isinstance(judgments, QuestionnaireSet):
        return judgments.for_framework(fw.id), judgments.expert_weights
    out: dict[str, Any] = {}
    for node, v in dict(judgments).items():
        if isinstance(v, Mapping):
            out[str(node)] = dict(v)
        elif isinstance(v, (list, tuple)) and v and not np.isscalar(v[0]) and np.ndim(v[0]) == 2:
            out[str(node)] = {f"E{k + 1:02d}": m for k, m in enumerate(v)}
        else:
            out[str(node)] = {"E01": v}
    return out, None


def _ordered(m: Any, kids: list[str], node: str) -> Any:
    if isinstance(m, pd.DataFrame):
        got = [str(x) for x in m.index]
        if set(got) != set(kids):
            raise QlworkError(Problem("children_mismatch", f"节点 {node} 的判断矩阵元素与框架下级不一致",
                                      f"matrix for node {node} does not list its children", column=node,
                                      found=got, expected=kids))
        m = m.copy()
        m.index = m.index.map(str)
        m.columns = m.columns.map(str)
        return m.loc[kids, kids]
    arr, _ = as_matrix(m)
    if arr.shape[0] != len(kids):
        raise QlworkError(Problem("children_mismatch", f"节点 {node} 的判断矩阵阶数与下级个数不符",
                                  f"matrix for node {node} has the wrong size", column=node,
                                  found=arr.shape[0], expected=len(kids)))
    return pd.DataFrame(arr, index=kids, columns=kids)


def hierarchy_weights(framework: Framework, judgments: Any, *, approach: str = "AIJ", method: str = "eigen",
                      expert_weights: Any = None, inconsistent: str = "keep", aip_method: str = "geometric",
                      ri_table: str = DEFAULT_RI_TABLE, lambda_method: str = "eigen",
                      threshold: float = CR_THRESHOLD, completion: str = "lambda_optimal",
                      missing: str = "framework") -> HierarchyResult:
    """AHP weights for every node of ``framework``.

    Parameters
    ----------
    judgments : a :class:`~qlwork.weights.questionnaire.QuestionnaireSet` (sheets
        ``<framework id>_<node id>``; expert weights from the 专家信息 sheets unless
        ``expert_weights`` is given), or a mapping node id → matrix (one expert),
        → list of matrices, or → {expert id: matrix}.
    missing : what to do for an inner node without judgments: ``"framework"`` (keep
        the framework's weights), ``"equal"`` or ``"error"``.
    Other parameters as in :func:`qlwork.weights.group_ahp`.
    """
    if missing not in MISSING_RULES:
        raise QlworkError(Problem("unknown_rule", f"未知的缺失处理方式 {missing!r}", f"unknown missing rule {missing!r}",
                                  found=missing, expected=" | ".join(MISSING_RULES)))
    by_node, qs_weights = _judgments_for(judgments, framework)
    ew = expert_weights if expert_weights is not None else qs_weights
    local: dict[str, float] = {}
    results: dict[str, GroupAHPResult] = {}
    info: dict[str, dict] = {}
    for nid in [i for i in framework.depth_first() if i in framework.nodes]:
        kids = list(framework.nodes[nid].children)
        mats = by_node.get(nid)
        if len(kids) == 1:
            local[kids[0]] = 1.0
            info[nid] = {"n": 1, "lambda_max": 1.0, "CI": 0.0, "RI": 0.0, "CR": 0.0, "source": "single child",
                         "n_experts": len(mats) if mats else 0}
            continue
        if not mats:
            if missing == "error":
                raise QlworkError(Problem("missing_judgments", f"节点 {nid}（{framework.name_of(nid)}）没有判断矩阵",
                                          f"no judgments for node {nid}", sheet=f"{framework.id}_{nid}"))
            w = (np.array([framework.item(c).weight for c in kids], float) if missing == "framework"
                 else np.ones(len(kids)))
            w = w / w.sum()
            local.update(dict(zip(kids, w)))
            # no judgments → no CI: the node is left out of both sums of CR_H (counting it as
            # CI = 0 with RI > 0 would make the hierarchy look more consistent than the judgments are)
            info[nid] = {"n": len(kids), "lambda_max": np.nan, "CI": np.nan, "RI": random_index(len(kids), ri_table),
                         "CR": np.nan, "source": missing, "n_experts": 0}
            continue
        ordered = {e: _ordered(m, kids, nid) for e, m in mats.items()}
        node_ew = None
        if ew is not None:
            ew_s = pd.Series(ew, dtype=float) if not isinstance(ew, pd.Series) else ew
            node_ew = {e: float(ew_s[e]) for e in ordered if e in ew_s.index} or None
            if node_ew is not None and len(node_ew) != len(ordered):
                node_ew = None
        r = group_ahp(ordered, approach=approach, method=method, expert_weights=node_ew, inconsistent=inconsistent,
                      aip_method=aip_method, ri_table=ri_table, lambda_method=lambda_method, threshold=threshold,
                      completion=completion)
        results[nid] = r
        w = pd.Series(r.weights, index=kids) if not isinstance(r.weights, pd.Series) else r.weights.reindex(kids)
        local.update({k: float(v) for k, v in w.items()})
        if r.group is not None:
            lam, ci, cr = r.group.lambda_max, r.group.ci, r.group.cr
        else:
            e = r.experts[r.experts["included"]]
            wu = e["weight_used"] / e["weight_used"].sum()
            lam, ci, cr = float((e["lambda_max"] * wu).sum()), float((e["CI"] * wu).sum()), r.cr
        info[nid] = {"n": len(kids), "lambda_max": lam, "CI": ci, "RI": random_index(len(kids), ri_table), "CR": cr,
                     "source": f"AHP {approach}", "n_experts": int(r.experts["included"].sum())}
    local_s = pd.Series(local, dtype=float).reindex(
        [i for i in framework.depth_first() if i != framework.root])
    glob = _global(framework, local_s)
    leaf = glob.reindex(framework.indicator_ids).rename("weight")
    rows = []
    for nid, d in info.items():
        node = framework.nodes[nid]
        rows.append({"node": nid, "name": node.name, "level": node.level, "global_weight": float(glob[nid]), **d,
                     "consistent": bool(not (d["CR"] >= threshold))})
    nodes = pd.DataFrame(rows)
    num = nodes["global_weight"] * nodes["CI"].fillna(0.0)
    den = nodes["global_weight"] * nodes["RI"].where((nodes["n"] > 2) & nodes["CI"].notna(), 0.0)
    levels = {int(lv): (float(num[g.index].sum() / den[g.index].sum()) if den[g.index].sum() > 0 else 0.0)
              for lv, g in nodes.groupby("level")}
    cr_h = float(num.sum() / den.sum()) if den.sum() > 0 else 0.0
    params = {"approach": approach, "method": method, "aip_method": aip_method if approach == "AIP" else None,
              "inconsistent": inconsistent, "ri_table": ri_table, "lambda_method": lambda_method,
              "threshold": threshold, "completion": completion, "missing": missing,
              "synthesis": "distributive", "hierarchical_cr": "Σ W_p CI_p / Σ W_p RI_p (Saaty 1980)",
              "expert_weights": (dict(pd.Series(ew, dtype=float)) if ew is not None else "equal")}
    return HierarchyResult(framework, local_s.rename("weight"), leaf, nodes, results, levels, cr_h, params)
