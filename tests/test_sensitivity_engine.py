"""Monte Carlo engine of qlwork.sensitivity against known answers and a brute-force oracle.

The oracle re-scores every draw independently: effective weights from
qlwork.engine.aggregate.effective_weights (a separate implementation of within-node
renormalisation), pandas ranks (method="min"), qlwork.engine.grading grades and
bottom-N, NumPy quantiles (method="inverted_cdf").
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from qlwork.engine.aggregate import effective_weights
from qlwork.framework import load_framework
from qlwork.engine.grading import assign_grades, bottom_n_mask
from qlwork.sensitivity import (AHPJudgments, Dirichlet, Fixed, Hierarchy, Methods, UniformPerturbation,
                                make_design, run_arrays, run_design)
from qlwork.sensitivity.draws import BLOCK, sample
from qlwork.sensitivity.engine import method_choices

FW = {
    "id": "T", "name": "测试", "grades": {"优": 70, "良": 50, "差": 0}, "bottom_n": 2, "social_share": 0.0,
    "children": [
        {"id": "A", "weight": 0.5, "children": [
            {"id": "a1", "weight": 0.6, "direction": 1},
            {"id": "a2", "weight": 0.4, "direction": 1, "applies_to": ["机关"]}]},
        {"id": "B", "weight": 0.3, "children": [
            {"id": "b1", "weight": 0.5, "direction": 1},
            {"id": "b2", "weight": 0.3, "direction": 1},
            {"id": "b3", "weight": 0.2, "direction": 1}]},
        {"id": "C", "weight": 0.2, "children": [
            {"id": "c1", "weight": 0.7, "direction": 1},
            {"id": "c2", "weight": 0.3, "direction": 1, "public": True}]},
    ],
}


@pytest.fixture(scope="module")
def fw():
    return load_framework(FW)


def _data(fw, n=60, seed=3):
    rng = np.random.default_rng(seed)
    ids = [f"U{i:03d}" for i in range(n)]
    X = pd.DataFrame(rng.uniform(0, 100, (n, len(fw.indicators))).round(1), index=ids, columns=fw.indicator_ids)
    types = pd.Series(rng.choice(["机关", "学校"], n), index=ids)
    X.loc[types != "机关", "a2"] = np.nan  # a2 applies to 机关 only
    return X, types


def _oracle(fw, X, groups, local, choices, methods, grades, bottom_n, eps=1.0, nominal_share=0.0):
    """Scores, ranks, grades, bottom-N per draw computed one draw at a time."""
    hier = Hierarchy.from_framework(fw)
    items = list(hier.items)
    leaves = list(hier.leaves)
    is_pub = np.array([fw.indicators[i].public for i in leaves])
    lw_cols = pd.DataFrame(local, columns=items)
    D = local.shape[0]
    scores = np.zeros((len(X), D))
    for d in range(D):
        Xv = X.to_numpy(float)
        avail = ~np.isnan(Xv)
        k = choices["loo"][d]
        if k >= 0:
            avail[:, k] = False
        lwd = lw_cols.iloc[[d]]
        Wint = effective_weights(fw, lwd, avail & ~is_pub)  # rows = units (patterns)
        leafw = fw.with_weights(lwd.iloc[0].to_dict(), normalize=False).leaf_weights().reindex(leaves).to_numpy()
        wp = np.where(avail & is_pub, leafw, 0.0)
        tot = wp.sum(axis=1, keepdims=True)
        Wpub = np.divide(wp, tot, out=np.zeros_like(wp), where=tot > 0)
        agg = methods.aggregations[choices["aggregation"][d]]
        Xf = np.where(np.isnan(Xv), 0.0, Xv)
        if agg == "arithmetic":
            si, sp = (Wint * Xf).sum(1), (Wpub * Xf).sum(1)
        else:
            L = np.log(np.maximum(Xf, eps))
            si, sp = np.exp((Wint * L).sum(1)), np.exp((Wpub * L).sum(1))
        s = choices["share"][d]
        scores[:, d] = np.where(tot[:, 0] > 0, (1 - s) * si + s * sp, si)
    S = pd.DataFrame(scores, index=X.index)
    ranks = S.groupby(groups.reindex(X.index).to_numpy()).rank(method="min", ascending=False).astype(int)
    gr = S.apply(lambda c: assign_grades(c, grades))
    bott = S.apply(lambda c: bottom_n_mask(c, groups.reindex(X.index), bottom_n))
    return S, ranks, gr, bott


def _check_against_oracle(fw, X, types, res, local, choices, methods, nominal_ranks, grades=None, oracle=None):
    grades = grades or dict(fw.grades)
    S, R, G, B = oracle if oracle is not None else _oracle(fw, X, types, local, choices, methods, grades, fw.bottom_n)
    f = res.to_frame().set_index("unit_id").reindex(X.index)
    for q, col in ((0.05, "rank_p05"), (0.5, "median_rank"), (0.95, "rank_p95")):
        exp = np.quantile(R.to_numpy(), q, axis=1, method="inverted_cdf")
        np.testing.assert_array_equal(f[col].to_numpy(), exp, err_msg=col)
    for g in grades:
        np.testing.assert_allclose(f[f"p_{g}"].to_numpy(), (G == g).mean(axis=1).to_numpy(), atol=1e-12)
    np.testing.assert_allclose(f["p_bottom_n"].to_numpy(), B.mean(axis=1).to_numpy(), atol=1e-12)
    shift = (R.sub(nominal_ranks.reindex(X.index), axis=0)).abs().mean(axis=1)
    np.testing.assert_allclose(f["mean_abs_rank_shift"].to_numpy(), shift.to_numpy(), atol=1e-12)


def _nominal_ranks(fw, X, types):
    hier = Hierarchy.from_framework(fw)
    ch = {"loo": np.array([-1]), "aggregation": np.array([0]), "share": np.array([0.0])}
    S, R, _, _ = _oracle(fw, X, types, hier.center[None, :], ch, Methods(), dict(fw.grades), fw.bottom_n)
    return R[0]


def test_matches_brute_force_oracle_dirichlet(fw):
    X, types = _data(fw)
    draws, seed = 150, 11
    model = Dirichlet(concentration=20)
    res = run_arrays(fw, X, groups=types, weights=model, draws=draws, seed=seed, chunk_size=64, progress=False)
    hier = Hierarchy.from_framework(fw)
    local = sample(model, seed, draws, hier)
    ch = {"loo": np.full(draws, -1), "aggregation": np.zeros(draws, int), "share": np.zeros(draws)}
    _check_against_oracle(fw, X, types, res, local, ch, Methods(), _nominal_ranks(fw, X, types))


def test_matches_oracle_with_method_uncertainty(fw):
    """Aggregation choice, social-share range and leave-one-out mixed with uniform weight draws."""
    X, types = _data(fw, n=40, seed=5)
    draws, seed = 120, 4
    model = UniformPerturbation(pct=0.3)
    methods = Methods(aggregations=("arithmetic", "geometric"), social_share=(0.1, 0.4), leave_one_out=True)
    design = make_design(fw, X, groups=types)
    res = run_design(design, weights=model, methods=methods, draws=draws, seed=seed, chunk_size=50, progress=False)
    local = sample(model, seed, draws, design.hier)
    ch = method_choices(methods, design, seed, 0, draws)
    assert set(ch["aggregation"]) == {0, 1} and (ch["loo"] >= 0).any() and (ch["loo"] == -1).any()
    assert ((ch["share"] >= 0.1) & (ch["share"] <= 0.4)).all()
    _check_against_oracle(fw, X, types, res, local, ch, methods, _nominal_ranks(fw, X, types))


def test_zero_spread_reproduces_nominal(fw):
    X, types = _data(fw)
    res = run_arrays(fw, X, groups=types, weights=Fixed(), draws=70, seed=1, progress=False)
    f = res.to_frame().set_index("unit_id").reindex(X.index)
    nom = _nominal_ranks(fw, X, types)
    np.testing.assert_array_equal(f["nominal_rank"].to_numpy(), nom.to_numpy())
    for c in ("median_rank", "rank_p05", "rank_p95"):
        np.testing.assert_array_equal(f[c].to_numpy(), nom.to_numpy())
    assert (f["p_nominal_grade"] == 1).all() and (f["mean_abs_rank_shift"] == 0).all()
    assert set(f["p_bottom_n"]) <= {0.0, 1.0}


def test_dominating_unit_is_first_in_every_draw(fw):
    X, types = _data(fw)
    X.iloc[0] = 100.0  # best possible on every indicator (a2 too, so it dominates as 机关)
    types.iloc[0] = "机关"
    X.iloc[1, :] = 0.0  # worst possible on every indicator
    types.iloc[1] = "机关"
    res = run_arrays(fw, X, groups=types, weights=Dirichlet(2.0), draws=300, seed=9, progress=False,
                     methods=Methods(aggregations=("arithmetic", "geometric"), leave_one_out=True))
    f = res.to_frame().set_index("unit_id")
    top = f.loc[X.index[0]]
    assert top.rank_p05 == top.median_rank == top.rank_p95 == 1 and top.p_bottom_n == 0
    assert top.p_优 == 1.0
    n_jg = int((types == "机关").sum())
    bot = f.loc[X.index[1]]
    assert bot.rank_p05 == bot.rank_p95 == n_jg and bot.p_bottom_n == 1.0 and bot.p_差 == 1.0


@pytest.mark.parametrize("chunks", [(1, 64), (7, 100), (64, 1000), (33, 5)])
def test_identical_across_chunk_sizes(fw, chunks):
    X, types = _data(fw, n=50)
    kw = dict(groups=types, weights=Dirichlet(10), draws=200, seed=42, progress=False,
              methods=Methods(aggregations=("arithmetic", "geometric"), leave_one_out=True))
    a = run_arrays(fw, X, chunk_size=chunks[0], **kw)
    b = run_arrays(fw, X, chunk_size=chunks[1], **kw)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())


def test_threads_give_identical_numbers_and_seed_matters(fw):
    X, types = _data(fw, n=50)
    kw = dict(groups=types, weights=UniformPerturbation(0.5), draws=300, progress=False, chunk_size=37)
    a = run_arrays(fw, X, seed=1, **kw)
    b = run_arrays(fw, X, seed=1, n_jobs=2, **kw)
    c = run_arrays(fw, X, seed=2, **kw)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert not a.to_frame().equals(c.to_frame())
    assert a.params["seed"] == 1 and a.params["draws"] == 300 and a.params["weights"]["model"] == "uniform"


def test_draws_independent_of_start_offset(fw):
    hier = Hierarchy.from_framework(fw)
    m = Dirichlet(5)
    full = sample(m, 3, 3 * BLOCK + 5, hier)
    part = sample(m, 3, 70, hier, start=BLOCK - 3)
    np.testing.assert_array_equal(part, full[BLOCK - 3: BLOCK + 67])


def test_dirichlet_mean_converges_to_centre(fw):
    """E[w] = w0 and Var[w_i] = w0_i(1 − w0_i)/(κ + 1) (Dirichlet moments)."""
    hier = Hierarchy.from_framework(fw)
    kappa, n = 30.0, 20000
    for level in ("local", "leaf"):
        local = sample(Dirichlet(kappa, level=level), 5, n, hier)
        w = hier.leaf_from_local(local) if level == "leaf" else local
        w0 = hier.leaf_from_local(hier.center) if level == "leaf" else hier.center
        se = np.sqrt(w0 * (1 - w0) / (kappa + 1) / n)
        assert np.all(np.abs(w.mean(axis=0) - w0) < 4.5 * se + 1e-12), level
        np.testing.assert_allclose(w.var(axis=0), w0 * (1 - w0) / (kappa + 1), rtol=0.08)


def test_uniform_perturbation_bounds(fw):
    hier = Hierarchy.from_framework(fw)
    local = sample(UniformPerturbation(0.2), 1, 500, hier)
    for g in hier.groups:
        np.testing.assert_allclose(local[:, g].sum(axis=1), 1.0)
        # ratio of two siblings stays within (1 ± x)/(1 ∓ x) of the centre ratio
        if len(g) > 1:
            r = (local[:, g[0]] / local[:, g[1]]) / (hier.center[g[0]] / hier.center[g[1]])
            assert r.min() >= 0.8 / 1.2 - 1e-12 and r.max() <= 1.2 / 0.8 + 1e-12


def test_ahp_judgment_draws(fw):
    hier = Hierarchy.from_framework(fw)
    # zero steps, no matrices: a_ij = w_i/w_j snapped to the Saaty scale.  Level 1 (0.5, 0.3, 0.2):
    # 5/3 → 2, 5/2 → 3 (|ln 2.5 − ln 3| < |ln 2.5 − ln 2|), 3/2 → 2, i.e. [[1,2,3],[1/2,1,2],[1/3,1/2,1]],
    # whose principal eigenvector is (0.540, 0.297, 0.163) (textbook example, e.g. Saaty 1980 §2; λmax = 3.009)
    np.testing.assert_allclose(sample(AHPJudgments(steps=0, mode="saaty"), 1, 10, hier)[:, [0, 3, 7]],
                               np.tile([0.540, 0.297, 0.163], (10, 1)), atol=6e-4)
    # log mode with factor 1 is the identity too
    np.testing.assert_allclose(sample(AHPJudgments(mode="log", factor=1.0), 1, 5, hier), np.tile(hier.center, (5, 1)),
                               atol=1e-9)
    # a 2×2 matrix [[1, a], [1/a, 1]] has weights (a/(1+a), 1/(1+a)); with a = 3 moved ±1 step → a ∈ {2, 3, 4}
    m = AHPJudgments(judgments={"C": np.array([[1, 3], [1 / 3, 1]])}, mode="saaty", steps=1)
    loc = sample(m, 2, 400, hier)
    c = [hier.items.index("c1"), hier.items.index("c2")]
    got = set(np.round(loc[:, c[0]], 9))
    assert got == {round(2 / 3, 9), round(3 / 4, 9), round(4 / 5, 9)}
    assert m.input_names(hier) == ["C:c1/c2"]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.booleans(), min_size=7, max_size=7), st.integers(0, 2**31 - 1))
def test_effective_weights_match_index_engine(avail, seed):
    fw = load_framework(FW)
    hier = Hierarchy.from_framework(fw)
    local = sample(Dirichlet(3), seed, 3, hier)
    mine = hier.effective(local, np.array(avail))
    ref = effective_weights(fw, pd.DataFrame(local, columns=list(hier.items)), np.array(avail)[None, :])
    np.testing.assert_allclose(mine, ref, atol=1e-12)


def test_binned_histogram_is_conservative(fw):
    X, types = _data(fw, n=80)
    kw = dict(groups=types, weights=Dirichlet(3), draws=200, seed=8, progress=False)
    exact = run_arrays(fw, X, **kw).to_frame()
    binned = run_arrays(fw, X, max_bins=8, **kw).to_frame()
    assert (binned["rank_resolution"] > 1).all()
    assert (binned["rank_p05"] <= exact["rank_p05"]).all() and (binned["rank_p95"] >= exact["rank_p95"]).all()
    assert (binned["rank_p95"] - binned["rank_p05"] <= exact["rank_p95"] - exact["rank_p05"] + 2 * binned["rank_resolution"]).all()
    pd.testing.assert_series_equal(binned["p_bottom_n"], exact["p_bottom_n"])


def test_pair_reversal_probability(fw):
    X, types = _data(fw, n=30)
    pairs = [(X.index[0], X.index[1]), (X.index[2], X.index[5])]
    model = Dirichlet(4)
    res = run_arrays(fw, X, groups=types, weights=model, draws=160, seed=2, pairs=pairs, progress=False)
    hier = Hierarchy.from_framework(fw)
    local = sample(model, 2, 160, hier)
    ch = {"loo": np.full(160, -1), "aggregation": np.zeros(160, int), "share": np.zeros(160)}
    S, *_ = _oracle(fw, X, types, local, ch, Methods(), dict(fw.grades), 2)
    Sn, *_ = _oracle(fw, X, types, hier.center[None, :], {k: v[:1] for k, v in ch.items()}, Methods(), dict(fw.grades), 2)
    for k, (a, b) in enumerate(pairs):
        exp = (np.sign(S.loc[a] - S.loc[b]) != np.sign(Sn.loc[a, 0] - Sn.loc[b, 0])).mean()
        assert res.pairs["p_reversal"].iat[k] == pytest.approx(exp)
    # a set of units means all pairs among them: p(a, b) does not depend on the order asked
    res3 = run_arrays(fw, X, groups=types, weights=model, draws=160, seed=2, pairs=list(X.index[:3]), progress=False)
    assert len(res3.pairs) == 3
    assert res3.pairs["p_reversal"].iat[0] == res.pairs["p_reversal"].iat[0]


def test_bad_inputs_are_located_errors(fw):
    from qlwork.errors import QlworkError

    X, types = _data(fw, n=10)
    with pytest.raises(QlworkError, match="缺少指标"):
        run_arrays(fw, X.drop(columns=["b1"]), draws=5, progress=False)
    with pytest.raises(QlworkError, match="同类组"):
        run_arrays(fw, X, groups=types.iloc[:5], draws=5, progress=False)
    with pytest.raises(QlworkError, match="抽样次数"):
        run_arrays(fw, X, draws=0, progress=False)
    with pytest.raises(QlworkError):
        Dirichlet(concentration=0)
    with pytest.raises(QlworkError):
        Methods(aggregations=("median",))


def test_compiled_kernels_equal_numpy_path(fw, monkeypatch):
    """The numba kernels and the pure-NumPy path give identical summaries (ties included)."""
    from qlwork.sensitivity import kernels

    if not kernels.available():
        pytest.skip("numba not installed")
    X, types = _data(fw, n=70)
    X.iloc[5] = X.iloc[6]  # exact ties
    X.iloc[7] = X.iloc[6]
    capped = pd.Series({X.index[3]: "差"})
    bonus = pd.Series({X.index[8]: 2.0, X.index[9]: 0.004})
    kw = dict(groups=types, weights=Dirichlet(5), draws=130, seed=3, progress=False, grade_cap=capped,
              methods=Methods(aggregations=("arithmetic", "geometric"), leave_one_out=True), chunk_size=50)
    fast = run_arrays(fw, X, **kw).to_frame()
    binned_fast = run_arrays(fw, X, max_bins=7, **kw).to_frame()
    pub_fast = run_arrays(fw, X, decimals=2, bonus=bonus, **kw).to_frame()
    monkeypatch.setenv("QLWORK_NO_NUMBA", "1")
    assert not kernels.available()
    slow = run_arrays(fw, X, **kw).to_frame()
    binned_slow = run_arrays(fw, X, max_bins=7, **kw).to_frame()
    pub_slow = run_arrays(fw, X, decimals=2, bonus=bonus, **kw).to_frame()
    pd.testing.assert_frame_equal(fast, slow)
    pd.testing.assert_frame_equal(binned_fast, binned_slow)
    pd.testing.assert_frame_equal(pub_fast, pub_slow)
    assert (slow.set_index("unit_id").loc[X.index[3], "p_差"]) == 1.0


def test_matches_oracle_with_normalisation_and_imputation_variants(fw):
    """Discrete method variants (e.g. imputation none vs mean, another normalisation) mixed per draw.

    Oracle: every draw re-scored one at a time on the matrix of the variant that draw picked
    (variants differ in values *and* in which cells are missing), then ranked with pandas.
    """
    X, types = _data(fw, n=45, seed=8)
    holes = X.index[[1, 4, 9, 16, 25]]
    X_none = X.copy()
    X_none.loc[holes, "b1"] = np.nan  # missing data: reweighted within node B under "none"
    X_mean = X_none.copy()
    X_mean.loc[holes, "b1"] = X_none["b1"].mean()  # imputed: every unit has b1
    X_sqrt = np.sqrt(X_none) * 10  # a monotone but non-linear re-normalisation
    variants = {"minmax/none": X_none, "minmax/mean": X_mean, "sqrt/none": X_sqrt}
    draws, seed = 90, 21
    model = Dirichlet(15)
    methods = Methods(aggregations=("arithmetic", "geometric"), leave_one_out=True)
    design = make_design(fw, variants, groups=types)
    res = run_design(design, weights=model, methods=methods, draws=draws, seed=seed, chunk_size=40, progress=False)
    local = sample(model, seed, draws, design.hier)
    ch = method_choices(methods, design, seed, 0, draws)
    assert set(ch["variant"]) == {0, 1, 2}
    grades = dict(fw.grades)
    per_variant = [_oracle(fw, Xv, types, local, ch, methods, grades, fw.bottom_n)[0] for Xv in variants.values()]
    S = pd.DataFrame({d: per_variant[ch["variant"][d]][d] for d in range(draws)})
    R = S.groupby(types.reindex(X.index).to_numpy()).rank(method="min", ascending=False).astype(int)
    G = S.apply(lambda c: assign_grades(c, grades))
    B = S.apply(lambda c: bottom_n_mask(c, types.reindex(X.index), fw.bottom_n))
    _check_against_oracle(fw, X_none, types, res, local, ch, methods, _nominal_ranks(fw, X_none, types),
                          oracle=(S, R, G, B))
    shares = np.bincount(ch["variant"], minlength=3) / draws
    assert res.params["variant_share"] == dict(zip(variants, shares.round(6).tolist()))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 29), st.integers(0, 6), st.floats(0.5, 60), st.integers(0, 2**31 - 1),
       st.sampled_from(["arithmetic", "geometric"]))
def test_improving_a_unit_never_hurts_its_standing(unit, ind, delta, seed, agg):
    """Property: with common random numbers (same seed → same weight draws and method picks),
    raising one applicable indicator value of one unit raises or keeps its score in every draw
    (all weights ≥ 0, both aggregations monotone), so its rank quantiles cannot get worse,
    P(bottom N) cannot rise and P(best grade) cannot fall."""
    fw = load_framework(FW)
    X, types = _data(fw, n=30, seed=13)
    col = fw.indicator_ids[ind]
    uid = X.index[unit]
    if np.isnan(X.loc[uid, col]):
        return  # not applicable to this unit
    better = X.copy()
    better.loc[uid, col] = min(100.0, X.loc[uid, col] + delta)
    kw = dict(groups=types, weights=Dirichlet(8), draws=64, seed=seed, progress=False,
              methods=Methods(aggregations=(agg,), social_share=(0.0, 0.5), leave_one_out=True))
    a = run_arrays(fw, X, **kw).to_frame().set_index("unit_id").loc[uid]
    b = run_arrays(fw, better, **kw).to_frame().set_index("unit_id").loc[uid]
    for c in ("rank_p05", "median_rank", "rank_p95"):
        assert b[c] <= a[c], c
    assert b["p_bottom_n"] <= a["p_bottom_n"]
    assert b["p_优"] >= a["p_优"] and b["p_差"] <= a["p_差"]


def test_ahp_judgment_transform_matches_scalar_ahp(fw):
    """Each draw's local weights equal ahp_weights() of the matrix built by hand from that draw's
    inputs: log mode moves a_ij to a_ij · factor^(2u − 1) (upper triangle, row-major pair order
    as in input_names), reciprocals below."""
    from qlwork.weights.ahp import ahp_weights

    hier = Hierarchy.from_framework(fw)
    B = np.array([[1, 2, 5], [1 / 2, 1, 3], [1 / 5, 1 / 3, 1]])  # node B: b1, b2, b3
    root = np.array([[1, 3, 2], [1 / 3, 1, 1 / 2], [1 / 2, 2, 1]])  # T: A, B, C
    m = AHPJudgments(judgments={"B": B, "T": root}, mode="log", factor=3.0)
    names = m.input_names(hier)
    assert names == ["B:b1/b2", "B:b1/b3", "B:b2/b3", "T:A/B", "T:A/C", "T:B/C"]
    u = np.random.default_rng(4).random((6, len(names)))
    local = m.transform(u, hier, hier.center)
    for d in range(u.shape[0]):
        for node, mat, off, kids in (("B", B, 0, ["b1", "b2", "b3"]), ("T", root, 3, ["A", "B", "C"])):
            a = mat.copy()
            for k, (i, j) in enumerate([(0, 1), (0, 2), (1, 2)]):
                a[i, j] = mat[i, j] * 3.0 ** (2 * u[d, off + k] - 1)
                a[j, i] = 1 / a[i, j]
            exp = ahp_weights(a).weights
            np.testing.assert_allclose(local[d, [hier.items.index(c) for c in kids]], exp, atol=1e-10)
        # node A (no matrix given) keeps its centre weights
        np.testing.assert_allclose(local[d, [hier.items.index("a1"), hier.items.index("a2")]], [0.6, 0.4])
