"""Imputation by hand: what is filled, with which value, and what is never filled."""
from __future__ import annotations

import numpy as np
import pytest

from qlwork.engine.impute import impute

# 4 units × 2 indicators, groups: rows 0–2 in group 0, row 3 in group 1
X = np.array([[20, 1], [np.nan, 2], [100, np.nan], [30, 7]], float)
G = np.array([0, 0, 0, 1])


def test_none_and_reweight_fill_nothing():
    for m in ("none", "reweight"):
        out, filled = impute(X, G, m)
        assert not filled.any()
        np.testing.assert_array_equal(np.isnan(out), np.isnan(X))


def test_group_mean():
    # row 1 col 0: mean of group 0's (20, 100) = 60; row 2 col 1: mean of (1, 2) = 1.5
    out, filled = impute(X, G, "mean")
    assert out[1, 0] == 60 and out[2, 1] == 1.5
    assert filled.sum() == 2 and filled[1, 0] and filled[2, 1]
    assert np.isnan(X[1, 0])  # input untouched


def test_group_median_differs_from_mean():
    # one group of 4: col 0 values 20, 100, 30 → mean 50, median 30
    out, _ = impute(X, None, "median")
    assert out[1, 0] == 30
    out, _ = impute(X, None, "mean")
    assert out[1, 0] == 50


def test_not_applicable_cells_never_filled():
    appl = np.ones_like(X, bool)
    appl[1, 0] = False
    out, filled = impute(X, G, "mean", applicable=appl)
    assert np.isnan(out[1, 0]) and not filled[1, 0]


def test_group_without_values_stays_missing():
    Y = np.array([[np.nan], [np.nan], [5.0]])
    out, filled = impute(Y, np.array([0, 0, 1]), "mean")
    assert np.isnan(out[:2, 0]).all() and not filled.any()


def test_unknown_method():
    with pytest.raises(ValueError):
        impute(X, G, "knn")


from hypothesis import given, settings, strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402


@settings(max_examples=80, deadline=None)
@given(X=arrays(float, st.tuples(st.integers(2, 15), st.integers(1, 4)),
                elements=st.one_of(st.just(np.nan), st.floats(-1e6, 1e6, allow_nan=False))),
       ng=st.integers(1, 3), method=st.sampled_from(["mean", "median"]))
def test_fills_stay_within_their_group_and_observed_values_stay(X, ng, method):
    groups = np.arange(len(X)) % ng
    before = X.copy()
    out, filled = impute(X, groups, method)
    np.testing.assert_array_equal(X, before)  # input untouched
    obs = ~np.isnan(X)
    np.testing.assert_array_equal(out[obs], X[obs])  # observed values never change
    assert (filled == (np.isnan(X) & ~np.isnan(out))).all()
    for g in range(ng):
        for j in range(X.shape[1]):
            col = X[groups == g, j]
            seen = col[~np.isnan(col)]
            f = out[(groups == g) & filled[:, j], j]
            if seen.size == 0:
                assert f.size == 0 and np.isnan(out[groups == g, j]).all()  # nothing to learn from
            else:
                assert ((f >= seen.min() - 1e-9 * abs(seen.min())) & (f <= seen.max() + 1e-9 * abs(seen.max()))).all()
                assert np.isnan(col).sum() == f.size  # every hole of a group with data is filled
