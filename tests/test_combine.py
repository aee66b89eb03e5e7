"""Combined weights: every method hand-computed on s = (0.5, 0.3, 0.2) / (0.6, 0.3, 0.1), o = (0.2, 0.3, 0.5)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qlwork.errors import QlworkError
from qlwork.weights.combine import combine_weights

S = pd.Series([0.5, 0.3, 0.2], index=list("abc"))
O = pd.Series([0.2, 0.3, 0.5], index=list("abc"))


def test_linear():
    # 0.5·s + 0.5·o = (0.35, 0.30, 0.35); α = 0.8: (0.44, 0.30, 0.26)
    np.testing.assert_allclose(combine_weights(S, O).weights, [0.35, 0.30, 0.35])
    np.testing.assert_allclose(combine_weights(S, O, alpha=0.8).weights, [0.44, 0.30, 0.26])


def test_multiplicative():
    # s·o = (0.10, 0.09, 0.10), sum 0.29 -> (0.344828, 0.310345, 0.344828)
    np.testing.assert_allclose(combine_weights(S, O, "multiplicative").weights, [0.344828, 0.310345, 0.344828], atol=1e-6)


def test_min_entropy():
    # √(s·o) = (0.316228, 0.3, 0.316228), sum 0.932456 -> 0.316228/0.932456 = 0.339134, 0.3/0.932456 = 0.321731
    np.testing.assert_allclose(combine_weights(S, O, "min_entropy").weights, [0.339134, 0.321731, 0.339134], atol=1e-6)


def test_game_theory_hand_computed():
    s = pd.Series([0.6, 0.3, 0.1], index=list("abc"))
    # s·s = 0.46, o·o = 0.38, s·o = 0.26; solve [[.46,.26],[.26,.38]] a = [.46,.38]
    # det = 0.1072; a1 = 0.38·0.20/0.1072 = 0.708955; a2 = 0.46·0.12/0.1072 = 0.514925
    # normalised (0.579268, 0.420732); w = 0.579268 s + 0.420732 o = (0.431707, 0.300000, 0.268293)
    r = combine_weights(s, O, "game_theory")
    np.testing.assert_allclose(r.params["coefficients"], [0.579268, 0.420732], atol=1e-6)
    np.testing.assert_allclose(r.weights, [0.431707, 0.300000, 0.268293], atol=1e-6)
    assert list(r.components.columns) == ["subjective", "objective", "combined"]


def test_game_theory_several_objective_vectors():
    o2 = pd.Series([0.3, 0.4, 0.3], index=list("abc"))
    r = combine_weights(S, [O, o2], "game_theory")
    assert len(r.params["coefficients"]) == 3 and r.weights.sum() == pytest.approx(1)
    with pytest.raises(QlworkError):
        combine_weights(S, [O, o2], "linear")


def test_alignment_and_errors():
    shuffled = O[["c", "a", "b"]]
    np.testing.assert_allclose(combine_weights(S, shuffled).weights, [0.35, 0.30, 0.35])
    with pytest.raises(QlworkError) as e:
        combine_weights(S, O.rename({"c": "z"}))
    assert e.value.problems[0].code == "index_mismatch"
    with pytest.raises(QlworkError):
        combine_weights(S, O, "blend")
    with pytest.raises(QlworkError):
        combine_weights(S, O, alpha=1.5)


def test_fill_leaf_weights():
    from qlwork.weights.combine import fill_leaf_weights

    ref = pd.Series([0.2, 0.3, 0.5], index=["a", "b", "pub"])
    # objective weights on a, b only (0.25, 0.75); pub keeps 0.5, the rest share 0.5 -> (0.125, 0.375, 0.5)
    out = fill_leaf_weights(pd.Series([0.25, 0.75], index=["a", "b"]), ref)
    np.testing.assert_allclose(out.to_numpy(), [0.125, 0.375, 0.5])
    assert list(out.index) == ["a", "b", "pub"]
    with pytest.raises(QlworkError):
        fill_leaf_weights(pd.Series([1.0], index=["zz"]), ref)


def test_weights_plug_into_compute_index():
    """AHP, objective and combined weights go straight into compute_index(weights=...).

    Data: min and max of every indicator are 0 and 100, so min-max normalisation leaves the
    values unchanged and every total is a hand-computable weighted sum.
    """
    from qlwork.framework import load_framework
    from qlwork.engine.index import compute_index
    from qlwork.weights.hierarchy import hierarchy_weights
    from qlwork.weights.objective import equal_weights

    fw = load_framework({"id": "T", "social_share": 0.0, "children": [
        {"id": "A", "weight": 0.5, "children": [{"id": "x1", "weight": 0.5, "direction": 1},
                                                 {"id": "x2", "weight": 0.5, "direction": 1}]},
        {"id": "B", "weight": 0.5, "children": [{"id": "y1", "weight": 1.0, "direction": 1}]}]})
    X = pd.DataFrame({"x1": [0, 50, 100.0], "x2": [100, 0, 50.0], "y1": [0, 100, 20.0]}, index=["U1", "U2", "U3"])
    units = pd.DataFrame({"unit_id": ["U1", "U2", "U3"], "unit_type": ["机关"] * 3})
    h = hierarchy_weights(fw, {"T": [[1, 3], [1 / 3, 1]], "A": [[1, 3], [1 / 3, 1]]})
    # leaf weights: x1 = .75·.75 = .5625, x2 = .75·.25 = .1875, y1 = .25
    # U1 = .1875·100 = 18.75; U2 = .5625·50 + .25·100 = 53.125; U3 = 56.25 + 9.375 + 5 = 70.625
    for w in (h.leaf_weights, h.local_weights):
        r = compute_index(X, fw, units=units, normalization="minmax", weights=w)
        np.testing.assert_allclose(r.scores["total_raw"].reindex(X.index), [18.75, 53.125, 70.625], atol=1e-9)
    # linear combination with equal weights (α = 0.5): x1 = (.5625 + 1/3)/2 = .4479167,
    # x2 = (.1875 + 1/3)/2 = .2604167, y1 = (.25 + 1/3)/2 = .2916667
    # U1 = 26.041667; U2 = 22.395833 + 29.166667 = 51.5625; U3 = 44.791667 + 13.020833 + 5.833333 = 63.645833
    comb = combine_weights(h.leaf_weights, equal_weights(X), "linear")
    r = compute_index(X, fw, units=units, normalization="minmax", weights=comb.weights)
    np.testing.assert_allclose(r.scores["total_raw"].reindex(X.index), [26.041667, 51.5625, 63.645833], atol=1e-5)


def test_game_theory_three_vectors_hand_computed():
    s = pd.Series([0.6, 0.3, 0.1], index=list("abc"))
    o1 = pd.Series([0.2, 0.3, 0.5], index=list("abc"))
    o2 = pd.Series([0.3, 0.4, 0.3], index=list("abc"))
    # Gram matrix (dot products): ss .46, s·o1 .26, s·o2 .33, o1o1 .38, o1·o2 .33, o2o2 .34;
    # right-hand side (.46, .38, .34).  Cramer's rule in exact fractions: det = 1/625,
    # a = (229/100, 63/20, −107/25) = (2.29, 3.15, −4.28); |a|/Σ|a| = (229, 315, 428)/972
    # = (0.235597, 0.324074, 0.440329); w = Σ a*_k w_k = (0.338272, 0.344033, 0.317695)
    r = combine_weights(s, [o1, o2], "game_theory")
    np.testing.assert_allclose(r.params["coefficients"], [0.235597, 0.324074, 0.440329], atol=1e-6)
    np.testing.assert_allclose(r.weights, [0.338272, 0.344033, 0.317695], atol=1e-6)
