"""Per-unit summaries of a Monte Carlo run and the result object.

Quantiles come from the per-unit rank histogram with the inverted-CDF rule
(Hyndman & Fan 1996, definition 1; NumPy ``method="inverted_cdf"``): the
q-quantile is the smallest rank r with P(rank ≤ r) ≥ q.  With histogram bin
width 1 (every peer group up to ``max_bins`` units) they are exact; for larger
groups the bin width b is recorded per unit (``rank_resolution``) and the
interval is widened to the bin edges (lower quantile → bin's best rank, upper
→ bin's worst rank, median → bin centre), so it never understates uncertainty.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError

__all__ = ["SensitivityResult", "hist_quantile", "ZH_COLUMNS", "RankStatistics", "rank_statistics"]

#: Chinese export headers for :meth:`SensitivityResult.to_frame` (``zh=True``).
ZH_COLUMNS = {
    "unit_id": "单位编码", "unit_name": "单位名称", "peer_group": "同类组", "group_size": "组内单位数",
    "nominal_score": "名义得分", "nominal_rank": "名义排名", "nominal_grade": "名义等级",
    "median_rank": "排名中位数", "rank_p05": "排名5%分位", "rank_p95": "排名95%分位",
    "rank_interval_width": "排名区间宽度", "rank_resolution": "排名分辨率",
    "p_nominal_grade": "保持名义等级概率", "p_bottom_n": "末位概率",
    "mean_abs_rank_shift": "平均排名变动",
}


def hist_quantile(hist: np.ndarray, q: float, cum: np.ndarray | None = None) -> np.ndarray:
    """Smallest bin index whose cumulative share reaches ``q`` (per row)."""
    cum = np.cumsum(hist, axis=1) if cum is None else cum
    n = cum[:, -1:]
    return np.argmax(cum >= q * n - 1e-9 * np.maximum(n, 1), axis=1)


@dataclass(frozen=True)
class SensitivityResult:
    """Monte Carlo sensitivity of ranks and grades (frozen).

    ``units``: one row per unit (see :meth:`to_frame`); ``pairs``: rank-reversal
    probabilities for requested pairs (or None); ``histograms``: per peer group
    the units × bins rank counts (bin width in ``params['rank_bin_width']``);
    ``params``: seed, draws, chunk size, weight model, method options, score
    grid, histogram widths.
    """

    units: pd.DataFrame
    params: dict[str, Any]
    grade_labels: tuple[str, ...]
    pairs: pd.DataFrame | None = None
    histograms: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def to_frame(self, zh: bool = False) -> pd.DataFrame:
        """Tidy table, one row per unit: nominal score/rank/grade, median rank,
        5–95 % rank interval, P(grade) per grade (``p_<grade>``), P(bottom N),
        mean absolute rank shift.  ``zh=True`` gives Chinese headers for exports."""
        df = self.units.copy()
        if zh:
            ren = dict(ZH_COLUMNS)
            ren.update({f"p_{g}": f"{g}概率" for g in self.grade_labels})
            df = df.rename(columns=ren)
        return df

    def least_stable(self, n: int = 20, by: str = "rank_interval_width") -> pd.DataFrame:
        """Units whose standing depends most on the uncertain choices."""
        key = self.units[by] if by != "p_nominal_grade" else -self.units[by]
        return self.units.loc[key.sort_values(ascending=False, kind="stable").index[:n]]

    def grade_probabilities(self) -> pd.DataFrame:
        """Long table: unit_id, grade, probability."""
        cols = [f"p_{g}" for g in self.grade_labels]
        long = self.units.melt(id_vars=["unit_id"], value_vars=cols, var_name="grade", value_name="probability")
        long["grade"] = long["grade"].str.slice(2)
        return long

    def rank_interval_plot(self, ax=None, **kw):
        """Units by nominal rank with 5–95 % intervals (``group=``, ``units=``, ``n=``, ``how="spread"|"unstable"``)."""
        from ..charts.sensitivity import rank_interval_plot

        return rank_interval_plot(self, ax=ax, **kw)

    def grade_probability_plot(self, ax=None, **kw):
        """Stacked P(grade) bars for the units least sure of their grade (or ``units=``)."""
        from ..charts.sensitivity import grade_probability_plot

        return grade_probability_plot(self, ax=ax, **kw)

    def __repr__(self) -> str:
        p = self.params
        u = self.units
        unstable = int((u["p_nominal_grade"] < 0.95).sum()) if len(u) else 0
        return (f"SensitivityResult({len(u)} units, draws={p.get('draws')}, seed={p.get('seed')}, "
                f"model={p.get('weights', {}).get('model')}, "
                f"median rank-interval width={float(u['rank_interval_width'].median()) if len(u) else 0:g}, "
                f"units with P(nominal grade) < 0.95: {unstable})")


@dataclass(frozen=True)
class RankStatistics:
    """Per-unit rank statistics of a stored units × draws rank matrix (see :func:`rank_statistics`)."""

    table: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def __repr__(self) -> str:
        return (f"RankStatistics({len(self.table)} units, draws={self.params.get('draws')}, "
                f"quantile_method={self.params.get('quantile_method')!r})")


def rank_statistics(ranks, *, quantiles: Sequence[float] = (0.05, 0.95),
                    quantile_method: str = "inverted_cdf") -> RankStatistics:
    """Mean, median and quantiles of each unit's rank over stored draws.

    ``ranks``: units × draws (a DataFrame indexed by unit, or an array); NaN =
    run failed/unit unranked, ignored as R's ``na.rm = TRUE``.  Columns:
    ``mean_rank``, ``median_rank`` (the 0.5 quantile by the same rule) and
    ``rank_p05``/``rank_p95`` (``rank_p<100·q>`` for each of ``quantiles``).

    ``quantile_method`` is passed to :func:`numpy.nanquantile` (Hyndman & Fan
    1996).  The default ``"inverted_cdf"`` (definition 1: smallest rank r with
    P(rank ≤ r) ≥ q) is the rule of the streaming engine
    (:func:`hist_quantile`), so intervals are always attained ranks;
    ``"linear"`` (definition 7) is R's default ``quantile``/``median``, used by
    COINr's ``get_sensitivity`` (e.g. Q5 = 5.95 from 100 runs).
    """
    if isinstance(ranks, pd.DataFrame):
        index = ranks.index
        R = ranks.to_numpy(dtype=float)
    else:
        R = np.asarray(ranks, dtype=float)
        index = pd.RangeIndex(R.shape[0]) if R.ndim == 2 else None
    if R.ndim != 2 or R.shape[1] == 0:
        raise QlworkError(Problem("bad_shape", "排名矩阵须为 单位 × 抽样 的二维表且至少一列",
                                  "ranks must be a units × draws matrix with at least one draw",
                                  found=getattr(R, "shape", None), expected="units × draws"))
    qs = [float(q) for q in quantiles]
    out = {"mean_rank": np.nanmean(R, axis=1),
           "median_rank": np.nanquantile(R, 0.5, axis=1, method=quantile_method)}
    vals = np.nanquantile(R, qs, axis=1, method=quantile_method)
    for q, v in zip(qs, vals):
        out[f"rank_p{round(100 * q):02d}"] = v
    table = pd.DataFrame(out, index=index)
    params = {"draws": int(R.shape[1]), "quantiles": qs, "quantile_method": quantile_method,
              "na": "ignored per unit (R na.rm = TRUE)"}
    return RankStatistics(table, params)


def finalize(design, acc, nominal_score: np.ndarray, nominal_rank: np.ndarray, params: dict) -> SensitivityResult:
    """Turn an accumulator into the per-unit table."""
    n = max(acc.n, 1)
    U = design.n_units
    med = np.zeros(U)
    lo = np.zeros(U)
    hi = np.zeros(U)
    res = np.ones(U, dtype=np.int64)
    size = np.zeros(U, dtype=np.int64)
    hists = {}
    for g, (idx, (b, nb)) in enumerate(zip(design.group_index(), design.bins())):
        if idx.size == 0:
            continue
        h = acc.hist[g]
        hists[design.group_labels[g]] = h
        cum = np.cumsum(h, axis=1, dtype=np.int64 if acc.n >= 2**31 else np.int32)
        q05, q50, q95 = (hist_quantile(h, q, cum) for q in (0.05, 0.5, 0.95))
        del cum
        G = idx.size
        lo[idx] = q05 * b + 1
        hi[idx] = np.minimum(q95 * b + b, G)
        med[idx] = q50 * b + 1 if b == 1 else np.minimum(q50 * b + (b + 1) / 2.0, G)
        res[idx] = b
        size[idx] = G
    grades = np.asarray(design.grade_labels)
    from .engine import grade_index

    nom_g = grade_index(design, nominal_score[None, :])[0].copy()
    df = pd.DataFrame({
        "unit_id": design.unit_ids,
        "peer_group": np.asarray(design.group_labels)[design.groups],
        "group_size": size,
        "nominal_score": nominal_score,
        "nominal_rank": nominal_rank,
        "nominal_grade": grades[nom_g],
        "median_rank": med,
        "rank_p05": lo,
        "rank_p95": hi,
        "rank_interval_width": hi - lo,
        "rank_resolution": res,
    })
    for k, g in enumerate(grades):
        df[f"p_{g}"] = acc.grade[:, k] / n
    df["p_nominal_grade"] = acc.grade[np.arange(U), nom_g] / n
    df["p_bottom_n"] = acc.bottom / n
    df["mean_abs_rank_shift"] = acc.shift / n
    if design.input_order is not None:
        df = df.iloc[design.input_order].reset_index(drop=True)
    pairs = None
    if design.pairs is not None and len(design.pairs):
        i, j = design.pairs[:, 0], design.pairs[:, 1]
        pairs = pd.DataFrame({"unit_a": design.unit_ids[i], "unit_b": design.unit_ids[j],
                              "nominal_a_ahead": nominal_score[i] > nominal_score[j],
                              "p_reversal": acc.reversal / n})
    params = dict(params)
    params["rank_bin_width"] = {design.group_labels[g]: b for g, (b, _) in enumerate(design.bins())}
    params["variant_share"] = dict(zip(design.variant_labels, (acc.variant_count / n).round(6).tolist()))
    return SensitivityResult(df, params, tuple(design.grade_labels), pairs, hists)


_ = Sequence
