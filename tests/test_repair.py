"""Consistency repair: finds the slipped judgment, fewest/smallest change, reports pairs."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from qlwork.weights.ahp import SAATY_SCALE, ahp_weights
from qlwork.weights.repair import inconsistency_table, repair_consistency


def slipped():
    # consistent matrix for w ∝ (8, 4, 2, 1), then the expert reversed a_14: wrote 1/8 instead of 8
    m = np.array([[1, 2, 4, 8], [1 / 2, 1, 2, 4], [1 / 4, 1 / 2, 1, 2], [1 / 8, 1 / 4, 1 / 2, 1.0]])
    m[0, 3], m[3, 0] = 1 / 8, 8
    return pd.DataFrame(m, index=list("ABCD"), columns=list("ABCD"))


def test_finds_the_reversed_judgment():
    m = slipped()
    assert ahp_weights(m).cr > 0.9  # CR ≈ 1.01: badly inconsistent
    r = repair_consistency(m)
    assert r.success and r.cr_after < 0.1 and len(r.changes) == 1
    ch = r.changes.iloc[0]
    assert (ch["row"], ch["column"]) == ("A", "D") and ch["old_label"] == "1/8"
    assert isinstance(r.repaired, pd.DataFrame)
    rep = r.repaired.to_numpy()
    np.testing.assert_allclose(rep * rep.T, 1.0)
    # Saaty's eigenvector diagnostic ranks the same pair first
    assert inconsistency_table(m).iloc[0][["row", "column"]].tolist() == ["A", "D"]
    # best value for that pair (minimum CR) is the original consistent judgment 8
    assert ch["best_for_pair"] == "8" and ch["cr_best_for_pair"] == pytest.approx(0, abs=1e-9)


def test_smallest_single_change_is_minimal_by_exhaustive_check():
    m = slipped().to_numpy()
    r = repair_consistency(m)
    new = r.changes.iloc[0]["new"]
    step = abs(np.log(new) - np.log(m[0, 3]))
    # independent exhaustive check: no single change of any pair by a smaller log step reaches CR < 0.1
    for i, j in itertools.combinations(range(4), 2):
        for v in SAATY_SCALE:
            d = abs(np.log(v) - np.log(m[i, j]))
            if d < step - 1e-9 and d > 1e-9:
                c = m.copy()
                c[i, j], c[j, i] = v, 1 / v
                assert ahp_weights(c).cr >= 0.1


def test_consistent_matrix_needs_no_change():
    r = repair_consistency([[1, 2, 4], [1 / 2, 1, 2], [1 / 4, 1 / 2, 1]])
    assert r.changes.empty and r.success and r.cr_before == pytest.approx(0, abs=1e-9)


def test_max_changes_cap_and_repr():
    m = np.array([[1, 9, 1 / 9, 9, 1 / 9], [1 / 9, 1, 9, 1 / 9, 9], [9, 1 / 9, 1, 9, 1 / 9],
                  [1 / 9, 9, 1 / 9, 1, 9], [9, 1 / 9, 9, 1 / 9, 1]])
    r = repair_consistency(m, max_changes=1)
    assert len(r.changes) <= 1
    assert "CR" in repr(r)
    full = repair_consistency(m)
    assert full.success and full.cr_after < 0.1
    assert full.params["threshold"] == 0.1 and "greedy" in full.params["algorithm"]
