"""Sobol indices: analytic additive function and weight-model sanity checks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qlwork.errors import QlworkError
from qlwork.framework import load_framework
from qlwork.sensitivity import AHPJudgments, Dirichlet, UniformPerturbation, make_design
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
