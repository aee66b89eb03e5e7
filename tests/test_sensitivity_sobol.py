"""Sobol indices: analytic additive function and weight-model sanity checks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qlwork.errors import QlworkError
from qlwork.framework import load_framework
from qlwork.sensitivity import AHPJudgments, Dirichlet, Methods, UniformPerturbation, make_design
from qlwork.sensitivity.sobol import sobol_analyze, sobol_indices


def test_additive_function_analytic_indices():
    """Y = Σ a_i X_i, X_i ~ U(0,1) independent: V_i = a_i²/12, so S_i = S_Ti = a_i² / Σ a_j².

    a = (1, 2, 3, 0): S = (1, 4, 9, 0)/14 = (0.0714, 0.2857, 0.6429, 0).
    """
    a = np.array([1.0, 2.0, 3.0, 0.0])
    t = sobol_analyze(lambda U: U @ a, ["x1", "x2", "x3", "x4"], 4096, seed=3)
    exp = a ** 2 / (a ** 2).sum()
    np.testing.assert_allclose(t["S1"].to_numpy(), exp, atol=0.02)
    np.testing.assert_allclose(t["ST"].to_numpy(), exp, atol=0.02)


def test_interaction_function_total_exceeds_first_order():
    """Y = X1·X2 on U(0,1)²: V = 7/144, V1 = V2 = 1/48, so S1 = S2 = 3/7 and S_T1 = S_T2 = 4/7."""
    t = sobol_analyze(lambda U: U[:, 0] * U[:, 1], ["x1", "x2"], 8192, seed=1)
    np.testing.assert_allclose(t["S1"].to_numpy(), [3 / 7, 3 / 7], atol=0.02)
    np.testing.assert_allclose(t["ST"].to_numpy(), [4 / 7, 4 / 7], atol=0.02)


FW = {"id": "T", "children": [
    {"id": "A", "weight": 0.5, "children": [{"id": "a1", "weight": 0.5, "direction": 1},
                                            {"id": "a2", "weight": 0.5, "direction": 1}]},
    {"id": "B", "weight": 0.3, "children": [{"id": "b1", "weight": 1.0, "direction": 1}]},
    {"id": "C", "weight": 0.2, "children": [{"id": "c1", "weight": 0.6, "direction": 1},
                                            {"id": "c2", "weight": 0.4, "direction": 1}]}]}


def _design():
    fw = load_framework(FW)
    rng = np.random.default_rng(2)
    n = 40
    X = pd.DataFrame(rng.uniform(0, 100, (n, 5)), index=[f"U{i}" for i in range(n)], columns=fw.indicator_ids)
    X["c2"] = X["c1"]  # node C's score is c1 whatever its local weights → C's judgment cannot matter
    return make_design(fw, X)


def test_judgment_with_no_effect_has_zero_indices():
    d = _design()
    res = sobol_indices(d, AHPJudgments(mode="log", factor=3.0), N=256, units=["U0", "U1"], outputs=("rank", "score"),
                        num_resamples=20)
    t = res.to_frame()
    c = t[t["input"] == "C:c1/c2"]
    assert np.allclose(c[["S1", "ST"]].to_numpy(), 0.0, atol=1e-9)
    a = t[(t["input"] != "C:c1/c2") & (t["output"] == "mean_abs_rank_shift")]
    assert (a["ST"] > 0.01).all()
    assert set(t["output"]) == {"mean_abs_rank_shift", "rank:U0", "rank:U1", "score:U0", "score:U1"}
    # judgments: root 3 pairs (A/B, A/C, B/C) + A 1 + C 1 = 5 inputs; Saltelli runs N·(d + 2) = 256·7
    assert res.params["inputs"] == 5 and res.params["runs"] == 256 * 7


def test_dirichlet_is_refused():
    with pytest.raises(QlworkError, match="Sobol"):
        sobol_indices(_design(), Dirichlet(10), N=8)


def test_uniform_perturbation_inputs_are_local_weights():
    d = _design()
    res = sobol_indices(d, UniformPerturbation(0.5), N=128, num_resamples=10)
    assert list(res.to_frame()["input"]) == list(d.hier.items)
    # b1 is an only child: its multiplier is renormalised away, so it has no effect
    b1 = res.to_frame().set_index("input").loc["b1"]
    assert abs(b1.S1) < 1e-9 and abs(b1.ST) < 1e-9


def test_weight_model_indices_agree_with_independent_pick_freeze():
    """Second method: our SALib wiring (input order, transform, engine scores) against a
    plain-NumPy pick-freeze estimate on an explicit formula of the same model.

    UniformPerturbation(0.5, level="leaf") with complete data and arithmetic aggregation:
    score_u = Σ_j w0_j m_j x_uj / Σ_j w0_j m_j with m_j = 1 + 0.5(2U_j − 1), U_j ~ U(0,1)
    independent.  Estimators: S1 (Saltelli et al. 2010, eq. b) and ST (Jansen 1999) from
    N = 100,000 random base samples, outputs centred — no SALib, no engine.
    """
    fw = load_framework(FW)
    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.uniform(0, 100, (30, 5)), index=[f"U{i}" for i in range(30)], columns=fw.indicator_ids)
    d = make_design(fw, X)
    model = UniformPerturbation(0.5, level="leaf")
    res = sobol_indices(d, model, N=2048, units=["U3"], outputs=("score",), num_resamples=10).to_frame()
    got = res[res["output"] == "score:U3"].set_index("input").reindex(fw.indicator_ids)

    w0 = fw.leaf_weights().reindex(fw.indicator_ids).to_numpy()
    x = X.loc["U3", fw.indicator_ids].to_numpy()

    def f(U):
        w = w0 * (1 + 0.5 * (2 * U - 1))
        return (w * x).sum(axis=1) / w.sum(axis=1)

    n, k = 100_000, len(w0)
    A, B = rng.random((n, k)), rng.random((n, k))
    fA, fB = f(A), f(B)
    mu = np.concatenate([fA, fB]).mean()  # centring: the S1 estimator's variance grows with the mean²
    fA, fB = fA - mu, fB - mu
    var = np.var(np.concatenate([fA, fB]))
    for j, ind in enumerate(fw.indicator_ids):
        ABj = A.copy()
        ABj[:, j] = B[:, j]
        fABj = f(ABj) - mu
        s1 = np.mean(fB * (fABj - fA)) / var
        st = 0.5 * np.mean((fA - fABj) ** 2) / var
        assert got.loc[ind, "S1"] == pytest.approx(s1, abs=0.03), ind
        assert got.loc[ind, "ST"] == pytest.approx(st, abs=0.03), ind


def test_method_choices_as_sobol_inputs_analytic():
    """Aggregation (two equally likely levels) and social share s ~ U(0.1, 0.5) as inputs, weights
    fixed (UniformPerturbation with pct = 0: its inputs have no effect).  For one unit
    Y(a, s) = I_a + s (P − I_a), I_0 = (a1 + a2)/2 (arithmetic), I_1 = √(a1·a2) (geometric),
    P = p1 (the only public indicator).  With d_a = P − I_a, m = E[s] = 0.3, v = Var s = 0.4²/12:
    V_agg = (E[Y|0] − E[Y|1])²/4 with E[Y|a] = I_a + m d_a;  V_share = d̄² v;
    V = mean_a(d_a²)·v + V_agg;  S1 = V_i/V;  ST_agg = 1 − S1_share, ST_share = 1 − S1_agg.
    a1 = 90, a2 = 30, p1 = 80: I = (60, 51.961524), d = (20, 28.038476), E[Y|a] = (66, 60.373067),
    V_agg = 7.916843, d̄ = 24.019238, V_share = 7.692152, V = 15.867849 →
    S1_agg = 0.498924, S1_share = 0.484763, ST_agg = 0.515237, ST_share = 0.501076.
    """
    fw = load_framework({"id": "T", "social_share": 0.3, "children": [
        {"id": "A", "weight": 0.6, "children": [{"id": "a1", "weight": 0.5, "direction": 1},
                                                {"id": "a2", "weight": 0.5, "direction": 1}]},
        {"id": "P", "weight": 0.4, "children": [{"id": "p1", "weight": 1.0, "direction": 1, "public": True}]}]})
    X = pd.DataFrame({"a1": [90.0, 20, 50], "a2": [30.0, 70, 50], "p1": [80.0, 40, 60]}, index=["U0", "U1", "U2"])
    methods = Methods(aggregations=("arithmetic", "geometric"), social_share=(0.1, 0.5))
    res = sobol_indices(make_design(fw, X), UniformPerturbation(0.0), N=4096, units=["U0"], outputs=("score",),
                        methods=methods, num_resamples=10, seed=2)
    t = res.to_frame().query("output == 'score:U0'").set_index("input")
    assert res.params["method_inputs"] == ["method:aggregation", "method:social_share"]
    np.testing.assert_allclose(t.loc["method:aggregation", ["S1", "ST"]], [0.498924, 0.515237], atol=0.02)
    np.testing.assert_allclose(t.loc["method:social_share", ["S1", "ST"]], [0.484763, 0.501076], atol=0.02)
    weights_only = t.drop(index=["method:aggregation", "method:social_share"])
    assert np.abs(weights_only[["S1", "ST"]].to_numpy()).max() < 1e-9


def test_variant_and_leave_one_out_inputs_are_named():
    fw = load_framework(FW)
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.uniform(0, 100, (20, 5)), index=[f"U{i}" for i in range(20)], columns=fw.indicator_ids)
    d = make_design(fw, {"raw": X, "sqrt": np.sqrt(X) * 10})
    res = sobol_indices(d, UniformPerturbation(0.2), N=64, num_resamples=5,
                        methods=Methods(leave_one_out=True))
    assert res.params["method_inputs"] == ["method:variant", "method:leave_one_out"]
    t = res.to_frame()
    assert set(t["input"]) >= {"method:variant", "method:leave_one_out"}
    assert (t.set_index("input").loc["method:leave_one_out", "ST"] > 0).all()
