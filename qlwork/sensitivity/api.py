"""Entry points: build a :class:`~qlwork.sensitivity.engine.Design` and run draws.

``run(index_result, ...)`` is the main entry (an IndexResult from
:func:`qlwork.engine.index.compute_index`); :func:`run_arrays` does the same from a
normalised units × indicators table, a framework and peer groups.
"""
from __future__ import annotations

import dataclasses
import itertools
import time
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ..errors import Problem, QlworkError
from ..framework import Framework, load_framework
from .draws import BLOCK, Dirichlet, Hierarchy, WeightModel
from .engine import SCORE_RESOLUTION, Accumulator, Design, Methods, Workspace, nominal, pattern_ids, process_range
from .summaries import SensitivityResult, finalize

__all__ = ["make_design", "run_design", "run_arrays", "run", "DEFAULT_CHUNK"]

DEFAULT_CHUNK = 512


def _grades(grades) -> tuple[tuple[str, ...], np.ndarray]:
    if isinstance(grades, Mapping):
        grades = list(grades.items())
    g = sorted(((str(k), float(v)) for k, v in grades), key=lambda t: -t[1])
    labels = tuple(k for k, _ in g)
    cuts = np.array([v for _, v in g[:-1]], dtype=float)
    return labels, cuts


def make_design(framework: Framework | Any, normalized: pd.DataFrame | Mapping[str, pd.DataFrame], *,
                groups: pd.Series | None = None, grades=None, bottom_n: int | None = None,
                aggregation: str = "arithmetic", social_share: float | None = None,
                public: pd.Series | None = None, eps: float = 1.0,
                weights: pd.Series | Mapping[str, float] | None = None, max_bins: int = 1024,
                pairs: Sequence[tuple[str, str]] | None = None, forced_grade: pd.Series | None = None) -> Design:
    """Arrays for the engine.

    ``normalized``: units × indicators (index unit_id), 0–100, NaN = not
    applicable/missing — or a mapping label → such table for normalisation /
    imputation variants (first = nominal).  ``groups``: peer group per unit
    (default: one group).  ``grades``: {label: lower bound} or pairs (default
    the framework's).  ``weights``: local weights replacing the framework's
    (ids of nodes/indicators; sibling groups renormalised).  ``forced_grade``:
    per unit a grade label that overrides the score (veto), or NaN.  ``pairs``:
    (unit a, unit b) tuples, or a list of unit ids meaning every pair among
    them — the result then carries their rank-reversal probabilities.
    ``social_share``: default the framework's; ``public``: fixed public scores
    per unit (0–100, NaN = none) replacing the public indicators (as the
    ``public=`` argument of :func:`qlwork.engine.index.compute_index`).  Scores follow
    qlwork.engine.index: internal tree without public indicators, total =
    (1 − s)·internal + s·public.
    """
    fw = load_framework(framework)
    if weights is not None:
        fw = fw.with_weights(dict(pd.Series(weights, dtype=float)))
    hier = Hierarchy.from_framework(fw)
    variants = dict(normalized) if isinstance(normalized, Mapping) else {"nominal": normalized}
    first = next(iter(variants.values()))
    unit_ids = np.asarray(first.index.astype(str), dtype=object)
    missing = [i for i in hier.leaves if i not in first.columns]
    if missing:
        raise QlworkError(Problem("missing_indicators", f"标准化数据缺少指标列：{missing}",
                                  "normalised data lacks indicator columns", found=missing,
                                  expected=list(hier.leaves)))
    if groups is None:
        gs = pd.Series("全部", index=first.index.astype(str))
    else:
        gs = pd.Series(groups).copy()
        gs.index = gs.index.astype(str)
        gs = gs.reindex(unit_ids)
        if gs.isna().any():
            bad = list(gs.index[gs.isna()][:10])
            raise QlworkError(Problem("missing_peer_group", f"{int(gs.isna().sum())} 个单位缺少同类组",
                                      "units without a peer group", found=bad))
    cat = pd.Categorical(gs.astype(str))
    codes0 = np.asarray(cat.codes, dtype=np.intp)
    labels = tuple(str(c) for c in cat.categories)
    raw = [np.ascontiguousarray(df.reindex(index=first.index, columns=list(hier.leaves)).to_numpy(dtype=float))
           for df in variants.values()]
    # store units sorted by (peer group, availability pattern): groups and patterns become slices
    pat = pattern_ids(~np.isnan(raw[0]))[1]
    perm = np.lexsort((np.arange(len(unit_ids)), pat, codes0))
    input_order = np.empty_like(perm)
    input_order[perm] = np.arange(perm.size)
    mats = [np.ascontiguousarray(m[perm]) for m in raw]
    codes = codes0[perm]
    unit_ids = unit_ids[perm]
    glabels, cuts = _grades(grades if grades is not None else fw.grades)
    pos = {u: k for k, u in enumerate(unit_ids)}
    pair_arr = None
    if pairs is not None and len(pairs) and all(isinstance(p, str) for p in pairs):
        pairs = list(itertools.combinations(list(dict.fromkeys(pairs)), 2))  # a set of units → all its pairs
    if pairs:
        bad = [p for p in pairs if p[0] not in pos or p[1] not in pos]
        if bad:
            raise QlworkError(Problem("unknown_unit", f"比较的单位不存在：{bad[:5]}", "pair names unknown units", found=bad[:5]))
        pair_arr = np.array([[pos[a], pos[b]] for a, b in pairs], dtype=np.intp)
    pub_vals = None
    if public is not None:
        pv = pd.Series(public, dtype=float).copy()
        pv.index = pv.index.astype(str)
        pub_vals = pv.reindex(unit_ids).to_numpy(dtype=float)
    forced = None
    if forced_grade is not None:
        fg = pd.Series(forced_grade)
        fg.index = fg.index.astype(str)
        fg = fg.reindex(unit_ids)  # design (sorted) order
        gpos = {g: k for k, g in enumerate(glabels)}
        forced = np.array([gpos.get(v, -1) if isinstance(v, str) else -1 for v in fg], dtype=np.int8)
    return Design(hier=hier, variants=tuple(mats), variant_labels=tuple(variants), groups=codes, group_labels=labels,
                  unit_ids=unit_ids, center=hier.center, grade_labels=glabels, grade_cuts=cuts,
                  bottom_n=int(fw.bottom_n if bottom_n is None else bottom_n), nominal_aggregation=aggregation,
                  nominal_share=float(fw.social_share if social_share is None else social_share),
                  public_mode="fixed" if pub_vals is not None else "indicators", public_values=pub_vals, eps=float(eps), max_bins=int(max_bins), forced_grade=forced, pairs=pair_arr,
                  input_order=input_order)


def _ranges(draws: int, chunk: int) -> list[tuple[int, int]]:
    return [(s, min(chunk, draws - s)) for s in range(0, draws, chunk)]


def run_design(design: Design, *, weights: WeightModel | None = None, methods: Methods | None = None,
               draws: int = 1000, seed: int = 20251231, chunk_size: int = DEFAULT_CHUNK, client=None,
               progress: bool = True, n_jobs: int = 1) -> SensitivityResult:
    """Monte Carlo over weight draws and method choices; streaming summaries.

    ``client``: a ``dask.distributed.Client`` — chunks are computed on its
    workers and the integer summaries summed (identical to the local path).
    ``n_jobs`` > 1 runs chunks in threads (NumPy releases the GIL in sorts and
    matrix products).
    """
    weights = weights if weights is not None else Dirichlet()
    methods = methods if methods is not None else Methods(aggregations=(design.nominal_aggregation,),
                                                          social_share=design.nominal_share)
    if draws < 1:
        raise QlworkError(Problem("bad_draws", "抽样次数必须 ≥ 1", "draws must be ≥ 1", found=draws, expected="≥ 1"))
    if chunk_size < 1:
        raise QlworkError(Problem("bad_chunk", "分块大小必须 ≥ 1", "chunk_size must be ≥ 1", found=chunk_size))
    t0 = time.perf_counter()
    nom_score, nom_rank = nominal(design, methods)
    ranges = _ranges(int(draws), int(chunk_size))
    acc = Accumulator.empty(design)
    if client is not None:
        from .distributed import run_on_client

        acc = run_on_client(client, design, weights, methods, seed, ranges, nom_rank, nom_score, acc)
    else:
        from tqdm.auto import tqdm

        bar = tqdm(total=int(draws), desc="敏感性抽样 sensitivity draws", unit="draw", disable=not progress,
                   leave=False)
        if n_jobs > 1:
            from concurrent.futures import ThreadPoolExecutor

            import threading

            local = threading.local()

            accs = []

            def work(s, n):
                if not hasattr(local, "ws"):
                    local.ws = Workspace()
                    local.acc = Accumulator.empty(design)
                    accs.append(local.acc)
                process_range(design, weights, methods, seed, s, n, nom_rank, nom_score, local.ws, local.acc)
                return n

            with ThreadPoolExecutor(n_jobs) as ex:
                for n in ex.map(lambda r: work(*r), ranges):
                    bar.update(n)
            for a in accs:  # integer sums: order does not matter
                acc.add(a)
            del local, accs
        else:
            ws = Workspace()
            for s, n in ranges:
                process_range(design, weights, methods, seed, s, n, nom_rank, nom_score, ws, acc)
                bar.update(n)
            del ws
        bar.close()
    params = {
        "seed": int(seed), "draws": int(draws), "chunk_size": int(chunk_size), "seed_block": BLOCK,
        "weights": weights.params(), "methods": methods.params(), "variants": list(design.variant_labels),
        "nominal_aggregation": design.nominal_aggregation, "nominal_social_share": design.nominal_share,
        "bottom_n": design.bottom_n, "grades": dict(zip(design.grade_labels, list(design.grade_cuts) + [None])),
        "score_resolution": SCORE_RESOLUTION, "rank_ties": "min", "quantile_rule": "inverted_cdf",
        "max_bins": design.max_bins, "distributed": client is not None, "seconds": None,
    }
    res = finalize(design, acc, nom_score, nom_rank, params)
    res.params["seconds"] = round(time.perf_counter() - t0, 3)
    return res


def run_arrays(framework, normalized, *, groups=None, grades=None, bottom_n=None, aggregation="arithmetic",
               social_share=None, public=None, eps=1.0, local_weights=None, max_bins=1024, pairs=None,
               forced_grade=None, **kw) -> SensitivityResult:
    """:func:`make_design` then :func:`run_design` (keyword arguments of the latter in ``kw``)."""
    design = make_design(framework, normalized, groups=groups, grades=grades, bottom_n=bottom_n,
                         aggregation=aggregation, social_share=social_share, public=public, eps=eps,
                         weights=local_weights, max_bins=max_bins, pairs=pairs, forced_grade=forced_grade)
    return run_design(design, **kw)


def run(index_result, *, weights: WeightModel | None = None, methods: Methods | None = None,
        variants: Mapping[str, pd.DataFrame] | None = None, data=None, normalizations: Sequence[str] | None = None,
        imputations: Sequence[str] | None = None, pairs=None, max_bins: int = 1024, **kw) -> SensitivityResult:
    """Sensitivity of an :class:`~qlwork.engine.index.IndexResult` (main entry point).

    Uses the result's normalised matrix, framework, leaf weights, peer groups,
    grade bands, bottom-N and social share.  ``normalizations`` / ``imputations``
    add method variants recomputed with :func:`qlwork.engine.index.compute_index`
    on ``data`` (the index's input table), or pass ready ``variants``.

    Example::

        res = compute_index(values, "county", units=units)
        sens = run(res, weights=Dirichlet(concentration=50), draws=10_000, seed=1)
        sens.least_stable(10)
    """
    from .from_index import design_from_index

    design = design_from_index(index_result, variants=variants, data=data, normalizations=normalizations,
                               imputations=imputations, pairs=pairs, max_bins=max_bins)
    res = run_design(design, weights=weights, methods=methods, **kw)
    reg = index_result.units
    if "unit_name" in reg.columns:
        units = res.units.copy()
        units.insert(1, "unit_name", reg["unit_name"].reindex(units["unit_id"]).to_numpy())
        res = dataclasses.replace(res, units=units)
    res.params.update({"period": index_result.period, "framework": index_result.params.get("framework"),
                       "framework_fingerprint": index_result.params.get("framework_fingerprint"),
                       "normalization": index_result.params.get("normalization"),
                       "imputation": index_result.params.get("imputation")})
    return res
