"""Objective weights.

Expected values: HAND COMPUTATIONS on small data sets, with the arithmetic
written out next to each number, and published worked examples at the end of
the file (entropy: Xu 2004, Zavadskas & Podvezko 2016, Elsayed et al. 2017;
CRITIC: Tuş & Aytaç Adalı 2019).  Diakoulaki, Mavrotas & Papayannakis's (1995)
own numeric table could not be retrieved in this environment.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qlwork.errors import QlworkError
from qlwork.framework import load_framework
from qlwork.weights.objective import critic_weights, entropy_weights, equal_weights, pca_weights

X = pd.DataFrame({"a": [1, 2, 3, 4.0], "b": [10, 10, 10, 10.0], "c": [1, 1, 1, 4.0]})


def test_entropy_minmax_hand_computed():
    # a: min-max -> (0, 1/3, 2/3, 1), sum 2, p = (0, 1/6, 1/3, 1/2)
    #    Σ p ln p = (1/6)ln(1/6) + (1/3)ln(1/3) + (1/2)ln(1/2) = -0.298627 - 0.366204 - 0.346574 = -1.011404
    #    e_a = 1.011404 / ln 4 (1.386294) = 0.729574 ; d_a = 0.270426
    # b: constant -> no information, weight 0 (not NaN)
    # c: min-max -> (0, 0, 0, 1), p = (0, 0, 0, 1), e_c = 0 (0·ln0 = 0), d_c = 1
    # w = (0.270426, 0, 1) / 1.270426 = (0.212862, 0, 0.787138)
    r = entropy_weights(X)
    np.testing.assert_allclose(r.weights, [0.212862, 0.0, 0.787138], atol=2e-6)
    assert r.details.loc["a", "entropy"] == pytest.approx(0.729574, abs=1e-6)
    assert bool(r.details.loc["b", "constant"])
    assert r.weights.sum() == pytest.approx(1.0)


def test_entropy_sum_hand_computed_and_negative_error():
    # a with proportions: p = (0.1, 0.2, 0.3, 0.4)
    # Σ p ln p = -0.230259 - 0.321888 - 0.361192 - 0.366516 = -1.279854 ; e = 1.279854/1.386294 = 0.923220
    r = entropy_weights(X[["a"]].assign(z=[1, 1, 1, 2.0]), normalization="sum")
    assert r.details.loc["a", "entropy"] == pytest.approx(0.923220, abs=1e-6)
    with pytest.raises(QlworkError) as e:
        entropy_weights(pd.DataFrame({"a": [-1, 2, 3.0]}), normalization="sum")
    assert e.value.problems[0].code == "negative_data"


def test_entropy_direction_and_shift():
    # a cost indicator reversed gives the same entropy under min-max (same multiset of values here)
    r1 = entropy_weights(X, directions={"a": -1})
    assert r1.details.loc["a", "entropy"] == pytest.approx(0.729574, abs=1e-6)
    r2 = entropy_weights(X, shift=0.01)
    assert r2.params["shift"] == 0.01 and r2.weights["c"] < 0.787138


def test_all_constant_is_error():
    with pytest.raises(QlworkError):
        entropy_weights(pd.DataFrame({"a": [1, 1, 1.0], "b": [2, 2, 2.0]}))


CR = pd.DataFrame({"a": [1, 2, 3, 4.0], "b": [5, 5, 5, 5.0], "c": [4, 1, 3, 2.0], "d": [1, 3, 2, 4.0]})


def test_critic_hand_computed():
    # min-max, c is a cost indicator (direction -1): z_c = (4 - c)/3 = (0, 1, 1/3, 2/3)
    # z_a = (0, 1/3, 2/3, 1), z_d = (0, 2/3, 1/3, 1); σ (n-1) of each = sqrt(0.555556/3) = 0.430331
    # deviations: a (-.5, -1/6, 1/6, .5), c (-.5, .5, -1/6, 1/6), d (-.5, 1/6, -1/6, .5); SS = 0.555556 each
    # r_ac = (.25 - 1/12 - 1/36 + 1/12)/.555556 = 0.4 ; r_ad = (.25 - 1/36 - 1/36 + .25)/.555556 = 0.8
    # r_cd = (.25 + 1/12 + 1/36 + 1/12)/.555556 = 0.8 ; b constant: σ = 0, adds no conflict
    # conflict: a = 0.6 + 0.2 = 0.8, c = 0.6 + 0.2 = 0.8, d = 0.2 + 0.2 = 0.4 -> C ∝ (0.8, 0, 0.8, 0.4)
    r = critic_weights(CR, directions={"c": -1})
    np.testing.assert_allclose(r.weights, [0.4, 0.0, 0.4, 0.2], atol=1e-12)
    assert r.details.loc["a", "std"] == pytest.approx(0.430331, abs=1e-6)


def test_critic_directions_honoured():
    # c as a benefit indicator: z_c = (1, 0, 2/3, 1/3) -> r_ac = -0.4, r_cd = -0.8
    # conflict a = 1.4 + 0.2 = 1.6, c = 1.4 + 1.8 = 3.2, d = 0.2 + 1.8 = 2.0 ; total 6.8
    r = critic_weights(CR.drop(columns="b"))
    np.testing.assert_allclose(r.weights, [1.6 / 6.8, 3.2 / 6.8, 2.0 / 6.8], atol=1e-12)
    s = critic_weights(CR.drop(columns="b"), correlation="spearman")
    assert s.params["correlation"] == "spearman" and s.weights.sum() == pytest.approx(1)


def test_pca_weights_properties():
    rng = np.random.default_rng(3)
    y = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("wxyz"))
    y["x"] = y["w"] + 0.3 * rng.normal(size=200)
    for variant in ("variance_share", "squared_loadings"):
        r = pca_weights(y, variant=variant)
        assert r.weights.sum() == pytest.approx(1) and (r.weights >= 0).all()
        assert r.params["variant"] == variant
    # with one component, variance_share weights ∝ |first eigenvector| (second method: numpy eig)
    r1 = pca_weights(y, n_components=1)
    lam, vec = np.linalg.eigh(np.corrcoef(y.to_numpy(), rowvar=False))
    v = np.abs(vec[:, -1])
    np.testing.assert_allclose(r1.weights, v / v.sum(), atol=1e-10)
    with pytest.raises(QlworkError):
        pca_weights(y.assign(k=1.0))


def test_equal_weights():
    assert equal_weights(["a", "b", "c", "d"]).tolist() == [0.25] * 4
    fw = load_framework({"id": "T", "children": [
        {"id": "A", "weight": 0.9, "children": [{"id": "x1", "weight": 0.5, "direction": 1},
                                                 {"id": "x2", "weight": 0.5, "direction": 1}]},
        {"id": "B", "weight": 0.1, "children": [{"id": "y1", "weight": 1.0, "direction": 1}]}]})
    # equal within nodes: A = B = 1/2; x1 = x2 = 1/4; y1 = 1/2
    assert equal_weights(fw).to_dict() == {"x1": 0.25, "x2": 0.25, "y1": 0.5}


def test_critic_raw_values_keep_scale_and_negate_cost():
    # normalization=None: raw values, the cost indicator c negated.  d is scaled ×10:
    # a = (1,2,3,4), −c = (−4,−1,−3,−2), d = (10,30,20,40); SS about the mean: 5, 5, 500
    # σ (n−1): 1.290994, 1.290994, 12.909944; correlations are scale-free, so as in
    # test_critic_hand_computed r_ac = 0.4, r_ad = 0.8, r_cd = 0.8 → conflict (0.8, 0.8, 0.4)
    # C = (1.032796, 1.032796, 5.163978), Σ = 7.229569 → w = (1/7, 1/7, 5/7)
    data = CR.drop(columns="b").assign(d=CR["d"] * 10)
    r = critic_weights(data, directions={"c": -1}, normalization=None)
    np.testing.assert_allclose(r.weights, [1 / 7, 1 / 7, 5 / 7], atol=1e-12)
    assert r.details.loc["d", "std"] == pytest.approx(12.909944, abs=1e-6)
    # min-max removes the scale: back to (0.4, 0.4, 0.2)
    np.testing.assert_allclose(critic_weights(data, directions={"c": -1}).weights, [0.4, 0.4, 0.2], atol=1e-12)


def test_pca_weights_hand_computed():
    # u1, u2, u3 are orthogonal centred vectors, so x = u1, y = u1 + u2, z = u3 have sample
    # correlations r_xy = 1/√2, r_xz = r_yz = 0.  Eigen-decomposition of R by hand:
    # λ1 = 1 + 1/√2 = 1.707107, v1 = (1, 1, 0)/√2; λ2 = 1, v2 = (0, 0, 1); λ3 = 0.292893.
    u1, u2, u3 = np.array([1, -1, 1, -1.0]), np.array([1, 1, -1, -1.0]), np.array([1, -1, -1, 1.0])
    d = pd.DataFrame({"x": u1, "y": u1 + u2, "z": u3})
    # variance_share, 2 components: |Σ_k λ_k v_jk| = (λ1/√2, λ1/√2, λ2) = (1.207107, 1.207107, 1)
    # → / 3.414214 = (0.353553, 0.353553, 0.292893)
    r = pca_weights(d, n_components=2)
    np.testing.assert_allclose(r.weights, [0.353553, 0.353553, 0.292893], atol=1e-6)
    # squared_loadings: PC1 loadings² ∝ (½, ½, 0), PC2 (0, 0, 1); variance shares λ/Σλ_kept =
    # (0.630602, 0.369398); each indicator takes its largest: (½·0.630602, ½·0.630602, 0.369398)
    s = pca_weights(d, n_components=2, variant="squared_loadings")
    np.testing.assert_allclose(s.weights, [0.315301, 0.315301, 0.369398], atol=1e-6)
    # one component: only PC1, which ignores z
    np.testing.assert_allclose(pca_weights(d, n_components=1).weights, [0.5, 0.5, 0.0], atol=1e-12)


def test_float_noise_column_counts_as_constant():
    # b = 0.1 + 0.2 in one row (0.30000000000000004) and 0.3 elsewhere: a range of 5.6e-17,
    # float noise.  Min-max would stretch it to (0, 0, 0, 1) — the same pattern as c, which
    # takes 0.787 of the weight in test_entropy_minmax_hand_computed.  It must get weight 0,
    # leaving the hand-computed a/c split of that test: (0.212862, 0, 0.787138).
    noisy = X.assign(b=[0.3, 0.3, 0.3, 0.1 + 0.2])
    assert noisy["b"].max() > noisy["b"].min()
    r = entropy_weights(noisy)
    np.testing.assert_allclose(r.weights, [0.212862, 0.0, 0.787138], atol=2e-6)
    assert bool(r.details.loc["b", "constant"])
    c = critic_weights(noisy)
    assert c.weights["b"] == 0.0 and c.details.loc["b", "std"] == 0.0


# ------------------------------------------------------------ published examples
# Decision matrices and published weights as transcribed (with the paper reference) in the
# test suites of pyrepo-mcda / distance-metrics-for-mcda (energyinpython) and pymcdm.

def test_entropy_xu_2004():
    """Xu, X. (2004) 'A note on the subjective and objective integrated approach to determine
    attribute weights', EJOR 156(2):530–532: entropy on proportions of the raw values
    (our normalization="sum"); published weights 0.4630, 0.3992, 0.1378, 0.0000."""
    m = np.array([[30, 30, 38, 29], [19, 54, 86, 29], [19, 15, 85, 28.9], [68, 70, 60, 29]], float)
    np.testing.assert_allclose(entropy_weights(m, normalization="sum").weights, [0.4630, 0.3992, 0.1378, 0.0],
                               atol=5e-5)


def test_entropy_zavadskas_podvezko_2016():
    """Zavadskas, E.K. & Podvezko, V. (2016) 'Integrated determination of objective criteria
    weights in MCDM', IJITDM 15(2):267–283: entropy of the raw proportions (criteria 1 and 3
    are cost criteria, but the entropy step uses the raw values); published 0.1146, 0.1981,
    0.4185, 0.2689."""
    m = np.array([[3.0, 100, 10, 7], [2.5, 80, 8, 5], [1.8, 50, 20, 11], [2.2, 70, 12, 9]])
    np.testing.assert_allclose(entropy_weights(m, normalization="sum").weights, [0.1146, 0.1981, 0.4185, 0.2689],
                               atol=5e-5)


def test_entropy_elsayed_2017():
    """Elsayed, Dawood & Karthikeyan (2017) 'Evaluating alternatives through the application of
    TOPSIS method with entropy weight', IJETT 46(2):60–66 (12 alternatives × 5 criteria);
    published weights 0.104991, 0.069124, 0.071373, 0.449937, 0.304575 (pymcdm test suite)."""
    m = np.array([[7, 312, 1891, 6613, 163], [72, 88, 728, 941804, 1078], [10, 252, 2594, 3466, 117471],
                  [10, 145, 980, 2371, 86329], [65, 54, 350, 501, 29897], [29, 48, 380, 912, 34051],
                  [7, 476, 3300, 78470, 2212], [70, 87, 650, 733, 819000], [4, 86, 591, 3015, 103],
                  [12, 79, 579, 3240, 96098], [21, 45, 261, 1253, 453], [1, 72, 530, 4333, 0.104800]])
    np.testing.assert_allclose(entropy_weights(m, normalization="sum").weights,
                               [0.104991, 0.069124, 0.071373, 0.449937, 0.304575], atol=5e-7)


def test_critic_tus_aytac_adali_2019():
    """Tuş, A. & Aytaç Adalı, E. (2019) 'The new combination with CRITIC and WASPAS methods for
    the time and attendance software selection problem', Opsearch 56(2):528–538: published
    CRITIC weights 0.157, 0.249, 0.168, 0.121, 0.154, 0.151.  They are reproduced with min-max
    normalisation of every criterion as a benefit criterion (price is a cost criterion in the
    WASPAS step only); with the cost direction honoured the weights differ — directions
    matter in CRITIC because they flip correlation signs."""
    m = np.array([[5000, 3, 3, 4, 3, 2], [680, 5, 3, 2, 2, 1], [2000, 3, 2, 3, 4, 3], [600, 4, 3, 1, 2, 2],
                  [800, 2, 4, 3, 3, 4]], float)
    np.testing.assert_allclose(critic_weights(m).weights, [0.157, 0.249, 0.168, 0.121, 0.154, 0.151], atol=5e-4)
    flipped = critic_weights(m, directions=[-1, 1, 1, 1, 1, 1]).weights
    assert abs(flipped.iloc[0] - 0.157) > 0.01
