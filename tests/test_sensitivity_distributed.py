"""The Dask path gives exactly the single-machine numbers (local cluster, two workers)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qlwork.framework import builtin_framework, load_framework
from qlwork.sensitivity import AHPJudgments, Methods, make_design, run_design

distributed = pytest.importorskip("dask.distributed")


def test_local_cluster_matches_single_machine():
    fw = load_framework(builtin_framework("village"))
    rng = np.random.default_rng(0)
    n = 400
    ids = [f"V{i:04d}" for i in range(n)]
    X = pd.DataFrame(rng.uniform(0, 100, (n, len(fw.indicators))), index=ids, columns=fw.indicator_ids)
    groups = pd.Series(rng.choice(["甲", "乙", "丙"], n), index=ids)
    design = make_design(fw, X, groups=groups, pairs=[(ids[0], ids[1])])
    kw = dict(weights=AHPJudgments(mode="log", factor=2.0), draws=300, seed=5, chunk_size=64, progress=False,
              methods=Methods(aggregations=("arithmetic", "geometric"), leave_one_out=True))
    local = run_design(design, **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        dist = run_design(design, client=client, **kw)
    pd.testing.assert_frame_equal(local.to_frame(), dist.to_frame())
    pd.testing.assert_frame_equal(local.pairs, dist.pairs)
    assert dist.params["distributed"] and not local.params["distributed"]
