"""Group AHP (群组层次分析法): combining several experts' judgments.

Two classical routes (Forman & Peniwati 1998, "Aggregating individual
judgments and priorities with the AHP", EJOR 108:165–169):

* **AIJ** — aggregation of individual judgments: one group matrix whose entries
  are the weighted *geometric* means ``a_ij^G = Π_k a_ij,k^{λ_k}`` (Aczél & Saaty
  1983 showed the geometric mean is the only rule that keeps reciprocity and
  unanimity).  An arithmetic mean of judgments breaks reciprocity
  (mean(3, 1/3) = 5/3 but 1/mean(1/3, 3) = 3/5) and is refused.
* **AIP** — aggregation of individual priorities: each expert's weight vector
  is computed first, then combined by the weighted geometric mean (renormalised)
  or the weighted arithmetic mean.

Inconsistent experts (CR ≥ threshold) can be kept, excluded, or down-weighted.
The down-weighting rule here is a documented heuristic: expert weight × min(1,
threshold / CR), renormalised — consistent experts keep their weight and an
expert at twice the threshold counts half.  The choice is recorded.

Missing judgments (NaN) are allowed in AIJ: each cell is the weighted geometric
mean of the experts who gave it (weights renormalised per cell); for per-expert
consistency an incomplete matrix is first completed (λ-optimal by default).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from .ahp import CR_THRESHOLD, DEFAULT_RI_TABLE, AHPResult, ahp_weights, as_matrix
from .incomplete import complete_matrix

__all__ = ["aggregate_judgments", "aggregate_priorities", "group_ahp", "GroupAHPResult", "INCONSISTENT_RULES"]

INCONSISTENT_RULES = ("keep", "exclude", "downweight")


def _expert_weights(keys: Sequence[str], expert_weights: Any) -> np.ndarray:
    if expert_weights is None:
        w = np.ones(len(keys))
    elif isinstance(expert_weights, Mapping) or isinstance(expert_weights, pd.Series):
        ew = dict(expert_weights)
        missing = [k for k in keys if k not in ew]
        if missing:
            raise QlworkError(Problem("missing_expert_weight", f"缺少专家权重：{missing}", "expert weights missing for some experts",
                                      found=missing, expected="每位专家一个权重 one weight per expert"))
        w = np.array([float(ew[k]) for k in keys])
    else:
        w = np.asarray(expert_weights, dtype=float)
        if w.shape != (len(keys),):
            raise QlworkError(Problem("bad_expert_weights", "专家权重个数与矩阵个数不一致", "expert weights do not match matrices",
                                      found=w.shape, expected=(len(keys),)))
    if np.any(~np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise QlworkError(Problem("bad_expert_weights", "专家权重必须非负且和为正", "expert weights must be >= 0 with positive sum",
                                  found=w.tolist()))
    return w / w.sum()


def _as_items(matrices: Any) -> list[tuple[str, Any]]:
    if isinstance(matrices, Mapping):
        return [(str(k), v) for k, v in matrices.items()]
    return [(f"E{i + 1:02d}", m) for i, m in enumerate(matrices)]


def aggregate_judgments(matrices: Any, method: str = "geometric", expert_weights: Any = None):
    """AIJ group matrix: weighted geometric mean of the experts' judgments, cell by cell.

    ``matrices``: a list or a mapping expert → matrix (arrays or DataFrames with the
    same labels).  ``method="arithmetic"`` is refused because it breaks reciprocity.
    Returns a DataFrame when the inputs are labelled, else an array.  NaN cells are
    skipped (weights renormalised over the experts who answered that pair); a pair
    nobody answered stays NaN.
    """
    if method != "geometric":
        raise QlworkError(Problem(
            "arithmetic_aij_refused",
            "判断矩阵的算术平均会破坏互反性（3 与 1/3 的算术平均为 5/3，其倒数却不是 1/3 与 3 的平均），请用几何平均，"
            "或用 aggregate_priorities(method='arithmetic') 对各专家的权重向量做算术平均（AIP）",
            "arithmetic mean of judgments breaks reciprocity; use method='geometric' or aggregate priorities (AIP)",
            found=method, expected="geometric"))
    items = _as_items(matrices)
    if not items:
        raise QlworkError(Problem("no_matrices", "没有可汇总的判断矩阵", "no matrices to aggregate"))
    arrs, labels = [], None
    for k, m in items:
        if labels is not None and isinstance(m, pd.DataFrame) and set(map(str, m.index)) == set(labels):
            m = m.set_axis(m.index.map(str), axis=0).set_axis(m.columns.map(str), axis=1).loc[labels, labels]
        a, lab = as_matrix(m)
        if labels is None:
            labels = lab
        elif lab != labels:
            raise QlworkError(Problem("label_mismatch", f"专家 {k} 的矩阵元素与其他专家不同", f"expert {k}'s matrix has other labels",
                                      found=lab, expected=labels))
        arrs.append(a)
    shapes = {a.shape for a in arrs}
    if len(shapes) != 1:
        raise QlworkError(Problem("shape_mismatch", "各专家判断矩阵阶数不同", "matrices differ in size", found=sorted(shapes)))
    w = _expert_weights([k for k, _ in items], expert_weights)
    stack = np.array(arrs)
    if np.any(stack[np.isfinite(stack)] <= 0):
        raise QlworkError(Problem("nonpositive_judgment", "判断值必须为正", "judgments must be > 0"))
    have = np.isfinite(stack)
    wk = np.where(have, w[:, None, None], 0.0)
    tot = wk.sum(axis=0)
    logs = np.where(have, np.log(np.where(have, stack, 1.0)), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.exp((wk * logs).sum(axis=0) / tot)
    g[tot == 0] = np.nan
    return pd.DataFrame(g, index=labels, columns=labels) if labels else g


def aggregate_priorities(weights: Any, method: str = "geometric", expert_weights: Any = None) -> pd.Series | np.ndarray:
    """AIP: combine the experts' priority vectors (weighted geometric or arithmetic mean, renormalised).

    ``weights``: a list/mapping of vectors or Series (or AHPResults).
    """
    items = _as_items(weights)
    vecs, index = [], None
    for k, v in items:
        if isinstance(v, AHPResult):
            v = v.weights
        if isinstance(v, pd.Series):
            index = v.index if index is None else index
            v = v.reindex(index).to_numpy(dtype=float)
        vecs.append(np.asarray(v, dtype=float))
    w = _expert_weights([k for k, _ in items], expert_weights)
    m = np.array(vecs)
    if method == "geometric":
        agg = np.exp(w @ np.log(m))
    elif method == "arithmetic":
        agg = w @ m
    else:
        raise QlworkError(Problem("unknown_method", f"未知的汇总方法 {method!r}", f"unknown AIP method {method!r}",
                                  found=method, expected="geometric | arithmetic"))
    agg = agg / agg.sum()
    return pd.Series(agg, index=index, name="weight") if index is not None else agg


@dataclass(frozen=True)
class GroupAHPResult:
    """Group weights plus the per-expert consistency table and every choice made."""

    weights: pd.Series | np.ndarray
    experts: pd.DataFrame  # expert, lambda_max, CI, CR, consistent, n_missing, weight_given, weight_used, included
    group: AHPResult | None  # AIJ: the AHP result of the group matrix; AIP: None
    individual: Mapping[str, AHPResult] = field(repr=False)
    params: dict = field(default_factory=dict)

    @property
    def cr(self) -> float:
        """Group CR (AIJ: of the group matrix; AIP: weighted mean of the included experts' CRs)."""
        if self.group is not None:
            return self.group.cr
        e = self.experts[self.experts["included"]]
        return float((e["CR"] * e["weight_used"]).sum() / e["weight_used"].sum())

    def to_frame(self) -> pd.DataFrame:
        w = self.weights if isinstance(self.weights, pd.Series) else pd.Series(self.weights)
        return pd.DataFrame({"element": [str(i) for i in w.index], "weight": w.to_numpy()}).assign(
            approach=self.params.get("approach"), group_CR=self.cr)

    def __repr__(self) -> str:
        w = self.weights if isinstance(self.weights, pd.Series) else pd.Series(self.weights)
        ws = ", ".join(f"{k}={v:.4f}" for k, v in w.items())
        n_in = int(self.experts["included"].sum())
        return (f"GroupAHPResult({self.params.get('approach')}, experts={n_in}/{len(self.experts)} included, "
                f"inconsistent={self.params.get('inconsistent')}, group CR={self.cr:.4f}; {ws})")


def group_ahp(matrices: Any, *, approach: str = "AIJ", method: str = "eigen", expert_weights: Any = None,
              inconsistent: str = "keep", aip_method: str = "geometric", ri_table: str = DEFAULT_RI_TABLE,
              lambda_method: str = "eigen", threshold: float = CR_THRESHOLD,
              completion: str = "lambda_optimal") -> GroupAHPResult:
    """Group weights from several experts' matrices for one node.

    Parameters
    ----------
    matrices : list or mapping expert id → matrix (NaN = skipped pair).
    approach : ``"AIJ"`` (geometric mean of judgments, then ``method``) or ``"AIP"``
        (each expert's weights by ``method``, combined by ``aip_method``).
    expert_weights : mapping/sequence of expert weights (default equal).
    inconsistent : ``"keep"`` | ``"exclude"`` (drop experts with CR ≥ threshold;
        if all would be dropped, an error) | ``"downweight"`` (× min(1, threshold/CR)).
    completion : how an expert's incomplete matrix is completed for his own CR
        and for AIP (see :func:`qlwork.weights.complete_matrix`).
    """
    if approach not in ("AIJ", "AIP"):
        raise QlworkError(Problem("unknown_approach", f"未知的群组汇总方式 {approach!r}", f"unknown approach {approach!r}",
                                  found=approach, expected="AIJ | AIP"))
    if inconsistent not in INCONSISTENT_RULES:
        raise QlworkError(Problem("unknown_rule", f"未知的不一致专家处理方式 {inconsistent!r}", f"unknown rule {inconsistent!r}",
                                  found=inconsistent, expected=" | ".join(INCONSISTENT_RULES)))
    items = _as_items(matrices)
    if not items:
        raise QlworkError(Problem("no_matrices", "没有可汇总的判断矩阵", "no matrices to aggregate"))
    keys = [k for k, _ in items]
    given = _expert_weights(keys, expert_weights)
    individual: dict[str, AHPResult] = {}
    rows = []
    for (k, m), wg in zip(items, given):
        arr, labels = as_matrix(m)
        n_missing = int(np.isnan(arr).sum() // 2)
        full = complete_matrix(m, completion).matrix if n_missing else m
        r = ahp_weights(full, method, ri_table, lambda_method, threshold=threshold)
        individual[k] = r
        rows.append({"expert": k, "lambda_max": r.lambda_max, "CI": r.ci, "CR": r.cr, "consistent": r.consistent,
                     "n_missing": n_missing, "weight_given": wg})
    ex = pd.DataFrame(rows)
    factor = np.ones(len(ex))
    if inconsistent == "exclude":
        factor = ex["consistent"].to_numpy(dtype=float)
        if factor.sum() == 0:
            raise QlworkError(Problem(
                "all_inconsistent", f"所有专家的 CR 都 ≥ {threshold}，排除后无人可用",
                "every expert is inconsistent; nothing left after exclusion",
                found=dict(zip(ex["expert"], ex["CR"].round(4))), expected=f"至少一位 CR < {threshold}"))
    elif inconsistent == "downweight":
        cr = ex["CR"].to_numpy(dtype=float)
        with np.errstate(divide="ignore"):
            factor = np.where(cr >= threshold, threshold / np.maximum(cr, 1e-12), 1.0)
    used = given * factor
    used = used / used.sum()
    ex["weight_used"] = used
    ex["included"] = used > 0
    inc = [k for k, u in zip(keys, used) if u > 0]
    w_inc = {k: u for k, u in zip(keys, used) if u > 0}
    group_res = None
    if approach == "AIJ":
        gm = aggregate_judgments({k: dict(items)[k] for k in inc}, "geometric", w_inc)
        garr, _ = as_matrix(gm)
        if np.isnan(garr).any():
            gm = complete_matrix(gm, completion).matrix
        group_res = ahp_weights(gm, method, ri_table, lambda_method, threshold=threshold)
        weights = group_res.weights
    else:
        weights = aggregate_priorities({k: individual[k].weights for k in inc}, aip_method, w_inc)
    params = {"approach": approach, "method": method, "aip_method": aip_method if approach == "AIP" else None,
              "inconsistent": inconsistent, "threshold": threshold, "ri_table": ri_table,
              "lambda_method": lambda_method, "completion": completion,
              "expert_weights": dict(zip(keys, given.round(10).tolist())),
              "downweight_rule": "w × min(1, threshold/CR)" if inconsistent == "downweight" else None}
    return GroupAHPResult(weights, ex, group_res, individual, params)
