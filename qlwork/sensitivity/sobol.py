"""Variance-based (Sobol) sensitivity of scores and ranks to independent inputs.

Sobol indices need independent inputs, so they are defined for the models
whose draws are functions of independent U(0,1) numbers:
:class:`~qlwork.sensitivity.draws.UniformPerturbation` (one multiplier per
weight) and :class:`~qlwork.sensitivity.draws.AHPJudgments` (one move per
pairwise judgment) — not for Dirichlet weights, which sum to one.

Sampling: Saltelli's extension of the Sobol sequence (SALib
``sample.sobol``, Saltelli 2002; Saltelli et al. 2010, Comput. Phys. Commun.
181:259–270), ``N·(d + 2)`` model runs without second-order terms.  Estimators:
SALib ``analyze.sobol`` — first order S1 (Saltelli 2010, eq. b) and total
order ST (Jansen 1999) with bootstrap confidence intervals.  Each model run is
one column of the engine's matrix product, so thousands of runs cost seconds.

Outputs analysed: the score and/or the rank (within the peer group) of each
requested unit, and ``mean_abs_rank_shift`` — the mean over all units of
|rank − nominal rank| — a single summary of how much the whole league table moves.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from .draws import WeightModel
from .engine import Design, Methods, Workspace, nominal, rank_matrix, scores_for

__all__ = ["sobol_indices", "SobolResult", "sobol_analyze"]


@dataclass(frozen=True)
class SobolResult:
    """Tidy table: output, input, S1, S1_conf, ST, ST_conf (one row per output × input)."""

    table: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def pivot(self, index: str = "input", value: str = "ST") -> pd.DataFrame:
        return self.table.pivot(index=index, columns="output", values=value)

    def top_inputs(self, output: str = "mean_abs_rank_shift", n: int = 10) -> pd.DataFrame:
        t = self.table[self.table["output"] == output]
        return t.sort_values("ST", ascending=False, kind="stable").head(n)

    def __repr__(self) -> str:
        return (f"SobolResult({self.table['output'].nunique()} outputs × {self.table['input'].nunique()} inputs, "
                f"N={self.params.get('N')}, runs={self.params.get('runs')})")


def sobol_analyze(func: Callable[[np.ndarray], np.ndarray], names: Sequence[str], N: int, *, seed: int = 0,
                  output_names: Sequence[str] | None = None, num_resamples: int = 100,
                  conf_level: float = 0.95) -> pd.DataFrame:
    """Sobol indices of ``func`` (runs × d in [0,1]^d → runs × outputs) with SALib.

    ``N`` base samples (a power of 2 keeps the Sobol sequence balanced).
    """
    from SALib.analyze import sobol as sobol_an
    from SALib.sample import sobol as sobol_sa

    names = list(names)
    if not names:
        raise QlworkError(Problem("no_inputs", "没有可分析的独立输入", "no independent inputs to analyse"))
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}
    U = sobol_sa.sample(problem, int(N), calc_second_order=False, scramble=True, seed=int(seed))
    Y = np.asarray(func(U), dtype=float)
    if Y.ndim == 1:
        Y = Y[:, None]
    outs = list(output_names) if output_names is not None else [f"y{k}" for k in range(Y.shape[1])]
    rows = []
    for k, o in enumerate(outs):
        y = Y[:, k]
        if np.ptp(y) == 0:  # constant output: no variance to apportion
            for nm in names:
                rows.append((o, nm, 0.0, 0.0, 0.0, 0.0))
            continue
        si = sobol_an.analyze(problem, y, calc_second_order=False, num_resamples=num_resamples,
                              conf_level=conf_level, print_to_console=False, seed=int(seed))
        for j, nm in enumerate(names):
            rows.append((o, nm, float(si["S1"][j]), float(si["S1_conf"][j]), float(si["ST"][j]),
                         float(si["ST_conf"][j])))
    return pd.DataFrame(rows, columns=["output", "input", "S1", "S1_conf", "ST", "ST_conf"])


def sobol_indices(design_or_result, model: WeightModel, *, N: int = 512, units: Sequence[str] = (),
                  outputs: Sequence[str] = ("rank",), seed: int = 20251231, chunk_size: int = 1024,
                  num_resamples: int = 100) -> SobolResult:
    """First- and total-order Sobol indices of ranks/scores w.r.t. the model's independent inputs.

    ``units``: unit ids whose ``score`` and/or ``rank`` (``outputs``) are
    analysed; ``mean_abs_rank_shift`` over all units is always included.
    Uses the nominal normalisation, aggregation and social share.
    """
    design = design_or_result
    if not isinstance(design, Design):
        from .from_index import design_from_index

        design = design_from_index(design_or_result)
    if not getattr(model, "independent", False):
        raise QlworkError(Problem("sobol_needs_independent", f"{type(model).__name__} 的输入不独立，不能计算 Sobol 指数",
                                  "Sobol indices need independent inputs (UniformPerturbation or AHPJudgments)",
                                  found=type(model).__name__, expected="UniformPerturbation / AHPJudgments"))
    bad = [o for o in outputs if o not in ("rank", "score")]
    if bad:
        raise QlworkError(Problem("bad_output", f"输出须为 rank 或 score：{bad}", "outputs must be rank or score", found=bad))
    pos = {u: i for i, u in enumerate(design.unit_ids)}
    missing = [u for u in units if u not in pos]
    if missing:
        raise QlworkError(Problem("unknown_unit", f"单位不存在：{missing[:5]}", "unknown unit ids", found=missing[:5]))
    sel = np.array([pos[u] for u in units], dtype=np.intp)
    hier = design.hier
    names = model.input_names(hier)
    methods = Methods(aggregations=(design.nominal_aggregation,), social_share=design.nominal_share)
    _, nom_rank = nominal(design, methods)
    ws = Workspace()
    out_names = ["mean_abs_rank_shift"]
    for o in outputs:
        out_names += [f"{o}:{u}" for u in units]

    def func(U: np.ndarray) -> np.ndarray:
        R = U.shape[0]
        Y = np.zeros((R, len(out_names)))
        for s0 in range(0, R, chunk_size):
            u = U[s0: s0 + chunk_size]
            n = u.shape[0]
            local = model.transform(u, hier, design.center)
            ch = {"variant": np.zeros(n, int), "aggregation": np.zeros(n, int), "loo": np.full(n, -1),
                  "share": np.full(n, float(design.nominal_share))}
            S = scores_for(design, local, ch, methods, out=ws.get("S", (n, design.n_units), np.float64))
            ranks = np.empty((n, design.n_units), dtype=np.intp)
            for sl in design.group_slices():
                if sl.stop > sl.start:
                    order, rk = rank_matrix(S[:, sl], ws)
                    ranks[np.arange(n)[:, None], sl.start + order] = rk
            Y[s0: s0 + n, 0] = np.abs(ranks - nom_rank[None, :]).mean(axis=1)
            c = 1
            for o in outputs:
                src = ranks if o == "rank" else S
                Y[s0: s0 + n, c: c + sel.size] = src[:, sel]
                c += sel.size
        return Y

    table = sobol_analyze(func, names, N, seed=seed, output_names=out_names, num_resamples=num_resamples)
    params = {"N": int(N), "runs": int(N) * (len(names) + 2), "seed": int(seed), "inputs": len(names),
              "model": model.params(), "sampler": "SALib sample.sobol (Saltelli 2010), scrambled",
              "estimators": "S1 Saltelli 2010, ST Jansen 1999 (SALib analyze.sobol)",
              "num_resamples": num_resamples, "aggregation": design.nominal_aggregation}
    return SobolResult(table, params)
