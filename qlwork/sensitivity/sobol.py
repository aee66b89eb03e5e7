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

Method choices (``methods=``: normalisation/imputation variant, aggregation,
social-evaluation share, leave-one-out) are independent inputs too and can be
added to the same analysis, so weights and methods are ranked on one scale.

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

__all__ = ["sobol_indices", "SobolResult", "sobol_analyze", "saltelli_indices"]


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


def saltelli_indices(y, N: int, d: int, *, layout: str = "salib", var_ddof: int = 0,
                     names: Sequence[str] | None = None, num_resamples: int = 0,
                     quantiles: tuple[float, float] = (0.05, 0.95), seed: int = 0,
                     output: str = "y", center: bool = False) -> SobolResult:
    """S1 and ST from the outputs of an already-run ``N·(d + 2)`` Saltelli design.

    With f_A, f_B the outputs of the base matrices A and B and f_ABi those of A
    with column i taken from B (all length N)::

        V   = var([f_A, f_B])                      (ddof = ``var_ddof``)
        S1ᵢ = mean(f_B · (f_ABi − f_A)) / V        (Saltelli et al. 2010, Table 2 (b))
        STᵢ = mean((f_A − f_ABi)²) / (2V)          (Jansen 1999; Saltelli 2010 Table 2 (f))

    ``layout``: ``"salib"`` — rows interleaved per base point (A, AB₁…AB_d, B),
    as SALib ``sample.sobol(calc_second_order=False)``; ``var_ddof=0`` then
    gives SALib ``analyze.sobol``'s point estimates.  ``"blocks"`` — A (N rows),
    B (N), AB₁ (N), …, AB_d (N), as COINr ``SA_sample``; COINr ``SA_estimate``
    uses R's ``var`` (``var_ddof=1``).

    ``center=True`` subtracts the mean of all N·(d + 2) outputs first, as SALib
    ``analyze.sobol`` does (it standardises Y); S1 is not shift-invariant, so
    SALib's numbers need it and COINr's (uncentred) need ``center=False``.

    ``num_resamples`` > 0 adds percentile bootstrap intervals (columns
    ``S1_q<lo>``, ``S1_q<hi>``, ``ST_q…`` for ``quantiles``): the N base points
    resampled with replacement (seeded ``numpy.random.Generator``), V held at
    its full-sample value — the scheme of COINr ``SA_estimate``.
    """
    y = np.asarray(y, dtype=float).ravel()
    N, d = int(N), int(d)
    if N < 2 or d < 1 or y.size != N * (d + 2):
        raise QlworkError(Problem("bad_design_size", f"输出个数 {y.size} 与 N·(d+2) = {N}·({d}+2) 不符",
                                  "number of outputs does not match N·(d + 2)", found=y.size,
                                  expected=N * (d + 2) if N > 0 and d > 0 else "N ≥ 2, d ≥ 1"))
    if center:
        y = y - y.mean()
    if layout == "salib":
        Y = y.reshape(N, d + 2)
        fA, fB, fAB = Y[:, 0], Y[:, -1], Y[:, 1:-1]
    elif layout == "blocks":
        fA, fB, fAB = y[:N], y[N:2 * N], y[2 * N:].reshape(d, N).T
    else:
        raise QlworkError(Problem("bad_layout", f"未知的设计排列：{layout}", "unknown design layout",
                                  found=layout, expected="salib / blocks"))
    V = float(np.var(np.concatenate([fA, fB]), ddof=int(var_ddof)))
    names = list(names) if names is not None else [f"x{i + 1}" for i in range(d)]
    first = fB[:, None] * (fAB - fA[:, None])  # N × d terms of the S1 numerator
    total = 0.5 * (fA[:, None] - fAB) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        table = pd.DataFrame({"output": output, "input": names, "S1": first.mean(axis=0) / V, "ST": total.mean(axis=0) / V})
        if num_resamples > 0:
            rng = np.random.default_rng(int(seed))
            idx = rng.integers(0, N, size=(int(num_resamples), N))
            qs = [float(q) for q in quantiles]
            for col, terms in (("S1", first), ("ST", total)):
                boot = terms[idx].mean(axis=1) / V  # resamples × d
                for q, v in zip(qs, np.quantile(boot, qs, axis=0)):
                    table[f"{col}_q{round(100 * q):02d}"] = v
    params = {"N": N, "inputs": d, "runs": N * (d + 2), "layout": layout, "var_ddof": int(var_ddof),
              "variance": V, "center": bool(center), "estimators": "S1 Saltelli 2010 (b), ST Jansen 1999",
              "num_resamples": int(num_resamples), "bootstrap": "percentile, base points resampled, V fixed",
              "seed": int(seed)}
    return SobolResult(table, params)


def _method_inputs(design: Design, methods: Methods | None) -> list[tuple[str, int]]:
    """(input name, number of levels; 0 = continuous) for every method choice that varies."""
    if methods is None:
        return []
    out = []
    if len(design.variants) > 1:
        out.append(("method:variant", len(design.variants)))
    if len(methods.aggregations) > 1:
        out.append(("method:aggregation", len(methods.aggregations)))
    rng = methods.share_range
    if rng is not None and rng[1] > rng[0]:
        out.append(("method:social_share", 0))
    if methods.leave_one_out:
        out.append(("method:leave_one_out", len(design.hier.leaves) + 1))
    return out


def sobol_indices(design_or_result, model: WeightModel, *, N: int = 512, units: Sequence[str] = (),
                  outputs: Sequence[str] = ("rank",), seed: int = 20251231, chunk_size: int = 1024,
                  num_resamples: int = 100, methods: Methods | None = None) -> SobolResult:
    """First- and total-order Sobol indices of ranks/scores w.r.t. the model's independent inputs.

    ``units``: unit ids whose ``score`` and/or ``rank`` (``outputs``) are
    analysed; ``mean_abs_rank_shift`` over all units is always included.
    Without ``methods`` the nominal normalisation, aggregation and social share
    are used.  With ``methods`` (:class:`~qlwork.sensitivity.engine.Methods`)
    every method choice that varies becomes one more independent input, mapped
    from U(0,1) exactly as the Monte Carlo does: ``method:variant`` and
    ``method:aggregation`` (each level equally likely), ``method:social_share``
    (uniform on the range), ``method:leave_one_out`` (none or one of the K
    indicators, K + 1 equally likely levels) — so weights and method choices are
    ranked on one scale.  Discrete inputs are fine for Sobol indices (the
    variance decomposition needs independence, not continuity).
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
    w_names = model.input_names(hier)
    m_inputs = _method_inputs(design, methods)
    names = w_names + [nm for nm, _ in m_inputs]
    nom_methods = Methods(aggregations=(design.nominal_aggregation,), social_share=design.nominal_share)
    if methods is None:
        methods = nom_methods
    _, nom_rank = nominal(design, nom_methods)
    kw = len(w_names)
    nominal_agg = methods.aggregations.index(design.nominal_aggregation) \
        if design.nominal_aggregation in methods.aggregations else 0
    fixed_share = float(design.nominal_share) if methods.share_range is None else float(methods.share_range[0])
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
            local = model.transform(u[:, :kw], hier, design.center)
            ch = {"variant": np.zeros(n, int), "aggregation": np.full(n, nominal_agg, int), "loo": np.full(n, -1),
                  "share": np.full(n, fixed_share)}
            for c, (nm, levels) in enumerate(m_inputs):
                uc = u[:, kw + c]
                if nm == "method:social_share":
                    lo, hi = methods.share_range
                    ch["share"] = lo + (hi - lo) * uc
                    continue
                pick = np.minimum((uc * levels).astype(int), levels - 1)
                if nm == "method:variant":
                    ch["variant"] = pick
                elif nm == "method:aggregation":
                    ch["aggregation"] = pick
                else:
                    ch["loo"] = pick - 1  # level 0 = keep every indicator
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
              "num_resamples": num_resamples, "aggregation": design.nominal_aggregation,
              "method_inputs": [nm for nm, _ in m_inputs],
              "methods": methods.params() if m_inputs else None}
    return SobolResult(table, params)
