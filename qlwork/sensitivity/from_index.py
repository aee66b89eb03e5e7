"""Build an engine design from a :class:`qlwork.engine.index.IndexResult`.

Everything the nominal index used is taken from the result (framework and its
weights, normalised matrix of the current period, peer groups, grade bands,
bottom N, social share and public source, geometric floor, vetoed units), so
the nominal ranks of the Monte Carlo equal ``IndexResult.ranking['rank']``.
Units whose total is missing (not ranked by the index) are left out.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from .api import make_design
from .engine import Design

__all__ = ["design_from_index", "method_variants"]


def method_variants(index_result, data, *, normalizations: Sequence[str] | None = None,
                    imputations: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """Normalised matrices for every (normalisation, imputation) combination.

    Each is recomputed once with :func:`qlwork.engine.index.compute_index` on ``data``
    with all other options of ``index_result``; the first is the nominal one.
    """
    from ..engine.index import compute_index

    p = index_result.params
    norms = list(normalizations or [p["normalization"]])
    imps = list(imputations or [p["imputation"]])
    nom = (p["normalization"], p["imputation"])
    combos = [nom] + [(n, i) for n in norms for i in imps if (n, i) != nom]
    out = {}
    for n, i in combos:
        r = compute_index(data, index_result.framework, period=index_result.period, units=index_result.units,
                          normalization=n, imputation=i, aggregation=p["aggregation"],
                          peer_group=index_result.units["peer_group"], social_share=p["social_share"],
                          outliers=p.get("outliers"), eps=p.get("geometric_eps", 1.0))
        out[f"{n}/{i}"] = r.normalized
    return out


def design_from_index(index_result, *, variants: Mapping[str, pd.DataFrame] | None = None,
                      data=None, normalizations=None, imputations=None,
                      pairs: Sequence[tuple[str, str]] | None = None, max_bins: int = 1024) -> Design:
    r = index_result
    if not hasattr(r, "normalized") or not hasattr(r, "framework"):
        raise QlworkError(Problem("not_index_result", "需要 qlwork.engine.index.compute_index 的结果",
                                  "expected an IndexResult from qlwork.engine.index.compute_index", found=type(r).__name__))
    p = r.params
    keep = r.scores["total"].notna()
    ids = r.scores.index[keep]
    if variants is None and (normalizations or imputations):
        if data is None:
            raise QlworkError(Problem("need_data", "比较标准化/缺失值处理方法需要原始数据 data=",
                                      "method variants need the input data (data=)"))
        variants = method_variants(r, data, normalizations=normalizations, imputations=imputations)
    if variants is None:
        variants = {f"{p['normalization']}/{p['imputation']}": r.normalized}
    variants = {k: v.reindex(ids) for k, v in variants.items()}
    groups = r.units["peer_group"].reindex(ids) if "peer_group" in r.units.columns else None
    grades = [(lab, (-np.inf if lo is None else lo)) for lab, lo in p["grades"]]
    public = None
    if p.get("public") == "argument":
        public = r.scores["public"].reindex(ids)
    forced = None
    vetoed = set(p.get("veto_units") or [])
    if vetoed:
        low = grades[-1][0]
        forced = pd.Series([low if u in vetoed else np.nan for u in ids], index=ids, dtype=object)
    return make_design(r.framework, variants, groups=groups, grades=grades, bottom_n=int(p["bottom_n"]),
                       aggregation=p["aggregation"], social_share=float(p["social_share"]), public=public,
                       eps=float(p.get("geometric_eps", 1.0)), max_bins=max_bins, pairs=pairs, forced_grade=forced)
