"""qlwork.sensitivity.run on IndexResults: nominal ranks/grades/bottom-N equal the index engine's."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from qlwork.framework import builtin_framework, load_framework
from qlwork.engine.index import compute_index
from qlwork.sensitivity import Dirichlet, Fixed, Methods, run


@pytest.fixture(scope="module")
def county():
    fw = load_framework(builtin_framework("county"))
    rng = np.random.default_rng(7)
    n = 300
    ids = [f"U{i:04d}" for i in range(n)]
    types = rng.choice(["机关", "学校", "医院", "企业"], n)
    X = pd.DataFrame(rng.gamma(2.0, 3.0, (n, len(fw.indicators))), index=ids, columns=fw.indicator_ids)
    for c in ("pm_report_acc", "rectify_rate", "resp_score", "edu_coverage", "service_sat", "hotline_sat"):
        X[c] = rng.uniform(60, 100, n).round(1)
    units = pd.DataFrame({"unit_id": ids, "unit_name": [f"单位{i}" for i in range(n)], "unit_type": types,
                          "county": rng.choice(["甲县", "乙县"], n)})
    return fw, X, units


@pytest.mark.parametrize("opts", [
    dict(),
    dict(aggregation="geometric"),
    dict(social_share=0.0),
    dict(normalization="zscore", bottom_n=5),
    dict(peer_group="all", grades={"A": 75, "B": 55, "C": 0}),
])
def test_nominal_equals_index(county, opts):
    fw, X, units = county
    r = compute_index(X, fw, units=units, **opts)
    s = run(r, weights=Fixed(), draws=3, progress=False)
    f = s.to_frame().set_index("unit_id")
    rf = r.to_frame().set_index("unit_id").reindex(f.index)
    np.testing.assert_array_equal(f["nominal_rank"].to_numpy(), rf["rank"].astype(int).to_numpy())
    np.testing.assert_array_equal(f["nominal_score"].to_numpy(), rf["total_raw"].to_numpy())  # one scorer: equal by construction
    assert (f["nominal_grade"] == rf["grade"]).all()
    assert ((f["p_bottom_n"] == 1) == rf["warnings"].str.contains("bottom_n")).all()
    assert (f["unit_name"] == rf["unit_name"]).all()
    assert s.params["period"] == r.period


def test_public_argument_and_veto(county):
    fw, X, units = county
    pub = pd.Series(np.linspace(40, 95, len(X)), index=X.index)
    r = compute_index(X, fw, units=units, public=pub, veto=[X.index[0]])
    s = run(r, weights=Dirichlet(30), draws=64, seed=1, progress=False)
    f = s.to_frame().set_index("unit_id")
    rf = r.to_frame().set_index("unit_id").reindex(f.index)
    np.testing.assert_array_equal(f["nominal_rank"].to_numpy(), rf["rank"].astype(int).to_numpy())
    assert (f["nominal_grade"] == rf["grade"]).all()
    low = s.grade_labels[-1]
    assert f.loc[X.index[0], f"p_{low}"] == 1.0  # vetoed: lowest grade in every draw


def test_method_variants_from_data(county):
    fw, X, units = county
    r = compute_index(X, fw, units=units)
    s = run(r, data=X, normalizations=["minmax", "zscore", "rank"], weights=Dirichlet(50), draws=128, seed=3,
            methods=Methods(aggregations=("arithmetic", "geometric"), social_share=(0.2, 0.4)), progress=False)
    share = s.params["variant_share"]
    assert list(share) == ["minmax/none", "zscore/none", "rank/none"]
    assert all(0.2 < v < 0.5 for v in share.values())
    f = s.to_frame()
    assert (f["rank_p05"] <= f["median_rank"]).all() and (f["median_rank"] <= f["rank_p95"]).all()
    assert np.allclose(f[[f"p_{g}" for g in s.grade_labels]].sum(axis=1), 1.0)
    zh = s.to_frame(zh=True)
    assert "排名中位数" in zh.columns and "单位编码" in zh.columns


def test_plots_render(county):
    fw, X, units = county
    r = compute_index(X, fw, units=units)
    s = run(r, weights=Dirichlet(20), draws=64, seed=2, progress=False)
    fig = s.rank_interval_plot(n=15)
    assert len(fig.axes[0].get_yticklabels()) == 15
    fig2 = s.grade_probability_plot(n=10)
    assert fig2.axes
    import matplotlib.pyplot as plt

    plt.close("all")
    assert "SensitivityResult(300 units" in repr(s)
    assert len(s.least_stable(5)) == 5


def test_imputation_variants_through_run(county):
    """run(imputations=[...]) mixes imputation choices: with fixed weights every draw is one
    imputation's nominal index, so P(grade g) of a unit must equal the share of draws that
    picked an imputation under which compute_index itself grades the unit g."""
    fw, X, units = county
    X = X.copy()
    rng = np.random.default_rng(11)
    X = X.mask(rng.random(X.shape) < 0.08)  # 8 % missing cells
    imps = ["none", "mean", "reweight"]
    r = compute_index(X, fw, units=units, imputation="none")
    s = run(r, data=X, imputations=imps, weights=Fixed(), draws=96, seed=4, progress=False)
    share = s.params["variant_share"]
    assert list(share) == [f"minmax/{i}" for i in imps] and all(v > 0 for v in share.values())
    f = s.to_frame().set_index("unit_id")
    expected = pd.DataFrame(0.0, index=f.index, columns=list(s.grade_labels))
    for imp in imps:
        g = compute_index(X, fw, units=units, imputation=imp).ranking["grade"].reindex(f.index)
        for lab in s.grade_labels:
            expected[lab] += share[f"minmax/{imp}"] * (g == lab).to_numpy()
    for lab in s.grade_labels:
        np.testing.assert_allclose(f[f"p_{lab}"].to_numpy(), expected[lab].to_numpy(), atol=1e-6, err_msg=lab)
    assert (f[[f"p_{g}" for g in s.grade_labels]].max(axis=1) < 1).any()  # some grades do depend on the choice
