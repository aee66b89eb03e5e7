"""Entry points: build a :class:`~qlwork.sensitivity.engine.Design` and run draws.

``run(index_result, ...)`` is the main entry (an IndexResult from
:func:`qlwork.engine.index.compute_index`); :func:`run_arrays` does the same from a
normalised units × indicators table, a framework and peer groups.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Mapping, Sequence

import pandas as pd

from ..errors import Problem, QlworkError
from .draws import BLOCK, Dirichlet, WeightModel
from ..engine.scorer import make_design
from .engine import Accumulator, Design, Methods, Workspace, nominal, process_range
from .summaries import SensitivityResult, finalize

__all__ = ["make_design", "run_design", "run_arrays", "run", "DEFAULT_CHUNK"]

DEFAULT_CHUNK = 512


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
        "published_decimals": design.decimals, "rounding": "half-up on the 1e-6 grid",
        "bottom_min_group": design.bottom_min_group, "rank_ties": "min", "quantile_rule": "inverted_cdf",
        "max_bins": design.max_bins, "distributed": client is not None, "seconds": None,
    }
    res = finalize(design, acc, nom_score, nom_rank, params)
    res.params["seconds"] = round(time.perf_counter() - t0, 3)
    return res


def run_arrays(framework, normalized, *, groups=None, grades=None, bottom_n=None, aggregation="arithmetic",
               social_share=None, public=None, eps=1.0, local_weights=None, max_bins=1024, pairs=None,
               grade_cap=None, bonus=None, decimals=6, **kw) -> SensitivityResult:
    """:func:`make_design` then :func:`run_design` (keyword arguments of the latter in ``kw``)."""
    design = make_design(framework, normalized, groups=groups, grades=grades, bottom_n=bottom_n,
                         aggregation=aggregation, social_share=social_share, public=public, eps=eps,
                         weights=local_weights, max_bins=max_bins, pairs=pairs, grade_cap=grade_cap,
                         bonus=bonus, decimals=decimals)
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
