"""Completion of incomplete judgment matrices.

Expected numbers: (1) the λ-optimal completion of a 3×3 matrix with one missing
entry is the transitive value a_12·a_23 (then λmax = n, CI = 0; Shiraishi et al.
1998 / Bozóki et al. 2010 — the minimum of λmax is n exactly when a consistent
completion exists); (2) Harker's (1987) construction on the same matrix, worked by
hand below; (3) a 4×4 matrix with two missing pairs checked against an independent
brute-force grid search of λmax.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qlwork.errors import QlworkError
from qlwork.weights.ahp import ahp_weights, lambda_max
from qlwork.weights.incomplete import complete_matrix, is_connected

N = np.nan


@pytest.mark.parametrize("method", ["lambda_optimal", "harker", "llsm"])
def test_three_by_three_consistent_fill(method):
    # a_12 = 2, a_23 = 3, a_13 missing -> a_13 = 2·3 = 6 makes the matrix consistent.
    # Harker by hand: C = [[2, 2, 0], [1/2, 1, 3], [0, 1/3, 2]]; w = (6, 3, 1):
    #   C w = (12+6+0, 3+3+3, 0+1+2) = (18, 9, 3) = 3·w, so λ = 3 and a_13 = 6/1 = 6.
    r = complete_matrix([[1, 2, N], [1 / 2, 1, 3], [N, 1 / 3, 1]], method=method)
    assert r.filled["value"].iloc[0] == pytest.approx(6.0, rel=1e-6)
    assert r.lambda_max == pytest.approx(3.0, abs=1e-8)
    assert r.filled[["row", "column"]].iloc[0].tolist() == ["1", "3"]


def test_lambda_optimal_agrees_with_grid_search():
    b = np.array([[1, 5, 3, N], [1 / 5, 1, N, 1 / 2], [1 / 3, N, 1, 4], [N, 2, 1 / 4, 1]])
    r = complete_matrix(b)
    # second method: exhaustive search of λmax over a log grid (step 0.05 in log x)
    grid = np.exp(np.linspace(-3, 3, 121))
    best = (np.inf, None, None)
    for x in grid:
        for y in grid:
            c = b.copy()
            c[0, 3], c[3, 0], c[1, 2], c[2, 1] = x, 1 / x, y, 1 / y
            lam = lambda_max(c)
            if lam < best[0]:
                best = (lam, x, y)
    assert r.lambda_max <= best[0] + 1e-9
    got = r.matrix
    assert got[0, 3] == pytest.approx(best[1], rel=0.05)
    assert got[1, 2] == pytest.approx(best[2], rel=0.05)
    assert got[3, 0] * got[0, 3] == pytest.approx(1.0)


def test_labels_kept_and_complete_input_unchanged():
    df = pd.DataFrame([[1, 2, N], [0.5, 1, 3], [N, 1 / 3, 1]], index=list("abc"), columns=list("abc"))
    r = complete_matrix(df)
    assert isinstance(r.matrix, pd.DataFrame) and list(r.matrix.index) == list("abc")
    assert r.filled.to_dict("records") == [{"row": "a", "column": "c", "value": pytest.approx(6.0)}]
    full = complete_matrix([[1, 2], [0.5, 1]])
    assert full.filled.empty


def test_half_blank_pair_is_taken_from_reciprocal():
    r = complete_matrix([[1, 2, 4], [N, 1, 2], [1 / 4, 1 / 2, 1]])
    assert r.filled.empty and r.matrix[1, 0] == pytest.approx(0.5)


def test_disconnected_graph_is_error():
    m = np.array([[1, 2, N, N], [0.5, 1, N, N], [N, N, 1, 3], [N, N, 1 / 3, 1]])
    assert not is_connected(m)
    with pytest.raises(QlworkError) as e:
        complete_matrix(m)
    assert e.value.problems[0].code == "disconnected_judgments"


def test_completed_matrix_feeds_ahp():
    r = complete_matrix([[1, 2, N, 8], [0.5, 1, 2, N], [N, 0.5, 1, 2], [1 / 8, N, 0.5, 1]])
    res = ahp_weights(r.matrix)
    np.testing.assert_allclose(res.weights, np.array([8, 4, 2, 1]) / 15, atol=1e-5)


def test_unknown_method():
    with pytest.raises(QlworkError):
        complete_matrix([[1, N], [N, 1]], method="magic")


def test_lambda_optimal_agrees_with_cyclic_coordinates_implementation():
    """Second implementation: AHPy (PhilipGriffith/AHPy README, "Missing Pairwise Comparisons")
    completes the matrix below with Bozóki, Fülöp & Rónyai's (2010) cyclic-coordinates
    minimisation of λmax (tolerance 1e-4) and prints a_cd = 0.7302971, weights
    a .3738, b .392, c .0985, d .1357, CR .0372 (Donegan–Dodd RI(4) = 0.8286 in AHPy).
    Our BFGS over log-entries must find the same unique optimum (Bozóki et al. 2010, Thm 2:
    the optimum is unique when the comparison graph is connected)."""
    m = np.array([[1, 1, 5, 2], [1, 1, 3, 4], [1 / 5, 1 / 3, 1, N], [1 / 2, 1 / 4, N, 1]])
    r = complete_matrix(m)
    assert r.matrix[2, 3] == pytest.approx(0.7302971, abs=1e-4)
    res = ahp_weights(r.matrix)
    np.testing.assert_allclose(res.weights, [0.3738, 0.3920, 0.0985, 0.1357], atol=6e-5)
    assert res.ci / 0.8286 == pytest.approx(0.0372, abs=6e-5)
