"""Hand-computed normalisation cases (3 units × 4 indicators), arithmetic in comments.

Raw data used throughout (direction of i2 is −1, "less is better")::

          i1   i2   i3   i4
    u1     2   10    0   50
    u2     4   30    5   50
    u3     8   20   10   80
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from qlwork.engine.normalize import (distance_to_target, goalposts, minmax, normalize, percentile_rank, skew_kurt,
                              treat_outliers, zscore, zscore_to_scale)

X = np.array([[2, 10, 0, 50], [4, 30, 5, 50], [8, 20, 10, 80]], float)
D = np.array([1, -1, 1, 1])


def test_minmax_hand():
    # i1: min 2, max 8, range 6 → (2-2)/6=0, (4-2)/6=33.33, (8-2)/6=100
    # i2 (cost): s=-x = -10,-30,-20; min -30, max -10 → (20/20)=100, 0, (10/20)=50
    # i3: 0, 50, 100;  i4: 50,50,80 → 0, 0, 100
    exp = [[0, 100, 0, 0], [100 / 3, 0, 50, 0], [100, 50, 100, 100]]
    np.testing.assert_allclose(minmax(X, None, D), exp, atol=1e-12)


def test_minmax_within_groups_and_constant_column():
    # group 0 = rows 0,1; group 1 = row 2 alone → constant within group → 100 (documented rule)
    g = np.array([0, 0, 1])
    out = minmax(X, g, D)
    # i1 in group 0: 2 → 0, 4 → 100; i4 in group 0 is constant (50, 50) → 100
    np.testing.assert_allclose(out[:2, 0], [0, 100])
    np.testing.assert_allclose(out[:2, 3], [100, 100])
    np.testing.assert_allclose(out[2], [100, 100, 100, 100])
    assert np.all(minmax(X, g, D, constant=50.0)[2] == 50.0)


def test_minmax_nan_propagates():
    Y = X.copy()
    Y[1, 0] = np.nan
    out = minmax(Y, None, D)
    assert math.isnan(out[1, 0])
    # i1 without u2: min 2, max 8 → 0, 100
    np.testing.assert_allclose(out[[0, 2], 0], [0, 100])


def test_zscore_hand():
    # i1: mean 14/3 = 4.6667; squared deviations 7.1111+0.4444+11.1111 = 18.6667; /(3-1) = 9.3333; sd = 3.05505
    #     z = -2.6667/3.05505 = -0.87287, -0.6667/3.05505 = -0.21822, 3.3333/3.05505 = 1.09109
    # i2 (cost): s = -10,-30,-20, mean -20, sd = sqrt((100+100+0)/2) = 10 → z = 1, -1, 0
    # i3: mean 5, sd = sqrt(50/2) = 5 → -1, 0, 1
    # i4: mean 60, sd = sqrt((100+100+400)/2) = 17.3205 → -0.57735, -0.57735, 1.15470
    z = zscore(X, None, D)
    exp = [[-0.872872, 1, -1, -0.577350], [-0.218218, -1, 0, -0.577350], [1.091089, 0, 1, 1.154701]]
    np.testing.assert_allclose(z, exp, atol=1e-6)
    # grading scale: 50 + 10 z, clipped; u1 i1 → 41.27129
    np.testing.assert_allclose(zscore_to_scale(z)[0], [41.27128, 60, 40, 44.22650], atol=1e-4)
    assert zscore_to_scale(np.array([-7.0, 7.0])).tolist() == [0.0, 100.0]


def test_goalposts_hand():
    # i1 [0,10]: 20, 40, 80;  i2 cost [0,40]: (40-x)/40 = 75, 25, 50
    # i3 [0,20]: 0, 25, 50;   i4 [60,100]: (50-60)/40 < 0 → 0, 0, (80-60)/40 = 50
    out = goalposts(X, [0, 0, 0, 60], [10, 40, 20, 100], D)
    np.testing.assert_allclose(out, [[20, 75, 0, 0], [40, 25, 25, 0], [80, 50, 50, 50]])
    # values beyond the goalposts are clipped to [0, 100]
    assert goalposts(np.array([[-5.0], [15.0]]), [0], [10], [1]).ravel().tolist() == [0.0, 100.0]


def test_distance_to_target_hand():
    # i1 target 6: worst = 2 → (x-2)/(6-2): 0, 50, 150 → clipped 100
    # i2 cost target 10: s=-x, t=-10, worst min(s) = -30 → (s+30)/20: 100, 0, 50
    # i3 target 20: worst 0 → x/20: 0, 25, 50
    # i4 no target, goalposts [60,100] → best end 100: worst 50 → (x-50)/50: 0, 0, 60
    out, info = normalize(X, "target", direction=D, target=[6, 10, 20, np.nan], low=[0, 0, 0, 60],
                          high=[10, 40, 20, 100])
    np.testing.assert_allclose(out, [[0, 100, 0, 0], [50, 0, 25, 0], [100, 50, 50, 60]])
    assert info["fallback"] == []
    # whole group already beyond the target → every unit scores `constant`
    assert distance_to_target(np.array([[5.0], [6.0]]), [4.0]).ravel().tolist() == [100.0, 100.0]


def test_percentile_rank_hand():
    # i1 ranks 1,2,3 → 100·(r-1)/(n-1) = 0, 50, 100;  i2 cost: s -10,-30,-20 → ranks 3,1,2 → 100, 0, 50
    # i3 0, 50, 100;  i4 50,50,80 → average ranks 1.5, 1.5, 3 → 25, 25, 100
    out = percentile_rank(X, None, D)
    np.testing.assert_allclose(out, [[0, 100, 0, 25], [50, 0, 50, 25], [100, 50, 100, 100]])


def test_goalposts_fallback_to_minmax_when_missing():
    out, info = normalize(X, "goalposts", direction=D, low=[0, np.nan, 0, 60], high=[10, np.nan, 20, 100])
    assert info["fallback"] == [1]
    np.testing.assert_allclose(out[:, 1], [100, 0, 50])  # min–max of the cost indicator


def test_unknown_method():
    with pytest.raises(ValueError):
        normalize(X, "softmax")


def test_skew_kurt_matches_excel_formulas():
    # Type-2 (Excel SKEW/KURT) by hand for 1,2,3,4,20:
    # mean 6, deviations -5,-4,-3,-2,14; m2 = 250/5 = 50, m3 = 2520/5 = 504, m4 = 39394/5 = 7878.8
    # g1 = 504/50^1.5 = 1.425527; G1 = sqrt(5·4)/(5-2) · g1 = 1.490712 · 1.425527 = 2.125051
    # g2 = 7878.8/2500 - 3 = 0.15152; G2 = (5-1)/((5-2)(5-3)) · ((5+1)·0.15152 + 6) = 4.60608
    s, k = skew_kurt([1, 2, 3, 4, 20])
    assert s == pytest.approx(2.125051, abs=1e-6)
    assert k == pytest.approx(4 / 6 * (6 * 0.15152 + 6), abs=1e-9)


def test_winsorise_small_case():
    # 1..9 plus 100: skew ≈ 3.1 and kurtosis ≈ 9.8 fail → the 100 moves to 9 after one step
    x = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], float)
    y, summ = treat_outliers(x[:, None])
    assert y[-1, 0] == 9.0 and (y[:-1, 0] == x[:-1]).all()
    assert summ.loc[0, "status"] == "winsorised" and summ.loc[0, "n_high"] == 1
    # a well-behaved column passes untouched
    y2, s2 = treat_outliers(np.arange(10.0)[:, None])
    assert (y2[:, 0] == np.arange(10.0)).all() and s2.loc[0, "status"] == "none"


def test_log_treatment_keeps_order():
    x = np.array([1, 1, 1, 2, 2, 3, 5, 10, 50, 500], float)
    y, summ = treat_outliers(x[:, None], method="log")
    assert summ.loc[0, "status"] == "log"
    # log(x - min + 0.01·(max-min)) = log(x - 1 + 4.99)
    np.testing.assert_allclose(y[:, 0], np.log(x - 1 + 4.99))
    assert (np.diff(y[:, 0]) >= 0).all()


def test_winsorise_falls_back_to_log_of_the_original_values():
    # 1..15, 20, 40, 80, 160, 320 with at most one winsorising step (winmax=1):
    # after 320 → 160 the column is still skewed (skew 2.35 ≥ 2 and kurtosis 4.53 ≥ 3.5),
    # so COINr's rule log-transforms the *original* values: log(x − min + 0.01·(max − min))
    # = log(x − 1 + 0.01·319) = log(x + 2.19)
    x = np.array(list(range(1, 16)) + [20, 40, 80, 160, 320], float)
    x2 = x.copy()
    x2[-1] = 160
    s, k = skew_kurt(x2)
    assert s >= 2 and k >= 3.5  # the one permitted step is not enough
    y, summ = treat_outliers(x[:, None], winmax=1)
    assert summ.loc[0, "status"] == "log" and summ.loc[0, "n_high"] == 0
    np.testing.assert_allclose(y[:, 0], np.log(x + 2.19))
    # with the default winmax = ceil(0.1·20) = 2 the second step suffices: 320 → 160 → 80
    y, summ = treat_outliers(x[:, None])
    assert summ.loc[0, "status"] == "winsorised" and summ.loc[0, "n_high"] == 2
    assert y[-1, 0] == y[-2, 0] == 80 and (y[:-2, 0] == x[:-2]).all()
