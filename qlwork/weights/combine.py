"""Combined (subjective + objective) weights (组合赋权).

``s`` = subjective weights (e.g. AHP), ``o`` = objective weights (entropy,
CRITIC …), both normalised to sum 1 over the same indicators:

* ``"linear"`` — ``w = α s + (1 − α) o`` (linear weighting, the default α = 0.5).
* ``"multiplicative"`` — ``w_j = s_j o_j / Σ_k s_k o_k`` (乘法合成归一化).
* ``"min_entropy"`` — minimum discrimination information (最小鉴别信息 /
  minimum relative entropy): minimising ``Σ w_j ln(w_j/s_j) + Σ w_j ln(w_j/o_j)``
  subject to Σ w = 1 gives ``w_j = √(s_j o_j) / Σ_k √(s_k o_k)``; with a general α
  (weights α, 1 − α on the two divergences) ``w_j ∝ s_j^α o_j^(1−α)``.
* ``"game_theory"`` — the game-theoretic combination (博弈论组合赋权) widely
  used in Chinese evaluation studies: with basic vectors w_1 … w_K find
  coefficients a minimising every ``‖Σ_k a_k w_k − w_l‖₂``; the first-order
  conditions are the linear system ``Σ_k a_k (w_l·w_k) = w_l·w_l`` (l = 1…K);
  then ``a* = |a| / Σ|a|`` and ``w = Σ a*_k w_k``.  Accepts several objective
  vectors (``objective`` as a list).  The coefficients are recorded.

Inputs may be Series (aligned by index; the indicator sets must match),
arrays, or results carrying ``.weights`` / ``.leaf_weights``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError

__all__ = ["combine_weights", "CombinedWeights", "COMBINE_METHODS", "fill_leaf_weights"]

COMBINE_METHODS = ("linear", "multiplicative", "min_entropy", "game_theory")


@dataclass(frozen=True)
class CombinedWeights:
    weights: pd.Series
    method: str
    components: pd.DataFrame = field(repr=False)  # one column per input vector + 'combined'
    params: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        d = self.components.copy()
        d.index.name = "indicator"
        return d.reset_index().assign(method=self.method)

    def __repr__(self) -> str:
        ws = ", ".join(f"{k}={v:.4f}" for k, v in self.weights.items())
        return f"CombinedWeights({self.method}, {self.params.get('coefficients')}; {ws})"


def _vec(x: Any, name: str) -> pd.Series:
    for attr in ("leaf_weights", "weights"):
        if hasattr(x, attr) and not isinstance(x, (pd.Series, np.ndarray, list, tuple)):
            x = getattr(x, attr)
            break
    s = x.astype(float) if isinstance(x, pd.Series) else pd.Series(np.asarray(x, dtype=float))
    if s.isna().any() or (s < 0).any() or s.sum() <= 0:
        raise QlworkError(Problem("bad_weights", f"{name} 权重必须非负、无缺失且和为正",
                                  f"{name} weights must be >= 0, complete, with positive sum", found=s.round(6).to_dict()))
    return (s / s.sum()).rename(name)


def combine_weights(subjective: Any, objective: Any, method: str = "linear", alpha: float = 0.5) -> CombinedWeights:
    """Combine subjective and objective weights; see the module docstring for each method.

    ``alpha`` is the subjective share for ``"linear"`` and the exponent of s for
    ``"min_entropy"``; it is ignored (and recorded as None) by the other methods.
    """
    if method not in COMBINE_METHODS:
        raise QlworkError(Problem("unknown_method", f"未知的组合赋权方法 {method!r}", f"unknown combination method {method!r}",
                                  found=method, expected=" | ".join(COMBINE_METHODS)))
    if not 0.0 <= alpha <= 1.0:
        raise QlworkError(Problem("bad_alpha", "alpha 必须在 0 与 1 之间", "alpha must be in [0, 1]", found=alpha, expected="[0, 1]"))
    objs = list(objective) if isinstance(objective, (list, tuple)) and objective and not np.isscalar(objective[0]) else [objective]
    if len(objs) > 1 and method != "game_theory":
        raise QlworkError(Problem("too_many_vectors", "只有博弈论组合可以合并多个客观权重向量",
                                  "only game_theory combines more than one objective vector", found=len(objs)))
    vecs = [_vec(subjective, "subjective")] + [_vec(o, "objective" if len(objs) == 1 else f"objective_{k + 1}")
                                               for k, o in enumerate(objs)]
    idx = vecs[0].index
    for v in vecs[1:]:
        if set(v.index) != set(idx) or len(v) != len(idx):
            raise QlworkError(Problem("index_mismatch", f"{v.name} 与主观权重的指标不一致",
                                      f"{v.name} covers other indicators than the subjective weights",
                                      found=sorted(set(map(str, v.index)) ^ set(map(str, idx))),
                                      expected="相同的指标编号 the same indicator ids"))
    m = np.array([v.reindex(idx).to_numpy() for v in vecs])
    s, o = m[0], m[1]
    coef: Any = None
    if method == "linear":
        w = alpha * s + (1 - alpha) * o
        coef = [alpha, 1 - alpha]
    elif method == "multiplicative":
        w = s * o
        if w.sum() <= 0:
            raise QlworkError(Problem("no_overlap", "主客观权重没有同时为正的指标，乘法合成无定义",
                                      "no indicator has both weights > 0"))
    elif method == "min_entropy":
        w = s ** alpha * o ** (1 - alpha)
        if w.sum() <= 0:
            raise QlworkError(Problem("no_overlap", "主客观权重没有同时为正的指标", "no indicator has both weights > 0"))
        coef = [alpha, 1 - alpha]
    else:
        g = m @ m.T
        a = np.linalg.solve(g, np.diag(g)) if np.linalg.matrix_rank(g) == len(g) else np.linalg.lstsq(g, np.diag(g), rcond=None)[0]
        a = np.abs(a) / np.abs(a).sum()
        w = a @ m
        coef = a.round(10).tolist()
    w = w / w.sum()
    out = pd.Series(w, index=idx, name="weight")
    comp = pd.DataFrame({v.name: v.reindex(idx) for v in vecs})
    comp["combined"] = out
    return CombinedWeights(out, method, comp, {"method": method,
                                              "alpha": alpha if method in ("linear", "min_entropy") else None,
                                              "coefficients": coef})


def fill_leaf_weights(partial: Any, reference: Any) -> pd.Series:
    """Complete leaf weights defined on a subset of indicators.

    Objective weights exist only for indicators present in the data (a survey
    indicator or one nobody reported has none).  Indicators missing from
    ``partial`` keep their ``reference`` weight (e.g. the AHP global weight); the
    ``partial`` weights are rescaled to share the remaining mass, so the result
    has the reference's index, sums to 1, and can be passed to
    ``compute_index(..., weights=...)`` as leaf weights.
    """
    ref = _vec(reference, "reference")
    part = pd.Series(partial, dtype=float) if not isinstance(partial, pd.Series) else partial.astype(float)
    extra = [i for i in part.index if i not in ref.index]
    if extra:
        raise QlworkError(Problem("index_mismatch", f"部分权重中有参照权重没有的指标：{extra}",
                                  "partial weights name indicators the reference lacks", found=extra))
    part = part.dropna()
    missing = [i for i in ref.index if i not in part.index]
    rest = float(ref[missing].sum())
    if part.sum() <= 0:
        raise QlworkError(Problem("bad_weights", "部分权重之和必须为正", "partial weights must have a positive sum"))
    out = pd.Series(0.0, index=ref.index, name="weight")
    out[part.index] = part / part.sum() * (1.0 - rest)
    out[missing] = ref[missing]
    return out
