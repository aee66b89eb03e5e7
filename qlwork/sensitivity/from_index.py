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
from ..engine.scorer import Design, make_design

__all__ = ["design_from_index", "method_variants"]


def method_variants(index_result, data, *, normalizations: Sequence[str] | None = None,
                    imputations: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """Normalised matrices for every (normalisation, imputation) combination.

    Each is recomputed once with :func:`qlwork.engine.index.compute_index` on ``data``
    with all other choices of ``index_result.spec``; the first is the nominal one.
    """
    from ..engine.index import compute_index

    p = index_result.params
    spec = index_result.spec
    norms = list(normalizations or [p["normalization"]])
    imps = list(imputations or [p["imputation"]])
    nom = (p["normalization"], p["imputation"])
    combos = [nom] + [(n, i) for n in norms for i in imps if (n, i) != nom]
    out = {}
    for n, i in combos:
        r = compute_index(data, index_result.framework, spec.replace(normalization=n, imputation=i),
                          period=index_result.period, units=index_result.units,
                          peer_group=index_result.units["peer_group"])
        out[f"{n}/{i}"] = r.normalized
    return out


def design_inputs(r) -> dict:
    """What the official result was scored from, as arguments of :func:`make_design`.

    The normalised matrix of the current period (survey-item columns emptied where
    the result has no public score, so those units' totals are internal, as in
    :func:`compute_index`), peer groups, grade bands, bottom-N rule, share, the
    fixed survey score, bonus points, veto caps and the published precision — so
    the nominal totals, ranks and grades of the design are the official ones.
    """
    p = r.params
    spec = r.spec
    keep = r.scores["total"].notna()
    ids = r.scores.index[keep]
    X = r.normalized.reindex(ids).copy()
    pub_ind = [i for i in r.framework.indicator_ids if r.framework.indicators[i].public and i in X.columns]
    public = None
    if str(p.get("public")).startswith(("argument", "survey")):
        public = r.scores["public"].reindex(ids)
    elif pub_ind:
        no_pub = r.scores["public"].reindex(ids).isna().to_numpy()
        X.loc[no_pub, pub_ind] = np.nan
    groups = r.units["peer_group"].reindex(ids) if "peer_group" in r.units.columns else None
    cap = None
    if "veto" in r.ranking.columns:
        v = r.ranking["veto"].reindex(ids).fillna("").astype(str)
        if (v != "").any():
            cap = pd.Series([spec.veto_cap if x else np.nan for x in v], index=ids, dtype=object)
    bonus = r.scores["bonus"].reindex(ids) if "bonus" in r.scores.columns else None
    return dict(normalized=X, groups=groups, grades=list(spec.bands()), bottom_n=int(spec.warnings.bottom_n),
                aggregation=spec.aggregation, social_share=float(spec.social_share), public=public,
                eps=float(spec.geometric_eps), grade_cap=cap, bonus=bonus, decimals=int(spec.precision.decimals),
                bottom_min_group=spec.warnings.min_group)


def design_from_index(index_result, *, variants: Mapping[str, pd.DataFrame] | None = None,
                      data=None, normalizations=None, imputations=None,
                      pairs: Sequence[tuple[str, str]] | None = None, max_bins: int = 1024) -> Design:
    r = index_result
    if not hasattr(r, "normalized") or not hasattr(r, "framework") or getattr(r, "spec", None) is None:
        raise QlworkError(Problem("not_index_result", "需要 qlwork.engine.index.compute_index 的结果",
                                  "expected an IndexResult from qlwork.engine.index.compute_index", found=type(r).__name__))
    kw = design_inputs(r)
    X = kw.pop("normalized")
    if variants is None and (normalizations or imputations):
        if data is None:
            raise QlworkError(Problem("need_data", "比较标准化/缺失值处理方法需要原始数据 data=",
                                      "method variants need the input data (data=)"))
        variants = method_variants(r, data, normalizations=normalizations, imputations=imputations)
    p = r.params
    nominal_label = f"{p['normalization']}/{p['imputation']}"
    if variants is None:
        variants = {nominal_label: X}
    else:
        variants = {k: (X if k == nominal_label else v.reindex(X.index)) for k, v in variants.items()}
    return make_design(r.framework, variants, max_bins=max_bins, pairs=pairs, **kw)
